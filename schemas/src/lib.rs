//! Record types and the Arrow/Parquet schema of an IPT example: the contract between the
//! generator (which writes shards) and the trainer (which reads them).
//!
//! One [`Record`] is one row. [`schema`] is its Arrow schema, declared once in [`columns`]
//! and carrying the Hugging Face `datasets` features in its metadata, so image columns load
//! as PIL images. [`shard`] writes and reads Parquet shards of records; [`manifest`] lists a
//! dataset's shards by [`Split`] and [`Task`]; [`images`] decodes the id and depth images;
//! [`audit`] holds a dataset's blind baselines (`audit.json`).
//! Every column is described in docs/schema.md.

pub mod audit;
pub mod columns;
pub mod images;
pub mod manifest;
pub mod record;
pub mod regime;
pub mod shard;
pub mod split;
pub mod task;

pub use columns::{SCHEMA_VERSION, schema};
pub use manifest::{DATASET_FORMAT, DatasetError, GeneratorInfo, MANIFEST_FILE, Manifest, ShardEntry, StreamEntry};
pub use record::{Camera, Image, ObjectInfo, Record};
pub use regime::{Presentation, Regime};
pub use shard::{EncodedRows, ShardError, ShardWriter, read_columns, read_records, stream_records};
pub use split::Split;
pub use task::Task;

//! Record types and the Arrow/Parquet schema of an IPT example: the contract between the
//! generator (which writes shards) and the trainer (which reads them).
//!
//! One [`Record`] is one row. [`schema`] is its Arrow schema, declared once in [`columns`]
//! and carrying the Hugging Face `datasets` features in its metadata, so image columns load
//! as PIL images. [`shard`] writes and reads Parquet shards of records. Every column is
//! described in docs/schema.md.

pub mod columns;
pub mod record;
pub mod shard;

pub use columns::{SCHEMA_VERSION, schema};
pub use record::{Camera, Image, ObjectInfo, Record};
pub use shard::{EncodedRows, ShardError, ShardWriter, read_columns, read_records};

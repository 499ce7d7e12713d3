//! Dataset generation at scale: the configuration ([`config`]), where each example goes
//! ([`layout`]), records ([`record`]), the pipeline ([`pipeline`]), writing a shard's files
//! within the byte bound ([`shard_files`]), the folder's state and
//! manifest ([`store`]), statistics ([`stats`]), the dataset card ([`card`]), validation
//! ([`validate`]) and the CPU time of the pipeline's stages ([`stage_cpu`]).

pub mod card;
pub mod config;
pub mod layout;
pub mod pipeline;
pub mod record;
pub mod rendering;
pub mod shard_files;
pub mod stage_cpu;
pub mod stats;
pub mod store;
pub mod validate;

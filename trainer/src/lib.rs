//! The IPT trainer: a candle model that learns to imagine, trained and evaluated on the
//! generator's shards. It reads datasets through `ipt-schema` alone (never the generator).
//!
//! - [`data`]: reading datasets and turning examples into model inputs.
//! - [`model`]: the transformer and its parts.
//! - [`train`]: the optimizer and checkpoints.

pub mod data;
pub mod model;
pub mod train;

//! The IPT trainer: a candle model that learns to imagine, trained and evaluated on the
//! generator's shards. It reads datasets through `ipt-schema` alone (never the generator).
//!
//! - [`data`]: reading datasets and turning examples into model inputs.
//! - [`model`]: the transformer and its parts.
//! - [`train`]: the optimizer, checkpoints and the training runs.
//! - [`eval`]: a trained run answering a split, and its scores.
//! - [`bench`]: training speed against candle's own matmul rate.
//! - [`report`]: the results page: evaluated runs beside the paper's numbers and the blind
//!   baselines, with training curves and imaginations.

pub mod bench;
pub mod data;
pub mod eval;
pub mod model;
pub mod report;
pub mod train;

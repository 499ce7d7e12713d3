//! The IPT trainer: a candle model that learns to imagine, trained and evaluated on the
//! generator's shards. It reads datasets through `ipt-schema` alone (never the generator).
//!
//! - [`model`]: the transformer and its parts.

pub mod model;

//! The IPT trainer: candle model, Parquet data loading, training and evaluation.
//! It lands with its own issue; until then this crate only reserves its place in the workspace.

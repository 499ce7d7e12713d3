//! Record types and the Arrow/Parquet schema of an IPT example: the contract between the
//! generator and the trainer. The schema lands with the dataset-generation issue; until then
//! this crate only reserves its place in the workspace.

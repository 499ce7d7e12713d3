//! Training machinery.
//!
//! - [`optimizer`]: AdamW with gradient clipping and a saveable state.
//! - [`checkpoint`]: resumable checkpoints in a run folder.
//! - [`autoencoder`]: the `autoencoder` command's training run.

pub mod autoencoder;
pub mod checkpoint;
pub mod optimizer;

//! Training machinery.
//!
//! - [`optimizer`]: AdamW with gradient clipping and a saveable state.
//! - [`checkpoint`]: resumable checkpoints in a run folder.
//! - [`autoencoder`]: the `autoencoder` command's training run and the frozen latent codec.
//! - [`run`]: the `train` command's training run and loading a trained run.
//! - [`curve`]: accuracy on a held-out split while training.
//! - [`backbone`]: a pretrained Hugging Face Llama checkpoint as the language model.

pub mod autoencoder;
pub mod backbone;
pub mod checkpoint;
pub mod curve;
pub mod optimizer;
pub mod run;

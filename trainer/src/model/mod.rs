//! The IPT model, in candle-transformers' shape: a config, plain structs built with
//! `new(config, vb)`, and `forward`-style methods with their shapes in comments.
//!
//! - [`llama`]: the language model (Llama architecture, Hugging Face weight names).
//! - [`autoencoder`]: the convolutional image autoencoder whose latents are imagined.
//! - [`flow`]: rectified flow for the imagination latents (mixing, velocity, Euler sampling).

pub mod autoencoder;
pub mod flow;
pub mod llama;

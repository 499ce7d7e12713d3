//! The IPT model, in candle-transformers' shape: a config, plain structs built with
//! `new(config, vb)`, and `forward`-style methods with their shapes in comments.
//!
//! - [`llama`]: the language model (Llama architecture, Hugging Face weight names).
//! - [`autoencoder`]: the convolutional image autoencoder whose latents are imagined.
//! - [`flow`]: rectified flow for the imagination latents (mixing, velocity, Euler sampling).
//! - [`vision`]: the input-image encoder (a small ViT and a projector).
//! - [`init`]: seeded initial weights (candle's CPU generator cannot be seeded).
//! - [`ipt`]: the whole model: the sequence of image, text and latent tokens, its mask and
//!   its two losses.

pub mod autoencoder;
pub mod flow;
pub mod init;
pub mod ipt;
pub mod llama;
pub mod vision;

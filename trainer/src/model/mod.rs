//! The IPT model, in candle-transformers' shape: a config, plain structs built with
//! `new(config, vb)`, and `forward`-style methods with their shapes in comments.
//!
//! - [`llama`]: the language model (Llama architecture, Hugging Face weight names).

pub mod llama;

//! From a dataset folder to model inputs.
//!
//! - [`tokenizer`]: text to token ids and back.

pub mod tokenizer;

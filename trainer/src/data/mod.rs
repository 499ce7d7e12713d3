//! From a dataset folder to model inputs.
//!
//! - [`examples`]: a dataset's examples, decoded and resized, shard by shard.
//! - [`tokenizer`]: text to token ids and back.

pub mod examples;
#[cfg(test)]
pub(crate) mod testing;
pub mod tokenizer;

//! From a dataset folder to model inputs.
//!
//! - [`batch`]: examples -> model inputs under a training regime.
//! - [`examples`]: a dataset's examples, decoded and resized, shard by shard.
//! - [`loader`]: batches from a background thread through a bounded queue.
//! - [`tokenizer`]: text to token ids and back.

pub mod batch;
pub mod examples;
pub mod loader;
#[cfg(test)]
pub(crate) mod testing;
pub mod tokenizer;

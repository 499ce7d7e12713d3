//! Text to token ids and back, with Hugging Face's `tokenizers`: a byte-level BPE trained on a
//! dataset's own text (questions, options, chains of thought, answers), or a backbone's
//! `tokenizer.json`. A run saves the one it uses, so it is self-contained.

use std::path::Path;

use anyhow::{Context, Result, anyhow};
use tokenizers::models::bpe::{BPE, BpeTrainerBuilder};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{AddedToken, Tokenizer, TokenizerBuilder};

/// The end-of-text token of a tokenizer we train.
pub const END: &str = "<|end|>";
/// The padding token of a tokenizer we train.
pub const PAD: &str = "<|pad|>";
/// End-of-text tokens recognised in a loaded tokenizer, in order of preference.
const END_TOKENS: [&str; 4] = [END, "<|endoftext|>", "<|im_end|>", "</s>"];

/// A tokenizer and its end-of-text id.
#[derive(Clone)]
pub struct TextCodec {
    tokenizer: Tokenizer,
    end: u32,
}

impl std::fmt::Debug for TextCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextCodec").field("vocabulary", &self.vocabulary()).field("end", &self.end).finish()
    }
}

impl TextCodec {
    /// Trains a byte-level BPE of at most `vocabulary` tokens on `texts` (any text encodes:
    /// unseen characters fall back to bytes).
    pub fn train<I, S>(texts: I, vocabulary: usize) -> Result<TextCodec>
    where
        I: Iterator<Item = S> + Send,
        S: AsRef<str> + Send,
    {
        let specials = vec![AddedToken::from(PAD, true), AddedToken::from(END, true)];
        let mut trainer = BpeTrainerBuilder::new()
            .vocab_size(vocabulary)
            .min_frequency(2)
            .special_tokens(specials)
            .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
            .show_progress(false)
            .build();
        // No space added before the text: decoding gives back exactly what was encoded.
        let byte_level = ByteLevel::new(false, true, true);
        let mut tokenizer = TokenizerBuilder::new()
            .with_model(BPE::default())
            .with_normalizer(None::<tokenizers::NormalizerWrapper>)
            .with_pre_tokenizer(Some(byte_level))
            .with_post_processor(Some(byte_level))
            .with_decoder(Some(byte_level))
            .build()
            .map_err(|e| anyhow!("cannot build a tokenizer: {e}"))?;
        tokenizer.train(&mut trainer, texts).map_err(|e| anyhow!("tokenizer training failed: {e}"))?;
        TextCodec::new(tokenizer.into())
    }

    /// Loads a `tokenizer.json` (ours or a backbone's).
    pub fn load(path: &Path) -> Result<TextCodec> {
        let tokenizer =
            Tokenizer::from_file(path).map_err(|e| anyhow!("{}: not a tokenizer.json: {e}", path.display()))?;
        TextCodec::new(tokenizer).with_context(|| path.display().to_string())
    }

    fn new(tokenizer: Tokenizer) -> Result<TextCodec> {
        let end = END_TOKENS
            .iter()
            .find_map(|token| tokenizer.token_to_id(token))
            .ok_or_else(|| anyhow!("no end-of-text token (one of {})", END_TOKENS.join(", ")))?;
        Ok(TextCodec { tokenizer, end })
    }

    /// Writes `tokenizer.json`.
    pub fn save(&self, path: &Path) -> Result<()> {
        self.tokenizer.save(path, false).map_err(|e| anyhow!("{}: cannot write the tokenizer: {e}", path.display()))
    }

    /// Token ids of `text` (no special tokens added).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let encoding = self.tokenizer.encode(text, false).map_err(|e| anyhow!("cannot tokenize {text:?}: {e}"))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// The text of `ids`, special tokens left out.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.tokenizer.decode(ids, true).map_err(|e| anyhow!("cannot decode {ids:?}: {e}"))
    }

    /// The end-of-text id.
    pub fn end(&self) -> u32 {
        self.end
    }

    /// Tokens in the vocabulary, special tokens included.
    pub fn vocabulary(&self) -> usize {
        self.tokenizer.get_vocab_size(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> Vec<String> {
        (0..200)
            .map(|i| {
                format!(
                    "After moving to the X and turning left, will the sofa {i} be closer or further? Answer: {}",
                    ["A", "B"][i % 2]
                )
            })
            .collect()
    }

    #[test]
    fn a_trained_tokenizer_round_trips_saves_and_loads() {
        let codec = TextCodec::train(corpus().into_iter(), 300).unwrap();
        assert!(codec.vocabulary() <= 300 && codec.vocabulary() > 256, "{}", codec.vocabulary());
        let text = "Will the sofa be closer or further? Answer: B";
        let ids = codec.encode(text).unwrap();
        assert!(ids.len() < text.len() / 2, "merges learned: {} ids for {} bytes", ids.len(), text.len());
        assert_eq!(codec.decode(&ids).unwrap(), text);
        // Text never seen still encodes, byte by byte.
        let unseen = "Zwölf Äpfel — 12 🍎";
        assert_eq!(codec.decode(&codec.encode(unseen).unwrap()).unwrap(), unseen);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokenizer.json");
        codec.save(&path).unwrap();
        let loaded = TextCodec::load(&path).unwrap();
        assert_eq!(loaded.encode(text).unwrap(), ids);
        assert_eq!(loaded.end(), codec.end());
        std::fs::write(&path, "{}").unwrap();
        assert!(TextCodec::load(&path).unwrap_err().to_string().contains("tokenizer.json"));
    }
}

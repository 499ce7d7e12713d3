//! A pretrained Hugging Face Llama-architecture checkpoint as the language model: its
//! `config.json`, `tokenizer.json` and weights (`model.safetensors`, or the shards a
//! `model.safetensors.index.json` lists), e.g. SmolLM2-135M. The image encoder and the
//! imagination layers start fresh around it.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use anyhow::{Context, Result, bail};
use candle_core::{Device, Tensor};
use candle_nn::VarMap;

use crate::model::llama::LlamaConfig;

/// The backbone's settings file.
pub const CONFIG_FILE: &str = "config.json";
/// The backbone's tokenizer.
pub const TOKENIZER_FILE: &str = "tokenizer.json";
/// A single-file checkpoint.
const WEIGHTS_FILE: &str = "model.safetensors";
/// The index of a sharded checkpoint.
const INDEX_FILE: &str = "model.safetensors.index.json";

/// The language model's sizes from the backbone's `config.json`.
pub fn read_config(dir: &Path) -> Result<LlamaConfig> {
    let path = dir.join(CONFIG_FILE);
    let bytes = std::fs::read(&path).with_context(|| format!("--backbone: cannot read {}", path.display()))?;
    let config: LlamaConfig = serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: not a Llama-architecture config.json", path.display()))?;
    config.check().with_context(|| path.display().to_string())?;
    Ok(config)
}

/// Every tensor of the backbone's checkpoint (one file or the shards of its index).
fn tensors(dir: &Path, device: &Device) -> Result<HashMap<String, Tensor>> {
    let single = dir.join(WEIGHTS_FILE);
    if single.exists() {
        return candle_core::safetensors::load(&single, device)
            .with_context(|| format!("cannot read {}", single.display()));
    }
    let index = dir.join(INDEX_FILE);
    let Ok(bytes) = std::fs::read(&index) else {
        bail!("--backbone {}: no {WEIGHTS_FILE} or {INDEX_FILE}", dir.display());
    };
    let parsed: serde_json::Value =
        serde_json::from_slice(&bytes).with_context(|| format!("{} is not JSON", index.display()))?;
    let files: BTreeSet<&str> = parsed
        .get("weight_map")
        .and_then(|map| map.as_object())
        .with_context(|| format!("{}: no weight_map", index.display()))?
        .values()
        .filter_map(|file| file.as_str())
        .collect();
    let mut all = HashMap::new();
    for file in files {
        let path = dir.join(file);
        all.extend(
            candle_core::safetensors::load(&path, device).with_context(|| format!("cannot read {}", path.display()))?,
        );
    }
    Ok(all)
}

/// Sets the language model's variables of `varmap` (`model.*`, `lm_head.*`) from the
/// backbone's weights, converted to the variables' type; every one must be there with its
/// shape. Returns how many were set.
pub fn load_weights(varmap: &VarMap, dir: &Path, device: &Device) -> Result<usize> {
    let tensors = tensors(dir, device)?;
    let mut set = 0;
    for (name, var) in varmap.data().lock().expect("VarMap lock").iter() {
        if !(name.starts_with("model.") || name.starts_with("lm_head.")) {
            continue;
        }
        let Some(saved) = tensors.get(name) else {
            bail!("--backbone {}: no weights for {name}", dir.display());
        };
        if saved.shape() != var.shape() {
            bail!(
                "--backbone {}: {name} is {:?} there, {:?} in config.json's model",
                dir.display(),
                saved.shape(),
                var.shape()
            );
        }
        var.set(&saved.to_dtype(var.dtype())?)?;
        set += 1;
    }
    Ok(set)
}

//! Resumable checkpoints in a run folder: weights, AdamW moments, the step and the position
//! of the run's random stream, so a resumed run continues the same loss curve bit for bit.
//!
//! Layout: `checkpoints/step-NNNNNNNN.safetensors` (tensors `model.<name>` and the
//! optimizer's `first.<name>` / `second.<name>`) and `step-NNNNNNNN.json` (step and random
//! state), then `checkpoints/latest` naming the step, replaced atomically last. A run killed
//! while writing leaves `latest` at the previous complete checkpoint.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use candle_core::{Device, Tensor};
use candle_nn::VarMap;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::optimizer::Optimizer;

/// Checkpoints kept besides the latest (older ones are removed).
const KEEP_PREVIOUS: usize = 1;

/// The position of a ChaCha stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RngState {
    /// The 32-byte seed, hex.
    pub seed: String,
    /// The stream number.
    pub stream: u64,
    /// Words consumed (a u128, as decimal text).
    pub word_pos: String,
}

impl RngState {
    /// The state of `rng`.
    pub fn of(rng: &ChaCha8Rng) -> RngState {
        RngState {
            seed: rng.get_seed().iter().map(|b| format!("{b:02x}")).collect(),
            stream: rng.get_stream(),
            word_pos: rng.get_word_pos().to_string(),
        }
    }

    /// The stream at this state.
    pub fn rng(&self) -> Result<ChaCha8Rng> {
        use rand::SeedableRng;
        let bytes = (0..self.seed.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(self.seed.get(i..i + 2).unwrap_or("zz"), 16))
            .collect::<Result<Vec<u8>, _>>()
            .context("rng seed is not hex")?;
        let seed: [u8; 32] = bytes.try_into().map_err(|_| anyhow::anyhow!("rng seed is not 32 bytes"))?;
        let mut rng = ChaCha8Rng::from_seed(seed);
        rng.set_stream(self.stream);
        rng.set_word_pos(self.word_pos.parse().context("rng word_pos is not a number")?);
        Ok(rng)
    }
}

/// What a checkpoint records besides tensors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointMeta {
    /// Optimizer steps taken.
    pub step: u64,
    /// The run's random stream after that step.
    pub rng: RngState,
}

fn folder(run: &Path) -> PathBuf {
    run.join("checkpoints")
}

fn stem(step: u64) -> String {
    format!("step-{step:08}")
}

/// Writes `bytes` to `path` through a temporary file and a rename.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let partial = path.with_extension("partial");
    std::fs::write(&partial, bytes).with_context(|| format!("cannot write {}", partial.display()))?;
    std::fs::rename(&partial, path).with_context(|| format!("cannot write {}", path.display()))
}

/// Writes `items` to `path` as JSON lines (one object per line), atomically as
/// [`write_atomic`].
pub(crate) fn write_json_lines<T: serde::Serialize>(path: &Path, items: &[T]) -> Result<()> {
    let mut text = String::new();
    for item in items {
        text.push_str(&serde_json::to_string(item)?);
        text.push('\n');
    }
    write_atomic(path, text.as_bytes())
}

/// Reads the JSON lines of `path` (none when the file does not exist), each parsed as a `T`.
pub(crate) fn read_json_lines<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    text.lines()
        .enumerate()
        .map(|(number, line)| {
            serde_json::from_str(line).with_context(|| format!("{} line {}", path.display(), number + 1))
        })
        .collect()
}

/// Saves the model's variables, the optimizer's moments and `meta` as the run's latest
/// checkpoint.
pub fn save(run: &Path, varmap: &VarMap, optimizer: &Optimizer, meta: &CheckpointMeta) -> Result<()> {
    let dir = folder(run);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut tensors: HashMap<String, Tensor> =
        variables(varmap).into_iter().map(|(name, tensor)| (format!("model.{name}"), tensor)).collect();
    tensors.extend(optimizer.state());
    let name = stem(meta.step);
    save_tensors(&tensors, &dir.join(format!("{name}.safetensors")))?;
    write_atomic(&dir.join(format!("{name}.json")), &serde_json::to_vec_pretty(meta)?)?;
    write_atomic(&dir.join("latest"), name.as_bytes())?;
    // Older checkpoints beyond the previous one go.
    let mut steps: Vec<String> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|f| f.strip_suffix(".json").map(str::to_string))
        .filter(|f| f.starts_with("step-"))
        .collect();
    steps.sort();
    let old = steps.len().saturating_sub(KEEP_PREVIOUS + 1);
    for stale in &steps[..old] {
        for extension in ["json", "safetensors"] {
            let _ = std::fs::remove_file(dir.join(format!("{stale}.{extension}")));
        }
    }
    Ok(())
}

/// The variables of `varmap` by name.
fn variables(varmap: &VarMap) -> HashMap<String, Tensor> {
    varmap.data().lock().expect("VarMap lock").iter().map(|(n, v)| (n.clone(), v.as_tensor().clone())).collect()
}

/// Sets every variable of `varmap` to the tensor `prefix<name>` of `tensors` (read from
/// `file`), which must exist with the same shape.
fn assign(varmap: &VarMap, tensors: &HashMap<String, Tensor>, prefix: &str, file: &Path) -> Result<()> {
    for (name, var) in varmap.data().lock().expect("VarMap lock").iter() {
        let Some(saved) = tensors.get(&format!("{prefix}{name}")) else {
            bail!("{}: no weights for {name} (a file of another model?)", file.display());
        };
        if saved.shape() != var.shape() {
            bail!("{}: {name} is {:?} there, {:?} in this model", file.display(), saved.shape(), var.shape());
        }
        var.set(saved)?;
    }
    Ok(())
}

/// Writes the variables of `varmap` to a safetensors file, through a temporary file and a
/// rename (a killed run never leaves half a file under the real name).
pub fn save_weights(varmap: &VarMap, path: &Path) -> Result<()> {
    save_tensors(&variables(varmap), path)
}

/// Writes named tensors to a safetensors file through a temporary file and a rename.
fn save_tensors(tensors: &HashMap<String, Tensor>, path: &Path) -> Result<()> {
    let partial = path.with_extension("partial");
    candle_core::safetensors::save(tensors, &partial).with_context(|| format!("cannot write {}", partial.display()))?;
    std::fs::rename(&partial, path).with_context(|| format!("cannot write {}", path.display()))
}

/// Sets the variables of `varmap` from a file written by [`save_weights`]; every variable
/// must be there with the same shape.
pub fn load_weights(varmap: &VarMap, path: &Path, device: &Device) -> Result<()> {
    let tensors =
        candle_core::safetensors::load(path, device).with_context(|| format!("cannot read {}", path.display()))?;
    assign(varmap, &tensors, "", path)
}

/// Loads the run's latest checkpoint into `varmap` and `optimizer`; `None` when the run has
/// none yet.
pub fn load(run: &Path, varmap: &VarMap, optimizer: &mut Optimizer, device: &Device) -> Result<Option<CheckpointMeta>> {
    let dir = folder(run);
    let Ok(name) = std::fs::read_to_string(dir.join("latest")) else { return Ok(None) };
    let name = name.trim();
    let meta_path = dir.join(format!("{name}.json"));
    let meta: CheckpointMeta = serde_json::from_slice(
        &std::fs::read(&meta_path).with_context(|| format!("cannot read {}", meta_path.display()))?,
    )
    .with_context(|| format!("{} is not a checkpoint record", meta_path.display()))?;
    let weights = dir.join(format!("{name}.safetensors"));
    let tensors = candle_core::safetensors::load(&weights, device)
        .with_context(|| format!("{} is not a readable checkpoint", weights.display()))?;
    assign(varmap, &tensors, "model.", &weights)?;
    optimizer.restore(&tensors, meta.step).with_context(|| weights.display().to_string())?;
    Ok(Some(meta))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::optimizer::AdamWConfig;
    use candle_core::DType;
    use candle_nn::{Module, VarBuilder};
    use rand::{Rng, SeedableRng};

    fn layer(varmap: &VarMap) -> candle_nn::Linear {
        candle_nn::linear(3, 2, VarBuilder::from_varmap(varmap, DType::F32, &Device::Cpu)).unwrap()
    }

    /// One training step on a random batch from `rng`; returns the loss.
    fn step(layer: &candle_nn::Linear, optimizer: &mut Optimizer, rng: &mut ChaCha8Rng) -> f32 {
        let x: Vec<f32> = (0..12).map(|_| rng.random_range(-1.0..1.0)).collect();
        let x = Tensor::from_vec(x, (4, 3), &Device::Cpu).unwrap();
        let loss = layer.forward(&x).unwrap().sqr().unwrap().mean_all().unwrap();
        let value = loss.to_scalar::<f32>().unwrap();
        optimizer.backward_step(&loss).unwrap();
        value
    }

    #[test]
    fn a_resumed_run_continues_the_same_loss_curve_bit_for_bit() {
        let run = tempfile::tempdir().unwrap();
        // Uninterrupted: 6 steps.
        let varmap = VarMap::new();
        let model = layer(&varmap);
        let mut optimizer = Optimizer::new(&varmap, AdamWConfig::default()).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut curve = Vec::new();
        for i in 0..6 {
            curve.push(step(&model, &mut optimizer, &mut rng));
            if i == 2 {
                save(run.path(), &varmap, &optimizer, &CheckpointMeta { step: 3, rng: RngState::of(&rng) }).unwrap();
            }
        }
        // Resumed from step 3 in a fresh model.
        let resumed = VarMap::new();
        let resumed_model = layer(&resumed);
        let mut resumed_optimizer = Optimizer::new(&resumed, AdamWConfig::default()).unwrap();
        let meta = load(run.path(), &resumed, &mut resumed_optimizer, &Device::Cpu).unwrap().unwrap();
        assert_eq!(meta.step, 3);
        let mut rng = meta.rng.rng().unwrap();
        let rest: Vec<f32> = (0..3).map(|_| step(&resumed_model, &mut resumed_optimizer, &mut rng)).collect();
        assert_eq!(rest, curve[3..], "bit for bit");
    }

    #[test]
    fn a_run_without_checkpoints_starts_fresh_and_a_foreign_one_is_named() {
        let run = tempfile::tempdir().unwrap();
        let varmap = VarMap::new();
        let _ = layer(&varmap);
        let mut optimizer = Optimizer::new(&varmap, AdamWConfig::default()).unwrap();
        assert!(load(run.path(), &varmap, &mut optimizer, &Device::Cpu).unwrap().is_none());
        let meta = CheckpointMeta { step: 1, rng: RngState::of(&ChaCha8Rng::seed_from_u64(1)) };
        for step in 1..=3 {
            save(run.path(), &varmap, &optimizer, &CheckpointMeta { step, ..meta.clone() }).unwrap();
        }
        let files = std::fs::read_dir(folder(run.path())).unwrap().count();
        assert_eq!(files, 5, "two checkpoints of two files and `latest`");
        let other = VarMap::new();
        let _ = candle_nn::linear(5, 2, VarBuilder::from_varmap(&other, DType::F32, &Device::Cpu)).unwrap();
        let mut other_optimizer = Optimizer::new(&other, AdamWConfig::default()).unwrap();
        let error = load(run.path(), &other, &mut other_optimizer, &Device::Cpu).unwrap_err().to_string();
        assert!(error.contains("step-00000003.safetensors"), "{error}");
    }
}

//! `ipt-train autoencoder`: trains the imagination autoencoder on a dataset's imagination
//! images (train split, every task), with checkpoints to resume from, and writes the frozen
//! weights, their config and a picture of reconstructions into the run folder.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use candle_core::{Device, Tensor};
use candle_nn::VarMap;
use image::RgbImage;
use indicatif::{ProgressBar, ProgressStyle};
use ipt_schema::Split;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::checkpoint::{self, CheckpointMeta, RngState};
use super::optimizer::{AdamWConfig, Optimizer};
use crate::data::batch::image_tensor;
use crate::data::examples::shard_paths;
use crate::data::loader::{Loader, LoaderConfig};
use crate::model::autoencoder::{Autoencoder, AutoencoderConfig};
use crate::model::init::seeded_builder;

/// The frozen autoencoder's weights in a run folder.
pub const WEIGHTS_FILE: &str = "autoencoder.safetensors";
/// Its settings (and the latents' statistics) in a run folder.
pub const CONFIG_FILE: &str = "autoencoder.json";
/// Originals above reconstructions, written at the end.
pub const PREVIEW_FILE: &str = "reconstructions.png";

/// What `autoencoder` trains with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoencoderRun {
    /// The dataset folder.
    pub data: PathBuf,
    /// Sizes.
    pub model: AutoencoderConfig,
    /// Optimizer steps.
    pub steps: u64,
    /// Images per step.
    pub batch_size: usize,
    /// AdamW settings.
    pub optimizer: AdamWConfig,
    /// Steps between checkpoints.
    pub checkpoint_every: u64,
    /// Seed of the data order and initial weights.
    pub seed: u64,
}

/// What a finished autoencoder run leaves in `autoencoder.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrozenAutoencoder {
    /// Sizes.
    pub model: AutoencoderConfig,
    /// Mean of the latents over the last batches (subtracted before the flow, as FLUX's shift).
    pub latent_mean: f32,
    /// Their standard deviation (divided by, as FLUX's scale).
    pub latent_std: f32,
    /// Final mean squared reconstruction error on [-1, 1] pixels.
    pub reconstruction_mse: f32,
}

/// A finished autoencoder run, loaded to encode imaginations into the normalised latents the
/// IPT model predicts and to decode predicted latents back into pictures.
pub struct LatentCodec {
    model: Autoencoder,
    frozen: FrozenAutoencoder,
}

impl LatentCodec {
    /// Loads the autoencoder of the run folder `dir`; the error says how to make one.
    pub fn load(dir: &Path, device: &Device) -> Result<LatentCodec> {
        let config_path = dir.join(CONFIG_FILE);
        let bytes = std::fs::read(&config_path).with_context(|| {
            format!(
                "{} is missing: train the autoencoder first (`ipt-train autoencoder --data DATASET --out {}`)",
                config_path.display(),
                dir.display()
            )
        })?;
        let frozen: FrozenAutoencoder = serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not an autoencoder record", config_path.display()))?;
        let weights_path = dir.join(WEIGHTS_FILE);
        let weights = candle_core::safetensors::load(&weights_path, device)
            .with_context(|| format!("cannot read {}", weights_path.display()))?;
        let vb = candle_nn::VarBuilder::from_tensors(weights, candle_core::DType::F32, device);
        let model = Autoencoder::new(&frozen.model, vb)
            .with_context(|| format!("{} does not hold this autoencoder's weights", weights_path.display()))?;
        Ok(LatentCodec { model, frozen })
    }

    /// Its sizes and statistics.
    pub fn frozen(&self) -> &FrozenAutoencoder {
        &self.frozen
    }

    /// Images `(n, 3, s, s)` in [-1, 1] -> latents `(n, c, g, g)`, shifted and scaled to
    /// zero mean and unit spread.
    pub fn encode(&self, images: &Tensor) -> candle_core::Result<Tensor> {
        let latents = self.model.encoder.forward(images)?;
        (latents - f64::from(self.frozen.latent_mean))? / f64::from(self.frozen.latent_std.max(1e-6))
    }

    /// The inverse: normalised latents -> images in [-1, 1].
    pub fn decode(&self, latents: &Tensor) -> candle_core::Result<Tensor> {
        let latents = ((latents * f64::from(self.frozen.latent_std.max(1e-6)))? + f64::from(self.frozen.latent_mean))?;
        self.model.decoder.forward(&latents)?.clamp(-1f32, 1f32)
    }
}

/// Trains (or resumes) in `run` and returns what it froze.
pub fn train(config: &AutoencoderRun, run: &Path, device: &Device) -> Result<FrozenAutoencoder> {
    config.model.check().context("autoencoder settings")?;
    std::fs::create_dir_all(run).with_context(|| format!("cannot create {}", run.display()))?;
    let shards = shard_paths(&config.data, Split::Train, None)?;
    let varmap = VarMap::new();
    let model = Autoencoder::new(&config.model, seeded_builder(&varmap, config.seed, device))?;
    let mut optimizer = Optimizer::new(&varmap, config.optimizer)?;
    let (mut step, rng) = match checkpoint::load(run, &varmap, &mut optimizer, device)? {
        Some(meta) => (meta.step, meta.rng.rng()?),
        None => (0, ChaCha8Rng::seed_from_u64(config.seed)),
    };
    // The loader's order follows the step, so a resumed run sees what the first would have.
    let mut loader = Loader::spawn(LoaderConfig {
        shards,
        image_size: config.model.image_size as u32,
        batch_size: config.batch_size,
        seed: config.seed,
        shuffle_buffer: 4 * config.batch_size,
        queue: 4,
        epochs: None,
        skip: step,
    });
    let bar = ProgressBar::new(config.steps).with_position(step).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} steps · {per_sec} · eta {eta} · {msg}")
            .expect("valid template"),
    );
    let mut last_batch = None;
    while step < config.steps {
        let batch = loader.next_batch().context("the loader stopped")??;
        let images: Vec<&RgbImage> = batch.iter().map(|e| &e.imagination).collect();
        let images = image_tensor(&images, device)?;
        let loss = model.loss(&images)?;
        let value = loss.to_scalar::<f32>()?;
        optimizer.backward_step(&loss)?;
        step += 1;
        last_batch = Some(images);
        bar.set_position(step);
        bar.set_message(format!("loss {value:.4} · waited for data {:.1} s", loader.take_wait().as_secs_f32()));
        if step % config.checkpoint_every.max(1) == 0 || step == config.steps {
            checkpoint::save(run, &varmap, &optimizer, &CheckpointMeta { step, rng: RngState::of(&rng) })?;
            if bar.is_hidden() {
                // No terminal (a background run): a line per checkpoint instead of the bar.
                eprintln!("step {step}/{} · {}", config.steps, bar.message());
            }
        }
    }
    bar.finish_and_clear();
    let images = match last_batch {
        Some(images) => images,
        None => {
            // Resumed at the end: one batch for the statistics.
            let batch = loader.next_batch().context("the loader stopped")??;
            image_tensor(&batch.iter().map(|e| &e.imagination).collect::<Vec<_>>(), device)?
        }
    };
    let latents = model.encoder.forward(&images)?;
    let reconstruction = model.decoder.forward(&latents)?;
    let frozen = FrozenAutoencoder {
        model: config.model.clone(),
        latent_mean: latents.mean_all()?.to_scalar()?,
        latent_std: latents.flatten_all()?.var(0)?.sqrt()?.to_scalar()?,
        reconstruction_mse: (reconstruction.clone() - &images)?.sqr()?.mean_all()?.to_scalar()?,
    };
    checkpoint::save_weights(&varmap, &run.join(WEIGHTS_FILE))?;
    std::fs::write(run.join(CONFIG_FILE), serde_json::to_vec_pretty(&frozen)?)?;
    preview(&images, &reconstruction, &run.join(PREVIEW_FILE))?;
    Ok(frozen)
}

/// Up to 8 originals in the top row and their reconstructions below.
fn preview(originals: &Tensor, reconstructions: &Tensor, path: &Path) -> Result<()> {
    let count = originals.dim(0)?.min(8);
    let size = originals.dim(2)?;
    let mut sheet = RgbImage::new((count * size) as u32, (2 * size) as u32);
    for (row, images) in [originals, reconstructions].into_iter().enumerate() {
        // (n, 3, s, s) in [-1, 1] -> bytes
        let values: Vec<f32> = images.narrow(0, 0, count)?.clamp(-1f32, 1f32)?.flatten_all()?.to_vec1()?;
        for i in 0..count {
            for y in 0..size {
                for x in 0..size {
                    let at = |c: usize| values[((i * 3 + c) * size + y) * size + x];
                    let rgb = [0, 1, 2].map(|c| ((at(c) + 1.0) * 127.5).round() as u8);
                    sheet.put_pixel((i * size + x) as u32, (row * size + y) as u32, image::Rgb(rgb));
                }
            }
        }
    }
    sheet.save(path).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::testing;

    fn config(data: &Path, steps: u64) -> AutoencoderRun {
        AutoencoderRun {
            data: data.to_path_buf(),
            model: AutoencoderConfig { image_size: 16, channels: vec![8, 8], latent_channels: 2 },
            steps,
            batch_size: 4,
            optimizer: AdamWConfig { learning_rate: 3e-3, ..AdamWConfig::default() },
            checkpoint_every: 5,
            seed: 3,
        }
    }

    #[test]
    fn a_run_trains_freezes_and_resumes_where_it_stopped() {
        let data = tempfile::tempdir().unwrap();
        testing::dataset(data.path(), &[Split::Train], 12);
        let run = tempfile::tempdir().unwrap();
        let short = train(&config(data.path(), 10), run.path(), &Device::Cpu).unwrap();
        for file in [WEIGHTS_FILE, CONFIG_FILE, PREVIEW_FILE] {
            assert!(run.path().join(file).exists(), "{file}");
        }
        // Run again with more steps: it resumes at step 10, and ends where a single run of
        // 30 steps ends.
        let resumed = train(&config(data.path(), 30), run.path(), &Device::Cpu).unwrap();
        let straight_run = tempfile::tempdir().unwrap();
        let straight = train(&config(data.path(), 30), straight_run.path(), &Device::Cpu).unwrap();
        assert_eq!(resumed, straight);
        assert!(resumed.reconstruction_mse < short.reconstruction_mse, "{resumed:?} vs {short:?}");
        // The frozen codec's latents are normalised and decode back to images.
        let codec = LatentCodec::load(run.path(), &Device::Cpu).unwrap();
        let images = Tensor::rand(-1f32, 1.0, (3, 3, 16, 16), &Device::Cpu).unwrap();
        let latents = codec.encode(&images).unwrap();
        assert_eq!(latents.dims(), &[3, 2, 4, 4]);
        assert_eq!(codec.decode(&latents).unwrap().dims(), &[3, 3, 16, 16]);
        let empty = tempfile::tempdir().unwrap();
        let error = LatentCodec::load(empty.path(), &Device::Cpu).err().unwrap().to_string();
        assert!(error.contains("ipt-train autoencoder"), "{error}");
        let missing = train(&config(&data.path().join("nope"), 1), run.path(), &Device::Cpu).unwrap_err();
        assert!(format!("{missing:#}").contains("manifest"), "{missing:#}");
    }
}

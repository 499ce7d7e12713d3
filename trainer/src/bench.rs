//! `ipt-train bench`: how fast training runs here, against what the hardware can do.
//!
//! Three measurements in one process: candle's own large-matmul rate (the ceiling), training
//! steps of the model on batches shaped like real IPT examples (samples and tokens per second,
//! and the model FLOP utilisation: the step's counted matmul FLOPs per second over that
//! ceiling), and, given a dataset, how long the loader takes to decode a batch.

use std::time::Instant;

use anyhow::Result;
use candle_core::{Device, Tensor};
use candle_nn::VarMap;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::data::loader::{Loader, LoaderConfig};
use crate::model::flow::gaussian;
use crate::model::init::seeded_builder;
use crate::model::ipt::{Imagining, IptConfig, IptModel, Item};
use crate::train::optimizer::{AdamWConfig, Optimizer};

/// The shape of the synthetic examples timed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Shape {
    /// Input images per example.
    pub images: usize,
    /// Prompt (and think) tokens.
    pub text: usize,
    /// Target tokens.
    pub target: usize,
    /// Whether examples imagine (a noisy and a clean latent block).
    pub imagine: bool,
}

/// What `bench` measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    /// Parameters of the model.
    pub parameters: usize,
    /// Tokens in one example's sequence.
    pub tokens_per_example: usize,
    /// Examples per step.
    pub batch_size: usize,
    /// candle's f32 matmul rate on 1024 x 1024 matrices, GFLOP/s.
    pub matmul_gflops: f64,
    /// Mean seconds per training step (forward, backward, AdamW), after a warm-up step.
    pub step_seconds: f64,
    /// Examples per second.
    pub samples_per_second: f64,
    /// Sequence tokens per second.
    pub tokens_per_second: f64,
    /// Counted matmul FLOPs of one step (forward and backward: 3x the forward's).
    pub step_gflop: f64,
    /// `step_gflop / step_seconds / matmul_gflops`.
    pub model_flop_utilisation: f64,
    /// Mean seconds the loader takes to read and decode one batch of the dataset (when one
    /// was given).
    pub loader_seconds_per_batch: Option<f64>,
}

/// candle's matmul rate on this device: `n x n` by `n x n`, f32, GFLOP/s.
pub fn matmul_gflops(device: &Device) -> Result<f64> {
    let n = 1024;
    let a = Tensor::randn(0f32, 1.0, (n, n), device)?;
    let b = Tensor::randn(0f32, 1.0, (n, n), device)?;
    a.matmul(&b)?.sum_all()?.to_scalar::<f32>()?; // warm-up
    let repeats = 8;
    let start = Instant::now();
    for _ in 0..repeats {
        a.matmul(&b)?.sum_all()?.to_scalar::<f32>()?;
    }
    Ok(2.0 * (n * n * n * repeats) as f64 / start.elapsed().as_secs_f64() / 1e9)
}

/// Forward FLOPs of a stack of Llama blocks over `t` tokens.
fn blocks_flops(layers: usize, width: usize, intermediate: usize, heads: usize, kv_heads: usize, t: usize) -> f64 {
    let head_dim = width / heads;
    let projections = 2 * width * width + 2 * width * kv_heads * head_dim + 3 * width * intermediate;
    let attention = 2 * t * width; // scores and weighted sum, per token
    (layers * t * 2 * (projections + attention)) as f64
}

/// Counted forward FLOPs (matrix products only) of one example of `shape`.
pub fn example_flops(config: &IptConfig, shape: Shape) -> f64 {
    let language = &config.language;
    let vision = &config.vision;
    let h = language.hidden_size;
    let patches = vision.patches();
    let per_image = blocks_flops(vision.layers, vision.width, 4 * vision.width, vision.heads, vision.heads, patches)
        + (2 * patches * (3 * vision.patch_size.pow(2) * vision.width + vision.width * h + h * h)) as f64;
    let latent_tokens = if shape.imagine { 2 * config.latent.tokens() } else { 0 };
    let t = shape.images * patches + shape.text + latent_tokens + shape.target;
    let latent_values = config.latent.token_values();
    let latents = if shape.imagine {
        (2 * latent_tokens * latent_values * h + 2 * config.latent.tokens() * h * latent_values) as f64
    } else {
        0.0
    };
    shape.images as f64 * per_image
        + blocks_flops(
            language.num_hidden_layers,
            h,
            language.intermediate_size,
            language.num_attention_heads,
            language.kv_heads(),
            t,
        )
        + (2 * shape.target * h * language.vocab_size) as f64
        + latents
}

/// Tokens in one example's sequence.
pub fn example_tokens(config: &IptConfig, shape: Shape) -> usize {
    let latent_tokens = if shape.imagine { 2 * config.latent.tokens() } else { 0 };
    shape.images * config.vision.patches() + shape.text + latent_tokens + shape.target
}

/// Synthetic items of `shape` with random ids, images and latents.
fn synthetic(
    config: &IptConfig,
    shape: Shape,
    count: usize,
    rng: &mut ChaCha8Rng,
    device: &Device,
) -> Result<(Tensor, Vec<Item>)> {
    let s = config.vision.image_size;
    let images =
        Tensor::from_vec(gaussian(count * shape.images * 3 * s * s, rng), (count * shape.images, 3, s, s), device)?;
    let vocabulary = config.language.vocab_size as u32;
    let latent = &config.latent;
    let mut items = Vec::with_capacity(count);
    for _ in 0..count {
        let ids =
            |n: usize, rng: &mut ChaCha8Rng| (0..n).map(|_| rng.random_range(0..vocabulary)).collect::<Vec<u32>>();
        let imagination = if shape.imagine {
            let dims = (latent.channels, latent.grid, latent.grid);
            let values = latent.channels * latent.grid * latent.grid;
            let clean = Tensor::from_vec(gaussian(values, rng), dims, device)?;
            let noise = Tensor::from_vec(gaussian(values, rng), dims, device)?;
            Some(Imagining::training(Vec::new(), clean, &noise, rng.random_range(0.05..0.95))?)
        } else {
            None
        };
        items.push(Item {
            images: shape.images,
            prompt: ids(shape.text, rng),
            imagination,
            target: ids(shape.target, rng),
        });
    }
    Ok((images, items))
}

/// Times `steps` training steps of `config` at `batch_size` on synthetic examples of `shape`
/// (after one warm-up step), and the loader on `loader` if given.
pub fn run(
    config: &IptConfig,
    shape: Shape,
    batch_size: usize,
    steps: usize,
    loader: Option<LoaderConfig>,
    device: &Device,
) -> Result<BenchReport> {
    config.check()?;
    let matmul = matmul_gflops(device)?;
    let varmap = VarMap::new();
    let model = IptModel::new(config, seeded_builder(&varmap, 0, device))?;
    let parameters = varmap.all_vars().iter().map(|v| v.elem_count()).sum();
    let mut optimizer = Optimizer::new(&varmap, AdamWConfig::default())?;
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let (images, items) = synthetic(config, shape, batch_size, &mut rng, device)?;
    optimizer.backward_step(&model.losses(&images, &items)?.total)?; // warm-up
    let start = Instant::now();
    for _ in 0..steps.max(1) {
        optimizer.backward_step(&model.losses(&images, &items)?.total)?;
    }
    let step_seconds = start.elapsed().as_secs_f64() / steps.max(1) as f64;
    let tokens = example_tokens(config, shape);
    let step_gflop = 3.0 * example_flops(config, shape) * batch_size as f64 / 1e9;
    let loader_seconds_per_batch = match loader {
        Some(loader_config) => {
            let batches = 5;
            let mut loader = Loader::spawn(LoaderConfig { queue: 1, ..loader_config });
            loader.next_batch().transpose()?; // the first read opens a shard
            let start = Instant::now();
            for _ in 0..batches {
                loader.next_batch().transpose()?;
            }
            Some(start.elapsed().as_secs_f64() / batches as f64)
        }
        None => None,
    };
    Ok(BenchReport {
        parameters,
        tokens_per_example: tokens,
        batch_size,
        matmul_gflops: matmul,
        step_seconds,
        samples_per_second: batch_size as f64 / step_seconds,
        tokens_per_second: (batch_size * tokens) as f64 / step_seconds,
        step_gflop,
        model_flop_utilisation: step_gflop / step_seconds / matmul,
        loader_seconds_per_batch,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::run::small_model;

    #[test]
    fn the_default_model_counts_about_six_flops_per_parameter_and_token() {
        // The rule of thumb for a transformer: training costs about 6 FLOPs per parameter
        // per token (plus attention). The language model dominates the default model.
        let mut config = small_model();
        config.language.vocab_size = 1024;
        let shape = Shape { images: 0, text: 100, target: 1, imagine: false };
        let language = &config.language;
        let h = language.hidden_size;
        let per_layer =
            2 * h * h + 2 * h * language.kv_heads() * language.head_dim() + 3 * h * language.intermediate_size;
        let parameters = language.num_hidden_layers * per_layer;
        let counted = 3.0 * example_flops(&config, shape);
        let rule = 6.0 * (parameters * 100) as f64;
        assert!(counted > rule && counted < 1.2 * rule, "{counted} vs {rule}");
        assert_eq!(example_tokens(&config, Shape { images: 1, text: 24, target: 0, imagine: true }), 64 + 24 + 32);
    }
}

//! The seeded random source of a scene build, and sampling helpers whose results are the
//! same on every platform.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The random generator every stage draws from.
pub type SceneRng = ChaCha8Rng;

/// The generator for layout attempt `attempt` of `seed`: one independent stream per attempt,
/// so rejecting an attempt never shifts the numbers of another.
pub fn scene_rng(seed: u64, attempt: u32) -> SceneRng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(u64::from(attempt));
    rng
}

/// Uniform in `[low, high]` (returns `low` when the range is empty).
pub fn uniform(rng: &mut SceneRng, low: f32, high: f32) -> f32 {
    if high <= low { low } else { low + (high - low) * rng.random::<f32>() }
}

/// Rounds to a multiple of `step` (keeps numbers in scene files readable).
pub fn quantize(value: f32, step: f32) -> f32 {
    (value / step).round() * step
}

/// Picks an index with probability proportional to `weights`.
pub fn weighted_index(weights: &[f32], rng: &mut SceneRng) -> usize {
    let total: f32 = weights.iter().sum();
    let mut t = rng.random::<f32>() * total;
    for (i, w) in weights.iter().enumerate() {
        if t < *w {
            return i;
        }
        t -= w;
    }
    weights.len() - 1
}

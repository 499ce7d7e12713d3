//! Rectified flow, as BAGEL and the IPT paper train imagination latents: a clean latent `x0`
//! and Gaussian noise `e` are mixed as `x_t = (1 - t) x0 + t e`, the model predicts the
//! velocity `e - x0`, and sampling integrates that velocity from pure noise (`t = 1`) back to
//! `t = 0` with Euler steps.
//!
//! Noise and times are drawn on the host from the caller's seeded stream (not candle's
//! device RNG), so a resumed run draws exactly what an uninterrupted one would.

use candle_core::{Result, Tensor};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// `n` times from the logit-normal distribution (`sigmoid` of a standard normal): most
/// weight on the middle of the path, where the velocity is hardest to predict.
pub fn logit_normal_times(n: usize, rng: &mut impl Rng) -> Vec<f32> {
    (0..n)
        .map(|_| {
            let z: f32 = StandardNormal.sample(rng);
            1.0 / (1.0 + (-z).exp())
        })
        .collect()
}

/// `n` standard normal values.
pub fn gaussian(n: usize, rng: &mut impl Rng) -> Vec<f32> {
    (0..n).map(|_| StandardNormal.sample(rng)).collect()
}

/// A training pair: the noisy latents the model sees and the velocity it must predict.
#[derive(Debug, Clone)]
pub struct FlowPair {
    /// `x_t = (1 - t) x0 + t e`, the shape of `x0`.
    pub noisy: Tensor,
    /// `e - x0`, the shape of `x0`.
    pub velocity: Tensor,
}

/// Mixes clean latents `x0` `(b, ...)` with noise `e` of the same shape at times `t` `(b)`.
pub fn mix(x0: &Tensor, noise: &Tensor, t: &Tensor) -> Result<FlowPair> {
    // (b) -> (b, 1, ..., 1) to broadcast over each example's latents.
    let mut shape = vec![1; x0.rank()];
    shape[0] = x0.dim(0)?;
    let t = t.reshape(shape)?;
    let noisy = (x0.broadcast_mul(&(1.0 - &t)?)? + noise.broadcast_mul(&t)?)?;
    let velocity = (noise - x0)?;
    Ok(FlowPair { noisy, velocity })
}

/// The times of an `steps`-step Euler sampler, from 1 down to 0 (`steps + 1` values),
/// with BAGEL's timestep shift: `shift > 1` spends more steps at high noise.
pub fn schedule(steps: usize, shift: f32) -> Vec<f32> {
    (0..=steps)
        .map(|i| {
            let t = 1.0 - i as f32 / steps.max(1) as f32;
            shift * t / (1.0 + (shift - 1.0) * t)
        })
        .collect()
}

/// Integrates `velocity(x_t, t)` from `start` (noise at `times[0]`, usually 1) through
/// `times` with Euler steps `x <- x - v (t_i - t_{i+1})`, returning the latents at the last
/// time (usually 0).
pub fn euler(start: Tensor, times: &[f32], mut velocity: impl FnMut(&Tensor, f32) -> Result<Tensor>) -> Result<Tensor> {
    let mut x = start;
    for pair in times.windows(2) {
        let v = velocity(&x, pair[0])?;
        x = (x - (v * f64::from(pair[0] - pair[1]))?)?;
    }
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;
    use rand::SeedableRng;

    fn max_difference(a: &Tensor, b: &Tensor) -> f32 {
        (a - b).unwrap().abs().unwrap().max_all().unwrap().to_scalar().unwrap()
    }

    #[test]
    fn euler_on_the_true_velocity_field_reproduces_the_latent() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let device = Device::Cpu;
        let x0 = Tensor::from_vec(gaussian(2 * 4 * 3, &mut rng), (2, 4, 3), &device).unwrap();
        let noise = Tensor::from_vec(gaussian(2 * 4 * 3, &mut rng), (2, 4, 3), &device).unwrap();
        // The field that moves any x_t straight to x0: v = (x_t - x0) / t. It never sees the
        // noise; the sampler must still land on x0 from it.
        let field = |x: &Tensor, t: f32| (x - &x0)? / f64::from(t);
        for (steps, shift) in [(1, 1.0), (10, 1.0), (50, 3.0)] {
            let times = schedule(steps, shift);
            assert_eq!((times[0], times[steps]), (1.0, 0.0));
            assert!(times.windows(2).all(|pair| pair[0] > pair[1]), "{times:?}");
            let sampled = euler(noise.clone(), &times, field).unwrap();
            assert!(max_difference(&sampled, &x0) < 1e-5, "{steps} steps, shift {shift}");
        }
        // And the training pair is consistent with that field at any time.
        let times = [0.25f32, 0.8];
        let pair = mix(&x0, &noise, &Tensor::new(&times, &device).unwrap()).unwrap();
        for (i, &t) in times.iter().enumerate() {
            let expected = field(&pair.noisy, t).unwrap().narrow(0, i, 1).unwrap();
            assert!(max_difference(&pair.velocity.narrow(0, i, 1).unwrap(), &expected) < 1e-4, "t = {t}");
        }
    }

    #[test]
    fn times_are_logit_normal() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let times = logit_normal_times(20_000, &mut rng);
        assert!(times.iter().all(|&t| t > 0.0 && t < 1.0));
        let mean = times.iter().sum::<f32>() / times.len() as f32;
        let middle = times.iter().filter(|&&t| (0.25..0.75).contains(&t)).count() as f32 / times.len() as f32;
        // sigmoid(N(0, 1)): mean 0.5; P(|z| < ln 3) = 0.73.
        assert!((mean - 0.5).abs() < 0.01, "{mean}");
        assert!((middle - 0.73).abs() < 0.02, "{middle}");
    }
}

//! Seeded initial weights. candle's CPU random generator cannot be seeded, so a model built
//! from a plain `VarMap` starts from different weights every run; this backend draws each
//! new variable from a stream seeded by (seed, the variable's name), following the layer's
//! own initialisation hint, so the same seed gives the same model on any machine and in any
//! construction order.

use candle_core::{DType, Device, Result, Shape, Tensor, Var};
use candle_nn::init::NormalOrUniform;
use candle_nn::{Init, VarBuilder, VarMap};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// A `VarMap` whose new variables are drawn from seeded streams.
struct SeededVars {
    varmap: VarMap,
    seed: u64,
}

/// FNV-1a of a name, to give each variable its own stream.
fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}

/// The initial values of a variable of `shape` under `init`.
fn initial(shape: &Shape, init: Init, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let n = shape.elem_count();
    let normal = |rng: &mut ChaCha8Rng, mean: f64, std: f64| -> f32 {
        let z: f64 = StandardNormal.sample(rng);
        (mean + std * z) as f32
    };
    match init {
        Init::Const(value) => vec![value as f32; n],
        Init::Randn { mean, stdev } => (0..n).map(|_| normal(rng, mean, stdev)).collect(),
        Init::Uniform { lo, up } => (0..n).map(|_| rng.random_range(lo..up) as f32).collect(),
        Init::Kaiming { dist, fan, non_linearity } => {
            let std = non_linearity.gain() / (fan.for_shape(shape) as f64).sqrt();
            match dist {
                NormalOrUniform::Normal => (0..n).map(|_| normal(rng, 0.0, std)).collect(),
                NormalOrUniform::Uniform => {
                    let bound = 3f64.sqrt() * std;
                    (0..n).map(|_| rng.random_range(-bound..bound) as f32).collect()
                }
            }
        }
    }
}

impl candle_nn::var_builder::SimpleBackend for SeededVars {
    fn get(&self, shape: Shape, name: &str, init: Init, dtype: DType, device: &Device) -> Result<Tensor> {
        let mut data = self.varmap.data().lock().expect("VarMap lock");
        if let Some(var) = data.get(name) {
            if var.shape() != &shape {
                candle_core::bail!("shape mismatch on {name}: {shape:?} <> {:?}", var.shape());
            }
            return Ok(var.as_tensor().clone());
        }
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ name_hash(name));
        let values = Tensor::from_vec(initial(&shape, init, &mut rng), shape, device)?.to_dtype(dtype)?;
        let var = Var::from_tensor(&values)?;
        let tensor = var.as_tensor().clone();
        data.insert(name.to_string(), var);
        Ok(tensor)
    }

    fn get_unchecked(&self, name: &str, _dtype: DType, _device: &Device) -> Result<Tensor> {
        candle_core::bail!("{name}: a seeded VarMap creates variables with a shape, not by name alone")
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.varmap.data().lock().expect("VarMap lock").contains_key(name)
    }
}

/// A builder that creates `varmap`'s variables (f32) from `seed`.
pub fn seeded_builder(varmap: &VarMap, seed: u64, device: &Device) -> VarBuilder<'static> {
    VarBuilder::from_backend(Box::new(SeededVars { varmap: varmap.clone(), seed }), DType::F32, device.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_builds_the_same_weights_and_another_does_not() {
        let weights = |seed: u64| -> Vec<f32> {
            let varmap = VarMap::new();
            let layer = candle_nn::linear(6, 5, seeded_builder(&varmap, seed, &Device::Cpu)).unwrap();
            layer.weight().flatten_all().unwrap().to_vec1().unwrap()
        };
        assert_eq!(weights(4), weights(4));
        assert_ne!(weights(4), weights(5));
        // Kaiming-normal-like spread for a 6-input layer: std about 1 / sqrt(6).
        let w = weights(4);
        let mean = w.iter().sum::<f32>() / w.len() as f32;
        assert!(w.iter().all(|x| x.abs() < 3.0) && mean.abs() < 0.5, "{w:?}");
    }
}

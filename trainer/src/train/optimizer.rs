//! AdamW with global gradient-norm clipping and a state that can be saved.
//!
//! Why not `candle_nn::AdamW`: its moments are private (a resumed run could not continue
//! bit for bit) and it has no clipping (the IPT recipe clips at 1.0). The update is the same
//! (decoupled weight decay, bias-corrected moments), and a test checks that without clipping
//! it matches candle's step for step.

use std::collections::HashMap;

use candle_core::{Result, Tensor, Var};
use candle_nn::VarMap;
use serde::{Deserialize, Serialize};

/// AdamW's settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdamWConfig {
    /// Learning rate.
    pub learning_rate: f64,
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay.
    pub beta2: f64,
    /// Added to the second moment's root.
    pub eps: f64,
    /// Decoupled weight decay.
    pub weight_decay: f64,
    /// Largest global gradient norm; larger gradients are scaled down to it (`None`: no
    /// clipping).
    pub clip_norm: Option<f64>,
}

impl Default for AdamWConfig {
    /// The IPT runs' betas and clipping with candle's defaults otherwise.
    fn default() -> AdamWConfig {
        AdamWConfig {
            learning_rate: 1e-3,
            beta1: 0.9,
            beta2: 0.95,
            eps: 1e-8,
            weight_decay: 0.01,
            clip_norm: Some(1.0),
        }
    }
}

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepReport {
    /// Global gradient norm before clipping.
    pub gradient_norm: f64,
    /// Trainable variables that got no gradient this step (left unchanged).
    pub without_gradient: usize,
}

/// The optimizer over a `VarMap`'s variables, in name order.
pub struct Optimizer {
    names: Vec<String>,
    vars: Vec<Var>,
    first: Vec<Tensor>,
    second: Vec<Tensor>,
    steps: u64,
    config: AdamWConfig,
}

impl Optimizer {
    /// Optimizes every variable of `varmap`, starting from zero moments.
    pub fn new(varmap: &VarMap, config: AdamWConfig) -> Result<Optimizer> {
        let data = varmap.data().lock().expect("the VarMap lock is not poisoned");
        let mut named: Vec<(String, Var)> = data.iter().map(|(name, var)| (name.clone(), var.clone())).collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        let first = named.iter().map(|(_, var)| var.zeros_like()).collect::<Result<Vec<_>>>()?;
        let second = named.iter().map(|(_, var)| var.zeros_like()).collect::<Result<Vec<_>>>()?;
        let (names, vars) = named.into_iter().unzip();
        Ok(Optimizer { names, vars, first, second, steps: 0, config })
    }

    /// Steps taken.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Sets the learning rate of the next steps (a schedule calls it before each step).
    pub fn set_learning_rate(&mut self, learning_rate: f64) {
        self.config.learning_rate = learning_rate;
    }

    /// Back-propagates `loss` and takes one step.
    pub fn backward_step(&mut self, loss: &Tensor) -> Result<StepReport> {
        let gradients = loss.backward()?;
        let found: Vec<Option<&Tensor>> = self.vars.iter().map(|var| gradients.get(var.as_tensor())).collect();
        let mut squares = 0f64;
        for gradient in found.iter().flatten() {
            squares += gradient.sqr()?.sum_all()?.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()?;
        }
        let gradient_norm = squares.sqrt();
        let scale = match self.config.clip_norm {
            Some(clip) if gradient_norm > clip => clip / (gradient_norm + 1e-6),
            _ => 1.0,
        };
        self.steps += 1;
        let c = &self.config;
        let t = self.steps as i32;
        let (correction1, correction2) = (1.0 - c.beta1.powi(t), 1.0 - c.beta2.powi(t));
        let mut without_gradient = 0;
        for (i, gradient) in found.into_iter().enumerate() {
            let Some(gradient) = gradient else {
                without_gradient += 1;
                continue;
            };
            let gradient = if scale == 1.0 { gradient.clone() } else { (gradient * scale)? };
            let first = ((&self.first[i] * c.beta1)? + (&gradient * (1.0 - c.beta1))?)?;
            let second = ((&self.second[i] * c.beta2)? + (gradient.sqr()? * (1.0 - c.beta2))?)?;
            let update = ((&first / correction1)? / ((&second / correction2)?.sqrt()? + c.eps)?)?;
            let var = &self.vars[i];
            let decayed = (var.as_tensor() * (1.0 - c.learning_rate * c.weight_decay))?;
            var.set(&(decayed - (update * c.learning_rate)?)?)?;
            self.first[i] = first;
            self.second[i] = second;
        }
        Ok(StepReport { gradient_norm, without_gradient })
    }

    /// The moments as named tensors (`first.<var>`, `second.<var>`), for a checkpoint.
    pub fn state(&self) -> HashMap<String, Tensor> {
        let mut state = HashMap::new();
        for (i, name) in self.names.iter().enumerate() {
            state.insert(format!("first.{name}"), self.first[i].clone());
            state.insert(format!("second.{name}"), self.second[i].clone());
        }
        state
    }

    /// Restores the moments saved by [`Optimizer::state`] and the step count.
    pub fn restore(&mut self, state: &HashMap<String, Tensor>, steps: u64) -> Result<()> {
        for (i, name) in self.names.iter().enumerate() {
            for (kind, slot) in [("first", &mut self.first[i]), ("second", &mut self.second[i])] {
                let key = format!("{kind}.{name}");
                let saved =
                    state.get(&key).ok_or_else(|| candle_core::Error::Msg(format!("no {key} in the checkpoint")))?;
                if saved.shape() != slot.shape() {
                    candle_core::bail!(
                        "{key}: shape {:?} in the checkpoint, {:?} in the model",
                        saved.shape(),
                        slot.shape()
                    );
                }
                *slot = saved.clone();
            }
        }
        self.steps = steps;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};
    use candle_nn::{Module, Optimizer as _, VarBuilder};

    fn model(varmap: &VarMap) -> candle_nn::Linear {
        candle_nn::linear(4, 3, VarBuilder::from_varmap(varmap, DType::F32, &Device::Cpu)).unwrap()
    }

    fn loss(layer: &candle_nn::Linear) -> Tensor {
        let x = Tensor::arange(0f32, 8.0, &Device::Cpu).unwrap().reshape((2, 4)).unwrap();
        layer.forward(&x).unwrap().sqr().unwrap().mean_all().unwrap()
    }

    fn values(varmap: &VarMap) -> Vec<f32> {
        let data = varmap.data().lock().unwrap();
        let mut names: Vec<&String> = data.keys().collect();
        names.sort();
        names.iter().flat_map(|n| data[*n].as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap()).collect()
    }

    #[test]
    fn without_clipping_it_steps_like_candles_adamw() {
        let (ours, theirs) = (VarMap::new(), VarMap::new());
        let (a, b) = (model(&ours), model(&theirs));
        for (name, var) in ours.data().lock().unwrap().iter() {
            theirs.data().lock().unwrap()[name].set(var.as_tensor()).unwrap();
        }
        let config = AdamWConfig { clip_norm: None, ..AdamWConfig::default() };
        let mut optimizer = Optimizer::new(&ours, config).unwrap();
        let params = candle_nn::ParamsAdamW {
            lr: config.learning_rate,
            beta1: config.beta1,
            beta2: config.beta2,
            eps: config.eps,
            weight_decay: config.weight_decay,
        };
        let mut reference = candle_nn::AdamW::new(theirs.all_vars(), params).unwrap();
        for _ in 0..5 {
            optimizer.backward_step(&loss(&a)).unwrap();
            reference.backward_step(&loss(&b)).unwrap();
        }
        let difference = values(&ours).iter().zip(values(&theirs)).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
        assert!(difference < 1e-6, "{difference}");
    }

    #[test]
    fn clipping_bounds_the_step_and_state_restores_exactly() {
        let varmap = VarMap::new();
        let layer = model(&varmap);
        let config = AdamWConfig { clip_norm: Some(1e-3), ..AdamWConfig::default() };
        let mut optimizer = Optimizer::new(&varmap, config).unwrap();
        let report = optimizer.backward_step(&loss(&layer)).unwrap();
        assert!(report.gradient_norm > 1e-3 && report.without_gradient == 0, "{report:?}");
        // Restoring weights and moments into a fresh optimizer continues identically.
        let weights: HashMap<String, Tensor> =
            varmap.data().lock().unwrap().iter().map(|(n, v)| (n.clone(), v.as_tensor().copy().unwrap())).collect();
        let (state, steps) = (optimizer.state(), optimizer.steps());
        optimizer.backward_step(&loss(&layer)).unwrap();
        let continued = values(&varmap);
        let copy = VarMap::new();
        let copy_layer = model(&copy);
        for (name, var) in copy.data().lock().unwrap().iter() {
            var.set(&weights[name]).unwrap();
        }
        let mut resumed = Optimizer::new(&copy, config).unwrap();
        resumed.restore(&state, steps).unwrap();
        resumed.backward_step(&loss(&copy_layer)).unwrap();
        assert_eq!(values(&copy), continued);
    }
}

//! Fused CPU kernels, each with its backward, for the element-wise chains of a Llama block:
//! the scaled, masked softmax of attention, RMSNorm, rotary positions and the SwiGLU gate.
//!
//! Composed from candle's element-wise ops, each of these is 4 to 10 passes over memory
//! forward and more backward, each pass a fresh buffer and a wake-up of candle's thread pool;
//! fused, each is one pass forward and one or two backward (docs/benchmarks.md, "Training").
//! The maths is the composed ops' (a test compares values and gradients), and on any device
//! but the CPU the composed ops run, so CUDA trains the same model.
//!
//! Every kernel works on whole rows of the last dimension; rows are shared out between
//! rayon's threads, and each row is computed by one thread, so results do not depend on the
//! number of threads.

use candle_core::{CpuStorage, CustomOp2, CustomOp3, D, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

/// Rows handed to one rayon task at a time: enough work to outweigh scheduling.
const VALUES_PER_TASK: usize = 16 * 1024;

/// The contiguous f32 values of a kernel argument.
fn values<'a>(storage: &'a CpuStorage, layout: &Layout, kernel: &str) -> Result<&'a [f32]> {
    let CpuStorage::F32(data) = storage else { candle_core::bail!("{kernel}: only f32 tensors") };
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => candle_core::bail!("{kernel}: the argument must be contiguous"),
    }
}

/// Fills `out` row by row (`row` values each) with `fill(row index, row)`, in parallel.
fn rows_parallel(out: &mut [f32], row: usize, fill: impl Fn(usize, &mut [f32]) + Sync) {
    let rows_per_task = (VALUES_PER_TASK / row.max(1)).max(1);
    out.par_chunks_mut(row * rows_per_task).enumerate().for_each(|(task, chunk)| {
        for (i, values) in chunk.chunks_mut(row).enumerate() {
            fill(task * rows_per_task + i, values);
        }
    });
}

/// The result of a kernel: `out` shaped as `shape`.
fn output(out: Vec<f32>, shape: &Shape) -> Result<(CpuStorage, Shape)> {
    Ok((CpuStorage::F32(out), shape.clone()))
}

/// `softmax(scores * scale + mask)` over the last dimension. `scores` `(b, heads, t, t)`,
/// `mask` `(b or 1, 1, t, t)` (0 where a query may look, -inf where not; it gets no gradient).
pub fn masked_softmax(scores: &Tensor, mask: &Tensor, scale: f64) -> Result<Tensor> {
    if !scores.device().is_cpu() {
        return candle_nn::ops::softmax(&(scores * scale)?.broadcast_add(mask)?, D::Minus1);
    }
    let (_, heads, queries, keys) = scores.dims4()?;
    let (mask_batch, mask_heads, mask_queries, mask_keys) = mask.dims4()?;
    if mask_heads != 1 || mask_queries != queries || mask_keys != keys {
        candle_core::bail!("masked_softmax: mask {:?} does not fit scores {:?}", mask.shape(), scores.shape());
    }
    let op = MaskedSoftmax { scale: scale as f32, heads, per_example: mask_batch != 1 };
    scores.contiguous()?.apply_op2(&mask.contiguous()?, op)
}

struct MaskedSoftmax {
    scale: f32,
    heads: usize,
    per_example: bool,
}

impl CustomOp2 for MaskedSoftmax {
    fn name(&self) -> &'static str {
        "masked-softmax"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let (scores, mask) = (values(s1, l1, self.name())?, values(s2, l2, self.name())?);
        let (_, _, queries, keys) = l1.shape().dims4()?;
        let mut out = vec![0f32; scores.len()];
        rows_parallel(&mut out, keys, |r, y| {
            let example = if self.per_example { r / (self.heads * queries) } else { 0 };
            let mask_row = &mask[(example * queries + r % queries) * keys..][..keys];
            let row = &scores[r * keys..][..keys];
            let mut max = f32::NEG_INFINITY;
            for ((y, &s), &m) in y.iter_mut().zip(row).zip(mask_row) {
                *y = s * self.scale + m;
                max = max.max(*y);
            }
            if max == f32::NEG_INFINITY {
                y.fill(0.0); // nothing to look at: no weight anywhere
                return;
            }
            let mut sum = 0f32;
            for y in y.iter_mut() {
                *y = (*y - max).exp();
                sum += *y;
            }
            let inverse = 1.0 / sum;
            y.iter_mut().for_each(|y| *y *= inverse);
        });
        output(out, l1.shape())
    }

    fn bwd(&self, _: &Tensor, _: &Tensor, res: &Tensor, grad: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let grad = res.apply_op2_no_bwd(&grad.contiguous()?, &SoftmaxGrad { scale: self.scale })?;
        Ok((Some(grad), None))
    }
}

/// The gradient of `softmax(scale * x + mask)` with respect to `x`, from the softmax `y` and
/// the incoming gradient `dy`: `scale * y * (dy - sum(dy * y))` per row.
struct SoftmaxGrad {
    scale: f32,
}

impl CustomOp2 for SoftmaxGrad {
    fn name(&self) -> &'static str {
        "masked-softmax-grad"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let (y, dy) = (values(s1, l1, self.name())?, values(s2, l2, self.name())?);
        let keys = l1.shape().dims().last().copied().unwrap_or(1);
        let mut out = vec![0f32; y.len()];
        rows_parallel(&mut out, keys, |r, dx| {
            let (y, dy) = (&y[r * keys..][..keys], &dy[r * keys..][..keys]);
            let dot: f32 = y.iter().zip(dy).map(|(y, dy)| y * dy).sum();
            for ((dx, &y), &dy) in dx.iter_mut().zip(y).zip(dy) {
                *dx = self.scale * y * (dy - dot);
            }
        });
        output(out, l1.shape())
    }
}

/// RMSNorm over the last dimension: `x / sqrt(mean(x^2) + eps) * weight`.
pub fn rms_norm(x: &Tensor, weight: &Tensor, eps: f32) -> Result<Tensor> {
    if !x.device().is_cpu() {
        return candle_nn::ops::rms_norm_slow(x, weight, eps);
    }
    x.contiguous()?.apply_op2(weight, RmsNorm { eps })
}

/// `1 / sqrt(mean(x^2) + eps)` of one row.
fn inverse_rms(row: &[f32], eps: f32) -> f32 {
    let mean_square = row.iter().map(|x| x * x).sum::<f32>() / row.len() as f32;
    1.0 / (mean_square + eps).sqrt()
}

struct RmsNorm {
    eps: f32,
}

impl CustomOp2 for RmsNorm {
    fn name(&self) -> &'static str {
        "rms-norm"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let (x, weight) = (values(s1, l1, self.name())?, values(s2, l2, self.name())?);
        let width = weight.len();
        if l1.shape().dims().last() != Some(&width) {
            candle_core::bail!("rms-norm: weight of {width} values for input {:?}", l1.shape());
        }
        let mut out = vec![0f32; x.len()];
        rows_parallel(&mut out, width, |r, y| {
            let row = &x[r * width..][..width];
            let inverse = inverse_rms(row, self.eps);
            for ((y, &x), &w) in y.iter_mut().zip(row).zip(weight) {
                *y = x * inverse * w;
            }
        });
        output(out, l1.shape())
    }

    fn bwd(&self, x: &Tensor, weight: &Tensor, _: &Tensor, grad: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let grad = grad.contiguous()?;
        let dx = x.apply_op3_no_bwd(weight, &grad, &RmsNormGrad { eps: self.eps, of: RmsNormInput::X })?;
        let dweight = x.apply_op3_no_bwd(weight, &grad, &RmsNormGrad { eps: self.eps, of: RmsNormInput::Weight })?;
        Ok((Some(dx), Some(dweight)))
    }
}

/// Which argument of RMSNorm a [`RmsNormGrad`] differentiates.
#[derive(Clone, Copy, PartialEq)]
enum RmsNormInput {
    X,
    Weight,
}

/// The gradients of RMSNorm, from `x`, `weight` and the incoming gradient `dy`, with
/// `r = 1 / rms(x)` per row: `dx = r * w * dy - x * r^3 * mean(w * dy * x)`, and
/// `dweight = sum over rows of dy * x * r`.
struct RmsNormGrad {
    eps: f32,
    of: RmsNormInput,
}

impl CustomOp3 for RmsNormGrad {
    fn name(&self) -> &'static str {
        "rms-norm-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (x, weight, dy) =
            (values(s1, l1, self.name())?, values(s2, l2, self.name())?, values(s3, l3, self.name())?);
        let width = weight.len();
        if self.of == RmsNormInput::Weight {
            // A sum over every row, in row order on one thread: the same bits every run.
            let mut dweight = vec![0f32; width];
            for (row, dy) in x.chunks(width).zip(dy.chunks(width)) {
                let inverse = inverse_rms(row, self.eps);
                for ((dw, &x), &dy) in dweight.iter_mut().zip(row).zip(dy) {
                    *dw += dy * x * inverse;
                }
            }
            return output(dweight, l2.shape());
        }
        let mut out = vec![0f32; x.len()];
        rows_parallel(&mut out, width, |r, dx| {
            let (row, dy) = (&x[r * width..][..width], &dy[r * width..][..width]);
            let inverse = inverse_rms(row, self.eps);
            let mean: f32 = row.iter().zip(dy).zip(weight).map(|((x, dy), w)| w * dy * x).sum::<f32>() / width as f32;
            let correction = inverse * inverse * inverse * mean;
            for (((dx, &x), &dy), &w) in dx.iter_mut().zip(row).zip(dy).zip(weight) {
                *dx = inverse * w * dy - x * correction;
            }
        });
        output(out, l1.shape())
    }
}

/// Rotary positions, Hugging Face's non-interleaved form: `x` `(b, heads, t, d)`, `cos` and
/// `sin` `(t, d / 2)`; the first and second halves of each head are the pairs rotated.
pub fn rotary(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
    if !x.device().is_cpu() {
        return candle_nn::rotary_emb::rope_slow(x, cos, sin);
    }
    let (_, _, t, d) = x.dims4()?;
    if cos.dims2()? != (t, d / 2) || sin.dims2()? != (t, d / 2) {
        candle_core::bail!("rotary: tables {:?} for input {:?}", cos.shape(), x.shape());
    }
    x.contiguous()?.apply_op3(&cos.contiguous()?, &sin.contiguous()?, Rotate { inverse: false })
}

/// Rotates each pair `(x1, x2)` by its angle (`inverse`: by minus its angle, which is the
/// gradient of the rotation).
struct Rotate {
    inverse: bool,
}

impl CustomOp3 for Rotate {
    fn name(&self) -> &'static str {
        "rotary"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (x, cos, sin) = (values(s1, l1, self.name())?, values(s2, l2, self.name())?, values(s3, l3, self.name())?);
        let (_, _, t, d) = l1.shape().dims4()?;
        let half = d / 2;
        let sign = if self.inverse { -1.0 } else { 1.0 };
        let mut out = vec![0f32; x.len()];
        rows_parallel(&mut out, d, |r, y| {
            let position = r % t;
            let (cos, sin) = (&cos[position * half..][..half], &sin[position * half..][..half]);
            let row = &x[r * d..][..d];
            let (x1, x2) = row.split_at(half);
            let (y1, y2) = y.split_at_mut(half);
            for i in 0..half {
                let (c, s) = (cos[i], sign * sin[i]);
                y1[i] = x1[i] * c - x2[i] * s;
                y2[i] = x2[i] * c + x1[i] * s;
            }
        });
        output(out, l1.shape())
    }

    fn bwd(
        &self,
        _: &Tensor,
        cos: &Tensor,
        sin: &Tensor,
        _: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let dx = grad.contiguous()?.apply_op3_no_bwd(cos, sin, &Rotate { inverse: !self.inverse })?;
        Ok((Some(dx), None, None))
    }
}

/// The SwiGLU gate: `silu(gate) * up`, same shapes.
pub fn swiglu(gate: &Tensor, up: &Tensor) -> Result<Tensor> {
    if !gate.device().is_cpu() {
        return gate.silu()? * up;
    }
    if gate.shape() != up.shape() {
        candle_core::bail!("swiglu: gate {:?} and up {:?} differ", gate.shape(), up.shape());
    }
    gate.contiguous()?.apply_op2(&up.contiguous()?, SwiGlu)
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

struct SwiGlu;

impl CustomOp2 for SwiGlu {
    fn name(&self) -> &'static str {
        "swiglu"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let (gate, up) = (values(s1, l1, self.name())?, values(s2, l2, self.name())?);
        let mut out = vec![0f32; gate.len()];
        let row = l1.shape().dims().last().copied().unwrap_or(1);
        rows_parallel(&mut out, row, |r, y| {
            let (gate, up) = (&gate[r * row..][..row], &up[r * row..][..row]);
            for ((y, &g), &u) in y.iter_mut().zip(gate).zip(up) {
                *y = g * sigmoid(g) * u;
            }
        });
        output(out, l1.shape())
    }

    fn bwd(&self, gate: &Tensor, up: &Tensor, _: &Tensor, grad: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let grad = grad.contiguous()?;
        let dgate = gate.apply_op3_no_bwd(up, &grad, &SwiGluGrad { of_gate: true })?;
        let dup = gate.apply_op3_no_bwd(up, &grad, &SwiGluGrad { of_gate: false })?;
        Ok((Some(dgate), Some(dup)))
    }
}

/// The gradients of `silu(g) * u` from `g`, `u` and `dy`, with `s = sigmoid(g)`:
/// `dg = dy * u * s * (1 + g * (1 - s))`, `du = dy * g * s`.
struct SwiGluGrad {
    of_gate: bool,
}

impl CustomOp3 for SwiGluGrad {
    fn name(&self) -> &'static str {
        "swiglu-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (gate, up, dy) = (values(s1, l1, self.name())?, values(s2, l2, self.name())?, values(s3, l3, self.name())?);
        let mut out = vec![0f32; gate.len()];
        let row = l1.shape().dims().last().copied().unwrap_or(1);
        rows_parallel(&mut out, row, |r, d| {
            let range = r * row..(r + 1) * row;
            let (gate, up, dy) = (&gate[range.clone()], &up[range.clone()], &dy[range]);
            for (((d, &g), &u), &dy) in d.iter_mut().zip(gate).zip(up).zip(dy) {
                let s = sigmoid(g);
                *d = if self.of_gate { dy * u * s * (1.0 + g * (1.0 - s)) } else { dy * g * s };
            }
        });
        output(out, l1.shape())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    /// Largest absolute difference.
    fn difference(a: &Tensor, b: &Tensor) -> f32 {
        (a - b).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap()
    }

    fn random(shape: &[usize], seed: u64) -> Var {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let values = crate::model::flow::gaussian(shape.iter().product(), &mut rng);
        Var::from_tensor(&Tensor::from_vec(values, shape, &Device::Cpu).unwrap()).unwrap()
    }

    /// Runs `fused` and `composed` on the same variables, with a loss weighting every output
    /// differently, and checks the outputs and every variable's gradient agree.
    fn agree(vars: &[&Var], fused: impl Fn() -> Tensor, composed: impl Fn() -> Tensor) {
        let weights = random(fused().dims(), 99).as_tensor().clone();
        let run = |f: &dyn Fn() -> Tensor| {
            let out = f();
            let grads = (&out * &weights).unwrap().sum_all().unwrap().backward().unwrap();
            (out, vars.iter().map(|v| grads.get(v.as_tensor()).expect("a gradient").clone()).collect::<Vec<_>>())
        };
        let (ours, our_grads) = run(&fused);
        let (theirs, their_grads) = run(&composed);
        assert!(difference(&ours, &theirs) < 1e-5, "values differ by {}", difference(&ours, &theirs));
        for (i, (a, b)) in our_grads.iter().zip(&their_grads).enumerate() {
            assert!(difference(a, b) < 1e-4, "gradient {i} differs by {}", difference(a, b));
        }
    }

    #[test]
    fn masked_softmax_matches_the_composed_ops() {
        let scores = random(&[2, 3, 5, 5], 1);
        // Per-example masks: causal for one example, a blocked key for the other.
        let mut mask = vec![0f32; 2 * 25];
        for q in 0..5 {
            for k in q + 1..5 {
                mask[q * 5 + k] = f32::NEG_INFINITY;
            }
            mask[25 + q * 5 + 2] = f32::NEG_INFINITY;
        }
        let mask = Tensor::from_vec(mask, (2, 1, 5, 5), &Device::Cpu).unwrap();
        for mask in [mask, Tensor::zeros((1, 1, 5, 5), candle_core::DType::F32, &Device::Cpu).unwrap()] {
            agree(
                &[&scores],
                || masked_softmax(&scores, &mask, 0.4).unwrap(),
                || {
                    candle_nn::ops::softmax(
                        &(scores.as_tensor() * 0.4).unwrap().broadcast_add(&mask).unwrap(),
                        D::Minus1,
                    )
                    .unwrap()
                },
            );
        }
    }

    #[test]
    fn rms_norm_matches_the_composed_ops() {
        let (x, weight) = (random(&[2, 7, 6], 2), random(&[6], 3));
        agree(
            &[&x, &weight],
            || rms_norm(&x, &weight, 1e-5).unwrap(),
            || candle_nn::ops::rms_norm_slow(&x, &weight, 1e-5).unwrap(),
        );
    }

    #[test]
    fn rotary_matches_the_composed_ops() {
        let (x, cos, sin) = (random(&[2, 3, 5, 8], 4), random(&[5, 4], 5), random(&[5, 4], 6));
        agree(&[&x], || rotary(&x, &cos, &sin).unwrap(), || candle_nn::rotary_emb::rope_slow(&x, &cos, &sin).unwrap());
    }

    #[test]
    fn swiglu_matches_the_composed_ops() {
        let (gate, up) = (random(&[3, 4, 10], 7), random(&[3, 4, 10], 8));
        agree(&[&gate, &up], || swiglu(&gate, &up).unwrap(), || (gate.silu().unwrap() * up.as_tensor()).unwrap());
    }

    #[test]
    fn rows_split_across_tasks_are_each_filled_once() {
        let row = 3;
        let rows = 2 * VALUES_PER_TASK / row + 5; // several tasks, the last one short
        let mut out = vec![0f32; rows * row];
        rows_parallel(&mut out, row, |r, values| values.fill(r as f32));
        assert!(out.chunks(row).enumerate().all(|(r, values)| values.iter().all(|&v| v == r as f32)));
    }
}

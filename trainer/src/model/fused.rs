//! Fused CPU kernels, each with its backward, for the parts of a Llama block between its
//! matrix products: the whole self-attention (rotary positions, grouped-query heads, scaled
//! masked softmax, weighted values), RMSNorm and the SwiGLU gate.
//!
//! Composed from candle's element-wise ops, each of these is 4 to 10 passes over memory
//! forward and more backward, each pass a fresh buffer, a zeroed gradient and a wake-up of
//! candle's thread pool; fused, each is one pass forward and one or two backward
//! (docs/benchmarks.md, "Training"). The maths is the composed ops' (tests compare values and
//! gradients), and on any device but the CPU the composed ops run, so CUDA trains the same
//! model.
//!
//! Work is shared out between rayon's threads by rows of the last dimension (attention: by
//! example), each computed whole by one thread, and sums across rows run in order on one
//! thread, so results do not depend on the number of threads.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, CustomOp3, D, Layout, Result, Shape, Storage, Tensor};
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
    if row == 0 {
        return; // rows of nothing: nothing to fill
    }
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

/// Grouped-query self-attention from the projections to the heads' outputs: rotary positions
/// on queries and keys (Hugging Face's non-interleaved form: the two halves of a head are the
/// pairs rotated), `softmax(q k^T / sqrt(d) + mask) v` per head, each key-value head serving
/// `heads / kv_heads` query heads.
///
/// `qkv` `(b, t, (heads + 2 kv_heads) * d)`: the queries, keys and values side by side, as one
/// product with the three projections' weights stacked lays them out; `rotary` the `cos` and
/// `sin` tables `(t, d / 2)`; `mask` `(b or 1, 1, t, t)`, 0 where a query may look and -inf
/// where not (it gets no gradient) -> `(b, t, heads * d)`.
///
/// On the CPU one kernel does it all per example (its scores never leave the cache, and the
/// backward recomputes them rather than keeping them); elsewhere the composed candle ops run.
pub fn attention(
    qkv: &Tensor,
    rotary: (&Tensor, &Tensor),
    mask: &Tensor,
    heads: usize,
    kv_heads: usize,
) -> Result<Tensor> {
    let (b, t, width) = qkv.dims3()?;
    if b == 0 || t == 0 {
        candle_core::bail!("attention: an empty batch {:?}", qkv.shape());
    }
    let all_heads = heads + 2 * kv_heads;
    if kv_heads == 0 || !width.is_multiple_of(all_heads) || !heads.is_multiple_of(kv_heads) {
        candle_core::bail!("attention: {heads} query heads, {kv_heads} key-value heads for width {width}");
    }
    let d = width / all_heads;
    let (cos, sin) = rotary;
    let (mask_b, mask_heads, mask_q, mask_k) = mask.dims4()?;
    if cos.dims2()? != (t, d / 2) || sin.dims2()? != (t, d / 2) || !d.is_multiple_of(2) {
        candle_core::bail!("attention: rotary tables {:?} for {t} tokens of head size {d}", cos.shape());
    }
    if (mask_b != 1 && mask_b != b) || mask_heads != 1 || (mask_q, mask_k) != (t, t) {
        candle_core::bail!("attention: mask {:?} for {b} sequences of {t} tokens", mask.shape());
    }
    if !qkv.device().is_cpu() {
        return attention_composed(qkv, rotary, mask, heads, kv_heads);
    }
    let op = Attention {
        sizes: Sizes { t, heads, kv_heads, d, per_example_mask: mask_b != 1 },
        cos: cos.contiguous()?,
        sin: sin.contiguous()?,
        mask: mask.contiguous()?,
    };
    qkv.contiguous()?.apply_op1(op)
}

/// [`attention`] from candle's composed ops (any device; the reference the kernel is tested
/// against).
fn attention_composed(
    qkv: &Tensor,
    (cos, sin): (&Tensor, &Tensor),
    mask: &Tensor,
    heads: usize,
    kv_heads: usize,
) -> Result<Tensor> {
    let (b, t, width) = qkv.dims3()?;
    let d = width / (heads + 2 * kv_heads);
    // Heads `first..first + n` of qkv, (b, t, n * d) -> (b, n, t, d)
    let split =
        |first: usize, n: usize| qkv.narrow(2, first * d, n * d)?.reshape((b, t, n, d))?.transpose(1, 2)?.contiguous();
    let q = candle_nn::rotary_emb::rope_slow(&split(0, heads)?, cos, sin)?;
    let k = candle_nn::rotary_emb::rope_slow(&split(heads, kv_heads)?, cos, sin)?;
    let v = split(heads + kv_heads, kv_heads)?;
    let repeat = heads / kv_heads;
    let (k, v) = (repeat_kv(&k, repeat)?, repeat_kv(&v, repeat)?);
    let scores = (q.matmul(&k.t()?)? / (d as f64).sqrt())?.broadcast_add(mask)?;
    let weights = candle_nn::ops::softmax(&scores, D::Minus1)?;
    // (b, nh, t, d) -> (b, t, nh * d)
    weights.matmul(&v)?.transpose(1, 2)?.reshape((b, t, heads * d))
}

/// `(b, nkv, t, d)` -> `(b, nkv * repeat, t, d)`, each head repeated in place.
fn repeat_kv(x: &Tensor, repeat: usize) -> Result<Tensor> {
    if repeat == 1 {
        return Ok(x.clone());
    }
    let (b, kv, t, d) = x.dims4()?;
    Tensor::cat(&vec![x; repeat], 2)?.reshape((b, kv * repeat, t, d))
}

/// The sizes of one attention call.
#[derive(Clone, Copy)]
struct Sizes {
    /// Tokens per example.
    t: usize,
    /// Query heads.
    heads: usize,
    /// Key-value heads.
    kv_heads: usize,
    /// Head size.
    d: usize,
    /// The mask has a `(t, t)` block per example (else one for all).
    per_example_mask: bool,
}

impl Sizes {
    /// All query heads of a token.
    fn q_width(&self) -> usize {
        self.heads * self.d
    }

    /// All key (or value) heads of a token.
    fn kv_width(&self) -> usize {
        self.kv_heads * self.d
    }

    /// A row of `qkv`: queries, keys, values.
    fn width(&self) -> usize {
        self.q_width() + 2 * self.kv_width()
    }

    /// Where head `head`'s queries start in a row of `qkv` (and of its gradient).
    fn query(&self, head: usize) -> usize {
        head * self.d
    }

    /// Where key-value head `group`'s keys start in a row of `qkv`.
    fn key(&self, group: usize) -> usize {
        self.q_width() + group * self.d
    }

    /// Where key-value head `group`'s values start in a row of `qkv`.
    fn value(&self, group: usize) -> usize {
        self.q_width() + self.kv_width() + group * self.d
    }

    /// The query heads key-value head `group` serves.
    fn group(&self, group: usize) -> std::ops::Range<usize> {
        let per_group = self.heads / self.kv_heads;
        group * per_group..(group + 1) * per_group
    }

    /// The scores' scale, `1 / sqrt(d)`.
    fn scale(&self) -> f32 {
        1.0 / (self.d as f32).sqrt()
    }
}

/// The attention kernel; `cos`, `sin` and `mask` are constants of the call.
struct Attention {
    sizes: Sizes,
    cos: Tensor,
    sin: Tensor,
    mask: Tensor,
}

/// Runs `f` on the contiguous f32 values of the constant `tensor`.
fn with_values<R>(tensor: &Tensor, kernel: &str, f: impl FnOnce(&[f32]) -> Result<R>) -> Result<R> {
    let (storage, layout) = tensor.storage_and_layout();
    let Storage::Cpu(storage) = &*storage else { candle_core::bail!("{kernel}: a CPU kernel") };
    f(values(storage, layout, kernel)?)
}

/// The constants an example's attention reads: rotary tables and its mask rows.
struct Constants<'a> {
    cos: &'a [f32],
    sin: &'a [f32],
    mask: &'a [f32],
}

impl Attention {
    /// Runs `f` with the call's constants.
    fn with_constants<R>(&self, f: impl FnOnce(Constants) -> Result<R>) -> Result<R> {
        with_values(&self.cos, "attention", |cos| {
            with_values(&self.sin, "attention", |sin| {
                with_values(&self.mask, "attention", |mask| f(Constants { cos, sin, mask }))
            })
        })
    }
}

/// `dst = lhs * rhs` (or `+=` with `accumulate`), `m x k` by `k x n`, every matrix given by its
/// values and its (row, column) strides; single-threaded (callers run one example per thread).
#[allow(clippy::too_many_arguments)]
fn matmul(
    (m, n, k): (usize, usize, usize),
    dst: &mut [f32],
    (dst_rs, dst_cs): (usize, usize),
    lhs: &[f32],
    (lhs_rs, lhs_cs): (usize, usize),
    rhs: &[f32],
    (rhs_rs, rhs_cs): (usize, usize),
    accumulate: bool,
) {
    let last = |rows: usize, cols: usize, rs: usize, cs: usize| (rows - 1) * rs + (cols - 1) * cs;
    assert!(
        last(m, n, dst_rs, dst_cs) < dst.len()
            && last(m, k, lhs_rs, lhs_cs) < lhs.len()
            && last(k, n, rhs_rs, rhs_cs) < rhs.len(),
        "attention: a matrix product outside its buffers"
    );
    // SAFETY: the assertion keeps every index gemm computes from these sizes and strides
    // inside the three slices, and `dst` is borrowed mutably, so it aliases neither input.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            dst_cs as isize,
            dst_rs as isize,
            accumulate,
            lhs.as_ptr(),
            lhs_cs as isize,
            lhs_rs as isize,
            rhs.as_ptr(),
            rhs_cs as isize,
            rhs_rs as isize,
            if accumulate { 1.0 } else { 0.0 },
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
}

/// Rotates one head: `t` rows of `d` values from `src` (row stride `src_stride`) into `dst`
/// (row stride `dst_stride`), by each position's angles (`inverse`: by minus them, the
/// gradient of the rotation).
fn rotate(
    src: &[f32],
    src_stride: usize,
    dst: &mut [f32],
    dst_stride: usize,
    (t, d): (usize, usize),
    constants: &Constants,
    inverse: bool,
) {
    let half = d / 2;
    let sign = if inverse { -1.0 } else { 1.0 };
    for position in 0..t {
        let (cos, sin) = (&constants.cos[position * half..][..half], &constants.sin[position * half..][..half]);
        let (x1, x2) = src[position * src_stride..][..d].split_at(half);
        let (y1, y2) = dst[position * dst_stride..][..d].split_at_mut(half);
        for i in 0..half {
            let (c, s) = (cos[i], sign * sin[i]);
            y1[i] = x1[i] * c - x2[i] * s;
            y2[i] = x2[i] * c + x1[i] * s;
        }
    }
}

/// `y = softmax(scores * scale + mask)` for one row.
fn softmax_row(y: &mut [f32], scores: &[f32], mask: &[f32], scale: f32) {
    let mut max = f32::NEG_INFINITY;
    for ((y, &s), &m) in y.iter_mut().zip(scores).zip(mask) {
        *y = s * scale + m;
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
}

/// One example's inputs: its rows of `qkv` and of the mask.
struct Example<'a> {
    qkv: &'a [f32],
    mask: &'a [f32],
}

/// Example `e` of a batch.
fn example<'a>(sizes: &Sizes, e: usize, qkv: &'a [f32], mask: &'a [f32]) -> Example<'a> {
    let t = sizes.t;
    let mask_start = if sizes.per_example_mask { e * t * t } else { 0 };
    Example { qkv: &qkv[e * t * sizes.width()..][..t * sizes.width()], mask: &mask[mask_start..][..t * t] }
}

/// Scratch buffers of one example's heads.
struct Scratch {
    /// One head's rotated queries, `(t, d)`.
    q: Vec<f32>,
    /// One key-value head's rotated keys, `(t, d)`.
    k: Vec<f32>,
    /// One head's scores, `(t, t)`.
    scores: Vec<f32>,
    /// One head's attention weights, `(t, t)`.
    weights: Vec<f32>,
}

impl Scratch {
    /// Buffers for heads of `sizes`.
    fn new(sizes: &Sizes) -> Scratch {
        let (t, d) = (sizes.t, sizes.d);
        Scratch { q: vec![0.0; t * d], k: vec![0.0; t * d], scores: vec![0.0; t * t], weights: vec![0.0; t * t] }
    }

    /// Rotated keys of key-value head `group` into `self.k`.
    fn load_keys(&mut self, sizes: &Sizes, example: &Example, group: usize, constants: &Constants) {
        let (t, d) = (sizes.t, sizes.d);
        rotate(&example.qkv[sizes.key(group)..], sizes.width(), &mut self.k, d, (t, d), constants, false);
    }

    /// Rotated queries of `head` into `self.q`, and its attention weights into `self.weights`
    /// (the keys of its group already loaded).
    fn weigh(&mut self, sizes: &Sizes, example: &Example, head: usize, constants: &Constants) {
        let (t, d) = (sizes.t, sizes.d);
        rotate(&example.qkv[sizes.query(head)..], sizes.width(), &mut self.q, d, (t, d), constants, false);
        // scores = q k^T: (t, d) by (d, t)
        matmul((t, t, d), &mut self.scores, (t, 1), &self.q, (d, 1), &self.k, (1, d), false);
        let scale = sizes.scale();
        for (row, (y, s)) in self.weights.chunks_mut(t).zip(self.scores.chunks(t)).enumerate() {
            softmax_row(y, s, &example.mask[row * t..][..t], scale);
        }
    }
}

impl CustomOp1 for Attention {
    fn name(&self) -> &'static str {
        "attention"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let qkv = values(storage, layout, self.name())?;
        let sizes = self.sizes;
        let (t, d, width) = (sizes.t, sizes.d, sizes.width());
        let examples = qkv.len() / (t * width);
        let mut out = vec![0f32; examples * t * sizes.q_width()];
        self.with_constants(|constants| {
            out.par_chunks_mut(t * sizes.q_width()).enumerate().for_each(|(e, out)| {
                let example = example(&sizes, e, qkv, constants.mask);
                let mut scratch = Scratch::new(&sizes);
                for group in 0..sizes.kv_heads {
                    scratch.load_keys(&sizes, &example, group, &constants);
                    let values = &example.qkv[sizes.value(group)..];
                    for head in sizes.group(group) {
                        scratch.weigh(&sizes, &example, head, &constants);
                        // out_head = weights v: (t, t) by (t, d)
                        let out = &mut out[sizes.query(head)..];
                        matmul(
                            (t, d, t),
                            out,
                            (sizes.q_width(), 1),
                            &scratch.weights,
                            (t, 1),
                            values,
                            (width, 1),
                            false,
                        );
                    }
                }
            });
            Ok(())
        })?;
        output(out, &Shape::from((examples, t, sizes.q_width())))
    }

    fn bwd(&self, qkv: &Tensor, _: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(qkv.apply_op2_no_bwd(&grad.contiguous()?, &AttentionGrad { forward: self })?))
    }
}

/// The gradient of [`Attention`] with respect to `qkv` (laid out as `qkv`), from `qkv` and the
/// incoming gradient `(b, t, heads * d)`. Per head, with `w` the attention weights
/// (recomputed) and `go` the head's gradient: `dv += w^T go`, `dw = go v^T`,
/// `ds = scale * w * (dw - rowsum(dw * w))`, `dq = ds k`, `dk += ds^T q`, and the rotation
/// undone on `dq` and `dk`.
struct AttentionGrad<'a> {
    forward: &'a Attention,
}

impl CustomOp2 for AttentionGrad<'_> {
    fn name(&self) -> &'static str {
        "attention-grad"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let (qkv, grad) = (values(s1, l1, self.name())?, values(s2, l2, self.name())?);
        let sizes = self.forward.sizes;
        let (t, d, width, qw) = (sizes.t, sizes.d, sizes.width(), sizes.q_width());
        let scale = sizes.scale();
        let mut out = vec![0f32; qkv.len()];
        self.forward.with_constants(|constants| {
            out.par_chunks_mut(t * width).enumerate().for_each(|(e, out)| {
                let example = example(&sizes, e, qkv, constants.mask);
                let grad = &grad[e * t * qw..][..t * qw];
                let mut scratch = Scratch::new(&sizes);
                let (mut d_weights, mut d_q, mut d_k) = (vec![0f32; t * t], vec![0f32; t * d], vec![0f32; t * d]);
                for group in 0..sizes.kv_heads {
                    scratch.load_keys(&sizes, &example, group, &constants);
                    d_k.fill(0.0);
                    let values = &example.qkv[sizes.value(group)..];
                    for head in sizes.group(group) {
                        scratch.weigh(&sizes, &example, head, &constants);
                        let grad = &grad[sizes.query(head)..];
                        // dv += w^T go: (t, t) by (t, d)
                        let d_v = &mut out[sizes.value(group)..];
                        matmul((t, d, t), d_v, (width, 1), &scratch.weights, (1, t), grad, (qw, 1), true);
                        // dw = go v^T: (t, d) by (d, t)
                        matmul((t, t, d), &mut d_weights, (t, 1), grad, (qw, 1), values, (1, width), false);
                        for (dw, w) in d_weights.chunks_mut(t).zip(scratch.weights.chunks(t)) {
                            let dot: f32 = dw.iter().zip(w).map(|(dw, w)| dw * w).sum();
                            for (dw, &w) in dw.iter_mut().zip(w) {
                                *dw = scale * w * (*dw - dot);
                            }
                        }
                        // dq = ds k: (t, t) by (t, d); dk += ds^T q
                        matmul((t, d, t), &mut d_q, (d, 1), &d_weights, (t, 1), &scratch.k, (d, 1), false);
                        matmul((t, d, t), &mut d_k, (d, 1), &d_weights, (1, t), &scratch.q, (d, 1), true);
                        rotate(&d_q, d, &mut out[sizes.query(head)..], width, (t, d), &constants, true);
                    }
                    rotate(&d_k, d, &mut out[sizes.key(group)..], width, (t, d), &constants, true);
                }
            });
            Ok(())
        })?;
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

/// The SwiGLU gate: `silu(gate) * up`, from `gate_up` `(.., 2 i)`, each row the gate's `i`
/// values then the up projection's (one product with both weights stacked lays them out so)
/// -> `(.., i)`.
pub fn swiglu(gate_up: &Tensor) -> Result<Tensor> {
    let width = gate_up.dim(D::Minus1)?;
    if !width.is_multiple_of(2) {
        candle_core::bail!("swiglu: {width} values per row is not a gate and an up half");
    }
    if !gate_up.device().is_cpu() {
        let (gate, up) = (gate_up.narrow(D::Minus1, 0, width / 2)?, gate_up.narrow(D::Minus1, width / 2, width / 2)?);
        return gate.silu()? * up;
    }
    gate_up.contiguous()?.apply_op1(SwiGlu)
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

struct SwiGlu;

impl CustomOp1 for SwiGlu {
    fn name(&self) -> &'static str {
        "swiglu"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let gate_up = values(storage, layout, self.name())?;
        let mut dims = layout.shape().dims().to_vec();
        let half = dims.last().copied().unwrap_or(0) / 2;
        let mut out = vec![0f32; gate_up.len() / 2];
        rows_parallel(&mut out, half, |r, y| {
            let (gate, up) = gate_up[2 * r * half..][..2 * half].split_at(half);
            for ((y, &g), &u) in y.iter_mut().zip(gate).zip(up) {
                *y = g * sigmoid(g) * u;
            }
        });
        if let Some(last) = dims.last_mut() {
            *last = half;
        }
        output(out, &Shape::from(dims))
    }

    fn bwd(&self, gate_up: &Tensor, _: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(gate_up.apply_op2_no_bwd(&grad.contiguous()?, &SwiGluGrad)?))
    }
}

/// The gradient of `silu(g) * u` with respect to `gate_up` (laid out as it), from `gate_up`
/// and `dy`, with `s = sigmoid(g)`: `dg = dy * u * s * (1 + g * (1 - s))`, `du = dy * g * s`.
struct SwiGluGrad;

impl CustomOp2 for SwiGluGrad {
    fn name(&self) -> &'static str {
        "swiglu-grad"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let (gate_up, dy) = (values(s1, l1, self.name())?, values(s2, l2, self.name())?);
        let half = l1.shape().dims().last().copied().unwrap_or(0) / 2;
        let mut out = vec![0f32; gate_up.len()];
        rows_parallel(&mut out, 2 * half, |r, d| {
            let (gate, up) = gate_up[2 * r * half..][..2 * half].split_at(half);
            let dy = &dy[r * half..][..half];
            let (d_gate, d_up) = d.split_at_mut(half);
            for i in 0..half {
                let (g, s) = (gate[i], sigmoid(gate[i]));
                d_gate[i] = dy[i] * up[i] * s * (1.0 + g * (1.0 - s));
                d_up[i] = dy[i] * g * s;
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
    fn attention_matches_the_composed_ops() {
        let (b, t, d) = (2, 5, 8);
        // Per-example masks: causal for one example, a blocked key for the other.
        let mut mask = vec![0f32; b * t * t];
        for q in 0..t {
            for k in q + 1..t {
                mask[q * t + k] = f32::NEG_INFINITY;
            }
            mask[t * t + q * t + 2] = f32::NEG_INFINITY;
        }
        let per_example = Tensor::from_vec(mask, (b, 1, t, t), &Device::Cpu).unwrap();
        let shared = Tensor::zeros((1, 1, t, t), candle_core::DType::F32, &Device::Cpu).unwrap();
        let (cos, sin) = (random(&[t, d / 2], 5), random(&[t, d / 2], 6));
        let rotary = (cos.as_tensor(), sin.as_tensor());
        for (heads, kv_heads, mask) in [(4, 2, &per_example), (2, 2, &shared), (3, 1, &per_example)] {
            let qkv = random(&[b, t, (heads + 2 * kv_heads) * d], 1);
            agree(
                &[&qkv],
                || attention(&qkv, rotary, mask, heads, kv_heads).unwrap(),
                || attention_composed(&qkv, rotary, mask, heads, kv_heads).unwrap(),
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
    fn swiglu_matches_the_composed_ops() {
        let gate_up = random(&[3, 4, 20], 7);
        agree(
            &[&gate_up],
            || swiglu(&gate_up).unwrap(),
            || {
                let (gate, up) = (gate_up.narrow(2, 0, 10).unwrap(), gate_up.narrow(2, 10, 10).unwrap());
                (gate.silu().unwrap() * up).unwrap()
            },
        );
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

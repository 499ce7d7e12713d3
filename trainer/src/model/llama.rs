//! A decoder-only transformer with the Llama architecture (RMSNorm, rotary positions, SwiGLU,
//! grouped-query attention) and Hugging Face's weight names, so a pretrained checkpoint
//! (`config.json` + `model.safetensors`, e.g. SmolLM2-135M) loads as it is.
//!
//! Only differentiable ops: in candle-nn 0.11.1 `ops::rms_norm`, `ops::softmax_last_dim`,
//! `sdpa` and the fast rotary ops return from `backward()` with the graph cut (see
//! ../shared/notes/trainer-and-formats.md), so the norms, the self-attention (rotary
//! positions, softmax) and the SwiGLU gate are our own fused kernels with their backward
//! ([`super::fused`]; other devices run candle's composed ops), and a test checks that every
//! weight gets a gradient.
//!
//! Shapes in comments: `b` batch, `t` tokens, `h` hidden size, `nh` / `nkv` query and key-value
//! heads, `d` head size, `i` MLP size, `v` vocabulary.

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::{Embedding, Linear, VarBuilder};
use serde::{Deserialize, Serialize};

use super::fused;

/// The fields of a Hugging Face Llama `config.json` this model reads (others are ignored).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlamaConfig {
    /// Tokens in the vocabulary.
    pub vocab_size: usize,
    /// Width of the residual stream.
    pub hidden_size: usize,
    /// Width of the SwiGLU MLP.
    pub intermediate_size: usize,
    /// Transformer blocks.
    pub num_hidden_layers: usize,
    /// Query heads.
    pub num_attention_heads: usize,
    /// Key and value heads (grouped-query attention); absent: as many as query heads.
    #[serde(default)]
    pub num_key_value_heads: Option<usize>,
    /// RMSNorm epsilon.
    #[serde(default = "default_rms_norm_eps")]
    pub rms_norm_eps: f64,
    /// Rotary base.
    #[serde(default = "default_rope_theta")]
    pub rope_theta: f32,
    /// Longest sequence the rotary table covers.
    pub max_position_embeddings: usize,
    /// The output head shares the token embeddings.
    #[serde(default)]
    pub tie_word_embeddings: bool,
}

fn default_rms_norm_eps() -> f64 {
    1e-5
}

fn default_rope_theta() -> f32 {
    10_000.0
}

impl LlamaConfig {
    /// Key and value heads.
    pub fn kv_heads(&self) -> usize {
        self.num_key_value_heads.unwrap_or(self.num_attention_heads)
    }

    /// Size of one head.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }

    /// Checks the sizes fit together, naming the field that does not.
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.num_attention_heads > 0 && self.hidden_size.is_multiple_of(self.num_attention_heads),
            "hidden_size {} is not a multiple of num_attention_heads {}",
            self.hidden_size,
            self.num_attention_heads
        );
        anyhow::ensure!(
            self.head_dim().is_multiple_of(2),
            "the head size {} must be even for rotary positions",
            self.head_dim()
        );
        anyhow::ensure!(
            self.kv_heads() > 0 && self.num_attention_heads.is_multiple_of(self.kv_heads()),
            "num_attention_heads {} is not a multiple of num_key_value_heads {}",
            self.num_attention_heads,
            self.kv_heads()
        );
        Ok(())
    }
}

/// `Linear` applied to a `(b, t, in)` input as one 2-D matmul (a batched matmul is about
/// twice as slow on CPU).
fn linear_3d(layer: &Linear, x: &Tensor) -> Result<Tensor> {
    let (b, t, width) = x.dims3()?;
    let y = layer.forward(&x.reshape((b * t, width))?)?;
    let out = y.dim(1)?;
    y.reshape((b, t, out))
}

/// `layers` (same input width, no biases) applied to `x` `(b, t, in)` as one product with their
/// weights stacked: `(b, t, sum of their outputs)`, their outputs side by side. Fewer, larger
/// products run faster on CPU than several small ones.
fn stacked(layers: &[&Linear], x: &Tensor) -> Result<Tensor> {
    let weights = layers.iter().map(|layer| layer.weight()).collect::<Vec<_>>();
    linear_3d(&Linear::new(Tensor::cat(&weights, 0)?, None), x)
}

/// RMSNorm with a learned scale, differentiable.
#[derive(Debug, Clone)]
pub struct RmsNorm {
    weight: Tensor,
    eps: f32,
}

impl RmsNorm {
    /// Loads `weight` (initialised to ones).
    pub fn new(size: usize, eps: f64, vb: VarBuilder) -> Result<RmsNorm> {
        let weight = vb.get_with_hints(size, "weight", candle_nn::Init::Const(1.0))?;
        Ok(RmsNorm { weight, eps: eps as f32 })
    }

    /// `x / rms(x) * weight` over the last dimension.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        fused::rms_norm(x, &self.weight, self.eps)
    }
}

/// The rotary table: cos and sin of every position's angles, `(positions, d / 2)`.
#[derive(Debug, Clone)]
pub struct Rotary {
    cos: Tensor,
    sin: Tensor,
}

impl Rotary {
    /// The table for `config` (Hugging Face's non-interleaved rotary: the two halves of a
    /// head are the pairs).
    pub fn new(config: &LlamaConfig, device: &Device) -> Result<Rotary> {
        let head_dim = config.head_dim();
        let inverse: Vec<f32> =
            (0..head_dim).step_by(2).map(|i| 1.0 / config.rope_theta.powf(i as f32 / head_dim as f32)).collect();
        let inverse = Tensor::from_vec(inverse, (1, head_dim / 2), device)?;
        let positions = Tensor::arange(0u32, config.max_position_embeddings as u32, device)?
            .to_dtype(DType::F32)?
            .reshape((config.max_position_embeddings, 1))?;
        let angles = positions.matmul(&inverse)?;
        Ok(Rotary { cos: angles.cos()?, sin: angles.sin()? })
    }

    /// The `cos` and `sin` tables of positions `0..t`, `(t, d / 2)` each.
    fn tables(&self, t: usize) -> Result<(Tensor, Tensor)> {
        if t > self.cos.dim(0)? {
            candle_core::bail!("{t} tokens, but the model knows {} positions", self.cos.dim(0)?);
        }
        Ok((self.cos.narrow(0, 0, t)?, self.sin.narrow(0, 0, t)?))
    }
}

/// Grouped-query self-attention with an additive mask.
#[derive(Debug, Clone)]
pub struct Attention {
    q_proj: Linear,
    k_proj: Linear,
    v_proj: Linear,
    o_proj: Linear,
    heads: usize,
    kv_heads: usize,
}

impl Attention {
    /// Loads `q_proj`, `k_proj`, `v_proj` and `o_proj` (no biases).
    pub fn new(config: &LlamaConfig, vb: VarBuilder) -> Result<Attention> {
        let (h, d) = (config.hidden_size, config.head_dim());
        let (heads, kv_heads) = (config.num_attention_heads, config.kv_heads());
        Ok(Attention {
            q_proj: candle_nn::linear_no_bias(h, heads * d, vb.pp("q_proj"))?,
            k_proj: candle_nn::linear_no_bias(h, kv_heads * d, vb.pp("k_proj"))?,
            v_proj: candle_nn::linear_no_bias(h, kv_heads * d, vb.pp("v_proj"))?,
            o_proj: candle_nn::linear_no_bias(heads * d, h, vb.pp("o_proj"))?,
            heads,
            kv_heads,
        })
    }

    /// `x` `(b, t, h)`, `mask` `(b or 1, 1, t, t)` added to the scores (0 where a query may
    /// look, -inf where not) -> `(b, t, h)`.
    pub fn forward(&self, x: &Tensor, mask: &Tensor, rotary: &Rotary) -> Result<Tensor> {
        let (cos, sin) = rotary.tables(x.dim(1)?)?;
        // One product with the three projections stacked: (b, t, (nh + 2 nkv) * d)
        let qkv = stacked(&[&self.q_proj, &self.k_proj, &self.v_proj], x)?;
        let out = fused::attention(&qkv, (&cos, &sin), mask, self.heads, self.kv_heads)?;
        linear_3d(&self.o_proj, &out)
    }
}

/// The SwiGLU MLP: `down(silu(gate(x)) * up(x))`.
#[derive(Debug, Clone)]
pub struct Mlp {
    gate_proj: Linear,
    up_proj: Linear,
    down_proj: Linear,
}

impl Mlp {
    /// Loads `gate_proj`, `up_proj` and `down_proj` (no biases).
    pub fn new(config: &LlamaConfig, vb: VarBuilder) -> Result<Mlp> {
        let (h, i) = (config.hidden_size, config.intermediate_size);
        Ok(Mlp {
            gate_proj: candle_nn::linear_no_bias(h, i, vb.pp("gate_proj"))?,
            up_proj: candle_nn::linear_no_bias(h, i, vb.pp("up_proj"))?,
            down_proj: candle_nn::linear_no_bias(i, h, vb.pp("down_proj"))?,
        })
    }

    /// `(b, t, h)` -> `(b, t, h)`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let gated = fused::swiglu(&stacked(&[&self.gate_proj, &self.up_proj], x)?)?;
        linear_3d(&self.down_proj, &gated)
    }
}

/// One pre-norm transformer block.
#[derive(Debug, Clone)]
pub struct Block {
    input_layernorm: RmsNorm,
    self_attn: Attention,
    post_attention_layernorm: RmsNorm,
    mlp: Mlp,
}

impl Block {
    /// Loads one `model.layers.N` block.
    pub fn new(config: &LlamaConfig, vb: VarBuilder) -> Result<Block> {
        Ok(Block {
            input_layernorm: RmsNorm::new(config.hidden_size, config.rms_norm_eps, vb.pp("input_layernorm"))?,
            self_attn: Attention::new(config, vb.pp("self_attn"))?,
            post_attention_layernorm: RmsNorm::new(
                config.hidden_size,
                config.rms_norm_eps,
                vb.pp("post_attention_layernorm"),
            )?,
            mlp: Mlp::new(config, vb.pp("mlp"))?,
        })
    }

    /// `(b, t, h)` -> `(b, t, h)`.
    pub fn forward(&self, x: &Tensor, mask: &Tensor, rotary: &Rotary) -> Result<Tensor> {
        let x = (x + self.self_attn.forward(&self.input_layernorm.forward(x)?, mask, rotary)?)?;
        &x + self.mlp.forward(&self.post_attention_layernorm.forward(&x)?)?
    }
}

/// The language model: token embeddings, blocks, final norm and output head.
#[derive(Debug, Clone)]
pub struct Llama {
    embed_tokens: Embedding,
    layers: Vec<Block>,
    norm: RmsNorm,
    lm_head: Linear,
    rotary: Rotary,
    config: LlamaConfig,
}

impl Llama {
    /// Loads (or, from a `VarMap`, creates) the weights under Hugging Face's names:
    /// `model.embed_tokens`, `model.layers.N.*`, `model.norm`, and `lm_head` unless the
    /// embeddings are tied.
    pub fn new(config: &LlamaConfig, vb: VarBuilder) -> Result<Llama> {
        let embed_tokens = candle_nn::embedding(config.vocab_size, config.hidden_size, vb.pp("model.embed_tokens"))?;
        let lm_head = if config.tie_word_embeddings {
            Linear::new(embed_tokens.embeddings().clone(), None)
        } else {
            candle_nn::linear_no_bias(config.hidden_size, config.vocab_size, vb.pp("lm_head"))?
        };
        let layers = (0..config.num_hidden_layers)
            .map(|i| Block::new(config, vb.pp(format!("model.layers.{i}"))))
            .collect::<Result<Vec<_>>>()?;
        let norm = RmsNorm::new(config.hidden_size, config.rms_norm_eps, vb.pp("model.norm"))?;
        let rotary = Rotary::new(config, vb.device())?;
        Ok(Llama { embed_tokens, layers, norm, lm_head, rotary, config: config.clone() })
    }

    /// The configuration.
    pub fn config(&self) -> &LlamaConfig {
        &self.config
    }

    /// Token ids `(b, t)` -> embeddings `(b, t, h)`.
    pub fn embed(&self, ids: &Tensor) -> Result<Tensor> {
        self.embed_tokens.forward(ids)
    }

    /// Embeddings `(b, t, h)` through every block and the final norm -> `(b, t, h)`.
    pub fn hidden(&self, embeddings: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let mut x = embeddings.clone();
        for layer in &self.layers {
            x = layer.forward(&x, mask, &self.rotary)?;
        }
        self.norm.forward(&x)
    }

    /// Hidden states `(b, t, h)` -> logits `(b, t, v)`.
    pub fn logits(&self, hidden: &Tensor) -> Result<Tensor> {
        linear_3d(&self.lm_head, hidden)
    }
}

/// The causal mask `(1, 1, t, t)`: 0 on and below the diagonal, -inf above.
pub fn causal_mask(t: usize, device: &Device) -> Result<Tensor> {
    let values: Vec<f32> =
        (0..t).flat_map(|row| (0..t).map(move |col| if col <= row { 0.0 } else { f32::NEG_INFINITY })).collect();
    Tensor::from_vec(values, (1, 1, t, t), device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_nn::{VarBuilder, VarMap};

    fn tiny(kv_heads: usize, tied: bool) -> LlamaConfig {
        LlamaConfig {
            vocab_size: 61,
            hidden_size: 32,
            intermediate_size: 48,
            num_hidden_layers: 2,
            num_attention_heads: 4,
            num_key_value_heads: Some(kv_heads),
            rms_norm_eps: 1e-5,
            rope_theta: 10_000.0,
            max_position_embeddings: 64,
            tie_word_embeddings: tied,
        }
    }

    /// Random weights (norm scales too, so a norm that ignored its weight would show).
    fn random_model(config: &LlamaConfig) -> (VarMap, Llama) {
        let device = Device::Cpu;
        let varmap = VarMap::new();
        let model = Llama::new(config, VarBuilder::from_varmap(&varmap, DType::F32, &device)).unwrap();
        for (name, var) in varmap.data().lock().unwrap().iter() {
            if name.ends_with("layernorm.weight") || name == "model.norm.weight" {
                let scale = Tensor::rand(0.5f32, 1.5, var.shape(), &device).unwrap();
                var.set(&scale).unwrap();
            }
        }
        (varmap, model)
    }

    fn tokens(t: usize) -> Tensor {
        Tensor::from_vec((0..t as u32).map(|i| (i * 7 + 3) % 61).collect::<Vec<u32>>(), (1, t), &Device::Cpu).unwrap()
    }

    #[test]
    fn logits_match_candle_transformers_llama_on_the_same_weights() {
        use candle_transformers::models::llama as reference;
        for (kv_heads, tied) in [(4, false), (2, false), (1, true)] {
            let config = tiny(kv_heads, tied);
            let (varmap, model) = random_model(&config);
            let dir = tempfile::tempdir().unwrap();
            let weights = dir.path().join("model.safetensors");
            varmap.save(&weights).unwrap();
            // The reference reads the same Hugging Face config.json and weight names.
            let json = serde_json::to_string(&config).unwrap();
            let theirs: reference::LlamaConfig = serde_json::from_str(&json).unwrap();
            let theirs = theirs.into_config(false);
            let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[&weights], DType::F32, &Device::Cpu).unwrap() };
            let reference_model = reference::Llama::load(vb, &theirs).unwrap();
            let mut cache = reference::Cache::new(false, DType::F32, &theirs, &Device::Cpu).unwrap();
            let t = 9;
            let expected = reference_model.forward(&tokens(t), 0, &mut cache).unwrap(); // (1, v), last token
            let ours = model
                .logits(
                    &model.hidden(&model.embed(&tokens(t)).unwrap(), &causal_mask(t, &Device::Cpu).unwrap()).unwrap(),
                )
                .unwrap();
            let ours_last = ours.narrow(1, t - 1, 1).unwrap().squeeze(1).unwrap();
            let difference =
                (ours_last - &expected).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
            assert!(difference < 1e-4, "kv_heads {kv_heads}, tied {tied}: logits differ by {difference}");
        }
    }

    #[test]
    fn every_weight_receives_a_gradient() {
        for (kv_heads, tied) in [(2, false), (4, true)] {
            let config = tiny(kv_heads, tied);
            let (varmap, model) = random_model(&config);
            let t = 7;
            let logits = model
                .logits(
                    &model.hidden(&model.embed(&tokens(t)).unwrap(), &causal_mask(t, &Device::Cpu).unwrap()).unwrap(),
                )
                .unwrap();
            let targets = tokens(t + 1).narrow(1, 1, t).unwrap().flatten_all().unwrap();
            let loss = candle_nn::loss::cross_entropy(&logits.flatten_to(1).unwrap(), &targets).unwrap();
            let gradients = loss.backward().unwrap();
            assert_eq!(super::super::without_gradient(&varmap, &gradients), Vec::<String>::new());
        }
    }

    #[test]
    fn bad_sizes_are_named() {
        let mut config = tiny(3, false);
        assert!(config.check().unwrap_err().to_string().contains("num_key_value_heads 3"));
        config.num_key_value_heads = None;
        config.hidden_size = 30;
        assert!(config.check().unwrap_err().to_string().contains("hidden_size 30"));
    }
}

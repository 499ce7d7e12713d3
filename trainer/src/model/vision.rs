//! The input-image encoder: a small ViT (patches, learned positions, bidirectional Llama
//! blocks) and a two-layer projector into the language model's width, as LLaVA connects a
//! vision tower to its language model.

use candle_core::{Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder};
use serde::{Deserialize, Serialize};

use super::llama::{Block, LlamaConfig, RmsNorm, Rotary};

/// Sizes of the image encoder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisionConfig {
    /// Width and height of the (resized) input images, pixels.
    pub image_size: usize,
    /// Side of a square patch, pixels.
    pub patch_size: usize,
    /// Width of the encoder.
    pub width: usize,
    /// Encoder blocks.
    pub layers: usize,
    /// Attention heads.
    pub heads: usize,
}

impl VisionConfig {
    /// Patches per image.
    pub fn patches(&self) -> usize {
        (self.image_size / self.patch_size).pow(2)
    }

    /// Checks that patches tile the image, naming the field that does not.
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.patch_size > 0 && self.image_size.is_multiple_of(self.patch_size),
            "image_size {} is not a multiple of patch_size {}",
            self.image_size,
            self.patch_size
        );
        self.blocks().check()
    }

    /// The blocks' own config (a Llama block without a vocabulary).
    fn blocks(&self) -> LlamaConfig {
        LlamaConfig {
            vocab_size: 0,
            hidden_size: self.width,
            intermediate_size: 4 * self.width,
            num_hidden_layers: self.layers,
            num_attention_heads: self.heads,
            num_key_value_heads: None,
            rms_norm_eps: 1e-5,
            rope_theta: 10_000.0,
            max_position_embeddings: self.patches(),
            tie_word_embeddings: false,
        }
    }
}

/// `(b, c, s, s)` -> `(b, (s / p)^2, c p p)`: non-overlapping `p` x `p` patches in row-major
/// order, each flattened channel-major.
pub fn patchify(x: &Tensor, p: usize) -> Result<Tensor> {
    let (b, c, h, w) = x.dims4()?;
    let (rows, cols) = (h / p, w / p);
    // (b, c, rows, p, cols, p) -> (b, rows, cols, c, p, p)
    x.reshape((b, c, rows, p, cols, p))?.permute((0, 2, 4, 1, 3, 5))?.contiguous()?.reshape((b, rows * cols, c * p * p))
}

/// The inverse of [`patchify`] for a square grid of `c`-channel patches.
pub fn unpatchify(tokens: &Tensor, c: usize, p: usize) -> Result<Tensor> {
    let (b, n, _) = tokens.dims3()?;
    let side = (n as f64).sqrt().round() as usize;
    // (b, rows, cols, c, p, p) -> (b, c, rows, p, cols, p)
    tokens.reshape((b, side, side, c, p, p))?.permute((0, 3, 1, 4, 2, 5))?.contiguous()?.reshape((
        b,
        c,
        side * p,
        side * p,
    ))
}

/// Images -> tokens in the language model's width.
#[derive(Debug, Clone)]
pub struct VisionEncoder {
    patch_embed: Linear,
    positions: Tensor,
    layers: Vec<Block>,
    norm: RmsNorm,
    rotary: Rotary,
    projector: (Linear, Linear),
    config: VisionConfig,
}

impl VisionEncoder {
    /// Loads `patch_embed`, `positions`, `layers.N`, `norm` and `projector.{0,1}` (the
    /// projector maps to `output_width`, the language model's hidden size).
    pub fn new(config: &VisionConfig, output_width: usize, vb: VarBuilder) -> Result<VisionEncoder> {
        let blocks = config.blocks();
        let patch_embed = candle_nn::linear(3 * config.patch_size.pow(2), config.width, vb.pp("patch_embed"))?;
        let positions = vb.get_with_hints(
            (config.patches(), config.width),
            "positions",
            candle_nn::Init::Randn { mean: 0.0, stdev: 0.02 },
        )?;
        let layers =
            (0..config.layers).map(|i| Block::new(&blocks, vb.pp(format!("layers.{i}")))).collect::<Result<_>>()?;
        let norm = RmsNorm::new(config.width, blocks.rms_norm_eps, vb.pp("norm"))?;
        let rotary = Rotary::new(&blocks, vb.device())?;
        let projector = (
            candle_nn::linear(config.width, output_width, vb.pp("projector.0"))?,
            candle_nn::linear(output_width, output_width, vb.pp("projector.1"))?,
        );
        Ok(VisionEncoder { patch_embed, positions, layers, norm, rotary, projector, config: config.clone() })
    }

    /// Images `(b, 3, s, s)` in [-1, 1] -> tokens `(b, patches, output_width)`.
    pub fn forward(&self, images: &Tensor) -> Result<Tensor> {
        let patches = patchify(images, self.config.patch_size)?;
        let (b, n, values) = patches.dims3()?;
        let x = self.patch_embed.forward(&patches.reshape((b * n, values))?)?.reshape((b, n, self.config.width))?;
        let mut x = x.broadcast_add(&self.positions)?;
        // Every patch sees every other.
        let mask = Tensor::zeros((1, 1, n, n), x.dtype(), x.device())?;
        for layer in &self.layers {
            x = layer.forward(&x, &mask, &self.rotary)?;
        }
        let x = self.norm.forward(&x)?.reshape((b * n, self.config.width))?;
        let x = self.projector.1.forward(&self.projector.0.forward(&x)?.gelu_erf()?)?;
        x.reshape((b, n, ()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};
    use candle_nn::VarMap;

    #[test]
    fn patches_round_trip_in_row_major_order() {
        let x = Tensor::arange(0f32, 2.0 * 3.0 * 4.0 * 4.0, &Device::Cpu).unwrap().reshape((2, 3, 4, 4)).unwrap();
        let tokens = patchify(&x, 2).unwrap();
        assert_eq!(tokens.dims(), &[2, 4, 12]);
        // The second patch of the first image starts at row 0, column 2 of channel 0.
        let second: Vec<f32> = tokens.get(0).unwrap().get(1).unwrap().to_vec1().unwrap();
        assert_eq!(&second[..4], &[2.0, 3.0, 6.0, 7.0]);
        let back: Vec<f32> = unpatchify(&tokens, 3, 2).unwrap().flatten_all().unwrap().to_vec1().unwrap();
        assert_eq!(back, x.flatten_all().unwrap().to_vec1::<f32>().unwrap());
    }

    #[test]
    fn images_become_projected_tokens_and_every_weight_learns() {
        let config = VisionConfig { image_size: 16, patch_size: 4, width: 24, layers: 2, heads: 2 };
        config.check().unwrap();
        let varmap = VarMap::new();
        let encoder =
            VisionEncoder::new(&config, 40, VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu)).unwrap();
        let images = Tensor::rand(-1f32, 1.0, (2, 3, 16, 16), &Device::Cpu).unwrap();
        let tokens = encoder.forward(&images).unwrap();
        assert_eq!(tokens.dims(), &[2, 16, 40]);
        let gradients = tokens.sqr().unwrap().mean_all().unwrap().backward().unwrap();
        assert_eq!(super::super::without_gradient(&varmap, &gradients), Vec::<String>::new());
        let bad = VisionConfig { patch_size: 5, ..config };
        assert!(bad.check().unwrap_err().to_string().contains("patch_size 5"));
    }
}

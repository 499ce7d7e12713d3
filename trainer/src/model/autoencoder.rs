//! The imagination autoencoder: a small convolutional encoder from an RGB image to a grid of
//! latent vectors and a decoder back, trained first on imagination images
//! (`ipt-train autoencoder`) and then frozen. The transformer predicts its latents, patchified
//! into tokens, as the paper predicts FLUX autoencoder latents.
//!
//! Every op has a backward in candle 0.11: strided convolutions down, nearest-neighbour
//! upsampling and convolutions up (transposed convolutions and bilinear upsampling have none).

use candle_core::{Module, Result, Tensor};
use candle_nn::{Conv2d, Conv2dConfig, VarBuilder};
use serde::{Deserialize, Serialize};

/// Sizes of the autoencoder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoencoderConfig {
    /// Width and height of the images it encodes, pixels.
    pub image_size: usize,
    /// Channels after each halving of the resolution; the latent grid is
    /// `image_size / 2^levels` on a side.
    pub channels: Vec<usize>,
    /// Values per latent grid cell.
    pub latent_channels: usize,
}

impl AutoencoderConfig {
    /// Cells per side of the latent grid.
    pub fn latent_size(&self) -> usize {
        self.image_size >> self.channels.len()
    }

    /// Checks that the image halves evenly down to the grid, naming the field that does not.
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(!self.channels.is_empty(), "channels: at least one level");
        anyhow::ensure!(self.latent_channels > 0, "latent_channels must be positive");
        let halvings = 1usize << self.channels.len();
        anyhow::ensure!(
            self.image_size >= halvings && self.image_size.is_multiple_of(halvings),
            "image_size {} does not halve {} times into a whole grid",
            self.image_size,
            self.channels.len()
        );
        Ok(())
    }
}

fn conv(input: usize, output: usize, kernel: usize, stride: usize, vb: VarBuilder) -> Result<Conv2d> {
    let config = Conv2dConfig { padding: kernel / 2, stride, ..Default::default() };
    candle_nn::conv2d(input, output, kernel, config, vb)
}

/// Image `(b, 3, s, s)` in [-1, 1] -> latents `(b, c, s / 2^levels, s / 2^levels)`.
#[derive(Debug, Clone)]
pub struct Encoder {
    stem: Conv2d,
    /// Per level: a strided convolution (halves the size), then a plain one.
    levels: Vec<(Conv2d, Conv2d)>,
    head: Conv2d,
}

impl Encoder {
    /// Loads `stem`, `levels.N.down`, `levels.N.conv` and `head`.
    pub fn new(config: &AutoencoderConfig, vb: VarBuilder) -> Result<Encoder> {
        let first = config.channels[0];
        let stem = conv(3, first, 3, 1, vb.pp("stem"))?;
        let mut levels = Vec::new();
        let mut width = first;
        for (i, &channels) in config.channels.iter().enumerate() {
            let vb = vb.pp(format!("levels.{i}"));
            levels.push((conv(width, channels, 3, 2, vb.pp("down"))?, conv(channels, channels, 3, 1, vb.pp("conv"))?));
            width = channels;
        }
        let head = conv(width, config.latent_channels, 1, 1, vb.pp("head"))?;
        Ok(Encoder { stem, levels, head })
    }

    /// `(b, 3, s, s)` -> `(b, c, g, g)`.
    pub fn forward(&self, image: &Tensor) -> Result<Tensor> {
        let mut x = self.stem.forward(image)?.silu()?;
        for (down, conv) in &self.levels {
            x = down.forward(&x)?.silu()?;
            x = (&x + conv.forward(&x)?.silu()?)?;
        }
        self.head.forward(&x)
    }
}

/// Latents `(b, c, g, g)` -> image `(b, 3, g 2^levels, g 2^levels)`, about [-1, 1].
#[derive(Debug, Clone)]
pub struct Decoder {
    stem: Conv2d,
    /// Per level, from the grid up: a convolution after doubling the size, then a plain one.
    levels: Vec<(Conv2d, Conv2d)>,
    head: Conv2d,
}

impl Decoder {
    /// Loads `stem`, `levels.N.up`, `levels.N.conv` and `head`.
    pub fn new(config: &AutoencoderConfig, vb: VarBuilder) -> Result<Decoder> {
        let widths: Vec<usize> = config.channels.iter().rev().copied().collect();
        let stem = conv(config.latent_channels, widths[0], 3, 1, vb.pp("stem"))?;
        let mut levels = Vec::new();
        let mut width = widths[0];
        for (i, &channels) in widths.iter().enumerate() {
            let vb = vb.pp(format!("levels.{i}"));
            levels.push((conv(width, channels, 3, 1, vb.pp("up"))?, conv(channels, channels, 3, 1, vb.pp("conv"))?));
            width = channels;
        }
        let head = conv(width, 3, 3, 1, vb.pp("head"))?;
        Ok(Decoder { stem, levels, head })
    }

    /// `(b, c, g, g)` -> `(b, 3, s, s)`.
    pub fn forward(&self, latents: &Tensor) -> Result<Tensor> {
        let mut x = self.stem.forward(latents)?.silu()?;
        for (up, conv) in &self.levels {
            let (_, _, h, w) = x.dims4()?;
            x = up.forward(&x.upsample_nearest2d(2 * h, 2 * w)?)?.silu()?;
            x = (&x + conv.forward(&x)?.silu()?)?;
        }
        self.head.forward(&x)
    }
}

/// Encoder and decoder, with the loss they are trained on.
#[derive(Debug, Clone)]
pub struct Autoencoder {
    /// Image -> latents.
    pub encoder: Encoder,
    /// Latents -> image.
    pub decoder: Decoder,
}

/// Weight of the latents' mean square in the training loss: keeps them near unit scale, as
/// the flow's noise is.
pub const LATENT_PENALTY: f64 = 1e-3;

impl Autoencoder {
    /// Loads `encoder.*` and `decoder.*`.
    pub fn new(config: &AutoencoderConfig, vb: VarBuilder) -> Result<Autoencoder> {
        Ok(Autoencoder {
            encoder: Encoder::new(config, vb.pp("encoder"))?,
            decoder: Decoder::new(config, vb.pp("decoder"))?,
        })
    }

    /// The training loss on images `(b, 3, s, s)` in [-1, 1]: mean squared reconstruction
    /// error plus [`LATENT_PENALTY`] times the latents' mean square.
    pub fn loss(&self, images: &Tensor) -> Result<Tensor> {
        let latents = self.encoder.forward(images)?;
        let reconstruction = self.decoder.forward(&latents)?;
        let error = (reconstruction - images)?.sqr()?.mean_all()?;
        error + (latents.sqr()?.mean_all()? * LATENT_PENALTY)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};
    use candle_nn::{Optimizer, VarMap};

    fn config() -> AutoencoderConfig {
        AutoencoderConfig { image_size: 16, channels: vec![8, 16], latent_channels: 4 }
    }

    #[test]
    fn shapes_and_sizes() {
        let config = config();
        config.check().unwrap();
        assert_eq!(config.latent_size(), 4);
        let varmap = VarMap::new();
        let model = Autoencoder::new(&config, VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu)).unwrap();
        let images = Tensor::rand(-1f32, 1.0, (2, 3, 16, 16), &Device::Cpu).unwrap();
        let latents = model.encoder.forward(&images).unwrap();
        assert_eq!(latents.dims(), &[2, 4, 4, 4]);
        assert_eq!(model.decoder.forward(&latents).unwrap().dims(), &[2, 3, 16, 16]);
        let bad = AutoencoderConfig { image_size: 20, channels: vec![8, 8, 8], latent_channels: 4 };
        assert!(bad.check().unwrap_err().to_string().contains("image_size 20"));
    }

    #[test]
    fn every_weight_learns_and_two_images_are_reconstructed() {
        let config = config();
        let varmap = VarMap::new();
        let model = Autoencoder::new(&config, VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu)).unwrap();
        // Two images with structure: a gradient and a checkerboard.
        let pixels: Vec<f32> = (0..2 * 3 * 16 * 16)
            .map(|i| {
                let (image, x, y) = (i / 768, i % 16, (i / 16) % 16);
                if image == 0 {
                    x as f32 / 7.5 - 1.0
                } else if (x / 4 + y / 4) % 2 == 0 {
                    0.8
                } else {
                    -0.8
                }
            })
            .collect();
        let images = Tensor::from_vec(pixels, (2, 3, 16, 16), &Device::Cpu).unwrap();
        let first = model.loss(&images).unwrap();
        let gradients = first.backward().unwrap();
        assert_eq!(super::super::without_gradient(&varmap, &gradients), Vec::<String>::new());
        let mut optimizer = candle_nn::AdamW::new_lr(varmap.all_vars(), 3e-3).unwrap();
        for _ in 0..150 {
            optimizer.backward_step(&model.loss(&images).unwrap()).unwrap();
        }
        let last = model.loss(&images).unwrap().to_scalar::<f32>().unwrap();
        let first = first.to_scalar::<f32>().unwrap();
        assert!(last < 0.1 * first, "loss {first} -> {last}");
    }
}

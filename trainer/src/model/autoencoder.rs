//! The imagination autoencoder: a small convolutional encoder from an RGB image to a grid of
//! latent vectors and a decoder back, trained first on imagination images
//! (`ipt-train autoencoder`) and then frozen. The transformer predicts its latents, patchified
//! into tokens, as the paper predicts FLUX autoencoder latents.
//!
//! Every op has a backward in candle 0.11: strided convolutions down, nearest-neighbour
//! upsampling and convolutions up (transposed convolutions and bilinear upsampling have none).

use candle_core::{Result, Tensor};
use candle_nn::{Linear, Module, VarBuilder};

use super::vision::{patchify, unpatchify};
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

/// A square convolution with "same" padding, computed as one matrix product over the
/// shifted views of the input (im2col). candle's own CPU `conv2d` takes the kernel's gradient
/// as a convolution whose kernel is the whole gradient image, which made a training step of
/// this autoencoder 5 s on two cores; gathering views with `narrow` (whose backward pads) and
/// multiplying matrices is an order of magnitude faster. Weights have candle's `conv2d`
/// shape, names and initialisation.
#[derive(Debug, Clone)]
pub struct Conv {
    /// `(out, in * k * k)`, transposed for the product.
    weight: Tensor,
    bias: Tensor,
    kernel: usize,
    stride: usize,
}

impl Conv {
    /// Loads `weight` `(out, in, k, k)` and `bias` `(out)`; `stride` 1 or 2 with an odd
    /// `kernel`.
    pub fn new(input: usize, output: usize, kernel: usize, stride: usize, vb: VarBuilder) -> Result<Conv> {
        let weight =
            vb.get_with_hints((output, input, kernel, kernel), "weight", candle_nn::init::DEFAULT_KAIMING_NORMAL)?;
        let bound = 1.0 / ((input * kernel * kernel) as f64).sqrt();
        let bias = vb.get_with_hints(output, "bias", candle_nn::Init::Uniform { lo: -bound, up: bound })?;
        Ok(Conv { weight: weight.reshape((output, ()))?.t()?, bias, kernel, stride })
    }

    /// `(b, in, h, w)` -> `(b, out, h / stride, w / stride)`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, c, h, w) = x.dims4()?;
        let (k, s, pad) = (self.kernel, self.stride, self.kernel / 2);
        let (ho, wo) = (h / s, w / s);
        let padded = if pad == 0 { x.clone() } else { x.pad_with_zeros(2, pad, pad)?.pad_with_zeros(3, pad, pad)? };
        let mut views = Vec::with_capacity(k * k);
        for dy in 0..k {
            for dx in 0..k {
                let view = padded.narrow(2, dy, s * ho)?.narrow(3, dx, s * wo)?;
                let view = if s == 1 {
                    view
                } else {
                    // Every s-th row and column.
                    view.reshape((b, c, ho, s, wo, s))?.narrow(3, 0, 1)?.narrow(5, 0, 1)?.reshape((b, c, ho, wo))?
                };
                views.push(view);
            }
        }
        // (b, c, k k, ho, wo) -> (b ho wo, c k k): rows are output pixels, columns match the
        // weight's (in, ky, kx) order.
        let columns = Tensor::stack(&views, 2)?.permute((0, 3, 4, 1, 2))?.reshape((b * ho * wo, c * k * k))?;
        let out = columns.matmul(&self.weight)?.broadcast_add(&self.bias)?; // (b ho wo, out)
        out.reshape((b, ho, wo, ()))?.permute((0, 3, 1, 2))?.contiguous()
    }
}

fn conv(input: usize, output: usize, kernel: usize, stride: usize, vb: VarBuilder) -> Result<Conv> {
    Conv::new(input, output, kernel, stride, vb)
}

/// Side of the pixel patches the encoder's stem reads and the decoder's head writes.
const PIXEL_PATCH: usize = 2;

/// Image `(b, 3, s, s)` in [-1, 1] -> latents `(b, c, s / 2^levels, s / 2^levels)`.
///
/// Nothing runs at full resolution: the stem reads 2 x 2 pixel patches (a linear map of each
/// patch, the first halving) and the decoder's head writes them, which makes a training step
/// about four times cheaper than convolving full-size images.
#[derive(Debug, Clone)]
pub struct Encoder {
    stem: Linear,
    /// Per level: a strided convolution (halves the size; none at the first level, which the
    /// stem halved), then a plain one.
    levels: Vec<(Option<Conv>, Conv)>,
    head: Conv,
}

impl Encoder {
    /// Loads `stem`, `levels.N.down`, `levels.N.conv` and `head`.
    pub fn new(config: &AutoencoderConfig, vb: VarBuilder) -> Result<Encoder> {
        let first = config.channels[0];
        let stem = candle_nn::linear(3 * PIXEL_PATCH * PIXEL_PATCH, first, vb.pp("stem"))?;
        let mut levels = Vec::new();
        let mut width = first;
        for (i, &channels) in config.channels.iter().enumerate() {
            let vb = vb.pp(format!("levels.{i}"));
            let down = if i == 0 { None } else { Some(conv(width, channels, 3, 2, vb.pp("down"))?) };
            levels.push((down, conv(channels, channels, 3, 1, vb.pp("conv"))?));
            width = channels;
        }
        let head = conv(width, config.latent_channels, 1, 1, vb.pp("head"))?;
        Ok(Encoder { stem, levels, head })
    }

    /// `(b, 3, s, s)` -> `(b, c, g, g)`.
    pub fn forward(&self, image: &Tensor) -> Result<Tensor> {
        let (b, _, s, _) = image.dims4()?;
        let patches = patchify(image, PIXEL_PATCH)?; // (b, (s/2)^2, 12)
        let (_, n, values) = patches.dims3()?;
        let half = s / PIXEL_PATCH;
        let mut x = self.stem.forward(&patches.reshape((b * n, values))?)?.silu()?;
        x = x.reshape((b, half, half, ()))?.permute((0, 3, 1, 2))?.contiguous()?;
        for (down, conv) in &self.levels {
            if let Some(down) = down {
                x = down.forward(&x)?.silu()?;
            }
            x = (&x + conv.forward(&x)?.silu()?)?;
        }
        self.head.forward(&x)
    }
}

/// Latents `(b, c, g, g)` -> image `(b, 3, g 2^levels, g 2^levels)`, about [-1, 1].
#[derive(Debug, Clone)]
pub struct Decoder {
    stem: Conv,
    /// Per level, from the grid up: a convolution (after doubling the size, except at the
    /// last level, which the head doubles), then a plain one.
    levels: Vec<(Conv, Conv)>,
    head: Linear,
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
        let head = candle_nn::linear(width, 3 * PIXEL_PATCH * PIXEL_PATCH, vb.pp("head"))?;
        Ok(Decoder { stem, levels, head })
    }

    /// `(b, c, g, g)` -> `(b, 3, s, s)`.
    pub fn forward(&self, latents: &Tensor) -> Result<Tensor> {
        let mut x = self.stem.forward(latents)?.silu()?;
        let last = self.levels.len() - 1;
        for (i, (up, conv)) in self.levels.iter().enumerate() {
            let (_, _, h, w) = x.dims4()?;
            let input = if i < last { x.upsample_nearest2d(2 * h, 2 * w)? } else { x };
            x = up.forward(&input)?.silu()?;
            x = (&x + conv.forward(&x)?.silu()?)?;
        }
        // (b, c, h, w) -> per cell a 2 x 2 pixel patch -> (b, 3, 2h, 2w)
        let (b, c, h, w) = x.dims4()?;
        let cells = x.permute((0, 2, 3, 1))?.reshape((b * h * w, c))?;
        let patches = self.head.forward(&cells)?.reshape((b, h * w, ()))?;
        unpatchify(&patches, 3, PIXEL_PATCH)
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
    fn the_matrix_convolution_equals_candles() {
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let x = Tensor::rand(-1f32, 1.0, (2, 3, 8, 8), &Device::Cpu).unwrap();
        for (kernel, stride) in [(3, 1), (3, 2), (1, 1)] {
            let ours = Conv::new(3, 5, kernel, stride, vb.pp(format!("c{kernel}{stride}"))).unwrap();
            let weight = ours.weight.t().unwrap().reshape((5, 3, kernel, kernel)).unwrap();
            let config = candle_nn::Conv2dConfig { padding: kernel / 2, stride, ..Default::default() };
            let theirs = candle_nn::Conv2d::new(weight, Some(ours.bias.clone()), config);
            let difference = (ours.forward(&x).unwrap() - theirs.forward(&x).unwrap())
                .unwrap()
                .abs()
                .unwrap()
                .max_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            assert!(difference < 1e-5, "kernel {kernel}, stride {stride}: {difference}");
        }
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

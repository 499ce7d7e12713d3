//! The IPT model: input-image tokens, text, and imagination latent tokens in one Llama
//! sequence, trained with the answer's cross-entropy and the imagination's rectified-flow
//! loss, weighted 1:1 as in the paper.
//!
//! One example's sequence, in order:
//!
//! ```text
//! [image patches][prompt: question, options][think][noisy latents][clean latents][target]
//! ```
//!
//! The last four exist only for imagining examples (the `ipt` regime); an answer-only example
//! is `[image patches][prompt][target]`. The noisy block learns the velocity toward the
//! ground-truth latents from everything before it (its tokens see each other); the clean
//! block holds the ground-truth latents (its tokens see each other and the prefix, never the
//! noisy block), and the target text sees the clean block but never the noisy one: the
//! answer is trained with the true imagination in context. At inference the noisy block is
//! sampled and then copied into the clean block.

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder};
use serde::{Deserialize, Serialize};

use super::llama::{Llama, LlamaConfig};
use super::vision::{VisionConfig, VisionEncoder, patchify, unpatchify};

/// Sizes of the whole model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IptConfig {
    /// The language model (Hugging Face Llama `config.json` fields).
    pub language: LlamaConfig,
    /// The input-image encoder.
    pub vision: VisionConfig,
    /// The imagination latents.
    pub latent: LatentConfig,
}

/// The shape of the autoencoder's latents and how they become tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatentConfig {
    /// Channels of a latent grid cell (the autoencoder's `latent_channels`).
    pub channels: usize,
    /// Cells per side of the latent grid (the autoencoder's `latent_size`).
    pub grid: usize,
    /// Cells per side of one latent token (BAGEL: 2).
    pub patch: usize,
}

impl IptConfig {
    /// Checks every part's sizes, naming the field that does not fit.
    pub fn check(&self) -> anyhow::Result<()> {
        use anyhow::Context;
        self.language.check().context("language")?;
        self.vision.check().context("vision")?;
        let latent = &self.latent;
        anyhow::ensure!(
            latent.channels > 0 && latent.patch > 0 && latent.grid.is_multiple_of(latent.patch) && latent.grid > 0,
            "latent: grid {} is not a positive multiple of patch {}",
            latent.grid,
            latent.patch
        );
        Ok(())
    }
}

impl LatentConfig {
    /// Tokens per imagination.
    pub fn tokens(&self) -> usize {
        (self.grid / self.patch).pow(2)
    }

    /// Values per token.
    pub fn token_values(&self) -> usize {
        self.channels * self.patch * self.patch
    }
}

/// What one example puts in the sequence (its images are passed to [`IptModel::losses`]
/// stacked with the rest of the batch's).
#[derive(Debug, Clone)]
pub struct Item {
    /// Number of input images.
    pub images: usize,
    /// Token ids of the prompt: question, options and the regime's instruction.
    pub prompt: Vec<u32>,
    /// The imagination, for imagining examples.
    pub imagination: Option<Imagining>,
    /// Token ids of the supervised text (the answer, or chain of thought and answer), ending
    /// with the end-of-text token.
    pub target: Vec<u32>,
}

/// The imagination part of an imagining example: the think phrase, then the two latent
/// blocks. Build it with [`Imagining::training`], [`Imagining::sampling`] or
/// [`Imagining::given`].
#[derive(Debug, Clone)]
pub struct Imagining {
    /// Token ids of the think phrase.
    pub think: Vec<u32>,
    /// The noisy block's latents `(c, g, g)` at `time`.
    noisy: Tensor,
    /// The flow time of the noisy block, in [0, 1].
    time: f32,
    /// The clean block's latents `(c, g, g)`; `None` ends the sequence after the noisy block
    /// (sampling needs nothing after it).
    clean: Option<Tensor>,
    /// The velocity the noisy block must predict (training only).
    velocity: Option<Tensor>,
}

impl Imagining {
    /// For training: ground-truth latents `(c, g, g)` mixed with `noise` at `time` in the
    /// noisy block (which learns the velocity `noise - latents`) and clean in the clean block.
    pub fn training(think: Vec<u32>, latents: Tensor, noise: &Tensor, time: f32) -> Result<Imagining> {
        let t = Tensor::new(&[time], latents.device())?;
        let pair = super::flow::mix(&latents.unsqueeze(0)?, &noise.unsqueeze(0)?, &t)?;
        Ok(Imagining {
            think,
            noisy: pair.noisy.squeeze(0)?,
            time,
            clean: Some(latents),
            velocity: Some(pair.velocity.squeeze(0)?),
        })
    }

    /// For one Euler step: the latents `x_t` at `time`, whose velocity is asked for.
    pub fn sampling(think: Vec<u32>, noisy: Tensor, time: f32) -> Imagining {
        Imagining { think, noisy, time, clean: None, velocity: None }
    }

    /// For answering with an imagination in context (sampled or ground truth): `latents` in
    /// the clean block. The noisy block holds them too, at time 0, only to keep every
    /// position where training put it (nothing after it can see it).
    pub fn given(think: Vec<u32>, latents: Tensor) -> Imagining {
        Imagining { think, noisy: latents.clone(), time: 0.0, clean: Some(latents), velocity: None }
    }
}

/// The two losses and their sum.
#[derive(Debug, Clone)]
pub struct Losses {
    /// Mean cross-entropy over target tokens.
    pub text: Tensor,
    /// Mean squared velocity error over the noisy latents (zero without imaginations).
    pub flow: Tensor,
    /// `text + flow`.
    pub total: Tensor,
}

/// What a sequence position holds, for the attention mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Prefix,
    Noisy,
    Clean,
    Target,
    Pad,
}

/// The model.
#[derive(Debug, Clone)]
pub struct IptModel {
    language: Llama,
    vision: VisionEncoder,
    latent_in: Linear,
    time_mlp: (Linear, Linear),
    velocity_head: Linear,
    config: IptConfig,
}

/// Sinusoidal embedding of a time in [0, 1] with `width` values (half sines, half cosines).
fn time_features(time: f32, width: usize) -> Vec<f32> {
    let half = width / 2;
    let mut features = vec![0.0; width];
    for i in 0..half {
        let frequency = (-(10_000f32.ln()) * i as f32 / half as f32).exp();
        let angle = 1000.0 * time * frequency;
        features[i] = angle.sin();
        features[half + i] = angle.cos();
    }
    features
}

impl IptModel {
    /// Loads the language model at the root (Hugging Face names: `model.*`, `lm_head`) and
    /// the rest under `vision.*`, `latent_in`, `time_mlp.{0,1}` and `velocity_head`; the
    /// velocity head starts at zero.
    pub fn new(config: &IptConfig, vb: VarBuilder) -> Result<IptModel> {
        let hidden = config.language.hidden_size;
        let values = config.latent.token_values();
        let velocity_head = Linear::new(
            vb.get_with_hints((values, hidden), "velocity_head.weight", candle_nn::Init::Const(0.0))?,
            None,
        );
        Ok(IptModel {
            language: Llama::new(&config.language, vb.clone())?,
            vision: VisionEncoder::new(&config.vision, hidden, vb.pp("vision"))?,
            latent_in: candle_nn::linear(values, hidden, vb.pp("latent_in"))?,
            time_mlp: (
                candle_nn::linear(hidden, hidden, vb.pp("time_mlp.0"))?,
                candle_nn::linear(hidden, hidden, vb.pp("time_mlp.1"))?,
            ),
            velocity_head,
            config: config.clone(),
        })
    }

    /// Its sizes.
    pub fn config(&self) -> &IptConfig {
        &self.config
    }

    /// Latent blocks `(m, c, g, g)` at flow times `times` (one per block) -> tokens
    /// `(m L, h)`, block after block.
    fn latent_tokens(&self, latents: &Tensor, times: &[f32]) -> Result<Tensor> {
        let hidden = self.config.language.hidden_size;
        let patches = patchify(latents, self.config.latent.patch)?; // (m, L, v)
        let (blocks, tokens, values) = patches.dims3()?;
        let features: Vec<f32> = times.iter().flat_map(|&t| time_features(t, hidden)).collect();
        let features = Tensor::from_vec(features, (blocks, hidden), latents.device())?;
        let time = self.time_mlp.1.forward(&self.time_mlp.0.forward(&features)?.silu()?)?; // (m, h)
        let embedded = self.latent_in.forward(&patches.reshape((blocks * tokens, values))?)?;
        embedded
            .reshape((blocks, tokens, hidden))?
            .broadcast_add(&time.unsqueeze(1)?)?
            .reshape((blocks * tokens, hidden))
    }

    /// The batch's losses. `images` `(total images, 3, s, s)` are the items' input images in
    /// item order.
    pub fn losses(&self, images: &Tensor, items: &[Item]) -> Result<Losses> {
        let (states, layouts) = self.forward(images, items)?;
        let text = self.text_loss(&states, &layouts, items)?;
        let flow = self.flow_loss(&states, &layouts, items)?;
        let total = (&text + &flow)?;
        Ok(Losses { text, flow, total })
    }

    /// The sum of the log-probabilities of each item's target tokens (its likelihood under
    /// the model), one value per item.
    pub fn target_log_probs(&self, images: &Tensor, items: &[Item]) -> Result<Vec<f32>> {
        let (states, layouts) = self.forward(images, items)?;
        let (logits, targets) = self.target_logits(&states, &layouts, items)?;
        let log_probs = candle_nn::ops::log_softmax(&logits, candle_core::D::Minus1)?;
        let picked: Vec<f32> = log_probs
            .gather(&Tensor::new(targets.as_slice(), states.device())?.unsqueeze(1)?, 1)?
            .squeeze(1)?
            .to_vec1()?;
        let mut sums = Vec::with_capacity(items.len());
        let mut next = 0;
        for item in items {
            sums.push(picked[next..next + item.target.len()].iter().sum());
            next += item.target.len();
        }
        Ok(sums)
    }

    /// The logits `(b, vocab)` of the token after each item's sequence (its target so far).
    pub fn next_token_logits(&self, images: &Tensor, items: &[Item]) -> Result<Tensor> {
        let (states, layouts) = self.forward(images, items)?;
        let width = layouts.first().map_or(0, Vec::len);
        let last: Vec<usize> = layouts
            .iter()
            .enumerate()
            .map(|(b, layout)| b * width + layout.iter().rposition(|&p| p != Part::Pad).unwrap_or(0))
            .collect();
        self.language.logits(&rows(&states, &last)?.unsqueeze(0)?)?.squeeze(0)
    }

    /// The velocities `(n, c, g, g)` predicted at the noisy blocks of the imagining items, in
    /// item order.
    pub fn velocities(&self, images: &Tensor, items: &[Item]) -> Result<Tensor> {
        let (states, layouts) = self.forward(images, items)?;
        let predicted = self.velocity_head.forward(&self.noisy_states(&states, &layouts, items, |_| true)?)?;
        let count = items.iter().filter(|item| item.imagination.is_some()).count();
        let latent = &self.config.latent;
        unpatchify(&predicted.reshape((count, latent.tokens(), latent.token_values()))?, latent.channels, latent.patch)
    }

    /// The hidden states `(b, T, h)` of the padded batch and what each position holds.
    ///
    /// Each kind of token is embedded in one batched operation (every input image through
    /// the encoder, every text id, every latent block), and one gather lays the rows out as
    /// the padded batch: a few large operations rather than several per example, which on a
    /// CPU spends less time dispatching small ones.
    fn forward(&self, images: &Tensor, items: &[Item]) -> Result<(Tensor, Vec<Vec<Part>>)> {
        let device = images.device();
        let hidden = self.config.language.hidden_size;
        let block = self.config.latent.tokens();
        let Plan { segments, text_ids, latents, times } = self.plan(items);
        // The rows to gather from: image tokens, text tokens, latent tokens, a zero row.
        let mut sources = Vec::new();
        if images.dim(0)? > 0 {
            sources.push(self.vision.forward(images)?.reshape(((), hidden))?);
        }
        let text_base = images.dim(0)? * self.config.vision.patches();
        if !text_ids.is_empty() {
            let ids = Tensor::new(text_ids.as_slice(), device)?.unsqueeze(0)?;
            sources.push(self.language.embed(&ids)?.squeeze(0)?);
        }
        let latent_base = text_base + text_ids.len();
        if !latents.is_empty() {
            sources.push(self.latent_tokens(&Tensor::stack(&latents, 0)?, &times)?);
        }
        let zero_row = (latent_base + latents.len() * block) as u32;
        sources.push(Tensor::zeros((1, hidden), DType::F32, device)?);
        let source = Tensor::cat(&sources, 0)?;
        let longest = segments.iter().map(|s| s.iter().map(|segment| segment.len).sum::<usize>()).max().unwrap_or(0);
        if longest > self.config.language.max_position_embeddings {
            candle_core::bail!(
                "a sequence of {longest} tokens is longer than max_position_embeddings {}",
                self.config.language.max_position_embeddings
            );
        }
        let mut index: Vec<u32> = Vec::with_capacity(items.len() * longest);
        let mut layouts = Vec::with_capacity(items.len());
        for item_segments in &segments {
            let mut layout = Vec::with_capacity(longest);
            for segment in item_segments {
                let base = match segment.kind {
                    Kind::Image => 0,
                    Kind::Text => text_base,
                    Kind::Latent => latent_base,
                } + segment.start;
                index.extend((base..base + segment.len).map(|i| i as u32));
                layout.extend(std::iter::repeat_n(segment.part, segment.len));
            }
            index.extend(std::iter::repeat_n(zero_row, longest - layout.len()));
            layout.resize(longest, Part::Pad);
            layouts.push(layout);
        }
        let embeddings = source.index_select(&Tensor::new(index.as_slice(), device)?, 0)?;
        let mask = attention_mask(&layouts, device)?;
        let states = self.language.hidden(&embeddings.reshape((items.len(), longest, hidden))?, &mask)?;
        Ok((states, layouts))
    }

    /// Where each item's tokens come from, in sequence order.
    fn plan(&self, items: &[Item]) -> Plan {
        let per_image = self.config.vision.patches();
        let block = self.config.latent.tokens();
        let mut plan = Plan::default();
        let mut next_image = 0;
        for item in items {
            let mut segments = Vec::new();
            if item.images > 0 {
                let (start, len) = (next_image * per_image, item.images * per_image);
                segments.push(Segment { kind: Kind::Image, start, len, part: Part::Prefix });
                next_image += item.images;
            }
            let mut prefix = item.prompt.clone();
            if let Some(imagining) = &item.imagination {
                prefix.extend(&imagining.think);
            }
            segments.push(plan.text(&prefix, Part::Prefix));
            let mut ended = false;
            if let Some(imagining) = &item.imagination {
                segments.push(plan.latent(&imagining.noisy, imagining.time, Part::Noisy, block));
                match &imagining.clean {
                    Some(clean) => segments.push(plan.latent(clean, 0.0, Part::Clean, block)),
                    // Sampling: nothing after the noisy block.
                    None => ended = true,
                }
            }
            if !ended && !item.target.is_empty() {
                segments.push(plan.text(&item.target, Part::Target));
            }
            plan.segments.push(segments);
        }
        plan
    }

    /// The logits `(n, vocab)` that predict every target token of the batch, and those
    /// tokens in order.
    fn target_logits(&self, states: &Tensor, layouts: &[Vec<Part>], items: &[Item]) -> Result<(Tensor, Vec<u32>)> {
        let width = layouts.first().map_or(0, Vec::len);
        let mut positions = Vec::new();
        let mut targets: Vec<u32> = Vec::new();
        for (b, (layout, item)) in layouts.iter().zip(items).enumerate() {
            let start = layout.iter().position(|&p| p == Part::Target).unwrap_or(0);
            if start == 0 {
                candle_core::bail!("example {b}: no target text, or nothing before it to predict it from");
            }
            // The state before each target token predicts it.
            positions.extend((start - 1..start - 1 + item.target.len()).map(|t| b * width + t));
            targets.extend(&item.target);
        }
        let logits = self.language.logits(&rows(states, &positions)?.unsqueeze(0)?)?.squeeze(0)?;
        Ok((logits, targets))
    }

    /// The hidden states `(n L, h)` of the noisy blocks of the imagining items that `keep`
    /// selects, block after block.
    fn noisy_states(
        &self,
        states: &Tensor,
        layouts: &[Vec<Part>],
        items: &[Item],
        keep: impl Fn(&Imagining) -> bool,
    ) -> Result<Tensor> {
        let width = layouts.first().map_or(0, Vec::len);
        let mut positions = Vec::new();
        for (b, (layout, item)) in layouts.iter().zip(items).enumerate() {
            let Some(imagining) = &item.imagination else { continue };
            if keep(imagining) {
                let start = layout.iter().position(|&p| p == Part::Noisy).unwrap_or(0);
                positions.extend((start..start + self.config.latent.tokens()).map(|t| b * width + t));
            }
        }
        rows(states, &positions)
    }

    /// Mean cross-entropy of each target token predicted from the position before it.
    fn text_loss(&self, states: &Tensor, layouts: &[Vec<Part>], items: &[Item]) -> Result<Tensor> {
        let (logits, targets) = self.target_logits(states, layouts, items)?;
        candle_nn::loss::cross_entropy(&logits, &Tensor::new(targets.as_slice(), states.device())?)
    }

    /// Mean squared error of the velocity predicted at the noisy latent tokens of the items
    /// that have a velocity to learn.
    fn flow_loss(&self, states: &Tensor, layouts: &[Vec<Part>], items: &[Item]) -> Result<Tensor> {
        let velocities: Vec<Tensor> =
            items.iter().filter_map(|item| item.imagination.as_ref()?.velocity.clone()).collect();
        if velocities.is_empty() {
            return Tensor::zeros((), DType::F32, states.device());
        }
        let predicted =
            self.velocity_head.forward(&self.noisy_states(states, layouts, items, |i| i.velocity.is_some())?)?;
        let expected = patchify(&Tensor::stack(&velocities, 0)?, self.config.latent.patch)?; // (n, L, v)
        (predicted - expected.reshape(((), self.config.latent.token_values()))?)?.sqr()?.mean_all()
    }
}

/// Where a run of sequence positions takes its rows from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Image,
    Text,
    Latent,
}

/// A run of `len` positions holding `part`, taken from rows `start..start + len` of `kind`.
#[derive(Debug, Clone, Copy)]
struct Segment {
    kind: Kind,
    start: usize,
    len: usize,
    part: Part,
}

/// A batch's layout: each item's segments, and the text ids, latent blocks and flow times
/// the segments point into.
#[derive(Debug, Default)]
struct Plan {
    segments: Vec<Vec<Segment>>,
    text_ids: Vec<u32>,
    latents: Vec<Tensor>,
    times: Vec<f32>,
}

impl Plan {
    fn text(&mut self, ids: &[u32], part: Part) -> Segment {
        let segment = Segment { kind: Kind::Text, start: self.text_ids.len(), len: ids.len(), part };
        self.text_ids.extend(ids);
        segment
    }

    fn latent(&mut self, latents: &Tensor, time: f32, part: Part, block: usize) -> Segment {
        let segment = Segment { kind: Kind::Latent, start: self.latents.len() * block, len: block, part };
        self.latents.push(latents.clone());
        self.times.push(time);
        segment
    }
}

/// The rows `positions` of states `(b, T, h)` flattened to `(b T, h)` -> `(n, h)`.
fn rows(states: &Tensor, positions: &[usize]) -> Result<Tensor> {
    let (b, t, h) = states.dims3()?;
    let index: Vec<u32> = positions.iter().map(|&p| p as u32).collect();
    states.reshape((b * t, h))?.index_select(&Tensor::new(index.as_slice(), states.device())?, 0)
}

/// The additive mask `(b, 1, T, T)` for the layouts (see the module docs).
fn attention_mask(layouts: &[Vec<Part>], device: &Device) -> Result<Tensor> {
    let t = layouts.first().map_or(0, Vec::len);
    let mut values = Vec::with_capacity(layouts.len() * t * t);
    for layout in layouts {
        let block_end = |part: Part| layout.iter().rposition(|&p| p == part).map_or(0, |i| i + 1);
        let (noisy_end, clean_end) = (block_end(Part::Noisy), block_end(Part::Clean));
        for (q, &query) in layout.iter().enumerate() {
            for (k, &key) in layout.iter().enumerate() {
                let visible = match (query, key) {
                    // Padding only sees itself, so its softmax row stays finite.
                    (Part::Pad, _) => k == q,
                    (_, Part::Pad) => false,
                    // Later text never sees the noisy latents.
                    (Part::Clean | Part::Target, Part::Noisy) => false,
                    // Latent blocks see their own block whole.
                    (Part::Noisy, _) => k < noisy_end,
                    (Part::Clean, _) => k < clean_end,
                    _ => k <= q,
                };
                values.push(if visible { 0.0 } else { f32::NEG_INFINITY });
            }
        }
    }
    Tensor::from_vec(values, (layouts.len(), 1, t, t), device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_nn::{Optimizer, VarMap};

    fn config() -> IptConfig {
        IptConfig {
            language: LlamaConfig {
                vocab_size: 40,
                hidden_size: 32,
                intermediate_size: 64,
                num_hidden_layers: 2,
                num_attention_heads: 4,
                num_key_value_heads: Some(2),
                rms_norm_eps: 1e-5,
                rope_theta: 10_000.0,
                max_position_embeddings: 128,
                tie_word_embeddings: false,
            },
            vision: VisionConfig { image_size: 8, patch_size: 4, width: 16, layers: 1, heads: 2 },
            latent: LatentConfig { channels: 2, grid: 4, patch: 2 },
        }
    }

    fn item(images: usize, answer: u32, imagining: Option<f32>) -> Item {
        let device = Device::Cpu;
        let imagination = imagining.map(|time| {
            let latents = Tensor::full(answer as f32 / 10.0, (2, 4, 4), &device).unwrap();
            let noise = Tensor::rand(-1f32, 1.0, (2, 4, 4), &device).unwrap();
            Imagining::training(vec![5, 6], latents, &noise, time).unwrap()
        });
        Item { images, prompt: vec![1, 2, 3 + answer], imagination, target: vec![answer, 39] }
    }

    #[test]
    fn the_mask_hides_noise_from_the_answer_and_padding_from_everyone() {
        use Part::*;
        let layout = vec![Prefix, Prefix, Noisy, Noisy, Clean, Clean, Target, Pad];
        let mask = attention_mask(std::slice::from_ref(&layout), &Device::Cpu).unwrap();
        let rows: Vec<Vec<f32>> = mask.squeeze(0).unwrap().squeeze(0).unwrap().to_vec2().unwrap();
        let sees = |q: usize| -> Vec<usize> { (0..8).filter(|&k| rows[q][k] == 0.0).collect() };
        assert_eq!(sees(1), vec![0, 1]);
        assert_eq!(sees(2), vec![0, 1, 2, 3], "noisy latents see each other and the prefix");
        assert_eq!(sees(4), vec![0, 1, 4, 5], "clean latents never see the noise");
        assert_eq!(sees(6), vec![0, 1, 4, 5, 6], "the answer sees the clean imagination");
        assert_eq!(sees(7), vec![7]);
    }

    #[test]
    fn every_weight_learns_in_each_regime() {
        // Answer-only, imagining, and a mixed batch (padding included).
        let batches: [Vec<Item>; 3] = [
            vec![item(1, 7, None), item(2, 8, None)],
            vec![item(1, 7, Some(0.3)), item(1, 8, Some(0.9))],
            vec![item(2, 7, Some(0.5)), item(1, 8, None)],
        ];
        for (regime, items) in batches.iter().enumerate() {
            let varmap = VarMap::new();
            let model = IptModel::new(&config(), VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu)).unwrap();
            let count: usize = items.iter().map(|i| i.images).sum();
            let images = Tensor::rand(-1f32, 1.0, (count, 3, 8, 8), &Device::Cpu).unwrap();
            // One step first, so the zero-initialised velocity head passes gradient back.
            let mut optimizer = candle_nn::AdamW::new_lr(varmap.all_vars(), 1e-2).unwrap();
            optimizer.backward_step(&model.losses(&images, items).unwrap().total).unwrap();
            let losses = model.losses(&images, items).unwrap();
            let gradients = losses.total.backward().unwrap();
            let imagining = items.iter().any(|i| i.imagination.is_some());
            let mut missing = super::super::without_gradient(&varmap, &gradients);
            // Without imaginations the latent path is simply unused.
            let latent_path =
                |name: &String| ["latent_in", "time_mlp", "velocity_head"].iter().any(|p| name.starts_with(p));
            missing.retain(|name| imagining || !latent_path(name));
            assert_eq!(missing, Vec::<String>::new(), "regime {regime}");
            let flow = losses.flow.to_scalar::<f32>().unwrap();
            assert_eq!(flow > 0.0, imagining, "regime {regime}: flow loss {flow}");
        }
    }

    #[test]
    fn a_tiny_model_learns_to_answer_from_the_prompt() {
        let varmap = VarMap::new();
        let model = IptModel::new(&config(), VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu)).unwrap();
        let items = vec![item(1, 7, Some(0.4)), item(1, 8, Some(0.6)), item(1, 9, None)];
        let images = Tensor::rand(-1f32, 1.0, (3, 3, 8, 8), &Device::Cpu).unwrap();
        let mut optimizer = candle_nn::AdamW::new_lr(varmap.all_vars(), 1e-2).unwrap();
        let first = model.losses(&images, &items).unwrap().text.to_scalar::<f32>().unwrap();
        for _ in 0..60 {
            optimizer.backward_step(&model.losses(&images, &items).unwrap().total).unwrap();
        }
        let last = model.losses(&images, &items).unwrap().text.to_scalar::<f32>().unwrap();
        assert!(last < 0.05 * first, "text loss {first} -> {last}");
    }
}

//! A trained model answering examples in one of the inference modes: straight away, after
//! imagining (Euler-sampling the imagination latents), or with the ground-truth imagination
//! in context.
//!
//! Answers are read the way they were trained: a model that writes a chain of thought
//! generates text greedily and its last "Answer: X" counts; every other model scores each
//! option's target text ("Answer: X" and the end token) and picks the most likely.

use anyhow::{Result, bail};
use candle_core::{D, Device, Tensor};
use image::RgbImage;
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::metrics::Prediction;
use crate::data::batch::{Presentation, Regime, image_tensor, prompt_text};
use crate::data::examples::{Example, letter};
use crate::model::flow::{euler, gaussian, schedule};
use crate::model::ipt::{Imagining, Item};
use crate::train::run::TrainedRun;

/// How the model answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Without an imagination (a chain-of-thought model writes its reasoning first).
    Answer,
    /// Imagine first: sample the imagination latents, then answer with them in context.
    Generate,
    /// With the ground-truth imagination in context (an upper bound for `generate`).
    Gt,
}

impl Mode {
    /// The mode a run of `regime` is evaluated in unless told otherwise.
    pub fn default_for(regime: Regime) -> Mode {
        match regime {
            Regime::Label | Regime::Cot => Mode::Answer,
            Regime::Ipt | Regime::Mixed => Mode::Generate,
        }
    }

    /// Its name in file names and reports.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Answer => "answer",
            Mode::Generate => "generate",
            Mode::Gt => "gt",
        }
    }
}

/// Settings of the sampler and the text generator.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sampling {
    /// Euler steps from noise to latents.
    pub steps: usize,
    /// Timestep shift of the schedule (BAGEL samples with 3).
    pub shift: f32,
    /// Longest generated text (chain-of-thought models), tokens.
    pub max_new_tokens: usize,
}

/// One batch's answers, and the imagination latents the model had in context.
pub struct Answers {
    /// Per example, in order.
    pub predictions: Vec<Prediction>,
    /// The imagination latents `(n, c, g, g)` in context (sampled or ground truth).
    pub imagined: Option<Tensor>,
}

/// A trained run answering in one mode.
pub struct Answerer<'a> {
    run: &'a TrainedRun,
    mode: Mode,
    sampling: Sampling,
    device: Device,
}

impl<'a> Answerer<'a> {
    /// Checks that `run` can answer in `mode`.
    pub fn new(run: &'a TrainedRun, mode: Mode, sampling: Sampling, device: &Device) -> Result<Answerer<'a>> {
        let regime = run.config.regime;
        if mode != Mode::Answer && run.latents.is_none() {
            bail!(
                "--mode {} needs a model that imagines (trained with --regime ipt or mixed), this one is {}",
                mode.name(),
                regime.name()
            );
        }
        Ok(Answerer { run, mode, sampling, device: device.clone() })
    }

    /// How examples are presented to the model.
    fn presentation(&self) -> Presentation {
        match (self.mode, self.run.config.regime) {
            (Mode::Answer, Regime::Cot) => Presentation::Reasoned,
            (Mode::Answer, _) => Presentation::Answer,
            (Mode::Generate | Mode::Gt, _) => Presentation::Imagined,
        }
    }

    /// Answers a batch; `rng` draws the sampler's starting noise.
    pub fn answer(&self, examples: &[Example], rng: &mut impl Rng) -> Result<Answers> {
        let codec = &self.run.codec;
        let presentation = self.presentation();
        let inputs: Vec<&RgbImage> = examples.iter().flat_map(|e| e.images.iter()).collect();
        let images = image_tensor(&inputs, &self.device)?;
        let prompts =
            examples.iter().map(|e| codec.encode(&prompt_text(e, presentation))).collect::<Result<Vec<_>>>()?;
        let thinks = examples.iter().map(|e| codec.encode(&e.think)).collect::<Result<Vec<_>>>()?;
        let imagined = match self.mode {
            Mode::Answer => None,
            Mode::Gt => Some(self.truth(examples)?),
            Mode::Generate => Some(self.imagine(examples, &images, &prompts, &thinks, rng)?),
        };
        // The items without their target, which each way of answering fills in.
        let items = |targets: &[Vec<u32>]| -> Result<Vec<Item>> {
            let mut items = Vec::with_capacity(examples.len());
            for (i, example) in examples.iter().enumerate() {
                let imagination = match &imagined {
                    Some(latents) => Some(Imagining::given(thinks[i].clone(), latents.get(i)?)),
                    None => None,
                };
                items.push(Item {
                    images: example.images.len(),
                    prompt: prompts[i].clone(),
                    imagination,
                    target: targets[i].clone(),
                });
            }
            Ok(items)
        };
        let predictions = if presentation == Presentation::Reasoned {
            self.generate_answers(examples, &images, items)?
        } else {
            self.score_answers(examples, &images, items)?
        };
        Ok(Answers { predictions, imagined })
    }

    /// The ground-truth imaginations' normalised latents.
    pub fn truth(&self, examples: &[Example]) -> Result<Tensor> {
        let Some(latents) = &self.run.latents else { bail!("this run has no autoencoder") };
        let imaginations: Vec<&RgbImage> = examples.iter().map(|e| &e.imagination).collect();
        Ok(latents.encode(&image_tensor(&imaginations, &self.device)?)?)
    }

    /// Samples the imagination latents by Euler steps on the predicted velocity.
    fn imagine(
        &self,
        examples: &[Example],
        images: &Tensor,
        prompts: &[Vec<u32>],
        thinks: &[Vec<u32>],
        rng: &mut impl Rng,
    ) -> Result<Tensor> {
        let latent = &self.run.model.config().latent;
        let shape = (examples.len(), latent.channels, latent.grid, latent.grid);
        let noise = Tensor::from_vec(gaussian(shape.0 * shape.1 * shape.2 * shape.3, rng), shape, &self.device)?;
        let times = schedule(self.sampling.steps, self.sampling.shift);
        let sampled = euler(noise, &times, |x, t| {
            let items = examples
                .iter()
                .enumerate()
                .map(|(i, example)| {
                    Ok(Item {
                        images: example.images.len(),
                        prompt: prompts[i].clone(),
                        imagination: Some(Imagining::sampling(thinks[i].clone(), x.get(i)?, t)),
                        target: Vec::new(),
                    })
                })
                .collect::<candle_core::Result<Vec<_>>>()?;
            self.run.model.velocities(images, &items)
        })?;
        Ok(sampled)
    }

    /// Picks, per example, the option whose target text the model finds most likely.
    fn score_answers(
        &self,
        examples: &[Example],
        images: &Tensor,
        items: impl Fn(&[Vec<u32>]) -> Result<Vec<Item>>,
    ) -> Result<Vec<Prediction>> {
        let codec = &self.run.codec;
        let most = examples.iter().map(|e| e.choices.len()).max().unwrap_or(0);
        let mut best: Vec<(f32, usize)> = vec![(f32::NEG_INFINITY, 0); examples.len()];
        for option in 0..most {
            // Examples with fewer options score a repeat of their last one (never chosen:
            // ties keep the earlier option).
            let targets = examples
                .iter()
                .map(|e| {
                    let mut ids = codec.encode(&format!("Answer: {}", letter(option.min(e.choices.len() - 1))))?;
                    ids.push(codec.end());
                    Ok(ids)
                })
                .collect::<Result<Vec<_>>>()?;
            let scores = self.run.model.target_log_probs(images, &items(&targets)?)?;
            for (slot, score) in best.iter_mut().zip(scores) {
                if score > slot.0 {
                    *slot = (score, option);
                }
            }
        }
        Ok(examples.iter().zip(best).map(|(e, (_, chosen))| prediction(e, Some(chosen), None)).collect())
    }

    /// Generates each example's text greedily and reads the option from its last
    /// "Answer: X".
    fn generate_answers(
        &self,
        examples: &[Example],
        images: &Tensor,
        items: impl Fn(&[Vec<u32>]) -> Result<Vec<Item>>,
    ) -> Result<Vec<Prediction>> {
        let codec = &self.run.codec;
        let mut texts: Vec<Vec<u32>> = vec![Vec::new(); examples.len()];
        let mut done = vec![false; examples.len()];
        for _ in 0..self.sampling.max_new_tokens {
            if done.iter().all(|&d| d) {
                break;
            }
            let next: Vec<u32> =
                self.run.model.next_token_logits(images, &items(&texts)?)?.argmax(D::Minus1)?.to_vec1()?;
            for (i, token) in next.into_iter().enumerate() {
                if done[i] {
                    continue;
                }
                if token == codec.end() {
                    done[i] = true;
                } else {
                    texts[i].push(token);
                }
            }
        }
        examples
            .iter()
            .zip(&texts)
            .map(|(example, ids)| {
                let text = codec.decode(ids)?;
                let chosen = read_answer(&text, example.choices.len());
                Ok(prediction(example, chosen, Some(text)))
            })
            .collect()
    }
}

/// The option named by the last "Answer: X" of `text`, if it is one of `options`.
pub fn read_answer(text: &str, options: usize) -> Option<usize> {
    let (_, after) = text.rsplit_once("Answer:")?;
    let first = after.trim_start().chars().next()?;
    let index = (first as usize).checked_sub('A' as usize)?;
    (index < options).then_some(index)
}

fn prediction(example: &Example, predicted: Option<usize>, text: Option<String>) -> Prediction {
    Prediction {
        id: example.id.clone(),
        task: example.task,
        variant: example.variant.clone(),
        subtype: example.subtype.clone(),
        options: example.choices.len(),
        answer: example.answer,
        predicted,
        text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_answer_line_counts() {
        assert_eq!(read_answer("1. The sofa is left.\nAnswer: B", 2), Some(1));
        assert_eq!(read_answer("Answer: A ... no. Answer: C", 4), Some(2));
        assert_eq!(read_answer("Answer: D", 2), None);
        assert_eq!(read_answer("I cannot tell.", 2), None);
    }
}

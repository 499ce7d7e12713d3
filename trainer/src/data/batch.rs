//! Examples -> model inputs: the prompt and target texts of each training regime, token ids,
//! image tensors, and (for imagining examples) the imagination's latents with their noise and
//! flow time, all drawn from the caller's seeded stream.

use anyhow::Result;
use candle_core::{DType, Device, Tensor};
use image::RgbImage;
use rand::Rng;

use super::examples::{Example, letter};
use super::tokenizer::TextCodec;
use crate::model::flow::{gaussian, logit_normal_times};
use crate::model::ipt::{Imagining, Item};

pub use ipt_schema::{Presentation, Regime};

/// The instruction that ends an answer-only prompt.
pub const ANSWER_INSTRUCTION: &str = "Answer with the option's letter.";
/// The instruction that ends a chain-of-thought prompt.
pub const COT_INSTRUCTION: &str = "Think step by step, then answer with the option's letter.";
/// The instruction that ends an imagining prompt.
pub const IMAGINE_INSTRUCTION: &str = "Imagine the view you need, then answer with the option's letter.";

/// The presentation of one example of `regime`; `mixed` draws from `rng`.
pub fn present(regime: Regime, rng: &mut impl Rng) -> Presentation {
    match regime {
        Regime::Mixed if rng.random_bool(0.5) => Presentation::Imagined,
        Regime::Mixed => Presentation::Answer,
        single => single.presentations()[0],
    }
}

/// The question, the lettered options and the instruction of `presentation`.
pub fn prompt_text(example: &Example, presentation: Presentation) -> String {
    let mut text = format!("{}\n", example.question);
    for (i, choice) in example.choices.iter().enumerate() {
        text.push_str(&format!("{}. {choice}\n", letter(i)));
    }
    text.push_str(match presentation {
        Presentation::Answer => ANSWER_INSTRUCTION,
        Presentation::Reasoned => COT_INSTRUCTION,
        Presentation::Imagined => IMAGINE_INSTRUCTION,
    });
    text.push('\n');
    text
}

/// The supervised text: "Answer: B", after the chain of thought when reasoning.
pub fn target_text(example: &Example, presentation: Presentation) -> String {
    let answer = format!("Answer: {}", letter(example.answer));
    match presentation {
        Presentation::Reasoned => format!("{}\n{answer}", example.cot),
        Presentation::Answer | Presentation::Imagined => answer,
    }
}

/// RGB images -> `(n, 3, s, s)` in [-1, 1].
pub fn image_tensor(images: &[&RgbImage], device: &Device) -> Result<Tensor> {
    let Some(first) = images.first() else {
        return Ok(Tensor::zeros((0, 3, 1, 1), DType::F32, device)?);
    };
    let (w, h) = first.dimensions();
    let mut values = Vec::with_capacity(images.len() * 3 * (w * h) as usize);
    for image in images {
        anyhow::ensure!(image.dimensions() == (w, h), "images of one batch must share a size");
        for channel in 0..3 {
            values.extend(image.pixels().map(|p| f32::from(p.0[channel]) / 127.5 - 1.0));
        }
    }
    Ok(Tensor::from_vec(values, (images.len(), 3, h as usize, w as usize), device)?)
}

/// A batch ready for [`crate::model::ipt::IptModel::losses`].
#[derive(Debug)]
pub struct Batch {
    /// Every item's input images, stacked in item order.
    pub images: Tensor,
    /// The items.
    pub items: Vec<Item>,
}

/// Turns examples into a batch. `encode_latents` maps imagination images `(n, 3, s, s)` to
/// latents `(n, c, g, g)` (the frozen autoencoder's encoder); it is called once per batch
/// when any example imagines.
pub fn make_batch(
    examples: &[Example],
    regime: Regime,
    codec: &TextCodec,
    encode_latents: impl Fn(&Tensor) -> candle_core::Result<Tensor>,
    rng: &mut impl Rng,
    device: &Device,
) -> Result<Batch> {
    let presentations: Vec<Presentation> = examples.iter().map(|_| present(regime, rng)).collect();
    let inputs: Vec<&RgbImage> = examples.iter().flat_map(|e| e.images.iter()).collect();
    let images = image_tensor(&inputs, device)?;
    let imagining: Vec<&RgbImage> = examples
        .iter()
        .zip(&presentations)
        .filter(|(_, p)| **p == Presentation::Imagined)
        .map(|(e, _)| &e.imagination)
        .collect();
    let latents = if imagining.is_empty() { None } else { Some(encode_latents(&image_tensor(&imagining, device)?)?) };
    let times = logit_normal_times(imagining.len(), rng);
    let mut next_latent = 0;
    let mut items = Vec::with_capacity(examples.len());
    for (example, &presentation) in examples.iter().zip(&presentations) {
        let mut target = codec.encode(&target_text(example, presentation))?;
        target.push(codec.end());
        let imagination = match (&latents, presentation) {
            (Some(latents), Presentation::Imagined) => {
                let clean = latents.get(next_latent)?;
                let noise = Tensor::from_vec(gaussian(clean.elem_count(), rng), clean.shape(), device)?;
                let time = times[next_latent];
                next_latent += 1;
                Some(Imagining::training(codec.encode(&example.think)?, clean, &noise, time)?)
            }
            _ => None,
        };
        items.push(Item {
            images: example.images.len(),
            prompt: codec.encode(&prompt_text(example, presentation))?,
            imagination,
            target,
        });
    }
    Ok(Batch { images, items })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::examples::{read_decoded, shard_paths};
    use crate::data::testing;
    use ipt_schema::Split;
    use rand::SeedableRng;

    fn examples() -> Vec<Example> {
        let dir = tempfile::tempdir().unwrap();
        testing::dataset(dir.path(), &[Split::Train], 4);
        let path = shard_paths(dir.path(), Split::Train, None).unwrap().remove(0);
        read_decoded(&path, 8).unwrap()
    }

    #[test]
    fn texts_follow_the_regime() {
        let example = &examples()[1];
        let prompt = prompt_text(example, Presentation::Answer);
        assert_eq!(prompt, format!("{}\nA. Closer\nB. Further\n{ANSWER_INSTRUCTION}\n", example.question));
        assert_eq!(target_text(example, Presentation::Answer), "Answer: B");
        assert_eq!(target_text(example, Presentation::Reasoned), format!("{}\nAnswer: B", example.cot));
        assert!(prompt_text(example, Presentation::Imagined).ends_with(&format!("{IMAGINE_INSTRUCTION}\n")));
    }

    #[test]
    fn batches_carry_images_text_and_imaginations_as_the_regime_says() {
        let examples = examples();
        let texts = examples.iter().flat_map(|e| [e.question.clone(), e.cot.clone(), e.think.clone()]);
        let codec = TextCodec::train(texts.chain(["Answer: A B".to_string()]), 300).unwrap();
        let encoder = |images: &Tensor| images.narrow(1, 0, 2)?.avg_pool2d(4); // (n, 2, 2, 2)
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let device = Device::Cpu;
        let label = make_batch(&examples, Regime::Label, &codec, encoder, &mut rng, &device).unwrap();
        assert_eq!(label.images.dims(), &[4, 3, 8, 8]);
        assert!(label.items.iter().all(|i| i.imagination.is_none() && *i.target.last().unwrap() == codec.end()));
        // A red input image is about (0.57, -0.76, -0.76) in [-1, 1].
        let red: Vec<f32> = label.images.get(0).unwrap().mean((1, 2)).unwrap().to_vec1().unwrap();
        assert!((red[0] - 0.569).abs() < 0.01 && (red[2] + 0.765).abs() < 0.01, "{red:?}");
        let ipt = make_batch(&examples, Regime::Ipt, &codec, encoder, &mut rng, &device).unwrap();
        assert!(ipt.items.iter().all(|item| item.imagination.is_some()));
        let mixed: usize = (0..20)
            .map(|_| make_batch(&examples, Regime::Mixed, &codec, encoder, &mut rng, &device).unwrap())
            .map(|b| b.items.iter().filter(|i| i.imagination.is_some()).count())
            .sum();
        assert!((25..=55).contains(&mixed), "about half of 80 examples imagine: {mixed}");
    }
}

//! `ipt-train eval`: a trained run answers a split of its dataset; the scores go into the run
//! folder as `eval/<split>-<mode>.json` ([`Evaluation`]), the answers as
//! `eval/<split>-<mode>-answers.jsonl`, and on request pictures of what it imagined.
//!
//! - [`infer`]: answering in the three modes.
//! - [`metrics`]: accuracy, intervals and the per-task breakdown.

pub mod infer;
pub mod metrics;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use candle_core::{Device, Tensor};
use image::RgbImage;
use indicatif::{ProgressBar, ProgressStyle};
use ipt_schema::{Split, Task};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::data::examples::{Example, read_shard, shard_paths};
use crate::train::checkpoint::{write_atomic, write_json_lines};
use crate::train::run::{TrainRun, load_trained};
use infer::{Answerer, Mode, Sampling};
use metrics::{Prediction, Scores, score};

/// What `eval` does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalOptions {
    /// The split answered.
    pub split: Split,
    /// How the model answers; `None`: the regime's usual mode.
    pub mode: Option<Mode>,
    /// Another dataset folder with the same kind of examples (default: the run's own).
    pub data: Option<PathBuf>,
    /// Examples per forward pass.
    pub batch_size: usize,
    /// Answer only the first examples of the split.
    pub limit: Option<usize>,
    /// The sampler and text generator.
    pub sampling: Sampling,
    /// Pictures of this many imaginations (inputs, imagined, ground truth).
    pub save_imaginations: usize,
    /// Seed of the sampler's noise.
    pub seed: u64,
}

/// An evaluation's record (`eval/<split>-<mode>.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// The run folder.
    pub run: PathBuf,
    /// The run's settings.
    pub training: TrainRun,
    /// The dataset answered.
    pub data: PathBuf,
    /// The split.
    pub split: Split,
    /// The mode.
    pub mode: Mode,
    /// The sampler settings.
    pub sampling: Sampling,
    /// The scores.
    pub scores: Scores,
    /// Mean squared error between imagined and ground-truth latents (normalised units;
    /// `generate` mode only).
    pub imagination_mse: Option<f64>,
}

/// Reads `split` of `task` (every task for `None`) in batches of `batch_size` decoded
/// examples, up to `limit`, and collects what `answer` says about each batch.
pub fn answer_split<T>(
    data: &Path,
    split: Split,
    task: Option<Task>,
    image_size: u32,
    batch_size: usize,
    limit: Option<usize>,
    mut answer: impl FnMut(&[Example]) -> Result<Vec<T>>,
) -> Result<Vec<T>> {
    let mut answers = Vec::new();
    let mut pending: Vec<Example> = Vec::new();
    let limit = limit.unwrap_or(usize::MAX);
    let mut read = 0;
    'shards: for path in shard_paths(data, split, task)? {
        for batch in read_shard(&path)? {
            for stored in batch? {
                if read == limit {
                    break 'shards;
                }
                read += 1;
                pending.push(stored.decode(image_size)?);
                if pending.len() == batch_size.max(1) {
                    answers.extend(answer(&pending)?);
                    pending.clear();
                }
            }
        }
    }
    if !pending.is_empty() {
        answers.extend(answer(&pending)?);
    }
    Ok(answers)
}

/// Counts the examples `answer_split` would read (for the progress bar).
fn split_size(data: &Path, split: Split, task: Option<Task>, limit: Option<usize>) -> Result<u64> {
    let manifest = ipt_schema::Manifest::read(data)?;
    let rows: u64 = manifest.shards(split, task).map(|s| s.rows).sum();
    Ok(limit.map_or(rows, |l| rows.min(l as u64)))
}

/// Evaluates the run in folder `run` and writes its record.
pub fn evaluate(run: &Path, options: &EvalOptions, device: &Device) -> Result<Evaluation> {
    let trained = load_trained(run, device)?;
    let config = &trained.config;
    let mode = options.mode.unwrap_or(Mode::default_for(config.regime));
    let answerer = Answerer::new(&trained, mode, options.sampling, device)?;
    let data = options.data.clone().unwrap_or_else(|| config.data.clone());
    let out = run.join("eval");
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let stem = format!("{}-{}", options.split, mode.name());
    let pictures = out.join(format!("{stem}-imaginations"));
    let bar = ProgressBar::new(split_size(&data, options.split, config.task, options.limit)?).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} examples · {per_sec} · eta {eta} · {msg}")
            .expect("valid template"),
    );
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let (mut correct, mut seen, mut pictured) = (0usize, 0usize, 0usize);
    let (mut squared_error, mut latent_values) = (0f64, 0usize);
    let predictions: Vec<Prediction> = answer_split(
        &data,
        options.split,
        config.task,
        config.model.vision.image_size as u32,
        options.batch_size,
        options.limit,
        |examples| {
            let answers = answerer.answer(examples, &mut rng)?;
            if let (Mode::Generate, Some(imagined)) = (mode, &answers.imagined) {
                let truth = answerer.truth(examples)?;
                squared_error += f64::from((imagined - &truth)?.sqr()?.sum_all()?.to_scalar::<f32>()?);
                latent_values += truth.elem_count();
            }
            if let (Some(imagined), Some(latents)) = (&answers.imagined, &trained.latents)
                && pictured < options.save_imaginations
            {
                let count = (options.save_imaginations - pictured).min(examples.len());
                let decoded = latents.decode(&imagined.narrow(0, 0, count)?)?;
                save_pictures(&examples[..count], &decoded, &pictures)?;
                pictured += count;
            }
            correct += answers.predictions.iter().filter(|p| p.correct()).count();
            seen += answers.predictions.len();
            bar.inc(examples.len() as u64);
            bar.set_message(format!("accuracy {:.1} %", 100.0 * correct as f64 / seen.max(1) as f64));
            Ok(answers.predictions)
        },
    )?;
    bar.finish_and_clear();
    let evaluation = Evaluation {
        run: run.to_path_buf(),
        training: config.clone(),
        data,
        split: options.split,
        mode,
        sampling: options.sampling,
        scores: score(&predictions),
        imagination_mse: (latent_values > 0).then(|| squared_error / latent_values as f64),
    };
    write_json_lines(&out.join(format!("{stem}-answers.jsonl")), &predictions)?;
    write_atomic(&out.join(format!("{stem}.json")), &serde_json::to_vec_pretty(&evaluation)?)?;
    Ok(evaluation)
}

/// The scores as a text table for the terminal: per task its headline, accuracy with the
/// 95 % interval, chance and size, then its sub-types.
pub fn summary_table(evaluation: &Evaluation) -> String {
    let percent = |x: f64| format!("{:5.1} %", 100.0 * x);
    let line = |name: &str, headline: String, score: &metrics::Score| {
        format!(
            "{name:<34} {headline:>8}  {} [{:.1}, {:.1}]  {:>8}  {:>6}\n",
            percent(score.accuracy),
            100.0 * score.interval[0],
            100.0 * score.interval[1],
            percent(score.chance),
            score.examples
        )
    };
    let mut text = format!(
        "{} ({} regime) on {}, mode {}\n{:<34} {:>8}  {:<23}  {:>8}  {:>6}\n",
        evaluation.run.display(),
        evaluation.training.regime.name(),
        evaluation.split,
        evaluation.mode.name(),
        "",
        "headline",
        "accuracy [95 %]",
        "chance",
        "n"
    );
    for (task, scores) in &evaluation.scores.tasks {
        text.push_str(&line(task.title(), percent(scores.headline), &scores.overall));
        for (subtype, score) in &scores.subtypes {
            text.push_str(&line(&format!("  {subtype}"), String::new(), score));
        }
    }
    text.push_str(&line("all", String::new(), &evaluation.scores.overall));
    if evaluation.scores.unanswered > 0 {
        text.push_str(&format!("{} answers named no option (counted wrong)\n", evaluation.scores.unanswered));
    }
    if let Some(mse) = evaluation.imagination_mse {
        text.push_str(&format!("imagination error: {mse:.3} (mean squared, normalised latents; always imagining the average scores about 1)\n"));
    }
    text
}

/// Writes one picture per example into `dir`: its input images, the imagination the model
/// had in context, and the ground truth, side by side.
fn save_pictures(examples: &[Example], imagined: &Tensor, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (i, example) in examples.iter().enumerate() {
        let picture = to_image(&imagined.get(i)?)?;
        let row: Vec<&RgbImage> = example.images.iter().chain([&picture, &example.imagination]).collect();
        let size = picture.width();
        let mut sheet =
            RgbImage::from_pixel(size * row.len() as u32 + 4 * (row.len() as u32 - 1), size, image::Rgb([255; 3]));
        for (slot, image) in row.iter().enumerate() {
            let resized = image::imageops::resize(*image, size, size, image::imageops::FilterType::Triangle);
            image::imageops::replace(&mut sheet, &resized, i64::from(slot as u32 * (size + 4)), 0);
        }
        let path = dir.join(format!("{}.png", example.id));
        sheet.save(&path).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// An image `(3, s, s)` in [-1, 1] -> RGB.
fn to_image(image: &Tensor) -> Result<RgbImage> {
    let (_, h, w) = image.dims3()?;
    let values: Vec<f32> = image.flatten_all()?.to_vec1()?;
    Ok(RgbImage::from_fn(w as u32, h as u32, |x, y| {
        let at = |c: usize| values[(c * h + y as usize) * w + x as usize];
        image::Rgb([0, 1, 2].map(|c| ((at(c).clamp(-1.0, 1.0) + 1.0) * 127.5).round() as u8))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::testing;

    #[test]
    fn a_model_that_always_answers_a_scores_the_share_of_a_answers() {
        // The synthetic split's answers alternate A, B, A, ...: 7 rows hold four A's.
        let dir = tempfile::tempdir().unwrap();
        testing::dataset(dir.path(), &[Split::Train, Split::Test], 7);
        let always_a = |examples: &[Example]| -> Result<Vec<Prediction>> {
            Ok(examples
                .iter()
                .map(|e| Prediction {
                    id: e.id.clone(),
                    task: e.task,
                    variant: e.variant.clone(),
                    subtype: e.subtype.clone(),
                    options: e.choices.len(),
                    answer: e.answer,
                    predicted: Some(0),
                    text: None,
                })
                .collect())
        };
        let predictions = answer_split(dir.path(), Split::Test, None, 8, 3, None, always_a).unwrap();
        let scores = score(&predictions);
        assert_eq!((scores.overall.correct, scores.overall.examples), (4, 7));
        let pet = &scores.tasks[&Task::Pet];
        // Sub-type "closer" is always A (4 of 4 right), "further" always B (0 of 3).
        assert_eq!(pet.subtypes["distance_closer"].accuracy, 1.0);
        assert_eq!(pet.subtypes["distance_further"].accuracy, 0.0);
        assert_eq!(pet.headline, 0.5);
        let limited = answer_split(dir.path(), Split::Test, None, 8, 3, Some(2), always_a).unwrap();
        assert_eq!(limited.len(), 2);
    }
}

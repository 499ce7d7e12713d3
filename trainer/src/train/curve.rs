//! Accuracy while training: every few steps the model answers (part of) a held-out split in
//! its regime's default mode, and the scores go to `curve.jsonl` in the run folder, one
//! [`CurvePoint`] per line. `report` draws them against the step beside the loss.
//!
//! Answering never touches the training state: no weights change and the training random
//! stream is not drawn from (the sampler's noise comes from a stream seeded by the step), so
//! a run with a curve trains exactly as one without.

use std::path::Path;

use anyhow::{Result, bail};
use candle_core::Device;
use ipt_schema::Split;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::checkpoint::{read_json_lines, write_json_lines};
use super::run::TrainedRun;
use crate::data::batch::Regime;
use crate::data::examples::shard_paths;
use crate::eval::answer_split;
use crate::eval::infer::{Answerer, Mode, Sampling};
use crate::eval::metrics::{Scores, score};

/// The curve's file in a run folder.
pub const CURVE_FILE: &str = "curve.jsonl";

/// When and on what the curve is measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurveSettings {
    /// Steps between points (a point is also taken at the last step).
    pub every: u64,
    /// The split answered.
    pub split: Split,
    /// Examples answered per point, at most (the first ones of the split, the same each
    /// time); a chain-of-thought run answers a quarter as many, as it writes its reasoning
    /// token by token.
    pub limit: usize,
}

/// One measurement of the curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// Steps taken.
    pub step: u64,
    /// The split answered.
    pub split: Split,
    /// The mode answered in.
    pub mode: Mode,
    /// The scores.
    pub scores: Scores,
}

/// How a curve point answers: few sampler steps and short chains of thought keep it cheap.
const CURVE_SAMPLING: Sampling = Sampling { steps: 10, shift: 1.0, max_new_tokens: 256 };

impl CurveSettings {
    /// Fails when the run's dataset has no `split` examples of its task.
    pub fn check(&self, run: &TrainedRun) -> Result<()> {
        if self.every == 0 || self.limit == 0 {
            bail!("the accuracy curve needs a positive interval and example count");
        }
        let config = &run.config;
        if shard_paths(&config.data, self.split, config.task)?.is_empty() {
            bail!(
                "{} has no {} examples{} to measure the accuracy curve on: choose another --curve-split, or --curve-every 0",
                config.data.display(),
                self.split,
                config.task.map_or(String::new(), |t| format!(" of {t}"))
            );
        }
        Ok(())
    }

    /// Whether a point is due after `step` of a run of `steps`.
    pub fn due(&self, step: u64, steps: u64) -> bool {
        step.is_multiple_of(self.every) || step == steps
    }

    /// Answers the split with the run's current weights.
    pub fn measure(&self, run: &TrainedRun, step: u64, device: &Device) -> Result<CurvePoint> {
        let config = &run.config;
        let mode = Mode::default_for(config.regime);
        let limit = if config.regime == Regime::Cot { self.limit.div_ceil(4) } else { self.limit };
        let answerer = Answerer::new(run, mode, CURVE_SAMPLING, device)?;
        let mut rng = ChaCha8Rng::seed_from_u64(step);
        let predictions = answer_split(
            &config.data,
            self.split,
            config.task,
            config.model.vision.image_size as u32,
            config.batch_size,
            Some(limit),
            |examples| Ok(answerer.answer(examples, &mut rng)?.predictions),
        )?;
        Ok(CurvePoint { step, split: self.split, mode, scores: score(&predictions) })
    }
}

/// The curve's points up to and including `step` (a resumed run drops what came after its
/// checkpoint; `u64::MAX` reads them all); none when the run has no curve.
pub fn read_curve(run: &Path, step: u64) -> Result<Vec<CurvePoint>> {
    let mut points: Vec<CurvePoint> = read_json_lines(&run.join(CURVE_FILE))?;
    points.retain(|point| point.step <= step);
    Ok(points)
}

/// Rewrites the curve with `points`.
pub fn write_curve(run: &Path, points: &[CurvePoint]) -> Result<()> {
    write_json_lines(&run.join(CURVE_FILE), points)
}

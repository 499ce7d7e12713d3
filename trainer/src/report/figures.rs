//! The report's pictures: training curves (the loss, and the held-out accuracy of
//! `curve.jsonl`, against the step; one panel per task, one colour per regime) and the
//! imaginations a run generated beside the ground truth.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use image::{Rgb, RgbImage};
use ipt_schema::{Split, Task};

use crate::data::batch::Regime;
use crate::eval::infer::Mode;
use crate::train::curve::read_curve;
use crate::train::run::{LogLine, TrainRun, read_log};

/// Line colours per regime (label, cot, ipt, mixed).
pub(crate) const REGIME_COLOURS: [(Regime, [u8; 3]); 4] = [
    (Regime::Label, [31, 119, 180]),
    (Regime::Cot, [255, 127, 14]),
    (Regime::Ipt, [44, 160, 44]),
    (Regime::Mixed, [214, 39, 40]),
];

/// The colour of `regime`'s lines.
pub(crate) fn colour(regime: Regime) -> [u8; 3] {
    REGIME_COLOURS.iter().find(|(r, _)| *r == regime).map_or([0; 3], |(_, c)| *c)
}

/// One line of a panel: (step, value) points in `colour`.
struct Series {
    colour: [u8; 3],
    points: Vec<(f64, f64)>,
}

/// Panel size and margin, pixels.
const PANEL: (u32, u32, u32) = (400, 300, 20);

/// How a panel's vertical axis runs.
#[derive(Clone, Copy)]
enum Scale {
    /// The logarithm of the values, fitted to them.
    Log,
    /// A share from 0 to 1, with light lines at every quarter.
    Share,
}

/// Draws panels side by side, each with its own axes; `reference` draws a grey horizontal
/// line per panel (chance).
fn panels(panels: &[(Vec<Series>, Option<f64>)], scale: Scale) -> RgbImage {
    let (width, height, margin) = PANEL;
    let mut picture = RgbImage::from_pixel(width * panels.len().max(1) as u32, height, Rgb([255; 3]));
    let value = |v: f64| match scale {
        Scale::Log => v.max(1e-4).ln(),
        Scale::Share => v,
    };
    for (index, (series, reference)) in panels.iter().enumerate() {
        let left = index as u32 * width;
        let all = series.iter().flat_map(|s| s.points.iter());
        let last_step = all.clone().map(|p| p.0).fold(1.0, f64::max);
        let (mut low, mut high) = all.map(|p| value(p.1)).fold((f64::MAX, f64::MIN), |(l, h), v| (l.min(v), h.max(v)));
        if let Some(r) = reference {
            (low, high) = (low.min(value(*r)), high.max(value(*r)));
        }
        if low > high || matches!(scale, Scale::Share) {
            (low, high) = (0.0, 1.0);
        }
        let span = (high - low).max(1e-6);
        let x = |step: f64| f64::from(left + margin) + step / last_step * f64::from(width - 2 * margin);
        let y = |v: f64| f64::from(height - margin) - (value(v) - low) / span * f64::from(height - 2 * margin);
        for axis in left + margin..left + width - margin {
            picture.put_pixel(axis, height - margin, Rgb([0; 3]));
        }
        for axis in margin..height - margin {
            picture.put_pixel(left + margin, axis, Rgb([0; 3]));
        }
        if matches!(scale, Scale::Share) {
            for quarter in [0.25, 0.5, 0.75, 1.0] {
                line(&mut picture, (x(0.0), y(quarter)), (x(last_step), y(quarter)), Rgb([230; 3]));
            }
        }
        if let Some(r) = reference {
            line(&mut picture, (x(0.0), y(*r)), (x(last_step), y(*r)), Rgb([150; 3]));
        }
        for s in series {
            for pair in s.points.windows(2) {
                line(&mut picture, (x(pair[0].0), y(pair[0].1)), (x(pair[1].0), y(pair[1].1)), Rgb(s.colour));
            }
            if let [only] = s.points.as_slice() {
                line(&mut picture, (x(only.0) - 2.0, y(only.1)), (x(only.0) + 2.0, y(only.1)), Rgb(s.colour));
            }
        }
    }
    picture
}

/// (step, mean loss) over windows of `window` steps.
fn smoothed(log: &[LogLine], window: usize) -> Vec<(f64, f64)> {
    log.chunks(window)
        .map(|chunk| {
            let step = chunk.last().map_or(0, |l| l.step) as f64;
            (step, chunk.iter().map(|l| f64::from(l.loss)).sum::<f64>() / chunk.len() as f64)
        })
        .collect()
}

/// The runs' training curves, a panel per task (PET, PT, MVC) of the runs trained on that
/// task alone: the loss (means over up to 20 steps, log scale), and the held-out accuracy of their
/// curves with chance in grey.
pub(crate) fn curves(runs: &[(PathBuf, TrainRun)]) -> Result<(RgbImage, RgbImage)> {
    let mut losses = Vec::new();
    let mut accuracies = Vec::new();
    for task in Task::ALL {
        let (mut loss_series, mut accuracy_series, mut chance) = (Vec::new(), Vec::new(), None);
        for (run, config) in runs.iter().filter(|(_, c)| c.task == Some(task)) {
            let colour = colour(config.regime);
            let log = read_log(run, u64::MAX)?;
            // Means over up to 20 steps: about 100 points for a run of 2,000 steps.
            loss_series.push(Series { colour, points: smoothed(&log, (log.len() / 100).clamp(1, 20)) });
            let mut points = Vec::new();
            for point in read_curve(run, u64::MAX)? {
                if let Some(score) = point.scores.tasks.get(&task) {
                    points.push((point.step as f64, score.overall.accuracy));
                    chance = Some(score.overall.chance);
                }
            }
            accuracy_series.push(Series { colour, points });
        }
        losses.push((loss_series, None));
        accuracies.push((accuracy_series, chance));
    }
    Ok((panels(&losses, Scale::Log), panels(&accuracies, Scale::Share)))
}

/// Copies the first picture of generated imaginations (inputs | imagined | truth) of
/// `split` in `run` to `out`; `false` when the run saved none.
pub(crate) fn copy_imagination(run: &Path, split: Split, out: &Path) -> Result<bool> {
    let folder = run.join("eval").join(format!("{split}-{}-imaginations", Mode::Generate.name()));
    let Ok(entries) = std::fs::read_dir(&folder) else { return Ok(false) };
    let mut pictures: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    pictures.sort();
    let Some(first) = pictures.first() else { return Ok(false) };
    std::fs::copy(first, out).with_context(|| format!("cannot copy {} to {}", first.display(), out.display()))?;
    Ok(true)
}

/// A straight line, sampled densely enough to leave no gaps.
fn line(picture: &mut RgbImage, from: (f64, f64), to: (f64, f64), colour: Rgb<u8>) {
    let steps = ((to.0 - from.0).abs().max((to.1 - from.1).abs()).ceil() as usize).max(1);
    for i in 0..=steps {
        let t = i as f64 / steps as f64;
        let (px, py) = (from.0 + t * (to.0 - from.0), from.1 + t * (to.1 - from.1));
        for (dx, dy) in [(0, 0), (1, 0), (0, 1)] {
            let (qx, qy) = (px.round() as i64 + dx, py.round() as i64 + dy);
            if qx >= 0 && qy >= 0 && (qx as u32) < picture.width() && (qy as u32) < picture.height() {
                picture.put_pixel(qx as u32, qy as u32, colour);
            }
        }
    }
}

//! `ipt-train report`: evaluated runs side by side in a Markdown table shaped like the
//! paper's (regimes down, tasks across), with chance and the paper's numbers beside ours, a
//! table of every evaluation, and the runs' training curves as a PNG.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use image::{Rgb, RgbImage};
use ipt_schema::{Split, Task};

use crate::data::batch::Regime;
use crate::eval::Evaluation;
use crate::eval::infer::Mode;
use crate::train::run::{LogLine, read_log};

/// The paper's accuracies (%, BAGEL-7B on AI2-THOR; PET, PT, MVC) for a regime evaluated in
/// a mode, where it reports them. The inference-mode ablation's PT numbers are its ego_dir
/// subset only.
fn paper(regime: Regime, mode: Mode) -> Option<[f64; 3]> {
    match (regime, mode) {
        (Regime::Label, Mode::Answer) => Some([97.5, 65.7, 63.9]),
        (Regime::Cot, Mode::Answer) => Some([83.1, 49.7, 62.3]),
        (Regime::Ipt, Mode::Generate) => Some([96.8, 49.0, 67.3]),
        (Regime::Ipt, Mode::Gt) => Some([96.7, 86.7, 67.3]),
        (Regime::Ipt, Mode::Answer) => Some([96.8, 61.1, 62.3]),
        (Regime::Mixed, Mode::Generate) => Some([97.8, 66.7, 62.3]),
        _ => None,
    }
}

/// Every evaluation of `split` in the runs' `eval/` folders.
fn evaluations(runs: &[PathBuf], split: Split) -> Result<Vec<Evaluation>> {
    let mut found = Vec::new();
    for run in runs {
        let dir = run.join("eval");
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                name.starts_with(&format!("{split}-")) && name.ends_with(".json")
            })
            .collect();
        paths.sort();
        for path in paths {
            let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            let evaluation: Evaluation =
                serde_json::from_slice(&bytes).with_context(|| format!("{} is not an evaluation", path.display()))?;
            found.push(evaluation);
        }
    }
    Ok(found)
}

fn cell(evaluation: &Evaluation, task: Task) -> Option<String> {
    let score = evaluation.scores.tasks.get(&task)?;
    let [low, high] = score.overall.interval;
    Some(format!("{:.1} [{:.1}, {:.1}]", 100.0 * score.headline, 100.0 * low, 100.0 * high))
}

/// The report's Markdown; the curves picture is linked as `curves`.
pub fn markdown(runs: &[PathBuf], split: Split, curves: &str) -> Result<String> {
    let evaluations = evaluations(runs, split)?;
    if evaluations.is_empty() {
        bail!(
            "no {split} evaluations in these runs' eval/ folders: run `ipt-train eval --run RUN --split {split}` first"
        );
    }
    let mut text = format!(
        "# IPT runs on the {split} split\n\nHeadline accuracy, %, with its 95 % interval (Perspective Taking: the mean of its \
         sub-types). In brackets after ours: the paper's number (BAGEL-7B on AI2-THOR; its inference-mode ablation reports \
         Path Tracing's ego_dir questions only).\n\n| regime (mode) | PET | PT | MVC |\n|---|---|---|---|\n"
    );
    let chance = |task: Task| {
        evaluations
            .iter()
            .find_map(|e| e.scores.tasks.get(&task))
            .map_or("".into(), |s| format!("{:.1}", 100.0 * s.overall.chance))
    };
    writeln!(text, "| chance | {} | {} | {} |", chance(Task::Pet), chance(Task::Pt), chance(Task::Mvc))?;
    // One row per (regime, mode), the runs' cells merged (a run may cover one task).
    let mut rows: BTreeMap<(String, String), [Vec<String>; 3]> = BTreeMap::new();
    for evaluation in &evaluations {
        let regime = evaluation.training.regime;
        let key = (regime.name().to_string(), evaluation.mode.name().to_string());
        let reference = paper(regime, evaluation.mode);
        let row = rows.entry(key).or_default();
        for (i, task) in Task::ALL.into_iter().enumerate() {
            if let Some(ours) = cell(evaluation, task) {
                let theirs = reference.map_or(String::new(), |p| format!(" ({:.1})", p[i]));
                row[i].push(format!("{ours}{theirs}"));
            }
        }
    }
    for ((regime, mode), cells) in &rows {
        let cells: Vec<String> = cells.iter().map(|c| c.join("; ")).collect();
        writeln!(text, "| {regime} ({mode}) | {} | {} | {} |", cells[0], cells[1], cells[2])?;
    }
    text.push_str("\n## Every evaluation\n\n| run | task | regime | mode | headline | accuracy [95 %] | chance | n | imagination error |\n|---|---|---|---|---|---|---|---|---|\n");
    for evaluation in &evaluations {
        for (task, score) in &evaluation.scores.tasks {
            let overall = &score.overall;
            writeln!(
                text,
                "| {} | {task} | {} | {} | {:.1} | {:.1} [{:.1}, {:.1}] | {:.1} | {} | {} |",
                evaluation.run.display(),
                evaluation.training.regime.name(),
                evaluation.mode.name(),
                100.0 * score.headline,
                100.0 * overall.accuracy,
                100.0 * overall.interval[0],
                100.0 * overall.interval[1],
                100.0 * overall.chance,
                overall.examples,
                evaluation.imagination_mse.map_or(String::new(), |m| format!("{m:.3}"))
            )?;
        }
    }
    writeln!(
        text,
        "\n## Training curves\n\n![loss per step]({curves})\n\nTotal loss (answer cross-entropy + flow) per step, averaged over 20 steps; one colour per run:\n"
    )?;
    for (i, run) in runs.iter().enumerate() {
        let [r, g, b] = COLOURS[i % COLOURS.len()];
        writeln!(text, "- `#{r:02x}{g:02x}{b:02x}`: {}", run.display())?;
    }
    Ok(text)
}

/// Distinct line colours.
const COLOURS: [[u8; 3]; 8] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [127, 127, 127],
];

/// The runs' loss curves (20-step means; steps across, the loss's logarithm up) as a picture;
/// runs without a log draw nothing.
pub fn curves(runs: &[PathBuf]) -> Result<RgbImage> {
    let (width, height, margin) = (800u32, 400u32, 20u32);
    let mut picture = RgbImage::from_pixel(width, height, Rgb([255; 3]));
    let mut series = Vec::new();
    for run in runs {
        series.push(smoothed(&read_log(run, u64::MAX)?, 20));
    }
    let last_step = series.iter().flatten().map(|p| p.0).fold(1.0, f64::max);
    let (low, high) = series
        .iter()
        .flatten()
        .map(|p| p.1.max(1e-4).ln())
        .fold((f64::MAX, f64::MIN), |(l, h), v| (l.min(v), h.max(v)));
    let span = (high - low).max(1e-6);
    let x = |step: f64| margin as f64 + step / last_step * f64::from(width - 2 * margin);
    let y =
        |loss: f64| f64::from(height - margin) - (loss.max(1e-4).ln() - low) / span * f64::from(height - 2 * margin);
    for axis in margin..width - margin {
        picture.put_pixel(axis, height - margin, Rgb([0; 3]));
    }
    for axis in margin..height - margin {
        picture.put_pixel(margin, axis, Rgb([0; 3]));
    }
    for (i, points) in series.iter().enumerate() {
        let colour = Rgb(COLOURS[i % COLOURS.len()]);
        for pair in points.windows(2) {
            line(&mut picture, (x(pair[0].0), y(pair[0].1)), (x(pair[1].0), y(pair[1].1)), colour);
        }
    }
    Ok(picture)
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

/// Writes the report to `out` and the curves beside it (`<out stem>-curves.png`).
pub fn write(runs: &[PathBuf], split: Split, out: &Path) -> Result<PathBuf> {
    let stem = out.file_stem().and_then(|s| s.to_str()).unwrap_or("report");
    let curves_name = format!("{stem}-curves.png");
    let curves_path = out.with_file_name(&curves_name);
    let text = markdown(runs, split, &curves_name)?;
    curves(runs)?.save(&curves_path).with_context(|| format!("cannot write {}", curves_path.display()))?;
    std::fs::write(out, text).with_context(|| format!("cannot write {}", out.display()))?;
    Ok(curves_path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::testing;
    use crate::eval::infer::Sampling;
    use crate::eval::{EvalOptions, evaluate};
    use crate::train::run::{TrainRun, small_model, train};
    use candle_core::Device;

    #[test]
    fn a_report_puts_our_numbers_beside_the_papers_and_draws_the_curves() {
        let data = tempfile::tempdir().unwrap();
        testing::dataset(data.path(), &[Split::Train, Split::Test], 6);
        let mut model = small_model();
        model.language.hidden_size = 32;
        model.language.intermediate_size = 64;
        model.language.num_hidden_layers = 1;
        model.vision =
            crate::model::vision::VisionConfig { image_size: 8, patch_size: 4, width: 16, layers: 1, heads: 2 };
        let config = TrainRun {
            data: data.path().to_path_buf(),
            task: None,
            regime: Regime::Label,
            model,
            autoencoder: None,
            vocabulary: 300,
            tokenizer: None,
            steps: 25,
            batch_size: 3,
            optimizer: Default::default(),
            warmup: 0,
            checkpoint_every: 25,
            seed: 0,
            init: None,
            backbone: None,
        };
        let run = data.path().join("label");
        train(&config, &run, &Device::Cpu).unwrap();
        let options = EvalOptions {
            split: Split::Test,
            mode: None,
            data: None,
            batch_size: 4,
            limit: None,
            sampling: Sampling { steps: 1, shift: 1.0, max_new_tokens: 8 },
            save_imaginations: 0,
            seed: 0,
        };
        evaluate(&run, &options, &Device::Cpu).unwrap();
        let out = data.path().join("report.md");
        let curves_path = write(std::slice::from_ref(&run), Split::Test, &out).unwrap();
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(text.contains("| chance | 50.0 |  |  |"), "{text}");
        assert!(text.contains("| label (answer) | ") && text.contains("(97.5)"), "{text}");
        assert!(text.contains("![loss per step](report-curves.png)"), "{text}");
        let picture = image::open(&curves_path).unwrap().into_rgb8();
        let coloured = picture.pixels().filter(|p| p.0 == COLOURS[0]).count();
        assert!(coloured > 100, "{coloured} pixels of the run's colour");
        let error = markdown(std::slice::from_ref(&run), Split::Benchmark, "x.png").unwrap_err().to_string();
        assert!(error.contains("no benchmark evaluations"), "{error}");
    }
}

//! `ipt-train report`: the results page (docs/results.md) made from evaluated runs, never
//! by hand: the data, the grid in the paper's shape (regimes and modes down, tasks across)
//! with chance, the dataset's blind baselines and the paper's numbers beside ours, whether
//! each model beats the blind baselines, the paper's findings checked against ours, the
//! ablations, every run's time and command, training curves and imaginations as pictures.
//!
//! - [`grid`]: which run is which part of the experiment, cells and pooled scores.
//! - [`figures`]: the pictures.

mod figures;
mod grid;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use ipt_schema::audit::{AuditReport, Baseline};
use ipt_schema::{Manifest, Split, Task};

use crate::data::batch::Regime;
use crate::data::examples::letter;
use crate::eval::Evaluation;
use crate::eval::infer::Mode;
use crate::eval::metrics::Prediction;
use crate::train::checkpoint::read_json_lines;
use crate::train::run::{TrainRun, read_log, read_run, small_model};
use grid::{Entry, FINDINGS, Grid, Part, ROWS, Reference};

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

/// The answer given most often among `predictions` and its share (`B 99.6 %`; `none` for
/// texts that named no option); `—` when there are none.
fn most_common_answer<'p>(predictions: impl Iterator<Item = &'p Prediction>) -> String {
    let mut counts: BTreeMap<Option<usize>, usize> = BTreeMap::new();
    let mut total = 0;
    for prediction in predictions {
        *counts.entry(prediction.predicted).or_default() += 1;
        total += 1;
    }
    // The most common; of equal counts the first letter.
    let Some((answer, count)) = counts.into_iter().max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0))) else {
        return "—".into();
    };
    let name = answer.map_or("none".to_string(), |index| letter(index).to_string());
    format!("{name} {} %", percent(count as f64 / total as f64))
}

/// A fraction as a percentage with one decimal.
fn percent(value: f64) -> String {
    format!("{:.1}", 100.0 * value)
}

/// An accuracy and its interval: `51.2 [45.1, 57.3]`.
fn with_interval(accuracy: f64, [low, high]: [f64; 2]) -> String {
    format!("{} [{}, {}]", percent(accuracy), percent(low), percent(high))
}

/// One grid cell: every seed's accuracy with its interval, in seed order.
fn cell_text(entries: &[Entry<'_>]) -> String {
    if entries.is_empty() {
        return "—".into();
    }
    entries
        .iter()
        .map(|e| format!("s{} {}", e.seed(), with_interval(e.score().accuracy, e.score().interval)))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The pictures beside the page, by file name relative to it.
#[derive(Debug, Default)]
pub struct Pictures {
    /// Loss against step, a panel per task.
    pub loss: String,
    /// Held-out accuracy against step, a panel per task.
    pub accuracy: String,
    /// Per task, a generated imagination beside the truth, when a run saved one.
    pub imaginations: BTreeMap<Task, String>,
}

/// What the page needs to know about the datasets the runs were evaluated on.
struct Dataset {
    path: PathBuf,
    manifest: Option<Manifest>,
    audit: Option<AuditReport>,
}

impl Dataset {
    fn read(path: &Path) -> Dataset {
        Dataset {
            path: path.to_path_buf(),
            manifest: Manifest::read(path).ok(),
            audit: AuditReport::read(path).ok().flatten(),
        }
    }

    /// The command that makes it, from its manifest's configuration.
    fn command(&self) -> String {
        let Some(config) = self.manifest.as_ref().map(|m| &m.config) else {
            return format!("(no readable manifest in {})", self.path.display());
        };
        let number = |key: &str| config.get(key).map_or("?".to_string(), |v| v.to_string());
        let splits = config.get("splits").map_or("?".to_string(), |s| {
            ["train", "validation", "test"].map(|k| s.get(k).map_or("?".into(), |v| v.to_string())).join(",")
        });
        let benchmark = config
            .get("benchmark")
            .and_then(|b| b.as_object())
            .map_or("?".to_string(), |b| b.iter().map(|(task, n)| format!("{task}={n}")).collect::<Vec<_>>().join(","));
        format!(
            "ipt-gen generate --count {} --resolution {} --seed {} --splits {splits} --benchmark {benchmark} --out {}",
            number("count"),
            number("resolution"),
            number("seed"),
            self.path.display()
        )
    }

    /// Examples of `task` in `split`.
    fn examples(&self, split: Split, task: Task) -> Option<u64> {
        let manifest = self.manifest.as_ref()?;
        Some(manifest.streams.iter().filter(|s| s.split == split && s.task == task).map(|s| s.count).sum())
    }

    /// The best blind baseline of `task` on `split` (task-level rows only).
    fn best_blind(&self, task: Task, split: Split) -> Option<(Baseline, f64)> {
        let audit = self.audit.as_ref()?;
        Baseline::ALL
            .into_iter()
            .filter_map(|b| audit.overall(task, b, split).map(|r| (b, r.score.accuracy)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }
}

/// The machine the report is written on: CPU model and logical cores.
fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "an unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    format!("{model}, {cores} logical cores")
}

/// The `ipt-train train` command that makes `config`'s run in `run` (flags at their
/// defaults left out).
fn train_command(config: &TrainRun, run: &Path) -> String {
    let mut command = format!(
        "ipt-train train --data {} --task {} --regime {} --seed {} --steps {}",
        config.data.display(),
        config.task.map_or("all".to_string(), |t| t.to_string()),
        config.regime.name(),
        config.seed,
        config.steps
    );
    let defaults = small_model();
    let mut flag = |name: &str, value: String, default: String| {
        if value != default {
            let _ = write!(command, " --{name} {value}");
        }
    };
    flag("batch-size", config.batch_size.to_string(), "32".into());
    flag("lr", config.optimizer.learning_rate.to_string(), "0.001".into());
    flag("warmup", config.warmup.to_string(), "100".into());
    flag("checkpoint-every", config.checkpoint_every.to_string(), "250".into());
    flag("vocabulary", config.vocabulary.to_string(), "1024".into());
    flag("latent-patch", config.model.latent.patch.to_string(), defaults.latent.patch.to_string());
    if let Some(curve) = &config.curve {
        flag("curve-every", curve.every.to_string(), "500".into());
        flag("curve-split", curve.split.to_string(), String::new());
        flag("curve-limit", curve.limit.to_string(), "256".into());
    }
    for (name, path) in [("autoencoder", &config.autoencoder), ("init", &config.init), ("backbone", &config.backbone)] {
        if let Some(path) = path {
            let _ = write!(command, " --{name} {}", path.display());
        }
    }
    if config.model.language.hidden_size != defaults.language.hidden_size
        || config.model.language.num_hidden_layers != defaults.language.num_hidden_layers
        || config.model.vision != defaults.vision
    {
        command.push_str(" --config MODEL.json (the run.json's `model`)");
    }
    let _ = write!(command, " --out {}", run.display());
    command
}

/// Training time, examples seen and steps taken by a run, from its log.
fn training_time(run: &Path) -> Result<(f64, usize, u64)> {
    let log = read_log(run, u64::MAX)?;
    let seconds = log.iter().map(|l| l.step_seconds + l.wait_seconds).sum();
    Ok((seconds, log.iter().map(|l| l.examples).sum(), log.last().map_or(0, |l| l.step)))
}

/// Hours and minutes.
fn duration(seconds: f64) -> String {
    let minutes = (seconds / 60.0).round() as u64;
    format!("{}:{:02}", minutes / 60, minutes % 60)
}

/// The report's Markdown.
pub fn markdown(runs: &[PathBuf], split: Split, pictures: &Pictures) -> Result<String> {
    let evaluations = evaluations(runs, split)?;
    if evaluations.is_empty() {
        bail!(
            "no {split} evaluations in these runs' eval/ folders: run `ipt-train eval --run RUN --split {split}` first"
        );
    }
    let page = Page::new(runs, split, &evaluations);
    let mut text = String::new();
    page.introduction(&mut text)?;
    page.data(&mut text)?;
    page.grid(&mut text)?;
    page.blind_check(&mut text)?;
    page.findings(&mut text)?;
    page.ablations(&mut text)?;
    page.runs(&mut text)?;
    page.pictures(&mut text, pictures)?;
    page.every_evaluation(&mut text)?;
    Ok(text)
}

/// What every section of the page reads: the evaluations sorted into the grid, and the
/// datasets they were made on.
struct Page<'a> {
    runs: &'a [PathBuf],
    split: Split,
    evaluations: &'a [Evaluation],
    reference: Reference,
    grid: Grid<'a>,
    datasets: BTreeMap<PathBuf, Dataset>,
}

impl<'a> Page<'a> {
    fn new(runs: &'a [PathBuf], split: Split, evaluations: &'a [Evaluation]) -> Page<'a> {
        let reference = Reference::of(evaluations.iter().map(|e| &e.training));
        let grid = Grid::new(evaluations, &reference);
        let mut datasets: BTreeMap<PathBuf, Dataset> = BTreeMap::new();
        for evaluation in evaluations {
            datasets.entry(evaluation.data.clone()).or_insert_with(|| Dataset::read(&evaluation.data));
        }
        Page { runs, split, evaluations, reference, grid, datasets }
    }

    /// The dataset `task` was evaluated on: its first main-grid run's, else any run's, else
    /// (a task not evaluated yet) the first dataset.
    fn dataset_of(&self, task: Task) -> Option<&Dataset> {
        let main = ROWS.iter().find_map(|&(r, m)| self.grid.cell(Part::Main, r, m, task).first()).map(|e| e.evaluation);
        main.or_else(|| self.evaluations.iter().find(|e| e.scores.tasks.contains_key(&task)))
            .and_then(|e| self.datasets.get(&e.data))
            .or_else(|| self.datasets.values().next())
    }

    fn introduction(&self, text: &mut String) -> Result<()> {
        let split = self.split;
        writeln!(
            text,
            "# Results: does training on generated data teach spatial reasoning?\n\n\
             Written by `ipt-train report` from {} evaluations of the {split} split in {} run folders; every number is \
             read from the runs' `eval/{split}-*.json`, `log.jsonl` and `curve.jsonl`, and the datasets' `manifest.json` \
             and `audit.json`. Do not edit by hand: `scripts/results report` rewrites it.\n",
            self.evaluations.len(),
            self.runs.len()
        )?;
        Ok(())
    }

    /// Each dataset's command and examples per split.
    fn data(&self, text: &mut String) -> Result<()> {
        text.push_str("## Data\n\n");
        for dataset in self.datasets.values() {
            writeln!(text, "- `{}`\n", dataset.command())?;
            if dataset.manifest.is_some() {
                text.push_str("  | task | train | validation | test | benchmark |\n  |---|---:|---:|---:|---:|\n");
                for task in Task::ALL {
                    let n = |s: Split| dataset.examples(s, task).map_or("?".into(), |n| n.to_string());
                    writeln!(
                        text,
                        "  | {task} | {} | {} | {} | {} |",
                        n(Split::Train),
                        n(Split::Validation),
                        n(Split::Test),
                        n(Split::Benchmark)
                    )?;
                }
            }
            let audit =
                if dataset.audit.is_some() { "" } else { " It has no `audit.json`: run `ipt-gen audit` on it." };
            writeln!(text, "\n  Generation time is in [benchmarks.md](benchmarks.md).{audit}\n")?;
        }
        Ok(())
    }

    /// The main grid with chance, the blind baselines and the paper's numbers.
    fn grid(&self, text: &mut String) -> Result<()> {
        let split = self.split;
        writeln!(
            text,
            "## The grid ({split} split)\n\n\
             Accuracy, %, with its 95 % Wilson interval, one entry per training seed (s1, s2, ...); for Perspective \
             Taking the paper reports the mean of the six sub-types' accuracies, which on our sub-type-balanced \
             splits is within about a point of the accuracy (both are in \"Every evaluation\"). Main-grid \
             runs only: one task each, from scratch, with the model most of them use; an empty cell (—) is a run not \
             made or not evaluated yet. In brackets: the paper's number (BAGEL-7B fine-tuned on AI2-THOR scenes; its \
             inference-mode ablation reports Path Tracing's ego_dir questions only). Blind baselines: text-only \
             models trained on the dataset's train split (`ipt-gen audit`).\n\n\
             | regime (mode) | PET | PT | MVC |\n|---|---|---|---|"
        )?;
        let chance = |task: Task| {
            let evaluated = self.evaluations.iter().find_map(|e| e.scores.tasks.get(&task)).map(|s| s.overall.chance);
            let audited = || {
                let audit = self.dataset_of(task)?.audit.as_ref()?;
                audit.overall(task, Baseline::LetterPrior, split).map(|r| r.chance)
            };
            evaluated.or_else(audited).map_or("—".into(), percent)
        };
        writeln!(text, "| chance | {} | {} | {} |", chance(Task::Pet), chance(Task::Pt), chance(Task::Mvc))?;
        for baseline in Baseline::ALL {
            let cells: Vec<String> = Task::ALL
                .into_iter()
                .map(|task| {
                    self.dataset_of(task)
                        .and_then(|d| d.audit.as_ref())
                        .and_then(|a| a.overall(task, baseline, split))
                        .map_or("—".into(), |r| with_interval(r.score.accuracy, [r.score.low, r.score.high]))
                })
                .collect();
            writeln!(text, "| blind: {} | {} |", baseline.name(), cells.join(" | "))?;
        }
        for (regime, mode) in ROWS {
            let reference = paper(regime, mode);
            let cells: Vec<String> = Task::ALL
                .into_iter()
                .enumerate()
                .map(|(i, task)| {
                    let ours = cell_text(self.grid.cell(Part::Main, regime, mode, task));
                    reference.map_or(ours.clone(), |p| format!("{ours} ({:.1})", p[i]))
                })
                .collect();
            writeln!(text, "| {} ({}) | {} |", regime.name(), mode.name(), cells.join(" | "))?;
        }
        Ok(())
    }

    /// Per main-grid run in answer mode: does it beat the best blind baseline?
    fn blind_check(&self, text: &mut String) -> Result<()> {
        writeln!(
            text,
            "\n## Does a model beat the blind baselines?\n\n\
             A run beats them when the lower end of its interval (answer mode, its own task) is above the best blind \
             baseline's accuracy on the same split.\n\n\
             | run | task | answer mode [95 %] | best blind baseline | beats it |\n|---|---|---|---|---|"
        )?;
        let (mut beating, mut judged) = (0, 0);
        for (regime, _) in ROWS.iter().filter(|(_, m)| *m == Mode::Answer) {
            for task in Task::ALL {
                for entry in self.grid.cell(Part::Main, *regime, Mode::Answer, task) {
                    let best = self.datasets.get(&entry.evaluation.data).and_then(|d| d.best_blind(task, self.split));
                    let score = entry.score();
                    let verdict = match best {
                        Some((_, accuracy)) => {
                            judged += 1;
                            let beats = score.interval[0] > accuracy;
                            beating += usize::from(beats);
                            if beats { "yes" } else { "no" }
                        }
                        None => "no audit",
                    };
                    writeln!(
                        text,
                        "| `{}` | {task} | {} | {} | {verdict} |",
                        entry.run().display(),
                        with_interval(score.accuracy, score.interval),
                        best.map_or("—".into(), |(b, a)| format!("{} {}", b.name(), percent(a)))
                    )?;
                }
            }
        }
        writeln!(text, "\n{beating} of {judged} runs beat the best blind baseline on their task.\n")?;
        if judged > 0 && beating == 0 {
            let seen: BTreeSet<String> = self
                .grid
                .part(Part::Main)
                .map(|e| {
                    let c = &e.evaluation.training;
                    format!("{} steps of {} examples", c.steps, c.batch_size)
                })
                .collect();
            let reference = &self.reference;
            writeln!(
                text,
                "**No model learnt its task beyond what the text alone gives away.** These are small models trained \
                 from scratch ({} px input images, a {}-wide {}-layer language model; {}) on one CPU; the paper \
                 fine-tuned a 7-billion-parameter model pretrained on web-scale images and text. See the ablations and \
                 the training curves for what other settings changed.\n",
                reference.vision.image_size,
                reference.language.hidden_size,
                reference.language.num_hidden_layers,
                seen.into_iter().collect::<Vec<_>>().join(", ")
            )?;
        }
        Ok(())
    }

    /// The paper's findings, each two grid rows compared, pooled over seeds.
    fn findings(&self, text: &mut String) -> Result<()> {
        writeln!(
            text,
            "\n## The paper's findings, checked\n\n\
             Each finding compares two rows of the grid; ours are pooled over seeds (every seed's answers counted \
             together). \"Within noise\" means the two 95 % intervals overlap.\n"
        )?;
        for finding in &FINDINGS {
            writeln!(
                text,
                "- **{}** ({} ({}) against {} ({})):",
                finding.claim,
                finding.better.0.name(),
                finding.better.1.name(),
                finding.worse.0.name(),
                finding.worse.1.name()
            )?;
            for &task in finding.tasks {
                let better = self.grid.pooled(Part::Main, finding.better.0, finding.better.1, task);
                let worse = self.grid.pooled(Part::Main, finding.worse.0, finding.worse.1, task);
                let line = match (better, worse) {
                    (Some(b), Some(w)) => {
                        let direction =
                            if b.accuracy >= w.accuracy { "the paper's direction" } else { "the opposite direction" };
                        let noise = if b.overlaps(&w) { "within noise" } else { "beyond noise" };
                        format!(
                            "{} vs {}: {direction}, {noise}",
                            with_interval(b.accuracy, b.interval),
                            with_interval(w.accuracy, w.interval)
                        )
                    }
                    _ => "not measured (a row is missing)".into(),
                };
                writeln!(text, "  - {task}: {line}")?;
            }
        }
        Ok(())
    }

    /// Every part of the experiment outside the main grid.
    fn ablations(&self, text: &mut String) -> Result<()> {
        text.push_str("\n## Ablations\n\n");
        let none =
            [Part::FineTuned, Part::AllTasks, Part::Other].into_iter().all(|p| self.grid.part(p).next().is_none());
        if self.grid.latent_patches().is_empty() && none {
            text.push_str("None evaluated yet.\n\n");
        }
        self.latent_patches(text)?;
        self.fine_tuned(text)?;
        self.other_settings(text)?;
        self.all_tasks(text)
    }

    /// The ipt regime with coarser or finer imagination tokens.
    fn latent_patches(&self, text: &mut String) -> Result<()> {
        let patches = self.grid.latent_patches();
        if patches.is_empty() {
            return Ok(());
        }
        let grid_cells = self.evaluations.first().map_or(8, |e| e.training.model.latent.grid);
        writeln!(
            text,
            "### Imagination tokens (ipt regime)\n\nThe autoencoder's {grid_cells} x {grid_cells} latent grid cut into \
             tokens of p x p cells: fewer, coarser tokens or more, finer ones.\n\n\
             | tokens (p) | PET generate | PET gt | MVC generate | MVC gt |\n|---|---|---|---|---|"
        )?;
        let mut rows: Vec<(usize, Part)> = patches.iter().map(|&p| (p, Part::Latent { patch: p })).collect();
        rows.push((self.reference.patch, Part::Main));
        rows.sort();
        for (patch, part) in rows {
            let side = grid_cells / patch.max(1);
            let cells: Vec<String> = [Task::Pet, Task::Mvc]
                .into_iter()
                .flat_map(|task| {
                    [Mode::Generate, Mode::Gt].map(|mode| cell_text(self.grid.cell(part, Regime::Ipt, mode, task)))
                })
                .collect();
            writeln!(text, "| {} ({patch}) | {} |", side * side, cells.join(" | "))?;
        }
        text.push('\n');
        Ok(())
    }

    /// Runs fine-tuned from another run, beside the same run from scratch.
    fn fine_tuned(&self, text: &mut String) -> Result<()> {
        let fine_tuned: Vec<&Entry<'_>> = self.grid.part(Part::FineTuned).collect();
        if fine_tuned.is_empty() {
            return Ok(());
        }
        text.push_str(
            "### Fine-tuned from a model trained on every task (`--init`)\n\n\
             | run | started from | task | regime (mode) | fine-tuned | the same from scratch |\n|---|---|---|---|---|---|\n",
        );
        for entry in fine_tuned {
            let c = &entry.evaluation.training;
            let scratch = self
                .grid
                .cell(Part::Main, c.regime, entry.evaluation.mode, entry.task)
                .iter()
                .filter(|e| e.seed() == entry.seed())
                .map(|e| with_interval(e.score().accuracy, e.score().interval))
                .next()
                .unwrap_or_else(|| "—".into());
            writeln!(
                text,
                "| `{}` | `{}` | {} | {} ({}) | {} | {scratch} |",
                entry.run().display(),
                c.init.as_deref().map_or("—".into(), |p| p.display().to_string()),
                entry.task,
                c.regime.name(),
                entry.evaluation.mode.name(),
                with_interval(entry.score().accuracy, entry.score().interval)
            )?;
        }
        text.push('\n');
        Ok(())
    }

    /// Runs with other steps or model sizes than the main grid's.
    fn other_settings(&self, text: &mut String) -> Result<()> {
        let tried: Vec<&Entry<'_>> = self.grid.part(Part::Other).collect();
        if tried.is_empty() {
            return Ok(());
        }
        let reference = &self.reference;
        writeln!(
            text,
            "### Other settings: what else was tried\n\nThe main grid trains {} steps with {} px inputs and a {}-wide \
             {}-layer language model.\n\n\
             | run | task | regime (mode) | steps | input px | language model | accuracy [95 %] |\n|---|---|---|---:|---:|---|---|",
            reference.steps,
            reference.vision.image_size,
            reference.language.hidden_size,
            reference.language.num_hidden_layers
        )?;
        for entry in tried {
            let c = &entry.evaluation.training;
            writeln!(
                text,
                "| `{}` | {} | {} ({}) | {} | {} | {} wide, {} layers{} | {} |",
                entry.run().display(),
                entry.task,
                c.regime.name(),
                entry.evaluation.mode.name(),
                c.steps,
                c.model.vision.image_size,
                c.model.language.hidden_size,
                c.model.language.num_hidden_layers,
                c.backbone.as_ref().map_or(String::new(), |b| format!(", backbone `{}`", b.display())),
                with_interval(entry.score().accuracy, entry.score().interval)
            )?;
        }
        text.push('\n');
        Ok(())
    }

    /// Runs trained on every task at once.
    fn all_tasks(&self, text: &mut String) -> Result<()> {
        let all_tasks: Vec<&Entry<'_>> = self.grid.part(Part::AllTasks).collect();
        if all_tasks.is_empty() {
            return Ok(());
        }
        text.push_str("### Trained on every task at once\n\n| run | regime (mode) | task | accuracy [95 %] |\n|---|---|---|---|\n");
        for entry in all_tasks {
            writeln!(
                text,
                "| `{}` | {} ({}) | {} | {} |",
                entry.run().display(),
                entry.evaluation.training.regime.name(),
                entry.evaluation.mode.name(),
                entry.task,
                with_interval(entry.score().accuracy, entry.score().interval)
            )?;
        }
        text.push('\n');
        Ok(())
    }

    /// Every run's time and speed, and the commands that made and evaluated it.
    fn runs(&self, text: &mut String) -> Result<()> {
        let split = self.split;
        writeln!(
            text,
            "## Runs\n\nMade on {} (the machine this page was written on). Time: the training steps and the waits \
             for data in `log.jsonl` (evaluation not included).\n\n\
             | run | part | steps done / asked | examples seen | training time (h:mm) | samples/s |\n|---|---|---:|---:|---:|---:|",
            machine()
        )?;
        let mut commands = String::new();
        for run in self.runs {
            let Some(config) = read_run(run)? else { continue };
            let (seconds, examples, done) = training_time(run)?;
            let part = match self.reference.part(&config) {
                Part::Main => "main".to_string(),
                Part::Latent { patch } => format!("latent patch {patch}"),
                Part::AllTasks => "every task".into(),
                Part::FineTuned => "fine-tuned".into(),
                Part::Other => "other settings".into(),
            };
            writeln!(
                text,
                "| `{}` | {part} | {done} / {} | {examples} | {} | {:.1} |",
                run.display(),
                config.steps,
                duration(seconds),
                if seconds > 0.0 { examples as f64 / seconds } else { 0.0 }
            )?;
            writeln!(commands, "{}", train_command(&config, run))?;
            for evaluation in self.evaluations.iter().filter(|e| &e.run == run) {
                let s = evaluation.sampling;
                let sampling = if evaluation.mode == Mode::Generate {
                    format!(" --steps {} --shift {}", s.steps, s.shift)
                } else {
                    String::new()
                };
                writeln!(
                    commands,
                    "ipt-train eval --run {} --split {split} --mode {}{sampling}",
                    run.display(),
                    evaluation.mode.name()
                )?;
            }
        }
        writeln!(
            text,
            "\nThe commands, in order (a run resumes when its command is repeated):\n\n```sh\n{commands}```\n"
        )?;
        Ok(())
    }

    /// The training curves and the imaginations, as pictures beside the page.
    fn pictures(&self, text: &mut String, pictures: &Pictures) -> Result<()> {
        writeln!(
            text,
            "## Training curves\n\nOne panel per task (PET, PT, MVC), runs trained on that task alone; colours: {}.\n\n\
             Loss (answer cross-entropy plus the flow loss), means over up to 20 steps, log scale:\n\n![loss]({})\n\n\
             Accuracy (0 to 100 %, light lines every 25 %) on the first examples of the held-out split the run's curve \
             measures (`curve.jsonl`), chance in grey:\n\n![accuracy]({})\n",
            figures::REGIME_COLOURS
                .iter()
                .map(|(r, [red, green, blue])| format!("{} `#{red:02x}{green:02x}{blue:02x}`", r.name()))
                .collect::<Vec<_>>()
                .join(", "),
            pictures.loss,
            pictures.accuracy
        )?;
        if !pictures.imaginations.is_empty() {
            text.push_str("## Imaginations\n\nInputs, the imagination the model generated, and the ground truth (decoded by the autoencoder), one example per task:\n\n");
            for (task, name) in &pictures.imaginations {
                writeln!(text, "{}:\n\n![{task} imagination]({name})\n", task.title())?;
            }
        }
        Ok(())
    }

    /// One row per evaluation and task: headline, accuracy, chance, examples, and the share
    /// of its most common answer (a model at chance that always answers the same letter
    /// shows it here).
    fn every_evaluation(&self, text: &mut String) -> Result<()> {
        text.push_str(
            "## Every evaluation\n\n\"Most common answer\": the letter the model gave most often, and how often (from \
             `eval/<split>-<mode>-answers.jsonl`; \"none\" when the generated text named no option).\n\n\
             | run | task | regime | mode | headline | accuracy [95 %] | chance | n | most common answer | imagination error |\n\
             |---|---|---|---|---|---|---|---|---|---|\n",
        );
        for evaluation in self.evaluations {
            let answers = format!("{}-{}-answers.jsonl", self.split, evaluation.mode.name());
            let predictions: Vec<Prediction> = read_json_lines(&evaluation.run.join("eval").join(answers))?;
            for (task, score) in &evaluation.scores.tasks {
                let overall = &score.overall;
                writeln!(
                    text,
                    "| `{}` | {task} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    evaluation.run.display(),
                    evaluation.training.regime.name(),
                    evaluation.mode.name(),
                    percent(score.headline),
                    with_interval(overall.accuracy, overall.interval),
                    percent(overall.chance),
                    overall.examples,
                    most_common_answer(predictions.iter().filter(|p| p.task == *task)),
                    evaluation.imagination_mse.map_or(String::new(), |m| format!("{m:.3}"))
                )?;
            }
        }
        Ok(())
    }
}

/// Writes the page to `out` and its pictures beside it (`<stem>-loss.png`,
/// `<stem>-accuracy.png`, `<stem>-imagination-<task>.png`); returns the pictures' paths.
pub fn write(runs: &[PathBuf], split: Split, out: &Path) -> Result<Vec<PathBuf>> {
    let stem = out.file_stem().and_then(|s| s.to_str()).unwrap_or("report");
    let beside = |suffix: &str| out.with_file_name(format!("{stem}-{suffix}.png"));
    let mut configured = Vec::new();
    for run in runs {
        if let Some(config) = read_run(run)? {
            configured.push((run.clone(), config));
        }
    }
    let reference = Reference::of(configured.iter().map(|(_, c)| c));
    let (loss, accuracy) = figures::curves(&configured)?;
    let mut written = Vec::new();
    for (picture, path) in [(loss, beside("loss")), (accuracy, beside("accuracy"))] {
        picture.save(&path).with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    let mut imaginations = BTreeMap::new();
    for task in Task::ALL {
        let candidates = configured.iter().filter(|(_, c)| c.task == Some(task) && reference.part(c) == Part::Main);
        // Prefer a mixed run's imagination, then an ipt run's.
        let mut ordered: Vec<&(PathBuf, TrainRun)> = candidates.collect();
        ordered.sort_by_key(|(run, c)| (c.regime != Regime::Mixed, c.seed, run.clone()));
        let path = beside(&format!("imagination-{task}"));
        for (run, _) in ordered {
            if figures::copy_imagination(run, split, &path)? {
                imaginations.insert(task, path.file_name().unwrap_or_default().to_string_lossy().into_owned());
                written.push(path);
                break;
            }
        }
    }
    let name = |path: &Path| path.file_name().unwrap_or_default().to_string_lossy().into_owned();
    let pictures = Pictures { loss: name(&written[0]), accuracy: name(&written[1]), imaginations };
    let text = markdown(runs, split, &pictures)?;
    std::fs::write(out, text).with_context(|| format!("cannot write {}", out.display()))?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::testing;
    use crate::eval::infer::Sampling;
    use crate::eval::{EvalOptions, evaluate};
    use crate::train::curve::CurveSettings;
    use crate::train::run::train;
    use candle_core::Device;

    #[test]
    fn the_most_common_answer_is_named_with_its_share() {
        let prediction = |predicted| Prediction {
            id: String::new(),
            task: Task::Pt,
            variant: "path".into(),
            subtype: "length_1_2m".into(),
            options: 4,
            answer: 0,
            predicted,
            text: None,
        };
        let predictions = [Some(1), Some(1), Some(1), Some(0), None].map(prediction);
        assert_eq!(most_common_answer(predictions.iter()), "B 60.0 %");
        let ties = [Some(2), Some(0)].map(prediction);
        assert_eq!(most_common_answer(ties.iter()), "A 50.0 %");
        assert_eq!(most_common_answer([None, None, Some(3)].map(prediction).iter()), "none 66.7 %");
        assert_eq!(most_common_answer(std::iter::empty()), "—");
    }

    #[test]
    fn a_report_puts_our_numbers_beside_the_papers_and_the_blind_baselines_and_draws_the_curves() {
        let data = tempfile::tempdir().unwrap();
        testing::dataset(data.path(), &[Split::Train, Split::Test], 6);
        let blind = ipt_schema::audit::AuditRow {
            task: Task::Pet,
            variant: ipt_schema::audit::ALL_VARIANTS.into(),
            baseline: Baseline::LetterPrior,
            split: Split::Test,
            chance: 0.5,
            l2: None,
            score: ipt_schema::audit::wilson(3, 6),
        };
        let audit =
            AuditReport { source: "dataset".into(), train_examples: [(Task::Pet, 6)].into(), rows: vec![blind] };
        std::fs::write(data.path().join(ipt_schema::audit::AUDIT_FILE), serde_json::to_vec(&audit).unwrap()).unwrap();
        let mut model = small_model();
        model.language.hidden_size = 32;
        model.language.intermediate_size = 64;
        model.language.num_hidden_layers = 1;
        model.vision =
            crate::model::vision::VisionConfig { image_size: 8, patch_size: 4, width: 16, layers: 1, heads: 2 };
        let config = TrainRun {
            data: data.path().to_path_buf(),
            task: Some(Task::Pet),
            regime: Regime::Label,
            model,
            autoencoder: None,
            vocabulary: 300,
            tokenizer: None,
            steps: 20,
            batch_size: 3,
            optimizer: Default::default(),
            warmup: 0,
            checkpoint_every: 10,
            seed: 0,
            init: None,
            backbone: None,
            curve: Some(CurveSettings { every: 10, split: Split::Test, limit: 6 }),
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
        let pictures = write(std::slice::from_ref(&run), Split::Test, &out).unwrap();
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(text.contains("| chance | 50.0 | — | — |"), "{text}");
        assert!(text.contains("| blind: letter_prior | 50.0 [18.8, 81.2] | — | — |"), "{text}");
        assert!(text.contains("| label (answer) | s0 ") && text.contains(" (97.5) | — (65.7) |"), "{text}");
        assert!(text.contains("best blind baseline | beats it |\n|---|---|---|---|---|\n| `"), "{text}");
        assert!(text.contains("| main | 20 / 20 | 60 |"), "{text}");
        assert!(
            text.contains("--task pet --regime label --seed 0 --steps 20 --batch-size 3 --warmup 0 --checkpoint-every 10 --vocabulary 300 --curve-every 10 --curve-split test --curve-limit 6 "),
            "{text}"
        );
        assert!(
            text.contains("![loss](report-loss.png)") && text.contains("![accuracy](report-accuracy.png)"),
            "{text}"
        );
        assert_eq!(pictures.len(), 2);
        for picture in &pictures {
            let picture = image::open(picture).unwrap().into_rgb8();
            let coloured = picture.pixels().filter(|p| p.0 == figures::colour(Regime::Label)).count();
            assert!(coloured > 20, "{coloured} pixels of the label regime's colour");
        }
        let error = markdown(std::slice::from_ref(&run), Split::Benchmark, &Pictures::default()).unwrap_err();
        assert!(error.to_string().contains("no benchmark evaluations"), "{error}");
    }
}

//! The evaluations a report reads, sorted into the experiment grid: which runs form the main
//! grid (one task, the default model, trained from scratch), which are ablations, and the
//! cells, pooled numbers and comparisons the page is built from.

use std::collections::BTreeMap;
use std::path::PathBuf;

use ipt_schema::Task;
use ipt_schema::audit::wilson;

use crate::data::batch::Regime;
use crate::eval::Evaluation;
use crate::eval::infer::Mode;
use crate::eval::metrics::Score;
use crate::model::llama::LlamaConfig;
use crate::model::vision::VisionConfig;
use crate::train::run::{TrainRun, small_model};

/// The rows of the paper's table, in its order: every (regime, mode) a run can be evaluated in.
pub(crate) const ROWS: [(Regime, Mode); 8] = [
    (Regime::Label, Mode::Answer),
    (Regime::Cot, Mode::Answer),
    (Regime::Ipt, Mode::Answer),
    (Regime::Ipt, Mode::Generate),
    (Regime::Ipt, Mode::Gt),
    (Regime::Mixed, Mode::Answer),
    (Regime::Mixed, Mode::Generate),
    (Regime::Mixed, Mode::Gt),
];

/// What part of the experiment a run is, against the main grid's [`Reference`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Part {
    /// One task, the main grid's model, from scratch.
    Main,
    /// As the main grid but with other imagination tokens: `patch` latent cells per side.
    Latent { patch: usize },
    /// Trained on every task at once.
    AllTasks,
    /// Fine-tuned from another run (`--init`).
    FineTuned,
    /// Other model sizes, another number of steps or a pretrained backbone: what else was
    /// tried.
    Other,
}

/// The model of the main grid: the language-model and image-encoder sizes (the vocabulary
/// aside), imagination patch and steps that most single-task runs trained from scratch use.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reference {
    /// Optimizer steps.
    pub steps: u64,
    /// The language model (`vocab_size` 0).
    pub language: LlamaConfig,
    /// The image encoder.
    pub vision: VisionConfig,
    /// Latent cells per side of an imagination token.
    pub patch: usize,
}

impl Reference {
    /// The most common settings among `configs` (the default small model when none
    /// qualifies; ties go to the first seen).
    pub fn of<'c>(configs: impl IntoIterator<Item = &'c TrainRun>) -> Reference {
        let mut counted: Vec<(Reference, usize)> = Vec::new();
        for config in configs {
            if config.init.is_some() || config.backbone.is_some() || config.task.is_none() {
                continue;
            }
            let candidate = Reference::from_run(config);
            match counted.iter_mut().find(|(r, _)| *r == candidate) {
                Some((_, count)) => *count += 1,
                None => counted.push((candidate, 1)),
            }
        }
        let best = counted.iter().map(|(_, n)| *n).max().unwrap_or(0);
        counted.into_iter().find(|(_, n)| *n == best).map_or_else(
            || {
                let default = small_model();
                Reference { steps: 0, language: default.language, vision: default.vision, patch: default.latent.patch }
            },
            |(r, _)| r,
        )
    }

    fn from_run(config: &TrainRun) -> Reference {
        let mut language = config.model.language.clone();
        language.vocab_size = 0;
        Reference {
            steps: config.steps,
            language,
            vision: config.model.vision.clone(),
            patch: config.model.latent.patch,
        }
    }

    /// Where `config`'s run belongs.
    pub fn part(&self, config: &TrainRun) -> Part {
        let mut own = Reference::from_run(config);
        let patch = own.patch;
        own.patch = self.patch;
        // The default reference (no single-task run to learn from) takes any number of steps.
        if self.steps == 0 {
            own.steps = 0;
        }
        if own != *self || config.backbone.is_some() {
            Part::Other
        } else if config.init.is_some() {
            Part::FineTuned
        } else if config.task.is_none() {
            Part::AllTasks
        } else if patch != self.patch {
            Part::Latent { patch }
        } else {
            Part::Main
        }
    }
}

/// One run's score on one task in one mode.
#[derive(Debug, Clone)]
pub(crate) struct Entry<'a> {
    /// The evaluation it comes from.
    pub evaluation: &'a Evaluation,
    /// The task scored.
    pub task: Task,
}

impl Entry<'_> {
    /// The run's training seed.
    pub fn seed(&self) -> u64 {
        self.evaluation.training.seed
    }

    /// The task's overall score.
    pub fn score(&self) -> &Score {
        &self.evaluation.scores.tasks[&self.task].overall
    }

    /// The run folder.
    pub fn run(&self) -> &PathBuf {
        &self.evaluation.run
    }
}

/// The scores of one grid cell, pooled over training seeds: every seed's examples counted
/// together, with their Wilson interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Pooled {
    /// Accuracy over all seeds' answers.
    pub accuracy: f64,
    /// Its 95 % interval.
    pub interval: [f64; 2],
    /// Seeds pooled.
    pub seeds: usize,
}

impl Pooled {
    /// Whether the two intervals share a point (the difference is within the noise).
    pub fn overlaps(&self, other: &Pooled) -> bool {
        self.interval[0] <= other.interval[1] && other.interval[0] <= self.interval[1]
    }
}

/// The evaluations sorted by part, regime, mode and task.
pub(crate) struct Grid<'a> {
    cells: BTreeMap<(Part, Regime, Mode, Task), Vec<Entry<'a>>>,
}

impl<'a> Grid<'a> {
    /// Sorts `evaluations` by `reference` (each run once per mode: a repeated evaluation
    /// keeps the last).
    pub fn new(evaluations: &'a [Evaluation], reference: &Reference) -> Grid<'a> {
        let mut cells: BTreeMap<(Part, Regime, Mode, Task), Vec<Entry<'a>>> = BTreeMap::new();
        for evaluation in evaluations {
            let part = reference.part(&evaluation.training);
            for &task in evaluation.scores.tasks.keys() {
                let key = (part, evaluation.training.regime, evaluation.mode, task);
                let entries = cells.entry(key).or_default();
                entries.retain(|e| e.run() != &evaluation.run);
                entries.push(Entry { evaluation, task });
                entries.sort_by_key(|e| (e.seed(), e.run().clone()));
            }
        }
        Grid { cells }
    }

    /// The entries of one cell, in seed order.
    pub fn cell(&self, part: Part, regime: Regime, mode: Mode, task: Task) -> &[Entry<'a>] {
        self.cells.get(&(part, regime, mode, task)).map_or(&[], Vec::as_slice)
    }

    /// Every entry of `part`.
    pub fn part(&self, part: Part) -> impl Iterator<Item = &Entry<'a>> {
        self.cells.iter().filter(move |(key, _)| key.0 == part).flat_map(|(_, entries)| entries)
    }

    /// The latent-token ablations present, by patch.
    pub fn latent_patches(&self) -> Vec<usize> {
        let mut patches: Vec<usize> = self
            .cells
            .keys()
            .filter_map(|key| match key.0 {
                Part::Latent { patch } => Some(patch),
                _ => None,
            })
            .collect();
        patches.dedup();
        patches
    }

    /// A cell's scores pooled over its seeds; `None` when the cell is empty.
    pub fn pooled(&self, part: Part, regime: Regime, mode: Mode, task: Task) -> Option<Pooled> {
        let entries = self.cell(part, regime, mode, task);
        if entries.is_empty() {
            return None;
        }
        let (correct, examples) =
            entries.iter().fold((0, 0), |(c, n), e| (c + e.score().correct, n + e.score().examples));
        let score = wilson(correct as u64, examples as u64);
        Some(Pooled { accuracy: score.accuracy, interval: [score.low, score.high], seeds: entries.len() })
    }
}

/// One of the paper's findings, checked against ours: row `better` scores at least as well as
/// row `worse` on `tasks`.
pub(crate) struct Finding {
    /// The paper's claim in words.
    pub claim: &'static str,
    /// The row the paper finds better (or equal).
    pub better: (Regime, Mode),
    /// The row it finds worse.
    pub worse: (Regime, Mode),
    /// The tasks the claim is about.
    pub tasks: &'static [Task],
}

/// The findings of the paper the issue names, in the order the page discusses them.
pub(crate) const FINDINGS: [Finding; 5] = [
    Finding {
        claim: "mixed training (imagining) is at least as good as answer-only training",
        better: (Regime::Mixed, Mode::Generate),
        worse: (Regime::Label, Mode::Answer),
        tasks: &Task::ALL,
    },
    Finding {
        claim: "IPT training beats answer-only training on Multiview Counting",
        better: (Regime::Ipt, Mode::Generate),
        worse: (Regime::Label, Mode::Answer),
        tasks: &[Task::Mvc],
    },
    Finding {
        claim: "a textual chain of thought does not beat answer-only training",
        better: (Regime::Label, Mode::Answer),
        worse: (Regime::Cot, Mode::Answer),
        tasks: &Task::ALL,
    },
    Finding {
        claim: "the ground-truth imagination in context far exceeds answering without it on Path Tracing",
        better: (Regime::Ipt, Mode::Gt),
        worse: (Regime::Ipt, Mode::Answer),
        tasks: &[Task::Pt],
    },
    Finding {
        claim: "pure IPT training collapses when asked to answer without imagining; mixed training does not",
        better: (Regime::Mixed, Mode::Answer),
        worse: (Regime::Ipt, Mode::Answer),
        tasks: &Task::ALL,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> TrainRun {
        TrainRun {
            data: "data".into(),
            task: Some(Task::Pet),
            regime: Regime::Label,
            model: small_model(),
            autoencoder: None,
            vocabulary: 1024,
            tokenizer: None,
            steps: 1,
            batch_size: 1,
            optimizer: Default::default(),
            warmup: 0,
            checkpoint_every: 1,
            seed: 0,
            init: None,
            backbone: None,
            curve: None,
        }
    }

    #[test]
    fn runs_are_sorted_into_the_grid_by_their_settings() {
        let base = settings();
        let mut larger = base.clone();
        larger.model.language.hidden_size = 64;
        // The model most single-task runs use is the main grid's, whatever its size.
        let reference = Reference::of([&base, &larger, &larger]);
        assert_eq!(reference.part(&larger), Part::Main);
        assert_eq!(reference.part(&base), Part::Other);
        let longer = TrainRun { steps: 3, ..larger.clone() };
        assert_eq!(reference.part(&longer), Part::Other, "trained for longer");
        assert_eq!(Reference::of([]).part(&base), Part::Main, "the default model, any steps");
        let reference = Reference::of([&base]);
        assert_eq!(reference.part(&base), Part::Main);
        let mut other = base.clone();
        other.model.latent.patch = 4;
        assert_eq!(reference.part(&other), Part::Latent { patch: 4 });
        other.task = None;
        assert_eq!(reference.part(&other), Part::AllTasks);
        other.init = Some("runs/all".into());
        assert_eq!(reference.part(&other), Part::FineTuned);
        assert_eq!(reference.part(&larger), Part::Other);
        let mut filled = base.clone();
        filled.model.language.vocab_size = 1024;
        filled.model.latent.channels = 8;
        assert_eq!(reference.part(&filled), Part::Main, "sizes filled in when a run starts do not count");
    }

    #[test]
    fn overlapping_intervals_are_within_the_noise() {
        let a = Pooled { accuracy: 0.5, interval: [0.4, 0.6], seeds: 1 };
        let b = Pooled { accuracy: 0.65, interval: [0.55, 0.75], seeds: 1 };
        let c = Pooled { accuracy: 0.8, interval: [0.7, 0.9], seeds: 1 };
        assert!(a.overlaps(&b) && b.overlaps(&a) && b.overlaps(&c));
        assert!(!a.overlaps(&c) && !c.overlaps(&a));
    }
}

//! Runs the blind baselines of [`super::model`] over a dataset's examples: each trained on a
//! task's `train` split, scored on `test` and `benchmark`, overall and per variant, with 95 %
//! intervals and chance. The result is `audit.json`, a Markdown table (printed, and in the
//! dataset card) and the guard's warnings.

use std::collections::BTreeMap;
use std::fmt::Write;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::examples::AuditExample;
use super::model::{Accuracy, Baseline, BlindExample, fit, score};
use crate::dataset::layout::Split;
use crate::tasks::Task;

/// The splits baselines are scored on.
pub const SCORED_SPLITS: [Split; 2] = [Split::Test, Split::Benchmark];
/// The guard warns when a baseline beats chance by more than this (accuracy, 0-1) ...
pub const GUARD_MARGIN: f64 = 0.05;
/// ... on a split of at least this many examples.
pub const GUARD_MIN_EXAMPLES: u64 = 200;
/// The variant name of the rows over all of a task's examples.
pub const ALL_VARIANTS: &str = "all";

/// One baseline's score on one split of one task (all variants, or one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRow {
    /// The task.
    pub task: Task,
    /// The variant scored, or [`ALL_VARIANTS`].
    pub variant: String,
    /// The baseline.
    pub baseline: Baseline,
    /// The split scored.
    pub split: Split,
    /// The accuracy of guessing: the mean of 1 / options over the examples.
    pub chance: f64,
    /// The L2 strength the learned baselines chose on a held-out tail of train.
    pub l2: Option<f64>,
    /// The baseline's accuracy with its 95 % Wilson interval.
    pub score: Accuracy,
}

impl AuditRow {
    /// Accuracy minus chance (0-1).
    pub fn above_chance(&self) -> f64 {
        self.score.accuracy - self.chance
    }
}

/// The blind baselines of a dataset (`audit.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditReport {
    /// What was audited: `dataset` (the shards) or `plans` (the labels of a configuration,
    /// not rendered).
    pub source: String,
    /// Training examples per task.
    pub train_examples: BTreeMap<Task, u64>,
    /// Every score.
    pub rows: Vec<AuditRow>,
}

/// The mean chance of guessing over `examples`.
fn chance(examples: &[&AuditExample]) -> f64 {
    examples.iter().map(|e| 1.0 / e.blind.choices.len().max(1) as f64).sum::<f64>() / examples.len().max(1) as f64
}

/// Trains every baseline on each task's `train` examples and scores it on the task's `test`
/// and `benchmark` examples, overall and per variant. A task without training examples is
/// left out.
pub fn audit(examples: &[AuditExample], source: &str) -> AuditReport {
    let tasks: Vec<Task> = Task::ALL.into_iter().filter(|t| examples.iter().any(|e| e.task == *t)).collect();
    let train_of = |task: Task| -> Vec<BlindExample> {
        examples.iter().filter(|e| e.task == task && e.split == Split::Train).map(|e| e.blind.clone()).collect()
    };
    let train: BTreeMap<Task, Vec<BlindExample>> = tasks.iter().map(|&t| (t, train_of(t))).collect();
    let jobs: Vec<(Task, Baseline)> = tasks
        .iter()
        .filter(|t| !train[t].is_empty())
        .flat_map(|&t| Baseline::ALL.into_iter().map(move |b| (t, b)))
        .collect();
    let rows: Vec<Vec<AuditRow>> = jobs
        .par_iter()
        .map(|&(task, baseline)| {
            let fitted = fit(baseline, &train[&task]);
            let mut rows = Vec::new();
            for split in SCORED_SPLITS {
                let scored: Vec<&AuditExample> =
                    examples.iter().filter(|e| e.task == task && e.split == split).collect();
                if scored.is_empty() {
                    continue;
                }
                let mut variants: Vec<&str> = scored.iter().map(|e| e.variant.as_str()).collect();
                variants.sort_unstable();
                variants.dedup();
                for variant in std::iter::once(ALL_VARIANTS).chain(variants) {
                    let subset: Vec<&AuditExample> =
                        scored.iter().copied().filter(|e| variant == ALL_VARIANTS || e.variant == variant).collect();
                    let blind: Vec<BlindExample> = subset.iter().map(|e| e.blind.clone()).collect();
                    rows.push(AuditRow {
                        task,
                        variant: variant.to_string(),
                        baseline,
                        split,
                        chance: chance(&subset),
                        l2: fitted.l2(),
                        score: score(&fitted, &blind),
                    });
                }
            }
            rows
        })
        .collect();
    AuditReport {
        source: source.to_string(),
        train_examples: train.iter().map(|(&t, e)| (t, e.len() as u64)).collect(),
        rows: rows.into_iter().flatten().collect(),
    }
}

fn percent(value: f64) -> String {
    format!("{:.1}", 100.0 * value)
}

impl AuditReport {
    /// The rows that beat chance by more than `margin` on at least `min_examples` examples.
    pub fn above(&self, margin: f64, min_examples: u64) -> Vec<&AuditRow> {
        self.rows.iter().filter(|r| r.score.total >= min_examples && r.above_chance() > margin).collect()
    }

    /// The guard's warnings: one line per baseline that beats chance by more than
    /// [`GUARD_MARGIN`] on a split of at least [`GUARD_MIN_EXAMPLES`] examples.
    pub fn warnings(&self) -> Vec<String> {
        self.above(GUARD_MARGIN, GUARD_MIN_EXAMPLES)
            .into_iter()
            .map(|r| {
                let variant = if r.variant == ALL_VARIANTS { String::new() } else { format!(" ({})", r.variant) };
                format!(
                    "{}{variant}: the blind baseline '{}' scores {} % on {} ({} examples; chance {} %): the answers \
                     can be guessed without the images",
                    r.task,
                    r.baseline.name(),
                    percent(r.score.accuracy),
                    r.split,
                    r.score.total,
                    percent(r.chance)
                )
            })
            .collect()
    }

    /// The largest accuracy above chance among rows of at least `min_examples` examples, if
    /// any (for summaries).
    pub fn worst(&self, min_examples: u64) -> Option<&AuditRow> {
        self.rows
            .iter()
            .filter(|r| r.score.total >= min_examples)
            .max_by(|a, b| a.above_chance().total_cmp(&b.above_chance()))
    }

    /// Markdown tables: per task and baseline, accuracy on each scored split with its 95 %
    /// interval, and chance; then the same per variant.
    pub fn table(&self) -> String {
        let mut text = String::new();
        let splits: Vec<Split> =
            SCORED_SPLITS.into_iter().filter(|s| self.rows.iter().any(|r| r.split == *s)).collect();
        for per_variant in [false, true] {
            let rows: Vec<&AuditRow> =
                self.rows.iter().filter(|r| (r.variant == ALL_VARIANTS) != per_variant).collect();
            if rows.is_empty() {
                continue;
            }
            let mut keys: Vec<(Task, &str, Baseline)> =
                rows.iter().map(|r| (r.task, r.variant.as_str(), r.baseline)).collect();
            keys.sort();
            keys.dedup();
            let _ = write!(text, "| task |{} baseline |", if per_variant { " variant |" } else { "" });
            for split in &splits {
                let _ = write!(text, " {split} % [95 % CI] (n) |");
            }
            let _ = writeln!(text, " chance % |");
            let _ = writeln!(
                text,
                "|---|{}---|{}---:|",
                if per_variant { "---|" } else { "" },
                "---:|".repeat(splits.len())
            );
            for (task, variant, baseline) in keys {
                let _ = write!(
                    text,
                    "| {task} |{} {} |",
                    if per_variant { format!(" {variant} |") } else { String::new() },
                    baseline.name()
                );
                let mut chance = None;
                for split in &splits {
                    let row = rows.iter().find(|r| {
                        r.task == task && r.variant == variant && r.baseline == baseline && r.split == *split
                    });
                    match row {
                        Some(r) => {
                            chance = Some(r.chance);
                            let s = &r.score;
                            let _ = write!(
                                text,
                                " {} [{}, {}] ({}) |",
                                percent(s.accuracy),
                                percent(s.low),
                                percent(s.high),
                                s.total
                            );
                        }
                        None => text.push_str(" - |"),
                    }
                }
                let _ = writeln!(text, " {} |", chance.map_or("-".to_string(), percent));
            }
            text.push('\n');
        }
        text
    }
}

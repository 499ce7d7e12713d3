//! Runs the blind baselines of [`super::model`] over a dataset's examples: each trained on a
//! task's `train` split, scored on `test` and `benchmark`, overall and per variant, with 95 %
//! intervals and chance. The result is `audit.json`, a Markdown table (printed, and in the
//! dataset card) and the guard's warnings.

use std::collections::BTreeMap;

pub use ipt_schema::audit::{ALL_VARIANTS, AuditReport, AuditRow, SCORED_SPLITS};
use rayon::prelude::*;

use super::examples::AuditExample;
use super::model::{Baseline, BlindExample, fit, score};
use crate::dataset::layout::Split;
use crate::tasks::Task;

/// The guard warns when a baseline beats chance by more than this (accuracy, 0-1) ...
pub const GUARD_MARGIN: f64 = 0.05;
/// ... on a split of at least this many examples.
pub const GUARD_MIN_EXAMPLES: u64 = 200;
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

/// The guard's warnings: one line per baseline that beats chance by more than
/// [`GUARD_MARGIN`] on a split of at least [`GUARD_MIN_EXAMPLES`] examples.
pub fn warnings(report: &AuditReport) -> Vec<String> {
    report
        .above(GUARD_MARGIN, GUARD_MIN_EXAMPLES)
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

fn percent(value: f64) -> String {
    format!("{:.1}", 100.0 * value)
}

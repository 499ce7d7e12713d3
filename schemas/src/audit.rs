//! `audit.json`, the blind baselines of a dataset: how well models that never see the images
//! (the answer-letter prior, the option texts, the question, both, the category's majority
//! answer) score on its `test` and `benchmark` splits. `ipt-gen audit` writes it (and
//! `generate` runs that audit when it finishes); the trainer's report reads it to set trained
//! models beside the best blind guess.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::manifest::DatasetError;
use crate::split::Split;
use crate::task::Task;

/// The audit's file name in a dataset folder.
pub const AUDIT_FILE: &str = "audit.json";
/// The splits baselines are scored on.
pub const SCORED_SPLITS: [Split; 2] = [Split::Test, Split::Benchmark];
/// The variant name of the rows over all of a task's examples.
pub const ALL_VARIANTS: &str = "all";

/// The blind baselines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Baseline {
    /// Always the answer letter most frequent in train.
    LetterPrior,
    /// A conditional logit over the option texts alone, never the question.
    OptionsOnly,
    /// A conditional logit over the question's words crossed with the option slot, never the option texts.
    QuestionOnly,
    /// A conditional logit over the question's words and the option texts together.
    QuestionOptions,
    /// The answer text most frequent in train for the example's category.
    CategoryMajority,
}

impl Baseline {
    /// Every baseline, in declaration order.
    pub const ALL: [Baseline; 5] = [
        Baseline::LetterPrior,
        Baseline::OptionsOnly,
        Baseline::QuestionOnly,
        Baseline::QuestionOptions,
        Baseline::CategoryMajority,
    ];

    /// The snake-case name, the same as the serde form.
    pub fn name(self) -> &'static str {
        match self {
            Baseline::LetterPrior => "letter_prior",
            Baseline::OptionsOnly => "options_only",
            Baseline::QuestionOnly => "question_only",
            Baseline::QuestionOptions => "question_options",
            Baseline::CategoryMajority => "category_majority",
        }
    }

    /// One line a person reads: what the baseline looks at.
    pub fn describe(self) -> &'static str {
        match self {
            Baseline::LetterPrior => "the most frequent answer letter in train",
            Baseline::OptionsOnly => "a logistic model over the option texts alone, never the question",
            Baseline::QuestionOnly => {
                "a logistic model over the question's words and the option slot, never the option texts"
            }
            Baseline::QuestionOptions => "a logistic model over the question's words and the option texts together",
            Baseline::CategoryMajority => "the most frequent answer text in train for the question's category",
        }
    }
}

/// Accuracy with its 95 % Wilson score interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Accuracy {
    /// Examples answered correctly.
    pub correct: u64,
    /// Examples scored.
    pub total: u64,
    /// `correct / total` as a fraction (0 when `total` is 0).
    pub accuracy: f64,
    /// Lower end of the 95 % Wilson score interval, a fraction.
    pub low: f64,
    /// Upper end of the 95 % Wilson score interval, a fraction.
    pub high: f64,
}

/// The accuracy `correct / total` with its 95 % Wilson score interval, all as fractions in [0, 1]; a
/// `total` of 0 gives all zeros, and `correct` is capped at `total`.
pub fn wilson(correct: u64, total: u64) -> Accuracy {
    const Z: f64 = 1.959_963_984_540_054;
    let correct = correct.min(total);
    if total == 0 {
        return Accuracy { correct, total, accuracy: 0.0, low: 0.0, high: 0.0 };
    }
    let n = total as f64;
    let p = correct as f64 / n;
    let z2 = Z * Z;
    let denominator = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denominator;
    let half = Z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denominator;
    Accuracy { correct, total, accuracy: p, low: (centre - half).max(0.0), high: (centre + half).min(1.0) }
}

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

impl AuditReport {
    /// The audit of the dataset in `dir`, or `None` when it has none (audited with
    /// `--no-audit`, or made before audits existed).
    pub fn read(dir: &Path) -> Result<Option<AuditReport>, DatasetError> {
        let path = dir.join(AUDIT_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(cause) => return Err(DatasetError::Missing { path, cause }),
        };
        let report =
            serde_json::from_str(&text).map_err(|e| DatasetError::Malformed { path, message: e.to_string() })?;
        Ok(Some(report))
    }

    /// The row of `baseline` on all of `task`'s examples of `split`, if scored.
    pub fn overall(&self, task: Task, baseline: Baseline, split: Split) -> Option<&AuditRow> {
        self.rows
            .iter()
            .find(|r| r.task == task && r.baseline == baseline && r.split == split && r.variant == ALL_VARIANTS)
    }

    /// The rows that beat chance by more than `margin` on at least `min_examples` examples.
    pub fn above(&self, margin: f64, min_examples: u64) -> Vec<&AuditRow> {
        self.rows.iter().filter(|r| r.score.total >= min_examples && r.above_chance() > margin).collect()
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

fn percent(value: f64) -> String {
    format!("{:.1}", 100.0 * value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_known_intervals() {
        let half = wilson(50, 100);
        assert_eq!((half.correct, half.total), (50, 100));
        assert!((half.accuracy - 0.5).abs() < 1e-12);
        assert!((half.low - 0.4038).abs() < 1e-3, "{half:?}");
        assert!((half.high - 0.5962).abs() < 1e-3, "{half:?}");
        let empty = wilson(0, 0);
        assert_eq!((empty.accuracy, empty.low, empty.high), (0.0, 0.0, 0.0));
        let none = wilson(0, 10);
        assert_eq!(none.low, 0.0);
        assert!((none.high - 0.2775).abs() < 1e-3, "{none:?}");
        let all = wilson(10, 10);
        assert!((all.low - 0.7225).abs() < 1e-3, "{all:?}");
        assert!((all.high - 1.0).abs() < 1e-12, "{all:?}");
        let small = wilson(81, 263);
        assert!((small.low - 0.2553).abs() < 1e-3 && (small.high - 0.3662).abs() < 1e-3, "{small:?}");
    }

    #[test]
    fn names_are_the_snake_case_serde_names() {
        for baseline in Baseline::ALL {
            // serde's rename_all = "snake_case": an underscore before each inner capital, all lowercase.
            let mut snake = String::new();
            for (position, letter) in format!("{baseline:?}").chars().enumerate() {
                if letter.is_uppercase() && position > 0 {
                    snake.push('_');
                }
                snake.extend(letter.to_lowercase());
            }
            assert_eq!(baseline.name(), snake);
            assert!(!baseline.describe().is_empty());
        }
        let mut names = Baseline::ALL.map(Baseline::name).to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Baseline::ALL.len());
    }
}

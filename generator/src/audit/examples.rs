//! The audit's input: each example as a blind reader sees it, from a dataset's shards (the
//! text columns only, in bounded batches) or from the plans of a configuration.

use anyhow::{Context, Result, anyhow};
use indicatif::{ProgressBar, ProgressStyle};
use ipt_schema::ObjectInfo;
use rayon::prelude::*;
use serde::Deserialize;

use super::model::BlindExample;
use crate::dataset::config::DatasetConfig;
use crate::dataset::layout::{Split, units};
use crate::dataset::pipeline::Generator;
use crate::dataset::store::DatasetDir;
use crate::tasks::text::LETTERS;
use crate::tasks::{ExamplePlan, Task};

/// One example: where it belongs and what a blind baseline sees of it.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditExample {
    /// The task.
    pub task: Task,
    /// The split.
    pub split: Split,
    /// The task's variant.
    pub variant: String,
    /// Question, options, answer and the category asked about.
    pub blind: BlindExample,
}

/// The category a question names: the object of a Perspective Taking question, the counted
/// category of a Multiview Counting one; Path Tracing questions name none (their answer is a
/// category, which a blind reader must not see).
fn asked_category(task: Task, objects: impl Iterator<Item = String>) -> String {
    match task {
        Task::Pet | Task::Mvc => objects.into_iter().next().unwrap_or_default(),
        Task::Pt => String::new(),
    }
}

fn answer_index(letter: &str, choices: &[String]) -> Option<usize> {
    LETTERS.iter().position(|l| *l == letter).filter(|&i| i < choices.len())
}

impl AuditExample {
    /// The example a plan makes in `split`.
    pub fn of_plan(plan: &ExamplePlan, split: Split) -> AuditExample {
        let answer = answer_index(&plan.answer, &plan.choices).expect("a plan's answer is one of its options");
        AuditExample {
            task: plan.task,
            split,
            variant: plan.variant.clone(),
            blind: BlindExample {
                question: plan.question.clone(),
                choices: plan.choices.clone(),
                answer,
                category: asked_category(plan.task, plan.objects.iter().map(|o| o.category.clone())),
            },
        }
    }
}

/// The columns the audit reads of a shard.
#[derive(Debug, Deserialize)]
struct TextRow {
    id: String,
    task: String,
    variant: String,
    split: String,
    question: String,
    choices: Vec<String>,
    answer: String,
    objects: Vec<ObjectInfo>,
}

const TEXT_COLUMNS: [&str; 8] = ["id", "task", "variant", "split", "question", "choices", "answer", "objects"];

impl TextRow {
    fn example(self) -> Result<AuditExample> {
        let task: Task = self.task.parse().map_err(|e| anyhow!("row {}: {e}", self.id))?;
        let split = Split::ALL
            .into_iter()
            .find(|s| s.name() == self.split)
            .ok_or_else(|| anyhow!("row {}: unknown split '{}'", self.id, self.split))?;
        let answer = answer_index(&self.answer, &self.choices)
            .ok_or_else(|| anyhow!("row {}: answer '{}' is not one of its options", self.id, self.answer))?;
        Ok(AuditExample {
            task,
            split,
            variant: self.variant,
            blind: BlindExample {
                question: self.question,
                choices: self.choices,
                answer,
                category: asked_category(task, self.objects.into_iter().map(|o| o.category)),
            },
        })
    }
}

fn bar(total: u64, what: &str) -> ProgressBar {
    let style = ProgressStyle::with_template(&format!("{{bar:30}} {{pos}}/{{len}} {what} · eta {{eta}}"))
        .expect("valid template");
    ProgressBar::new(total).with_style(style)
}

/// Every example of the dataset in `dir`, from the shards its manifest lists (text columns
/// only: a 20K dataset of 4 GB reads in seconds).
pub fn read_dataset(dir: &DatasetDir) -> Result<Vec<AuditExample>> {
    let manifest = dir
        .manifest()
        .with_context(|| format!("{} is not a finished dataset (no readable manifest.json)", dir.root().display()))?;
    let progress = bar(manifest.examples, "examples read");
    let mut examples = Vec::new();
    for shard in &manifest.shards {
        let path = dir.root().join(&shard.path);
        for batch in ipt_schema::read_columns::<TextRow>(&path, &TEXT_COLUMNS)? {
            for row in batch? {
                examples.push(row.example().with_context(|| path.display().to_string())?);
                progress.inc(1);
            }
        }
    }
    progress.finish_and_clear();
    Ok(examples)
}

/// Every example of `config` planned (labels need no pixels), in parallel, with a progress
/// bar; what `generate` with this config would write, without rendering.
pub fn plan_dataset(generator: &Generator<'_>, config: &DatasetConfig) -> Result<Vec<AuditExample>> {
    let units = units(config);
    generator.prepare(&units);
    let jobs: Vec<_> = units.iter().flat_map(|u| (u.start..u.end).map(move |i| (u.stream, i))).collect();
    let progress = bar(jobs.len() as u64, "examples planned");
    let examples = jobs
        .par_iter()
        .map(|(stream, index)| {
            let planned = generator.plan(stream, *index)?;
            progress.inc(1);
            Ok(AuditExample::of_plan(&planned.plan, stream.split))
        })
        .collect::<Result<Vec<_>>>();
    progress.finish_and_clear();
    examples
}

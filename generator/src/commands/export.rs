//! `ipt-gen export DATASET --format F --regime R --out DIR`: a dataset's examples in the
//! format a training stack reads (see [`crate::export`] and docs/export.md).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::Args;
use ipt_schema::{Regime, Split, Task};

use crate::export::{ExportOptions, Format, Imagination, export};

/// Arguments of `ipt-gen export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The dataset folder (made by `generate`).
    pub dataset: PathBuf,
    /// The training stack's format: bagel (the IPT authors' BAGEL Parquet, imagination as an
    /// output image), llava (LLaVA-NeXT JSON + image folder), sharegpt (LLaMA-Factory), trl
    /// (a Hugging Face dataset for TRL's SFT trainer).
    #[arg(long, value_enum)]
    pub format: Format,
    /// What the examples teach: label (answer only), cot (chain of thought, then answer),
    /// ipt (think phrase, imagination, answer; bagel only), mixed (every example as ipt and
    /// as answer-only, two datasets of equal weight; bagel only).
    #[arg(long, value_name = "label|cot|ipt|mixed")]
    pub regime: Regime,
    /// Tasks, comma-separated: pet, pt, mvc.
    #[arg(long, value_delimiter = ',', default_values_t = Task::ALL.to_vec())]
    pub tasks: Vec<Task>,
    /// Splits, comma-separated: train, validation, test, benchmark.
    #[arg(long, value_delimiter = ',', default_values_t = vec![Split::Train])]
    pub splits: Vec<Split>,
    /// Text-only formats (llava, sharegpt, trl): leave the ground-truth imagination out
    /// (omit) or add it after the inputs as one more input image (input; the paper's
    /// ground truth in context).
    #[arg(long, value_enum, default_value_t = Imagination::Omit)]
    pub imagination: Imagination,
    /// Output folder: new, empty, or one `export` made before (exports of several formats
    /// and regimes share it and its image folder). A stopped export resumes here.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Runs `ipt-gen export`.
pub fn run(args: &ExportArgs) -> Result<()> {
    let start = Instant::now();
    let options = ExportOptions {
        dataset: args.dataset.clone(),
        format: args.format,
        regime: args.regime,
        tasks: args.tasks.clone(),
        splits: args.splits.clone(),
        imagination: args.imagination,
    };
    let summary = export(&options, &args.out)?;
    let resumed = if summary.written < summary.examples {
        format!(" ({} done before)", summary.examples - summary.written)
    } else {
        String::new()
    };
    println!(
        "exported {} examples{resumed} to {} in {:.1} s; point the stack at:",
        summary.examples,
        summary.folder.display(),
        start.elapsed().as_secs_f64()
    );
    for path in &summary.entry_points {
        println!("  {}", path.display());
    }
    Ok(())
}

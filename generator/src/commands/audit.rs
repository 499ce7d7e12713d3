//! `ipt-gen audit`: blind baselines of a dataset (or of a configuration's labels, without
//! rendering), as a table, `audit.json` and a section of the dataset card.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use clap::Args;
use ipt_scenes::AssetSources;

use super::generate::{DatasetArgs, config_of};
use super::load_assets;
use crate::audit::examples::{plan_dataset, read_dataset};
use crate::audit::report::{GUARD_MIN_EXAMPLES, SCORED_SPLITS};
use crate::audit::{AuditReport, audit};
use crate::dataset::pipeline::Generator;
use crate::dataset::store::{AUDIT_FILE, DatasetDir};

/// Arguments of `ipt-gen audit`.
#[derive(Debug, Args)]
#[command(after_long_help = "\
Baselines (each sees only text, never an image):
  letter_prior       the answer letter most often right in train
  options_only       a learned model of the option texts (words, numbers, their rank, gaps
                     and neighbours, which options appear together)
  question_only      a learned model of the question's words and word pairs, per letter
  question_options   both, plus question words crossed with each option
  category_majority  the answer text most often right in train for the category asked about

Each is trained on a task's train split and scored on test and benchmark, over all examples
and per variant, with a 95 % Wilson interval. Chance is 50 % for two options, 25 % for four.
A dataset whose baselines stay near chance cannot be answered without looking.

Examples:
  ipt-gen audit output/ipt-20k
  ipt-gen audit --plans-only --count 6000 --seed 3 --out audit.json
  ipt-gen audit --plans-only --config run.toml --fail-above 5")]
pub struct AuditArgs {
    /// The dataset folder (made by `generate`): `audit.json` is written into it and its card
    /// (README.md) shows the table.
    #[arg(value_name = "DIR", required_unless_present = "plans_only", conflicts_with = "plans_only")]
    pub dataset: Option<PathBuf>,
    /// Audit the labels of a configuration without rendering: plan every example that
    /// `generate` with the same flags would make (labels need no pixels, so this takes
    /// seconds to minutes) and audit those.
    #[arg(long)]
    pub plans_only: bool,
    /// The configuration to plan (with --plans-only), as `generate` takes it.
    #[command(flatten)]
    pub config: DatasetArgs,
    /// Also write the report as JSON here. [default: DIR/audit.json; with --plans-only, none]
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit with an error when a baseline beats chance by more than this many percentage
    /// points on a split of at least 200 examples (for scripts and CI).
    #[arg(long, value_name = "POINTS")]
    pub fail_above: Option<f64>,
}

/// Audits the finished dataset in `dir`: writes `audit.json`, adds the table to the dataset
/// card, prints it and warns (on standard error) about every baseline that beats chance.
pub fn audit_dataset(dir: &DatasetDir) -> Result<AuditReport> {
    let report = audit_folder(dir)?;
    print_report(&report, Some(&dir.root().join(AUDIT_FILE)));
    Ok(report)
}

/// Audits the finished dataset in `dir` and writes `audit.json` and the dataset card.
fn audit_folder(dir: &DatasetDir) -> Result<AuditReport> {
    let report = audit(&read_dataset(dir)?, "dataset");
    dir.write_audit(&report)?;
    Ok(report)
}

fn print_report(report: &AuditReport, written: Option<&Path>) {
    let splits: Vec<String> = SCORED_SPLITS.iter().map(|s| s.to_string()).collect();
    println!("blind baselines (trained on train, scored on {}):", splits.join(" and "));
    print!("{}", report.table());
    for warning in crate::audit::report::warnings(report) {
        eprintln!("warning: {warning}");
    }
    if let Some(path) = written {
        println!("audit written to {}", path.display());
    }
}

/// Runs `ipt-gen audit`.
pub fn run(sources: &AssetSources, args: &AuditArgs) -> Result<()> {
    let (report, written) = match &args.dataset {
        Some(folder) => {
            if args.config.any_given() {
                bail!("the dataset's own configuration is used: flags such as --count apply only with --plans-only");
            }
            (audit_folder(&DatasetDir::new(folder))?, Some(folder.join(AUDIT_FILE)))
        }
        None => {
            let config = config_of(sources, &args.config)?;
            let assets = load_assets(&config.asset_sources())?;
            let generator = Generator::new(&assets, &config)?;
            (audit(&plan_dataset(&generator, &config)?, "plans"), None)
        }
    };
    let written = match &args.out {
        Some(path) => {
            crate::files::write_atomic(path, &serde_json::to_vec_pretty(&report)?)?;
            Some(path.clone())
        }
        None => written,
    };
    print_report(&report, written.as_deref());
    if let Some(points) = args.fail_above {
        let above = report.above(points / 100.0, GUARD_MIN_EXAMPLES);
        if let Some(first) = above.first() {
            bail!(
                "{} score{} more than {points} points above chance (first: {} {} '{}' on {}: {:.1} %)",
                above.len(),
                if above.len() == 1 { "s" } else { "" },
                first.task,
                first.variant,
                first.baseline.name(),
                first.split,
                100.0 * first.score.accuracy
            );
        }
    }
    Ok(())
}

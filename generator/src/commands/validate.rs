//! `ipt-gen validate DIR`: checks a dataset (see [`crate::dataset::validate`]); exits
//! non-zero and names every bad shard and row.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Result, bail};
use clap::Args;

use super::load_assets;
use crate::dataset::pipeline::Generator;
use crate::dataset::store::DatasetDir;
use crate::dataset::validate::{Checks, validate};

/// Arguments of `ipt-gen validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The dataset folder (with manifest.json).
    pub dir: PathBuf,
    /// Skip re-deriving the labels (files, checksums, schema and images only; much faster).
    #[arg(long)]
    pub no_labels: bool,
    /// Print at most this many problems.
    #[arg(long, default_value_t = 50)]
    pub max_problems: usize,
}

/// Runs `ipt-gen validate`.
pub fn run(args: &ValidateArgs) -> Result<()> {
    let start = Instant::now();
    let dir = DatasetDir::new(&args.dir);
    let manifest = dir.manifest()?;
    let config = &manifest.config;
    let assets = load_assets(&config.asset_sources())?;
    let generator = Generator::new(&assets, config)?;
    let report = validate(&dir, &manifest, &generator, Checks { labels: !args.no_labels });
    for problem in report.problems.iter().take(args.max_problems) {
        println!("{problem}");
    }
    if report.problems.len() > args.max_problems {
        println!("... and {} more", report.problems.len() - args.max_problems);
    }
    let what = if args.no_labels { "files and images" } else { "files, images and labels" };
    println!(
        "checked {what} of {} shard files, {} rows in {:.0} s: {} problem(s)",
        report.files,
        report.rows,
        start.elapsed().as_secs_f64(),
        report.problems.len()
    );
    if !report.problems.is_empty() {
        let made_by = &manifest.generator;
        if !args.no_labels && made_by.git != env!("IPT_GIT_HASH") {
            println!(
                "note: the dataset was made by ipt-gen {} at commit {}, this is commit {}: labels that differ may come \
                 from a sampling change between the two (docs/tasks.md records them); validate with the build that made it",
                made_by.version,
                made_by.git,
                env!("IPT_GIT_HASH")
            );
        }
        bail!("{} is not valid", args.dir.display());
    }
    Ok(())
}

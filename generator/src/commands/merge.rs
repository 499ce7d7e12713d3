//! `ipt-gen merge`: joins the shards of workers (`generate --num-workers N --worker-index I`)
//! into one dataset: copies them from the workers' folders if those differ from `--out`,
//! checks that every shard is there, and writes the manifest, stats and dataset card.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;

use crate::dataset::layout::units;
use crate::dataset::store::DatasetDir;

/// Arguments of `ipt-gen merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The dataset folder to complete (may be where the workers wrote).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The workers' folders, if they wrote elsewhere.
    pub workers: Vec<PathBuf>,
    /// Skip the blind-baseline audit of the merged dataset (see `ipt-gen audit`).
    #[arg(long)]
    pub no_audit: bool,
}

/// Runs `ipt-gen merge`.
pub fn run(args: &MergeArgs) -> Result<()> {
    let out = DatasetDir::new(&args.out);
    let sources: Vec<DatasetDir> = args.workers.iter().map(|p| DatasetDir::new(p)).collect();
    let config = match sources.first() {
        Some(first) => first.config()?,
        None => out.config()?,
    };
    for source in &sources {
        if let Some(difference) = config.difference(&source.config()?) {
            bail!("{} was made with another configuration ({difference})", source.root().display());
        }
    }
    let _lock = out.lock(1, 0)?;
    out.claim(&config)?;
    let mut copied = 0;
    for unit in units(&config) {
        if out.finished(&unit).is_some() {
            continue;
        }
        if let Some(source) = sources.iter().find(|s| s.finished(&unit).is_some()) {
            out.adopt(source, &unit)?;
            copied += 1;
        }
    }
    let manifest = out.finalize(&config)?;
    println!(
        "merged {} shard files ({copied} shards copied), {} examples into {}",
        manifest.shards.len(),
        manifest.examples,
        args.out.display()
    );
    if !args.no_audit {
        super::audit::audit_dataset(&out)?;
    }
    Ok(())
}

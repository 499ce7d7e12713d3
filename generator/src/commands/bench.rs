//! `ipt-gen bench`: throughput measurements whose numbers go into docs/benchmarks.md.

use std::time::Instant;

use anyhow::Result;
use clap::{Args, Subcommand};
use ipt_scenes::{AssetSources, BuildOptions};

/// What to measure.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Scenes per second per template, on one thread.
    Scenes(ScenesArgs),
}

/// Arguments of `ipt-gen bench scenes`.
#[derive(Debug, Args)]
pub struct ScenesArgs {
    /// Seeds per template (0..N).
    #[arg(long, default_value_t = 200)]
    pub seeds: u64,
    /// Templates to measure [default: all].
    #[arg(long = "template", value_name = "NAME")]
    pub templates: Vec<String>,
}

/// Runs `ipt-gen bench ...`.
pub fn run(sources: &AssetSources, command: &BenchCommand) -> Result<()> {
    match command {
        BenchCommand::Scenes(args) => scenes(sources, args),
    }
}

fn scenes(sources: &AssetSources, args: &ScenesArgs) -> Result<()> {
    anyhow::ensure!(args.seeds > 0, "--seeds must be at least 1");
    let assets = super::load_assets(sources)?;
    let names = if args.templates.is_empty() { assets.template_names() } else { args.templates.clone() };
    let options = BuildOptions::default();
    println!("| template | scenes | scenes/s | ms/scene | objects/scene | attempts/scene |");
    println!("|---|---:|---:|---:|---:|---:|");
    let (mut total_scenes, mut total_seconds) = (0u64, 0f64);
    for name in &names {
        let template = assets.template(name)?;
        let (mut objects, mut attempts) = (0usize, 0u32);
        let start = Instant::now();
        for seed in 0..args.seeds {
            let scene = ipt_scenes::build_scene(&template, &assets.catalog, seed, &options)?;
            objects += scene.objects.len();
            attempts += scene.report.attempts;
        }
        let seconds = start.elapsed().as_secs_f64();
        let n = args.seeds as f64;
        println!(
            "| {name} | {} | {:.1} | {:.1} | {:.1} | {:.2} |",
            args.seeds,
            n / seconds,
            1000.0 * seconds / n,
            objects as f64 / n,
            f64::from(attempts) / n
        );
        total_scenes += args.seeds;
        total_seconds += seconds;
    }
    println!(
        "| all | {total_scenes} | {:.1} | {:.1} | | |",
        total_scenes as f64 / total_seconds,
        1000.0 * total_seconds / total_scenes as f64
    );
    Ok(())
}

//! `ipt-gen`: the command-line front of the generator. It parses arguments and calls library
//! code; nothing else happens here.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use ipt_gen::commands;

/// Generates imaginative-perception training data from procedural indoor scenes.
#[derive(Debug, Parser)]
#[command(name = "ipt-gen", version, about, long_about = None)]
struct Cli {
    /// Extra template folder (one *.toml per room type or apartment); files add to or replace
    /// the built-in templates of the same name. Repeatable.
    #[arg(long = "templates", value_name = "DIR", global = true)]
    template_dirs: Vec<PathBuf>,
    /// Extra catalog folder (one *.toml per object category, optional materials.toml); files
    /// add to or replace the built-in ones. Repeatable.
    #[arg(long = "catalog", value_name = "DIR", global = true)]
    catalog_dirs: Vec<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build one scene from a template and a seed; write it as JSON and optionally a plan PNG.
    Scene(commands::scene::SceneArgs),
    /// Render one view of a scene file: colour, and optionally instance ids and depth.
    Render(commands::render::RenderArgs),
    /// Plan and render a few examples of one task (images + JSON) to look at.
    Sample(commands::sample::SampleArgs),
    /// Generate a dataset of Parquet shards (resumable; shareable across machines with
    /// --num-workers/--worker-index).
    Generate(commands::generate::GenerateArgs),
    /// Join the workers' shards into one dataset (manifest, stats, dataset card).
    Merge(commands::merge::MergeArgs),
    /// Check a dataset: checksums, schema, row counts, images and every label.
    Validate(commands::validate::ValidateArgs),
    /// Write an HTML page with a few examples per task.
    Preview(commands::preview::PreviewArgs),
    /// List the loaded templates and object categories.
    Templates,
    /// Measure throughput; results are printed as a Markdown table.
    #[command(subcommand)]
    Bench(commands::bench::BenchCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let sources = ipt_scenes::AssetSources { catalog_dirs: cli.catalog_dirs, template_dirs: cli.template_dirs };
    let result = match cli.command {
        Command::Scene(args) => commands::scene::run(&sources, &args),
        Command::Render(args) => commands::render::run(&args),
        Command::Sample(args) => commands::sample::run(&sources, &args),
        Command::Generate(args) => commands::generate::run(&sources, &args),
        Command::Merge(args) => commands::merge::run(&args),
        Command::Validate(args) => commands::validate::run(&args),
        Command::Preview(args) => commands::preview::run(&args),
        Command::Templates => commands::templates::run(&sources),
        Command::Bench(bench) => commands::bench::run(&sources, &bench),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

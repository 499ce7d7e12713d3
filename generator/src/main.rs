//! `ipt-gen`: the command-line front of the generator. It parses arguments and calls library
//! code; nothing else happens here.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use ipt_gen::commands;
use ipt_gen::render::bevy_backend::cpu_raster_threads_each;
use ipt_scenes::{AssetSources, Looks};

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
    /// How objects look: `primitives` (boxes, cylinders, ...), `meshes` (artist-made models
    /// of the furniture library, `ipt-gen assets import`, and of --catalog folders) or `mixed`
    /// (either, per object). Default: meshes when the library is imported, else primitives.
    #[arg(long = "assets", value_name = "LOOKS", global = true)]
    looks: Option<LooksArg>,
    #[command(subcommand)]
    command: Command,
}

/// `--assets` values.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum LooksArg {
    Primitives,
    Meshes,
    Mixed,
}

impl From<LooksArg> for Looks {
    fn from(arg: LooksArg) -> Looks {
        match arg {
            LooksArg::Primitives => Looks::Primitives,
            LooksArg::Meshes => Looks::Meshes,
            LooksArg::Mixed => Looks::Mixed,
        }
    }
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
    /// Blind baselines: can the answers be guessed without the images? Trains text-only
    /// models on a dataset's train split and scores them on test and benchmark.
    Audit(commands::audit::AuditArgs),
    /// Write a dataset in the format a training stack reads: BAGEL (the IPT authors'),
    /// LLaVA, LLaMA-Factory (sharegpt) or TRL (resumable).
    Export(commands::export::ExportArgs),
    /// Check a dataset: checksums, schema, row counts, images and every label.
    Validate(commands::validate::ValidateArgs),
    /// Write an HTML page with a few examples per task.
    Preview(commands::preview::PreviewArgs),
    /// List the loaded templates and object categories.
    Templates,
    /// The free furniture library: import its models, or list them.
    #[command(subcommand)]
    Assets(commands::assets::AssetsCommand),
    /// Measure throughput; results are printed as a Markdown table.
    #[command(subcommand)]
    Bench(commands::bench::BenchCommand),
}

/// Mesa's Vulkan loader prints "XDG_RUNTIME_DIR is invalid or not set" once per device probe
/// on headless machines; a private runtime folder (mode 0700) silences it. Runs before any
/// thread starts.
fn ensure_runtime_dir() {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    if std::env::var_os("XDG_RUNTIME_DIR").is_some() {
        return;
    }
    let uid = std::fs::metadata("/proc/self").map(|m| m.uid()).unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("ipt-gen-runtime-{uid}"));
    let usable = std::fs::DirBuilder::new().mode(0o700).create(&dir).is_ok()
        || std::fs::metadata(&dir).is_ok_and(|m| m.is_dir() && m.uid() == uid);
    if usable {
        // SAFETY: called first thing in main, before any other thread exists.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", &dir) };
    }
}

/// Gives each of the renderers that `generate` or `bench generate` will run side by side its
/// share of lavapipe's raster threads (`LP_NUM_THREADS`, see [`cpu_raster_threads_each`]),
/// unless the variable is set already. Mesa reads it when a renderer starts; this runs before
/// any thread starts. It has no effect on a GPU.
fn share_cpu_rasteriser(sources: &AssetSources, command: &Command) {
    let renderers = match command {
        Command::Generate(args) => args.renderers_on_cpu(sources),
        Command::Bench(commands::bench::BenchCommand::Generate(args)) => args.renderers_on_cpu(),
        _ => return,
    };
    if std::env::var_os("LP_NUM_THREADS").is_some() {
        return;
    }
    if let Some(threads) = cpu_raster_threads_each(renderers) {
        // SAFETY: called in main before any other thread exists.
        unsafe { std::env::set_var("LP_NUM_THREADS", threads.to_string()) };
    }
}

fn main() -> ExitCode {
    ensure_runtime_dir();
    let cli = Cli::parse();
    let looks = cli.looks.map_or_else(Looks::installed, Looks::from);
    let sources = AssetSources { catalog_dirs: cli.catalog_dirs, template_dirs: cli.template_dirs, looks };
    share_cpu_rasteriser(&sources, &cli.command);
    let result = match cli.command {
        Command::Scene(args) => commands::scene::run(&sources, &args),
        Command::Render(args) => commands::render::run(&sources, &args),
        Command::Sample(args) => commands::sample::run(&sources, &args),
        Command::Generate(args) => commands::generate::run(&sources, &args),
        Command::Merge(args) => commands::merge::run(&args),
        Command::Audit(args) => commands::audit::run(&sources, &args),
        Command::Export(args) => commands::export::run(&args),
        Command::Validate(args) => commands::validate::run(&args),
        Command::Preview(args) => commands::preview::run(&args),
        Command::Templates => commands::templates::run(&sources),
        Command::Assets(command) => commands::assets::run(&sources, &command),
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

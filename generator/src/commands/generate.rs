//! `ipt-gen generate`: makes a dataset of Parquet shards (see docs/schema.md), resumable and
//! shareable across machines (see docs/scaling.md).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Result, anyhow, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use ipt_scenes::AssetSources;

use super::bench::process_cpu_seconds;
use super::load_assets;
use crate::dataset::config::DatasetConfig;
use crate::dataset::layout::worker_units;
use crate::dataset::pipeline::{Generator, generate};
use crate::dataset::rendering::Renderers;
use crate::dataset::store::DatasetDir;
use crate::render::Renderer;
use crate::render::bevy_backend::{BevyRenderer, RendererOptions, side_by_side_on_cpu};
use crate::tasks::Task;

/// What a dataset is made of: the flags `generate` and `audit --plans-only` share.
#[derive(Debug, Args)]
pub struct DatasetArgs {
    /// A TOML file with any of the settings below (and `mix`, `splits`, `benchmark`); flags
    /// given on the command line win. See docs/scaling.md for an example.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Tasks, comma-separated, in equal shares: pet, pt, mvc. [default: all three]
    #[arg(long, value_delimiter = ',')]
    pub tasks: Option<Vec<Task>>,
    /// Train + validation + test examples; the benchmark split comes on top. [default: 1000]
    #[arg(long)]
    pub count: Option<u64>,
    /// Seed of everything random. [default: 0]
    #[arg(long)]
    pub seed: Option<u64>,
    /// Width and height of first-person images, pixels. [default: 512]
    #[arg(long)]
    pub resolution: Option<u32>,
    /// Shares of train, validation and test, e.g. 0.9,0.05,0.05. [default: 0.9,0.05,0.05]
    #[arg(long, value_delimiter = ',', value_name = "TRAIN,VAL,TEST")]
    pub splits: Option<Vec<f64>>,
    /// Benchmark examples per task, e.g. pet=238,pt=329,mvc=260 (the default), or 0 for none.
    #[arg(long, value_name = "TASK=N,...")]
    pub benchmark: Option<String>,
    /// Only these templates (comma-separated). [default: every loaded template]
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub only_templates: Option<Vec<String>>,
    /// Examples per shard. [default: about 100 MB of images: 400 at 256 px, 100 at 512 px]
    #[arg(long)]
    pub shard_rows: Option<u64>,
    /// Largest size of a shard file, e.g. 500MB or 2GiB; a shard that would be larger is
    /// written as several files. 0: no bound. [default: 500MB]
    #[arg(long, value_name = "SIZE", value_parser = parse_shard_max_bytes)]
    pub shard_max_bytes: Option<u64>,
    /// Also store instance-id images (`images_ids`, `imagination_ids`).
    #[arg(long)]
    pub with_ids: bool,
    /// Also store depth images (`images_depth`, `imagination_depth`; 16-bit PNG, mm).
    #[arg(long)]
    pub with_depth: bool,
}

/// Arguments of `ipt-gen generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Output folder; re-running the same command into it resumes an interrupted run.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub dataset: DatasetArgs,
    /// Number of workers sharing the dataset (e.g. a Slurm array's size).
    #[arg(long, default_value_t = 1)]
    pub num_workers: u64,
    /// This worker's index, 0-based (e.g. $SLURM_ARRAY_TASK_ID or $JOB_COMPLETION_INDEX).
    #[arg(long, default_value_t = 0)]
    pub worker_index: u64,
    /// Graphics adapter to use (part of its name); default: a GPU if there is one.
    #[arg(long, value_name = "NAME")]
    pub adapter: Option<String>,
    /// Renderers working side by side, each on a thread of its own; the images do not
    /// depend on it. On a CPU rasteriser (lavapipe) they share the cores: each gets
    /// cores / N raster threads unless LP_NUM_THREADS is set. [default: 2 when the adapter
    /// rasterises on the CPU (no GPU), there are at least 2 cores and the resolution is
    /// below 512, else 1]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=16))]
    pub renderers: Option<u16>,
    /// Skip the blind-baseline audit at the end (`ipt-gen audit`; it reads only the text
    /// columns and takes seconds). The audit warns when the answers can be guessed without
    /// the images.
    #[arg(long)]
    pub no_audit: bool,
}

impl DatasetArgs {
    /// Whether any setting was given on the command line.
    pub fn any_given(&self) -> bool {
        self.config.is_some()
            || self.tasks.is_some()
            || self.count.is_some()
            || self.seed.is_some()
            || self.resolution.is_some()
            || self.splits.is_some()
            || self.benchmark.is_some()
            || self.only_templates.is_some()
            || self.shard_rows.is_some()
            || self.shard_max_bytes.is_some()
            || self.with_ids
            || self.with_depth
    }
}

impl GenerateArgs {
    /// The renderers this run will use if the adapter rasterises on the CPU: `--renderers`,
    /// or the default for the run's resolution (one if the config cannot be read; `run`
    /// reports why).
    pub fn renderers_on_cpu(&self, sources: &AssetSources) -> usize {
        self.renderers.map_or_else(
            || config_of(sources, &self.dataset).map_or(1, |config| side_by_side_on_cpu(config.resolution)),
            usize::from,
        )
    }
}

fn parse_shard_max_bytes(text: &str) -> Result<u64, String> {
    crate::dataset::config::parse_size(text).map_err(|e| e.to_string())
}

fn parse_benchmark(text: &str) -> Result<BTreeMap<Task, u64>> {
    if text.trim() == "0" {
        return Ok(BTreeMap::new());
    }
    let mut sizes = BTreeMap::new();
    for part in text.split(',') {
        let Some((task, count)) = part.split_once('=') else {
            bail!("--benchmark: '{part}' is not TASK=N (e.g. pet=238,pt=329,mvc=260)");
        };
        let task: Task = task.trim().parse().map_err(|e| anyhow::anyhow!("--benchmark: {e}"))?;
        let count: u64 = count.trim().parse().map_err(|_| anyhow::anyhow!("--benchmark: '{count}' is not a count"))?;
        sizes.insert(task, count);
    }
    Ok(sizes)
}

/// The run's config: the file (or defaults) with the command line's flags on top.
pub fn config_of(sources: &AssetSources, args: &DatasetArgs) -> Result<DatasetConfig> {
    let mut config = match &args.config {
        Some(path) => DatasetConfig::read(path)?,
        None => DatasetConfig::default(),
    };
    if let Some(tasks) = &args.tasks {
        config.mix = tasks.iter().map(|&t| (t, 1.0)).collect();
    }
    if let Some(count) = args.count {
        config.count = count;
    }
    if let Some(seed) = args.seed {
        config.seed = seed;
    }
    if let Some(resolution) = args.resolution {
        config.resolution = resolution;
    }
    if let Some(shares) = &args.splits {
        if shares.len() != 3 {
            bail!("--splits: give three shares, train,validation,test (e.g. 0.9,0.05,0.05)");
        }
        config.splits =
            crate::dataset::config::SplitShares { train: shares[0], validation: shares[1], test: shares[2] };
    }
    if let Some(text) = &args.benchmark {
        config.benchmark = parse_benchmark(text)?;
    }
    if let Some(templates) = &args.only_templates {
        config.templates = templates.clone();
    }
    if let Some(rows) = args.shard_rows {
        config.shard_rows = rows;
    }
    if let Some(bytes) = args.shard_max_bytes {
        config.shard_max_bytes = bytes;
    }
    config.with_ids |= args.with_ids;
    config.with_depth |= args.with_depth;
    if !sources.template_dirs.is_empty() {
        config.template_dirs = sources.template_dirs.clone();
    }
    if !sources.catalog_dirs.is_empty() {
        config.catalog_dirs = sources.catalog_dirs.clone();
    }
    config.assets = sources.looks;
    config.check()?;
    Ok(config)
}

/// Runs `ipt-gen generate`.
pub fn run(sources: &AssetSources, args: &GenerateArgs) -> Result<()> {
    if args.num_workers == 0 || args.worker_index >= args.num_workers {
        bail!("--worker-index must be below --num-workers ({} of {})", args.worker_index, args.num_workers);
    }
    let config = config_of(sources, &args.dataset)?;
    let dir = DatasetDir::new(&args.out);
    let _lock = dir.lock(args.num_workers, args.worker_index)?;
    dir.claim(&config)?;
    let assets = load_assets(&config.asset_sources())?;
    let generator = Generator::new(&assets, &config)?;
    let units = worker_units(&config, args.num_workers, args.worker_index);
    let mut todo = Vec::new();
    for unit in &units {
        if dir.finished(unit).is_none() {
            dir.discard_partial(unit)?;
            todo.push(*unit);
        }
    }
    let total: u64 = units.iter().map(|u| u.rows()).sum();
    let remaining: u64 = todo.iter().map(|u| u.rows()).sum();
    let worker = if args.num_workers > 1 {
        format!(" (worker {} of {})", args.worker_index, args.num_workers)
    } else {
        String::new()
    };
    if remaining < total {
        eprintln!("resuming{worker}: {} of {total} examples are already in finished shards", total - remaining);
    }
    let start = Instant::now();
    let mut startup_seconds = 0.0;
    let mut cpu_line = None;
    if !todo.is_empty() {
        // Calibration keeps the rayon pool busy while the renderer starts on this thread.
        let options = RendererOptions { adapter: args.adapter.clone() };
        let renderer = std::thread::scope(|scope| {
            let calibration = scope.spawn(|| generator.prepare(&todo));
            let renderer = BevyRenderer::new(&options);
            calibration.join().map_err(|_| anyhow!("the calibration thread panicked"))?;
            renderer
        })?;
        let side_by_side = args.renderers.map_or_else(|| renderer.default_side_by_side(config.resolution), usize::from);
        let mut renderers = Renderers::start(renderer, side_by_side - 1, move |_| BevyRenderer::new(&options))?;
        eprintln!("adapter: {}; renderers: {}", renderers.first().adapter(), renderers.count());
        startup_seconds = start.elapsed().as_secs_f64();
        let progress = ProgressBar::new(total).with_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} examples · {per_sec} · eta {eta} · {msg}")
                .expect("valid template"),
        );
        progress.set_position(total - remaining);
        progress.reset_eta();
        let cpu = process_cpu_seconds();
        let stages = generate(&generator, &dir, &todo, &mut renderers, &progress)?;
        progress.finish_and_clear();
        cpu_line = Some(stages.per_example(process_cpu_seconds() - cpu, remaining));
    }
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "made {remaining} examples{worker}, {} shard{}, in {seconds:.0} s: {startup_seconds:.0} s to start \
         (calibration, renderer), then {:.2} examples/s",
        todo.len(),
        if todo.len() == 1 { "" } else { "s" },
        remaining as f64 / (seconds - startup_seconds).max(1e-9),
    );
    if let Some(line) = cpu_line {
        println!("CPU time per example: {line}");
    }
    if args.num_workers > 1 {
        println!(
            "when every worker is done: ipt-gen merge --out {} (plus the workers' folders if they differ)",
            args.out.display()
        );
        return Ok(());
    }
    let manifest = dir.finalize(&config)?;
    if !args.no_audit {
        super::audit::audit_dataset(&dir)?;
    }
    let root = std::fs::canonicalize(&args.out).unwrap_or(args.out.clone());
    println!("dataset: {} ({} examples, {} shard files)", root.display(), manifest.examples, manifest.shards.len());
    println!("  manifest.json, stats.json, README.md (dataset card), data/<split>/<task>-*.parquet");
    println!("load it in Python:");
    println!("  from datasets import load_dataset");
    println!("  ds = load_dataset(\"{}\")          # all tasks; or add \"pet\", \"pt\", \"mvc\"", root.display());
    println!("  ds[\"train\"][0][\"imagination\"]   # a PIL image");
    println!("check it: ipt-gen validate {}   look at it: ipt-gen preview {}", root.display(), root.display());
    Ok(())
}

//! `ipt-gen bench generate`: the dataset pipeline's rate against rendering alone, in one
//! run. A sample of the dataset's examples is planned, then rendered with nothing else
//! running (timed, after a warm-up, once before and once after the pipeline, so that a drift
//! of the machine's speed during the run shows): the render-only rate. In between the whole
//! dataset is generated as `ipt-gen generate` would, while a thread samples resident memory.
//! CPU time per example is reported for each part: on a machine without a GPU, rendering
//! and planning share the same cores, so it bounds the rate.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use ipt_scenes::AssetSources;
use rayon::prelude::*;

use super::bench::{process_cpu_seconds, resident_mib};
use super::load_assets;
use crate::dataset::config::DatasetConfig;
use crate::dataset::layout::{Split, Unit, units};
use crate::dataset::pipeline::{Generator, generate};
use crate::dataset::rendering::{Job, Renderers};
use crate::dataset::store::DatasetDir;
use crate::render::bevy_backend::{BevyRenderer, RendererOptions, cores, side_by_side_on_cpu};
use crate::render::{Outputs, Renderer};

/// Arguments of `ipt-gen bench generate`.
#[derive(Debug, Args)]
pub struct PipelineBenchArgs {
    /// Examples (all three tasks in equal shares, default splits, no benchmark split).
    #[arg(long, default_value_t = 1000)]
    pub count: u64,
    /// Image width and height.
    #[arg(long, default_value_t = 256)]
    pub resolution: u32,
    /// Examples rendered alone (after a warm-up), before and again after the pipeline, the
    /// same number from each task.
    #[arg(long, default_value_t = 300)]
    pub render_sample: u64,
    /// Where the dataset is written (must not exist).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Graphics adapter (part of its name).
    #[arg(long, value_name = "NAME")]
    pub adapter: Option<String>,
    /// Renderers side by side, in the render-only sample and in the pipeline alike.
    /// [default: as `ipt-gen generate`]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=16))]
    pub renderers: Option<u16>,
}

impl PipelineBenchArgs {
    /// The renderers this run will use if the adapter rasterises on the CPU.
    pub fn renderers_on_cpu(&self) -> usize {
        self.renderers.map_or_else(|| side_by_side_on_cpu(self.resolution), usize::from)
    }
}

/// Examples of each task rendered before the timed render-only sample.
const WARM_UP_PER_TASK: u64 = 8;

/// A timed render-only run.
struct RenderOnly {
    examples: usize,
    seconds: f64,
    cpu_seconds: f64,
}

impl RenderOnly {
    fn rate(&self) -> f64 {
        self.examples as f64 / self.seconds
    }
}

/// Renders `jobs` (colour only) with nothing else running, timed.
fn render_only(renderers: &mut Renderers<BevyRenderer>, jobs: Vec<Job>) -> Result<RenderOnly> {
    let examples = jobs.len();
    let outputs = Outputs { rgb: true, ids: false, depth: false };
    let (start, cpu) = (Instant::now(), process_cpu_seconds());
    let (done, rendered) = sync_channel(1);
    std::thread::scope(|scope| {
        scope.spawn(move || rendered.into_iter().count());
        renderers.render(jobs.into_iter().map(Ok), outputs, done)
    })?;
    Ok(RenderOnly { examples, seconds: start.elapsed().as_secs_f64(), cpu_seconds: process_cpu_seconds() - cpu })
}

/// Resident memory sampled every half second: (seconds since start, MiB).
fn sample_memory(stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Vec<(f64, f64)>> {
    std::thread::spawn(move || {
        let start = Instant::now();
        let mut samples = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            samples.push((start.elapsed().as_secs_f64(), resident_mib()));
            std::thread::sleep(Duration::from_millis(500));
        }
        samples
    })
}

/// Peak memory in the first and the last tenth of a run.
fn tenths(samples: &[(f64, f64)]) -> (f64, f64, f64) {
    let end = samples.last().map_or(0.0, |s| s.0);
    let peak =
        |from: f64, to: f64| samples.iter().filter(|s| s.0 >= from && s.0 <= to).map(|s| s.1).fold(0.0, f64::max);
    (peak(0.0, 0.1 * end), peak(0.9 * end, end), peak(0.0, end))
}

/// Runs `ipt-gen bench generate`.
pub fn run(sources: &AssetSources, args: &PipelineBenchArgs) -> Result<()> {
    if args.out.exists() {
        bail!("{} exists; give a new folder", args.out.display());
    }
    let config = DatasetConfig {
        count: args.count,
        resolution: args.resolution,
        benchmark: Default::default(),
        template_dirs: sources.template_dirs.clone(),
        catalog_dirs: sources.catalog_dirs.clone(),
        assets: sources.looks,
        ..DatasetConfig::default()
    };
    config.check()?;
    let assets = load_assets(sources)?;
    let generator = Generator::new(&assets, &config)?;
    let all = units(&config);
    generator.prepare(&all);
    let options = RendererOptions { adapter: args.adapter.clone() };
    let renderer = BevyRenderer::new(&options)?;
    let side_by_side = args.renderers.map_or_else(|| renderer.default_side_by_side(args.resolution), usize::from);
    let mut renderers = Renderers::start(renderer, side_by_side - 1, move |_| BevyRenderer::new(&options))?;
    println!("adapter: {}; renderers: {}", renderers.first().adapter(), renderers.count());

    // Render-only: the first examples of each task's training stream, after a warm-up (the
    // rasteriser compiles its shaders on first use), before and after the pipeline.
    let firsts: Vec<Unit> = all.iter().filter(|u| u.shard == 0 && u.stream.split == Split::Train).copied().collect();
    let per_task = args.render_sample.div_ceil(firsts.len().max(1) as u64);
    let sample = |count: u64| -> Vec<(Unit, u64)> {
        firsts.iter().flat_map(|u| (0..count.min(u.stream.count)).map(move |i| (*u, i))).collect()
    };
    let plan = |sample: &[(Unit, u64)]| -> Result<Vec<Job>> {
        sample
            .par_iter()
            .map(|&(unit, index)| Ok(Job { unit, index, planned: generator.plan(&unit.stream, index)? }))
            .collect()
    };
    render_only(&mut renderers, plan(&sample(WARM_UP_PER_TASK))?)?;
    let sample = sample(per_task);
    let cpu = process_cpu_seconds();
    let jobs = plan(&sample)?;
    let plan_cpu_ms = 1000.0 * (process_cpu_seconds() - cpu) / sample.len().max(1) as f64;
    let before = render_only(&mut renderers, jobs)?;

    // The whole pipeline.
    let dir = DatasetDir::new(&args.out);
    let _lock = dir.lock(1, 0)?;
    dir.claim(&config)?;
    let total: u64 = all.iter().map(|u| u.rows()).sum();
    let progress = ProgressBar::new(total).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} examples · {per_sec} · eta {eta} · {msg}")
            .expect("valid template"),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let memory = sample_memory(stop.clone());
    let (start, cpu) = (Instant::now(), process_cpu_seconds());
    let stages = generate(&generator, &dir, &all, &mut renderers, &progress)?;
    let seconds = start.elapsed().as_secs_f64();
    let cpu_seconds = process_cpu_seconds() - cpu;
    stop.store(true, Ordering::Relaxed);
    progress.finish_and_clear();
    let manifest = dir.finalize(&config)?;
    let (first, last, peak) = tenths(&memory.join().unwrap_or_default());
    let after = render_only(&mut renderers, plan(&sample)?)?;
    let sampled = 2 * sample.len();
    let render_rate = sampled as f64 / (before.seconds + after.seconds);
    let render_cpu_ms = 1000.0 * (before.cpu_seconds + after.cpu_seconds) / sampled.max(1) as f64;
    let rate = total as f64 / seconds;
    let bytes: u64 = manifest.shards.iter().map(|s| s.bytes).sum();
    println!(
        "| resolution | examples | time | pipeline examples/s | render-only examples/s ({} examples before and after) | pipeline / render-only | dataset size | peak memory | memory, first -> last tenth |",
        sample.len()
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {} px | {total} | {:.1} min | {rate:.2} | {render_rate:.2} ({:.2}, {:.2}) | {:.2} | {:.2} GB | {peak:.0} MiB | {first:.0} -> {last:.0} MiB ({:+.1} %) |",
        args.resolution,
        seconds / 60.0,
        before.rate(),
        after.rate(),
        rate / render_rate,
        bytes as f64 / 1e9,
        100.0 * (last - first) / first.max(1.0)
    );
    println!();
    println!(
        "CPU time per example (all threads): planning {plan_cpu_ms:.0} ms and rendering {render_cpu_ms:.0} ms (the sample, each alone); the whole pipeline {:.0} ms, using {:.2} of {} cores",
        1000.0 * cpu_seconds / total as f64,
        cpu_seconds / seconds,
        cores()
    );
    println!("CPU time per example in the pipeline: {}", stages.per_example(cpu_seconds, total));
    Ok(())
}

//! `ipt-gen bench`: throughput measurements whose numbers go into docs/benchmarks.md.

use std::time::Instant;

use anyhow::Result;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use ipt_scenes::{AssetSources, BuildOptions};

use crate::render::bevy_backend::{BevyRenderer, RendererOptions};
use crate::render::{Outputs, Renderer, ViewRequest, walkable_views};
use crate::tasks::driver::Planner;
use crate::tasks::render::render_plan;
use crate::tasks::{Task, TaskSettings};

/// What to measure.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Scenes per second per template, on one thread.
    Scenes(ScenesArgs),
    /// Images per second of the renderer, and its memory over many renders and scene swaps.
    Render(RenderBenchArgs),
    /// Examples per second of task planning (one thread, scene build included) against
    /// rendering the same examples.
    Plans(PlansArgs),
    /// Examples per second of `generate` (the whole pipeline) against rendering alone the
    /// same kind of examples, with peak memory and memory growth over the run.
    Generate(super::pipeline_bench::PipelineBenchArgs),
}

/// Arguments of `ipt-gen bench plans`.
#[derive(Debug, Args)]
pub struct PlansArgs {
    /// Examples planned per task (templates in turn).
    #[arg(long, default_value_t = 200)]
    pub examples: u64,
    /// Of those, examples rendered per task (colour images of inputs and imagination).
    #[arg(long, default_value_t = 20)]
    pub rendered: u64,
    /// Image width and height.
    #[arg(long, default_value_t = 512)]
    pub resolution: u32,
    /// Graphics adapter (part of its name).
    #[arg(long, value_name = "NAME")]
    pub adapter: Option<String>,
}

/// Arguments of `ipt-gen bench render`.
#[derive(Debug, Args)]
pub struct RenderBenchArgs {
    /// Views per measured setting.
    #[arg(long, default_value_t = 200)]
    pub views: usize,
    /// For the memory run: scene swaps, each followed by `--views-per-scene` renders.
    #[arg(long, default_value_t = 200)]
    pub scenes: u64,
    /// For the memory run: renders per scene (one of them a top-down map).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..))]
    pub views_per_scene: u64,
    /// Skip the memory run.
    #[arg(long)]
    pub no_memory: bool,
    /// Graphics adapter (part of its name).
    #[arg(long, value_name = "NAME")]
    pub adapter: Option<String>,
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
        BenchCommand::Render(args) => render(sources, args),
        BenchCommand::Plans(args) => plans(sources, args),
        BenchCommand::Generate(args) => super::pipeline_bench::run(sources, args),
    }
}

fn plans(sources: &AssetSources, args: &PlansArgs) -> Result<()> {
    let assets = super::load_assets(sources)?;
    let templates = assets.template_names();
    let settings = TaskSettings { resolution: args.resolution, strict: false };
    let mut renderer = BevyRenderer::new(&RendererOptions { adapter: args.adapter.clone() })?;
    println!("adapter: {}", renderer.adapter());
    let planner = Planner::new(&assets, settings);
    println!(
        "| task | examples planned | plans/s (1 thread) | views/example | examples rendered | renders/s | planning / rendering speed |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for task in Task::ALL {
        // Calibration is a one-off cost per run, not per example.
        planner.prepare(&[task]);
        let start = Instant::now();
        let mut planned = Vec::new();
        for index in 0..args.examples {
            let template = &templates[index as usize % templates.len()];
            planned.push(planner.plan(template, task, 0, index)?);
        }
        let plan_rate = args.examples as f64 / start.elapsed().as_secs_f64();
        let views: usize = planned.iter().map(|p| p.plan.inputs.len() + 1).sum();
        let rendered = &planned[..(args.rendered as usize).min(planned.len())];
        let start = Instant::now();
        for example in rendered {
            renderer.load_scene(&example.scene)?;
            render_plan(&mut renderer, &example.plan, Outputs::RGB)?;
        }
        let render_rate = rendered.len() as f64 / start.elapsed().as_secs_f64();
        println!(
            "| {task} | {} | {plan_rate:.1} | {:.1} | {} | {render_rate:.2} | {:.0}x |",
            args.examples,
            views as f64 / planned.len() as f64,
            rendered.len(),
            plan_rate / render_rate
        );
    }
    Ok(())
}

fn scenes(sources: &AssetSources, args: &ScenesArgs) -> Result<()> {
    anyhow::ensure!(args.seeds > 0, "--seeds must be at least 1");
    let assets = super::load_assets(sources)?;
    let names = if args.templates.is_empty() { assets.template_names() } else { args.templates.clone() };
    let options = BuildOptions::default();
    println!("| template | scenes | scenes/s | ms/scene | objects/scene | attempts/scene | seeds without a layout |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let (mut total_scenes, mut total_seconds) = (0u64, 0f64);
    for name in &names {
        assets.template(name)?;
        let (mut objects, mut attempts, mut unbuilt) = (0usize, 0u32, 0u64);
        let start = Instant::now();
        for seed in 0..args.seeds {
            // A seed without a layout is skipped, as dataset generation skips it.
            match assets.build(name, seed, &options) {
                Ok(scene) => {
                    objects += scene.objects.len();
                    attempts += scene.report.attempts;
                }
                Err(_) => unbuilt += 1,
            }
        }
        let seconds = start.elapsed().as_secs_f64();
        let (n, built) = (args.seeds as f64, (args.seeds - unbuilt).max(1) as f64);
        println!(
            "| {name} | {} | {:.1} | {:.1} | {:.1} | {:.2} | {unbuilt} |",
            args.seeds,
            n / seconds,
            1000.0 * seconds / n,
            objects as f64 / built,
            f64::from(attempts) / built
        );
        total_scenes += args.seeds;
        total_seconds += seconds;
    }
    println!(
        "| all | {total_scenes} | {:.1} | {:.1} | | | |",
        total_scenes as f64 / total_seconds,
        1000.0 * total_seconds / total_scenes as f64
    );
    Ok(())
}

/// CPU time this process has used so far, all threads, user and system, seconds (Linux;
/// 0 elsewhere). On a machine shared by the renderer's threads and the planner, CPU time per
/// example says what a change saves better than wall time does.
pub fn process_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or_default().split_whitespace().collect();
    let ticks: f64 = fields.get(11..13).map_or(0.0, |t| t.iter().filter_map(|v| v.parse::<f64>().ok()).sum());
    // /proc reports clock ticks of USER_HZ, which Linux fixes at 100 per second.
    ticks / 100.0
}

/// Resident memory of this process, MiB (Linux).
pub fn resident_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

fn render(sources: &AssetSources, args: &RenderBenchArgs) -> Result<()> {
    anyhow::ensure!(args.views > 0, "--views must be at least 1");
    let assets = super::load_assets(sources)?;
    let mut renderer = BevyRenderer::new(&RendererOptions { adapter: args.adapter.clone() })?;
    println!("adapter: {}", renderer.adapter());
    let scene = assets.build("living_room", 0, &BuildOptions::default())?;
    renderer.load_scene(&scene)?;
    println!("| setting | views | views/s | images/s | ms/view |");
    println!("|---|---:|---:|---:|---:|");
    let settings = [
        ("64 px RGB (fixed cost per view)", 64, Outputs::RGB),
        ("256 px RGB", 256, Outputs::RGB),
        ("256 px RGB + ids", 256, Outputs { rgb: true, ids: true, depth: false }),
        ("256 px RGB + ids + depth", 256, Outputs::ALL),
        ("512 px RGB", 512, Outputs::RGB),
        ("512 px RGB + ids", 512, Outputs { rgb: true, ids: true, depth: false }),
    ];
    for (name, size, outputs) in settings {
        let views = walkable_views(&scene, args.views, size, outputs);
        renderer.render(&views[..views.len().min(4)])?;
        let start = Instant::now();
        renderer.render(&views)?;
        let seconds = start.elapsed().as_secs_f64();
        println!(
            "| {name} | {} | {:.1} | {:.1} | {:.1} |",
            args.views,
            args.views as f64 / seconds,
            (args.views * outputs.count()) as f64 / seconds,
            1000.0 * seconds / args.views as f64
        );
    }
    if args.no_memory {
        return Ok(());
    }
    let total = args.scenes * args.views_per_scene;
    let progress = ProgressBar::new(total).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} renders, {per_sec}, eta {eta} {msg}")
            .expect("valid template"),
    );
    let mut samples = Vec::new();
    let templates = assets.template_names();
    for i in 0..args.scenes {
        let template = &templates[i as usize % templates.len()];
        let scene = assets.build(template, i, &BuildOptions::default())?;
        renderer.load_scene(&scene)?;
        // Like generation: first-person views plus a top-down map, whose height (and so its
        // camera and target) differs from scene to scene.
        let outputs = Outputs { rgb: true, ids: true, depth: false };
        let mut views = walkable_views(&scene, (args.views_per_scene - 1) as usize, 256, outputs);
        views.push(ViewRequest::top_down(&scene, 256, outputs));
        renderer.render(&views)?;
        progress.inc(args.views_per_scene);
        let rss = resident_mib();
        progress.set_message(format!("{rss:.0} MiB"));
        samples.push(rss);
    }
    progress.finish();
    let tenth = (samples.len() / 10).max(1);
    let early = samples[..tenth].iter().copied().fold(0.0, f64::max);
    let late = samples[samples.len() - tenth..].iter().copied().fold(0.0, f64::max);
    let trace: Vec<String> =
        samples.chunks(tenth).map(|c| format!("{:.0}", c.iter().copied().fold(0.0, f64::max))).collect();
    println!("memory trace (peak MiB per tenth of the run): {}", trace.join(" "));
    println!(
        "memory: {} renders over {} scene swaps; resident {:.0} MiB after the first tenth, {:.0} MiB at the end ({:+.1} %), peak {:.0} MiB",
        total,
        args.scenes,
        early,
        late,
        100.0 * (late - early) / early,
        samples.iter().copied().fold(0.0, f64::max)
    );
    Ok(())
}

//! `ipt-gen sample`: plan and render a few examples of one task so a person can look at them:
//! each example's images as PNG files, everything else as JSON, and a page (`example.md`)
//! that shows the images beside the question, options, answer and chain of thought.

use std::path::PathBuf;

use anyhow::{Context, Result, ensure};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use ipt_scenes::AssetSources;

use super::load_assets;
use crate::files::{png_bytes, write_atomic};
use crate::render::Outputs;
use crate::render::Renderer;
use crate::render::bevy_backend::{BevyRenderer, RendererOptions};
use crate::tasks::driver::Planner;
use crate::tasks::render::render_plan;
use crate::tasks::{ExamplePlan, Task, TaskSettings};

/// Arguments of `ipt-gen sample`.
#[derive(Debug, Args)]
pub struct SampleArgs {
    /// The task: pet (Perspective Taking), pt (Path Tracing) or mvc (Multiview Counting).
    #[arg(long)]
    pub task: Task,
    /// Template to build scenes from (see `ipt-gen templates`).
    #[arg(long)]
    pub template: String,
    /// Seed; example k is planned from (seed, k), so a larger --count keeps the first ones.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Number of examples.
    #[arg(long, default_value_t = 4)]
    pub count: u64,
    /// Output folder; each example gets a sub-folder `<task>-<template>-<seed>-<k>`.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Width and height of first-person images (maps are this wide).
    #[arg(long, default_value_t = 512)]
    pub resolution: u32,
    /// Use the benchmark split's stricter margins.
    #[arg(long)]
    pub strict: bool,
    /// Also write instance-id images (`*_ids.png`, id = r + 256 g + 65536 b).
    #[arg(long)]
    pub with_ids: bool,
    /// Only write the JSON plans (no rendering, no graphics adapter needed).
    #[arg(long)]
    pub plans_only: bool,
    /// Graphics adapter to use (part of its name); default: a GPU if there is one.
    #[arg(long, value_name = "NAME")]
    pub adapter: Option<String>,
}

/// Runs `ipt-gen sample`.
pub fn run(sources: &AssetSources, args: &SampleArgs) -> Result<()> {
    ensure!((64..=4096).contains(&args.resolution), "--resolution must be between 64 and 4096 pixels");
    let assets = load_assets(sources)?;
    assets.template(&args.template).map_err(|e| anyhow::anyhow!("{e}"))?;
    let settings = TaskSettings { resolution: args.resolution, strict: args.strict };
    let planner = Planner::new(&assets, settings);
    planner.prepare(&[args.task]);
    let mut renderer = if args.plans_only {
        None
    } else {
        let renderer = BevyRenderer::new(&RendererOptions { adapter: args.adapter.clone() })?;
        eprintln!("adapter: {}", renderer.adapter());
        Some(renderer)
    };
    let progress = ProgressBar::new(args.count).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} examples, {per_sec}, eta {eta}").expect("valid template"),
    );
    let outputs = Outputs { rgb: true, ids: args.with_ids, depth: false };
    for k in 0..args.count {
        let planned = planner.plan(&args.template, args.task, args.seed, k)?;
        let folder = args.out.join(format!("{}-{}-{}-{k:03}", args.task, args.template, args.seed));
        if let Some(renderer) = renderer.as_mut() {
            renderer.load_scene(&planned.scene)?;
            let rendered = render_plan(renderer, &planned.plan, outputs)?;
            let views = rendered.inputs.iter().enumerate().map(|(i, v)| (format!("input_{}", i + 1), v));
            for (name, view) in views.chain(std::iter::once(("imagination".to_string(), &rendered.imagination))) {
                let rgb = view.rgb.as_ref().context("no colour image came back")?;
                write_atomic(&folder.join(format!("{name}.png")), &png_bytes(rgb)?)?;
                if let Some(ids) = &view.ids {
                    write_atomic(&folder.join(format!("{name}_ids.png")), &png_bytes(&ids.to_rgb())?)?;
                }
            }
        }
        let json = serde_json::to_vec_pretty(&planned.plan).context("cannot serialise the plan")?;
        write_atomic(&folder.join("example.json"), &json)?;
        write_atomic(&folder.join("example.md"), card(&planned.plan, renderer.is_some()).as_bytes())?;
        progress.inc(1);
    }
    progress.finish_and_clear();
    let plural = if args.count == 1 { "" } else { "s" };
    println!("{} {} example{plural} in {}", args.count, args.task, args.out.display());
    Ok(())
}

/// The example as a Markdown page: a heading naming task, variant, sub-type, template and
/// scene; the images (when rendered; links relative to the example's folder); question,
/// options, answer, chain of thought and think phrase.
fn card(plan: &ExamplePlan, rendered: bool) -> String {
    let mut text = format!(
        "### {}, `{}` ({}; {}, scene {})\n\n",
        plan.task.title(),
        plan.variant,
        plan.subtype,
        plan.template,
        plan.scene_seed
    );
    if rendered {
        let inputs = (1..=plan.inputs.len()).map(|i| format!("input_{i}.png"));
        let images: Vec<String> =
            inputs.chain(["imagination.png".to_string()]).map(|name| format!("![{name}]({name})")).collect();
        text.push_str(&format!("{}\n\n", images.join(" ")));
    }
    let options: Vec<String> =
        plan.choices.iter().zip('A'..).map(|(choice, letter)| format!("{letter}. {choice}")).collect();
    let cot: Vec<String> = plan.cot.lines().map(|line| format!("    {line}")).collect();
    text.push_str(&format!(
        "**Question.** {}\n\n**Options.** {}. **Answer: {}** ({}).\n\n**Chain of thought.**\n\n{}\n\n**Think.** {}\n",
        plan.question,
        options.join("; "),
        plan.answer,
        plan.answer_text,
        cot.join("\n"),
        plan.think
    ));
    text
}

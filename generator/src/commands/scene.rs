//! `ipt-gen scene`: build one scene and write it as JSON, optionally with a plan PNG.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use ipt_scenes::{AssetSources, BuildOptions};

use crate::files::write_atomic;
use crate::plan::draw_plan;

/// Arguments of `ipt-gen scene`.
#[derive(Debug, Args)]
pub struct SceneArgs {
    /// Template name (see `ipt-gen templates`), e.g. kitchen or apartment_small.
    #[arg(long)]
    pub template: String,
    /// Seed: the same template and seed give the same scene, byte for byte.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Where to write the scene JSON [default: output/scenes/TEMPLATE-SEED.json].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Also draw a labelled top-down plan to this PNG.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// Plan scale in pixels per metre.
    #[arg(long, default_value_t = 110.0, value_name = "PX")]
    pub plan_scale: f32,
    /// Radius of the walking agent, metres.
    #[arg(long, default_value_t = 0.2, value_name = "M")]
    pub agent_radius: f32,
    /// Navigation grid cell size, metres.
    #[arg(long, default_value_t = 0.25, value_name = "M")]
    pub cell_size: f32,
}

/// Runs `ipt-gen scene`.
pub fn run(sources: &AssetSources, args: &SceneArgs) -> Result<()> {
    anyhow::ensure!(args.cell_size > 0.01 && args.cell_size <= 2.0, "--cell-size must be between 0.01 and 2 m");
    anyhow::ensure!((0.0..=1.0).contains(&args.agent_radius), "--agent-radius must be between 0 and 1 m");
    anyhow::ensure!(args.plan_scale >= 10.0 && args.plan_scale <= 1000.0, "--plan-scale must be between 10 and 1000");
    let assets = super::load_assets(sources)?;
    let options =
        BuildOptions { agent_radius: args.agent_radius, cell_size: args.cell_size, ..BuildOptions::default() };
    let scene = assets.build(&args.template, args.seed, &options)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("output/scenes/{}-{}.json", args.template, args.seed)));
    let json = serde_json::to_vec_pretty(&scene).context("cannot serialise the scene")?;
    write_atomic(&out, &json)?;
    let dropped: u32 = scene.report.dropped.iter().map(|d| d.wanted - d.placed).sum();
    println!(
        "{} seed {}: {} room(s), {} objects ({} dropped), {:.0} % of the floor walkable, {} layout attempt(s)",
        scene.template,
        scene.seed,
        scene.rooms.len(),
        scene.objects.len(),
        dropped,
        100.0 * scene.report.reachable_fraction,
        scene.report.attempts
    );
    println!("scene: {}", out.display());
    if let Some(plan) = &args.plan {
        let image = draw_plan(&scene, args.plan_scale);
        let mut png = Vec::new();
        image
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .context("cannot encode the plan")?;
        write_atomic(plan, &png)?;
        println!("plan:  {}", plan.display());
    }
    Ok(())
}

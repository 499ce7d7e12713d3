//! `ipt-gen render`: render one view of a scene file (RGB, and optionally ids and depth).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use glam::Vec3;
use ipt_scenes::{AssetSources, Looks, Scene};

use crate::files::{png_bytes, write_atomic};
use crate::render::bevy_backend::{BevyRenderer, RendererOptions};
use crate::render::{CameraModel, CameraPose, Outputs, Renderer, ViewRequest};

/// Arguments of `ipt-gen render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Scene JSON written by `ipt-gen scene`.
    #[arg(long, value_name = "FILE")]
    pub scene: PathBuf,
    /// Camera as x,y,z,yaw,pitch (metres, degrees; yaw 0 looks along -Z, 90 along -X;
    /// positive pitch looks up). Required unless --top-down.
    #[arg(long, value_name = "X,Y,Z,YAW,PITCH", allow_hyphen_values = true)]
    pub pose: Option<String>,
    /// Render the whole scene from above (orthographic, ceiling hidden) instead of --pose.
    #[arg(long, conflicts_with = "pose")]
    pub top_down: bool,
    /// With --top-down: also hide the walls above 1 m, so rooms read like a floor plan.
    #[arg(long, requires = "top_down")]
    pub hide_upper_walls: bool,
    /// Horizontal field of view, degrees.
    #[arg(long, default_value_t = 90.0)]
    pub fov: f32,
    /// Image width in pixels (first-person views are square; top-down height follows the plan).
    #[arg(long, default_value_t = 512)]
    pub size: u32,
    /// Where to write the colour image (PNG).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Also write the instance-id image (PNG, id = r + 256 g + 65536 b).
    #[arg(long, value_name = "FILE")]
    pub ids: Option<PathBuf>,
    /// Also write the depth image (16-bit PNG, millimetres along the viewing axis).
    #[arg(long, value_name = "FILE")]
    pub depth: Option<PathBuf>,
    /// Write --ids in false colours and --depth as grey, for people to look at (the data
    /// forms are the default).
    #[arg(long)]
    pub viewable: bool,
    /// Graphics adapter to use (part of its name, e.g. "llvmpipe"); default: a GPU if there
    /// is one. Same as the WGPU_ADAPTER_NAME environment variable.
    #[arg(long, value_name = "NAME")]
    pub adapter: Option<String>,
}

fn parse_pose(text: &str) -> Result<CameraPose> {
    let values: Vec<f32> = text
        .split(',')
        .map(|v| v.trim().parse::<f32>().with_context(|| format!("--pose: `{v}` is not a number")))
        .collect::<Result<_>>()?;
    let [x, y, z, yaw, pitch] = values[..] else {
        bail!("--pose needs five numbers x,y,z,yaw,pitch, got {}", values.len());
    };
    Ok(CameraPose::from_yaw_pitch(Vec3::new(x, y, z), yaw, pitch))
}

/// Runs `ipt-gen render`.
pub fn run(sources: &AssetSources, args: &RenderArgs) -> Result<()> {
    anyhow::ensure!((16..=4096).contains(&args.size), "--size must be between 16 and 4096 pixels");
    anyhow::ensure!(args.fov > 1.0 && args.fov < 179.0, "--fov must be between 1 and 179 degrees");
    let text = std::fs::read_to_string(&args.scene).with_context(|| format!("cannot read {}", args.scene.display()))?;
    let mut scene: Scene =
        serde_json::from_str(&text).with_context(|| format!("{} is not a scene file", args.scene.display()))?;
    if scene.objects.iter().any(|o| o.model.is_some()) {
        // Every mesh the catalogs hold, whichever looks were asked for.
        let assets = super::load_assets(&AssetSources { looks: Looks::Mixed, ..sources.clone() })?;
        scene.attach_meshes(&assets.catalog).map_err(|e| anyhow::anyhow!("{}: {e}", args.scene.display()))?;
    }
    let outputs = Outputs { rgb: true, ids: args.ids.is_some(), depth: args.depth.is_some() };
    let view = if args.top_down {
        ViewRequest { hide_upper_walls: args.hide_upper_walls, ..ViewRequest::top_down(&scene, args.size, outputs) }
    } else {
        let pose = parse_pose(args.pose.as_deref().context("give --pose x,y,z,yaw,pitch or --top-down")?)?;
        ViewRequest::pinhole(CameraModel::pinhole(pose, args.fov, args.size, args.size), outputs)
    };
    let mut renderer = BevyRenderer::new(&RendererOptions { adapter: args.adapter.clone() })?;
    eprintln!("adapter: {}", renderer.adapter());
    renderer.load_scene(&scene)?;
    let rendered = renderer.render(std::slice::from_ref(&view))?.remove(0);
    let rgb = rendered.rgb.context("no colour image came back")?;
    write_atomic(&args.out, &png_bytes(&rgb)?)?;
    println!("rgb:   {}", args.out.display());
    if let (Some(path), Some(ids)) = (&args.ids, &rendered.ids) {
        let image = if args.viewable { ids.to_preview() } else { ids.to_rgb() };
        write_atomic(path, &png_bytes(&image)?)?;
        println!("ids:   {}", path.display());
    }
    if let (Some(path), Some(depth)) = (&args.depth, &rendered.depth) {
        let bytes = if args.viewable { png_bytes(&depth.to_preview())? } else { png_bytes(&depth.to_png16())? };
        write_atomic(path, &bytes)?;
        println!("depth: {}", path.display());
    }
    let k = rendered.camera.intrinsics();
    println!(
        "camera: {}x{} px, fx {:.2} fy {:.2} cx {:.1} cy {:.1}, world_from_camera {:?}",
        rendered.camera.width,
        rendered.camera.height,
        k.fx,
        k.fy,
        k.cx,
        k.cy,
        rendered.camera.pose.world_from_camera().to_cols_array()
    );
    Ok(())
}

//! From a planned and rendered example to a [`Record`]: images encoded as PNG (in parallel),
//! cameras as intrinsics and world-from-camera matrices, the plan's geometry as JSON.

use anyhow::{Context, Result};
use ipt_schema::{Camera, Image, ObjectInfo, Record};
use rayon::prelude::*;
use serde_json::json;

use super::layout::{Stream, example_id};
use super::stage_cpu::CpuTally;
use crate::files::png_bytes;
use crate::render::{CameraModel, Lens, RenderedView};
use crate::tasks::ExamplePlan;
use crate::tasks::render::RenderedExample;

/// The record's camera of one image.
pub fn camera(role: &str, model: &CameraModel) -> Camera {
    let k = model.intrinsics();
    let (projection, hfov_degrees) = match model.lens {
        Lens::Pinhole { hfov_degrees } => ("perspective", Some(hfov_degrees)),
        Lens::Orthographic { .. } => ("orthographic", None),
    };
    Camera {
        role: role.to_string(),
        projection: projection.to_string(),
        width: model.width,
        height: model.height,
        hfov_degrees,
        fx: k.fx,
        fy: k.fy,
        cx: k.cx,
        cy: k.cy,
        world_from_camera: model.pose.world_from_camera().to_cols_array().to_vec(),
    }
}

/// The JSON `meta` of a plan: the task's geometry and every view's markers and overlays.
pub fn meta(plan: &ExamplePlan) -> Result<String> {
    let value = json!({ "geometry": plan.meta, "inputs": plan.inputs, "imagination": plan.imagination });
    serde_json::to_string(&value).context("cannot serialise the example's metadata")
}

/// Everything of a record except its images (labels, text, cameras, geometry): what
/// `validate` re-derives and compares.
pub fn labels(stream: &Stream, index: u64, plan: &ExamplePlan) -> Result<Record> {
    let cameras = plan
        .inputs
        .iter()
        .map(|v| camera("input", &v.camera))
        .chain(std::iter::once(camera("imagination", &plan.imagination.camera)))
        .collect();
    let objects = plan
        .objects
        .iter()
        .map(|o| ObjectInfo {
            id: o.id,
            category: o.category.clone(),
            name: o.display.clone(),
            position: o.center.to_array().to_vec(),
            box_min: o.min.to_array().to_vec(),
            box_max: o.max.to_array().to_vec(),
        })
        .collect();
    Ok(Record {
        id: example_id(stream, index),
        task: plan.task.name().to_string(),
        variant: plan.variant.clone(),
        subtype: plan.subtype.clone(),
        split: stream.split.name().to_string(),
        question: plan.question.clone(),
        choices: plan.choices.clone(),
        answer: plan.answer.clone(),
        answer_text: plan.answer_text.clone(),
        images: Vec::new(),
        imagination: Image { bytes: None, path: None },
        cot: plan.cot.clone(),
        think: plan.think.clone(),
        scene_id: format!("{}-{}", plan.template, plan.scene_seed),
        template: plan.template.clone(),
        seed: plan.scene_seed,
        index,
        cameras,
        objects,
        meta: meta(plan)?,
        images_ids: None,
        imagination_ids: None,
        images_depth: None,
        imagination_depth: None,
    })
}

/// Which extra images a record stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extras {
    /// Instance-id images.
    pub ids: bool,
    /// Depth images.
    pub depth: bool,
}

/// The encoded images of one view: colour, ids, depth.
type Encoded = (Image, Option<Image>, Option<Image>);

fn encode(view: &RenderedView, extras: Extras) -> Result<Encoded> {
    let rgb = view.rgb.as_ref().context("the renderer returned no colour image")?;
    let ids = match (&view.ids, extras.ids) {
        (Some(ids), true) => Some(Image::png(png_bytes(&ids.to_rgb())?)),
        _ => None,
    };
    let depth = match (&view.depth, extras.depth) {
        (Some(depth), true) => Some(Image::png(png_bytes(&depth.to_png16())?)),
        _ => None,
    };
    Ok((Image::png(png_bytes(rgb)?), ids, depth))
}

/// The full record of a rendered example (images encoded on the rayon pool); the CPU time
/// it takes is added to `cpu`.
pub fn record(
    stream: &Stream,
    index: u64,
    plan: &ExamplePlan,
    rendered: &RenderedExample,
    extras: Extras,
    cpu: &CpuTally,
) -> Result<Record> {
    let mut record = cpu.time(|| labels(stream, index, plan))?;
    let views: Vec<&RenderedView> = rendered.inputs.iter().chain(std::iter::once(&rendered.imagination)).collect();
    let mut encoded: Vec<Encoded> = views.par_iter().map(|v| cpu.time(|| encode(v, extras))).collect::<Result<_>>()?;
    let (imagination, imagination_ids, imagination_depth) = encoded.pop().context("no imagination rendered")?;
    record.imagination = imagination;
    record.imagination_ids = imagination_ids;
    record.imagination_depth = imagination_depth;
    if extras.ids {
        record.images_ids = encoded.iter().map(|e| e.1.clone()).collect();
    }
    if extras.depth {
        record.images_depth = encoded.iter().map(|e| e.2.clone()).collect();
    }
    record.images = encoded.into_iter().map(|e| e.0).collect();
    Ok(record)
}

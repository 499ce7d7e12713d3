//! Renders an [`ExamplePlan`]: its input views and imagination, with floor markers in 3-D and
//! map overlays drawn over the colour images.

use std::collections::BTreeSet;

use anyhow::{Result, bail, ensure};

use super::overlay::draw_overlay;
use super::{ExamplePlan, PlannedView};
use crate::render::images::one_colour;
use crate::render::{Outputs, RenderedView, Renderer, ViewRequest};

/// Renders of an example that may come back blank before the run stops.
pub const RENDER_TRIES: usize = 3;

/// The images of one example.
#[derive(Debug, Clone)]
pub struct RenderedExample {
    /// The inputs, in the plan's order.
    pub inputs: Vec<RenderedView>,
    /// The imagination.
    pub imagination: RenderedView,
}

fn request(view: &PlannedView, outputs: Outputs) -> ViewRequest {
    ViewRequest {
        camera: view.camera,
        outputs,
        markers: view.markers.clone(),
        hide_ceiling: view.hide_ceiling,
        hide_upper_walls: view.hide_upper_walls,
    }
}

/// Why a rendered example would be rejected by a person: a colour image of one colour, or id
/// images that show none of an object the plan says is visible (each of the plan's objects
/// is visible in at least one of its views); `None` if it looks right.
fn blank(plan: &ExamplePlan, rendered: &[RenderedView]) -> Option<String> {
    let role = |i: usize| if i < plan.inputs.len() { format!("input image {}", i + 1) } else { "imagination".into() };
    if let Some(i) = rendered.iter().position(|view| view.rgb.as_ref().is_some_and(one_colour)) {
        return Some(format!("the {} is one colour", role(i)));
    }
    let id_images: Vec<_> = rendered.iter().filter_map(|view| view.ids.as_ref()).collect();
    if id_images.len() == rendered.len() {
        let seen: BTreeSet<u32> = id_images.iter().flat_map(|ids| ids.counts().into_keys()).collect();
        if let Some(missing) = plan.objects.iter().find(|o| !seen.contains(&o.id)) {
            return Some(format!(
                "no id image shows the {} (object {}) the labels rely on",
                missing.display, missing.id
            ));
        }
    }
    None
}

/// Renders `plan`; the renderer must hold the plan's scene (`Renderer::load_scene`). A
/// render that comes back blank ([`blank`]) is made again, up to [`RENDER_TRIES`] renders
/// in all; then this fails, saying why.
pub fn render_plan(renderer: &mut dyn Renderer, plan: &ExamplePlan, outputs: Outputs) -> Result<RenderedExample> {
    let planned: Vec<&PlannedView> = plan.inputs.iter().chain(std::iter::once(&plan.imagination)).collect();
    let requests: Vec<ViewRequest> = planned.iter().map(|view| request(view, outputs)).collect();
    let mut tries = 0;
    let mut rendered = loop {
        let rendered = renderer.render(&requests)?;
        ensure!(
            rendered.len() == planned.len(),
            "the renderer returned {} views for {}",
            rendered.len(),
            planned.len()
        );
        tries += 1;
        match blank(plan, &rendered) {
            None => break rendered,
            Some(why) if tries == RENDER_TRIES => {
                bail!("{why} in {RENDER_TRIES} renders in a row: the renderer is failing ({})", renderer.adapter())
            }
            Some(why) => eprintln!("warning: {why}; rendering the example again"),
        }
    };
    for (view, image) in planned.iter().zip(rendered.iter_mut()) {
        if let (Some(overlay), Some(rgb)) = (&view.overlay, image.rgb.as_mut()) {
            draw_overlay(rgb, &view.camera, overlay);
        }
    }
    let imagination = rendered.pop().expect("at least the imagination");
    Ok(RenderedExample { inputs: rendered, imagination })
}

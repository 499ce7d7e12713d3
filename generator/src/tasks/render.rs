//! Renders an [`ExamplePlan`]: its input views and imagination, with floor markers in 3-D and
//! map overlays drawn over the colour images.

use anyhow::{Result, ensure};

use super::overlay::draw_overlay;
use super::{ExamplePlan, PlannedView};
use crate::render::{Outputs, RenderedView, Renderer, ViewRequest};

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

/// Renders `plan`; the renderer must hold the plan's scene (`Renderer::load_scene`).
pub fn render_plan(renderer: &mut dyn Renderer, plan: &ExamplePlan, outputs: Outputs) -> Result<RenderedExample> {
    let planned: Vec<&PlannedView> = plan.inputs.iter().chain(std::iter::once(&plan.imagination)).collect();
    let requests: Vec<ViewRequest> = planned.iter().map(|view| request(view, outputs)).collect();
    let mut rendered = renderer.render(&requests)?;
    ensure!(rendered.len() == planned.len(), "the renderer returned {} views for {}", rendered.len(), planned.len());
    for (view, image) in planned.iter().zip(rendered.iter_mut()) {
        if let (Some(overlay), Some(rgb)) = (&view.overlay, image.rgb.as_mut()) {
            draw_overlay(rgb, &view.camera, overlay);
        }
    }
    let imagination = rendered.pop().expect("at least the imagination");
    Ok(RenderedExample { inputs: rendered, imagination })
}

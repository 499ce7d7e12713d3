//! The renderer: turns a scene and a batch of view requests into images (RGB, exact
//! instance ids, metric depth), each tagged with the camera that produced it.
//!
//! The rest of the generator talks to it only through [`Renderer`] (scene in, requests in,
//! images out), so the Bevy implementation in [`bevy_backend`] stays replaceable.

pub mod bevy_backend;
pub mod camera;
pub mod images;
mod layers;
mod markers;
mod meshes;
mod shading;

use anyhow::Result;
use glam::Vec2;
use ipt_scenes::Scene;

pub use camera::{CameraModel, CameraPose, Intrinsics, Lens};
pub use images::{DepthImage, IdImage};

/// Which images to produce for a view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outputs {
    /// The lit colour image.
    pub rgb: bool,
    /// The instance-id image (object ids, 0 for background and structure).
    pub ids: bool,
    /// The metric depth image (distance along the viewing axis).
    pub depth: bool,
}

impl Outputs {
    /// Only the colour image.
    pub const RGB: Outputs = Outputs { rgb: true, ids: false, depth: false };
    /// Every kind of image.
    pub const ALL: Outputs = Outputs { rgb: true, ids: true, depth: true };

    /// How many images a view with these outputs produces.
    pub fn count(&self) -> usize {
        usize::from(self.rgb) + usize::from(self.ids) + usize::from(self.depth)
    }
}

/// A mark drawn on the floor of one view, in 3-D (foreshortened and occluded like paint).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Marker {
    /// A red "X" centred at a floor point (world x, z), `size` metres across.
    Cross {
        /// Centre (x, z).
        at: Vec2,
        /// Width of the cross, metres.
        size: f32,
    },
    /// A blue arrow on the floor starting at `at` and pointing along `heading_degrees`
    /// (the camera yaw convention: 0 points along -Z, 90 along -X).
    Arrow {
        /// Tail (x, z).
        at: Vec2,
        /// Direction, degrees.
        heading_degrees: f32,
        /// Length, metres.
        length: f32,
    },
}

/// One view to render.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewRequest {
    /// The camera.
    pub camera: CameraModel,
    /// Which images.
    pub outputs: Outputs,
    /// Marks on the floor, seen only in this view's colour image.
    pub markers: Vec<Marker>,
    /// Hide the ceiling (always for top-down views; AI2-THOR's maps look so).
    pub hide_ceiling: bool,
    /// Also hide the walls above [`layers::WALL_CUT`] metres.
    pub hide_upper_walls: bool,
}

impl ViewRequest {
    /// A first-person view (ceiling and walls shown).
    pub fn pinhole(camera: CameraModel, outputs: Outputs) -> ViewRequest {
        ViewRequest { camera, outputs, markers: Vec::new(), hide_ceiling: false, hide_upper_walls: false }
    }

    /// A top-down view of the whole scene with the ceiling hidden.
    pub fn top_down(scene: &Scene, width: u32, outputs: Outputs) -> ViewRequest {
        let (min, max) = scene.floor_bounds(0.2);
        let camera = CameraModel::top_down(min, max, scene.ceiling_height, width);
        ViewRequest { camera, outputs, markers: Vec::new(), hide_ceiling: true, hide_upper_walls: false }
    }
}

/// `count` first-person views at eye height 1.5 m from walkable cells of `scene`, spread
/// over the cells and headings deterministically (benchmarks and tests use them).
pub fn walkable_views(scene: &Scene, count: usize, size: u32, outputs: Outputs) -> Vec<ViewRequest> {
    let cells = scene.nav.cells_in(ipt_scenes::nav::CellState::Walkable);
    (0..count)
        .map(|i| {
            let c = scene.nav.center(cells[(i * 7919) % cells.len()]);
            let pose = CameraPose::from_yaw_pitch(glam::Vec3::new(c.x, 1.5, c.y), (i * 97 % 360) as f32, -10.0);
            ViewRequest::pinhole(CameraModel::pinhole(pose, 90.0, size, size), outputs)
        })
        .collect()
}

/// The images of one view, with the exact camera used.
#[derive(Debug, Clone)]
pub struct RenderedView {
    /// The camera (pose, lens, size); intrinsics via [`CameraModel::intrinsics`].
    pub camera: CameraModel,
    /// sRGB colour image.
    pub rgb: Option<image::RgbImage>,
    /// Instance ids.
    pub ids: Option<IdImage>,
    /// Depth in metres.
    pub depth: Option<DepthImage>,
}

/// Anything that renders scenes: the generator depends on this, not on Bevy.
pub trait Renderer {
    /// Replaces the current scene.
    fn load_scene(&mut self, scene: &Scene) -> Result<()>;
    /// Renders `views` of the current scene, in order.
    fn render(&mut self, views: &[ViewRequest]) -> Result<Vec<RenderedView>>;
    /// A description of the graphics adapter in use.
    fn adapter(&self) -> &str;
}

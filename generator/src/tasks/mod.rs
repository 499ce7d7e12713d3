//! The three imagination tasks (`../shared/spec/tasks.md`): Perspective Taking ([`pet`]),
//! Path Tracing ([`pt`]) and Multiview Counting ([`mvc`]).
//!
//! Planning is separate from rendering. A sampler takes a scene, the example's index and a
//! seeded random source and returns an [`ExamplePlan`]: the cameras to render (inputs and
//! imagination), the floor markers and map overlays, the question, options, answer,
//! chain-of-thought and the geometry behind them. Every label and filter is computed from
//! geometry on the CPU ([`visibility`], ray casts into the scene), so plans are deterministic
//! and testable without a renderer; [`render`] then turns a plan into images.
//!
//! Balance across a dataset comes from the index: the sub-type (PET), length bin and variant
//! (PT), count bucket and trajectory (MVC) and the answer's option slot cycle with the index,
//! so every full cycle of indices is exactly balanced.

pub mod driver;
pub mod mvc;
pub mod overlay;
pub mod pet;
pub mod pt;
pub mod render;
pub mod text;
pub mod visibility;

use std::collections::BTreeMap;
use std::fmt;

use glam::{Vec2, Vec3};
use ipt_scenes::Scene;
use ipt_scenes::scene::SceneObject;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::render::{CameraModel, Marker};

/// The random source of one example.
pub type TaskRng = ChaCha8Rng;

/// The generator for attempt `attempt` of example `index` of `task` under `seed`: independent
/// streams, so one example never shifts the numbers of another.
pub fn task_rng(seed: u64, task: Task, index: u64, attempt: u32) -> TaskRng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ (index.wrapping_mul(0x9E37_79B9_7F4A_7C15)));
    rng.set_stream(((task as u64) << 32) | u64::from(attempt));
    rng
}

pub use ipt_schema::Task;

/// Settings every sampler shares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TaskSettings {
    /// Width and height of first-person images, pixels (maps are this wide).
    pub resolution: u32,
    /// Benchmark mode: larger margins, no near-threshold cases.
    pub strict: bool,
}

impl Default for TaskSettings {
    fn default() -> TaskSettings {
        TaskSettings { resolution: 512, strict: false }
    }
}

/// Default eye height, metres.
pub const EYE_HEIGHT: f32 = 1.5;
/// Default horizontal field of view, degrees.
pub const HFOV: f32 = 90.0;

/// A 2-D drawing over a rendered top-down map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Overlay {
    /// A path from waypoint "1" through "M1" to "2" (world x, z points).
    Path {
        /// The path's points from waypoint 1 to waypoint 2.
        points: Vec<Vec2>,
        /// Where "M1" is drawn.
        midpoint: Vec2,
        /// An arrow at M1 pointing to the queried side (unit x, z direction), for `path_arrow`.
        arrow: Option<Vec2>,
    },
    /// Camera positions with their viewing directions (unit x, z), numbered from 1.
    Cameras {
        /// Positions (x, z).
        positions: Vec<Vec2>,
        /// Viewing directions (x, z).
        directions: Vec<Vec2>,
    },
}

/// One image of an example, before rendering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedView {
    /// The camera (pose, lens and size).
    pub camera: CameraModel,
    /// Floor marks drawn in 3-D.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub markers: Vec<Marker>,
    /// Hide the ceiling (top-down maps).
    #[serde(default)]
    pub hide_ceiling: bool,
    /// Hide the upper part of the walls (top-down maps).
    #[serde(default)]
    pub hide_upper_walls: bool,
    /// Drawing over the rendered image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overlay: Option<Overlay>,
}

impl PlannedView {
    /// A first-person view with nothing added.
    pub fn plain(camera: CameraModel) -> PlannedView {
        PlannedView { camera, markers: Vec::new(), hide_ceiling: false, hide_upper_walls: false, overlay: None }
    }

    /// A top-down map (ceiling and upper walls hidden) with an optional overlay.
    pub fn map(camera: CameraModel, overlay: Option<Overlay>) -> PlannedView {
        PlannedView { camera, markers: Vec::new(), hide_ceiling: true, hide_upper_walls: true, overlay }
    }
}

/// An object a question is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectRef {
    /// Object id in the scene (also its value in id images).
    pub id: u32,
    /// Catalog category.
    pub category: String,
    /// Readable name used in the text.
    pub display: String,
    /// World centre of the object's box.
    pub center: Vec3,
    /// World axis-aligned bounds, lowest corner.
    pub min: Vec3,
    /// World axis-aligned bounds, highest corner.
    pub max: Vec3,
}

impl ObjectRef {
    /// The reference to `object`.
    pub fn of(object: &SceneObject) -> ObjectRef {
        ObjectRef {
            id: object.id,
            category: object.category.clone(),
            display: object.display.clone(),
            center: object.center(),
            min: object.aabb.min,
            max: object.aabb.max,
        }
    }
}

/// Everything about one example except its pixels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExamplePlan {
    /// The task.
    pub task: Task,
    /// Variant: `x` or `arrow` (PET); `path`, `path_arrow` or `ego_dir` (PT); `rotation` or
    /// `square` (MVC).
    pub variant: String,
    /// Sub-type: the PET sub-type, the PT length bin, the MVC count bucket.
    pub subtype: String,
    /// Template of the scene.
    pub template: String,
    /// Seed of the scene.
    pub scene_seed: u64,
    /// The input images, in the order the question refers to them.
    pub inputs: Vec<PlannedView>,
    /// The ground-truth imagination.
    pub imagination: PlannedView,
    /// The question.
    pub question: String,
    /// Option texts, in letter order.
    pub choices: Vec<String>,
    /// The answer's letter.
    pub answer: String,
    /// The answer's option text.
    pub answer_text: String,
    /// The textual chain of thought.
    pub cot: String,
    /// The IPT think phrase.
    pub think: String,
    /// The objects the question is about.
    pub objects: Vec<ObjectRef>,
    /// The task's geometry behind the label.
    pub meta: TaskMeta,
}

/// Geometry behind a label, per task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TaskMeta {
    /// Perspective Taking.
    Pet(pet::PetMeta),
    /// Path Tracing.
    Pt(pt::PtMeta),
    /// Multiview Counting.
    Mvc(mvc::MvcMeta),
}

/// Why a sampler found no example in a scene (the caller tries another scene).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoExample(pub String);

impl fmt::Display for NoExample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A scene with what every sampler needs prepared once.
pub struct SceneContext<'a> {
    /// The scene.
    pub scene: &'a Scene,
    /// Ray casts with the ceiling (first-person views).
    pub caster: ipt_scenes::raycast::SceneRaycaster,
    /// Settings.
    pub settings: TaskSettings,
    /// Last resort for a hard example: a sampler may give up the index's balance target
    /// (PET sub-type, PT length bin) and record what it made instead; MVC waits for
    /// [`last_attempt`](Self::last_attempt).
    pub relaxed: bool,
    /// The example's last scene: a sampler may accept anything it can make.
    pub last_attempt: bool,
    /// What is known about the loaded templates as a whole.
    pub priors: &'a Priors,
    /// Seed of draws that must not depend on the scene attempt (the same for every scene an
    /// example tries), such as the category a Multiview Counting example asks about.
    pub example_seed: u64,
}

/// What samplers know about the loaded templates as a whole (computed once by
/// [`driver::Planner`]).
#[derive(Debug, Clone, Default)]
pub struct Priors {
    /// Furniture categories of the loaded templates, (category, readable name): the last
    /// pool of Path Tracing distractors (see [`driver::furniture`]).
    pub furniture: Vec<(String, String)>,
    /// Share of room templates placing each category (see [`driver::prevalence`]).
    pub prevalence: BTreeMap<String, f32>,
    /// Path Tracing's asked categories and distractor weights (see [`pt::PtBalance`]).
    pub pt: pt::PtBalance,
    /// Multiview Counting's asked categories per template (see [`mvc::MvcBalance`]).
    pub mvc: mvc::MvcBalance,
    /// Perspective Taking's asked categories per template (see [`pet::PetBalance`]).
    pub pet: pet::PetBalance,
    /// Each category's family (the catalog's `kind_of` chains, see
    /// `ipt_scenes::catalog::Catalog::family`); a category absent is its own family.
    pub families: BTreeMap<String, String>,
}

/// No knowledge, for a context made outside a [`driver::Planner`].
static NO_PRIORS: Priors = Priors::NONE;

impl Priors {
    /// No knowledge: every category weighs the same.
    pub const NONE: Priors = Priors {
        furniture: Vec::new(),
        prevalence: BTreeMap::new(),
        pt: pt::PtBalance::NONE,
        mvc: mvc::MvcBalance::NONE,
        pet: pet::PetBalance::NONE,
        families: BTreeMap::new(),
    };

    /// The family of `category`: categories of one family are the same kind to a person, so
    /// no question may depend on telling them apart.
    pub fn family<'b>(&'b self, category: &'b str) -> &'b str {
        self.families.get(category).map_or(category, String::as_str)
    }
}

impl<'a> SceneContext<'a> {
    /// Prepares `scene` for sampling.
    pub fn new(scene: &'a Scene, settings: TaskSettings) -> SceneContext<'a> {
        let caster =
            ipt_scenes::raycast::SceneRaycaster::new(scene, ipt_scenes::raycast::CastOptions { ceiling: true });
        SceneContext {
            scene,
            caster,
            settings,
            relaxed: false,
            last_attempt: false,
            priors: &NO_PRIORS,
            example_seed: 0,
        }
    }

    /// The object with `id`.
    pub fn object(&self, id: u32) -> &SceneObject {
        &self.scene.objects[id as usize - 1]
    }
}

/// Plans example `index` of `task` in `context`'s scene.
pub fn plan(context: &SceneContext<'_>, task: Task, index: u64, rng: &mut TaskRng) -> Result<ExamplePlan, NoExample> {
    match task {
        Task::Pet => pet::plan(context, index, rng),
        Task::Pt => pt::plan(context, index, rng),
        Task::Mvc => mvc::plan(context, index, rng),
    }
}

/// The yaw (degrees, camera convention: 0 looks along -Z, 90 along -X) of a floor direction.
pub fn yaw_of(direction: Vec2) -> f32 {
    libm::atan2f(-direction.x, -direction.y).to_degrees()
}

/// The unit floor direction (x, z) of a yaw in degrees.
pub fn direction_of(yaw_degrees: f32) -> Vec2 {
    let yaw = yaw_degrees.to_radians();
    Vec2::new(-libm::sinf(yaw), -libm::cosf(yaw))
}

/// The unit floor direction to the right of a walker facing `yaw_degrees`.
pub fn right_of(yaw_degrees: f32) -> Vec2 {
    let yaw = yaw_degrees.to_radians();
    Vec2::new(libm::cosf(yaw), -libm::sinf(yaw))
}

/// Floor-plane (x, z) of a world point.
pub fn floor(point: Vec3) -> Vec2 {
    Vec2::new(point.x, point.z)
}

//! Multiview Counting: four first-person frames from one spot (`rotation`) or from the
//! corners of a square (`square`); how many objects of a category are in this area? An
//! instance counts once however many frames show it. The imagination is a cropped top-down
//! map with the camera positions and viewing directions marked.

use std::collections::BTreeMap;

use glam::{Vec2, Vec3};
use ipt_scenes::nav::CellState;
use ipt_scenes::scene::SceneObject;
use rand::Rng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::text::{arrange, count_of, numbered};
use super::visibility::{Coverage, LABEL_COLUMNS, coverage_of};
use super::{
    EYE_HEIGHT, ExamplePlan, HFOV, NoExample, ObjectRef, Overlay, PlannedView, SceneContext, Task, TaskMeta, TaskRng,
    direction_of, yaw_of,
};
use crate::render::{CameraModel, CameraPose};

/// The trajectories, alternating with the example index.
pub const TRAJECTORIES: [&str; 2] = ["rotation", "square"];
/// Count buckets (1, 2, 3, 4 or more), cycled by the example index.
pub const BUCKETS: [&str; 4] = ["count_1", "count_2", "count_3", "count_4_plus"];
/// Trajectories tried per example.
const TRIES: usize = 30;
/// A category placed by a share p of room templates is kept with probability
/// min(1, COMMON_KEEP / p).
const COMMON_KEEP: f32 = 0.2;
/// Largest side of a `square` trajectory, metres.
const MAX_SIDE: f32 = 3.0;
/// Smallest side of a `square` trajectory, metres.
const MIN_SIDE: f32 = 0.8;
/// Camera pitch of the frames, degrees (slightly down, to see the floor and tables).
const PITCH: f32 = -10.0;
/// Half-size of the imagination's crop around a rotation spot, metres (5 m across).
const ROTATION_CROP: f32 = 2.5;
/// Margin of the imagination's crop around a square, metres.
const SQUARE_CROP_MARGIN: f32 = 1.5;

/// The thresholds of the rules; [`MvcRules::STRICT`] for the benchmark split.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MvcRules {
    /// Minimum coverage for an instance to count in a frame.
    pub min_coverage: f32,
    /// Categories with an instance whose best coverage lies in this band (multiples of
    /// `min_coverage`) are not asked about: whether such an instance counts depends on a
    /// few pixels, and a rasteriser may decide otherwise than the rays.
    pub ambiguous: (f32, f32),
}

impl MvcRules {
    /// The spec's thresholds.
    pub const SPEC: MvcRules = MvcRules { min_coverage: 0.001, ambiguous: (0.4, 2.0) };
    /// The benchmark split: no barely visible instances at all.
    pub const STRICT: MvcRules = MvcRules { min_coverage: 0.002, ambiguous: (1e-6, 3.0) };
}

/// Why a category cannot be asked about in a trajectory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MvcRejection {
    /// Structure or a category marked not countable.
    NotCountable,
    /// No instance is visible.
    NoneVisible,
    /// An instance's coverage is too close to the threshold to call.
    NearThreshold,
}

/// The counted instances of a category: object id and the first frame (0-based) showing it.
pub type Instances = Vec<(u32, usize)>;

/// The geometry behind an MVC label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MvcMeta {
    /// The category counted.
    pub category: String,
    /// The count.
    pub count: u32,
    /// Camera positions (x, z), one per frame.
    pub positions: Vec<Vec2>,
    /// Camera yaws, degrees.
    pub yaws: Vec<f32>,
    /// Counted instances, in the order first seen.
    pub instances: Vec<u32>,
    /// For each frame, the counted instances it shows.
    pub per_frame: Vec<Vec<u32>>,
    /// Side of the square, metres (0 for `rotation`).
    pub square_side: f32,
}

/// Counts the instances of `category` visible in at least one frame (each once).
pub fn count_instances(
    context: &SceneContext<'_>,
    frames: &[Coverage],
    category: &str,
    rules: &MvcRules,
) -> Result<Instances, MvcRejection> {
    let mut instances: Instances = Vec::new();
    for object in context.scene.objects.iter().filter(|o| o.category == category) {
        if !object.countable {
            return Err(MvcRejection::NotCountable);
        }
        let best = frames.iter().map(|f| f.fraction(object.id)).fold(0.0, f32::max);
        let (low, high) = rules.ambiguous;
        if best >= low * rules.min_coverage && best < high * rules.min_coverage {
            return Err(MvcRejection::NearThreshold);
        }
        if let Some(frame) = frames.iter().position(|f| f.visible(object.id, rules.min_coverage)) {
            instances.push((object.id, frame));
        }
    }
    if instances.is_empty() {
        return Err(MvcRejection::NoneVisible);
    }
    instances.sort_by_key(|&(id, frame)| (frame, id));
    Ok(instances)
}

/// The four cameras of a trajectory, or `None` if a corner is not walkable.
fn trajectory(context: &SceneContext<'_>, square: bool, rng: &mut TaskRng) -> Option<(Vec<CameraModel>, f32)> {
    let nav = &context.scene.nav;
    let cells = nav.cells_in(CellState::Walkable);
    let center = nav.center(*cells.get(rng.random_range(0..cells.len().max(1)))?);
    let base = rng.random_range(0..90) as f32;
    let size = context.settings.resolution;
    let camera = |at: Vec2, yaw: f32| {
        let pose = CameraPose::from_yaw_pitch(Vec3::new(at.x, EYE_HEIGHT, at.y), yaw, PITCH);
        CameraModel::pinhole(pose, HFOV, size, size)
    };
    if !square {
        return Some(((0..4).map(|i| camera(center, base + 90.0 * i as f32)).collect(), 0.0));
    }
    // The largest square (from a random size, shrinking) whose corners are all walkable.
    let mut side = rng.random_range(MAX_SIDE * 0.6..MAX_SIDE);
    while side >= MIN_SIDE {
        let corners: Vec<Vec2> = (0..4)
            .map(|i| center + direction_of(base + 45.0 + 90.0 * i as f32) * (side * std::f32::consts::FRAC_1_SQRT_2))
            .collect();
        if corners.iter().all(|&c| nav.cell_at(c).is_some_and(|cell| nav.state(cell) == CellState::Walkable)) {
            return Some((corners.iter().map(|&c| camera(c, yaw_of(center - c))).collect(), side));
        }
        side *= 0.8;
    }
    None
}

/// Plans MVC example `index`: count bucket `index % 4`, trajectory `(index / 4) % 2`, answer
/// slot `(index / 8) % 4`. Relaxed, any count is accepted, the closest to the bucket first.
pub fn plan(context: &SceneContext<'_>, index: u64, rng: &mut TaskRng) -> Result<ExamplePlan, NoExample> {
    let bucket = (index % 4) as usize;
    let square = (index / 4) % 2 == 1;
    let slot = ((index / 8) % 4) as usize;
    let rules = if context.settings.strict { MvcRules::STRICT } else { MvcRules::SPEC };
    let mut instances_in_scene: BTreeMap<&str, usize> = BTreeMap::new();
    for object in context.scene.objects.iter().filter(|o| o.countable) {
        *instances_in_scene.entry(object.category.as_str()).or_default() += 1;
    }
    // Only categories with enough instances in the whole scene can reach the bucket.
    let categories: Vec<&str> =
        instances_in_scene.iter().filter(|&(_, &n)| context.relaxed || n > bucket).map(|(&c, _)| c).collect();
    if categories.is_empty() {
        return Err(NoExample(format!("no category with enough instances for {}", BUCKETS[bucket])));
    }
    // The rules look only at the objects of those categories, so cast only the rays near them.
    let watched: Vec<&SceneObject> =
        context.scene.objects.iter().filter(|o| categories.contains(&o.category.as_str())).collect();
    for attempt in 0..TRIES {
        // Relaxed, a room too small for any square falls back to a rotation.
        let square = square && !(context.relaxed && attempt >= TRIES / 2);
        let Some((cameras, side)) = trajectory(context, square, rng) else { continue };
        let frames: Vec<Coverage> =
            cameras.iter().map(|c| coverage_of(&context.caster, c, LABEL_COLUMNS, &watched)).collect();
        let counted: Vec<(&str, Instances)> = categories
            .iter()
            .filter_map(|&c| count_instances(context, &frames, c, &rules).ok().map(|found| (c, found)))
            .collect();
        let miss = |found: &Instances| bucket_distance(found.len(), bucket);
        let Some(closest) = counted.iter().map(|(_, found)| miss(found)).min() else { continue };
        if closest > 0 && !context.relaxed {
            continue;
        }
        let fitting: Vec<(&str, Instances)> = counted.into_iter().filter(|(_, found)| miss(found) == closest).collect();
        // Categories placed in many kinds of rooms (potted plants) would fit most examples:
        // weight by 1 / sqrt(share of room templates placing the category).
        let weights: Vec<f32> = fitting
            .iter()
            .map(|(c, _)| 1.0 / context.priors.prevalence.get(*c).copied().unwrap_or(1.0).max(0.05).sqrt())
            .collect();
        let (category, instances) = fitting[ipt_scenes::rng::weighted_index(&weights, rng)].clone();
        // And a category in most kinds of rooms is kept only sometimes: another trajectory
        // may find a rarer one (never refused when relaxed).
        let keep = (COMMON_KEEP / context.priors.prevalence.get(category).copied().unwrap_or(0.0)).min(1.0);
        if !context.relaxed && rng.random::<f32>() >= keep {
            continue;
        }
        let shape = Trajectory { square, side, cameras: &cameras, frames: &frames };
        return Ok(build(context, &shape, &rules, slot, category, &instances, rng));
    }
    Err(NoExample(format!("no MVC {} example in {TRIES} trajectories", BUCKETS[bucket])))
}

/// How far `count` is from bucket `bucket` (0-based; the last is "4 or more"): 0 inside.
fn bucket_distance(count: usize, bucket: usize) -> usize {
    let low = bucket + 1;
    if bucket == 3 { low.saturating_sub(count) } else { count.abs_diff(low) }
}

/// The bucket a count falls in.
fn bucket_of(count: usize) -> usize {
    count.clamp(1, 4) - 1
}

/// Question phrasings; `{plural}` is e.g. "office chairs".
const QUESTIONS: [&str; 5] = [
    "How many {plural} are in this area?",
    "Looking at these four views, how many {plural} are there in total?",
    "Across the four images, how many different {plural} can be seen?",
    "Count the {plural} in this area. How many are there?",
    "How many {plural} do these views show altogether, counting each one once?",
];

/// The frames of an example and what they see.
struct Trajectory<'a> {
    square: bool,
    side: f32,
    cameras: &'a [CameraModel],
    frames: &'a [Coverage],
}

fn build(
    context: &SceneContext<'_>,
    shape: &Trajectory<'_>,
    rules: &MvcRules,
    slot: usize,
    category: &str,
    instances: &Instances,
    rng: &mut TaskRng,
) -> ExamplePlan {
    let Trajectory { square, side, cameras, frames } = *shape;
    let example = context.scene.objects.iter().find(|o| o.category == category).expect("a counted category exists");
    let (singular, plural) = (example.display.as_str(), example.plural.as_str());
    let count = instances.len();
    let mut others: Vec<String> =
        [-2i64, -1, 1, 2].iter().map(|d| count as i64 + d).filter(|&n| n >= 0).map(|n| n.to_string()).collect();
    others.shuffle(rng);
    others.truncate(3);
    let (choices, letter) = arrange(&count.to_string(), &others, slot);
    let intro = if square {
        "The four images were taken from the corners of a square, each looking towards its centre."
    } else {
        "The four images were taken from one spot, turning 90 degrees between them."
    };
    let question = format!("{intro} {}", QUESTIONS[rng.random_range(0..QUESTIONS.len())].replace("{plural}", plural));
    let counted: Vec<u32> = instances.iter().map(|&(id, _)| id).collect();
    let per_frame: Vec<Vec<u32>> = frames
        .iter()
        .map(|f| counted.iter().copied().filter(|&id| f.visible(id, rules.min_coverage)).collect())
        .collect();
    let mut steps = Vec::new();
    for (frame, shown) in per_frame.iter().enumerate() {
        let new = instances.iter().filter(|&&(_, first)| first == frame).count();
        let line = match (shown.len(), new) {
            (0, _) => format!("Frame {} shows no {plural}.", frame + 1),
            (n, 0) => format!("Frame {} shows {}, already counted.", frame + 1, count_of(n, singular, plural)),
            (n, k) if k == n => format!("Frame {} shows {}, all new.", frame + 1, count_of(n, singular, plural)),
            (n, k) => format!(
                "Frame {} shows {}: {k} new, {} already counted.",
                frame + 1,
                count_of(n, singular, plural),
                n - k
            ),
        };
        steps.push(line);
    }
    steps.push(format!(
        "In total there are {} in this area. The answer is {letter}: {count}.",
        count_of(count, singular, plural)
    ));
    let cot = numbered(&steps);
    let positions: Vec<Vec2> = cameras.iter().map(|c| Vec2::new(c.pose.position.x, c.pose.position.z)).collect();
    let yaws: Vec<f32> = cameras.iter().map(|c| yaw_of(Vec2::new(c.pose.forward().x, c.pose.forward().z))).collect();
    let center = positions.iter().copied().sum::<Vec2>() / positions.len() as f32;
    let half = if square { 0.5 * side + SQUARE_CROP_MARGIN } else { ROTATION_CROP };
    let map = CameraModel::top_down(
        center - Vec2::splat(half),
        center + Vec2::splat(half),
        context.scene.ceiling_height,
        context.settings.resolution,
    );
    let overlay =
        Overlay::Cameras { positions: positions.clone(), directions: yaws.iter().map(|&y| direction_of(y)).collect() };
    ExamplePlan {
        task: Task::Mvc,
        variant: TRAJECTORIES[usize::from(square)].to_string(),
        subtype: BUCKETS[bucket_of(count)].to_string(),
        template: context.scene.template.clone(),
        scene_seed: context.scene.seed,
        inputs: cameras.iter().map(|&c| PlannedView::plain(c)).collect(),
        imagination: PlannedView::map(map, Some(overlay)),
        question,
        choices,
        answer: letter,
        answer_text: count.to_string(),
        cot,
        think: Task::Mvc.think().to_string(),
        objects: counted.iter().map(|&id| ObjectRef::of(context.object(id))).collect(),
        meta: TaskMeta::Mvc(MvcMeta {
            category: category.to_string(),
            count: count as u32,
            positions,
            yaws,
            instances: counted,
            per_frame,
            square_side: side,
        }),
    }
}

//! Path Tracing: a top-down map with a path from waypoint "1" through "M1" to "2"; which
//! object can you see on your left (or right) at M1? The imagination is a side view at M1,
//! chosen from a sweep of candidate views by geometry.
//!
//! Questions are about furniture (objects standing on the floor or hung on walls; small
//! objects on tables are too rarely visible to be answers as often as distractors).
//! Distractors are categories not visible in that side view: first those of objects on the
//! opposite side of the path, then other categories of the scene, then the furniture categories of the loaded templates.
//! The answer category is drawn uniformly among the categories that can be answered, so no
//! category is mostly a distractor (the anti-shortcut rule; measured by the balance test).

use std::collections::{BTreeMap, BTreeSet};

use glam::{Vec2, Vec3};
use ipt_scenes::nav::{CellState, NavPath};
use rand::Rng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::text::{arrange, capitalize, list, map_direction, metres, numbered, side_word, the};
use super::visibility::{LABEL_COLUMNS, SWEEP_COLUMNS, coverage};
use super::{
    ExamplePlan, NoExample, ObjectRef, Overlay, PlannedView, SceneContext, Task, TaskMeta, TaskRng, floor, right_of,
    yaw_of,
};
use crate::render::{CameraModel, CameraPose};

/// The variants, cycled by the example index.
pub const VARIANTS: [&str; 3] = ["path", "path_arrow", "ego_dir"];
/// Path length bins: name, shortest and longest length (metres).
pub const LENGTH_BINS: [(&str, f32, f32); 3] =
    [("length_1_2m", 1.0, 2.0), ("length_2_4m", 2.0, 4.0), ("length_4m_plus", 4.0, f32::INFINITY)];
/// Eye heights to choose from, metres (7 values in 1.4-1.8 m).
pub const EYE_HEIGHTS: [f32; 7] = [1.4, 1.4667, 1.5333, 1.6, 1.6667, 1.7333, 1.8];
/// Yaw offsets of the side-view sweep from the exact side direction, degrees.
const SWEEP_YAWS: [f32; 5] = [-40.0, -20.0, 0.0, 20.0, 40.0];
/// Offsets of the side-view sweep along the path, metres.
const SWEEP_OFFSETS: [f32; 3] = [-0.5, 0.0, 0.5];
/// Waypoint grid spacing, metres.
const WAYPOINT_GRID: f32 = 0.5;
/// Waypoint pairs tried per example.
const PATH_TRIES: usize = 80;
/// Paths tried per example once a pair matches the bin.
const PATHS_PER_EXAMPLE: usize = 12;
/// Objects further than this from M1 are not "at M1", metres.
const NEAR_M1: f32 = 4.0;

/// The thresholds of the rules; [`PtRules::strict`] for the benchmark split.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PtRules {
    /// Minimum fraction of the side view the answer object covers.
    pub min_coverage: f32,
    /// Minimum distance of the object's centre from the path's line at M1, metres.
    pub side_margin: f32,
}

impl PtRules {
    /// The spec's thresholds.
    pub const SPEC: PtRules = PtRules { min_coverage: 0.0015, side_margin: 0.3 };
    /// Larger margins for the benchmark split.
    pub const STRICT: PtRules = PtRules { min_coverage: 0.004, side_margin: 0.6 };
}

/// The geometry behind a PT label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PtMeta {
    /// The path's points from waypoint 1 to waypoint 2 (x, z).
    pub path: Vec<Vec2>,
    /// Path length, metres.
    pub path_length: f32,
    /// M1 (x, z), halfway along the path.
    pub midpoint: Vec2,
    /// Walking from waypoint 2 to waypoint 1.
    pub reversed: bool,
    /// Walking direction at M1 (unit x, z).
    pub heading: Vec2,
    /// "left" or "right".
    pub side: String,
    /// Eye height, metres.
    pub eye_height: f32,
    /// Horizontal field of view, degrees.
    pub hfov: f32,
    /// Pitch, degrees.
    pub pitch: f32,
    /// The answer object.
    pub answer_id: u32,
    /// Its coverage of the side view.
    pub answer_coverage: f32,
    /// Categories with any pixel in the side view.
    pub seen_categories: Vec<String>,
    /// Where each distractor came from: "opposite", "scene" or "common".
    pub distractor_sources: Vec<String>,
}

/// A path between two waypoints with its midpoint and walking direction there.
#[derive(Debug, Clone, PartialEq)]
pub struct PathGeometry {
    /// Points from waypoint 1 to waypoint 2.
    pub points: Vec<Vec2>,
    /// Length, metres.
    pub length: f32,
    /// Halfway along.
    pub midpoint: Vec2,
    /// Direction from waypoint 1 towards 2 at the midpoint (chord over +-0.5 m).
    pub forward: Vec2,
    /// Direction at waypoint 1 (leaving it) and at waypoint 2 (arriving).
    pub ends: [Vec2; 2],
}

/// The point `distance` metres along `points`.
fn point_along(points: &[Vec2], distance: f32) -> Vec2 {
    let mut left = distance.max(0.0);
    for pair in points.windows(2) {
        let step = (pair[1] - pair[0]).length();
        if left <= step && step > 0.0 {
            return pair[0] + (pair[1] - pair[0]) * (left / step);
        }
        left -= step;
    }
    *points.last().expect("a path has points")
}

/// Unit direction of the chord from `a` to `b` metres along the path.
fn chord(points: &[Vec2], a: f32, b: f32) -> Vec2 {
    (point_along(points, b) - point_along(points, a)).normalize_or_zero()
}

impl PathGeometry {
    /// The geometry of a navigation path.
    pub fn of(path: &NavPath) -> PathGeometry {
        let points = path.points.clone();
        let length: f32 = points.windows(2).map(|p| (p[1] - p[0]).length()).sum();
        let half = 0.5 * length;
        PathGeometry {
            midpoint: point_along(&points, half),
            forward: chord(&points, half - 0.5, half + 0.5),
            ends: [chord(&points, 0.0, 0.5), chord(&points, length - 0.5, length)],
            points,
            length,
        }
    }
}

/// Picks a path whose length falls in `bin`: waypoints on the 0.5 m grid of walkable cells,
/// at least 1 m apart.
fn sample_path(context: &SceneContext<'_>, bin: (f32, f32), rng: &mut TaskRng) -> Option<PathGeometry> {
    let nav = &context.scene.nav;
    let step = (WAYPOINT_GRID / nav.cell_size).round().max(1.0) as u32;
    let cells: Vec<_> =
        nav.cells_in(CellState::Walkable).into_iter().filter(|(c, r)| c % step == 0 && r % step == 0).collect();
    if cells.len() < 2 {
        return None;
    }
    for _ in 0..PATH_TRIES {
        let a = cells[rng.random_range(0..cells.len())];
        let b = cells[rng.random_range(0..cells.len())];
        let straight = (nav.center(a) - nav.center(b)).length();
        if straight < 1.0 || straight > bin.1 {
            continue;
        }
        let Some(path) = nav.shortest_path_between(a, b) else { continue };
        let geometry = PathGeometry::of(&path);
        if geometry.length >= bin.0 && geometry.length < bin.1 && geometry.forward != Vec2::ZERO {
            return Some(geometry);
        }
    }
    None
}

/// The randomised camera of an example: eye height, field of view and pitch.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Lens {
    eye_height: f32,
    hfov: f32,
    pitch: f32,
}

impl Lens {
    fn camera(&self, at: Vec2, yaw: f32, size: u32) -> CameraModel {
        let pose = CameraPose::from_yaw_pitch(Vec3::new(at.x, self.eye_height, at.y), yaw, self.pitch);
        CameraModel::pinhole(pose, self.hfov, size, size)
    }
}

/// Signed distance of `point` from the line through `at` along `heading`: positive on the right.
fn lateral(point: Vec2, at: Vec2, heading: Vec2) -> f32 {
    (point - at).dot(right_of(yaw_of(heading)))
}

/// Plans PT example `index`: variant `index % 3`, length bin `(index / 3) % 3`, answer slot
/// `(index / 9) % 4`.
pub fn plan(context: &SceneContext<'_>, index: u64, rng: &mut TaskRng) -> Result<ExamplePlan, NoExample> {
    let variant = VARIANTS[(index % 3) as usize];
    let (mut bin_name, mut low, mut high) = LENGTH_BINS[((index / 3) % 3) as usize];
    if context.relaxed {
        // Any length; the bin recorded is the one the path falls in.
        (low, high) = (LENGTH_BINS[0].1, f32::INFINITY);
    }
    let slot = ((index / 9) % 4) as usize;
    let rules = if context.settings.strict { PtRules::STRICT } else { PtRules::SPEC };
    for _ in 0..PATHS_PER_EXAMPLE {
        let Some(path) = sample_path(context, (low, high), rng) else {
            return Err(NoExample(format!("no walkable path of {bin_name}")));
        };
        let reversed = rng.random_bool(0.25);
        let left = rng.random_bool(0.5);
        let lens = Lens {
            eye_height: EYE_HEIGHTS[rng.random_range(0..EYE_HEIGHTS.len())],
            hfov: rng.random_range(75..=120) as f32,
            pitch: rng.random_range(-5..=5) as f32,
        };
        if context.relaxed {
            bin_name = LENGTH_BINS.iter().find(|b| path.length < b.2).map_or(LENGTH_BINS[2].0, |b| b.0);
        }
        if let Some(found) = side_view(context, &path, reversed, left, lens, &rules, rng) {
            return Ok(build(context, variant, bin_name, slot, &path, reversed, left, lens, found, rng));
        }
    }
    Err(NoExample(format!("no PT {bin_name} example with a visible object beside M1")))
}

/// The chosen side view and what it shows.
struct SideView {
    camera: CameraModel,
    answer: u32,
    coverage: f32,
    seen_categories: BTreeSet<String>,
    /// [`visibility_propensity`] of the scene.
    propensity: BTreeMap<String, f32>,
}

/// Eye positions probed by [`visibility_propensity`].
const PROBES: usize = 16;

/// For each furniture category of the scene, the fraction of views from random walkable
/// spots (random heading, eye height 1.6 m, 90 degrees) that show it well enough to be an
/// answer, kept within 5-95 %.
fn visibility_propensity(context: &SceneContext<'_>, rules: &PtRules, rng: &mut TaskRng) -> BTreeMap<String, f32> {
    let nav = &context.scene.nav;
    let cells = nav.cells_in(CellState::Walkable);
    let lens = Lens { eye_height: 1.6, hfov: 90.0, pitch: 0.0 };
    let mut shown: BTreeMap<String, f32> = BTreeMap::new();
    for _ in 0..PROBES {
        let at = nav.center(cells[rng.random_range(0..cells.len())]);
        let view = coverage(&context.caster, &lens.camera(at, rng.random_range(0..360) as f32, 256), SWEEP_COLUMNS);
        let categories: BTreeSet<&str> = view
            .objects
            .keys()
            .filter(|&&id| view.visible(id, rules.min_coverage))
            .map(|&id| context.object(id).category.as_str())
            .collect();
        for category in categories {
            *shown.entry(category.to_string()).or_default() += 1.0 / PROBES as f32;
        }
    }
    shown
}

/// A category's propensity, 5 % for unseen or absent ones, at most 95 %.
fn propensity_of(propensity: &BTreeMap<String, f32>, category: &str) -> f32 {
    propensity.get(category).copied().unwrap_or(0.0).clamp(0.05, 0.95)
}

/// A random order in which heavier items tend to come first (weighted sampling without
/// replacement: sort by u^(1/w)).
fn weighted_order<T>(items: Vec<T>, weight: impl Fn(&T) -> f32, rng: &mut TaskRng) -> Vec<T> {
    let mut keyed: Vec<(f32, T)> =
        items.into_iter().map(|item| (libm::powf(rng.random::<f32>(), 1.0 / weight(&item)), item)).collect();
    keyed.sort_by(|a, b| b.0.total_cmp(&a.0));
    keyed.into_iter().map(|(_, item)| item).collect()
}

/// Where the walker is at M1 and which side the question asks about.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Walker {
    /// M1 (x, z).
    pub midpoint: Vec2,
    /// Walking direction at M1 (unit x, z).
    pub heading: Vec2,
    /// The question asks about the left (else the right).
    pub left: bool,
}

/// Why an object cannot be the answer in a side view: one variant per rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PtRejection {
    /// Small objects (on other objects) are not asked about.
    NotFurniture,
    /// The object's centre is not on the queried side, by the side margin.
    WrongSide,
    /// The object is further from M1 than it can be said to be "at M1".
    FarFromM1,
    /// The object covers less than the required fraction of the side view.
    Hidden,
}

/// Checks `object` as the answer seen in `view` (a side view at M1): returns its coverage.
pub fn check_answer(
    context: &SceneContext<'_>,
    view: &super::visibility::Coverage,
    object: u32,
    walker: &Walker,
    rules: &PtRules,
) -> Result<f32, PtRejection> {
    let object = context.object(object);
    if object.support.is_some() {
        return Err(PtRejection::NotFurniture);
    }
    let offset = lateral(floor(object.center()), walker.midpoint, walker.heading);
    let on_side = if walker.left { offset <= -rules.side_margin } else { offset >= rules.side_margin };
    if !on_side {
        return Err(PtRejection::WrongSide);
    }
    if (floor(object.center()) - walker.midpoint).length() > NEAR_M1 {
        return Err(PtRejection::FarFromM1);
    }
    if !view.visible(object.id, rules.min_coverage) {
        return Err(PtRejection::Hidden);
    }
    Ok(view.fraction(object.id))
}

/// Sweeps candidate side views at M1 and picks one for an answer category drawn uniformly
/// among those the sweep can show; `None` if no object on the queried side is visible.
fn side_view(
    context: &SceneContext<'_>,
    path: &PathGeometry,
    reversed: bool,
    left: bool,
    lens: Lens,
    rules: &PtRules,
    rng: &mut TaskRng,
) -> Option<SideView> {
    let heading = if reversed { -path.forward } else { path.forward };
    let side_yaw = yaw_of(heading) + if left { 90.0 } else { -90.0 };
    let size = context.settings.resolution;
    let nav = &context.scene.nav;
    let mut candidates = Vec::new();
    for offset in SWEEP_OFFSETS {
        let at = path.midpoint + heading * offset;
        if !nav.cell_at(at).is_some_and(|c| nav.state(c).is_free()) {
            continue;
        }
        for yaw in SWEEP_YAWS {
            candidates.push(lens.camera(at, side_yaw + yaw, size));
        }
    }
    let walker = Walker { midpoint: path.midpoint, heading, left };
    // Best sweep view per category of objects on the queried side.
    let mut best: BTreeMap<String, (f32, usize, u32)> = BTreeMap::new();
    for (i, camera) in candidates.iter().enumerate() {
        let view = coverage(&context.caster, camera, SWEEP_COLUMNS);
        for &id in view.objects.keys() {
            let object = context.object(id);
            let Ok(fraction) = check_answer(context, &view, object.id, &walker, rules) else { continue };
            let entry = best.entry(object.category.clone()).or_insert((0.0, i, id));
            if fraction > entry.0 {
                *entry = (fraction, i, id);
            }
        }
    }
    let propensity = visibility_propensity(context, rules, rng);
    // Categories that are seldom visible are picked more often, so that over a dataset each
    // category is the answer about as often as it is a distractor.
    let categories = weighted_order(best.keys().cloned().collect(), |c| 1.0 / propensity_of(&propensity, c), rng);
    for category in categories {
        let (_, i, id) = best[&category];
        let view = coverage(&context.caster, &candidates[i], LABEL_COLUMNS);
        if check_answer(context, &view, id, &walker, rules).is_err() {
            continue;
        }
        let seen_categories = view.objects.keys().map(|&seen| context.object(seen).category.clone()).collect();
        return Some(SideView {
            camera: candidates[i],
            answer: id,
            coverage: view.fraction(id),
            seen_categories,
            propensity,
        });
    }
    None
}

/// Three distractor categories (category, readable name, source) not visible in the side view.
fn distractors(
    context: &SceneContext<'_>,
    path: &PathGeometry,
    heading: Vec2,
    left: bool,
    found: &SideView,
    rng: &mut TaskRng,
) -> Vec<(String, String, &'static str)> {
    let answer = &context.object(found.answer).category;
    let mut taken: BTreeSet<String> = found.seen_categories.clone();
    taken.insert(answer.clone());
    let mut out = Vec::new();
    let mut take =
        |pool: Vec<(String, String)>, source: &'static str, out: &mut Vec<(String, String, &'static str)>| {
            for (category, display) in pool {
                if out.len() < 3 && taken.insert(category.clone()) {
                    out.push((category, display, source));
                }
            }
        };
    let opposite: Vec<(String, String)> = context
        .scene
        .objects
        .iter()
        .filter(|o| {
            if o.support.is_some() {
                return false;
            }
            let offset = lateral(floor(o.center()), path.midpoint, heading);
            let other_side = if left { offset > 0.3 } else { offset < -0.3 };
            other_side && (floor(o.center()) - path.midpoint).length() <= NEAR_M1
        })
        .map(|o| (o.category.clone(), o.display.clone()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // Categories that are often visible are rarely distractors otherwise: favour them.
    let weight = |(c, _): &(String, String)| 1.0 / (1.0 - propensity_of(&found.propensity, c));
    let opposite = weighted_order(opposite, weight, rng);
    take(opposite, "opposite", &mut out);
    let scene: Vec<(String, String)> = context
        .scene
        .objects
        .iter()
        .filter(|o| o.support.is_none())
        .map(|o| (o.category.clone(), o.display.clone()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let scene = weighted_order(scene, weight, rng);
    take(scene, "scene", &mut out);
    let mut common = context.furniture.clone();
    common.shuffle(rng);
    take(common, "common", &mut out);
    out
}

/// Question phrasings; `{from}`/`{to}` are waypoint names, `{side}` is "left" or "right".
const QUESTIONS: [&str; 5] = [
    "Walking from waypoint {from} to waypoint {to}, which object can you see on your {side} at waypoint M1?",
    "You follow the drawn path from waypoint {from} to waypoint {to}. At M1, which object is on your {side}?",
    "Imagine walking along the path from {from} to {to}. When you reach M1, which of these objects would you see to your {side}?",
    "Following the path from waypoint {from} to waypoint {to}, what can you see on the {side}-hand side at M1?",
    "If I walk the path from waypoint {from} to waypoint {to}, which object will be on my {side} when I pass M1?",
];

#[allow(clippy::too_many_arguments)]
fn build(
    context: &SceneContext<'_>,
    variant: &str,
    bin_name: &str,
    slot: usize,
    path: &PathGeometry,
    reversed: bool,
    left: bool,
    lens: Lens,
    found: SideView,
    rng: &mut TaskRng,
) -> ExamplePlan {
    let heading = if reversed { -path.forward } else { path.forward };
    let side = side_word(left);
    let side_direction = if left { -right_of(yaw_of(heading)) } else { right_of(yaw_of(heading)) };
    let answer = context.object(found.answer);
    let picked = distractors(context, path, heading, left, &found, rng);
    let others: Vec<String> = picked.iter().map(|(_, d, _)| capitalize(d)).collect();
    let answer_text = capitalize(&answer.display);
    let (choices, letter) = arrange(&answer_text, &others, slot);
    let (from, to) = if reversed { ("2", "1") } else { ("1", "2") };
    let mut question = QUESTIONS[rng.random_range(0..QUESTIONS.len())]
        .replace("{from}", from)
        .replace("{to}", to)
        .replace("{side}", side);
    let (min, max) = context.scene.floor_bounds(0.3);
    let map_camera = CameraModel::top_down(min, max, context.scene.ceiling_height, context.settings.resolution);
    let arrow = (variant == "path_arrow").then_some(side_direction);
    let overlay = Overlay::Path { points: path.points.clone(), midpoint: path.midpoint, arrow };
    let mut inputs = vec![PlannedView::map(map_camera, Some(overlay))];
    match variant {
        "path_arrow" => question = format!("The arrow at M1 points to the side in question. {question}"),
        "ego_dir" => {
            let size = context.settings.resolution;
            let [start, end] = path.ends;
            let (a, b) = (path.points[0], *path.points.last().expect("a path has points"));
            // Forward views at waypoints 1 and 2, facing the walking direction.
            let (dir_a, dir_b) = if reversed { (-start, -end) } else { (start, end) };
            inputs.push(PlannedView::plain(lens.camera(a, yaw_of(dir_a), size)));
            inputs.push(PlannedView::plain(lens.camera(b, yaw_of(dir_b), size)));
            question = format!(
                "The first image is a map with the path; the second and third are the forward views at waypoints 1 and 2, facing the walking direction. {question}"
            );
        }
        _ => {}
    }
    let seen_others: Vec<String> = found
        .seen_categories
        .iter()
        .filter(|c| **c != answer.category)
        .filter_map(|c| context.scene.objects.iter().find(|o| &o.category == c).map(|o| o.display.clone()))
        .collect();
    let mut steps = vec![
        format!("I walk from waypoint {from} to waypoint {to}; the path is {} long.", metres(path.length)),
        format!("At M1 I am heading {} on the map.", map_direction(heading)),
        format!(
            "So my {side} at M1 is towards the {} of the map.",
            map_direction(side_direction).replace("up", "top").replace("down", "bottom")
        ),
        if seen_others.is_empty() {
            format!("Looking {side} from M1 I would see {}.", the(&answer.display))
        } else {
            let others: Vec<String> = seen_others.iter().map(|d| the(d)).collect();
            format!("Looking {side} from M1 I would see {} (and {}).", the(&answer.display), list(&others))
        },
    ];
    let opposite: Vec<String> = picked.iter().filter(|p| p.2 == "opposite").map(|p| the(&p.1)).collect();
    if !opposite.is_empty() {
        let verb = if opposite.len() == 1 { "is" } else { "are" };
        steps.push(format!("{} {verb} on my other side, not on my {side}.", capitalize(&list(&opposite))));
    }
    steps.push(format!("The answer is {letter}: {answer_text}."));
    let cot = numbered(&steps);
    ExamplePlan {
        task: Task::Pt,
        variant: variant.to_string(),
        subtype: bin_name.to_string(),
        template: context.scene.template.clone(),
        scene_seed: context.scene.seed,
        inputs,
        imagination: PlannedView::plain(found.camera),
        question,
        choices,
        answer: letter,
        answer_text,
        cot,
        think: Task::Pt.think().to_string(),
        objects: vec![ObjectRef::of(answer)],
        meta: TaskMeta::Pt(PtMeta {
            path: path.points.clone(),
            path_length: path.length,
            midpoint: path.midpoint,
            reversed,
            heading,
            side: side.to_string(),
            eye_height: lens.eye_height,
            hfov: lens.hfov,
            pitch: lens.pitch,
            answer_id: answer.id,
            answer_coverage: found.coverage,
            seen_categories: found.seen_categories.iter().cloned().collect(),
            distractor_sources: picked.iter().map(|p| p.2.to_string()).collect(),
        }),
    }
}

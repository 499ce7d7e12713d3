//! Multiview Counting: four first-person frames from one spot (`rotation`) or from the
//! corners of a square (`square`); how many objects of a category are in this area? An
//! instance counts once however many frames show it. The imagination is a cropped top-down
//! map with the camera positions and viewing directions marked.
//!
//! Nothing but the images tells the answer (docs/tasks.md has the proof):
//! - **Options.** The options are always 1, 2, 3 and a fourth count `x >= 4`, in ascending
//!   order, and the answer's rank among them cycles with the example index. `x` is drawn
//!   before the rank is known, so given the options (and the question) every option is the
//!   answer equally often. Counts stay balanced: 1, 2, 3 and 4+ each a quarter of the examples.
//! - **Categories.** The category asked about is drawn from the example's seed alone,
//!   uniformly among the categories that some template's calibration trajectories show at
//!   every count ([`calibrate`]), and the example's template is one of those where it is
//!   (see `Planner::mvc_template`). It stays the same in every scene the example tries, so
//!   the category says nothing about the count either.
//! - **Kinds.** A category is not asked about when a category of its family (the catalog's
//!   `kind_of`: houseplants are potted plants) is visible too: the count would depend on how
//!   a person reads the noun.

use std::collections::{BTreeMap, BTreeSet};

use glam::{Vec2, Vec3};
use ipt_scenes::nav::CellState;
use ipt_scenes::scene::SceneObject;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::text::{LETTERS, count_of, numbered};
use super::visibility::{Coverage, LABEL_COLUMNS, coverage, coverage_of};
use super::{
    EYE_HEIGHT, ExamplePlan, HFOV, NoExample, ObjectRef, Overlay, PlannedView, SceneContext, Task, TaskMeta, TaskRng,
    direction_of, yaw_of,
};
use crate::render::{CameraModel, CameraPose};

/// The trajectories, alternating with the example index.
pub const TRAJECTORIES: [&str; 2] = ["rotation", "square"];
/// Count buckets (1, 2, 3, 4 or more), cycled by the example index: bucket `k` is the answer
/// of rank `k` among the options.
pub const BUCKETS: [&str; 4] = ["count_1", "count_2", "count_3", "count_4_plus"];
/// The options below the fourth: every example offers 1, 2 and 3.
const LOW_OPTIONS: [u32; 3] = [1, 2, 3];
/// The fourth option: a count of at least 4, at most this.
const MAX_FOURTH: u32 = 6;
/// Grid columns of the frames an example is counted in: twice the label grid's, so that
/// thin parts (a stool's legs behind a table) are not missed; only the rays near the asked
/// category's objects are cast.
const COUNT_COLUMNS: u32 = 2 * LABEL_COLUMNS;
/// Trajectories tried per example.
const TRIES: usize = 30;
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
    /// An object of another category of the same family (a houseplant when counting potted
    /// plants) is in view: a person might count it.
    OtherKindVisible,
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
    let family = context.priors.family(category);
    let kin =
        context.scene.objects.iter().filter(|o| o.category != category && context.priors.family(&o.category) == family);
    if kin.into_iter().any(|o| frames.iter().any(|f| f.seen(o.id))) {
        return Err(MvcRejection::OtherKindVisible);
    }
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

/// Multiview Counting's balance over the planner's templates (calibrated by the planner):
/// the categories examples ask about, and where.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MvcBalance {
    /// Per category asked about, the templates whose calibration trajectories show it at
    /// every count (empty: no category qualifies; examples ask about what their scenes show).
    pub asked: BTreeMap<String, Vec<AskedIn>>,
}

impl MvcBalance {
    /// No balance: any category may be asked about.
    pub const NONE: MvcBalance = MvcBalance { asked: BTreeMap::new() };
}

/// A template a category is asked about in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AskedIn {
    /// The template.
    pub template: String,
    /// How reliably its scenes show every count: the rarest bucket's share of the
    /// calibration trajectories over [`CALIBRATION_FULL_SHARE`], at most 1. A category is
    /// asked in proportion to its best template's, so that a category whose rarest count is
    /// hard to find (a count of 4+ small bowls) seldom falls back to another count.
    pub reliability: f32,
    /// The fourth options (counts >= 4) its calibration trajectories showed often enough.
    pub fourths: Vec<u32>,
}

/// The category and template of example `index` (whose own draws come from
/// `example_seed`): categories take turns in proportion to their reliability (every
/// category that shows every count reliably gets the same share), turn `index / 8` (so each
/// category meets every count bucket and trajectory equally) along a golden-ratio sequence,
/// which spreads any run of turns evenly; then one of its templates, drawn. `None` when no
/// category qualifies.
pub fn asked(balance: &MvcBalance, index: u64, example_seed: u64) -> Option<(&str, &str)> {
    let weight = |places: &Vec<AskedIn>| f64::from(places.iter().map(|p| p.reliability).fold(0.0, f32::max));
    let total: f64 = balance.asked.values().map(weight).sum();
    let mut left = ((index / 8) as f64 * GOLDEN_RATIO_FRACTION).fract() * total;
    let (category, places) = balance
        .asked
        .iter()
        .find(|(_, places)| {
            left -= weight(places);
            left < 0.0
        })
        .or_else(|| balance.asked.iter().next_back())?;
    let place = places.get((example_seed % places.len().max(1) as u64) as usize)?;
    Some((category, &place.template))
}

/// The fractional part of the golden ratio: multiples of it, modulo 1, spread most evenly.
const GOLDEN_RATIO_FRACTION: f64 = 0.618_033_988_749_894_9;

/// The categories asked about in the scene's template, with their fourth options.
fn asked_in_template<'a>(context: &SceneContext<'a>) -> Vec<(&'a str, &'a [u32])> {
    let template = &context.scene.template;
    let places = context.priors.mvc.asked.iter();
    let here = places.filter_map(|(c, places)| places.iter().find(|p| &p.template == template).map(|p| (c, p)));
    here.map(|(category, place)| (category.as_str(), place.fourths.as_slice())).collect()
}

/// What the example asks: the categories it may ask about (none: any) and its options.
#[derive(Debug, Clone, PartialEq)]
struct Wanted<'a> {
    /// The category asked about; empty (a template without any): any category.
    categories: Vec<&'a str>,
    /// The options in ascending order: 1, 2, 3 and the fourth.
    options: [u32; 4],
    /// The count searched for: the option of the index's rank.
    target: u32,
}

impl Wanted<'_> {
    /// The categories, for messages.
    fn what(&self) -> String {
        if self.categories.is_empty() { "any category".into() } else { self.categories.join(" or ") }
    }
}

/// Draws what example `index` asks from the example's seed (never the scene attempt's
/// stream), in this order: the category (the one [`asked`] chose if the planner chose the
/// template by it, else one of the template's), its fourth option, then the answer's rank
/// from the index. Nothing drawn before the rank depends on it, so options and category are
/// independent of which option is the answer.
fn wanted<'a>(context: &SceneContext<'a>, index: u64) -> Wanted<'a> {
    let mut draw = TaskRng::seed_from_u64(context.example_seed);
    let here = asked_in_template(context);
    let chosen = asked(&context.priors.mvc, index, context.example_seed)
        .and_then(|(category, _)| here.iter().find(|(c, _)| *c == category))
        .or_else(|| (!here.is_empty()).then(|| &here[draw.random_range(0..here.len())]));
    let fourths = chosen.map_or(&[4][..], |(_, fourths)| fourths);
    let fourth = fourths[draw.random_range(0..fourths.len())];
    let options = [LOW_OPTIONS[0], LOW_OPTIONS[1], LOW_OPTIONS[2], fourth];
    let categories = chosen.map(|&(category, _)| vec![category]).unwrap_or_default();
    Wanted { categories, options, target: options[(index % 4) as usize] }
}

/// Plans MVC example `index`: the answer's rank among the options (its count bucket)
/// `index % 4`, trajectory `(index / 4) % 2`, category and options from [`wanted`]. Every
/// scene the example tries looks for exactly the target count of the same category (so a
/// scene's failure changes neither), except the last: there, in the second half of the
/// tries, any count of any category is accepted (the wanted category and the closest count
/// first; a count above 3 becomes the fourth option).
pub fn plan(context: &SceneContext<'_>, index: u64, rng: &mut TaskRng) -> Result<ExamplePlan, NoExample> {
    let square = (index / 4) % 2 == 1;
    let rules = if context.settings.strict { MvcRules::STRICT } else { MvcRules::SPEC };
    let wanted = wanted(context, index);
    let target = wanted.target as usize;
    let mut instances_in_scene: BTreeMap<&str, usize> = BTreeMap::new();
    for object in context.scene.objects.iter().filter(|o| o.countable) {
        *instances_in_scene.entry(object.category.as_str()).or_default() += 1;
    }
    // Only categories with enough instances in the whole scene can reach the target; in the
    // example's last scene, any present (the wanted ones if there are any).
    let wanted_here = |c: &str| wanted.categories.is_empty() || wanted.categories.contains(&c);
    let categories: Vec<&str> = instances_in_scene
        .iter()
        .filter(|&(&c, &n)| context.last_attempt || (wanted_here(c) && n >= target))
        .map(|(&c, _)| c)
        .collect();
    if categories.is_empty() {
        return Err(NoExample(format!("not {target} instances of {} in the scene", wanted.what())));
    }
    // The rules look only at the objects of those categories and of their families, so cast
    // only the rays near them.
    let families: BTreeSet<&str> = categories.iter().map(|c| context.priors.family(c)).collect();
    let watched: Vec<&SceneObject> =
        context.scene.objects.iter().filter(|o| families.contains(context.priors.family(&o.category))).collect();
    for attempt in 0..TRIES {
        // In the example's last scene a room too small for any square falls back to a
        // rotation, and any count is accepted.
        let late = context.last_attempt && attempt >= TRIES / 2;
        let square = square && !late;
        let Some((cameras, side)) = trajectory(context, square, rng) else { continue };
        let frames: Vec<Coverage> =
            cameras.iter().map(|c| coverage_of(&context.caster, c, COUNT_COLUMNS, &watched)).collect();
        let mut counted: Vec<(&str, Instances)> = categories
            .iter()
            .filter_map(|&c| count_instances(context, &frames, c, &rules).ok().map(|found| (c, found)))
            .collect();
        // The last scene counts every category, but asks about the wanted ones if it can.
        if counted.iter().any(|(c, _)| wanted_here(c)) {
            counted.retain(|(c, _)| wanted_here(c));
        }
        // Exact, but late any count of the target's bucket will do (a 5 for a 4), then the
        // closest.
        let miss = |found: &Instances| match late && bucket_of(found.len()) == bucket_of(target) {
            true => 0,
            false => found.len().abs_diff(target),
        };
        let Some(closest) = counted.iter().map(|(_, found)| miss(found)).min() else { continue };
        if closest > 0 && !late {
            continue;
        }
        let fitting: Vec<(&str, Instances)> = counted.into_iter().filter(|(_, found)| miss(found) == closest).collect();
        // Without an asked category, categories placed in many kinds of rooms (potted plants)
        // would fit most examples: weight by 1 / sqrt(share of room templates placing them).
        let weights: Vec<f32> = fitting
            .iter()
            .map(|(c, _)| 1.0 / context.priors.prevalence.get(*c).copied().unwrap_or(1.0).max(0.05).sqrt())
            .collect();
        let (category, instances) = fitting[ipt_scenes::rng::weighted_index(&weights, rng)].clone();
        let count = instances.len() as u32;
        let mut options = wanted.options;
        if count > LOW_OPTIONS[2] {
            options[3] = count;
        }
        let shape = Trajectory { square, side, cameras: &cameras, frames: &frames };
        return Ok(build(context, &shape, &rules, &options, category, &instances, rng));
    }
    Err(NoExample(format!("no trajectory showing exactly {target} of {} in {TRIES} tries", wanted.what())))
}

/// Trajectories per calibration scene.
const CALIBRATION_TRAJECTORIES: u64 = 8;
/// A template asks about a category only if its calibration trajectories show each count
/// bucket (and each extra fourth option) in at least this share of them.
const CALIBRATION_MIN_SHARE: f32 = 0.01;
/// A category whose rarest bucket shows in this share of the trajectories is fully reliable.
const CALIBRATION_FULL_SHARE: f32 = 0.015;

/// Trajectories per count.
type Histogram = BTreeMap<u32, u32>;

/// What [`calibrate`] needs of one calibration scene: per trajectory, the count of every
/// category that could be asked about in it.
#[derive(Debug, Clone)]
pub struct CalibrationSample {
    template: String,
    counts: Vec<BTreeMap<String, u32>>,
}

/// Counts every countable category in [`CALIBRATION_TRAJECTORIES`] trajectories (rotations
/// and squares in turn) of `context`'s scene, by the rules of `plan`.
pub fn calibration_sample(
    context: &SceneContext<'_>,
    _index: u64,
    rng: &mut TaskRng,
) -> Result<CalibrationSample, NoExample> {
    let rules = if context.settings.strict { MvcRules::STRICT } else { MvcRules::SPEC };
    let categories: BTreeSet<&str> =
        context.scene.objects.iter().filter(|o| o.countable).map(|o| o.category.as_str()).collect();
    let mut counts = Vec::new();
    for k in 0..CALIBRATION_TRAJECTORIES {
        let Some((cameras, _)) = trajectory(context, k % 2 == 1, rng) else { continue };
        let frames: Vec<Coverage> = cameras.iter().map(|c| coverage(&context.caster, c, LABEL_COLUMNS)).collect();
        let found = categories
            .iter()
            .filter_map(|&c| count_instances(context, &frames, c, &rules).ok().map(|i| (c.to_string(), i.len() as u32)))
            .collect();
        counts.push(found);
    }
    if counts.is_empty() {
        return Err(NoExample("no trajectory fits in the scene".into()));
    }
    Ok(CalibrationSample { template: context.scene.template.clone(), counts })
}

/// The categories examples ask about and where, from the calibration samples: a category is
/// asked in a template when the template's calibration trajectories show every count bucket
/// (1, 2, 3, 4+) in at least [`CALIBRATION_MIN_SHARE`] of them, with the fourth options 4
/// (and 5 or 6 when shown as often).
pub fn calibrate(samples: &[CalibrationSample]) -> MvcBalance {
    // Per template: trajectories, and per category the trajectories showing each count.
    let mut shown: BTreeMap<&str, (u32, BTreeMap<&str, Histogram>)> = BTreeMap::new();
    for sample in samples {
        let (trajectories, per_category) = shown.entry(&sample.template).or_default();
        for counts in &sample.counts {
            *trajectories += 1;
            for (category, &count) in counts {
                *per_category.entry(category).or_default().entry(count).or_default() += 1;
            }
        }
    }
    let mut asked: BTreeMap<String, Vec<AskedIn>> = BTreeMap::new();
    for (template, (trajectories, per_category)) in &shown {
        let often = |n: u32| n as f32 >= CALIBRATION_MIN_SHARE * *trajectories as f32;
        for (category, histogram) in per_category {
            let exactly = |count: u32| histogram.get(&count).copied().unwrap_or(0);
            let four_plus: u32 = histogram.range(4..).map(|(_, n)| n).sum();
            if LOW_OPTIONS.iter().all(|&c| often(exactly(c))) && often(four_plus) {
                let fourths = std::iter::once(4).chain((5..=MAX_FOURTH).filter(|&c| often(exactly(c)))).collect();
                let rarest = LOW_OPTIONS.iter().map(|&c| exactly(c)).fold(four_plus, u32::min);
                let reliability = (rarest as f32 / (CALIBRATION_FULL_SHARE * *trajectories as f32)).min(1.0);
                let place = AskedIn { template: template.to_string(), reliability, fourths };
                asked.entry(category.to_string()).or_default().push(place);
            }
        }
    }
    MvcBalance { asked }
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
    options: &[u32; 4],
    category: &str,
    instances: &Instances,
    rng: &mut TaskRng,
) -> ExamplePlan {
    let Trajectory { square, side, cameras, frames } = *shape;
    let example = context.scene.objects.iter().find(|o| o.category == category).expect("a counted category exists");
    let (singular, plural) = (example.display.as_str(), example.plural.as_str());
    let count = instances.len();
    let rank = options.iter().position(|&o| o as usize == count).expect("the count is an option");
    let choices: Vec<String> = options.iter().map(u32::to_string).collect();
    let letter = LETTERS[rank].to_string();
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
    let verb = if count == 1 { "is" } else { "are" };
    steps.push(format!(
        "In total there {verb} {} in this area. The answer is {letter}: {count}.",
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

//! Path Tracing: a top-down map with a path from waypoint "1" through "M1" to "2"; which
//! object can you see on your left (or right) at M1? The imagination is a side view at M1,
//! chosen from a sweep of candidate views by geometry.
//!
//! Questions are about furniture (objects standing on the floor or hung on walls; small
//! objects on tables are too rarely visible to be answers as often as distractors).
//! Distractors are categories not visible in that side view: first those of objects on the
//! opposite side of the path, then other categories of the scene, then the furniture
//! categories of the loaded templates.
//!
//! The anti-shortcut rule (options alone must not give the answer away) is met by design,
//! as for Multiview Counting's options: an example first draws its four options, four of its
//! template's furniture categories of four families ([`drawn`]), and which of them is the
//! answer, from its own seed and before any scene; the search then looks for a path beside
//! an object of the answer's category and a side view at M1 that shows it and none of the
//! three others (nor anything of their families). Given the options, each is the answer
//! equally often, and every category is a distractor three times as often as the answer.

use std::collections::{BTreeMap, BTreeSet};

use glam::{Vec2, Vec3};
use ipt_scenes::nav::{CellState, NavPath};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
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
/// Side-view sweeps tried per example (on paths that pass an object of the asked category).
const PATHS_PER_EXAMPLE: usize = 12;
/// Paths sampled per example while looking for ones that pass an object of the category.
const PATH_SAMPLES: usize = 60;
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
/// `(index / 9) % 4`, options and the answer's category from [`drawn`].
pub fn plan(context: &SceneContext<'_>, index: u64, rng: &mut TaskRng) -> Result<ExamplePlan, NoExample> {
    let variant = VARIANTS[(index % 3) as usize];
    let slot = ((index / 9) % 4) as usize;
    let drawn = drawn(context);
    let found = match search(context, index, drawn.as_ref(), rng) {
        // The example's last scene: the drawn answer could not be shown, so any category.
        Err(_) if context.last_attempt && drawn.is_some() => search(context, index, None, rng)?,
        found => found?,
    };
    Ok(build(context, variant, slot, found, rng))
}

/// What a PT example is made of before its options are drawn.
struct Found {
    bin_name: &'static str,
    path: PathGeometry,
    reversed: bool,
    left: bool,
    lens: Lens,
    view: SideView,
    /// The drawn distractors' categories (empty when none were drawn: chosen after the
    /// search).
    distractors: Vec<String>,
}

impl Found {
    /// Walking direction at M1.
    fn heading(&self) -> Vec2 {
        if self.reversed { -self.path.forward } else { self.path.forward }
    }
}

/// Path Tracing's balance over the loaded templates (computed by the planner): the
/// categories each template's examples offer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PtBalance {
    /// Per template, the categories its examples offer as options.
    pub answers: BTreeMap<String, Vec<String>>,
}

impl PtBalance {
    /// No balance: any category the side view shows may be the answer.
    pub const NONE: PtBalance = PtBalance { answers: BTreeMap::new() };
}

/// A category is offered in a template's examples when it stands in at least this share of
/// the template's calibration scenes: an example keeps its drawn options through all its
/// scenes, and a category its template seldom places (a washing machine in one apartment of
/// ten) would leave it to the last-resort fallback, whose answers are not drawn.
const CALIBRATION_MIN_PRESENCE: f32 = 1.0 / 4.0;

/// The furniture one calibration scene holds.
#[derive(Debug, Clone, PartialEq)]
pub struct PtCensus {
    /// The scene's template.
    pub template: String,
    /// The categories of the objects standing on its floor or walls (not on other objects).
    pub categories: BTreeSet<String>,
}

/// The census of one calibration scene (see [`calibrate`]).
pub fn calibration_sample(context: &SceneContext<'_>, _index: u64, _rng: &mut TaskRng) -> Result<PtCensus, NoExample> {
    let furniture = context.scene.objects.iter().filter(|o| o.support.is_none());
    let categories = furniture.map(|o| o.category.clone()).collect();
    Ok(PtCensus { template: context.scene.template.clone(), categories })
}

/// The categories examples offer, per template: those standing in at least
/// [`CALIBRATION_MIN_PRESENCE`] of its calibration scenes.
pub fn calibrate(samples: &[PtCensus]) -> PtBalance {
    let mut per_template: BTreeMap<&str, (u32, BTreeMap<&str, u32>)> = BTreeMap::new();
    for sample in samples {
        let (scenes, counts) = per_template.entry(&sample.template).or_default();
        *scenes += 1;
        for category in &sample.categories {
            *counts.entry(category).or_default() += 1;
        }
    }
    let answers = per_template
        .into_iter()
        .map(|(template, (scenes, counts))| {
            let often = counts.into_iter().filter(|&(_, n)| n as f32 >= CALIBRATION_MIN_PRESENCE * scenes as f32);
            (template.to_string(), often.map(|(category, _)| category.to_string()).collect())
        })
        .collect();
    PtBalance { answers }
}

/// The options of an example, drawn before any scene.
#[derive(Debug, Clone, PartialEq)]
pub struct Drawn<'c> {
    /// Four categories of four families.
    pub categories: Vec<&'c str>,
    /// Which of them is the answer.
    pub answer: usize,
}

impl<'c> Drawn<'c> {
    /// The answer's category.
    pub fn asked(&self) -> &'c str {
        self.categories[self.answer]
    }

    /// The three distractors' categories.
    fn distractors(&self) -> impl Iterator<Item = &'c str> + '_ {
        self.categories.iter().enumerate().filter(|&(i, _)| i != self.answer).map(|(_, c)| *c)
    }
}

/// The options example `index`'s seed draws: its template's categories shuffled, the first
/// four of distinct families, then the answer uniformly among them. `None` when the template
/// has no list or fewer than four families.
pub fn drawn<'c>(context: &SceneContext<'c>) -> Option<Drawn<'c>> {
    let answers = context.priors.pt.answers.get(&context.scene.template)?;
    let mut draw = TaskRng::seed_from_u64(context.example_seed);
    let mut pool: Vec<&str> = answers.iter().map(String::as_str).collect();
    pool.shuffle(&mut draw);
    let mut families = BTreeSet::new();
    let categories: Vec<&str> =
        pool.into_iter().filter(|c| families.insert(context.priors.family(c))).take(4).collect();
    (categories.len() == 4).then(|| Drawn { categories, answer: draw.random_range(0..4) })
}

/// Which sides of a walker at M1 an object of `category` could be the answer on, by the
/// geometric rules alone ([`check_answer`] without visibility): (left, right).
fn sides_of(
    context: &SceneContext<'_>,
    midpoint: Vec2,
    heading: Vec2,
    category: &str,
    rules: &PtRules,
) -> (bool, bool) {
    let candidates = context.scene.objects.iter().filter(|o| o.category == category && o.support.is_none());
    let side = |left: bool| {
        let walker = Walker { midpoint, heading, left };
        candidates.clone().any(|o| placed_beside(floor(o.center()), &walker, rules).is_ok())
    };
    (side(true), side(false))
}

/// Finds a path of the index's length bin and a side view at its M1 showing an object of the
/// drawn answer's category (any category when none is drawn) and, except in the example's
/// last scene, nothing of the drawn distractors' families (there, a distractor the view
/// shows is replaced: see [`distractors`]).
fn search(
    context: &SceneContext<'_>,
    index: u64,
    drawn: Option<&Drawn<'_>>,
    rng: &mut TaskRng,
) -> Result<Found, NoExample> {
    let (mut bin_name, mut low, mut high) = LENGTH_BINS[((index / 3) % 3) as usize];
    if context.relaxed {
        // Any length; the bin recorded is the one the path falls in.
        (low, high) = (LENGTH_BINS[0].1, f32::INFINITY);
    }
    let rules = if context.settings.strict { PtRules::STRICT } else { PtRules::SPEC };
    let asked = drawn.map(Drawn::asked);
    // The side view must not show the other options, nor anything of their families.
    let drawn_distractors = || drawn.into_iter().flat_map(|d| d.distractors());
    let avoid: BTreeSet<&str> = if context.last_attempt {
        BTreeSet::new()
    } else {
        drawn_distractors().map(|c| context.priors.family(c)).collect()
    };
    let distractors: Vec<String> = drawn_distractors().map(str::to_string).collect();
    if let Some(category) = asked
        && !context.scene.objects.iter().any(|o| o.category == category && o.support.is_none())
    {
        return Err(NoExample(format!("no {category} in the scene to ask about")));
    }
    let mut sweeps = 0;
    for _ in 0..PATH_SAMPLES {
        let Some(path) = sample_path(context, (low, high), rng) else {
            return Err(NoExample(format!("no walkable path of {bin_name}")));
        };
        let reversed = rng.random_bool(0.25);
        let left = match asked {
            None => rng.random_bool(0.5),
            Some(category) => {
                let heading = if reversed { -path.forward } else { path.forward };
                match sides_of(context, path.midpoint, heading, category, &rules) {
                    (true, true) => rng.random_bool(0.5),
                    (left, right) if left || right => left,
                    _ => continue,
                }
            }
        };
        if sweeps == PATHS_PER_EXAMPLE {
            break;
        }
        sweeps += 1;
        let lens = Lens {
            eye_height: EYE_HEIGHTS[rng.random_range(0..EYE_HEIGHTS.len())],
            hfov: rng.random_range(75..=120) as f32,
            pitch: rng.random_range(-5..=5) as f32,
        };
        if context.relaxed {
            bin_name = LENGTH_BINS.iter().find(|b| path.length < b.2).map_or(LENGTH_BINS[2].0, |b| b.0);
        }
        let wanted = Wanted { category: asked, avoid: &avoid };
        if let Some(view) = side_view(context, &path, reversed, left, lens, &rules, &wanted, rng) {
            return Ok(Found { bin_name, path, reversed, left, lens, view, distractors });
        }
    }
    let object = asked.unwrap_or("object");
    Err(NoExample(format!("no PT {bin_name} example with a visible {object} beside M1")))
}

/// The chosen side view and what it shows.
struct SideView {
    camera: CameraModel,
    answer: u32,
    coverage: f32,
    seen_categories: BTreeSet<String>,
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

/// The geometric rules of an answer at floor point `at`: on the queried side by the margin,
/// and near M1.
fn placed_beside(at: Vec2, walker: &Walker, rules: &PtRules) -> Result<(), PtRejection> {
    let offset = lateral(at, walker.midpoint, walker.heading);
    let on_side = if walker.left { offset <= -rules.side_margin } else { offset >= rules.side_margin };
    if !on_side {
        return Err(PtRejection::WrongSide);
    }
    if (at - walker.midpoint).length() > NEAR_M1 {
        return Err(PtRejection::FarFromM1);
    }
    Ok(())
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
    placed_beside(floor(object.center()), walker, rules)?;
    if !view.visible(object.id, rules.min_coverage) {
        return Err(PtRejection::Hidden);
    }
    Ok(view.fraction(object.id))
}

/// What a side view must show and must not.
struct Wanted<'w> {
    /// The answer's category (none: any the sweep shows, drawn uniformly).
    category: Option<&'w str>,
    /// Families of which nothing may be seen (the other options').
    avoid: &'w BTreeSet<&'w str>,
}

/// Side views confirmed on the label grid per example path.
const CONFIRMED_VIEWS: usize = 4;

/// Sweeps candidate side views at M1 and picks the one that best shows an object of the asked
/// category and nothing of the families to avoid (when no category is asked: the best view
/// of a category drawn uniformly among those the sweep can show); `None` if there is none.
#[allow(clippy::too_many_arguments)]
fn side_view(
    context: &SceneContext<'_>,
    path: &PathGeometry,
    reversed: bool,
    left: bool,
    lens: Lens,
    rules: &PtRules,
    wanted: &Wanted<'_>,
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
    let shows_avoided = |view: &super::visibility::Coverage| {
        view.objects.keys().any(|&id| wanted.avoid.contains(context.priors.family(&context.object(id).category)))
    };
    // Sweep views of objects on the queried side: (coverage, view, object), the best first
    // (asked), or the best per category (not asked).
    let mut shown: Vec<(f32, usize, u32)> = Vec::new();
    for (i, camera) in candidates.iter().enumerate() {
        let view = coverage(&context.caster, camera, SWEEP_COLUMNS);
        if shows_avoided(&view) {
            continue;
        }
        for &id in view.objects.keys() {
            let object = context.object(id);
            if wanted.category.is_some_and(|category| category != object.category) {
                continue;
            }
            // The object's centre in front of the camera: the view looks at it, not past it.
            let ahead = camera.project(object.center()).is_some();
            if let Ok(fraction) = check_answer(context, &view, object.id, &walker, rules)
                && ahead
            {
                shown.push((fraction, i, id));
            }
        }
    }
    shown.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    if wanted.category.is_none() {
        let mut best: BTreeMap<&str, (f32, usize, u32)> = BTreeMap::new();
        for &(fraction, i, id) in &shown {
            best.entry(context.object(id).category.as_str()).or_insert((fraction, i, id));
        }
        shown = best.into_values().collect();
        shown.shuffle(rng);
    }
    // Confirm on the label grid: the object still shows, and nothing to avoid does.
    shown.into_iter().take(CONFIRMED_VIEWS).find_map(|(_, i, id)| {
        let view = coverage(&context.caster, &candidates[i], LABEL_COLUMNS);
        if check_answer(context, &view, id, &walker, rules).is_err() || shows_avoided(&view) {
            return None;
        }
        let seen_categories = view.objects.keys().map(|&seen| context.object(seen).category.clone()).collect();
        Some(SideView { camera: candidates[i], answer: id, coverage: view.fraction(id), seen_categories })
    })
}

/// The distractors of `found` as (category, readable name, where it is): the drawn ones,
/// but any of a family the side view shows (only possible in an example's last scene) or all
/// when none were drawn are replaced by categories of distinct families from the template's
/// (then all templates') furniture, none of the answer's family or of one seen in the side
/// view. Where it is: `opposite` (an object of it stands on the other side near M1),
/// `scene` (elsewhere in the scene) or `common` (not in the scene).
fn distractors(context: &SceneContext<'_>, found: &Found, rng: &mut TaskRng) -> Vec<(String, String, &'static str)> {
    let family = |category: &str| context.priors.family(category).to_string();
    let mut taken: BTreeSet<String> = found.view.seen_categories.iter().map(|c| family(c)).collect();
    taken.insert(family(&context.object(found.view.answer).category));
    let kept: Vec<String> = found.distractors.iter().filter(|c| !taken.contains(&family(c))).cloned().collect();
    let categories: Vec<String> = if kept.len() == 3 {
        kept
    } else {
        taken.extend(kept.iter().map(|c| family(c)));
        let own = context.priors.pt.answers.get(&context.scene.template).cloned().unwrap_or_default();
        let mut pool: Vec<String> = own.into_iter().filter(|c| !taken.contains(&family(c))).collect();
        pool.shuffle(rng);
        let mut common: Vec<String> = context.priors.furniture.iter().map(|(c, _)| c.clone()).collect();
        common.shuffle(rng);
        let more = pool.into_iter().chain(common).filter(|c| taken.insert(family(c))).take(3 - kept.len());
        kept.into_iter().chain(more).collect()
    };
    let (midpoint, heading) = (found.path.midpoint, found.heading());
    categories
        .into_iter()
        .map(|category| {
            let objects = || context.scene.objects.iter().filter(|o| o.category == category);
            let opposite = objects().any(|o| {
                let offset = lateral(floor(o.center()), midpoint, heading);
                let other_side = if found.left { offset > 0.3 } else { offset < -0.3 };
                other_side && (floor(o.center()) - midpoint).length() <= NEAR_M1
            });
            let source = if opposite {
                "opposite"
            } else if objects().next().is_some() {
                "scene"
            } else {
                "common"
            };
            let display = objects()
                .next()
                .map(|o| o.display.clone())
                .or_else(|| context.priors.furniture.iter().find(|(c, _)| *c == category).map(|(_, d)| d.clone()))
                .unwrap_or_else(|| category.replace('_', " "));
            (category, display, source)
        })
        .collect()
}

/// Question phrasings; `{from}`/`{to}` are waypoint names, `{side}` is "left" or "right".
const QUESTIONS: [&str; 5] = [
    "Walking from waypoint {from} to waypoint {to}, which object can you see on your {side} at waypoint M1?",
    "You follow the drawn path from waypoint {from} to waypoint {to}. At M1, which object is on your {side}?",
    "Imagine walking along the path from {from} to {to}. When you reach M1, which of these objects would you see to your {side}?",
    "Following the path from waypoint {from} to waypoint {to}, what can you see on the {side}-hand side at M1?",
    "If I walk the path from waypoint {from} to waypoint {to}, which object will be on my {side} when I pass M1?",
];

fn build(context: &SceneContext<'_>, variant: &str, slot: usize, found: Found, rng: &mut TaskRng) -> ExamplePlan {
    let picked = distractors(context, &found, rng);
    let Found { bin_name, path, reversed, left, lens, view: found, .. } = found;
    let path = &path;
    let heading = if reversed { -path.forward } else { path.forward };
    let side = side_word(left);
    let side_direction = if left { -right_of(yaw_of(heading)) } else { right_of(yaw_of(heading)) };
    let answer = context.object(found.answer);
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

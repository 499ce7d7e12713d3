//! From (template, seed, example index) to a planned example: builds the example's scene and
//! runs the task's sampler, moving to a fresh scene when a scene cannot host the example
//! (every attempt has its own scene seed and random stream, so the result is deterministic).

use anyhow::{Result, bail};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use ipt_scenes::template::Rule;
use ipt_scenes::{Assets, BuildOptions, Scene};

use super::{ExamplePlan, NoExample, Priors, SceneContext, Task, TaskRng, TaskSettings, plan, pt, task_rng};

/// Scenes tried per example before giving up.
pub const SCENE_ATTEMPTS: u32 = 8;
/// The last attempts run relaxed (see [`SceneContext::relaxed`]).
const RELAXED_ATTEMPTS: u32 = 2;

/// A plan with the scene it was made in.
#[derive(Debug, Clone)]
pub struct PlannedExample {
    /// The scene.
    pub scene: Scene,
    /// The plan.
    pub plan: ExamplePlan,
}

/// The scene seed of attempt `attempt` of example `index` of `task` (SplitMix64 mixing).
pub fn scene_seed(seed: u64, task: Task, index: u64, attempt: u32) -> u64 {
    let mut z = seed
        .wrapping_add((task as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(index.wrapping_mul(0xBF58_476D_1CE4_E5B9))
        .wrapping_add(u64::from(attempt).wrapping_mul(0x94D0_49BB_1331_11EB));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) >> 16
}

/// The furniture categories template `name` places (on the floor or a wall, not on other
/// objects): (category, readable name).
fn template_furniture(assets: &Assets, name: &str) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    let Ok(template) = assets.template(name) else { return found };
    for slot in &template.rooms {
        let groups = slot.room.groups.iter().filter(|g| !matches!(g.rule, Rule::On { .. }));
        for category in groups.flat_map(|g| g.categories()).filter_map(|c| assets.catalog.get(c)) {
            found.insert((category.name.clone(), category.display.clone()));
        }
    }
    found
}

/// The furniture categories of the loaded templates: (category, readable name). Path Tracing
/// draws its last distractors here.
pub fn furniture(assets: &Assets) -> Vec<(String, String)> {
    let names = assets.template_names();
    names.iter().flat_map(|name| template_furniture(assets, name)).collect::<BTreeSet<_>>().into_iter().collect()
}

/// Per template, the categories Path Tracing examples take turns to ask about: its furniture.
pub fn pt_answers(assets: &Assets) -> BTreeMap<String, Vec<String>> {
    let names = assets.template_names();
    let answers = |name: &String| template_furniture(assets, name).into_iter().map(|(category, _)| category).collect();
    names.iter().map(|name| (name.clone(), answers(name))).collect()
}

/// For each category, the share of room templates that place it: potted plants stand in
/// most rooms, toilets in one. Multiview Counting favours rarer categories with it.
pub fn prevalence(assets: &Assets) -> BTreeMap<String, f32> {
    let mut rooms: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for name in assets.template_names() {
        let Ok(template) = assets.template(&name) else { continue };
        for slot in &template.rooms {
            let categories = slot.room.groups.iter().flat_map(|g| g.categories()).map(str::to_string).collect();
            rooms.insert(slot.room.name.clone(), categories);
        }
    }
    let mut share: BTreeMap<String, f32> = BTreeMap::new();
    for categories in rooms.values() {
        for category in categories {
            *share.entry(category.clone()).or_default() += 1.0 / rooms.len() as f32;
        }
    }
    share
}

/// Scenes per template searched to calibrate Path Tracing's answers and distractors.
const CALIBRATION_SCENES: u64 = 256;
/// The seed of the calibration scenes (fixed: calibration depends on the templates only).
const CALIBRATION_SEED: u64 = 0xCA11_B7A7_E000;

/// Plans examples from the loaded templates, knowing what they hold as a whole.
pub struct Planner<'a> {
    assets: &'a Assets,
    settings: TaskSettings,
    priors: Priors,
    /// `priors` with Path Tracing's calibrated distractor weights, made on first use.
    pt_priors: OnceLock<Priors>,
}

impl<'a> Planner<'a> {
    /// A planner over every template in `assets`.
    pub fn new(assets: &'a Assets, settings: TaskSettings) -> Planner<'a> {
        let pt = pt::PtBalance { answers: pt_answers(assets), ..pt::PtBalance::NONE };
        let priors = Priors { furniture: furniture(assets), prevalence: prevalence(assets), pt };
        Planner { assets, settings, priors, pt_priors: OnceLock::new() }
    }

    /// The settings plans are made with.
    pub fn settings(&self) -> TaskSettings {
        self.settings
    }

    /// The priors `task` is planned with; for Path Tracing this calibrates its distractor
    /// weights over [`CALIBRATION_SCENES`] examples per template the first time (about 20 s
    /// on 2 cores for the 8 built-in templates).
    pub fn priors(&self, task: Task) -> &Priors {
        if task != Task::Pt {
            return &self.priors;
        }
        self.pt_priors.get_or_init(|| {
            let templates = self.assets.template_names();
            let jobs: Vec<(&String, u64)> =
                templates.iter().flat_map(|t| (0..CALIBRATION_SCENES).map(move |i| (t, i))).collect();
            let samples: Vec<pt::CalibrationSample> = jobs
                .par_iter()
                .filter_map(|&(template, index)| {
                    self.attempts(template, Task::Pt, CALIBRATION_SEED, index, &self.priors, pt::calibration_sample)
                        .ok()
                        .map(|(_, sample)| sample)
                })
                .collect();
            let pt = pt::PtBalance { distractor_weights: pt::calibrate(&samples), ..self.priors.pt.clone() };
            Priors { pt, ..self.priors.clone() }
        })
    }

    /// Prepares the priors of `tasks` now, with a spinner on standard error while Path Tracing
    /// calibrates (instead of a silent pause before the first example).
    pub fn prepare(&self, tasks: &[Task]) {
        if tasks.contains(&Task::Pt) && self.pt_priors.get().is_none() {
            let spinner = indicatif::ProgressBar::new_spinner().with_message(format!(
                "calibrating Path Tracing options over {} scenes per template (once per run)",
                CALIBRATION_SCENES
            ));
            spinner.enable_steady_tick(std::time::Duration::from_millis(200));
            self.priors(Task::Pt);
            spinner.finish_and_clear();
        }
    }

    /// Plans example `index` of `task` in a scene of `template`.
    pub fn plan(&self, template: &str, task: Task, seed: u64, index: u64) -> Result<PlannedExample> {
        let (scene, plan) = self.attempts(template, task, seed, index, self.priors(task), |context, index, rng| {
            plan(context, task, index, rng)
        })?;
        Ok(PlannedExample { scene, plan })
    }

    /// Runs `sample` in up to [`SCENE_ATTEMPTS`] scenes of `template` until one hosts it.
    fn attempts<T>(
        &self,
        template: &str,
        task: Task,
        seed: u64,
        index: u64,
        priors: &Priors,
        sample: impl Fn(&SceneContext<'_>, u64, &mut TaskRng) -> Result<T, NoExample>,
    ) -> Result<(Scene, T)> {
        let mut reasons = Vec::new();
        for attempt in 0..SCENE_ATTEMPTS {
            let scene_seed = scene_seed(seed, task, index, attempt);
            let scene = match self.assets.build(template, scene_seed, &BuildOptions::default()) {
                Ok(scene) => scene,
                // A seed whose layout fails is skipped like a scene without an example.
                Err(error) => {
                    reasons.push(format!("scene build: {error}"));
                    continue;
                }
            };
            let mut context = SceneContext::new(&scene, self.settings);
            context.relaxed = attempt >= SCENE_ATTEMPTS - RELAXED_ATTEMPTS;
            context.priors = priors;
            let mut rng = task_rng(seed, task, index, attempt);
            match sample(&context, index, &mut rng) {
                Ok(found) => return Ok((scene, found)),
                Err(reason) => reasons.push(format!("scene {}: {reason}", scene.seed)),
            }
        }
        bail!(
            "no {task} example {index} from template '{template}' in {SCENE_ATTEMPTS} scenes ({})",
            reasons.join("; ")
        )
    }
}

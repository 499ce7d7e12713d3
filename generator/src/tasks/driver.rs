//! From (template, seed, example index) to a planned example: builds the example's scene and
//! runs the task's sampler, moving to a fresh scene when a scene cannot host the example
//! (every attempt has its own scene seed and random stream, so the result is deterministic).

use anyhow::{Result, bail};
use rand::Rng;
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use ipt_scenes::template::Rule;
use ipt_scenes::{Assets, BuildOptions, Scene};

use super::{ExamplePlan, NoExample, Priors, SceneContext, Task, TaskRng, TaskSettings, mvc, pet, plan, pt, task_rng};

/// Scenes tried per example before giving up.
pub const SCENE_ATTEMPTS: u32 = 8;
/// Scenes tried per Multiview Counting example: its category is fixed and its count exact
/// (see `mvc::plan`), and a scene with too many instances for a count of 1 cannot host it.
pub const MVC_SCENE_ATTEMPTS: u32 = 96;

/// Scenes tried per Perspective Taking example: its sub-type is kept in every scene but the
/// relaxed last two (a sub-type given up for an easier one would unbalance the strict
/// benchmark split).
pub const PET_SCENE_ATTEMPTS: u32 = 24;

/// Scenes tried per Path Tracing example: its options are fixed, and a scene where one of
/// the distractors cannot be kept out of the side view cannot host it.
pub const PT_SCENE_ATTEMPTS: u32 = 64;

/// The scenes tried per example of `task`.
fn scene_attempts(task: Task) -> u32 {
    match task {
        Task::Pet => PET_SCENE_ATTEMPTS,
        Task::Pt => PT_SCENE_ATTEMPTS,
        Task::Mvc => MVC_SCENE_ATTEMPTS,
    }
}

/// The last scenes of an example of `task` that run relaxed (see [`SceneContext::relaxed`]):
/// Path Tracing keeps its drawn options there and gives up only its length bin (a small
/// room has no 4 m path), so it relaxes early rather than fall back to its last scene,
/// whose options are not drawn.
fn relaxed_attempts(task: Task) -> u32 {
    match task {
        Task::Pt => PT_SCENE_ATTEMPTS / 4,
        Task::Pet | Task::Mvc => 2,
    }
}

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

/// The seed of example `index`'s draws that do not depend on the scene attempt
/// ([`SceneContext::example_seed`]).
fn example_seed(seed: u64, task: Task, index: u64) -> u64 {
    task_rng(seed, task, index, u32::MAX).random()
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

/// Scenes per template whose trajectories calibrate Multiview Counting's categories (each
/// with [`mvc::calibration_sample`]'s trajectories) and whose views calibrate Perspective
/// Taking's (see [`pet::calibration_sample`]).
const CALIBRATION_SCENES: u64 = 48;
/// The seed of the calibration scenes (fixed: calibration depends on the templates only).
const CALIBRATION_SEED: u64 = 0xCA11_B7A7_E000;

/// Plans examples from the loaded templates, knowing what they hold as a whole.
pub struct Planner<'a> {
    assets: &'a Assets,
    settings: TaskSettings,
    priors: Priors,
    /// Per task (in [`Task::ALL`] order), `priors` with the task's calibrated categories,
    /// made on first use.
    calibrated: [OnceLock<Priors>; 3],
    /// The templates examples are drawn from (Multiview Counting chooses among them).
    templates: Vec<String>,
}

impl<'a> Planner<'a> {
    /// A planner over every template in `assets`.
    pub fn new(assets: &'a Assets, settings: TaskSettings) -> Planner<'a> {
        Planner::with_templates(assets, settings, assets.template_names())
    }

    /// A planner whose examples come from `templates` (of `assets`); distractors and
    /// prevalence still know every loaded template.
    pub fn with_templates(assets: &'a Assets, settings: TaskSettings, templates: Vec<String>) -> Planner<'a> {
        let priors = Priors {
            furniture: furniture(assets),
            prevalence: prevalence(assets),
            pt: pt::PtBalance::NONE,
            mvc: mvc::MvcBalance::NONE,
            pet: pet::PetBalance::NONE,
            families: assets.catalog.families(),
        };
        Planner { assets, settings, priors, calibrated: Default::default(), templates }
    }

    /// The settings plans are made with.
    pub fn settings(&self) -> TaskSettings {
        self.settings
    }

    /// The priors `task` is planned with. The first time, the task calibrates its asked
    /// categories over `CALIBRATION_SCENES` (48) scenes per template (a few seconds on 2
    /// cores for the 8 built-in templates).
    pub fn priors(&self, task: Task) -> &Priors {
        self.calibrated[task as usize].get_or_init(|| match task {
            Task::Pet => {
                let samples = self.calibration_samples(task, pet::calibration_sample);
                Priors { pet: pet::calibrate(&samples), ..self.priors.clone() }
            }
            Task::Pt => {
                let samples = self.calibration_samples(task, pt::calibration_sample);
                Priors { pt: pt::calibrate(&samples), ..self.priors.clone() }
            }
            Task::Mvc => {
                let samples = self.calibration_samples(task, mvc::calibration_sample);
                Priors { mvc: mvc::calibrate(&samples), ..self.priors.clone() }
            }
        })
    }

    /// One sample of `sample` per calibration scene of `task`, `CALIBRATION_SCENES` per
    /// template, in parallel.
    fn calibration_samples<T: Send>(
        &self,
        task: Task,
        sample: impl Fn(&SceneContext<'_>, u64, &mut TaskRng) -> Result<T, NoExample> + Sync,
    ) -> Vec<T> {
        let jobs: Vec<(&String, u64)> =
            self.templates.iter().flat_map(|t| (0..CALIBRATION_SCENES).map(move |i| (t, i))).collect();
        jobs.par_iter()
            .filter_map(|&(template, index)| {
                self.attempts(template, task, CALIBRATION_SEED, index, &self.priors, &sample).ok().map(|(_, s)| s)
            })
            .collect()
    }

    /// Prepares the priors of `tasks` now, with a spinner on standard error while the
    /// samplers calibrate (instead of a silent pause before the first example).
    pub fn prepare(&self, tasks: &[Task]) {
        for &task in tasks {
            if self.calibrated[task as usize].get().is_none() {
                let spinner = indicatif::ProgressBar::new_spinner().with_message(format!(
                    "calibrating {} categories over {CALIBRATION_SCENES} scenes per template (once per run)",
                    task.title()
                ));
                spinner.enable_steady_tick(std::time::Duration::from_millis(200));
                self.priors(task);
                spinner.finish_and_clear();
            }
        }
    }

    /// The template of Multiview Counting example `index` under `seed`: one that hosts the
    /// category the example asks about (see [`mvc::asked`]); `None` when no template of the
    /// planner can be asked about at every count (the caller picks one, and the example
    /// asks about whatever its scenes show).
    pub fn mvc_template(&self, seed: u64, index: u64) -> Option<&str> {
        let balance = &self.priors(Task::Mvc).mvc;
        mvc::asked(balance, index, example_seed(seed, Task::Mvc, index)).map(|(_, template)| template)
    }

    /// Plans example `index` of `task` in a scene of `template`.
    pub fn plan(&self, template: &str, task: Task, seed: u64, index: u64) -> Result<PlannedExample> {
        let (scene, plan) = self.attempts(template, task, seed, index, self.priors(task), &|context, index, rng| {
            plan(context, task, index, rng)
        })?;
        Ok(PlannedExample { scene, plan })
    }

    /// Runs `sample` in up to [`scene_attempts`] scenes of `template` until one hosts it.
    fn attempts<T>(
        &self,
        template: &str,
        task: Task,
        seed: u64,
        index: u64,
        priors: &Priors,
        sample: &impl Fn(&SceneContext<'_>, u64, &mut TaskRng) -> Result<T, NoExample>,
    ) -> Result<(Scene, T)> {
        let mut reasons = Vec::new();
        let attempts = scene_attempts(task);
        for attempt in 0..attempts {
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
            context.relaxed = attempt >= attempts - relaxed_attempts(task);
            context.last_attempt = attempt + 1 == attempts;
            context.priors = priors;
            context.example_seed = example_seed(seed, task, index);
            let mut rng = task_rng(seed, task, index, attempt);
            match sample(&context, index, &mut rng) {
                Ok(found) => return Ok((scene, found)),
                Err(reason) => reasons.push(format!("scene {}: {reason}", scene.seed)),
            }
        }
        bail!("no {task} example {index} from template '{template}' in {attempts} scenes ({})", reasons.join("; "))
    }
}

//! From (template, seed, example index) to a planned example: builds the example's scene and
//! runs the task's sampler, moving to a fresh scene when a scene cannot host the example
//! (every attempt has its own scene seed and random stream, so the result is deterministic).

use anyhow::{Result, bail};
use std::collections::{BTreeMap, BTreeSet};

use ipt_scenes::template::Rule;
use ipt_scenes::{Assets, BuildOptions, Scene};

use super::{ExamplePlan, SceneContext, Task, TaskSettings, plan, task_rng};

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

/// The furniture categories of the loaded templates (placed on the floor or a wall, not on
/// other objects): (category, readable name). Path Tracing draws its last distractors here.
pub fn furniture(assets: &Assets) -> Vec<(String, String)> {
    let mut found = BTreeSet::new();
    for name in assets.template_names() {
        let Ok(template) = assets.template(&name) else { continue };
        for slot in &template.rooms {
            for group in &slot.room.groups {
                if !matches!(group.rule, Rule::On { .. })
                    && let Some(category) = assets.catalog.get(&group.category)
                {
                    found.insert((category.name.clone(), category.display.clone()));
                }
            }
        }
    }
    found.into_iter().collect()
}

/// For each category, the share of room templates that place it: potted plants stand in
/// most rooms, toilets in one. Multiview Counting favours rarer categories with it.
pub fn prevalence(assets: &Assets) -> BTreeMap<String, f32> {
    let mut rooms: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for name in assets.template_names() {
        let Ok(template) = assets.template(&name) else { continue };
        for slot in &template.rooms {
            let categories = slot.room.groups.iter().map(|g| g.category.clone()).collect();
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

/// Plans example `index` of `task` in a scene of `template`.
pub fn plan_example(
    assets: &Assets,
    template: &str,
    task: Task,
    seed: u64,
    index: u64,
    settings: TaskSettings,
) -> Result<PlannedExample> {
    let mut reasons = Vec::new();
    let furniture = furniture(assets);
    let prevalence = prevalence(assets);
    for attempt in 0..SCENE_ATTEMPTS {
        let scene = match assets.build(template, scene_seed(seed, task, index, attempt), &BuildOptions::default()) {
            Ok(scene) => scene,
            // A seed whose layout fails is skipped like a scene without an example.
            Err(error) => {
                reasons.push(format!("scene build: {error}"));
                continue;
            }
        };
        let mut context = SceneContext::new(&scene, settings);
        context.relaxed = attempt >= SCENE_ATTEMPTS - RELAXED_ATTEMPTS;
        context.furniture = furniture.clone();
        context.prevalence = prevalence.clone();
        let mut rng = task_rng(seed, task, index, attempt);
        match plan(&context, task, index, &mut rng) {
            Ok(plan) => return Ok(PlannedExample { scene, plan }),
            Err(reason) => reasons.push(format!("scene {}: {reason}", scene.seed)),
        }
    }
    bail!("no {task} example {index} from template '{template}' in {SCENE_ATTEMPTS} scenes ({})", reasons.join("; "))
}

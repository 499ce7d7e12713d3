//! Rendered examples agree with their plans: the object a PET or PT question is about covers
//! at least the required fraction of its imagination's id image, MVC counts equal the
//! distinct ids of the category across the four id images, and the planners' ray-cast
//! coverage agrees with the id images within the stated tolerance. One test function: the
//! renderer is one app per process.

use ipt_gen::render::bevy_backend::{BevyRenderer, RendererOptions};
use ipt_gen::render::{IdImage, Outputs, Renderer};
use ipt_gen::tasks::driver::Planner;
use ipt_gen::tasks::render::render_plan;
use ipt_gen::tasks::visibility::{LABEL_COLUMNS, coverage};
use ipt_gen::tasks::{SceneContext, Task, TaskMeta, TaskSettings};
use ipt_scenes::Assets;

/// Per object, ray-cast coverage and id-image coverage agree within this many points of the
/// image (absolute) plus this share of the larger (relative).
const ABSOLUTE_TOLERANCE: f32 = 0.003;
const RELATIVE_TOLERANCE: f32 = 0.25;

fn fraction(ids: &IdImage, id: u32) -> f32 {
    ids.count(id) as f32 / ids.ids.len() as f32
}

#[test]
fn rendered_examples_agree_with_their_plans() {
    let assets = Assets::builtin().unwrap();
    let mut renderer = BevyRenderer::new(&RendererOptions::default()).unwrap_or_else(|e| panic!("{e:#}"));
    let settings = TaskSettings { resolution: 256, strict: false };
    let planner = Planner::new(&assets, settings);
    let templates = ["living_room", "office", "kitchen", "apartment_small"];
    let (mut compared, mut within) = (0, 0);
    let mut worst = 0.0f32;
    for task in Task::ALL {
        for index in 0..12u64 {
            let template = templates[index as usize % templates.len()];
            let planned = planner.plan(template, task, 5, index).unwrap();
            renderer.load_scene(&planned.scene).unwrap();
            let rendered =
                render_plan(&mut renderer, &planned.plan, Outputs { rgb: true, ids: true, depth: false }).unwrap();
            let plan = &planned.plan;
            let label = format!("{task} {index} ({template}, scene {})", planned.scene.seed);
            match &plan.meta {
                TaskMeta::Pet(meta) => {
                    let ids = rendered.imagination.ids.as_ref().unwrap();
                    let seen = fraction(ids, meta.object_id);
                    assert!(seen >= 0.004, "{label}: the object covers {seen:.4} of the imagination (needs 0.004)");
                }
                TaskMeta::Pt(meta) => {
                    let ids = rendered.imagination.ids.as_ref().unwrap();
                    let seen = fraction(ids, meta.answer_id);
                    assert!(seen >= 0.0015, "{label}: the answer covers {seen:.4} of the side view (needs 0.0015)");
                }
                TaskMeta::Mvc(meta) => {
                    let mut distinct = std::collections::BTreeSet::new();
                    for view in &rendered.inputs {
                        let ids = view.ids.as_ref().unwrap();
                        for (id, pixels) in ids.counts() {
                            let object = id.checked_sub(1).and_then(|i| planned.scene.objects.get(i as usize));
                            if object.is_some_and(|o| o.category == meta.category)
                                && pixels as f32 >= 0.001 * ids.ids.len() as f32
                            {
                                distinct.insert(id);
                            }
                        }
                    }
                    assert_eq!(
                        distinct.len() as u32,
                        meta.count,
                        "{label}: {} in the id images, {} in the plan",
                        distinct.len(),
                        meta.count
                    );
                }
            }
            // Ray-cast coverage against the id images, for every first-person view.
            let context = SceneContext::new(&planned.scene, settings);
            let views = plan.inputs.iter().chain(std::iter::once(&plan.imagination));
            for (planned_view, view) in views.zip(rendered.inputs.iter().chain(std::iter::once(&rendered.imagination)))
            {
                if planned_view.hide_ceiling {
                    continue;
                }
                let rays = coverage(&context.caster, &planned_view.camera, LABEL_COLUMNS);
                let ids = view.ids.as_ref().unwrap();
                for id in rays.objects.keys().copied().chain(ids.counts().into_keys()).filter(|&id| id > 0) {
                    let (a, b) = (rays.fraction(id), fraction(ids, id));
                    compared += 1;
                    let difference = (a - b).abs();
                    worst = worst.max(difference);
                    if difference <= ABSOLUTE_TOLERANCE + RELATIVE_TOLERANCE * a.max(b) {
                        within += 1;
                    }
                }
            }
        }
    }
    println!("coverage: {within} of {compared} objects within tolerance; largest difference {worst:.4}");
    assert!(within as f32 >= 0.98 * compared as f32, "coverage agrees for only {within} of {compared} objects");
}

/// An example's images do not depend on the scenes its renderer drew before (resumed runs,
/// workers and renderers side by side all start at other examples): MVC examples of rooms
/// and apartments rendered in one order by one renderer and in the reverse order by another
/// come out byte for byte the same.
#[test]
fn images_do_not_depend_on_the_scenes_drawn_before() {
    let assets = Assets::builtin().unwrap();
    let planner = Planner::new(&assets, TaskSettings { resolution: 64, strict: false });
    let templates = ["apartment_family", "dining_room", "apartment_small", "bedroom", "living_room"];
    let planned: Vec<_> =
        (0..40u64).map(|i| planner.plan(templates[i as usize % templates.len()], Task::Mvc, 0, i).unwrap()).collect();
    let render_all = |order: &mut dyn Iterator<Item = usize>| {
        let mut renderer = BevyRenderer::new(&RendererOptions::default()).unwrap_or_else(|e| panic!("{e:#}"));
        let mut images = vec![Vec::new(); planned.len()];
        for k in order {
            renderer.load_scene(&planned[k].scene).unwrap();
            let rendered = render_plan(&mut renderer, &planned[k].plan, Outputs::RGB).unwrap();
            images[k] = rendered.inputs.iter().chain([&rendered.imagination]).map(|v| v.rgb.clone().unwrap()).collect();
        }
        images
    };
    let forward = render_all(&mut (0..planned.len()));
    let backward = render_all(&mut (0..planned.len()).rev());
    for (k, (a, b)) in forward.iter().zip(&backward).enumerate() {
        for (view, (x, y)) in a.iter().zip(b).enumerate() {
            let differing = x.pixels().zip(y.pixels()).filter(|(p, q)| p != q).count();
            assert_eq!(differing, 0, "example {k} ({}), view {view}", planned[k].scene.template);
        }
    }
}

/// Position questions forbid an object straddling the centre line of either view. The
/// 64-column label grid alone missed thin parts (26 of 1,133 examples once showed the
/// object's pixels on both sides in an id image); the planner now also casts every pixel
/// row beside the line. Checked here on the id images of 120 position examples.
#[test]
fn pet_position_objects_never_straddle_the_centre_line() {
    let assets = Assets::builtin().unwrap();
    let planner = Planner::new(&assets, TaskSettings { resolution: 256, strict: false });
    let mut renderer = BevyRenderer::new(&RendererOptions::default()).unwrap_or_else(|e| panic!("{e:#}"));
    let templates = assets.template_names();
    let mut straddling = Vec::new();
    let mut checked = 0;
    for index in (0..180u64).filter(|i| i % 6 >= 2) {
        let template = &templates[index as usize % templates.len()];
        let planned = planner.plan(template, Task::Pet, 11, index).unwrap();
        let TaskMeta::Pet(meta) = &planned.plan.meta else { unreachable!() };
        if !planned.plan.subtype.starts_with("position") {
            continue;
        }
        renderer.load_scene(&planned.scene).unwrap();
        let outputs = Outputs { rgb: true, ids: true, depth: false };
        let rendered = render_plan(&mut renderer, &planned.plan, outputs).unwrap();
        for (name, view) in [("input", &rendered.inputs[0]), ("imagination", &rendered.imagination)] {
            let ids = view.ids.as_ref().unwrap();
            let centre = ids.width / 2;
            let columns: Vec<u32> =
                (0..ids.width).filter(|&x| (0..ids.height).any(|y| ids.get(x, y) == meta.object_id)).collect();
            if columns.first().is_some_and(|&first| first < centre)
                && columns.last().is_some_and(|&last| last >= centre)
            {
                straddling.push(format!("pet {index} ({template}): the object straddles the centre of the {name}"));
            }
        }
        checked += 1;
    }
    println!("{checked} position examples checked");
    assert!(checked >= 100, "only {checked} position examples");
    assert!(straddling.is_empty(), "{}", straddling.join("\n"));
}

//! Each filter rule of the samplers rejects a candidate that breaks it. Candidates start
//! from real planned examples (which pass every rule) and are then changed to break one
//! rule: a turned camera, a moved X, a second object of the same category, a threshold set
//! beyond the candidate's own value.

use glam::{Vec2, Vec3};
use ipt_gen::render::{CameraModel, CameraPose};
use ipt_gen::tasks::driver::{PlannedExample, Planner};
use ipt_gen::tasks::mvc::{MvcRejection, MvcRules, count_instances};
use ipt_gen::tasks::pet::{PetCandidate, PetRejection, PetRules, QuestionKind, check_x, evaluate};
use ipt_gen::tasks::pt::{PtRejection, PtRules, Walker, check_answer};
use ipt_gen::tasks::visibility::{Coverage, LABEL_COLUMNS, ObjectHits, coverage};
use ipt_gen::tasks::{SceneContext, Task, TaskMeta, TaskSettings};
use ipt_scenes::Assets;
use ipt_scenes::nav::CellState;
use ipt_scenes::raycast::Surface;

fn planned(task: Task, index: u64) -> PlannedExample {
    let assets = Assets::builtin().unwrap();
    Planner::new(&assets, TaskSettings { resolution: 256, strict: false }).plan("living_room", task, 99, index).unwrap()
}

fn pet_candidate(example: &PlannedExample) -> PetCandidate {
    let TaskMeta::Pet(meta) = &example.plan.meta else { panic!("not a PET plan") };
    PetCandidate {
        start: example.plan.inputs[0].camera,
        start_yaw: meta.start_yaw,
        x: meta.x,
        turn_left: meta.turn == "left",
        object: meta.object_id,
    }
}

#[test]
fn pet_rules_reject_what_breaks_them() {
    for index in [0u64, 2] {
        let example = planned(Task::Pet, index);
        let context = SceneContext::new(&example.scene, TaskSettings { resolution: 256, strict: false });
        let candidate = pet_candidate(&example);
        let kind = if index == 0 { QuestionKind::Distance } else { QuestionKind::Position };
        let spec = PetRules::SPEC;
        let facts = evaluate(&context, &candidate, kind, &spec).expect("a planned candidate passes");
        let reject = |c: &PetCandidate, rules: &PetRules| evaluate(&context, c, kind, rules).unwrap_err();

        // Turned the other way at the X, the object is behind the new view.
        let turned = PetCandidate { turn_left: !candidate.turn_left, ..candidate };
        assert_eq!(reject(&turned, &spec), PetRejection::HiddenAfter);
        // An input view looking away does not show the object.
        let away = CameraPose::from_yaw_pitch(candidate.start.pose.position, candidate.start_yaw + 180.0, 0.0);
        let looking_away = PetCandidate { start: CameraModel { pose: away, ..candidate.start }, ..candidate };
        assert_eq!(reject(&looking_away, &spec), PetRejection::HiddenBefore);
        // Thresholds beyond this candidate's own values.
        let nearest = facts.distance_before.min(facts.distance_after);
        assert_eq!(reject(&candidate, &PetRules { max_distance: nearest - 0.01, ..spec }), PetRejection::TooFar);
        assert_eq!(reject(&candidate, &PetRules { edge_margin: 0.49, ..spec }), PetRejection::NearEdge);
        let coverage_floor = facts.coverage_before.min(facts.coverage_after) + 0.001;
        let hidden = reject(&candidate, &PetRules { min_coverage: coverage_floor, ..spec });
        assert!(matches!(hidden, PetRejection::HiddenBefore | PetRejection::HiddenAfter), "{hidden:?}");
        match kind {
            QuestionKind::Distance => {
                let change = (facts.distance_after - facts.distance_before).abs();
                assert_eq!(
                    reject(&candidate, &PetRules { min_distance_change: change + 0.01, ..spec }),
                    PetRejection::SmallDistanceChange
                );
            }
            QuestionKind::Position => {
                assert_eq!(reject(&candidate, &PetRules { centre_margin: 0.45, ..spec }), PetRejection::NearCentreLine);
                // Looking straight at the object, it lies across the centre line.
                let object = example.scene.objects[candidate.object as usize - 1].center();
                let to = Vec2::new(object.x, object.z)
                    - Vec2::new(candidate.start.pose.position.x, candidate.start.pose.position.z);
                let yaw = ipt_gen::tasks::yaw_of(to);
                let pose = CameraPose::from_yaw_pitch(candidate.start.pose.position, yaw, 0.0);
                let facing =
                    PetCandidate { start: CameraModel { pose, ..candidate.start }, start_yaw: yaw, ..candidate };
                let rules = PetRules { centre_margin: 0.0, edge_margin: 0.0, ..spec };
                let crossing = evaluate(&context, &facing, kind, &rules);
                assert!(
                    matches!(crossing, Err(PetRejection::StraddlesCentreLine) | Err(PetRejection::HiddenAfter)),
                    "{crossing:?}"
                );
            }
        }
        // A second object of the same category in view makes the question ambiguous.
        let before = coverage(&context.caster, &candidate.start, LABEL_COLUMNS);
        let other = *before.objects.keys().find(|&&id| id != candidate.object).expect("another object in view");
        let mut twin = example.scene.clone();
        let category = twin.objects[candidate.object as usize - 1].category.clone();
        twin.objects[other as usize - 1].category = category;
        let twin_context = SceneContext::new(&twin, context.settings);
        assert_eq!(evaluate(&twin_context, &candidate, kind, &spec).unwrap_err(), PetRejection::CategoryNotUnique);
    }
}

#[test]
fn pet_x_rules_reject_furniture_walls_blocked_floor_and_short_walks() {
    let example = planned(Task::Pet, 1);
    let context = SceneContext::new(&example.scene, TaskSettings { resolution: 256, strict: false });
    let rules = PetRules::SPEC;
    let scene = &example.scene;
    let mut seen = std::collections::BTreeMap::new();
    // Look down at the floor from many spots and headings: classify what each pixel hits.
    for (i, cell) in scene.nav.cells_in(CellState::Walkable).iter().enumerate().step_by(7) {
        let c = scene.nav.center(*cell);
        let pose = CameraPose::from_yaw_pitch(Vec3::new(c.x, 1.5, c.y), (i * 37 % 360) as f32, -40.0);
        let camera = CameraModel::pinhole(pose, 90.0, 256, 256);
        for y in (8..256).step_by(16) {
            for x in (8..256).step_by(16) {
                let pixel = Vec2::new(x as f32, y as f32);
                let (origin, direction) = camera.ray(pixel);
                let Some(hit) = context.caster.cast(origin, direction, 100.0) else { continue };
                let result = check_x(&context, &camera, pixel, &rules);
                let kind = match hit.surface {
                    Surface::Object(_) => "object",
                    Surface::Wall => "wall",
                    Surface::Floor => {
                        let cell = scene.nav.cell_at(Vec2::new(hit.point.x, hit.point.z));
                        let walkable = cell.is_some_and(|c| scene.nav.state(c) == CellState::Walkable);
                        let near = (Vec2::new(hit.point.x, hit.point.z) - c).length() < 1.0;
                        match (walkable, near) {
                            (false, _) => "blocked floor",
                            (true, true) => "near floor",
                            (true, false) => "open floor",
                        }
                    }
                    Surface::Ceiling => continue,
                };
                let expected = match kind {
                    "object" | "wall" => Err(PetRejection::XNotOnFloor),
                    "blocked floor" => Err(PetRejection::XNotWalkable),
                    "near floor" => Err(PetRejection::XTooClose),
                    _ => result,
                };
                assert_eq!(result, expected, "{kind} at pixel {pixel}");
                *seen.entry(kind).or_insert(0) += 1;
            }
        }
    }
    for kind in ["object", "wall", "blocked floor", "near floor", "open floor"] {
        assert!(seen.get(kind).copied().unwrap_or(0) > 0, "no pixel hit {kind}: {seen:?}");
    }
    // The height rule, with a limit below the floor.
    let camera = example.plan.inputs[0].camera;
    let TaskMeta::Pet(meta) = &example.plan.meta else { unreachable!() };
    let pixel = camera.project(Vec3::new(meta.x.x, 0.0, meta.x.y)).unwrap().0;
    assert!(check_x(&context, &camera, pixel, &rules).is_ok());
    assert_eq!(
        check_x(&context, &camera, pixel, &PetRules { max_x_height: -0.01, ..rules }),
        Err(PetRejection::XTooHigh)
    );
}

#[test]
fn pt_rules_reject_wrong_side_far_hidden_and_small_answers() {
    let example = planned(Task::Pt, 0);
    let context = SceneContext::new(&example.scene, TaskSettings { resolution: 256, strict: false });
    let TaskMeta::Pt(meta) = &example.plan.meta else { panic!() };
    let view = coverage(&context.caster, &example.plan.imagination.camera, LABEL_COLUMNS);
    let walker = Walker { midpoint: meta.midpoint, heading: meta.heading, left: meta.side == "left" };
    let rules = PtRules::SPEC;
    assert!(check_answer(&context, &view, meta.answer_id, &walker, &rules).is_ok());
    let other_side = Walker { left: !walker.left, ..walker };
    assert_eq!(check_answer(&context, &view, meta.answer_id, &other_side, &rules), Err(PtRejection::WrongSide));
    let far = Walker { midpoint: walker.midpoint - walker.heading * 20.0, ..walker };
    let far_result = check_answer(&context, &view, meta.answer_id, &far, &rules);
    assert!(matches!(far_result, Err(PtRejection::FarFromM1) | Err(PtRejection::WrongSide)), "{far_result:?}");
    let strict = PtRules { min_coverage: meta.answer_coverage + 0.001, ..rules };
    assert_eq!(check_answer(&context, &view, meta.answer_id, &walker, &strict), Err(PtRejection::Hidden));
    if let Some(small) = example.scene.objects.iter().find(|o| o.support.is_some()) {
        assert_eq!(check_answer(&context, &view, small.id, &walker, &rules), Err(PtRejection::NotFurniture));
    }
}

#[test]
fn mvc_counts_each_instance_once_and_rejects_what_cannot_be_counted() {
    let example = planned(Task::Mvc, 1);
    let context = SceneContext::new(&example.scene, TaskSettings { resolution: 256, strict: false });
    let TaskMeta::Mvc(meta) = &example.plan.meta else { panic!() };
    let rules = MvcRules::SPEC;
    let frames: Vec<Coverage> =
        example.plan.inputs.iter().map(|v| coverage(&context.caster, &v.camera, LABEL_COLUMNS)).collect();
    let found = count_instances(&context, &frames, &meta.category, &rules).unwrap();
    assert_eq!(found.len() as u32, meta.count);
    // The same frames twice: every instance still counts once.
    let doubled: Vec<Coverage> = frames.iter().chain(frames.iter()).cloned().collect();
    assert_eq!(count_instances(&context, &doubled, &meta.category, &rules).unwrap().len(), found.len());
    // Hand-made frames: 10 rays of 4,096 count, 1 ray does not, 3 rays is too close to call.
    let id = found[0].0;
    let frame = |rays: u32| Coverage {
        rays: 4096,
        width: 256,
        objects: [(id, ObjectHits { rays, min_u: 0.0, max_u: 1.0 })].into_iter().collect(),
    };
    let only = |frames: &[Coverage]| count_instances(&context, frames, &meta.category, &rules);
    assert_eq!(only(&[frame(10)]).unwrap().len(), 1);
    assert_eq!(only(&[frame(3)]), Err(MvcRejection::NearThreshold));
    assert_eq!(only(&[frame(0)]), Err(MvcRejection::NoneVisible));
    // Structure or non-countable categories are never counted.
    let mut uncountable = example.scene.clone();
    uncountable.objects[id as usize - 1].countable = false;
    let other_context = SceneContext::new(&uncountable, context.settings);
    assert_eq!(count_instances(&other_context, &frames, &meta.category, &rules), Err(MvcRejection::NotCountable));
    // A category nobody sees.
    let unseen = example.scene.objects.iter().find(|o| o.countable && frames.iter().all(|f| !f.seen(o.id)));
    if let Some(object) = unseen
        && example
            .scene
            .objects
            .iter()
            .filter(|o| o.category == object.category)
            .all(|o| frames.iter().all(|f| !f.seen(o.id)))
    {
        assert_eq!(count_instances(&context, &frames, &object.category, &rules), Err(MvcRejection::NoneVisible));
    }
}

//! Scene invariants over many seeds of every built-in template, checked with geometry code
//! independent of the builder (parry shape queries and the test's own graph search):
//! no interpenetration, settled objects resting on their support, objects inside their room,
//! a large connected walkable region, and shortest paths that stay on free cells.

use std::collections::{BTreeMap, BinaryHeap, VecDeque};

use glam::{Vec2, Vec3};
use ipt_scenes::geometry::Shape;
use ipt_scenes::nav::{Cell, CellState, NavGrid};
use ipt_scenes::scene::{Part, Scene, SceneObject};
use ipt_scenes::{Assets, BuildOptions};
use rapier3d::parry::math::Pose;
use rapier3d::parry::query;
use rapier3d::parry::shape::{
    Ball, Capsule, Cone, ConvexPolyhedron, Cuboid, Cylinder, SharedShape, SupportMap, TriMesh,
};

const SEEDS: u64 = 200;
/// Scenes per template with meshes (their triangle meshes make checks slower).
const MESH_SEEDS: u64 = 40;
/// Seeds per template that may find no layout with meshes (see the test).
const MESH_UNBUILT: u64 = 4;
const PENETRATION_TOLERANCE: f32 = 0.001;
const SUPPORT_TOLERANCE: f32 = 0.01;

fn shape_of(part: &Part) -> SharedShape {
    let h = 0.5 * part.size;
    match (part.shape, &part.mesh) {
        (Shape::Mesh, Some(mesh)) => {
            let triangles = mesh.data.indices.chunks_exact(3).map(|t| [t[0], t[1], t[2]]).collect();
            SharedShape::new(TriMesh::new(mesh.data.scaled(part.size), triangles).expect("a mesh with triangles"))
        }
        (Shape::Torus, _) => SharedShape::new(torus_hull(h)),
        (Shape::Box | Shape::Mesh, _) => SharedShape::new(Cuboid::new(h)),
        (Shape::Cylinder, _) => SharedShape::new(Cylinder::new(h.y, h.x)),
        (Shape::Cone, _) => SharedShape::new(Cone::new(h.y, h.x)),
        (Shape::Sphere, _) => SharedShape::new(Ball::new(h.x)),
        (Shape::Capsule, _) => SharedShape::new(Capsule::new_y(h.y - h.x, h.x)),
    }
}

/// Sides of the polygonal prism standing for a torus, as the scene builder's physics uses.
const TORUS_SIDES: usize = 24;

/// A torus of half extents `h` as the convex prism around it (parry has no torus): its outer
/// ring at the top and bottom of the tube. A box would stick out past the ring's curve and
/// report objects resting beside a sink's rim as inside it.
fn torus_hull(h: Vec3) -> ConvexPolyhedron {
    let points: Vec<Vec3> = (0..TORUS_SIDES)
        .flat_map(|i| {
            let angle = std::f32::consts::TAU * i as f32 / TORUS_SIDES as f32;
            let (x, z) = (h.x * angle.cos(), h.x * angle.sin());
            [Vec3::new(x, -h.y, z), Vec3::new(x, h.y, z)]
        })
        .collect();
    ConvexPolyhedron::from_convex_hull(&points).expect("a prism has a hull")
}

fn part_pose(object: &SceneObject, part: &Part) -> Pose {
    Pose::from_parts(object.position + object.rotation * part.position, object.rotation * part.rotation)
}

fn lowest_point(object: &SceneObject, part: &Part) -> f32 {
    let pose = part_pose(object, part);
    if let Some(mesh) = part.mesh.as_ref().filter(|_| part.shape == Shape::Mesh) {
        return mesh.data.scaled(part.size).iter().map(|&p| (pose * p).y).fold(f32::INFINITY, f32::min);
    }
    let direction = pose.rotation.inverse() * Vec3::NEG_Y;
    let h = 0.5 * part.size;
    let local: Vec3 = match part.shape {
        Shape::Box | Shape::Torus | Shape::Mesh => Cuboid::new(h).local_support_point(direction),
        Shape::Cylinder => Cylinder::new(h.y, h.x).local_support_point(direction),
        Shape::Cone => Cone::new(h.y, h.x).local_support_point(direction),
        Shape::Sphere => Ball::new(h.x).local_support_point(direction),
        Shape::Capsule => Capsule::new_y(h.y - h.x, h.x).local_support_point(direction),
    };
    (pose * local).y
}

fn aabbs_touch(a: &SceneObject, b: &SceneObject) -> bool {
    a.aabb.min.cmple(b.aabb.max).all() && b.aabb.min.cmple(a.aabb.max).all()
}

fn check_no_interpenetration(scene: &Scene) -> Result<(), String> {
    for (i, a) in scene.objects.iter().enumerate() {
        for b in &scene.objects[i + 1..] {
            if !aabbs_touch(a, b) {
                continue;
            }
            for pa in a.parts.iter().filter(|p| !p.hidden) {
                for pb in b.parts.iter().filter(|p| !p.hidden) {
                    let contact =
                        query::contact(&part_pose(a, pa), &*shape_of(pa), &part_pose(b, pb), &*shape_of(pb), 0.0)
                            .map_err(|e| format!("{e:?}"))?;
                    if let Some(contact) = contact
                        && contact.dist < -PENETRATION_TOLERANCE
                    {
                        return Err(format!(
                            "{} part '{}' and {} part '{}' interpenetrate by {:.4} m",
                            a.name, pa.name, b.name, pb.name, -contact.dist
                        ));
                    }
                }
            }
        }
        for wall in &scene.walls {
            let wall_pose = Pose::from_translation(wall.center);
            let wall_shape = Cuboid::new(0.5 * wall.size);
            for part in &a.parts {
                if let Some(contact) =
                    query::contact(&part_pose(a, part), &*shape_of(part), &wall_pose, &wall_shape, 0.0).unwrap()
                    && contact.dist < -PENETRATION_TOLERANCE
                {
                    return Err(format!("{} part '{}' is inside a wall by {:.4} m", a.name, part.name, -contact.dist));
                }
            }
        }
    }
    Ok(())
}

fn check_supports(scene: &Scene) -> Result<usize, String> {
    let mut settled = 0;
    for object in &scene.objects {
        let Some(support) = object.support else { continue };
        settled += 1;
        let receptacle = scene.objects.get(support.object as usize - 1).ok_or("support names a missing object")?;
        let face = &receptacle.parts[support.part as usize];
        if !face.support {
            return Err(format!(
                "{} rests on {} part '{}', which is not a support",
                object.name, receptacle.name, face.name
            ));
        }
        let pose = part_pose(receptacle, face);
        let top = (pose * Vec3::new(0.0, 0.5 * face.size.y, 0.0)).y;
        if (top - support.height).abs() > 1e-4 {
            return Err(format!(
                "{}: recorded support height {} but the face is at {top}",
                object.name, support.height
            ));
        }
        let lowest =
            object.parts.iter().filter(|p| !p.hidden).map(|p| lowest_point(object, p)).fold(f32::INFINITY, f32::min);
        if (lowest - support.height).abs() > SUPPORT_TOLERANCE {
            return Err(format!("{} rests {:.4} m away from its support face", object.name, lowest - support.height));
        }
        let local = pose.rotation.inverse() * (object.center() - pose.translation);
        if local.x.abs() > 0.5 * face.size.x || local.z.abs() > 0.5 * face.size.z {
            return Err(format!("{}'s centre is not above {} part '{}'", object.name, receptacle.name, face.name));
        }
    }
    Ok(settled)
}

fn check_inside_rooms(scene: &Scene) -> Result<(), String> {
    for object in &scene.objects {
        let room = &scene.rooms[object.room as usize];
        let (min, max) = (object.aabb.min, object.aabb.max);
        let inside = min.x >= room.min.x - 1e-3
            && min.z >= room.min.y - 1e-3
            && max.x <= room.max.x + 1e-3
            && max.z <= room.max.y + 1e-3
            && min.y >= -1e-3
            && max.y <= scene.ceiling_height;
        if !inside {
            return Err(format!("{} ({:?}..{:?}) is not inside room '{}'", object.name, min, max, room.name));
        }
    }
    Ok(())
}

/// Free cells must leave an agent's disc clear of every wall and floor object (a tall
/// cylinder in parry), and the main region must be the largest connected free region.
fn check_nav(scene: &Scene, agent_radius: f32) -> Result<f32, String> {
    let nav = &scene.nav;
    let agent = Cylinder::new(0.9, agent_radius - 1e-3);
    let obstacles: Vec<(Pose, Cuboid)> = scene
        .walls
        .iter()
        .filter(|w| w.center.y - 0.5 * w.size.y < 1.8)
        .map(|w| (Pose::from_translation(w.center), Cuboid::new(0.5 * w.size)))
        .chain(scene.objects.iter().filter(|o| o.support.is_none()).map(|o| {
            let ext = Vec3::new(o.obb.half_extents.x, 0.9, o.obb.half_extents.z);
            (Pose::from_parts(Vec3::new(o.obb.center.x, 0.9, o.obb.center.z), o.obb.rotation), Cuboid::new(ext))
        }))
        .collect();
    let mut floor_cells = 0;
    for row in 0..nav.rows {
        for col in 0..nav.cols {
            let c = nav.center((col, row));
            if scene.rooms.iter().any(|r| r.contains(c, 0.0)) {
                floor_cells += 1;
            }
            if nav.state((col, row)).is_free() {
                let pose = Pose::from_translation(Vec3::new(c.x, 0.9, c.y));
                for (obstacle_pose, cuboid) in &obstacles {
                    if query::intersection_test(&pose, &agent, obstacle_pose, cuboid).unwrap().intersecting {
                        return Err(format!(
                            "free cell {:?} at {c} is within the agent radius of an obstacle",
                            (col, row)
                        ));
                    }
                }
            }
        }
    }
    let components = free_components(nav);
    let largest = components.iter().map(Vec::len).max().unwrap_or(0);
    let walkable: Vec<Cell> = (0..nav.rows)
        .flat_map(|r| (0..nav.cols).map(move |c| (c, r)))
        .filter(|&cell| nav.state(cell) == CellState::Walkable)
        .collect();
    if walkable.len() != largest {
        return Err(format!("{} cells marked walkable, but the largest free region has {largest}", walkable.len()));
    }
    let walkable_in_rooms =
        walkable.iter().filter(|&&cell| scene.rooms.iter().any(|r| r.contains(nav.center(cell), 0.0))).count();
    Ok(walkable_in_rooms as f32 / floor_cells as f32)
}

fn step_allowed(nav: &NavGrid, (c, r): Cell, (dc, dr): (i64, i64)) -> Option<Cell> {
    let free = |c: i64, r: i64| c >= 0 && r >= 0 && nav.state((c as u32, r as u32)).is_free();
    let (nc, nr) = (c as i64 + dc, r as i64 + dr);
    let ok = free(nc, nr) && (dc == 0 || dr == 0 || (free(c as i64 + dc, r as i64) && free(c as i64, r as i64 + dr)));
    ok.then_some((nc as u32, nr as u32))
}

const STEPS: [(i64, i64); 8] = [(-1, -1), (0, -1), (1, -1), (-1, 0), (1, 0), (-1, 1), (0, 1), (1, 1)];

fn free_components(nav: &NavGrid) -> Vec<Vec<Cell>> {
    let mut seen = BTreeMap::new();
    let mut components = Vec::new();
    for row in 0..nav.rows {
        for col in 0..nav.cols {
            if !nav.state((col, row)).is_free() || seen.contains_key(&(col, row)) {
                continue;
            }
            let mut component = vec![(col, row)];
            let mut queue = VecDeque::from([(col, row)]);
            seen.insert((col, row), ());
            while let Some(cell) = queue.pop_front() {
                for step in STEPS {
                    if let Some(next) = step_allowed(nav, cell, step)
                        && seen.insert(next, ()).is_none()
                    {
                        component.push(next);
                        queue.push_back(next);
                    }
                }
            }
            components.push(component);
        }
    }
    components
}

/// The test's own Dijkstra (costs 1 and sqrt 2 in cells).
fn dijkstra_length(nav: &NavGrid, start: Cell, goal: Cell) -> Option<f64> {
    let mut best: BTreeMap<Cell, f64> = BTreeMap::from([(start, 0.0)]);
    let mut heap = BinaryHeap::from([(std::cmp::Reverse(0u64), start)]);
    while let Some((std::cmp::Reverse(cost), cell)) = heap.pop() {
        let cost = cost as f64 / 1e6;
        if cell == goal {
            return Some(cost);
        }
        if cost > best[&cell] + 1e-9 {
            continue;
        }
        for step in STEPS {
            if let Some(next) = step_allowed(nav, cell, step) {
                let c = cost + if step.0 != 0 && step.1 != 0 { std::f64::consts::SQRT_2 } else { 1.0 };
                if best.get(&next).is_none_or(|&b| c < b - 1e-9) {
                    best.insert(next, c);
                    heap.push((std::cmp::Reverse((c * 1e6) as u64), next));
                }
            }
        }
    }
    None
}

fn check_paths(scene: &Scene, seed: u64) -> Result<(), String> {
    let nav = &scene.nav;
    let walkable: Vec<Cell> = nav.cells_in(CellState::Walkable);
    for k in 0..4u64 {
        let pick = |salt: u64| walkable[((seed * 7919 + k * 104729 + salt) % walkable.len() as u64) as usize];
        let (start, goal) = (pick(0), pick(15485863));
        let path = nav
            .shortest_path(nav.center(start), nav.center(goal))
            .ok_or_else(|| format!("no path between walkable cells {start:?} and {goal:?}"))?;
        if path.cells.first() != Some(&start) || path.cells.last() != Some(&goal) {
            return Err("path does not join its end cells".into());
        }
        for pair in path.cells.windows(2) {
            let step = (pair[1].0 as i64 - pair[0].0 as i64, pair[1].1 as i64 - pair[0].1 as i64);
            if step_allowed(nav, pair[0], step) != Some(pair[1]) {
                return Err(format!("path step {:?} -> {:?} is not a free step", pair[0], pair[1]));
            }
            // Points along the segment must all lie in free cells.
            let (a, b) = (nav.center(pair[0]), nav.center(pair[1]));
            for t in 0..=20 {
                let p = a.lerp(b, t as f32 / 20.0);
                let cell = nav.cell_at(p).ok_or("path leaves the grid")?;
                if !nav.state(cell).is_free() {
                    return Err(format!("path crosses occupied cell {cell:?}"));
                }
            }
        }
        let expected = dijkstra_length(nav, start, goal).ok_or("own search found no path")? * f64::from(nav.cell_size);
        if (f64::from(path.length) - expected).abs() > 1e-3 * expected.max(1.0) + 1e-3 {
            return Err(format!("path length {} but the shortest is {expected}", path.length));
        }
    }
    Ok(())
}

#[test]
fn every_template_builds_200_valid_scenes() {
    check_every_template(&Assets::builtin().unwrap(), SEEDS, 0);
}

/// With the furniture library's meshes. Templates were tuned with primitives, and a few
/// apartment seeds find no layout meeting every rule with meshes (docs/benchmarks.md, "Mesh
/// models"): such seeds are skipped when datasets are made, and here at most
/// [`MESH_UNBUILT`] per template may be.
#[test]
fn every_template_builds_valid_scenes_with_meshes() {
    let assets = ipt_tests::mesh_assets();
    check_every_template(&assets, MESH_SEEDS, MESH_UNBUILT);
}

/// Builds `seeds` scenes of every template of `assets` and checks each; at most `unbuilt`
/// seeds per template may find no layout.
fn check_every_template(assets: &Assets, seeds: u64, unbuilt: u64) {
    let options = BuildOptions::default();
    let names = assets.template_names();
    assert!(names.len() >= 8, "{names:?}");
    let results: Vec<String> = std::thread::scope(|scope| {
        let chunks: Vec<Vec<String>> = (0..2).map(|i| names.iter().skip(i).step_by(2).cloned().collect()).collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let options = &options;
                scope.spawn(move || {
                    let mut lines = Vec::new();
                    for name in chunk {
                        let (mut settled, mut objects, mut min_walkable) = (0, 0, 1.0f32);
                        let mut categories = BTreeMap::new();
                        let mut failures = Vec::new();
                        for seed in 0..seeds {
                            let scene = match assets.build(&name, seed, options) {
                                Ok(scene) => scene,
                                Err(e) => {
                                    failures.push(format!("seed {seed}: {e}"));
                                    assert!(failures.len() as u64 <= unbuilt, "{name}: {}", failures.join("; "));
                                    continue;
                                }
                            };
                            let fail = |what: &str, e: String| -> ! { panic!("{name} seed {seed}: {what}: {e}") };
                            check_no_interpenetration(&scene).unwrap_or_else(|e| fail("interpenetration", e));
                            settled += check_supports(&scene).unwrap_or_else(|e| fail("support", e));
                            check_inside_rooms(&scene).unwrap_or_else(|e| fail("room", e));
                            let walkable = check_nav(&scene, options.agent_radius).unwrap_or_else(|e| fail("nav", e));
                            assert!(walkable >= 0.4, "{name} seed {seed}: only {walkable} of the floor is walkable");
                            check_paths(&scene, seed).unwrap_or_else(|e| fail("paths", e));
                            min_walkable = min_walkable.min(walkable);
                            objects += scene.objects.len();
                            for o in &scene.objects {
                                *categories.entry(o.category.clone()).or_insert(0) += 1;
                            }
                        }
                        assert!(settled > 0, "{name}: no small object was settled in {seeds} scenes");
                        lines.push(format!(
                            "{name}: {} of {seeds} built, {:.1} objects/scene, {:.1} settled/scene, min walkable {:.2}, {} categories",
                            seeds - failures.len() as u64,
                            objects as f64 / (seeds - failures.len() as u64) as f64,
                            settled as f64 / (seeds - failures.len() as u64) as f64,
                            min_walkable,
                            categories.len()
                        ));
                    }
                    lines
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    for line in results {
        println!("{line}");
    }
}

#[test]
fn multi_instance_categories_are_common() {
    // The counting task needs rooms with several instances of one category.
    let assets = Assets::builtin().unwrap();
    for (template, category) in [("office", "office_chair"), ("dining_room", "chair"), ("living_room", "potted_plant")]
    {
        let with_several = (0..30)
            .filter(|&seed| {
                let scene = assets.build(template, seed, &BuildOptions::default()).unwrap();
                scene.objects.iter().filter(|o| o.category == category).count() >= 2
            })
            .count();
        assert!(with_several >= 10, "{template}: only {with_several} of 30 scenes have 2+ {category}");
    }
}

#[test]
fn rooms_of_an_apartment_are_joined_by_doorways_in_shared_walls() {
    let assets = Assets::builtin().unwrap();
    for seed in 0..20 {
        let scene = assets.build("apartment_family", seed, &BuildOptions::default()).unwrap();
        assert_eq!(scene.rooms.len(), 4);
        assert_eq!(scene.doorways.len(), 3);
        for door in &scene.doorways {
            let [a, b] = door.rooms.map(|r| &scene.rooms[r as usize]);
            let center = 0.5 * (door.min + door.max);
            // Stepping out of the doorway on either side lands in one of its two rooms.
            let span = door.max - door.min;
            let across = if span.x < span.y { Vec2::X } else { Vec2::Y } * (0.5 * span.min_element() + 0.05);
            let sides = [center - across, center + across];
            assert!(sides.iter().all(|&p| a.contains(p, 0.0) || b.contains(p, 0.0)), "seed {seed}: {door:?}");
            assert!(sides.iter().any(|&p| a.contains(p, 0.0)) && sides.iter().any(|&p| b.contains(p, 0.0)));
            // A short walk leads through the doorway from one room into the other.
            let step = across.normalize() * 0.35;
            let (pa, pb) = (center - step, center + step);
            let path = scene
                .nav
                .shortest_path(pa, pb)
                .unwrap_or_else(|| panic!("seed {seed}: doorway at {center} is blocked"));
            assert!(path.length < 1.5, "seed {seed}: going through the doorway takes {} m", path.length);
        }
    }
}

#[test]
fn wall_objects_stand_with_their_back_to_a_wall_facing_into_the_room() {
    use ipt_scenes::template::Rule;
    let assets = Assets::builtin().unwrap();
    let mut checked = 0;
    for name in assets.template_names() {
        let template = assets.template(&name).unwrap();
        for seed in 0..20 {
            let scene = assets.build(&name, seed, &BuildOptions::default()).unwrap();
            for object in scene.objects.iter().filter(|o| o.support.is_none()) {
                let room = &scene.rooms[object.room as usize];
                let slot = template.rooms.iter().find(|s| s.room.name == room.template).unwrap();
                let group = slot.room.groups.iter().find(|g| g.name == object.group).unwrap();
                if group.rule != Rule::Wall {
                    continue;
                }
                let front3 = object.rotation * Vec3::Z;
                let front = Vec2::new(front3.x, front3.z);
                let back = Vec2::new(object.obb.center.x, object.obb.center.z) - front * object.obb.half_extents.z;
                // Inward normals of the four walls and the distance of the back face from each.
                let walls = [
                    (Vec2::Y, back.y - room.min.y),
                    (Vec2::NEG_Y, room.max.y - back.y),
                    (Vec2::X, back.x - room.min.x),
                    (Vec2::NEG_X, room.max.x - back.x),
                ];
                let (inward, gap) = walls.into_iter().min_by(|a, b| a.1.total_cmp(&b.1)).unwrap();
                assert!(gap.abs() < 0.02, "{name} seed {seed}: {} stands {gap} m from the nearest wall", object.name);
                assert!(front.dot(inward) > 0.999, "{name} seed {seed}: {} faces {front}, not {inward}", object.name);
                checked += 1;
            }
        }
    }
    assert!(checked > 500, "only {checked} wall objects checked");
}

//! The renderer checked against geometry: ids and depth at sampled pixels agree with ray
//! casts into the scene (parry, independent of the renderer), object centres land on their
//! ids, id images are exact and repeatable, and top-down views show footprints where the scene
//! says. One test function, because the renderer is one app per process.

use glam::{Vec2, Vec3};
use ipt_gen::render::bevy_backend::{BevyRenderer, RendererOptions};
use ipt_gen::render::{CameraModel, Marker, Outputs, RenderedView, Renderer, ViewRequest, walkable_views};
use ipt_scenes::geometry::Shape;
use ipt_scenes::{AssetSources, Assets, BuildOptions, Looks, Scene};
use rapier3d::parry::math::Pose;
use rapier3d::parry::query::{Ray, RayCast};
use rapier3d::parry::shape::{Ball, Capsule, Cone, Cuboid, Cylinder, TriMesh};

/// One piece of geometry for ray casting: the object id (0 for structure) and its shape.
struct Solid {
    id: u32,
    /// A torus, cast as its bounding box (parry has no torus): its hits are uncertain.
    approximate: bool,
    pose: Pose,
    shape: Box<dyn RayCast>,
}

/// The scene as ray-castable solids; `ceiling` false for views that hide it (top-down).
fn scene_solids(scene: &Scene, ceiling: bool) -> Vec<Solid> {
    let mut out = Vec::new();
    let slab = |center: Vec3, size: Vec3| Solid {
        id: 0,
        approximate: false,
        pose: Pose::from_translation(center),
        shape: Box::new(Cuboid::new(0.5 * size)),
    };
    for room in &scene.rooms {
        let size = room.max - room.min;
        let c = 0.5 * (room.min + room.max);
        out.push(slab(Vec3::new(c.x, -0.005, c.y), Vec3::new(size.x, 0.01, size.y)));
        if ceiling {
            out.push(slab(Vec3::new(c.x, scene.ceiling_height + 0.005, c.y), Vec3::new(size.x, 0.01, size.y)));
        }
    }
    for wall in &scene.walls {
        out.push(slab(wall.center, wall.size));
    }
    for object in &scene.objects {
        // A hidden part is a mesh's support face, neither drawn nor solid.
        for part in object.parts.iter().filter(|p| !p.hidden) {
            let h = 0.5 * part.size;
            let shape: Box<dyn RayCast> = match (part.shape, &part.mesh) {
                (Shape::Mesh, Some(mesh)) => {
                    let triangles = mesh.data.indices.chunks_exact(3).map(|t| [t[0], t[1], t[2]]).collect();
                    Box::new(TriMesh::new(mesh.data.scaled(part.size), triangles).expect("a mesh with triangles"))
                }
                (Shape::Box | Shape::Torus | Shape::Mesh, _) => Box::new(Cuboid::new(h)),
                (Shape::Cylinder, _) => Box::new(Cylinder::new(h.y, h.x)),
                (Shape::Cone, _) => Box::new(Cone::new(h.y, h.x)),
                (Shape::Sphere, _) => Box::new(Ball::new(h.x)),
                (Shape::Capsule, _) => Box::new(Capsule::new_y(h.y - h.x, h.x)),
            };
            let pose =
                Pose::from_parts(object.position + object.rotation * part.position, object.rotation * part.rotation);
            out.push(Solid { id: object.id, approximate: part.shape == Shape::Torus, pose, shape });
        }
    }
    out
}

/// The first thing a ray hits: (id, distance along the ray), or None; also `None` when the
/// first hit is an approximated torus.
fn cast(solids: &[Solid], origin: Vec3, direction: Vec3) -> Option<(u32, f32)> {
    let ray = Ray::new(origin, direction);
    let (solid, t) = solids
        .iter()
        .filter_map(|s| s.shape.cast_ray(&s.pose, &ray, 100.0, true).map(|t| (s, t)))
        .min_by(|a, b| a.1.total_cmp(&b.1))?;
    (!solid.approximate).then_some((solid.id, t))
}

/// What covers the whole of pixel (x, y) (its centre and points near its corners all hit the
/// same thing), with the distance along the centre ray; `None` at silhouettes, where a
/// rasteriser may or may not cover the pixel.
fn covering(solids: &[Solid], camera: &CameraModel, x: u32, y: u32) -> Option<(u32, f32)> {
    let center = Vec2::new(x as f32 + 0.5, y as f32 + 0.5);
    let (origin, direction) = camera.ray(center);
    let (id, t) = cast(solids, origin, direction)?;
    let corners = [Vec2::new(-0.4, -0.4), Vec2::new(0.4, -0.4), Vec2::new(-0.4, 0.4), Vec2::new(0.4, 0.4)];
    corners
        .iter()
        .all(|&offset| {
            let (origin, direction) = camera.ray(center + offset);
            cast(solids, origin, direction).is_some_and(|(other, _)| other == id)
        })
        .then_some((id, t))
}

/// Ids and depths at a grid of pixels compared with ray casts: (agreeing, compared, depth ok).
fn compare_grid(view: &RenderedView, solids: &[Solid], step: u32) -> (usize, usize, usize) {
    let ids = view.ids.as_ref().unwrap();
    let depth = view.depth.as_ref();
    let (mut agree, mut total, mut depth_ok) = (0, 0, 0);
    for y in (step / 2..view.camera.height).step_by(step as usize) {
        for x in (step / 2..view.camera.width).step_by(step as usize) {
            let (origin, direction) = view.camera.ray(Vec2::new(x as f32 + 0.5, y as f32 + 0.5));
            let Some((id, t)) = cast(solids, origin, direction) else { continue };
            total += 1;
            if ids.get(x, y) == id {
                agree += 1;
                if let Some(depth) = depth {
                    let expected = t * direction.dot(view.camera.pose.forward());
                    if (depth.get(x, y) - expected).abs() <= 0.02 * expected {
                        depth_ok += 1;
                    }
                }
            }
        }
    }
    (agree, total, depth_ok)
}

/// Object centres that ray casts see unoccluded must show that object's id, and the depth
/// there must match. Returns (checked, matched).
fn check_centres(scene: &Scene, view: &RenderedView, solids: &[Solid]) -> (usize, usize) {
    let ids = view.ids.as_ref().unwrap();
    let depth = view.depth.as_ref().unwrap();
    let (mut checked, mut matched) = (0, 0);
    for object in &scene.objects {
        let Some((pixel, _)) = view.camera.project(object.center()) else { continue };
        if pixel.x < 0.0 || pixel.y < 0.0 || pixel.x >= view.camera.width as f32 || pixel.y >= view.camera.height as f32
        {
            continue;
        }
        let (x, y) = (pixel.x as u32, pixel.y as u32);
        let Some((id, t)) = covering(solids, &view.camera, x, y) else { continue };
        if id != object.id {
            continue; // occluded, between the object's parts, or thinner than a pixel here
        }
        let (_, direction) = view.camera.ray(Vec2::new(x as f32 + 0.5, y as f32 + 0.5));
        checked += 1;
        let expected = t * direction.dot(view.camera.pose.forward());
        if ids.get(x, y) == object.id && (depth.get(x, y) - expected).abs() <= 0.02 * expected {
            matched += 1;
        } else {
            eprintln!(
                "{}: pixel ({x}, {y}) id {} depth {} (expected {expected})",
                object.name,
                ids.get(x, y),
                depth.get(x, y)
            );
        }
    }
    (checked, matched)
}

/// The built-in catalog with the furniture library's meshes (`scripts/test` imports it).
fn mesh_assets() -> Assets {
    assert!(
        ipt_scenes::library::installed_catalog().is_some(),
        "the furniture library is not imported on this machine: run `scripts/setup --assets` (scripts/test does)"
    );
    let sources = AssetSources { looks: Looks::Meshes, ..AssetSources::default() };
    Assets::load(&sources).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn rendered_images_agree_with_scene_geometry() {
    let (primitives, meshes) = (Assets::builtin().unwrap(), mesh_assets());
    let mut renderer = BevyRenderer::new(&RendererOptions::default()).unwrap_or_else(|e| panic!("{e:#}"));
    println!("adapter: {}", renderer.adapter());
    let mut markers_checked = 0;
    for (assets, template, seed) in [
        (&primitives, "kitchen", 3),
        (&primitives, "apartment_small", 1),
        (&meshes, "living_room", 2),
        (&meshes, "kitchen", 5),
    ] {
        let scene = assets.build(template, seed, &BuildOptions::default()).unwrap();
        let template =
            if std::ptr::eq(assets, &meshes) { format!("{template} (meshes)") } else { template.to_string() };
        let solids = scene_solids(&scene, true);
        let from_above = scene_solids(&scene, false);
        let valid: std::collections::BTreeSet<u32> =
            std::iter::once(0).chain(scene.objects.iter().map(|o| o.id)).collect();
        renderer.load_scene(&scene).unwrap();

        let views = walkable_views(&scene, 6, 256, Outputs::ALL);
        let rendered = renderer.render(&views).unwrap();
        let (mut checked, mut matched) = (0, 0);
        for (view, request) in rendered.iter().zip(&views) {
            assert_eq!(view.camera, request.camera, "each image carries the camera that made it");
            let ids = view.ids.as_ref().unwrap();
            assert!(ids.ids.iter().all(|id| valid.contains(id)), "{template}: an id image holds an unknown id");
            let (agree, total, depth_ok) = compare_grid(view, &solids, 8);
            assert!(total > 500, "{template}: only {total} pixels compared");
            assert!(
                agree as f64 >= 0.99 * total as f64,
                "{template}: ids agree with ray casts at {agree} of {total} pixels"
            );
            assert!(
                depth_ok as f64 >= 0.99 * agree as f64,
                "{template}: depth within 2 % at {depth_ok} of {agree} pixels"
            );
            println!("{template}: ids agree at {agree}/{total} sampled pixels, depth within 2 % at {depth_ok}/{agree}");
            let (c, m) = check_centres(&scene, view, &solids);
            checked += c;
            matched += m;
        }
        println!("{template}: {matched}/{checked} unoccluded object centres show their id with matching depth");
        assert!(checked >= 5, "{template}: only {checked} unoccluded object centres in view");
        assert!(matched == checked, "{template}: {matched} of {checked} object centres on their id");

        // Exact and repeatable: the same views again give identical colour images and id counts.
        let again = renderer.render(&views).unwrap();
        for (a, b) in rendered.iter().zip(&again) {
            assert_eq!(a.rgb, b.rgb, "{template}: two renders of one view differ");
            assert_eq!(a.ids.as_ref().unwrap().counts(), b.ids.as_ref().unwrap().counts());
        }

        // Floor markers: a red X painted where asked, only in its own view's colour image.
        // Use the first view that sees the floor 1.6 m ahead of it.
        let visible_floor = views.iter().find_map(|view| {
            let forward = view.camera.pose.forward();
            let ahead = view.camera.pose.position + Vec3::new(forward.x, 0.0, forward.z).normalize() * 1.6;
            let floor_point = Vec3::new(ahead.x, 0.0, ahead.z);
            let (pixel, _) = view.camera.project(floor_point)?;
            let (x, y) = (pixel.x as u32, pixel.y as u32);
            let (id, t) = covering(&solids, &view.camera, x, y)?;
            let distance = (floor_point - view.camera.pose.position).length();
            (id == 0 && (t - distance).abs() < 0.05).then_some((view.clone(), floor_point, (x, y)))
        });
        if let Some((plain, floor_point, (x, y))) = visible_floor {
            let mut marked = plain.clone();
            marked.markers.push(Marker::Cross { at: Vec2::new(floor_point.x, floor_point.z), size: 0.5 });
            let pair = renderer.render(&[marked, plain]).unwrap();
            let red = |view: &RenderedView| {
                let [r, g, b] = view.rgb.as_ref().unwrap().get_pixel(x, y).0.map(u16::from);
                r > 150 && g < 90 && b < 90
            };
            assert!(red(&pair[0]), "{template}: no red X at ({x}, {y}) in the marked view");
            assert!(!red(&pair[1]), "{template}: the X leaked into another view of the same round");
            assert_eq!(pair[0].ids, pair[1].ids, "{template}: markers are not objects");
            markers_checked += 1;
        }

        // Top-down: footprints where the scene says.
        let top = renderer.render(&[ViewRequest::top_down(&scene, 320, Outputs::ALL)]).unwrap().remove(0);
        let (agree, total, _) = compare_grid(&top, &from_above, 4);
        println!("{template} top-down: ids agree at {agree}/{total} sampled pixels");
        assert!(agree as f64 >= 0.99 * total as f64, "{template} top-down: {agree} of {total} pixels agree");
        let top_ids = top.ids.as_ref().unwrap();
        let (mut footprints, mut shown) = (0, 0);
        for object in scene.objects.iter().filter(|o| o.support.is_none()) {
            let footprint = object.footprint();
            let (pixel, _) = top.camera.project(Vec3::new(footprint.center.x, 0.0, footprint.center.y)).unwrap();
            let (x, y) = (pixel.x as u32, pixel.y as u32);
            let Some((expected, _)) = covering(&from_above, &top.camera, x, y) else { continue };
            let seen = top_ids.get(x, y);
            footprints += 1;
            if seen == expected {
                shown += 1;
            } else {
                eprintln!("{template} top-down: {} at {pixel} shows id {seen}, ray cast says {expected}", object.name);
            }
        }
        assert!(shown == footprints, "{template} top-down: {shown} of {footprints} footprints in place");
    }
    assert!(markers_checked > 0, "the floor marker was hidden in every scene: nothing checked");
}

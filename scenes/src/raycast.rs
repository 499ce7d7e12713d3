//! Ray casts into a built scene: what a ray hits first (an object, the floor, a wall or the
//! ceiling) and how far away. Labels, visibility and every filter of the task samplers are
//! computed with it, on the CPU, so they are exact and the same on every machine.
//!
//! The solids are the ones the renderer draws: one slab per room floor and ceiling, the
//! doorway floors, the wall boxes and every object part as its primitive (a torus as its
//! convex hull). A parry BVH over their bounding boxes keeps a cast at a few microseconds.
//! A camera's grid of rays is cast in fans ([`View::cast_fan`]): rays from one point in
//! nearby directions, for which the solids are culled once, against a cone around the fan,
//! instead of once per ray; the camera's [`View`] culls them once for all its fans.

use glam::Vec3;
use rapier3d::parry::bounding_volume::Aabb as ParryAabb;
use rapier3d::parry::math::Pose;
use rapier3d::parry::partitioning::{Bvh, BvhBuildStrategy};
use rapier3d::parry::query::{Ray, RayCast};
use rapier3d::parry::shape::{Cuboid, SharedShape};

use crate::collide::{Solidity, part_shape};
use crate::scene::Scene;

/// Thickness of the floor and ceiling slabs, metres (as the renderer draws them).
pub const SLAB_THICKNESS: f32 = 0.01;

/// What kind of solid a ray hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// A room's or doorway's floor.
    Floor,
    /// A wall.
    Wall,
    /// A room's ceiling.
    Ceiling,
    /// A part of the object with this id.
    Object(u32),
}

impl Surface {
    /// The object id, or 0 for structure (the id images' background value).
    pub fn object_id(self) -> u32 {
        match self {
            Surface::Object(id) => id,
            _ => 0,
        }
    }
}

/// The first thing a ray hits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RayHit {
    /// What was hit.
    pub surface: Surface,
    /// Distance along the (unit) ray, metres.
    pub distance: f32,
    /// World point hit.
    pub point: Vec3,
}

struct Solid {
    surface: Surface,
    pose: Pose,
    shape: SharedShape,
    /// The shape if it is a cylinder, cast by formula (parry casts cylinders by GJK, which
    /// took about a tenth of planning an example).
    cylinder: Option<LocalCylinder>,
    /// World box around the solid (the BVH's leaf box).
    aabb: ParryAabb,
    /// Centre of the sphere around `aabb`.
    center: Vec3,
    /// Radius of that sphere.
    radius: f32,
}

impl Solid {
    fn new(surface: Surface, pose: Pose, shape: SharedShape) -> Solid {
        let aabb = shape.compute_aabb(&pose);
        let (center, radius) = (aabb.center(), 0.5 * (aabb.maxs - aabb.mins).length());
        let cylinder = shape.as_cylinder().map(|c| LocalCylinder { half_height: c.half_height, radius: c.radius });
        Solid { surface, pose, shape, cylinder, aabb, center, radius }
    }

    /// How far along `ray` (unit direction) it first meets the solid, if within `limit`; 0 from
    /// inside.
    fn time_of_impact(&self, ray: &Ray, limit: f32) -> Option<f32> {
        match self.cylinder {
            Some(cylinder) => cylinder.time_of_impact(&ray.inverse_transform_by(&self.pose), limit),
            None => self.shape.cast_ray(&self.pose, ray, limit, true),
        }
    }

    /// The hit of the ray from `origin` along the unit `direction` on this solid, `distance`
    /// along it.
    fn hit(&self, origin: Vec3, direction: Vec3, distance: f32) -> RayHit {
        RayHit { surface: self.surface, distance, point: origin + distance * direction }
    }

    /// How far `point` is from the solid's box, less [`FAN_SLACK`] (0 inside it).
    fn box_distance(&self, point: Vec3) -> f32 {
        let outside = (self.aabb.mins - point).max(point - self.aabb.maxs).max(Vec3::ZERO);
        (outside.length() - FAN_SLACK).max(0.0)
    }

    /// Whether the ray from `origin` with `1 / direction` per axis may meet the solid's box,
    /// grown by [`FAN_SLACK`], before `limit`.
    fn box_ahead(&self, origin: Vec3, inverse_direction: Vec3, limit: f32) -> bool {
        let near = (self.aabb.mins - FAN_SLACK - origin) * inverse_direction;
        let far = (self.aabb.maxs + FAN_SLACK - origin) * inverse_direction;
        // An axis the ray runs along gives NaN (0 times infinity), which min and max skip.
        let (enter, exit) = (near.min(far).max_element(), near.max(far).min_element());
        enter < limit && exit >= enter.max(0.0)
    }
}

/// A solid cylinder around the local y axis, from `-half_height` to `half_height`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct LocalCylinder {
    half_height: f32,
    radius: f32,
}

impl LocalCylinder {
    /// How far along the local `ray` it first meets the cylinder, if within `limit`; 0 from
    /// inside. The ray lies inside where it is both between the caps and within the radius;
    /// the first time of both is the hit.
    fn time_of_impact(self, ray: &Ray, limit: f32) -> Option<f32> {
        let (o, d) = (ray.origin, ray.dir);
        let (mut enter, mut exit) = if d.y == 0.0 {
            if o.y.abs() > self.half_height {
                return None;
            }
            (f32::NEG_INFINITY, f32::INFINITY)
        } else {
            let (a, b) = ((-self.half_height - o.y) / d.y, (self.half_height - o.y) / d.y);
            (a.min(b), a.max(b))
        };
        // Within the radius where a t^2 + 2 b t + c <= 0.
        let a = d.x * d.x + d.z * d.z;
        let b = o.x * d.x + o.z * d.z;
        let c = o.x * o.x + o.z * o.z - self.radius * self.radius;
        if a == 0.0 {
            if c > 0.0 {
                return None;
            }
        } else {
            let discriminant = b * b - a * c;
            if discriminant < 0.0 {
                return None;
            }
            // The two roots without cancellation: q / a and c / q.
            let q = -b - discriminant.sqrt().copysign(b);
            let (r1, r2) = if q == 0.0 { (0.0, 0.0) } else { (q / a, c / q) };
            enter = enter.max(r1.min(r2));
            exit = exit.min(r1.max(r2));
        }
        let time = enter.max(0.0);
        (time <= exit && time <= limit).then_some(time)
    }
}

/// Slack of the fan culling, metres: a solid this close to a fan's cone is kept, so that
/// rounding never drops a solid one of the fan's rays hits.
const FAN_SLACK: f32 = 1e-3;
/// Fans wider than this (the cosine of the half-angle between their axis and a ray) are cast
/// ray by ray: the cone test gains nothing on them.
const FAN_MIN_COSINE: f32 = 0.5;

/// A scene prepared for ray casts.
pub struct SceneRaycaster {
    solids: Vec<Solid>,
    bvh: Bvh,
}

/// Which parts of the structure to include.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CastOptions {
    /// Include the ceiling slabs (false for top-down views, which hide them).
    pub ceiling: bool,
}

impl SceneRaycaster {
    /// Prepares `scene`'s solids.
    pub fn new(scene: &Scene, options: CastOptions) -> SceneRaycaster {
        let mut solids = Vec::new();
        let slab = |center: Vec3, size: Vec3, surface: Surface| {
            Solid::new(surface, Pose::from_translation(center), SharedShape::new(Cuboid::new(0.5 * size)))
        };
        let half = 0.5 * SLAB_THICKNESS;
        for room in &scene.rooms {
            let (size, c) = (room.max - room.min, 0.5 * (room.min + room.max));
            let extent = Vec3::new(size.x, SLAB_THICKNESS, size.y);
            solids.push(slab(Vec3::new(c.x, -half, c.y), extent, Surface::Floor));
            if options.ceiling {
                solids.push(slab(Vec3::new(c.x, scene.ceiling_height + half, c.y), extent, Surface::Ceiling));
            }
        }
        for door in &scene.doorways {
            let (size, c) = (door.max - door.min, 0.5 * (door.min + door.max));
            solids.push(slab(Vec3::new(c.x, -half, c.y), Vec3::new(size.x, SLAB_THICKNESS, size.y), Surface::Floor));
        }
        for wall in &scene.walls {
            solids.push(slab(wall.center, wall.size, Surface::Wall));
        }
        for object in &scene.objects {
            for (index, part) in object.parts.iter().enumerate().filter(|(_, p)| !p.hidden) {
                let obb = object.part_obb(index);
                solids.push(Solid::new(
                    Surface::Object(object.id),
                    Pose::from_parts(obb.center, obb.rotation),
                    part_shape(part, Solidity::Surfaces),
                ));
            }
        }
        let leaves = solids.iter().enumerate().map(|(i, s)| (i, s.aabb));
        let bvh = Bvh::from_iter(BvhBuildStrategy::Binned, leaves.collect::<Vec<(usize, ParryAabb)>>());
        SceneRaycaster { solids, bvh }
    }

    /// The first solid hit by the ray from `origin` along the unit `direction`, within
    /// `max_distance`.
    pub fn cast(&self, origin: Vec3, direction: Vec3, max_distance: f32) -> Option<RayHit> {
        let ray = Ray::new(origin, direction);
        let (index, distance) = self
            .bvh
            .cast_ray(&ray, max_distance, |leaf, best| self.solids[leaf as usize].time_of_impact(&ray, best))?;
        Some(self.solids[index as usize].hit(origin, direction, distance))
    }

    /// The view from `origin` into the pyramid whose side planes pass through `origin` with
    /// the inward unit `normals` (none: every direction): the solids whose bounding spheres
    /// reach into it, culled once for all the fans cast through it (a camera's tiles).
    /// [`pyramid_normals`] gives the normals of the pyramid around a camera's corner rays.
    pub fn view(&self, origin: Vec3, normals: &[Vec3]) -> View<'_> {
        let inside =
            |solid: &&Solid| normals.iter().all(|n| (solid.center - origin).dot(*n) > -(solid.radius + FAN_SLACK));
        View { caster: self, origin, solids: self.solids.iter().filter(inside).collect() }
    }

    /// Whether the straight segment from `a` to `b` is free of solids (`b` itself excluded by
    /// a small tolerance).
    pub fn line_of_sight(&self, a: Vec3, b: Vec3) -> bool {
        let d = b - a;
        let length = d.length();
        length < 1e-6 || self.cast(a, d / length, length - 1e-3).is_none()
    }
}

/// The inward unit normals of the planes through the origin and each two neighbouring
/// `corners` (directions around a pyramid, in either turning order).
pub fn pyramid_normals(corners: [Vec3; 4]) -> [Vec3; 4] {
    let inside = corners.iter().copied().sum::<Vec3>();
    std::array::from_fn(|i| {
        let normal = corners[i].cross(corners[(i + 1) % 4]).normalize_or_zero();
        if normal.dot(inside) < 0.0 { -normal } else { normal }
    })
}

/// The solids that rays from one point within a pyramid may hit (see [`SceneRaycaster::view`]).
pub struct View<'a> {
    caster: &'a SceneRaycaster,
    origin: Vec3,
    solids: Vec<&'a Solid>,
}

impl<'a> View<'a> {
    /// The first solid hit by each ray from the view's origin along the unit `directions` (in
    /// the view's pyramid), within `max_distance`: the hits [`SceneRaycaster::cast`] finds
    /// ray by ray, for a fan of nearby directions (a tile of a camera's pixel grid) at a
    /// fraction of the cost. Only a tie, two solids hit at exactly the same distance, may be
    /// reported as the other solid.
    ///
    /// The solids are culled once for the whole fan: a solid whose bounding sphere lies
    /// outside the cone around the fan's directions cannot be hit by any of them. Each ray
    /// then tries the rest nearest first (by the distance to their boxes), and stops at the
    /// first solid farther away than its best hit so far.
    pub fn cast_fan(&self, directions: &[Vec3], max_distance: f32) -> Vec<Option<RayHit>> {
        let origin = self.origin;
        let Some(nearby) = self.fan_solids(directions, max_distance) else {
            return directions.iter().map(|d| self.caster.cast(origin, *d, max_distance)).collect();
        };
        directions
            .iter()
            .map(|&direction| {
                let (solid, distance) = first_hit(&nearby, origin, direction, max_distance)?;
                Some(solid.hit(origin, direction, distance))
            })
            .collect()
    }

    /// [`Self::cast_fan`]'s hits on the surfaces `wanted` accepts (`None` where a ray first
    /// hits anything else), found wanted solids first: a ray that meets none of them costs
    /// only their tests, and one that does looks for other solids only before that hit. As
    /// with fans, only a tie may go the other way.
    pub fn cast_fan_onto(
        &self,
        directions: &[Vec3],
        max_distance: f32,
        wanted: impl Fn(Surface) -> bool,
    ) -> Vec<Option<RayHit>> {
        let origin = self.origin;
        let Some(nearby) = self.fan_solids(directions, max_distance) else {
            let cast = |d: &Vec3| self.caster.cast(origin, *d, max_distance).filter(|hit| wanted(hit.surface));
            return directions.iter().map(cast).collect();
        };
        let (targets, others): (Vec<_>, Vec<_>) = nearby.into_iter().partition(|(_, solid)| wanted(solid.surface));
        directions
            .iter()
            .map(|&direction| {
                let (solid, distance) = first_hit(&targets, origin, direction, max_distance)?;
                let blocked = first_hit(&others, origin, direction, distance).is_some();
                (!blocked).then(|| solid.hit(origin, direction, distance))
            })
            .collect()
    }

    /// The view's solids a fan of rays along the unit `directions` may hit within
    /// `max_distance`, with their boxes' distances, nearest first; `None` for a fan too wide
    /// to gain from culling.
    fn fan_solids(&self, directions: &[Vec3], max_distance: f32) -> Option<Vec<(f32, &'a Solid)>> {
        let origin = self.origin;
        let axis = directions.iter().copied().sum::<Vec3>().normalize_or_zero();
        let cosine = directions.iter().map(|d| d.dot(axis)).fold(1.0f32, f32::min) - 1e-4;
        if axis == Vec3::ZERO || cosine < FAN_MIN_COSINE {
            return None;
        }
        let sine = (1.0 - cosine * cosine).sqrt();
        let mut nearby: Vec<(f32, &Solid)> = self
            .solids
            .iter()
            .copied()
            .filter(|solid| {
                let to_center = solid.center - origin;
                let along = to_center.dot(axis);
                let off_axis = (to_center.length_squared() - along * along).max(0.0).sqrt();
                // How far the centre lies outside the cone (at most its distance to it).
                off_axis * cosine - along * sine < solid.radius + FAN_SLACK
            })
            .map(|solid| (solid.box_distance(origin), solid))
            .filter(|(nearest, _)| *nearest < max_distance)
            .collect();
        // Ties keep the solids' own order: the sort is stable.
        nearby.sort_by(|a, b| a.0.total_cmp(&b.0));
        Some(nearby)
    }
}

/// The first of `solids` (with their boxes' distances, nearest first) that the ray from
/// `origin` along the unit `direction` hits before `limit`, and how far along.
fn first_hit<'a>(solids: &[(f32, &'a Solid)], origin: Vec3, direction: Vec3, limit: f32) -> Option<(&'a Solid, f32)> {
    let ray = Ray::new(origin, direction);
    let inverse_direction = direction.recip();
    let mut best: Option<(&Solid, f32)> = None;
    for &(nearest, solid) in solids {
        let limit = best.map_or(limit, |(_, distance)| distance);
        if nearest >= limit {
            break;
        }
        // A quick test against the grown box first; then the BVH's own box test, so that a fan
        // prunes exactly the solids a cast ray by ray prunes.
        if !solid.box_ahead(origin, inverse_direction, limit) || solid.aabb.cast_local_ray(&ray, limit, true).is_none()
        {
            continue;
        }
        if let Some(distance) = solid.time_of_impact(&ray, limit)
            && distance < limit
        {
            best = Some((solid, distance));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Assets, BuildOptions};
    use glam::Vec2;
    use rand::{Rng, SeedableRng};

    #[test]
    fn cylinders_are_hit_where_the_ray_first_enters_them() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let (mut hits, mut inside, mut misses) = (0, 0, 0);
        for _ in 0..20_000 {
            let (half_height, radius) = (rng.random_range(0.01..1.0), rng.random_range(0.005..0.6));
            let cylinder = LocalCylinder { half_height, radius };
            let mut point =
                || Vec3::new(rng.random_range(-2.0..2.0), rng.random_range(-2.0..2.0), rng.random_range(-2.0..2.0));
            let origin = point();
            // Aim near the cylinder, and sometimes straight along its axis or across it.
            let mut direction = point() * 0.4 - origin;
            match rng.random_range(0..10) {
                0 => direction = Vec3::new(0.0, -origin.y.signum(), 0.0),
                1 => direction.y = 0.0,
                _ => {}
            }
            let direction = direction.normalize();
            let limit = rng.random_range(0.5..6.0);
            let found = cylinder.time_of_impact(&Ray::new(origin, direction), limit);
            let within = |p: Vec3, k: f32| Vec2::new(p.x, p.z).length() <= radius * k && p.y.abs() <= half_height * k;
            // No point of the ray before the hit (or up to the limit, for a miss) lies inside.
            let clear_until = found.map_or(limit, |t| t - 1e-3);
            let steps = 2_000;
            let entered = (0..=steps)
                .map(|i| clear_until * i as f32 / steps as f32)
                .find(|&t| clear_until > 0.0 && within(origin + t * direction, 0.999));
            assert_eq!(entered, None, "inside before {found:?}: {cylinder:?}, {origin}, {direction}");
            match found {
                Some(t) => {
                    assert!(t <= limit);
                    let p = origin + t * direction;
                    let (radial, height) = (Vec2::new(p.x, p.z).length(), p.y.abs());
                    // Rounding grows with the distances involved.
                    let tolerance = 1e-5 * (1.0 + t + origin.length());
                    let on_side = (radial - radius).abs() < tolerance && height <= half_height + tolerance;
                    let on_cap = (height - half_height).abs() < tolerance && radial <= radius + tolerance;
                    let from_inside = t == 0.0 && within(origin, 1.0);
                    assert!(on_side || on_cap || from_inside, "{t} is not on the surface: {cylinder:?}, {p}");
                    hits += 1;
                    inside += usize::from(from_inside);
                }
                None => misses += 1,
            }
        }
        assert!(hits > 3_000 && inside > 100 && misses > 1_000, "{hits} hits, {inside} from inside, {misses} misses");
    }

    #[test]
    fn rays_hit_floor_walls_and_objects_where_they_are() {
        let assets = Assets::builtin().unwrap();
        let scene = assets.build("office", 3, &BuildOptions::default()).unwrap();
        let caster = SceneRaycaster::new(&scene, CastOptions { ceiling: true });
        let room = &scene.rooms[0];
        let c = room.center();
        // Straight up from the floor to the ceiling, straight down to the floor.
        let object_free = scene.nav.cells_in(crate::nav::CellState::Walkable)[0];
        let p = scene.nav.center(object_free);
        let up = caster.cast(Vec3::new(p.x, 1.0, p.y), Vec3::Y, 100.0).unwrap();
        assert_eq!(up.surface, Surface::Ceiling);
        assert!((up.distance - (scene.ceiling_height - 1.0)).abs() < 1e-3);
        let down = caster.cast(Vec3::new(p.x, 1.0, p.y), Vec3::NEG_Y, 100.0).unwrap();
        assert_eq!(down.surface, Surface::Floor);
        assert!((down.distance - 1.0).abs() < 1e-3);
        // Horizontally out of the room at 2.2 m (above furniture) a wall comes first.
        let out = caster.cast(Vec3::new(c.x, 2.2, c.y), Vec3::X, 100.0).unwrap();
        assert_eq!(out.surface, Surface::Wall);
        assert!((out.point.x - room.max.x).abs() < 0.05, "{} vs {}", out.point.x, room.max.x);
        // From above every object's top centre, the first hit is that object or one on it.
        for object in &scene.objects {
            let top = Vec3::new(object.center().x, object.aabb.max.y + 0.5, object.center().z);
            let hit = caster.cast(top, Vec3::NEG_Y, 10.0).unwrap();
            assert!(matches!(hit.surface, Surface::Object(_)), "{} from above: {:?}", object.name, hit.surface);
        }
    }

    /// The same hit, but for the last bits of a near tie: two parts of one object (or two
    /// solids) whose surfaces meet may be found in another order, and parry's distance then
    /// differs by an ulp (seen once: 1.1300107 against 1.1300108 m).
    fn same_hit(a: Option<RayHit>, b: Option<RayHit>) -> bool {
        match (a, b) {
            (None, None) => true,
            (Some(a), Some(b)) => {
                a == b || ((a.distance - b.distance).abs() <= 1e-5 && a.point.distance(b.point) <= 1e-5)
            }
            _ => false,
        }
    }

    #[test]
    fn a_fan_in_a_view_hits_what_its_rays_hit_one_by_one_and_onto_wanted_solids_only_those() {
        let assets = Assets::builtin().unwrap();
        let (mut compared, mut compared_onto, mut culled) = (0, 0, 0);
        for (template, seed) in [("living_room", 1), ("kitchen", 2), ("apartment_family", 0), ("apartment_small", 3)] {
            let scene = assets.build(template, seed, &BuildOptions::default()).unwrap();
            let caster = SceneRaycaster::new(&scene, CastOptions { ceiling: true });
            let cells = scene.nav.cells_in(crate::nav::CellState::Walkable);
            for (i, cell) in cells.iter().enumerate().step_by(7) {
                let p = scene.nav.center(*cell);
                let origin = Vec3::new(p.x, 0.3 + (i % 5) as f32 * 0.4, p.y);
                // A fan of 8 x 8 directions around a random-ish axis, from narrow to wide.
                let yaw = (i * 67 % 360) as f32 * std::f32::consts::PI / 180.0;
                let pitch = ((i * 31 % 120) as f32 - 60.0) * std::f32::consts::PI / 180.0;
                let spread = [0.05, 0.2, 0.6][i % 3];
                let direction_at = |a: f32, b: f32| {
                    let (yaw, pitch) = (yaw + spread * a, pitch + spread * b);
                    Vec3::new(yaw.sin() * pitch.cos(), pitch.sin(), yaw.cos() * pitch.cos()).normalize()
                };
                let directions: Vec<Vec3> =
                    (0..64).map(|k| direction_at((k % 8) as f32 / 7.0 - 0.5, (k / 8) as f32 / 7.0 - 0.5)).collect();
                // Every solid, and the solids in a pyramid around a slightly wider fan.
                let corners = [(-0.7, -0.7), (0.7, -0.7), (0.7, 0.7), (-0.7, 0.7)].map(|(a, b)| direction_at(a, b));
                let normals = pyramid_normals(corners);
                let views = [caster.view(origin, &[]), caster.view(origin, &normals)];
                culled += caster.solids.len() - views[1].solids.len();
                // Some objects wanted: a fan onto them finds their hits and no others.
                let wanted = |surface: Surface| surface.object_id() % 2 == 1;
                for view in &views {
                    let fan = view.cast_fan(&directions, 100.0);
                    let onto = view.cast_fan_onto(&directions, 100.0, wanted);
                    for ((direction, hit), hit_onto) in directions.iter().zip(fan).zip(onto) {
                        let one_by_one = caster.cast(origin, *direction, 100.0);
                        let label = format!("{template} {seed}, cell {i}: {hit:?} vs {one_by_one:?}");
                        assert!(same_hit(hit, one_by_one), "{label}");
                        assert!(same_hit(hit_onto, one_by_one.filter(|h| wanted(h.surface))), "{label}");
                        compared += usize::from(hit.is_some());
                        compared_onto += usize::from(hit_onto.is_some());
                    }
                }
            }
        }
        assert!(compared > 10_000 && compared_onto > 400, "only {compared} hits compared ({compared_onto} wanted)");
        assert!(culled > 1_000, "the pyramids culled only {culled} solids");
    }
}

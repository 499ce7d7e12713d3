//! Ray casts into a built scene: what a ray hits first (an object, the floor, a wall or the
//! ceiling) and how far away. Labels, visibility and every filter of the task samplers are
//! computed with it, on the CPU, so they are exact and the same on every machine.
//!
//! The solids are the ones the renderer draws: one slab per room floor and ceiling, the
//! doorway floors, the wall boxes and every object part as its primitive (a torus as its
//! convex hull). A parry BVH over their bounding boxes keeps a cast at a few microseconds.

use glam::Vec3;
use rapier3d::parry::bounding_volume::Aabb as ParryAabb;
use rapier3d::parry::math::Pose;
use rapier3d::parry::partitioning::{Bvh, BvhBuildStrategy};
use rapier3d::parry::query::Ray;
use rapier3d::parry::shape::{Cuboid, SharedShape};

use crate::collide::primitive_shape;
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
}

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
        let slab = |center: Vec3, size: Vec3, surface: Surface| Solid {
            surface,
            pose: Pose::from_translation(center),
            shape: SharedShape::new(Cuboid::new(0.5 * size)),
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
            for (index, part) in object.parts.iter().enumerate() {
                let obb = object.part_obb(index);
                solids.push(Solid {
                    surface: Surface::Object(object.id),
                    pose: Pose::from_parts(obb.center, obb.rotation),
                    shape: primitive_shape(part.shape, part.size),
                });
            }
        }
        let leaves = solids.iter().enumerate().map(|(i, s)| (i, s.shape.compute_aabb(&s.pose)));
        let bvh = Bvh::from_iter(BvhBuildStrategy::Binned, leaves.collect::<Vec<(usize, ParryAabb)>>());
        SceneRaycaster { solids, bvh }
    }

    /// The first solid hit by the ray from `origin` along the unit `direction`, within
    /// `max_distance`.
    pub fn cast(&self, origin: Vec3, direction: Vec3, max_distance: f32) -> Option<RayHit> {
        let ray = Ray::new(origin, direction);
        let (index, distance) = self.bvh.cast_ray(&ray, max_distance, |leaf, best| {
            let solid = &self.solids[leaf as usize];
            solid.shape.cast_ray(&solid.pose, &ray, best, true)
        })?;
        Some(RayHit { surface: self.solids[index as usize].surface, distance, point: origin + distance * direction })
    }

    /// Whether the straight segment from `a` to `b` is free of solids (`b` itself excluded by
    /// a small tolerance).
    pub fn line_of_sight(&self, a: Vec3, b: Vec3) -> bool {
        let d = b - a;
        let length = d.length();
        length < 1e-6 || self.cast(a, d / length, length - 1e-3).is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Assets, BuildOptions};

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
}

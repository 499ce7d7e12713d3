//! Stage 4: physics settling. Small objects are dropped onto their receptacles in a rapier3d
//! world (enhanced determinism: the same result on every machine) and their resting poses
//! recorded. An object that tips over, slides off or does not come to rest is reported as
//! not settled.

use std::collections::BTreeMap;

use glam::{Quat, Vec3};
use rapier3d::prelude::{ColliderBuilder, MassProperties, PhysicsWorld, Pose, RigidBodyBuilder, RigidBodyHandle};

use crate::collide::{Solidity, part_lowest_point, part_shape};
use crate::scene::SceneObject;
use crate::small::Drop;

/// Simulation steps (at 60 Hz) before giving up on objects coming to rest.
const MAX_STEPS: usize = 240;
/// Consecutive calm steps that count as "at rest".
const CALM_STEPS: usize = 8;
/// Speeds under which an object counts as calm (m/s and rad/s).
const CALM_LINEAR: f32 = 0.01;
const CALM_ANGULAR: f32 = 0.05;
/// Largest tilt of a settled object's up axis, degrees.
const MAX_TILT_DEGREES: f32 = 8.0;
/// Largest distance between a settled object's lowest point and its support face.
const MAX_SUPPORT_GAP: f32 = 0.01;
/// Friction of every collider: furniture surfaces hold things in place.
const FRICTION: f32 = 0.9;
/// Density of falling objects, kg per cubic metre.
const DENSITY: f32 = 500.0;

/// The mass properties of a solid box of `size` standing on the object's origin (the bottom
/// centre of its box).
fn box_mass(size: Vec3) -> MassProperties {
    let solid = MassProperties::from_cuboid(DENSITY, 0.5 * size);
    MassProperties::new(Vec3::new(0.0, 0.5 * size.y, 0.0), solid.mass(), solid.principal_inertia())
}

/// The resting pose of a dropped object.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settled {
    /// World position of the object's origin, with its lowest point exactly on the face (for
    /// primitives; a mesh's lowest point is on or just above it).
    pub position: Vec3,
    /// World rotation.
    pub rotation: Quat,
}

/// Drops every object in `drops` at once onto the receptacles among `objects`; returns one
/// resting pose per drop, or `None` for an object that did not come to rest on its face.
pub fn settle(drops: &[Drop], objects: &[SceneObject]) -> Vec<Option<Settled>> {
    if drops.is_empty() {
        return Vec::new();
    }
    let mut world = PhysicsWorld::new();
    let receptacle_ids: BTreeMap<u32, ()> = drops.iter().map(|d| (d.receptacle, ())).collect();
    for &id in receptacle_ids.keys() {
        let object = &objects[id as usize - 1];
        let shapes: Vec<_> = object
            .parts
            .iter()
            .map(|p| (Pose::from_parts(p.position, p.rotation), part_shape(p, Solidity::Surfaces)))
            .collect();
        let body = RigidBodyBuilder::fixed().pose(Pose::from_parts(object.position, object.rotation));
        if object.model.is_none() {
            world.insert(body, ColliderBuilder::compound(shapes).friction(FRICTION));
        } else {
            // A triangle mesh cannot be part of a compound shape: one collider per part. A fixed
            // body needs no mass, which is slow to compute for a triangle mesh.
            let handle = world.insert_body(body);
            for (pose, shape) in shapes {
                let collider = ColliderBuilder::new(shape)
                    .position(pose)
                    .friction(FRICTION)
                    .mass_properties(MassProperties::default());
                world.insert_collider(collider, Some(handle));
            }
        }
    }
    let bodies: Vec<RigidBodyHandle> = drops
        .iter()
        .map(|drop| {
            let shapes = drop
                .instance
                .parts
                .iter()
                .filter(|p| !p.hidden)
                .map(|p| (Pose::from_parts(p.position, p.rotation), part_shape(p, Solidity::Convex)))
                .collect();
            let body =
                RigidBodyBuilder::dynamic().pose(Pose::from_parts(drop.position, drop.rotation)).can_sleep(false);
            let collider = ColliderBuilder::compound(shapes).friction(FRICTION);
            let collider = match &drop.instance.model {
                // A mesh's mass as its box's (the hulls' exact mass is slow to compute and
                // changes nothing in a drop of a centimetre onto a level face).
                Some(_) => collider.mass_properties(box_mass(drop.instance.size)),
                None => collider.density(DENSITY),
            };
            world.insert(body, collider).0
        })
        .collect();
    let mut calm = 0;
    for _ in 0..MAX_STEPS {
        world.step();
        let all_calm = bodies.iter().all(|&h| {
            let body = &world.bodies[h];
            body.linvel().length() < CALM_LINEAR && body.angvel().length() < CALM_ANGULAR
        });
        calm = if all_calm { calm + 1 } else { 0 };
        if calm >= CALM_STEPS {
            break;
        }
    }
    drops
        .iter()
        .zip(&bodies)
        .map(|(drop, &handle)| {
            let body = &world.bodies[handle];
            let at_rest = body.linvel().length() < CALM_LINEAR && body.angvel().length() < CALM_ANGULAR;
            resting_pose(drop, body.translation(), *body.rotation(), objects).filter(|_| at_rest)
        })
        .collect()
}

/// Checks a simulated pose and snaps it onto the support face.
fn resting_pose(drop: &Drop, position: Vec3, rotation: Quat, objects: &[SceneObject]) -> Option<Settled> {
    let up = rotation * Vec3::Y;
    if up.y < MAX_TILT_DEGREES.to_radians().cos() {
        return None;
    }
    let lowest = drop
        .instance
        .parts
        .iter()
        .filter(|p| !p.hidden)
        .map(|p| part_lowest_point(p, position + rotation * p.position, rotation * p.rotation))
        .fold(f32::INFINITY, f32::min);
    if (lowest - drop.surface).abs() > MAX_SUPPORT_GAP {
        return None;
    }
    // The object's centre must still be above the face it was dropped on.
    let face = objects[drop.receptacle as usize - 1].part_obb(drop.part as usize);
    let local = face.rotation.inverse() * (position - face.center);
    if local.x.abs() > face.half_extents.x || local.z.abs() > face.half_extents.z {
        return None;
    }
    // A mesh may rest on an edge or a rim a little above its face: snapped down onto the
    // face it would sink into that edge, so it is only lifted out of the face where the
    // simulation let it sink in.
    let snap = if drop.instance.model.is_some() { (drop.surface - lowest).max(0.0) } else { drop.surface - lowest };
    Some(Settled { position: position + Vec3::new(0.0, snap, 0.0), rotation })
}

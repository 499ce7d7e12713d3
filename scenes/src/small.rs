//! Stage 3: small objects on receptacles. Proposes a spot on a receptacle's support face
//! that is free of the receptacle's other parts and of other small objects; the physics
//! stage then drops the objects from there.

use glam::{Quat, Vec3};

use crate::collide::obbs_apart;
use crate::geometry::{Obb, heading, yaw_rotation};
use crate::instance::Instance;
use crate::rng::{SceneRng, uniform, weighted_index};
use crate::scene::SceneObject;

/// Height above the support face from which objects are dropped.
pub const DROP_HEIGHT: f32 = 0.01;
/// Smallest gap kept, at the proposed spot, to the receptacle's other parts.
const PART_GAP: f32 = 0.005;
/// Smallest gap kept between two small objects.
const OBJECT_GAP: f32 = 0.02;
/// Spots tried per object before it is dropped.
const TRIES_PER_OBJECT: usize = 40;
/// Largest turn away from the receptacle's front, radians.
const MAX_TURN: f32 = 0.35;

/// A small object waiting to be dropped.
#[derive(Debug, Clone)]
pub struct Drop {
    /// Index of the template group that asked for it.
    pub group: usize,
    /// The object.
    pub instance: Instance,
    /// The receptacle's object id.
    pub receptacle: u32,
    /// Index of the receptacle's supporting part.
    pub part: u32,
    /// World height of the support face.
    pub surface: f32,
    /// Pose of the object's origin before the drop.
    pub position: Vec3,
    /// Rotation before the drop.
    pub rotation: Quat,
}

impl Drop {
    /// The object's box before the drop.
    pub fn obb(&self) -> Obb {
        Drop::obb_at(&self.instance, self.position, self.rotation)
    }

    /// The box of `instance` with its origin at `position`, turned by `rotation`.
    fn obb_at(instance: &Instance, position: Vec3, rotation: Quat) -> Obb {
        Obb {
            center: position + rotation * Vec3::new(0.0, 0.5 * instance.size.y, 0.0),
            half_extents: 0.5 * instance.size,
            rotation,
        }
    }
}

/// A support face of a receptacle: the top of one of its parts.
struct Face<'o> {
    object: &'o SceneObject,
    part: usize,
    obb: Obb,
    clearance: Option<f32>,
}

impl Face<'_> {
    /// Half extents of the usable top rectangle (a disc's inscribed square).
    fn half_extents(&self) -> (f32, f32) {
        let part = &self.object.parts[self.part];
        let h = self.obb.half_extents;
        match part.shape {
            crate::geometry::Shape::Box => (h.x, h.z),
            _ => (h.x * std::f32::consts::FRAC_1_SQRT_2, h.z * std::f32::consts::FRAC_1_SQRT_2),
        }
    }
}

/// Proposes a spot for `instance` on one of `receptacles`, clear of `objects` and of the
/// drops already pending.
pub fn propose(
    group: usize,
    instance: &Instance,
    receptacles: &[&SceneObject],
    objects: &[SceneObject],
    pending: &[Drop],
    rng: &mut SceneRng,
) -> Option<Drop> {
    let faces: Vec<Face> = receptacles
        .iter()
        .flat_map(|object| {
            object.parts.iter().enumerate().filter(|(_, p)| p.support).map(|(part, p)| Face {
                object,
                part,
                obb: object.part_obb(part),
                clearance: p.clearance,
            })
        })
        .filter(|face| face.clearance.is_none_or(|c| c > instance.size.y + DROP_HEIGHT))
        .collect();
    if faces.is_empty() {
        return None;
    }
    let areas: Vec<f32> = faces.iter().map(|f| f.half_extents().0 * f.half_extents().1).collect();
    (0..TRIES_PER_OBJECT).find_map(|_| {
        let face = &faces[weighted_index(&areas, rng)];
        let turn = uniform(rng, -MAX_TURN, MAX_TURN);
        let (hx, hz) = face.half_extents();
        let (w, d) = (0.5 * instance.size.x, 0.5 * instance.size.z);
        let (s, c) = (libm::sinf(turn).abs(), libm::cosf(turn).abs());
        let (ex, ez) = (w * c + d * s, w * s + d * c);
        if ex >= hx || ez >= hz {
            return None;
        }
        let u = uniform(rng, -(hx - ex), hx - ex);
        let v = uniform(rng, -(hz - ez), hz - ez);
        let surface = face.obb.center.y + face.obb.half_extents.y;
        let offset = face.obb.rotation * Vec3::new(u, 0.0, v);
        let position = Vec3::new(face.obb.center.x + offset.x, surface + DROP_HEIGHT, face.obb.center.z + offset.z);
        let rotation = yaw_rotation(heading(face.obb.rotation) + turn);
        let obb = Drop::obb_at(instance, position, rotation);
        let reach = obb.aabb();
        // A mesh receptacle's own model fills its whole box; its face was found free above.
        let own_model = |o: &SceneObject, i: usize| o.id == face.object.id && o.model.is_some() && !o.parts[i].support;
        let clear_of_parts = objects
            .iter()
            .filter(|o| o.aabb.min.cmple(reach.max + PART_GAP).all() && o.aabb.max.cmpge(reach.min - PART_GAP).all())
            .all(|o| (0..o.parts.len()).all(|i| own_model(o, i) || obbs_apart(&obb, &o.part_obb(i), PART_GAP)));
        let clear_of_drops = pending.iter().all(|p| obbs_apart(&obb, &p.obb(), OBJECT_GAP));
        (clear_of_parts && clear_of_drops).then(|| Drop {
            group,
            instance: instance.clone(),
            receptacle: face.object.id,
            part: face.part as u32,
            surface,
            position,
            rotation,
        })
    })
}

/// Picks the receptacles of the given categories in a room (floor objects only).
pub fn receptacles<'o>(objects: &'o [SceneObject], room: u32, categories: &[String]) -> Vec<&'o SceneObject> {
    objects.iter().filter(|o| o.room == room && o.support.is_none() && categories.contains(&o.category)).collect()
}

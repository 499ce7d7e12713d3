//! Stage 2: furniture on the floor. Each placement rule proposes random poses for an object;
//! a pose is kept when the object lies inside its room, clear of doorways and at least
//! [`MIN_GAP`] from every other object. Retries are bounded.

use std::f32::consts::{FRAC_PI_2, PI};

use glam::{Vec2, Vec3};
use rand::Rng;
use rand::seq::IndexedRandom;

use crate::collide::obbs_apart;
use crate::geometry::{Obb, heading, yaw_rotation};
use crate::instance::Instance;
use crate::rng::{SceneRng, uniform, weighted_index};
use crate::scene::{Doorway, Room, SceneObject};
use crate::template::{Range, Rule};

/// Smallest gap kept between two floor objects and between an object and a wall.
pub const MIN_GAP: f32 = 0.01;
/// Random poses tried per object before it is dropped.
const TRIES_PER_OBJECT: usize = 40;
/// Depth of the free zone kept in front of each side of a doorway.
const DOOR_CLEARANCE: f32 = 0.9;
/// Extra free width kept on each side of a doorway's zone.
const DOOR_SIDE: f32 = 0.15;

/// An object's pose on the floor: origin position and heading.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FloorPose {
    /// World position of the object's origin (bottom centre).
    pub position: Vec3,
    /// Heading about +Y (front = (sin, 0, cos)).
    pub yaw: f32,
}

impl FloorPose {
    /// The object's world box at this pose.
    pub fn obb(&self, instance: &Instance) -> Obb {
        Obb {
            center: self.position + Vec3::new(0.0, 0.5 * instance.size.y, 0.0),
            half_extents: 0.5 * instance.size,
            rotation: yaw_rotation(self.yaw),
        }
    }
}

/// Places floor objects in one room.
pub struct FloorPlacer<'a> {
    room: &'a Room,
    keep_out: Vec<Obb>,
}

/// Inward normal and heading of the four room sides: low z, high z, low x, high x.
const SIDES: [(Vec2, f32); 4] = [
    (Vec2::new(0.0, 1.0), 0.0),
    (Vec2::new(0.0, -1.0), PI),
    (Vec2::new(1.0, 0.0), FRAC_PI_2),
    (Vec2::new(-1.0, 0.0), -FRAC_PI_2),
];

impl<'a> FloorPlacer<'a> {
    /// A placer for `room`, keeping the floor in front of its doorways free.
    pub fn new(room: &'a Room, doorways: &[Doorway]) -> FloorPlacer<'a> {
        let keep_out = doorways
            .iter()
            .filter(|d| d.rooms.contains(&room.id))
            .map(|d| {
                // Deep in front of the opening, a little wider than it.
                let span = d.max - d.min;
                let grow = if span.x < span.y {
                    Vec2::new(DOOR_CLEARANCE, DOOR_SIDE)
                } else {
                    Vec2::new(DOOR_SIDE, DOOR_CLEARANCE)
                };
                let (min, max) = (d.min - grow, d.max + grow);
                let (min, max) = (min.max(room.min), max.min(room.max));
                let center = 0.5 * (min + max);
                let half = 0.5 * (max - min).max(Vec2::ZERO);
                Obb {
                    center: Vec3::new(center.x, 1.0, center.y),
                    half_extents: Vec3::new(half.x, 1.0, half.y),
                    rotation: glam::Quat::IDENTITY,
                }
            })
            .collect();
        FloorPlacer { room, keep_out }
    }

    /// Tries to place `instance` by `rule`; returns the accepted pose.
    pub fn place(
        &self,
        rule: &Rule,
        instance: &Instance,
        objects: &[SceneObject],
        rng: &mut SceneRng,
    ) -> Option<FloorPose> {
        let furniture = floor_boxes(objects);
        (0..TRIES_PER_OBJECT).find_map(|_| {
            let pose = self.propose(rule, instance, objects, rng)?;
            self.fits(&pose.obb(instance), &furniture).then_some(pose)
        })
    }

    /// Whether a box lies inside the room, out of the doorway zones and at least [`MIN_GAP`]
    /// from the boxes of the furniture already placed.
    pub fn fits(&self, obb: &Obb, furniture: &[Obb]) -> bool {
        let inside = obb.footprint().corners().iter().all(|&c| self.room.contains(c, -MIN_GAP + 1e-4));
        inside
            && self.keep_out.iter().all(|zone| obbs_apart(obb, zone, f32::MIN_POSITIVE))
            && furniture.iter().all(|other| obbs_apart(obb, other, MIN_GAP))
    }

    fn propose(
        &self,
        rule: &Rule,
        instance: &Instance,
        objects: &[SceneObject],
        rng: &mut SceneRng,
    ) -> Option<FloorPose> {
        let (w, d) = (instance.size.x, instance.size.z);
        let room = self.room;
        match rule {
            Rule::Wall => {
                let lengths: Vec<f32> = (0..4).map(|s| side_length(room, s)).collect();
                let side = weighted_index(&lengths, rng);
                let (inward, yaw) = SIDES[side];
                let along = inward.perp();
                let base = side_point(room, side);
                let half_len = 0.5 * lengths[side] - 0.5 * w - MIN_GAP;
                if half_len < 0.0 {
                    return None;
                }
                let t = uniform(rng, -half_len, half_len);
                let p = base + along * t + inward * (0.5 * d + MIN_GAP);
                Some(FloorPose { position: Vec3::new(p.x, 0.0, p.y), yaw })
            }
            Rule::Corner => {
                let back = rng.random_range(0..4usize);
                let (inward, yaw) = SIDES[back];
                // The other wall of the corner: one of the two sides perpendicular to `back`.
                let other = if back < 2 { 2 + rng.random_range(0..2usize) } else { rng.random_range(0..2usize) };
                let (side_in, _) = SIDES[other];
                let corner = side_point(room, back) + side_point(room, other) - room.center();
                let p = corner + inward * (0.5 * d + MIN_GAP) + side_in * (0.5 * w + MIN_GAP);
                Some(FloorPose { position: Vec3::new(p.x, 0.0, p.y), yaw })
            }
            Rule::Middle => {
                let yaw = *[0.0, FRAC_PI_2, PI, -FRAC_PI_2].choose(rng).expect("non-empty");
                let reach = 0.5 * (w * w + d * d).sqrt() + 0.4;
                let (lo, hi) = (room.min + Vec2::splat(reach), room.max - Vec2::splat(reach));
                if lo.cmpgt(hi).any() {
                    return None;
                }
                let p = Vec2::new(uniform(rng, lo.x, hi.x), uniform(rng, lo.y, hi.y));
                Some(FloorPose { position: Vec3::new(p.x, 0.0, p.y), yaw })
            }
            Rule::Around { anchor, gap } => {
                let anchor = self.anchor_object(anchor, objects, rng)?;
                Some(around(anchor, instance, *gap, rng))
            }
            Rule::FrontOf { anchor, gap } => {
                let anchor = self.anchor_object(anchor, objects, rng)?;
                let yaw = heading(anchor.rotation);
                let front = Vec2::new(libm::sinf(yaw), libm::cosf(yaw));
                let distance = 0.5 * anchor.size.z + uniform(rng, gap.min, gap.max) + 0.5 * d;
                let lateral = uniform(rng, -0.1, 0.1);
                let center = Vec2::new(anchor.obb.center.x, anchor.obb.center.z);
                let p = center + front * distance + front.perp() * lateral;
                Some(FloorPose { position: Vec3::new(p.x, 0.0, p.y), yaw: wrap(yaw + PI) })
            }
            Rule::Rows { .. } | Rule::On { .. } => None,
        }
    }

    fn anchor_object<'o>(
        &self,
        category: &str,
        objects: &'o [SceneObject],
        rng: &mut SceneRng,
    ) -> Option<&'o SceneObject> {
        let anchors: Vec<&SceneObject> = objects
            .iter()
            .filter(|o| o.room == self.room.id && o.category == category && o.support.is_none())
            .collect();
        anchors.choose(rng).copied()
    }

    /// Places up to `count` objects in rows starting at a random wall (desks), each with an
    /// optional partner in front of it, facing it (a chair). Returns the accepted objects with
    /// their poses.
    pub fn place_rows(
        &self,
        count: u32,
        aisle: Range,
        sample: &mut dyn FnMut(&mut SceneRng) -> (Instance, Option<Instance>),
        objects: &[SceneObject],
        rng: &mut SceneRng,
    ) -> Vec<RowSeat> {
        let room = self.room;
        let back_side = rng.random_range(0..4usize);
        let (inward, yaw) = SIDES[back_side];
        let across_dir = inward.perp();
        let wall_point = side_point(room, back_side);
        let depth_extent = side_length(room, if back_side < 2 { 2 } else { 0 });
        let width_extent = side_length(room, back_side);
        let aisle = uniform(rng, aisle.min, aisle.max);
        let mut accepted = floor_boxes(objects);
        let mut seats = Vec::new();
        let mut row_offset = MIN_GAP;
        let mut next = Some(sample(rng));
        while seats.len() < count as usize {
            let Some((main, partner)) = next.take() else { break };
            let unit_depth = main.size.z + partner.as_ref().map_or(0.0, |p| p.size.z + 0.05);
            if row_offset + unit_depth > depth_extent {
                break;
            }
            let mut across = -0.5 * width_extent + MIN_GAP;
            let mut pair = Some((main, partner));
            while seats.len() < count as usize {
                let (main, partner) = pair.take().unwrap_or_else(|| sample(rng));
                if across + main.size.x > 0.5 * width_extent {
                    // The row is full: this pair starts the next one.
                    next = Some((main, partner));
                    break;
                }
                let p =
                    wall_point + inward * (row_offset + 0.5 * main.size.z) + across_dir * (across + 0.5 * main.size.x);
                across += main.size.x + 0.05 + uniform(rng, 0.0, 0.15);
                let pose = FloorPose { position: Vec3::new(p.x, 0.0, p.y), yaw };
                let main_obb = pose.obb(&main);
                if !self.fits(&main_obb, &accepted) {
                    continue;
                }
                let partner = match partner {
                    Some(partner) => {
                        let q = p + inward * (0.5 * main.size.z + 0.05 + 0.5 * partner.size.z);
                        let partner_pose = FloorPose { position: Vec3::new(q.x, 0.0, q.y), yaw: wrap(yaw + PI) };
                        let partner_obb = partner_pose.obb(&partner);
                        if !self.fits(&partner_obb, &accepted) || !obbs_apart(&partner_obb, &main_obb, MIN_GAP) {
                            continue;
                        }
                        accepted.push(partner_obb);
                        Some((partner, partner_pose))
                    }
                    None => None,
                };
                accepted.push(main_obb);
                seats.push(RowSeat { main, pose, partner });
            }
            if next.is_none() && seats.len() < count as usize {
                next = Some(sample(rng));
            }
            row_offset += unit_depth + aisle;
        }
        seats
    }
}

/// One place of a row: the main object and its optional partner, with poses.
pub struct RowSeat {
    /// The object in the row (a desk).
    pub main: Instance,
    /// Its pose.
    pub pose: FloorPose,
    /// The partner in front of it (a chair) and its pose.
    pub partner: Option<(Instance, FloorPose)>,
}

/// The boxes of the floor objects (small objects stand on them and do not count).
fn floor_boxes(objects: &[SceneObject]) -> Vec<Obb> {
    objects.iter().filter(|o| o.support.is_none()).map(|o| o.obb).collect()
}

/// A pose for `instance` beside `anchor`, facing the anchor's centre.
fn around(anchor: &SceneObject, instance: &Instance, gap: Range, rng: &mut SceneRng) -> FloorPose {
    let (aw, ad) = (anchor.size.x, anchor.size.z);
    let (w, d) = (instance.size.x, instance.size.z);
    // Anchor sides in its own frame: +z, -z, +x, -x, chosen by length.
    let side = weighted_index(&[aw, aw, ad, ad], rng);
    let (normal, half_len, half_depth) = match side {
        0 => (Vec2::new(0.0, 1.0), 0.5 * aw, 0.5 * ad),
        1 => (Vec2::new(0.0, -1.0), 0.5 * aw, 0.5 * ad),
        2 => (Vec2::new(1.0, 0.0), 0.5 * ad, 0.5 * aw),
        _ => (Vec2::new(-1.0, 0.0), 0.5 * ad, 0.5 * aw),
    };
    let slide = (half_len - 0.5 * w).max(0.0);
    let t = uniform(rng, -slide, slide);
    let local = normal * (half_depth + uniform(rng, gap.min, gap.max) + 0.5 * d) + normal.perp() * t;
    let anchor_yaw = heading(anchor.rotation);
    let world = rotate2(local, anchor_yaw);
    let center = Vec2::new(anchor.obb.center.x, anchor.obb.center.z) + world;
    let facing = -rotate2(normal, anchor_yaw);
    FloorPose { position: Vec3::new(center.x, 0.0, center.y), yaw: libm::atan2f(facing.x, facing.y) }
}

/// Rotates a floor vector (x, z) by a yaw.
fn rotate2(v: Vec2, yaw: f32) -> Vec2 {
    let (s, c) = (libm::sinf(yaw), libm::cosf(yaw));
    Vec2::new(v.x * c + v.y * s, -v.x * s + v.y * c)
}

/// Wraps an angle into (-pi, pi].
fn wrap(angle: f32) -> f32 {
    let mut a = angle;
    while a > PI {
        a -= 2.0 * PI;
    }
    while a <= -PI {
        a += 2.0 * PI;
    }
    a
}

fn side_length(room: &Room, side: usize) -> f32 {
    let size = room.max - room.min;
    if side < 2 { size.x } else { size.y }
}

/// The midpoint of a room side on the wall line.
fn side_point(room: &Room, side: usize) -> Vec2 {
    let c = room.center();
    match side {
        0 => Vec2::new(c.x, room.min.y),
        1 => Vec2::new(c.x, room.max.y),
        2 => Vec2::new(room.min.x, c.y),
        _ => Vec2::new(room.max.x, c.y),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotate2_matches_yaw_rotation() {
        let yaw = 0.7;
        let v = rotate2(Vec2::new(0.3, 1.1), yaw);
        let w = yaw_rotation(yaw) * Vec3::new(0.3, 0.0, 1.1);
        assert!((v - Vec2::new(w.x, w.z)).length() < 1e-6);
    }

    #[test]
    fn sides_face_into_the_room() {
        for (inward, yaw) in SIDES {
            let front = yaw_rotation(yaw) * Vec3::Z;
            assert!((Vec2::new(front.x, front.z) - inward).length() < 1e-6);
        }
    }
}

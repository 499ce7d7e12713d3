//! Collision queries on oriented boxes and primitives (parry, the geometry library under
//! rapier3d), and the exact lowest point of a posed primitive.

use glam::{Quat, Vec3};
use rapier3d::parry::math::Pose;
use rapier3d::parry::query;
use rapier3d::parry::shape::{Ball, Capsule, Cone, Cuboid, Cylinder, SharedShape};

use crate::geometry::{Obb, Shape};

/// Distance between two boxes (0 when they touch or overlap).
pub fn obb_distance(a: &Obb, b: &Obb) -> f32 {
    // Cheap reject on the bounding spheres before asking parry.
    let reach = a.half_extents.length() + b.half_extents.length();
    let gap = (a.center - b.center).length() - reach;
    if gap > 0.0 {
        return gap;
    }
    let pa = Pose::from_parts(a.center, a.rotation);
    let pb = Pose::from_parts(b.center, b.rotation);
    query::distance(&pa, &Cuboid::new(a.half_extents), &pb, &Cuboid::new(b.half_extents)).map_or(0.0, |d| d.distance)
}

/// Sides of the polygon standing in for a torus's outline in the physics world.
const ROUND_SIDES: usize = 24;

/// The collision shape of a primitive filling `size` (a torus by its convex hull, a flat prism).
pub fn primitive_shape(shape: Shape, size: Vec3) -> SharedShape {
    let h = 0.5 * size;
    match shape {
        Shape::Box => SharedShape::new(Cuboid::new(h)),
        Shape::Cylinder => SharedShape::new(Cylinder::new(h.y, h.x)),
        Shape::Cone => SharedShape::new(Cone::new(h.y, h.x)),
        // A torus's convex hull, as a polygonal prism (an exact torus is not convex). A flat
        // box instead made the solver sink plates with a rim into the table.
        Shape::Torus => hull(&ring(h, -h.y).into_iter().chain(ring(h, h.y)).collect::<Vec<_>>()),
        Shape::Sphere => SharedShape::new(Ball::new(h.x)),
        Shape::Capsule => SharedShape::new(Capsule::new_y((h.y - h.x).max(0.0), h.x)),
    }
}

/// Points on a circle of radius `h.x` at height `y`.
fn ring(h: Vec3, y: f32) -> Vec<Vec3> {
    let radius = h.x;
    (0..ROUND_SIDES)
        .map(|i| {
            let angle = 2.0 * std::f32::consts::PI * i as f32 / ROUND_SIDES as f32;
            Vec3::new(radius * libm::cosf(angle), y, radius * libm::sinf(angle))
        })
        .collect()
}

fn hull(points: &[Vec3]) -> SharedShape {
    SharedShape::convex_hull(points).expect("a prism or pyramid has a hull")
}

/// The lowest world height of a primitive filling `size`, centred at `center` with `rotation`.
pub fn lowest_point(shape: Shape, size: Vec3, center: Vec3, rotation: Quat) -> f32 {
    let h = 0.5 * size;
    let axis = rotation * Vec3::Y;
    // How far a disc of radius 1 perpendicular to `axis` reaches downwards.
    let disc_drop = (1.0 - axis.y * axis.y).max(0.0).sqrt();
    center.y
        - match shape {
            Shape::Box => {
                let m = glam::Mat3::from_quat(rotation);
                m.row(1).abs().dot(h)
            }
            Shape::Sphere => h.x,
            Shape::Cylinder => h.y * axis.y.abs() + h.x * disc_drop,
            Shape::Capsule => (h.y - h.x).max(0.0) * axis.y.abs() + h.x,
            Shape::Cone => {
                let apex = h.y * axis.y;
                let base = -h.y * axis.y - h.x * disc_drop;
                -(apex.min(base))
            }
            Shape::Torus => {
                let tube = h.y;
                (h.x - tube) * disc_drop + tube
            }
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::euler_degrees;

    #[test]
    fn lowest_point_matches_support_maps() {
        use rapier3d::parry::shape::SupportMap;
        let rotation = euler_degrees([30.0, 40.0, 20.0]);
        let center = Vec3::new(0.1, 1.0, -0.2);
        let size = Vec3::new(0.2, 0.5, 0.2);
        let h = 0.5 * size;
        let direction = rotation.inverse() * Vec3::NEG_Y;
        for shape in [Shape::Box, Shape::Cylinder, Shape::Cone, Shape::Capsule] {
            let support: Vec3 = match shape {
                Shape::Box => Cuboid::new(h).local_support_point(direction),
                Shape::Cylinder => Cylinder::new(h.y, h.x).local_support_point(direction),
                Shape::Cone => Cone::new(h.y, h.x).local_support_point(direction),
                _ => Capsule::new_y(h.y - h.x, h.x).local_support_point(direction),
            };
            let expected = (center + rotation * support).y;
            let ours = lowest_point(shape, size, center, rotation);
            assert!((ours - expected).abs() < 1e-5, "{shape:?}: {ours} vs {expected}");
        }
    }

    #[test]
    fn touching_boxes_are_at_distance_zero() {
        let a = Obb { center: Vec3::ZERO, half_extents: Vec3::splat(0.5), rotation: Quat::IDENTITY };
        let b = Obb { center: Vec3::new(1.0, 0.0, 0.0), ..a };
        assert!(obb_distance(&a, &b).abs() < 1e-6);
        let c = Obb { center: Vec3::new(1.5, 0.0, 0.0), ..a };
        assert!((obb_distance(&a, &c) - 0.5).abs() < 1e-5);
    }
}

//! Collision queries on oriented boxes and primitives (parry, the geometry library under
//! rapier3d), and the exact lowest point of a posed primitive.

use std::sync::OnceLock;

use glam::{DVec3, Quat, Vec3};
use rapier3d::parry::math::Pose;
use rapier3d::parry::query;
use rapier3d::parry::shape::{Ball, Capsule, Cone, ConvexPolyhedron, Cuboid, Cylinder, SharedShape};

use crate::geometry::{Obb, Shape};
use crate::scene::Part;

/// The gap between the boxes' bounding spheres, if they are apart.
fn sphere_gap(a: &Obb, b: &Obb) -> Option<f32> {
    let reach = a.half_extents.length() + b.half_extents.length();
    let gap = (a.center - b.center).length() - reach;
    (gap > 0.0).then_some(gap)
}

/// The distance between two boxes by parry (0 when they touch or overlap).
fn parry_distance(a: &Obb, b: &Obb) -> f32 {
    let pa = Pose::from_parts(a.center, a.rotation);
    let pb = Pose::from_parts(b.center, b.rotation);
    query::distance(&pa, &Cuboid::new(a.half_extents), &pb, &Cuboid::new(b.half_extents)).map_or(0.0, |d| d.distance)
}

/// Whether two boxes are at least `gap` (> 0) apart, cautiously: boxes whose bounding spheres
/// are apart must have the spheres `gap` apart. Others are decided by the separating-axis
/// bound of their distance when it clears `gap` by [`BOUND_MARGIN`] (most pairs), and by
/// parry's distance otherwise.
pub fn obbs_apart(a: &Obb, b: &Obb, gap: f32) -> bool {
    match sphere_gap(a, b) {
        Some(apart) => apart >= gap,
        None => f64::from(gap) + BOUND_MARGIN <= separation_bound(a, b) || parry_distance(a, b) >= gap,
    }
}

/// Margin by which the separating-axis bound must clear a gap to decide it, metres: larger
/// than the error of parry's distance near such a gap, so that both answer alike.
const BOUND_MARGIN: f64 = 1e-4;

/// The largest gap between the two boxes' projections on the 15 separating axes (their face
/// normals and the cross products of their edges), in f64: at most their distance, and
/// negative when they overlap.
fn separation_bound(a: &Obb, b: &Obb) -> f64 {
    let axes_of = |o: &Obb| [o.rotation * Vec3::X, o.rotation * Vec3::Y, o.rotation * Vec3::Z].map(|v| v.as_dvec3());
    let (axes_a, axes_b) = (axes_of(a), axes_of(b));
    let (half_a, half_b) = (a.half_extents.as_dvec3(), b.half_extents.as_dvec3());
    let between = (b.center - a.center).as_dvec3();
    let radius = |axes: &[DVec3; 3], half: DVec3, axis: DVec3| {
        half.x * axes[0].dot(axis).abs() + half.y * axes[1].dot(axis).abs() + half.z * axes[2].dot(axis).abs()
    };
    let gap_along =
        |axis: DVec3| between.dot(axis).abs() - radius(&axes_a, half_a, axis) - radius(&axes_b, half_b, axis);
    let crossed = axes_a.iter().flat_map(|&u| axes_b.iter().map(move |&v| u.cross(v)));
    let unit_crossed = crossed.filter(|axis| axis.length_squared() > 1e-12).map(DVec3::normalize);
    axes_a.into_iter().chain(axes_b).chain(unit_crossed).map(gap_along).fold(f64::NEG_INFINITY, f64::max)
}

/// Sides of the polygon standing in for a torus's outline in the physics world.
const ROUND_SIDES: usize = 24;

/// How a part's solid is used: ray casts and fixed colliders follow a mesh's every triangle;
/// a falling body needs a convex shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Solidity {
    /// Exact surfaces: a mesh as its triangles.
    Surfaces,
    /// A body the physics moves: a mesh as its convex hull.
    Convex,
}

/// The solid of a part, in the part's frame: its primitive, or its mesh scaled to its size.
pub fn part_shape(part: &Part, solidity: Solidity) -> SharedShape {
    let Some(mesh) = part.mesh.as_ref().filter(|_| part.shape == Shape::Mesh) else {
        return primitive_shape(part.shape, part.size);
    };
    let shape = match solidity {
        Solidity::Surfaces => mesh.data.surfaces(part.size).map(SharedShape::new),
        Solidity::Convex => mesh.data.hull(part.size).map(SharedShape::new),
    };
    // A degenerate mesh (no triangles with area) stands as its box.
    shape.unwrap_or_else(|| primitive_shape(Shape::Box, part.size))
}

/// The lowest world height of a part centred at `center` with `rotation`.
pub fn part_lowest_point(part: &Part, center: Vec3, rotation: Quat) -> f32 {
    match part.mesh.as_ref().filter(|_| part.shape == Shape::Mesh) {
        Some(mesh) => mesh.data.lowest_point(part.size, center, rotation),
        None => lowest_point(part.shape, part.size, center, rotation),
    }
}

/// The collision shape of a primitive filling `size` (a torus by its convex hull, a flat prism;
/// a mesh, whose triangles only [`part_shape`] knows, by its box).
pub fn primitive_shape(shape: Shape, size: Vec3) -> SharedShape {
    let h = 0.5 * size;
    match shape {
        Shape::Box | Shape::Mesh => SharedShape::new(Cuboid::new(h)),
        Shape::Cylinder => SharedShape::new(Cylinder::new(h.y, h.x)),
        Shape::Cone => SharedShape::new(Cone::new(h.y, h.x)),
        // A torus's convex hull, as a polygonal prism (an exact torus is not convex). A flat
        // box instead made the solver sink plates with a rim into the table.
        Shape::Torus => {
            let prism = unit_prism().clone().scaled(Vec3::new(h.x, h.y, h.x));
            SharedShape::new(prism.expect("parry scales a convex polyhedron along its axes"))
        }
        Shape::Sphere => SharedShape::new(Ball::new(h.x)),
        Shape::Capsule => SharedShape::new(Capsule::new_y((h.y - h.x).max(0.0), h.x)),
    }
}

/// The convex hull of a prism with [`ROUND_SIDES`] sides, radius 1, from height -1 to 1,
/// built once and scaled per torus: computing hulls was about a tenth of planning an
/// example, and scaling a convex prism along its axes keeps it the hull of the scaled
/// points. A torus scales x and z alike, so the face normals keep their directions (parry's
/// `scaled` multiplies normals by the scale, which is exact only then).
fn unit_prism() -> &'static ConvexPolyhedron {
    static PRISM: OnceLock<ConvexPolyhedron> = OnceLock::new();
    PRISM.get_or_init(|| {
        let ring = |y: f32| {
            (0..ROUND_SIDES).map(move |i| {
                let angle = 2.0 * std::f32::consts::PI * i as f32 / ROUND_SIDES as f32;
                Vec3::new(libm::cosf(angle), y, libm::sinf(angle))
            })
        };
        let points: Vec<Vec3> = ring(-1.0).chain(ring(1.0)).collect();
        ConvexPolyhedron::from_convex_hull(&points).expect("a prism has a hull")
    })
}

/// The lowest world height of a primitive filling `size`, centred at `center` with `rotation`.
pub fn lowest_point(shape: Shape, size: Vec3, center: Vec3, rotation: Quat) -> f32 {
    let h = 0.5 * size;
    let axis = rotation * Vec3::Y;
    // How far a disc of radius 1 perpendicular to `axis` reaches downwards.
    let disc_drop = (1.0 - axis.y * axis.y).max(0.0).sqrt();
    center.y
        - match shape {
            Shape::Box | Shape::Mesh => {
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
    use rand::{Rng, SeedableRng};

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
    fn a_torus_is_the_hull_of_its_own_prism() {
        use rapier3d::parry::shape::{Shape as _, SupportMap};
        for size in [Vec3::new(0.26, 0.02, 0.26), Vec3::new(0.09, 0.05, 0.09), Vec3::new(1.2, 0.3, 1.2)] {
            let h = 0.5 * size;
            let corners: Vec<Vec3> = (0..ROUND_SIDES)
                .flat_map(|i| {
                    let angle = 2.0 * std::f32::consts::PI * i as f32 / ROUND_SIDES as f32;
                    let (x, z) = (h.x * libm::cosf(angle), h.x * libm::sinf(angle));
                    [Vec3::new(x, -h.y, z), Vec3::new(x, h.y, z)]
                })
                .collect();
            let expected = ConvexPolyhedron::from_convex_hull(&corners).unwrap();
            let shape = primitive_shape(Shape::Torus, size);
            let ours = shape.as_convex_polyhedron().expect("a torus is a convex polyhedron");
            assert_eq!(ours.points().len(), expected.points().len());
            assert_eq!(ours.faces().len(), expected.faces().len());
            for k in 0..200 {
                let direction = euler_degrees([k as f32 * 37.0, k as f32 * 73.0, 0.0]) * Vec3::Z;
                let reach = |p: Vec3| p.dot(direction);
                let (a, b) =
                    (reach(ours.local_support_point(direction)), reach(expected.local_support_point(direction)));
                assert!((a - b).abs() < 1e-6, "{size} towards {direction}: {a} vs {b}");
            }
            let (a, b) = (ours.mass_properties(1.0), expected.mass_properties(1.0));
            assert!((a.mass() - b.mass()).abs() < 1e-5 * b.mass(), "{size}: volume {} vs {}", a.mass(), b.mass());
        }
    }

    #[test]
    fn the_separating_axis_bound_never_exceeds_the_distance_and_apart_agrees_with_it() {
        let mut rng = crate::rng::SceneRng::seed_from_u64(9);
        let (mut decided, mut close) = (0, 0);
        for _ in 0..5_000 {
            let mut random_box = |spread: f32| Obb {
                center: Vec3::new(rng.random_range(-spread..spread), rng.random_range(-spread..spread), 0.0),
                half_extents: Vec3::new(
                    rng.random_range(0.01..0.5),
                    rng.random_range(0.01..0.5),
                    rng.random_range(0.01..0.5),
                ),
                rotation: euler_degrees([rng.random_range(0.0..360.0), rng.random_range(0.0..360.0), 0.0]),
            };
            let (a, b) = (random_box(0.1), random_box(1.2));
            let (bound, distance) = (separation_bound(&a, &b), f64::from(parry_distance(&a, &b)));
            assert!(bound <= distance + 1e-5, "bound {bound} over the distance {distance}: {a:?} {b:?}");
            for gap in [0.005, 0.02, 0.1] {
                // As parry alone decided it (after the spheres).
                let expected = sphere_gap(&a, &b).unwrap_or(distance as f32) >= gap;
                assert_eq!(obbs_apart(&a, &b, gap), expected, "gap {gap}: {a:?} {b:?}");
                let spheres_overlap = sphere_gap(&a, &b).is_none();
                decided += usize::from(spheres_overlap && f64::from(gap) + BOUND_MARGIN <= bound);
                close += usize::from(spheres_overlap && distance >= f64::from(gap) && bound < f64::from(gap));
            }
        }
        // The bound decides most pairs; corner cases are left to parry.
        assert!(decided > 2_000 && close > 0, "{decided} decided by the bound, {close} left to parry");
    }

    #[test]
    fn touching_boxes_are_at_distance_zero() {
        let a = Obb { center: Vec3::ZERO, half_extents: Vec3::splat(0.5), rotation: Quat::IDENTITY };
        let b = Obb { center: Vec3::new(1.0, 0.0, 0.0), ..a };
        assert!(parry_distance(&a, &b).abs() < 1e-6);
        let c = Obb { center: Vec3::new(1.5, 0.0, 0.0), ..a };
        assert!((parry_distance(&a, &c) - 0.5).abs() < 1e-5);
    }
}

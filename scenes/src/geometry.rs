//! Geometry shared by every stage: primitive shapes, rotations built with portable maths
//! (`libm`, so results are bit-identical on every platform), oriented boxes and 2-D rectangles.

use glam::{Quat, Vec2, Vec3};
use serde::{Deserialize, Serialize};

/// A primitive that fills its part's bounding box (`size`, in the part's own axes).
/// Round shapes have their axis along the part's local Y.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// A cuboid of the full size.
    Box,
    /// A circular cylinder: radius `size.x / 2` (= `size.z / 2`), height `size.y`.
    Cylinder,
    /// A cone with its apex up: base radius `size.x / 2`, height `size.y`.
    Cone,
    /// A sphere of diameter `size.x` (= `size.y` = `size.z`).
    Sphere,
    /// A capsule: radius `size.x / 2`, total height `size.y`.
    Capsule,
    /// A torus lying in the XZ plane: outer diameter `size.x`, tube diameter `size.y`.
    Torus,
    /// A material group of a mesh model ([`crate::mesh`]), stretched from the unit box to
    /// `size`; the part's [`mesh`](crate::scene::Part::mesh) holds its triangles.
    Mesh,
}

impl Shape {
    /// Turns a requested bounding size into the size the shape really fills: round shapes get
    /// equal X and Z (the smaller of the two); a sphere gets the smallest of all three.
    pub fn fit(self, size: Vec3) -> Vec3 {
        match self {
            Shape::Box | Shape::Mesh => size,
            Shape::Sphere => Vec3::splat(size.min_element()),
            Shape::Capsule => {
                let d = size.x.min(size.z);
                Vec3::new(d, size.y.max(d), d)
            }
            Shape::Cylinder | Shape::Cone | Shape::Torus => {
                let d = size.x.min(size.z);
                Vec3::new(d, size.y, d)
            }
        }
    }
}

/// A rotation about +Y by `yaw` radians, computed with `libm` for portability.
/// It turns local +Z (an object's front) into world `(sin yaw, 0, cos yaw)`.
pub fn yaw_rotation(yaw: f32) -> Quat {
    let half = 0.5 * yaw;
    Quat::from_xyzw(0.0, libm::sinf(half), 0.0, libm::cosf(half))
}

/// A rotation from Euler angles in degrees, applied about X, then Y, then Z (fixed axes).
pub fn euler_degrees(angles: [f32; 3]) -> Quat {
    let axis = |i: usize, unit: Vec3| {
        let half = 0.5 * angles[i].to_radians();
        let s = libm::sinf(half);
        Quat::from_xyzw(unit.x * s, unit.y * s, unit.z * s, libm::cosf(half))
    };
    axis(2, Vec3::Z) * axis(1, Vec3::Y) * axis(0, Vec3::X)
}

/// The world heading (radians about +Y) of a rotation's local +Z axis.
pub fn heading(rotation: Quat) -> f32 {
    let front = rotation * Vec3::Z;
    libm::atan2f(front.x, front.z)
}

/// An axis-aligned box.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Aabb {
    /// Lowest corner.
    pub min: Vec3,
    /// Highest corner.
    pub max: Vec3,
}

impl Aabb {
    /// The smallest box containing `points`.
    pub fn from_points(points: impl IntoIterator<Item = Vec3>) -> Aabb {
        let mut min = Vec3::splat(f32::INFINITY);
        let mut max = Vec3::splat(f32::NEG_INFINITY);
        for p in points {
            min = min.min(p);
            max = max.max(p);
        }
        Aabb { min, max }
    }

    /// The smallest box containing both.
    pub fn union(self, other: Aabb) -> Aabb {
        Aabb { min: self.min.min(other.min), max: self.max.max(other.max) }
    }

    /// Size along each axis.
    pub fn size(&self) -> Vec3 {
        self.max - self.min
    }

    /// Centre point.
    pub fn center(&self) -> Vec3 {
        0.5 * (self.min + self.max)
    }

    /// The eight corners.
    pub fn corners(&self) -> [Vec3; 8] {
        let (min, max) = (self.min, self.max);
        std::array::from_fn(|i| {
            Vec3::new(
                if i & 1 == 0 { min.x } else { max.x },
                if i & 2 == 0 { min.y } else { max.y },
                if i & 4 == 0 { min.z } else { max.z },
            )
        })
    }
}

/// An oriented box: centre, half extents along its own axes, and its rotation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Obb {
    /// Centre in world space.
    pub center: Vec3,
    /// Half of the size along each local axis.
    pub half_extents: Vec3,
    /// World-from-box rotation.
    pub rotation: Quat,
}

impl Obb {
    /// The eight corners in world space.
    pub fn corners(&self) -> [Vec3; 8] {
        let h = self.half_extents;
        std::array::from_fn(|i| {
            let sign = Vec3::new(
                if i & 1 == 0 { -1.0 } else { 1.0 },
                if i & 2 == 0 { -1.0 } else { 1.0 },
                if i & 4 == 0 { -1.0 } else { 1.0 },
            );
            self.center + self.rotation * (sign * h)
        })
    }

    /// The axis-aligned box around it.
    pub fn aabb(&self) -> Aabb {
        Aabb::from_points(self.corners())
    }

    /// Its footprint on the floor (XZ plane) as a rectangle, valid when it is only yawed.
    pub fn footprint(&self) -> Rect2 {
        let front = self.rotation * Vec3::Z;
        Rect2 {
            center: Vec2::new(self.center.x, self.center.z),
            half_extents: Vec2::new(self.half_extents.x, self.half_extents.z),
            axis_z: Vec2::new(front.x, front.z).normalize_or_zero(),
        }
    }
}

/// A rotated rectangle on the floor plane (world X, Z).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect2 {
    /// Centre (x, z).
    pub center: Vec2,
    /// Half size along the rectangle's own x and z axes.
    pub half_extents: Vec2,
    /// Unit direction of the rectangle's own z axis in the floor plane.
    pub axis_z: Vec2,
}

impl Rect2 {
    /// Unit direction of the rectangle's own x axis: the z axis turned by -90 degrees,
    /// matching a yaw rotation (local +X = world (cos yaw, -sin yaw)).
    pub fn axis_x(&self) -> Vec2 {
        Vec2::new(self.axis_z.y, -self.axis_z.x)
    }

    /// Distance from `point` to the rectangle (0 inside).
    pub fn distance_to(&self, point: Vec2) -> f32 {
        let d = point - self.center;
        let local = Vec2::new(d.dot(self.axis_x()), d.dot(self.axis_z));
        let outside = (local.abs() - self.half_extents).max(Vec2::ZERO);
        outside.length()
    }

    /// The four corners.
    pub fn corners(&self) -> [Vec2; 4] {
        let ax = self.axis_x() * self.half_extents.x;
        let az = self.axis_z * self.half_extents.y;
        [self.center - ax - az, self.center + ax - az, self.center + ax + az, self.center - ax + az]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaw_turns_front_as_documented() {
        let q = yaw_rotation(std::f32::consts::FRAC_PI_2);
        let front = q * Vec3::Z;
        assert!((front - Vec3::X).length() < 1e-6);
        assert!((heading(q) - std::f32::consts::FRAC_PI_2).abs() < 1e-6);
        let right = q * Vec3::X;
        assert!((right - Vec3::NEG_Z).length() < 1e-6);
    }

    #[test]
    fn euler_matches_glam() {
        let ours = euler_degrees([10.0, 20.0, 30.0]);
        let glams = Quat::from_euler(glam::EulerRot::ZYX, 30f32.to_radians(), 20f32.to_radians(), 10f32.to_radians());
        let v = Vec3::new(0.3, -1.2, 0.7);
        assert!((ours * v - glams * v).length() < 1e-5);
    }

    #[test]
    fn footprint_axes_follow_yaw() {
        let obb = Obb { center: Vec3::ZERO, half_extents: Vec3::new(1.0, 0.5, 0.25), rotation: yaw_rotation(0.3) };
        let rect = obb.footprint();
        let right = obb.rotation * Vec3::X;
        assert!((rect.axis_x() - Vec2::new(right.x, right.z)).length() < 1e-6);
        assert!(rect.distance_to(Vec2::ZERO) == 0.0);
        let far = Vec2::new(right.x, right.z) * 3.0;
        assert!((rect.distance_to(far) - 2.0).abs() < 1e-5);
    }
}

//! Camera models of the renderer, as plain maths the rest of the generator (and tests) can
//! use without Bevy: a pinhole camera given by horizontal FOV and image size, and an
//! orthographic top-down camera over a floor rectangle. Convention (docs/architecture.md):
//! +Y up, metres; a camera looks along its local -Z with +Y up in the image; pixel (0, 0) is
//! the top-left corner, u grows to the right and v downwards. Poses and intrinsics are stored
//! with every image, so they are computed with portable maths (`libm`): byte-identical
//! metadata on every machine.

use glam::{Mat4, Quat, Vec2, Vec3};
use ipt_scenes::geometry::euler_degrees;
use serde::{Deserialize, Serialize};

/// Where a camera is and which way it looks.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CameraPose {
    /// Eye position.
    pub position: Vec3,
    /// World-from-camera rotation.
    pub rotation: Quat,
}

impl CameraPose {
    /// A camera at `position` turned by `yaw` degrees about +Y (0 looks along -Z, 90 along -X)
    /// and then tilted by `pitch` degrees (positive looks up).
    pub fn from_yaw_pitch(position: Vec3, yaw_degrees: f32, pitch_degrees: f32) -> CameraPose {
        CameraPose { position, rotation: euler_degrees([pitch_degrees, yaw_degrees, 0.0]) }
    }

    /// The 4x4 world-from-camera matrix.
    pub fn world_from_camera(&self) -> Mat4 {
        Mat4::from_rotation_translation(self.rotation, self.position)
    }

    /// Unit viewing direction (the camera's -Z in world space).
    pub fn forward(&self) -> Vec3 {
        self.rotation * Vec3::NEG_Z
    }
}

/// How a camera maps the world to pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Lens {
    /// A pinhole camera with square pixels.
    Pinhole {
        /// Horizontal field of view, degrees.
        hfov_degrees: f32,
    },
    /// An orthographic camera; `pixels_per_metre` in both directions.
    Orthographic {
        /// Scale of the image.
        pixels_per_metre: f32,
    },
}

/// A camera: pose, lens and image size. Every rendered image carries the camera it was
/// rendered with.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CameraModel {
    /// Pose.
    pub pose: CameraPose,
    /// Lens.
    pub lens: Lens,
    /// Image width, pixels.
    pub width: u32,
    /// Image height, pixels.
    pub height: u32,
}

/// Pinhole intrinsics in pixels: focal lengths and principal point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Intrinsics {
    /// Focal length along u, pixels.
    pub fx: f32,
    /// Focal length along v, pixels.
    pub fy: f32,
    /// Principal point u.
    pub cx: f32,
    /// Principal point v.
    pub cy: f32,
}

/// How far above the highest ceiling a top-down camera is placed.
const TOP_DOWN_CLEARANCE: f32 = 5.0;

impl CameraModel {
    /// A pinhole camera.
    pub fn pinhole(pose: CameraPose, hfov_degrees: f32, width: u32, height: u32) -> CameraModel {
        CameraModel { pose, lens: Lens::Pinhole { hfov_degrees }, width, height }
    }

    /// An orthographic camera looking straight down on the floor rectangle `min..max`
    /// (world x, z), `width` pixels wide; image up is world -Z, image right is world +X.
    pub fn top_down(min: Vec2, max: Vec2, ceiling: f32, width: u32) -> CameraModel {
        let size = max - min;
        let pixels_per_metre = width as f32 / size.x;
        let height = ((size.y * pixels_per_metre).round() as u32).max(1);
        let center = 0.5 * (min + max);
        // Turned -90 degrees about X: the camera's -Z points down, its +Y (image up) along -Z.
        let rotation = euler_degrees([-90.0, 0.0, 0.0]);
        let pose = CameraPose { position: Vec3::new(center.x, ceiling + TOP_DOWN_CLEARANCE, center.y), rotation };
        CameraModel { pose, lens: Lens::Orthographic { pixels_per_metre }, width, height }
    }

    /// Pinhole intrinsics (for an orthographic camera: the pixel scale as `fx`, `fy`).
    pub fn intrinsics(&self) -> Intrinsics {
        let (cx, cy) = (0.5 * self.width as f32, 0.5 * self.height as f32);
        let f = match self.lens {
            Lens::Pinhole { hfov_degrees } => cx / libm::tanf(0.5 * hfov_degrees.to_radians()),
            Lens::Orthographic { pixels_per_metre } => pixels_per_metre,
        };
        Intrinsics { fx: f, fy: f, cx, cy }
    }

    /// Vertical field of view in radians (pinhole only).
    pub fn vfov_radians(&self) -> Option<f32> {
        match self.lens {
            Lens::Pinhole { hfov_degrees } => {
                let half = libm::tanf(0.5 * hfov_degrees.to_radians()) * self.height as f32 / self.width as f32;
                Some(2.0 * libm::atanf(half))
            }
            Lens::Orthographic { .. } => None,
        }
    }

    /// Projects a world point to pixel coordinates (u right, v down) and its depth along the
    /// viewing axis; `None` behind the camera.
    pub fn project(&self, world: Vec3) -> Option<(Vec2, f32)> {
        let local = self.pose.rotation.inverse() * (world - self.pose.position);
        let depth = -local.z;
        let k = self.intrinsics();
        match self.lens {
            Lens::Pinhole { .. } => {
                (depth > 1e-6).then(|| (Vec2::new(k.cx + k.fx * local.x / depth, k.cy - k.fy * local.y / depth), depth))
            }
            Lens::Orthographic { .. } => Some((Vec2::new(k.cx + k.fx * local.x, k.cy - k.fy * local.y), depth)),
        }
    }

    /// The world ray through the centre of pixel (u, v): origin and unit direction.
    pub fn ray(&self, pixel: Vec2) -> (Vec3, Vec3) {
        self.ray_with(&self.intrinsics(), pixel)
    }

    /// [`Self::ray`] with the camera's intrinsics worked out once by the caller (a grid of
    /// rays spends most of its time on them otherwise).
    pub fn ray_with(&self, k: &Intrinsics, pixel: Vec2) -> (Vec3, Vec3) {
        let (x, y) = ((pixel.x - k.cx) / k.fx, (k.cy - pixel.y) / k.fy);
        match self.lens {
            Lens::Pinhole { .. } => {
                let direction = self.pose.rotation * Vec3::new(x, y, -1.0).normalize();
                (self.pose.position, direction)
            }
            Lens::Orthographic { .. } => {
                let origin = self.pose.position + self.pose.rotation * Vec3::new(x, y, 0.0);
                (origin, self.pose.forward())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaw_zero_looks_along_negative_z_and_ninety_along_negative_x() {
        let a = CameraPose::from_yaw_pitch(Vec3::ZERO, 0.0, 0.0);
        assert!((a.forward() - Vec3::NEG_Z).length() < 1e-6);
        let b = CameraPose::from_yaw_pitch(Vec3::ZERO, 90.0, 0.0);
        assert!((b.forward() - Vec3::NEG_X).length() < 1e-6);
        let c = CameraPose::from_yaw_pitch(Vec3::ZERO, 0.0, 30.0);
        assert!(c.forward().y > 0.49);
    }

    #[test]
    fn project_and_ray_agree() {
        let camera =
            CameraModel::pinhole(CameraPose::from_yaw_pitch(Vec3::new(1.0, 1.5, 2.0), 30.0, -10.0), 90.0, 512, 384);
        let point = Vec3::new(-0.4, 0.8, -1.5);
        let (pixel, depth) = camera.project(point).unwrap();
        let (origin, direction) = camera.ray(pixel);
        let along = (point - origin).dot(direction);
        assert!((origin + direction * along - point).length() < 1e-4);
        assert!((depth - along * direction.dot(camera.pose.forward())).abs() < 1e-4);
        // The image corners span the horizontal field of view.
        let left = camera.ray(Vec2::new(0.0, 192.0)).1;
        let right = camera.ray(Vec2::new(512.0, 192.0)).1;
        assert!((left.angle_between(right).to_degrees() - 90.0).abs() < 1e-3);
    }

    #[test]
    fn top_down_maps_x_right_and_z_down() {
        let camera = CameraModel::top_down(Vec2::new(0.0, 0.0), Vec2::new(4.0, 2.0), 2.5, 400);
        assert_eq!(camera.height, 200);
        let (a, _) = camera.project(Vec3::new(0.0, 0.0, 0.0)).unwrap();
        let (b, _) = camera.project(Vec3::new(4.0, 1.0, 2.0)).unwrap();
        assert!((a - Vec2::ZERO).length() < 1e-3, "{a}");
        assert!((b - Vec2::new(400.0, 200.0)).length() < 1e-3, "{b}");
    }
}

//! Floor markers as 3-D geometry: thin boxes lying just above the floor, so they are
//! foreshortened and occluded like paint on the floor.

use bevy::math::{Quat, Vec3};

use super::Marker;

/// Height of a marker's top above the floor; thin enough to read as paint.
const THICKNESS: f32 = 0.004;
/// Red of the "X".
pub const CROSS_COLOR: [u8; 3] = [220, 20, 20];
/// Blue of the arrow.
pub const ARROW_COLOR: [u8; 3] = [20, 60, 230];

/// One box of a marker: centre, rotation about +Y, size, colour.
pub struct MarkerBox {
    /// Centre.
    pub center: Vec3,
    /// Rotation.
    pub rotation: Quat,
    /// Size.
    pub size: Vec3,
    /// sRGB colour.
    pub color: [u8; 3],
}

/// The boxes that draw `marker`.
pub fn marker_boxes(marker: &Marker) -> Vec<MarkerBox> {
    let bar = |center: Vec3, yaw: f32, length: f32, width: f32, color| MarkerBox {
        center,
        rotation: Quat::from_rotation_y(yaw),
        size: Vec3::new(width, THICKNESS, length),
        color,
    };
    match *marker {
        Marker::Cross { at, size } => {
            let center = Vec3::new(at.x, 0.5 * THICKNESS, at.y);
            let width = 0.18 * size;
            vec![
                bar(center, std::f32::consts::FRAC_PI_4, size, width, CROSS_COLOR),
                bar(center, -std::f32::consts::FRAC_PI_4, size, width, CROSS_COLOR),
            ]
        }
        Marker::Arrow { at, heading_degrees, length } => {
            // Heading 0 points along -Z, like a camera yaw.
            let yaw = heading_degrees.to_radians();
            let direction = Quat::from_rotation_y(yaw) * Vec3::NEG_Z;
            let base = Vec3::new(at.x, 0.5 * THICKNESS + 0.001, at.y);
            let width = 0.12 * length;
            let shaft = 0.7 * length;
            let head = 0.35 * length;
            let tip = base + direction * length;
            let mut boxes = vec![bar(base + direction * (0.5 * shaft), yaw, shaft, width, ARROW_COLOR)];
            for side in [1.0f32, -1.0] {
                // Two barbs from the tip, turned 35 degrees back from the shaft.
                let barb_yaw = yaw + side * 35f32.to_radians();
                let barb_direction = Quat::from_rotation_y(barb_yaw) * Vec3::NEG_Z;
                boxes.push(bar(tip - barb_direction * (0.5 * head), barb_yaw, head, width, ARROW_COLOR));
            }
            boxes
        }
    }
}

//! Drawings over rendered top-down maps: the Path Tracing path with its waypoint labels
//! ("1", "M1", "2") and optional side arrow, and the Multiview Counting camera marks. Labels
//! are drawn with a real font rasteriser (ab_glyph) and the embedded DejaVu Sans, sized to
//! the image so they stay readable at every resolution.

use ab_glyph::{FontRef, PxScale};
use glam::{Vec2, Vec3};
use image::{Rgb, RgbImage};
use imageproc::drawing::{draw_filled_circle_mut, draw_text_mut, text_size};

use super::Overlay;
use crate::plan::FONT_BYTES;
use crate::render::CameraModel;

const PATH_COLOR: Rgb<u8> = Rgb([255, 120, 0]);
const ARROW_COLOR: Rgb<u8> = Rgb([20, 60, 230]);
const CAMERA_COLOR: Rgb<u8> = Rgb([220, 20, 20]);
const LABEL_FILL: Rgb<u8> = Rgb([255, 255, 255]);
const LABEL_INK: Rgb<u8> = Rgb([0, 0, 0]);

/// Draws `overlay` on `image`, rendered by the top-down `camera`.
pub fn draw_overlay(image: &mut RgbImage, camera: &CameraModel, overlay: &Overlay) {
    let font = FontRef::try_from_slice(FONT_BYTES).expect("the embedded font is valid");
    let unit = (image.width().max(image.height()) as f32 / 512.0).max(0.5);
    let px = |p: Vec2| camera.project(Vec3::new(p.x, 0.0, p.y)).map_or(Vec2::ZERO, |(pixel, _)| pixel);
    match overlay {
        Overlay::Path { points, midpoint, arrow } => {
            for pair in points.windows(2) {
                thick_line(image, px(pair[0]), px(pair[1]), 3.0 * unit, PATH_COLOR);
            }
            if let Some(direction) = arrow {
                let tail = px(*midpoint);
                let tip = px(*midpoint + *direction * 0.9);
                arrow_shape(image, tail, tip, 3.0 * unit, ARROW_COLOR);
            }
            let (first, last) = (points[0], *points.last().expect("a path has points"));
            for (at, label) in [(first, "1"), (*midpoint, "M1"), (last, "2")] {
                label_disc(image, &font, px(at), label, unit);
            }
        }
        Overlay::Cameras { positions, directions } => {
            for (i, (position, direction)) in positions.iter().zip(directions).enumerate() {
                let at = px(*position);
                let tip = px(*position + *direction * 0.7);
                arrow_shape(image, at, tip, 2.5 * unit, CAMERA_COLOR);
                draw_filled_circle_mut(image, (at.x as i32, at.y as i32), (5.0 * unit) as i32, CAMERA_COLOR);
                // The number sits beyond the arrow's tip, so frames taken from one spot
                // (rotation) keep apart.
                let label = tip + (tip - at).normalize_or_zero() * (12.0 * unit);
                label_disc(image, &font, label, &(i + 1).to_string(), 0.8 * unit);
            }
        }
    }
}

/// A line `width` pixels thick (a run of discs).
fn thick_line(image: &mut RgbImage, a: Vec2, b: Vec2, width: f32, color: Rgb<u8>) {
    let steps = ((b - a).length() / (0.5 * width).max(1.0)).ceil().max(1.0) as usize;
    for i in 0..=steps {
        let p = a + (b - a) * (i as f32 / steps as f32);
        draw_filled_circle_mut(image, (p.x.round() as i32, p.y.round() as i32), (0.5 * width).round() as i32, color);
    }
}

/// An arrow from `tail` to `tip` with two barbs.
fn arrow_shape(image: &mut RgbImage, tail: Vec2, tip: Vec2, width: f32, color: Rgb<u8>) {
    thick_line(image, tail, tip, width, color);
    let back = (tail - tip).normalize_or_zero() * (4.0 * width);
    for angle in [0.5f32, -0.5] {
        let (s, c) = (libm::sinf(angle), libm::cosf(angle));
        let barb = Vec2::new(back.x * c - back.y * s, back.x * s + back.y * c);
        thick_line(image, tip, tip + barb, width, color);
    }
}

/// A white disc with a black outline and a centred label.
fn label_disc(image: &mut RgbImage, font: &FontRef<'_>, at: Vec2, label: &str, unit: f32) {
    let scale = PxScale::from(16.0 * unit);
    let (w, h) = text_size(scale, font, label);
    let radius = 0.5 * (w.max(h) as f32) + 5.0 * unit;
    let center = (at.x.round() as i32, at.y.round() as i32);
    draw_filled_circle_mut(image, center, radius.round() as i32 + 1, LABEL_INK);
    draw_filled_circle_mut(image, center, radius.round() as i32 - 1, LABEL_FILL);
    let (x, y) = (at.x - 0.5 * w as f32, at.y - 0.62 * h as f32);
    draw_text_mut(image, LABEL_INK, x.round() as i32, y.round() as i32, scale, font, label);
}

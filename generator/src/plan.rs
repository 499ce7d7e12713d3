//! A labelled top-down plan of a scene (CPU drawing), so a person can check a template at a
//! glance: rooms, walls, doorways, the walkable grid, every object's footprint with its
//! front marked, and names.

use ab_glyph::{FontRef, PxScale};
use glam::Vec2;
use image::{Rgb, RgbImage};
use imageproc::drawing::{
    draw_filled_rect_mut, draw_hollow_polygon_mut, draw_line_segment_mut, draw_polygon_mut, draw_text_mut, text_size,
};
use imageproc::point::Point;
use imageproc::rect::Rect;
use ipt_scenes::Scene;
use ipt_scenes::nav::CellState;

/// The font every label is drawn with (DejaVu Sans, embedded; licence beside the file).
pub const FONT_BYTES: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");

const MARGIN: f32 = 40.0;
const HEADER: f32 = 36.0;

/// Maps world (x, z) to image pixels: x to the right, z downwards (seen from above).
struct Frame {
    origin: Vec2,
    scale: f32,
}

impl Frame {
    fn px(&self, p: Vec2) -> (f32, f32) {
        ((p.x - self.origin.x) * self.scale + MARGIN, (p.y - self.origin.y) * self.scale + MARGIN + HEADER)
    }

    fn point(&self, p: Vec2) -> Point<i32> {
        let (x, y) = self.px(p);
        Point::new(x.round() as i32, y.round() as i32)
    }
}

/// Draws the plan of `scene` at `pixels_per_metre`.
pub fn draw_plan(scene: &Scene, pixels_per_metre: f32) -> RgbImage {
    let font = FontRef::try_from_slice(FONT_BYTES).expect("the embedded font is valid");
    let (min, max) = scene.floor_bounds(0.2);
    let frame = Frame { origin: min, scale: pixels_per_metre };
    let title = format!(
        "{}  seed {}  |  {} objects  |  walkable {:.0} %  |  green: walkable, grey: occupied, red line: front",
        scene.template,
        scene.seed,
        scene.objects.len(),
        100.0 * scene.report.reachable_fraction
    );
    let title_scale = PxScale::from(18.0);
    let title_width = text_size(title_scale, &font, &title).0 as f32 + 2.0 * MARGIN;
    let size = (max - min) * pixels_per_metre + Vec2::new(2.0 * MARGIN, 2.0 * MARGIN + HEADER);
    let mut image = RgbImage::from_pixel(size.x.max(title_width) as u32, size.y as u32, Rgb([255, 255, 255]));

    // Walkable grid underneath everything.
    let nav = &scene.nav;
    for row in 0..nav.rows {
        for col in 0..nav.cols {
            let color = match nav.state((col, row)) {
                CellState::Walkable => Rgb([222, 243, 222]),
                CellState::Isolated => Rgb([250, 240, 200]),
                CellState::Occupied => Rgb([236, 236, 236]),
                CellState::Outside => continue,
            };
            let c = nav.center((col, row));
            let half = Vec2::splat(0.5 * nav.cell_size);
            fill_rect(&mut image, &frame, c - half, c + half, color);
        }
    }
    for room in &scene.rooms {
        draw_hollow_polygon_mut(&mut image, &outline(&frame, room.min, room.max), Rgb([150, 150, 150]));
    }
    for wall in &scene.walls {
        let (c, h) = (Vec2::new(wall.center.x, wall.center.z), Vec2::new(0.5 * wall.size.x, 0.5 * wall.size.z));
        let bottom = wall.center.y - 0.5 * wall.size.y;
        let color = if bottom > 0.5 { Rgb([190, 190, 190]) } else { Rgb([60, 60, 60]) };
        fill_rect(&mut image, &frame, c - h, c + h, color);
    }
    for door in &scene.doorways {
        fill_rect(&mut image, &frame, door.min, door.max, Rgb([205, 170, 120]));
    }
    // Floor objects first, then what rests on them.
    let mut order: Vec<&ipt_scenes::scene::SceneObject> = scene.objects.iter().collect();
    order.sort_by_key(|o| o.support.is_some());
    for object in &order {
        let rect = object.footprint();
        let corners: Vec<Point<i32>> = rect.corners().iter().map(|&c| frame.point(c)).collect();
        let fill = category_color(&object.category, object.support.is_some());
        draw_polygon_mut(&mut image, &dedup(corners), fill);
        let outline_points: Vec<Point<f32>> =
            rect.corners().iter().map(|&c| frame.px(c)).map(|(x, y)| Point::new(x, y)).collect();
        draw_hollow_polygon_mut(&mut image, &outline_points, Rgb([40, 40, 40]));
        // Front marker: a line from the centre to the middle of the front edge.
        let front = rect.center + rect.axis_z * rect.half_extents.y;
        draw_line_segment_mut(&mut image, frame.px(rect.center), frame.px(front), Rgb([200, 30, 30]));
    }
    for object in &order {
        let small = object.support.is_some();
        let scale = PxScale::from(if small { 11.0 } else { 14.0 });
        let (x, y) = frame.px(object.footprint().center);
        let label = &object.display;
        let (w, h) = text_size(scale, &font, label);
        let color = if small { Rgb([0, 70, 160]) } else { Rgb([0, 0, 0]) };
        draw_text_mut(&mut image, color, (x - w as f32 / 2.0) as i32, (y - h as f32 / 2.0) as i32, scale, &font, label);
    }
    for room in &scene.rooms {
        let (x, y) = frame.px(Vec2::new(room.min.x, room.min.y));
        let label = format!("{} ({:.2} x {:.2} m)", room.name, room.max.x - room.min.x, room.max.y - room.min.y);
        draw_text_mut(&mut image, Rgb([120, 0, 120]), x as i32 + 4, y as i32 + 4, PxScale::from(15.0), &font, &label);
    }
    draw_text_mut(&mut image, Rgb([0, 0, 0]), MARGIN as i32, 10, title_scale, &font, &title);
    image
}

fn fill_rect(image: &mut RgbImage, frame: &Frame, min: Vec2, max: Vec2, color: Rgb<u8>) {
    let (x0, y0) = frame.px(min);
    let (x1, y1) = frame.px(max);
    let (w, h) = ((x1 - x0).round().max(1.0) as u32, (y1 - y0).round().max(1.0) as u32);
    draw_filled_rect_mut(image, Rect::at(x0.round() as i32, y0.round() as i32).of_size(w, h), color);
}

fn outline(frame: &Frame, min: Vec2, max: Vec2) -> Vec<Point<f32>> {
    [min, Vec2::new(max.x, min.y), max, Vec2::new(min.x, max.y)]
        .iter()
        .map(|&p| frame.px(p))
        .map(|(x, y)| Point::new(x, y))
        .collect()
}

/// imageproc rejects polygons whose first and last points coincide; tiny objects can round so.
fn dedup(mut points: Vec<Point<i32>>) -> Vec<Point<i32>> {
    points.dedup();
    while points.len() > 1 && points.first() == points.last() {
        points.pop();
    }
    if points.len() < 3 {
        let p = points[0];
        points = vec![p, Point::new(p.x + 1, p.y), Point::new(p.x, p.y + 1)];
    }
    points
}

/// A stable pastel colour per category (darker for small objects).
fn category_color(category: &str, small: bool) -> Rgb<u8> {
    let hash = category.bytes().fold(2166136261u32, |h, b| (h ^ u32::from(b)).wrapping_mul(16777619));
    let channel = |shift: u32| {
        let base = 150 + ((hash >> shift) & 0x5f) as u8;
        if small { base - 60 } else { base }
    };
    Rgb([channel(0), channel(8), channel(16)])
}

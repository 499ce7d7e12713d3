//! Stage 1: the floor plan. Samples room sizes, arranges an apartment's rooms side by side so
//! that every doorway pair shares a wall, cuts doorways and builds the wall boxes.

use glam::{Vec2, Vec3};
use rand::seq::IndexedRandom;

use crate::materials::Material;
use crate::rng::{SceneRng, quantize, uniform};
use crate::scene::{Doorway, Room, Wall};
use crate::template::Template;

/// Total wall thickness between two rooms (each room owns half).
pub const WALL_THICKNESS: f32 = 0.2;
/// Free wall kept on each side of a doorway.
const DOOR_MARGIN: f32 = 0.3;
/// Doorway width range.
const DOOR_WIDTH: (f32, f32) = (0.9, 1.0);
/// Doorway height.
const DOOR_HEIGHT: f32 = 2.1;
/// Room arrangements tried before giving up on this attempt.
const ARRANGE_TRIES: usize = 30;

/// The output of this stage.
#[derive(Debug, Clone)]
pub struct FloorPlan {
    /// Ceiling height.
    pub height: f32,
    /// Rooms with materials chosen.
    pub rooms: Vec<Room>,
    /// Wall boxes with doorways cut out.
    pub walls: Vec<Wall>,
    /// Doorways.
    pub doorways: Vec<Doorway>,
}

/// Lays out the rooms of `template`. Fails (with a reason) when the rooms cannot be
/// arranged so that every doorway pair shares enough wall.
pub fn lay_out(template: &Template, rng: &mut SceneRng) -> Result<FloorPlan, String> {
    let height = quantize(uniform(rng, template.height.min, template.height.max), 0.05);
    let sizes: Vec<Vec2> = template
        .rooms
        .iter()
        .map(|slot| {
            let room = &slot.room;
            Vec2::new(
                quantize(uniform(rng, room.width.min, room.width.max), 0.05),
                quantize(uniform(rng, room.depth.min, room.depth.max), 0.05),
            )
        })
        .collect();
    let (rects, doorways) = (0..ARRANGE_TRIES)
        .find_map(|_| arrange(&sizes, &template.doors, rng))
        .ok_or_else(|| "rooms could not be arranged so that every doorway pair shares a wall".to_string())?;
    let rooms: Vec<Room> = template
        .rooms
        .iter()
        .zip(&rects)
        .enumerate()
        .map(|(id, (slot, &(min, max)))| Room {
            id: id as u32,
            name: slot.name.clone(),
            template: slot.room.name.clone(),
            min,
            max,
            floor: pick(&slot.room.floor, rng),
            walls: pick(&slot.room.walls, rng),
            ceiling: pick(&slot.room.ceiling, rng),
        })
        .collect();
    let walls = rooms.iter().flat_map(|room| room_walls(room, &doorways, height)).collect();
    Ok(FloorPlan { height, rooms, walls, doorways })
}

fn pick(palette: &[Material], rng: &mut SceneRng) -> Material {
    palette.choose(rng).expect("palettes are checked non-empty").clone()
}

type RectMinMax = (Vec2, Vec2);

/// Places rooms one by one next to a room they share a door with; returns the rectangles and
/// the doorways, or `None` when this random arrangement does not work.
fn arrange(sizes: &[Vec2], doors: &[(usize, usize)], rng: &mut SceneRng) -> Option<(Vec<RectMinMax>, Vec<Doorway>)> {
    let mut rects: Vec<Option<RectMinMax>> = vec![None; sizes.len()];
    rects[0] = Some((Vec2::ZERO, sizes[0]));
    let need = DOOR_WIDTH.1 + 2.0 * DOOR_MARGIN;
    while rects.iter().any(Option::is_none) {
        let candidates: Vec<(usize, usize)> = doors
            .iter()
            .flat_map(|&(a, b)| [(a, b), (b, a)])
            .filter(|&(placed, new)| rects[placed].is_some() && rects[new].is_none())
            .collect();
        let &(anchor, new) = candidates.choose(rng)?;
        let (amin, amax) = rects[anchor]?;
        let size = sizes[new];
        let mut sides = [0usize, 1, 2, 3];
        rand::seq::SliceRandom::shuffle(&mut sides[..], rng);
        let placed = sides.iter().find_map(|&side| {
            // Along the shared wall, the new room may slide as long as `need` metres overlap.
            let (axis, along) = if side < 2 { (0, 1) } else { (1, 0) };
            let mut min = Vec2::ZERO;
            min[axis] =
                if side % 2 == 0 { amax[axis] + WALL_THICKNESS } else { amin[axis] - WALL_THICKNESS - size[axis] };
            let low = amin[along] - size[along] + need;
            let high = amax[along] - need;
            if low > high {
                return None;
            }
            min[along] = quantize(uniform(rng, low, high), 0.05).clamp(low, high);
            let rect = (min, min + size);
            let clear = rects.iter().flatten().all(|&other| !overlaps(rect, other, WALL_THICKNESS - 1e-3));
            clear.then_some(rect)
        })?;
        rects[new] = Some(placed);
    }
    let rects: Vec<RectMinMax> = rects.into_iter().map(|r| r.expect("all placed")).collect();
    let doorways =
        doors.iter().map(|&(a, b)| doorway(rects[a], rects[b], a as u32, b as u32, rng)).collect::<Option<Vec<_>>>()?;
    Some((rects, doorways))
}

/// Whether two rectangles come closer than `gap`.
fn overlaps(a: RectMinMax, b: RectMinMax, gap: f32) -> bool {
    a.0.x < b.1.x + gap && b.0.x < a.1.x + gap && a.0.y < b.1.y + gap && b.0.y < a.1.y + gap
}

/// The doorway between two rooms that are one wall apart, or `None` if they are not.
fn doorway(a: RectMinMax, b: RectMinMax, ia: u32, ib: u32, rng: &mut SceneRng) -> Option<Doorway> {
    let width = quantize(uniform(rng, DOOR_WIDTH.0, DOOR_WIDTH.1), 0.05);
    for axis in 0..2 {
        let along = 1 - axis;
        let (first, second) = if a.1[axis] <= b.0[axis] { (a, b) } else { (b, a) };
        if (second.0[axis] - first.1[axis] - WALL_THICKNESS).abs() > 1e-3 {
            continue;
        }
        let low = first.0[along].max(second.0[along]) + DOOR_MARGIN + 0.5 * width;
        let high = first.1[along].min(second.1[along]) - DOOR_MARGIN - 0.5 * width;
        if low > high {
            return None;
        }
        let center = uniform(rng, low, high);
        let mut min = Vec2::ZERO;
        let mut max = Vec2::ZERO;
        min[axis] = first.1[axis];
        max[axis] = second.0[axis];
        min[along] = center - 0.5 * width;
        max[along] = center + 0.5 * width;
        return Some(Doorway { rooms: [ia, ib], min, max, height: DOOR_HEIGHT });
    }
    None
}

/// The four half-thick wall bands of a room, with its doorways cut out (a lintel stays above).
fn room_walls(room: &Room, doorways: &[Doorway], height: f32) -> Vec<Wall> {
    let half = 0.5 * WALL_THICKNESS;
    let mut walls = Vec::new();
    for side in 0..4 {
        // Sides 0/1: low/high z (bands along x, extended over the corners); 2/3: low/high x.
        let (axis, along) = if side < 2 { (1, 0) } else { (0, 1) };
        let high_side = side % 2 == 1;
        let line = if high_side { room.max[axis] + 0.5 * half } else { room.min[axis] - 0.5 * half };
        let extend = if side < 2 { half } else { 0.0 };
        let (start, end) = (room.min[along] - extend, room.max[along] + extend);
        let mut openings: Vec<(f32, f32)> = doorways
            .iter()
            .filter(|d| d.rooms.contains(&room.id))
            .filter(|d| {
                let (lo, hi) = (d.min[axis], d.max[axis]);
                (hi - lo - WALL_THICKNESS).abs() < 1e-3
                    && if high_side { (lo - room.max[axis]).abs() < 1e-3 } else { (hi - room.min[axis]).abs() < 1e-3 }
            })
            .map(|d| (d.min[along], d.max[along]))
            .collect();
        openings.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut cursor = start;
        let mut push = |from: f32, to: f32, bottom: f32| {
            if to - from > 1e-4 {
                let mut center = Vec3::new(0.0, 0.5 * (bottom + height), 0.0);
                let mut size = Vec3::new(0.0, height - bottom, 0.0);
                let (c_axis, c_along) = (if axis == 0 { 0 } else { 2 }, if along == 0 { 0 } else { 2 });
                center[c_axis] = line;
                size[c_axis] = half;
                center[c_along] = 0.5 * (from + to);
                size[c_along] = to - from;
                walls.push(Wall { room: room.id, center, size, material: room.walls.clone() });
            }
        };
        for (lo, hi) in openings {
            push(cursor, lo, 0.0);
            push(lo, hi, DOOR_HEIGHT);
            cursor = hi;
        }
        push(cursor, end, 0.0);
    }
    walls
}

//! What a camera sees, from ray casts over a grid of pixels: per object, the fraction of the
//! image it covers and the horizontal extent of its pixels. This is the samplers' "visible":
//! an object hidden behind another gets no rays, however close it is. The renderer's id image
//! agrees with it within the tolerance stated in the render tests.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use glam::{Vec2, Vec3};
use ipt_scenes::geometry::Aabb;
use ipt_scenes::raycast::{RayHit, SceneRaycaster, Surface, pyramid_normals};
use ipt_scenes::scene::SceneObject;

use crate::render::{CameraModel, Intrinsics, Lens};

/// Grid columns used for labels (rows follow the image's aspect ratio): 64 x 64 = 4,096 rays
/// for a square image, so the smallest threshold of the spec (0.1 %) is 4 rays.
pub const LABEL_COLUMNS: u32 = 64;
/// Grid columns for a quick first look (candidate sweeps); labels are never decided on it.
pub const SWEEP_COLUMNS: u32 = 32;
/// Rays go this far at most, metres.
const MAX_DISTANCE: f32 = 100.0;

/// The rays of one object in a view.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ObjectHits {
    /// Rays that hit the object first.
    pub rays: u32,
    /// Leftmost pixel column of those rays.
    pub min_u: f32,
    /// Rightmost pixel column of those rays.
    pub max_u: f32,
}

/// What one camera sees.
#[derive(Debug, Clone, PartialEq)]
pub struct Coverage {
    /// Rays cast.
    pub rays: u32,
    /// Image width, pixels (for the extents).
    pub width: u32,
    /// Per object id, its rays.
    pub objects: BTreeMap<u32, ObjectHits>,
}

impl Coverage {
    /// The fraction of the image covered by object `id` (0 if unseen).
    pub fn fraction(&self, id: u32) -> f32 {
        self.objects.get(&id).map_or(0.0, |h| h.rays as f32 / self.rays as f32)
    }

    /// Whether object `id` covers at least `threshold` of the image.
    pub fn visible(&self, id: u32, threshold: f32) -> bool {
        self.fraction(id) >= threshold
    }

    /// Whether any ray hit object `id`.
    pub fn seen(&self, id: u32) -> bool {
        self.objects.contains_key(&id)
    }

    /// Whether the object's pixels lie on both sides of the image's vertical centre line.
    pub fn straddles_centre(&self, id: u32) -> bool {
        let centre = 0.5 * self.width as f32;
        self.objects.get(&id).is_some_and(|h| h.min_u < centre && h.max_u > centre)
    }
}

/// The coverage of `objects` only, on the `columns`-wide grid: the grid rays inside the image
/// rectangles their boxes project to, each cast once however many rectangles hold it. Each
/// object's entry equals the one [`coverage`] gives, for a fraction of the rays; other
/// objects are absent.
pub fn coverage_of(caster: &SceneRaycaster, camera: &CameraModel, columns: u32, objects: &[&SceneObject]) -> Coverage {
    let grid = RayGrid::new(camera, columns);
    let mut wanted = vec![false; (grid.rows * grid.columns) as usize];
    for object in objects {
        let (cols, rows) = grid.cells_around(&object.aabb);
        for row in rows {
            let line = (row * grid.columns) as usize;
            wanted[line + cols.start as usize..line + cols.end as usize].fill(true);
        }
    }
    let watched: BTreeSet<u32> = objects.iter().map(|o| o.id).collect();
    let mut found: BTreeMap<u32, ObjectHits> = BTreeMap::new();
    let cells = |col, row| wanted[(row * grid.columns + col) as usize];
    grid.cast(caster, cells, Some(&watched), |pixel, hit| {
        if let Some(hit) = hit {
            record(&mut found, hit.surface.object_id(), pixel.x);
        }
    });
    Coverage { rays: grid.rows * grid.columns, width: camera.width, objects: found }
}

/// Adds a ray at pixel column `u` to object `id`'s hits.
fn record(objects: &mut BTreeMap<u32, ObjectHits>, id: u32, u: f32) {
    let entry = objects.entry(id).or_insert(ObjectHits { rays: 0, min_u: u, max_u: u });
    entry.rays += 1;
    entry.min_u = entry.min_u.min(u);
    entry.max_u = entry.max_u.max(u);
}

/// The image rectangle (lowest, highest pixel) that `aabb` projects to; the whole image if a
/// corner is behind the camera (its projection says nothing).
fn projected_rect(camera: &CameraModel, aabb: &Aabb) -> (Vec2, Vec2) {
    let projected: Option<Vec<Vec2>> =
        aabb.corners().into_iter().map(|c| camera.project(c).map(|(pixel, _)| pixel)).collect();
    match projected {
        Some(points) => (
            points.iter().copied().fold(Vec2::splat(f32::INFINITY), Vec2::min),
            points.iter().copied().fold(Vec2::splat(f32::NEG_INFINITY), Vec2::max),
        ),
        None => (Vec2::ZERO, Vec2::new(camera.width as f32, camera.height as f32)),
    }
}

/// Whether `object` shows in a pixel beside the image's vertical centre line: rays through
/// the centres of the two pixel columns that meet at the line, at every pixel row of the
/// object's projected box (as the renderer samples them). The label grid's 64 columns can
/// miss a thin part (a chair leg) that crosses the line; this cannot.
pub fn touches_centre_line(caster: &SceneRaycaster, camera: &CameraModel, object: &SceneObject) -> bool {
    let centre = 0.5 * camera.width as f32;
    let (low, high) = projected_rect(camera, &object.aabb);
    if high.x < centre - 1.0 || low.x > centre + 1.0 {
        return false;
    }
    let intrinsics = camera.intrinsics();
    let first_row = low.y.floor().clamp(0.0, camera.height as f32) as u32;
    let end_row = high.y.ceil().clamp(0.0, camera.height as f32) as u32;
    (first_row..end_row).any(|row| {
        [centre - 0.5, centre + 0.5].into_iter().any(|u| {
            let (origin, direction) = camera.ray_with(&intrinsics, Vec2::new(u, row as f32 + 0.5));
            caster.cast(origin, direction, MAX_DISTANCE).is_some_and(|hit| hit.surface.object_id() == object.id)
        })
    })
}

/// Grid cells per side of a tile cast as one fan.
const TILE: u32 = 8;

/// A camera's grid of rays: one per cell centre, `columns` wide, rows following the image's
/// aspect ratio.
struct RayGrid<'a> {
    camera: &'a CameraModel,
    intrinsics: Intrinsics,
    columns: u32,
    rows: u32,
    step_u: f32,
    step_v: f32,
}

impl<'a> RayGrid<'a> {
    fn new(camera: &'a CameraModel, columns: u32) -> RayGrid<'a> {
        let rows = ((columns as f32 * camera.height as f32 / camera.width as f32).round() as u32).max(1);
        let (step_u, step_v) = (camera.width as f32 / columns as f32, camera.height as f32 / rows as f32);
        RayGrid { camera, intrinsics: camera.intrinsics(), columns, rows, step_u, step_v }
    }

    fn pixel(&self, col: u32, row: u32) -> Vec2 {
        Vec2::new((col as f32 + 0.5) * self.step_u, (row as f32 + 0.5) * self.step_v)
    }

    /// The grid cells whose centres lie in the image rectangle `aabb` projects to (the whole
    /// grid if a corner is behind the camera: its projection says nothing).
    fn cells_around(&self, aabb: &Aabb) -> (Range<u32>, Range<u32>) {
        let (low, high) = projected_rect(self.camera, aabb);
        let first_col = ((low.x / self.step_u - 0.5).ceil().clamp(0.0, self.columns as f32)) as u32;
        let last_col = ((high.x / self.step_u - 0.5).floor().min(self.columns as f32 - 1.0)).max(-1.0) as i64;
        let first_row = ((low.y / self.step_v - 0.5).ceil().clamp(0.0, self.rows as f32)) as u32;
        let last_row = ((high.y / self.step_v - 0.5).floor().min(self.rows as f32 - 1.0)).max(-1.0) as i64;
        let (end_col, end_row) = ((last_col + 1) as u32, (last_row + 1) as u32);
        (first_col..end_col.max(first_col), first_row..end_row.max(first_row))
    }

    /// Casts the ray of every cell (column, row) that `wanted` accepts and hands its pixel and
    /// first hit to `visit` (with `objects`, only a first hit on one of those objects): a
    /// pinhole camera's rays in fans (the wanted cells of each [`TILE`] x [`TILE`] tile of the
    /// grid share an origin), an orthographic camera's one by one.
    fn cast(
        &self,
        caster: &SceneRaycaster,
        wanted: impl Fn(u32, u32) -> bool,
        objects: Option<&BTreeSet<u32>>,
        mut visit: impl FnMut(Vec2, Option<RayHit>),
    ) {
        let target = |surface: Surface| objects.is_none_or(|ids| ids.contains(&surface.object_id()));
        let origin = self.camera.pose.position;
        // A pinhole camera's rays all lie in the pyramid of its corner cells' rays.
        let view = matches!(self.camera.lens, Lens::Pinhole { .. }).then(|| {
            let (right, bottom) = (self.columns - 1, self.rows - 1);
            let corners = [(0, 0), (right, 0), (right, bottom), (0, bottom)]
                .map(|(col, row)| self.camera.ray_with(&self.intrinsics, self.pixel(col, row)).1);
            caster.view(origin, &pyramid_normals(corners))
        });
        for tile_row in (0..self.rows).step_by(TILE as usize) {
            for tile_col in (0..self.columns).step_by(TILE as usize) {
                let pixels: Vec<Vec2> = (tile_row..(tile_row + TILE).min(self.rows))
                    .flat_map(|row| (tile_col..(tile_col + TILE).min(self.columns)).map(move |col| (col, row)))
                    .filter(|&(col, row)| wanted(col, row))
                    .map(|(col, row)| self.pixel(col, row))
                    .collect();
                if pixels.is_empty() {
                    continue;
                }
                if let Some(view) = &view {
                    let directions: Vec<Vec3> =
                        pixels.iter().map(|p| self.camera.ray_with(&self.intrinsics, *p).1).collect();
                    let hits = match objects {
                        None => view.cast_fan(&directions, MAX_DISTANCE),
                        Some(_) => view.cast_fan_onto(&directions, MAX_DISTANCE, target),
                    };
                    pixels.into_iter().zip(hits).for_each(|(pixel, hit)| visit(pixel, hit));
                } else {
                    for pixel in pixels {
                        let (origin, direction) = self.camera.ray_with(&self.intrinsics, pixel);
                        visit(pixel, caster.cast(origin, direction, MAX_DISTANCE).filter(|hit| target(hit.surface)));
                    }
                }
            }
        }
    }
}

/// Casts a `columns`-wide grid of rays (one per grid cell centre) through `camera`.
pub fn coverage(caster: &SceneRaycaster, camera: &CameraModel, columns: u32) -> Coverage {
    let grid = RayGrid::new(camera, columns);
    let mut objects: BTreeMap<u32, ObjectHits> = BTreeMap::new();
    grid.cast(
        caster,
        |_, _| true,
        None,
        |pixel, hit| {
            if let Some(id) = hit.map(|hit| hit.surface.object_id()).filter(|id| *id != 0) {
                record(&mut objects, id, pixel.x);
            }
        },
    );
    Coverage { rays: grid.rows * grid.columns, width: camera.width, objects }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::CameraPose;
    use ipt_scenes::raycast::CastOptions;
    use ipt_scenes::{Assets, BuildOptions};

    #[test]
    fn coverage_of_objects_equals_the_full_grid() {
        let scene = Assets::builtin().unwrap().build("living_room", 2, &BuildOptions::default()).unwrap();
        let caster = SceneRaycaster::new(&scene, CastOptions { ceiling: true });
        let cells = scene.nav.cells_in(ipt_scenes::nav::CellState::Walkable);
        let mut compared = 0;
        for (i, cell) in cells.iter().enumerate().step_by(11) {
            let c = scene.nav.center(*cell);
            let pose = CameraPose::from_yaw_pitch(Vec3::new(c.x, 1.5, c.y), (i * 53 % 360) as f32, -5.0);
            let camera = CameraModel::pinhole(pose, 90.0, 256, 256);
            let full = coverage(&caster, &camera, LABEL_COLUMNS);
            let all: Vec<&SceneObject> = scene.objects.iter().collect();
            let quick = coverage_of(&caster, &camera, LABEL_COLUMNS, &all);
            assert_eq!(quick, full, "from cell {i}");
            compared += quick.objects.len();
            // One object alone gets the same entry.
            for object in &scene.objects {
                let alone = coverage_of(&caster, &camera, LABEL_COLUMNS, &[object]);
                assert_eq!(
                    alone.objects.get(&object.id),
                    full.objects.get(&object.id),
                    "{} from cell {i}",
                    object.name
                );
            }
        }
        assert!(compared > 20, "only {compared} objects seen");
    }
}

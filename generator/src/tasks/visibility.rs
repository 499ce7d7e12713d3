//! What a camera sees, from ray casts over a grid of pixels: per object, the fraction of the
//! image it covers and the horizontal extent of its pixels. This is the samplers' "visible":
//! an object hidden behind another gets no rays, however close it is. The renderer's id image
//! agrees with it within the tolerance stated in the render tests.

use std::collections::BTreeMap;

use glam::{Vec2, Vec3};
use ipt_scenes::raycast::SceneRaycaster;
use ipt_scenes::scene::SceneObject;

use crate::render::CameraModel;

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

/// The coverage of `objects` only, on the `columns`-wide grid: for each, the grid rays inside
/// the image rectangle its box projects to. Each object's entry equals the one [`coverage`]
/// gives, for a fraction of the rays; other objects are absent.
pub fn coverage_of(caster: &SceneRaycaster, camera: &CameraModel, columns: u32, objects: &[&SceneObject]) -> Coverage {
    let rows = grid_rows(camera, columns);
    let (step_u, step_v) = (camera.width as f32 / columns as f32, camera.height as f32 / rows as f32);
    let mut found: BTreeMap<u32, ObjectHits> = BTreeMap::new();
    for object in objects {
        let (min, max) = (object.aabb.min, object.aabb.max);
        let corners = (0..8).map(|i| {
            Vec3::new(
                if i & 1 == 0 { min.x } else { max.x },
                if i & 2 == 0 { min.y } else { max.y },
                if i & 4 == 0 { min.z } else { max.z },
            )
        });
        // A corner behind the camera: its projection says nothing, so search the whole image.
        let projected: Option<Vec<Vec2>> = corners.map(|c| camera.project(c).map(|(pixel, _)| pixel)).collect();
        let (low, high) = match projected {
            Some(points) => (
                points.iter().copied().fold(Vec2::splat(f32::INFINITY), Vec2::min),
                points.iter().copied().fold(Vec2::splat(f32::NEG_INFINITY), Vec2::max),
            ),
            None => (Vec2::ZERO, Vec2::new(camera.width as f32, camera.height as f32)),
        };
        let first_col = ((low.x / step_u - 0.5).ceil().max(0.0)) as u32;
        let last_col = ((high.x / step_u - 0.5).floor().min(columns as f32 - 1.0)).max(-1.0) as i64;
        let first_row = ((low.y / step_v - 0.5).ceil().max(0.0)) as u32;
        let last_row = ((high.y / step_v - 0.5).floor().min(rows as f32 - 1.0)).max(-1.0) as i64;
        for row in first_row as i64..=last_row {
            for col in first_col as i64..=last_col {
                let pixel = Vec2::new((col as f32 + 0.5) * step_u, (row as f32 + 0.5) * step_v);
                let (origin, direction) = camera.ray(pixel);
                if caster.cast(origin, direction, MAX_DISTANCE).is_some_and(|hit| hit.surface.object_id() == object.id)
                {
                    record(&mut found, object.id, pixel.x);
                }
            }
        }
    }
    Coverage { rays: rows * columns, width: camera.width, objects: found }
}

/// Adds a ray at pixel column `u` to object `id`'s hits.
fn record(objects: &mut BTreeMap<u32, ObjectHits>, id: u32, u: f32) {
    let entry = objects.entry(id).or_insert(ObjectHits { rays: 0, min_u: u, max_u: u });
    entry.rays += 1;
    entry.min_u = entry.min_u.min(u);
    entry.max_u = entry.max_u.max(u);
}

fn grid_rows(camera: &CameraModel, columns: u32) -> u32 {
    ((columns as f32 * camera.height as f32 / camera.width as f32).round() as u32).max(1)
}

/// Casts a `columns`-wide grid of rays (one per grid cell centre) through `camera`.
pub fn coverage(caster: &SceneRaycaster, camera: &CameraModel, columns: u32) -> Coverage {
    let rows = grid_rows(camera, columns);
    let (step_u, step_v) = (camera.width as f32 / columns as f32, camera.height as f32 / rows as f32);
    let mut objects: BTreeMap<u32, ObjectHits> = BTreeMap::new();
    for row in 0..rows {
        for col in 0..columns {
            let pixel = Vec2::new((col as f32 + 0.5) * step_u, (row as f32 + 0.5) * step_v);
            let (origin, direction) = camera.ray(pixel);
            let Some(hit) = caster.cast(origin, direction, MAX_DISTANCE) else { continue };
            let id = hit.surface.object_id();
            if id == 0 {
                continue;
            }
            record(&mut objects, id, pixel.x);
        }
    }
    Coverage { rays: rows * columns, width: camera.width, objects }
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

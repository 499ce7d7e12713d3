//! What a camera sees, from ray casts over a grid of pixels: per object, the fraction of the
//! image it covers and the horizontal extent of its pixels. This is the samplers' "visible":
//! an object hidden behind another gets no rays, however close it is. The renderer's id image
//! agrees with it within the tolerance stated in the render tests.

use std::collections::BTreeMap;

use glam::Vec2;
use ipt_scenes::raycast::SceneRaycaster;

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

/// Casts a `columns`-wide grid of rays (one per grid cell centre) through `camera`.
pub fn coverage(caster: &SceneRaycaster, camera: &CameraModel, columns: u32) -> Coverage {
    let rows = ((columns as f32 * camera.height as f32 / camera.width as f32).round() as u32).max(1);
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
            let entry = objects.entry(id).or_insert(ObjectHits { rays: 0, min_u: pixel.x, max_u: pixel.x });
            entry.rays += 1;
            entry.min_u = entry.min_u.min(pixel.x);
            entry.max_u = entry.max_u.max(pixel.x);
        }
    }
    Coverage { rays: rows * columns, width: camera.width, objects }
}

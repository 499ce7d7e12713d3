//! Where small objects may rest on a mesh model: its flat, upward-facing surfaces (a table
//! top, each shelf of a bookcase), found by casting rays straight down through the model on
//! a grid over its footprint. A primitive receptacle names its support parts in the catalog;
//! a mesh gets them from its geometry, so that a user's own model needs no annotation.

use glam::{Vec2, Vec3};
use rapier3d::parry::math::Pose;
use rapier3d::parry::query::{Ray, RayCast};
use rapier3d::parry::shape::TriMesh;

use crate::mesh::MeshModel;

/// A rectangle, level and facing up, on which small objects rest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SupportFace {
    /// Centre of the face in the object's frame (origin at the bottom centre of its box),
    /// at the nominal size.
    pub center: Vec3,
    /// Width (x) and depth (z) of the face.
    pub size: Vec2,
    /// Free height above the face, when something (a shelf above) limits it.
    pub clearance: Option<f32>,
}

/// Grid points per side over the footprint.
const GRID: usize = 24;
/// A surface counts as level when its normal is within about 11 degrees of straight up.
const LEVEL_NORMAL_Y: f32 = 0.98;
/// Hits within this height of each other belong to one face, metres.
const SAME_HEIGHT: f32 = 0.01;
/// Faces lower than this are the model's feet or base, not a place to put things, metres.
pub(crate) const LOWEST_FACE: f32 = 0.1;
/// The smallest face kept, square metres.
const SMALLEST_FACE: f32 = 0.02;
/// The narrowest face kept, metres (a rim or a slat is no place to put things).
const NARROWEST_FACE: f32 = 0.1;
/// The smallest clearance above a face worth keeping, metres.
const SMALLEST_CLEARANCE: f32 = 0.06;
/// The most surfaces followed down one grid column.
const LAYERS: usize = 8;

/// The model's triangles at `size`, in the object frame.
pub(crate) fn object_trimesh(model: &MeshModel, size: Vec3) -> Option<TriMesh> {
    let lift = Vec3::new(0.0, 0.5 * size.y, 0.0);
    let mut vertices = Vec::new();
    let mut triangles = Vec::new();
    for group in &model.groups {
        let base = vertices.len() as u32;
        vertices.extend(group.positions.iter().map(|&p| p * size + lift));
        triangles.extend(group.indices.chunks_exact(3).map(|t| [base + t[0], base + t[1], base + t[2]]));
    }
    TriMesh::new(vertices, triangles).ok()
}

/// The level faces of `model` drawn at `size`: for each height where at least a few grid
/// columns meet a level, upward-facing surface, the largest rectangle of such columns, with
/// the clearance above it.
pub fn find_support_faces(model: &MeshModel, size: Vec3) -> Vec<SupportFace> {
    let Some(mesh) = object_trimesh(model, size) else { return Vec::new() };
    let cell = Vec2::new(size.x, size.z) / GRID as f32;
    let column = |i: usize, j: usize| {
        Vec2::new(-0.5 * size.x + (i as f32 + 0.5) * cell.x, -0.5 * size.z + (j as f32 + 0.5) * cell.y)
    };
    // Level surfaces met going down each column, with room above them: (height, column
    // index, clearance).
    let mut hits: Vec<(f32, usize, Option<f32>)> = Vec::new();
    let pose = Pose::IDENTITY;
    let clearance_at = |at: Vec2, height: f32| {
        let ray = Ray::new(Vec3::new(at.x, height + 0.002, at.y), Vec3::Y);
        mesh.cast_ray(&pose, &ray, size.y, false).map(|d| d + 0.002)
    };
    for j in 0..GRID {
        for i in 0..GRID {
            let at = column(i, j);
            let mut top = size.y + 0.01;
            for _ in 0..LAYERS {
                let ray = Ray::new(Vec3::new(at.x, top, at.y), Vec3::NEG_Y);
                let Some(hit) = mesh.cast_ray_and_get_normal(&pose, &ray, top, false) else { break };
                let height = top - hit.time_of_impact;
                if hit.normal.y.abs() >= LEVEL_NORMAL_Y && height >= LOWEST_FACE {
                    let clearance = clearance_at(at, height);
                    if clearance.is_none_or(|c| c >= SMALLEST_CLEARANCE) {
                        hits.push((height, j * GRID + i, clearance));
                    }
                }
                top = height - 0.005;
                if top < LOWEST_FACE {
                    break;
                }
            }
        }
    }
    hits.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut faces = Vec::new();
    let mut start = 0;
    while start < hits.len() {
        let mut end = start + 1;
        while end < hits.len() && hits[start].0 - hits[end].0 <= SAME_HEIGHT {
            end += 1;
        }
        let cluster = &hits[start..end];
        start = end;
        let mut filled = vec![false; GRID * GRID];
        for &(_, index, _) in cluster {
            filled[index] = true;
        }
        let Some((i0, j0, i1, j1)) = largest_rectangle(&filled) else { continue };
        let inside: Vec<&(f32, usize, Option<f32>)> = (cluster.iter())
            .filter(|(_, index, _)| (i0..=i1).contains(&(index % GRID)) && (j0..=j1).contains(&(index / GRID)))
            .collect();
        // The highest hit: the face lies on the surface, never inside it.
        let height = inside.iter().map(|h| h.0).fold(f32::NEG_INFINITY, f32::max);
        let clearance = inside.iter().filter_map(|h| h.2).map(|c| c - (height - h_min(&inside))).reduce(f32::min);
        let (low, high) = (column(i0, j0) - 0.5 * cell, column(i1, j1) + 0.5 * cell);
        let face_size = high - low;
        if face_size.x * face_size.y < SMALLEST_FACE || face_size.min_element() < NARROWEST_FACE {
            continue;
        }
        let middle = 0.5 * (low + high);
        let face = SupportFace { center: Vec3::new(middle.x, height, middle.y), size: face_size, clearance };
        if open_from_the_front(&mesh, &face, size) {
            faces.push(face);
        }
    }
    faces
}

/// The lowest height among `hits`.
fn h_min(hits: &[&(f32, usize, Option<f32>)]) -> f32 {
    hits.iter().map(|h| h.0).fold(f32::INFINITY, f32::min)
}

/// Whether a face under something (a shelf) can be seen and reached from the object's front:
/// level rays from in front of the box, just above the face, meet nothing before its middle
/// (a shelf behind a cupboard door does not count). A top face always can.
fn open_from_the_front(mesh: &TriMesh, face: &SupportFace, size: Vec3) -> bool {
    let Some(clearance) = face.clearance else { return true };
    let height = face.center.y + 0.5 * clearance.min(0.1);
    let start = 0.5 * size.z + 0.01;
    [-1.0 / 3.0, 0.0, 1.0 / 3.0].iter().all(|&k| {
        let ray = Ray::new(Vec3::new(face.center.x + k * face.size.x, height, start), Vec3::NEG_Z);
        mesh.cast_ray(&Pose::IDENTITY, &ray, start - face.center.z, false).is_none()
    })
}

/// The largest axis-aligned rectangle of `true` cells in a [`GRID`] x [`GRID`] grid (row
/// `j`, column `i` at `j * GRID + i`), as (i0, j0, i1, j1) inclusive; `None` when every cell
/// is empty. The classic histogram method, one row at a time.
fn largest_rectangle(filled: &[bool]) -> Option<(usize, usize, usize, usize)> {
    let mut heights = [0usize; GRID];
    let mut best: Option<(usize, (usize, usize, usize, usize))> = None;
    for j in 0..GRID {
        for i in 0..GRID {
            heights[i] = if filled[j * GRID + i] { heights[i] + 1 } else { 0 };
        }
        for i0 in 0..GRID {
            let mut lowest = usize::MAX;
            for (i1, &height) in heights.iter().enumerate().skip(i0) {
                lowest = lowest.min(height);
                if lowest == 0 {
                    break;
                }
                let area = lowest * (i1 - i0 + 1);
                if best.is_none_or(|(a, _)| area > a) {
                    best = Some((area, (i0, j + 1 - lowest, i1, j)));
                }
            }
        }
    }
    best.map(|(_, rectangle)| rectangle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::{Orientation, load_obj};

    /// A table: a 1 x 0.04 x 0.6 top at 0.72-0.76 m on four 4 cm legs, in centimetres.
    fn table_obj() -> String {
        let mut obj = String::new();
        let mut boxes = vec![([-50.0, 72.0, -30.0], [50.0, 76.0, 30.0])];
        for (x, z) in [(-48.0, -28.0), (44.0, -28.0), (-48.0, 24.0), (44.0, 24.0)] {
            boxes.push(([x, 0.0, z], [x + 4.0, 72.0, z + 4.0]));
        }
        for (k, (min, max)) in boxes.iter().enumerate() {
            for c in 0..8 {
                let p = [0, 1, 2].map(|a| if c >> a & 1 == 1 { max[a] } else { min[a] });
                obj += &format!("v {} {} {}\n", p[0], p[1], p[2]);
            }
            let b = k * 8 + 1;
            for f in [[0, 2, 3, 1], [4, 5, 7, 6], [0, 1, 5, 4], [2, 6, 7, 3], [0, 4, 6, 2], [1, 3, 7, 5]] {
                obj += &format!("f {} {} {} {}\n", b + f[0], b + f[1], b + f[2], b + f[3]);
            }
        }
        obj
    }

    #[test]
    fn a_table_top_is_found_at_its_height() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("table.obj");
        std::fs::write(&path, table_obj()).unwrap();
        let model = load_obj(&path, Orientation::default(), "table").unwrap();
        let faces = find_support_faces(&model, model.extent * 0.01);
        assert_eq!(faces.len(), 1, "{faces:?}");
        let face = faces[0];
        assert!((face.center.y - 0.76).abs() < 1e-4, "{face:?}");
        assert!(face.size.x > 0.9 && face.size.y > 0.5, "{face:?}");
        assert_eq!(face.clearance, None);
    }

    #[test]
    fn the_largest_rectangle_is_found() {
        let mut filled = vec![false; GRID * GRID];
        for j in 2..6 {
            for i in 3..10 {
                filled[j * GRID + i] = true;
            }
        }
        filled[GRID * 20 + 20] = true;
        assert_eq!(largest_rectangle(&filled), Some((3, 2, 9, 5)));
        assert_eq!(largest_rectangle(&vec![false; GRID * GRID]), None);
    }
}

//! Mesh models: artist-made objects read from Wavefront OBJ files with their MTL materials and
//! textures. A model is turned to the catalog's frame (+Y up, front +Z) and normalised to the
//! unit box centred on the origin, so that a part drawn from it is scaled by its `size` like a
//! primitive: every later stage (layout, ray casts, physics, rendering) places it by the same
//! box. One [`MeshGroup`] per material.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use glam::{Quat, Vec2, Vec3};
use rapier3d::parry::shape::{ConvexPolyhedron, TriMesh};
use serde::{Deserialize, Serialize};

use crate::error::AssetError;
use crate::geometry::Aabb;
use crate::materials::{Material, MaterialKind, Texture};

/// The triangles of one material of a model, in the model's unit box.
#[derive(Debug, Clone, Default)]
pub struct MeshGroup {
    /// Vertex positions, within [-0.5, 0.5] on every axis (the whole model spans the box).
    pub positions: Vec<Vec3>,
    /// Unit vertex normals, one per position.
    pub normals: Vec<Vec3>,
    /// Texture coordinates, one per position, or none for an untextured group.
    pub uvs: Vec<Vec2>,
    /// Three indices per triangle.
    pub indices: Vec<u32>,
    /// The group's look.
    pub material: Material,
    /// Its convex hull in the unit box (points and triangles), computed once: the hull of the
    /// group stretched to any size is this hull stretched alike.
    hull: OnceLock<Option<Hull>>,
    /// Its triangles in the unit box as a ray-castable mesh with its tree of boxes, built once
    /// (building the tree was a quarter of planning examples with meshes).
    surfaces: OnceLock<Option<TriMesh>>,
}

impl PartialEq for MeshGroup {
    /// Equal triangles and material (the shapes computed from them are not compared).
    fn eq(&self, other: &Self) -> bool {
        (&self.positions, &self.normals, &self.uvs, &self.indices, &self.material)
            == (&other.positions, &other.normals, &other.uvs, &other.indices, &other.material)
    }
}

/// A convex hull: its points and triangles.
type Hull = (Vec<Vec3>, Vec<[u32; 3]>);

/// The most points a falling model's hull keeps.
const HULL_POINTS: usize = 64;

/// The `k`-th of `n` directions spread evenly over the sphere (a Fibonacci spiral).
fn spread_direction(k: usize, n: usize) -> Vec3 {
    let y = 1.0 - 2.0 * (k as f32 + 0.5) / n as f32;
    let radius = (1.0 - y * y).max(0.0).sqrt();
    let angle = k as f32 * 2.399_963_2; // the golden angle, radians
    Vec3::new(radius * libm::cosf(angle), y, radius * libm::sinf(angle))
}

impl MeshGroup {
    /// A group of these triangles, in the unit box.
    pub fn new(
        positions: Vec<Vec3>,
        normals: Vec<Vec3>,
        uvs: Vec<Vec2>,
        indices: Vec<u32>,
        material: Material,
    ) -> Self {
        MeshGroup { positions, normals, uvs, indices, material, hull: OnceLock::new(), surfaces: OnceLock::new() }
    }

    /// The group's triangles stretched to `size`, for ray casts and fixed colliders (`None` for
    /// a group whose triangles have no area).
    pub fn surfaces(&self, size: Vec3) -> Option<TriMesh> {
        let unit = self.surfaces.get_or_init(|| {
            let triangles = self.indices.chunks_exact(3).map(|t| [t[0], t[1], t[2]]).collect();
            TriMesh::new(self.positions.clone(), triangles).ok()
        });
        // Stretching moves the vertices and the boxes of the tree alike; nothing is rebuilt.
        unit.clone().map(|mesh| mesh.scaled(size))
    }

    /// The group's convex hull stretched to `size`, as a physics shape (`None` for a flat
    /// group, which has no hull with volume).
    pub fn hull(&self, size: Vec3) -> Option<ConvexPolyhedron> {
        let unit = self.hull.get_or_init(|| {
            let hull = |points: &[Vec3]| {
                rapier3d::parry::transformation::try_convex_hull(points).ok().filter(|(_, t)| !t.is_empty())
            };
            let (points, triangles) = hull(&self.positions)?;
            if points.len() <= HULL_POINTS {
                return Some((points, triangles));
            }
            // The physics pays for every point of a hull at every contact: keep the points
            // farthest out in evenly spread directions, whose hull lies within the full one.
            let mut extreme: Vec<Vec3> = (0..HULL_POINTS)
                .map(|k| {
                    let direction = spread_direction(k, HULL_POINTS);
                    points
                        .iter()
                        .copied()
                        .fold(points[0], |a, b| if b.dot(direction) > a.dot(direction) { b } else { a })
                })
                .collect();
            extreme.sort_by(|a, b| a.to_array().partial_cmp(&b.to_array()).unwrap_or(std::cmp::Ordering::Equal));
            extreme.dedup();
            hull(&extreme).or(Some((points, triangles)))
        });
        let (points, triangles) = unit.as_ref()?;
        ConvexPolyhedron::from_convex_mesh(points.iter().map(|&p| p * size).collect(), triangles)
    }

    /// Number of triangles.
    pub fn triangles(&self) -> usize {
        self.indices.len() / 3
    }

    /// The positions scaled to a part of `size` (the model's box becomes `size`).
    pub fn scaled(&self, size: Vec3) -> Vec<Vec3> {
        self.positions.iter().map(|&p| p * size).collect()
    }

    /// The lowest world height of the group drawn at `size`, centred at `center` and turned
    /// by `rotation`.
    pub fn lowest_point(&self, size: Vec3, center: Vec3, rotation: Quat) -> f32 {
        self.positions.iter().map(|&p| (center + rotation * (p * size)).y).fold(f32::INFINITY, f32::min)
    }
}

/// A model: its material groups and the proportions of its box.
#[derive(Debug, Clone, PartialEq)]
pub struct MeshModel {
    /// The file it was read from.
    pub file: PathBuf,
    /// One group per material, in the file's material order.
    pub groups: Vec<Arc<MeshGroup>>,
    /// The size of the model's box in the file's own units, after orientation.
    pub extent: Vec3,
}

impl MeshModel {
    /// Number of triangles of all groups.
    pub fn triangles(&self) -> usize {
        self.groups.iter().map(|g| g.triangles()).sum()
    }
}

/// A signed model axis, as written in catalog files: `"+x"`, `"-z"`, ...
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Axis {
    /// +X.
    #[serde(rename = "+x")]
    PlusX,
    /// -X.
    #[serde(rename = "-x")]
    MinusX,
    /// +Y.
    #[serde(rename = "+y")]
    PlusY,
    /// -Y.
    #[serde(rename = "-y")]
    MinusY,
    /// +Z.
    #[serde(rename = "+z")]
    PlusZ,
    /// -Z.
    #[serde(rename = "-z")]
    MinusZ,
}

impl Axis {
    /// The unit vector.
    pub fn vector(self) -> Vec3 {
        match self {
            Axis::PlusX => Vec3::X,
            Axis::MinusX => Vec3::NEG_X,
            Axis::PlusY => Vec3::Y,
            Axis::MinusY => Vec3::NEG_Y,
            Axis::PlusZ => Vec3::Z,
            Axis::MinusZ => Vec3::NEG_Z,
        }
    }
}

/// Which of a model's axes are its up and its front.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Orientation {
    /// The model axis that points up.
    pub up: Axis,
    /// The model axis the object's front faces.
    pub front: Axis,
}

impl Default for Orientation {
    fn default() -> Self {
        Orientation { up: Axis::PlusY, front: Axis::PlusZ }
    }
}

impl Orientation {
    /// The catalog-frame coordinates of a model point, or `None` when up and front are not
    /// perpendicular.
    fn turn(self) -> Option<impl Fn(Vec3) -> Vec3> {
        let (up, front) = (self.up.vector(), self.front.vector());
        if up.dot(front) != 0.0 {
            return None;
        }
        let right = up.cross(front);
        Some(move |p: Vec3| Vec3::new(p.dot(right), p.dot(up), p.dot(front)))
    }
}

/// Reads an OBJ file (and the MTL files it names, and their textures), turned by
/// `orientation` and normalised to the unit box. Its materials are named `{name}/{material}`.
/// Errors name the file.
pub fn load_obj(path: &Path, orientation: Orientation, name: &str) -> Result<MeshModel, AssetError> {
    let error = |message: String| AssetError { file: path.to_path_buf(), position: None, field: None, message };
    let turn = orientation.turn().ok_or_else(|| {
        error(format!("up {:?} and front {:?} must be perpendicular axes", orientation.up, orientation.front))
    })?;
    let options = tobj::LoadOptions { single_index: true, triangulate: true, ignore_points: true, ignore_lines: true };
    let (models, materials) =
        tobj::load_obj(path, &options).map_err(|e| error(format!("not a readable OBJ file: {e}")))?;
    let materials = materials.map_err(|e| error(format!("its MTL file cannot be read: {e}")))?;
    let folder = path.parent().unwrap_or(Path::new("."));
    // Groups by material (a model without one gets a plain grey).
    let mut groups: Vec<(Option<usize>, MeshGroup)> = Vec::new();
    // Groups with an object that has no texture coordinates: drawn untextured.
    let mut untextured: Vec<Option<usize>> = Vec::new();
    for model in &models {
        let mesh = &model.mesh;
        if mesh.indices.is_empty() {
            continue;
        }
        let vertex_count = mesh.positions.len() / 3;
        if mesh.indices.iter().any(|&i| i as usize >= vertex_count) {
            return Err(error(format!("object `{}` has a face with a vertex index out of range", model.name)));
        }
        let index = groups.iter().position(|(m, _)| *m == mesh.material_id).unwrap_or_else(|| {
            groups.push((mesh.material_id, MeshGroup::default()));
            groups.len() - 1
        });
        let group = &mut groups[index].1;
        let base = group.positions.len() as u32;
        let textured = mesh.texcoords.len() == 2 * vertex_count;
        if !textured {
            untextured.push(mesh.material_id);
        }
        let with_normals = mesh.normals.len() == mesh.positions.len();
        for v in 0..vertex_count {
            let p = Vec3::new(mesh.positions[3 * v], mesh.positions[3 * v + 1], mesh.positions[3 * v + 2]);
            if !p.is_finite() {
                return Err(error(format!("object `{}` has a vertex that is not a finite number", model.name)));
            }
            group.positions.push(turn(p));
            // Normals of the file, turned; zero where it has none (computed below).
            let n = if with_normals {
                turn(Vec3::new(mesh.normals[3 * v], mesh.normals[3 * v + 1], mesh.normals[3 * v + 2]))
            } else {
                Vec3::ZERO
            };
            group.normals.push(if n.is_finite() { n } else { Vec3::ZERO });
            if textured {
                group.uvs.push(Vec2::new(mesh.texcoords[2 * v], 1.0 - mesh.texcoords[2 * v + 1]));
            }
        }
        group.indices.extend(mesh.indices.iter().map(|&i| base + i));
    }
    let bounds = Aabb::from_points(groups.iter().flat_map(|(_, g)| g.positions.iter().copied()));
    let extent = bounds.size();
    if groups.is_empty() || extent.min_element() <= 0.0 {
        return Err(error("has no triangles with volume (a flat or empty model)".into()));
    }
    let center = bounds.center();
    let groups = groups
        .into_iter()
        .map(|(material_id, mut group)| {
            if untextured.contains(&material_id) {
                group.uvs.clear();
            }
            for p in &mut group.positions {
                *p = (*p - center) / extent;
            }
            group.normals = unit_box_normals(&group.positions, &group.normals, &group.indices, extent);
            group.material = match material_id.and_then(|m| materials.get(m)) {
                Some(m) => mtl_material(m, name, folder),
                None => default_material(name),
            };
            Arc::new(group)
        })
        .collect();
    Ok(MeshModel { file: path.to_path_buf(), groups, extent })
}

/// Vertex normals for the unit box: the file's `normals` (at the model's real proportions,
/// `extent`), and area-weighted ones where the file has none (zero). The renderer turns
/// normals by the inverse of a part's scale, so a normal `n` of the real shape is stored as
/// `n * extent`.
fn unit_box_normals(positions: &[Vec3], normals: &[Vec3], indices: &[u32], extent: Vec3) -> Vec<Vec3> {
    let mut computed = vec![Vec3::ZERO; positions.len()];
    for triangle in indices.chunks_exact(3) {
        let [a, b, c] = [0, 1, 2].map(|k| positions[triangle[k] as usize] * extent);
        let normal = (b - a).cross(c - a);
        for &i in triangle {
            computed[i as usize] += normal;
        }
    }
    (normals.iter().zip(computed))
        .map(|(&file, computed)| {
            let real = if file.length_squared() > 0.0 { file } else { computed };
            (real * extent).normalize_or(Vec3::Y)
        })
        .collect()
}

/// A scene material from an MTL entry: its diffuse colour (and texture), and a roughness from
/// its shininess.
fn mtl_material(mtl: &tobj::Material, model: &str, folder: &Path) -> Material {
    let [r, g, b] = mtl.diffuse.unwrap_or([0.7, 0.7, 0.7]).map(|c| (c.clamp(0.0, 1.0) * 255.0).round() as u8);
    // Phong shininess 0..1000 to perceptual roughness (the usual sqrt(2 / (n + 2))).
    let roughness = mtl.shininess.map_or(0.8, |n| (2.0 / (n.max(0.0) + 2.0)).sqrt().clamp(0.05, 1.0));
    let name = format!("{model}/{}", mtl.name);
    let texture = mtl
        .diffuse_texture
        .as_ref()
        .filter(|t| !t.trim().is_empty())
        .map(|t| Texture { name: format!("{model}/{}", t.trim()), path: folder.join(t.trim()) });
    let glassy = mtl.dissolve.is_some_and(|d| d < 0.6);
    Material {
        kind: if glassy { MaterialKind::Glass } else { kind_from_name(&mtl.name) },
        name,
        color: [r, g, b],
        roughness,
        metallic: 0.0,
        texture,
    }
}

fn default_material(model: &str) -> Material {
    Material {
        name: format!("{model}/default"),
        kind: MaterialKind::Paint,
        color: [180, 180, 180],
        roughness: 0.8,
        metallic: 0.0,
        texture: None,
    }
}

/// A material kind guessed from an MTL material's name (the renderer's light response only).
fn kind_from_name(name: &str) -> MaterialKind {
    let name = name.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| name.contains(w));
    if has(&["glass", "window", "mirror"]) {
        MaterialKind::Glass
    } else if has(&["chrome", "steel", "metal", "alum", "iron", "silver", "gold", "brass"]) {
        MaterialKind::Metal
    } else if has(&["wood", "oak", "pine", "walnut", "teak", "cherry"]) {
        MaterialKind::Wood
    } else if has(&["fabric", "cloth", "cushion", "textile", "linen"]) {
        MaterialKind::Fabric
    } else if has(&["leather"]) {
        MaterialKind::Leather
    } else if has(&["leaf", "leaves", "plant", "foliage"]) {
        MaterialKind::Leaf
    } else if has(&["screen", "display"]) {
        MaterialKind::Screen
    } else if has(&["ceramic", "porcelain", "marble"]) {
        MaterialKind::Ceramic
    } else {
        MaterialKind::Paint
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CUBE_OBJ: &str = "mtllib cube.mtl\nv 0 0 0\nv 2 0 0\nv 2 1 0\nv 0 1 0\nv 0 0 4\nv 2 0 4\nv 2 1 4\nv 0 1 4\n\
usemtl red\nf 4 3 2 1\nf 6 7 8 5\nf 2 6 5 1\nusemtl blue\nf 8 7 3 4\nf 5 8 4 1\nf 3 7 6 2\n";
    const CUBE_MTL: &str = "newmtl red\nKd 1 0 0\nNs 10\nnewmtl blue\nKd 0 0 1\nmap_Kd wood.png\n";

    fn write_cube(dir: &Path) -> PathBuf {
        std::fs::write(dir.join("cube.mtl"), CUBE_MTL).unwrap();
        let path = dir.join("cube.obj");
        std::fs::write(&path, CUBE_OBJ).unwrap();
        path
    }

    #[test]
    fn a_model_is_grouped_by_material_and_normalised_to_the_unit_box() {
        let dir = tempfile::tempdir().unwrap();
        let model = load_obj(&write_cube(dir.path()), Orientation::default(), "cube").unwrap();
        assert_eq!(model.extent, Vec3::new(2.0, 1.0, 4.0));
        assert_eq!(model.groups.len(), 2);
        assert_eq!(model.triangles(), 12);
        let bounds = Aabb::from_points(model.groups.iter().flat_map(|g| g.positions.iter().copied()));
        assert_eq!(bounds, Aabb { min: Vec3::splat(-0.5), max: Vec3::splat(0.5) });
        let (red, blue) = (&model.groups[0].material, &model.groups[1].material);
        assert_eq!((red.name.as_str(), red.color), ("cube/red", [255, 0, 0]));
        assert_eq!(blue.texture.as_ref().map(|t| t.name.as_str()), Some("cube/wood.png"));
        // Every normal points out of the box.
        for group in &model.groups {
            for (p, n) in group.positions.iter().zip(&group.normals) {
                assert!(p.dot(*n) > 0.0, "{p} {n}");
            }
        }
    }

    #[test]
    fn orientation_turns_the_front_to_plus_z() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_cube(dir.path());
        // The model's long axis is z; with its front along +x the long axis becomes x.
        let model = load_obj(&path, Orientation { up: Axis::PlusY, front: Axis::PlusX }, "cube").unwrap();
        assert_eq!(model.extent, Vec3::new(4.0, 1.0, 2.0));
        let err = load_obj(&path, Orientation { up: Axis::PlusY, front: Axis::MinusY }, "cube").unwrap_err();
        assert!(err.message.contains("perpendicular"), "{err}");
    }

    #[test]
    fn a_broken_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broken.obj");
        std::fs::write(&path, "v 0 0 0\nv 1 0 0\nf 1 2 9\n").unwrap();
        let err = load_obj(&path, Orientation::default(), "broken").unwrap_err();
        assert_eq!(err.file, path);
        let missing = load_obj(&dir.path().join("missing.obj"), Orientation::default(), "missing").unwrap_err();
        assert!(missing.message.contains("not a readable OBJ"), "{missing}");
    }
}

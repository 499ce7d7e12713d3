//! One library model made ready for CPU rendering: stood up, simplified to a triangle budget
//! with meshoptimizer (which keeps texture seams and the outline), textures shrunk, and
//! written as an OBJ file in metres at the catalog's size, with its MTL file and PNG textures.

use std::fmt::Write as _;
use std::path::Path;

use glam::{Vec2, Vec3};

use super::archive::{LibraryModel, extract_model};
use super::io_error;
use crate::error::AssetError;
use crate::geometry::Aabb;
use crate::mesh::{MeshGroup, MeshModel, Orientation, load_obj};

/// The fewest triangles a material group is simplified to.
const FEWEST_TRIANGLES: usize = 8;
/// The simplifier may move the surface by up to this fraction of the model's size.
const TARGET_ERROR: f32 = 0.02;

/// What writing a model did.
pub(crate) struct Written {
    /// Triangles before and after simplification.
    pub triangles: (usize, usize),
    /// Textures the model names that could not be read (its colour stands in).
    pub missing_textures: Vec<String>,
}

/// Writes `model` at `size` into `folder` (`model.obj`, `model.mtl`, textures).
pub(crate) fn write_model(
    model: &LibraryModel,
    size: Vec3,
    folder: &Path,
    budget: usize,
    texture_size: u32,
) -> Result<Written, AssetError> {
    let scratch = tempfile::tempdir().map_err(|e| io_error(folder, e))?;
    let obj = extract_model(model, scratch.path())?;
    let loaded = load_obj(&obj, Orientation::default(), "model")?;
    let stood = stand_up(&loaded, model);
    let before = stood.iter().map(MeshGroup::triangles).sum::<usize>();
    let groups: Vec<MeshGroup> = stood
        .into_iter()
        .map(|group| {
            let share = budget * group.triangles() / before.max(1);
            simplify_group(group, share.max(FEWEST_TRIANGLES))
        })
        .collect();
    let after = groups.iter().map(MeshGroup::triangles).sum();
    std::fs::create_dir_all(folder).map_err(|e| io_error(folder, e))?;
    let (mut obj_text, mut mtl_text) = (String::from("mtllib model.mtl\n"), String::new());
    let mut written = 0u32;
    let mut missing_textures = Vec::new();
    for (index, group) in groups.iter().enumerate() {
        let material = &group.material;
        let name = format!("m{index}_{}", material.name.rsplit('/').next().unwrap_or("material"));
        let name: String = name.chars().map(|c| if c.is_ascii_graphic() { c } else { '_' }).collect();
        let [r, g, b] = material.color.map(|c| f32::from(c) / 255.0);
        writeln!(mtl_text, "newmtl {name}\nKd {r:.4} {g:.4} {b:.4}").unwrap();
        // The inverse of the loader's roughness from shininess.
        writeln!(mtl_text, "Ns {:.1}", 2.0 / (material.roughness * material.roughness) - 2.0).unwrap();
        if material.kind == crate::materials::MaterialKind::Glass {
            writeln!(mtl_text, "d 0.5").unwrap();
        }
        if let Some(texture) = material.texture.as_ref().filter(|_| !group.uvs.is_empty()) {
            let file = format!("texture{index}.png");
            match shrink_texture(&texture.path, &folder.join(&file), texture_size) {
                Ok(()) => writeln!(mtl_text, "map_Kd {file}").unwrap(),
                Err(e) => missing_textures.push(e.to_string()),
            }
        }
        writeln!(obj_text, "usemtl {name}").unwrap();
        for (p, n) in group.positions.iter().zip(&group.normals) {
            let p = *p * size;
            // A unit-box normal `n` is `n / size` on the object at `size`.
            let n = (*n / size).normalize_or(Vec3::Y);
            writeln!(obj_text, "v {:.5} {:.5} {:.5}\nvn {:.4} {:.4} {:.4}", p.x, p.y, p.z, n.x, n.y, n.z).unwrap();
        }
        for uv in &group.uvs {
            writeln!(obj_text, "vt {:.5} {:.5}", uv.x, 1.0 - uv.y).unwrap();
        }
        let textured = !group.uvs.is_empty();
        for triangle in group.indices.chunks_exact(3) {
            let [a, b, c] = [0, 1, 2].map(|k| written + triangle[k] + 1);
            if textured {
                let uv = |i: u32| i - written + uv_base(&groups, index) + 1;
                writeln!(obj_text, "f {a}/{}/{a} {b}/{}/{b} {c}/{}/{c}", uv(a - 1), uv(b - 1), uv(c - 1)).unwrap();
            } else {
                writeln!(obj_text, "f {a}//{a} {b}//{b} {c}//{c}").unwrap();
            }
        }
        written += group.positions.len() as u32;
    }
    for (file, text) in [("model.obj", obj_text), ("model.mtl", mtl_text)] {
        let path = folder.join(file);
        std::fs::write(&path, text).map_err(|e| io_error(&path, e))?;
    }
    Ok(Written { triangles: (before, after), missing_textures })
}

/// How many texture coordinates the groups before `index` wrote.
fn uv_base(groups: &[MeshGroup], index: usize) -> u32 {
    groups[..index].iter().map(|g| g.uvs.len() as u32).sum()
}

/// The model's groups with the library's `modelRotation` applied and normalised to the unit
/// box again (at the model's real proportions).
fn stand_up(model: &MeshModel, library: &LibraryModel) -> Vec<MeshGroup> {
    let Some(rotation) = library.rotation else {
        return model.groups.iter().map(|g| (**g).clone()).collect();
    };
    let turned: Vec<MeshGroup> = model
        .groups
        .iter()
        .map(|g| {
            MeshGroup::new(
                g.positions.iter().map(|&p| rotation * (p * model.extent)).collect(),
                g.normals.iter().map(|&n| (rotation * (n / model.extent)).normalize_or(Vec3::Y)).collect(),
                g.uvs.clone(),
                g.indices.clone(),
                g.material.clone(),
            )
        })
        .collect();
    let bounds = Aabb::from_points(turned.iter().flat_map(|g| g.positions.iter().copied()));
    let (center, extent) = (bounds.center(), bounds.size().max(Vec3::splat(1e-6)));
    turned
        .into_iter()
        .map(|g| {
            MeshGroup::new(
                g.positions.iter().map(|&p| (p - center) / extent).collect(),
                g.normals.iter().map(|&n| (n * extent).normalize_or(Vec3::Y)).collect(),
                g.uvs,
                g.indices,
                g.material,
            )
        })
        .collect()
}

/// A group simplified to at most `target` triangles where meshoptimizer can, its vertices
/// compacted to those still used.
fn simplify_group(group: MeshGroup, target: usize) -> MeshGroup {
    if group.triangles() <= target {
        return group;
    }
    let positions: Vec<[f32; 3]> = group.positions.iter().map(|p| p.to_array()).collect();
    let indices = meshopt::simplify_decoder(
        &group.indices,
        &positions,
        3 * target,
        TARGET_ERROR,
        meshopt::SimplifyOptions::None,
        None,
    );
    // Keep the used vertices, in first-use order.
    let mut remap = vec![u32::MAX; group.positions.len()];
    let mut kept: Vec<usize> = Vec::new();
    let indices: Vec<u32> = indices
        .iter()
        .map(|&i| {
            let slot = &mut remap[i as usize];
            if *slot == u32::MAX {
                *slot = kept.len() as u32;
                kept.push(i as usize);
            }
            *slot
        })
        .collect();
    MeshGroup::new(
        kept.iter().map(|&i| group.positions[i]).collect(),
        kept.iter().map(|&i| group.normals[i]).collect(),
        if group.uvs.is_empty() { Vec::new() } else { kept.iter().map(|&i| group.uvs[i]).collect::<Vec<Vec2>>() },
        indices,
        group.material,
    )
}

/// Writes `from` as a PNG no larger than `size` pixels on a side.
fn shrink_texture(from: &Path, to: &Path, size: u32) -> Result<(), AssetError> {
    let name = from.file_name().map_or_else(|| from.display().to_string(), |n| n.to_string_lossy().into_owned());
    let image = image::open(from).map_err(|e| io_error(Path::new(&name), format!("texture unreadable: {e}")))?;
    let image = if image.width().max(image.height()) > size {
        image.resize(size, size, image::imageops::FilterType::Triangle)
    } else {
        image
    };
    image.to_rgb8().save(to).map_err(|e| io_error(to, e))
}

//! Turning a catalog category into one concrete object: jittered size, chosen materials and
//! scaled parts, still in the object's own frame (placement gives it a pose later).

use std::collections::BTreeMap;

use glam::{Mat3, Quat, Vec3};
use rand::Rng;
use rand::seq::IndexedRandom;

use crate::catalog::{Category, MeshVariant};
use crate::geometry::{Aabb, Obb, Shape};
use crate::materials::Material;
use crate::rng::{SceneRng, uniform};
use crate::scene::{Part, PartMesh};

/// Thickness of the hidden box standing for a mesh's support face, metres (its top is the
/// face).
const FACE_THICKNESS: f32 = 0.002;

/// An object before placement.
#[derive(Debug, Clone)]
pub struct Instance {
    /// Category name.
    pub category: String,
    /// Size of the object's box.
    pub size: Vec3,
    /// Parts in the object frame (origin at the bottom centre, front +Z).
    pub parts: Vec<Part>,
    /// The mesh model it is drawn with, if not primitives.
    pub model: Option<String>,
}

impl Instance {
    /// Samples an instance of `category`: its look (when it has more than one), size and
    /// materials.
    pub fn sample(category: &Category, rng: &mut SceneRng) -> Instance {
        // A category with one look draws nothing here, so that its scenes stay as they were
        // before meshes existed.
        let look = if category.looks() > 1 { rng.random_range(0..category.looks()) } else { 0 };
        let j = category.jitter;
        let scale =
            Vec3::new(uniform(rng, 1.0 - j, 1.0 + j), uniform(rng, 1.0 - j, 1.0 + j), uniform(rng, 1.0 - j, 1.0 + j));
        let mesh_index = if category.parts.is_empty() { Some(look) } else { look.checked_sub(1) };
        if let Some(variant) = mesh_index.map(|i| &category.meshes[i]) {
            return Instance::of_mesh(category, variant, scale);
        }
        let shared: BTreeMap<&str, _> = category
            .palettes
            .iter()
            .map(|(slot, palette)| (slot.as_str(), palette.choose(rng).expect("palettes are non-empty").clone()))
            .collect();
        let parts: Vec<Part> = category
            .parts
            .iter()
            .map(|spec| {
                let material = if spec.vary {
                    category.palettes[&spec.slot].choose(rng).expect("palettes are non-empty").clone()
                } else {
                    shared[spec.slot.as_str()].clone()
                };
                // Each of the part's own axes is scaled by the object axis it points along most.
                let axes = Mat3::from_quat(spec.rotation);
                let part_scale = Vec3::from_array(std::array::from_fn(|i| {
                    let column = axes.col(i).abs();
                    let dominant = if column.x >= column.y && column.x >= column.z {
                        0
                    } else if column.y >= column.z {
                        1
                    } else {
                        2
                    };
                    scale[dominant]
                }));
                Part {
                    name: spec.name.clone(),
                    shape: spec.shape,
                    size: spec.shape.fit(spec.size * part_scale),
                    position: spec.center * scale,
                    rotation: spec.rotation,
                    material,
                    support: spec.support.is_some(),
                    clearance: spec.support.filter(|c| c.is_finite()).map(|c| c * scale.y),
                    mesh: None,
                    hidden: false,
                }
            })
            .collect();
        // Scaling can move the box's bottom or centre slightly: re-anchor on the parts.
        let bounds = local_bounds(&parts);
        let shift = Vec3::new(-bounds.center().x, -bounds.min.y, -bounds.center().z);
        let parts = parts.into_iter().map(|p| Part { position: p.position + shift, ..p }).collect::<Vec<_>>();
        Instance { category: category.name.clone(), size: bounds.size(), parts, model: None }
    }

    /// An instance drawn by a mesh model at `scale` times its nominal size: one part per
    /// material group, all filling the object's box, and a hidden part per support face.
    fn of_mesh(category: &Category, variant: &MeshVariant, scale: Vec3) -> Instance {
        let size = variant.size * scale;
        let center = Vec3::new(0.0, 0.5 * size.y, 0.0);
        let id = &variant.attribution.id;
        let mut parts: Vec<Part> = (variant.model.groups.iter().enumerate())
            .map(|(index, group)| Part {
                name: group.material.name.clone(),
                shape: Shape::Mesh,
                size,
                position: center,
                rotation: Quat::IDENTITY,
                material: group.material.clone(),
                support: false,
                clearance: None,
                mesh: Some(PartMesh { model: id.clone(), group: index as u32, data: group.clone() }),
                hidden: false,
            })
            .collect();
        parts.extend(variant.supports.iter().map(|face| {
            let top = face.center * scale;
            Part {
                name: "support face".into(),
                shape: Shape::Box,
                size: Vec3::new(face.size.x * scale.x, FACE_THICKNESS, face.size.y * scale.z),
                position: top - Vec3::new(0.0, 0.5 * FACE_THICKNESS, 0.0),
                rotation: Quat::IDENTITY,
                material: Material::default(),
                support: true,
                clearance: face.clearance.map(|c| c * scale.y),
                mesh: None,
                hidden: true,
            }
        }));
        Instance { category: category.name.clone(), size, parts, model: Some(id.clone()) }
    }
}

/// Bounds of parts in the object frame.
pub fn local_bounds(parts: &[Part]) -> Aabb {
    parts
        .iter()
        .map(|p| Obb { center: p.position, half_extents: 0.5 * p.size, rotation: p.rotation }.aabb())
        .reduce(Aabb::union)
        .unwrap_or(Aabb { min: Vec3::ZERO, max: Vec3::ZERO })
}

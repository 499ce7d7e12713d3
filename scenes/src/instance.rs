//! Turning a catalog category into one concrete object: jittered size, chosen materials and
//! scaled parts, still in the object's own frame (placement gives it a pose later).

use std::collections::BTreeMap;

use glam::{Mat3, Vec3};
use rand::seq::IndexedRandom;

use crate::catalog::Category;
use crate::geometry::{Aabb, Obb};
use crate::rng::{SceneRng, uniform};
use crate::scene::Part;

/// An object before placement.
#[derive(Debug, Clone)]
pub struct Instance {
    /// Category name.
    pub category: String,
    /// Size of the object's box.
    pub size: Vec3,
    /// Parts in the object frame (origin at the bottom centre, front +Z).
    pub parts: Vec<Part>,
}

impl Instance {
    /// Samples an instance of `category`.
    pub fn sample(category: &Category, rng: &mut SceneRng) -> Instance {
        let j = category.jitter;
        let scale =
            Vec3::new(uniform(rng, 1.0 - j, 1.0 + j), uniform(rng, 1.0 - j, 1.0 + j), uniform(rng, 1.0 - j, 1.0 + j));
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
                }
            })
            .collect();
        // Scaling can move the box's bottom or centre slightly: re-anchor on the parts.
        let bounds = local_bounds(&parts);
        let shift = Vec3::new(-bounds.center().x, -bounds.min.y, -bounds.center().z);
        let parts = parts.into_iter().map(|p| Part { position: p.position + shift, ..p }).collect::<Vec<_>>();
        Instance { category: category.name.clone(), size: bounds.size(), parts }
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

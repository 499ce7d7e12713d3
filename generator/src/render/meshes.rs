//! Meshes for scene parts. Boxes, cylinders, cones and spheres share one unit mesh per shape
//! and level of detail, scaled by the part's size; capsules and tori (whose shape changes with
//! proportions) get their own mesh, cached per size and released when the scene is swapped.
//! A mesh model's material group is, like a box, one unit-box mesh per (model, group) for
//! the renderer's lifetime, scaled by the part's size.
//!
//! Round shapes get as many segments around as their diameter calls for
//! ([`segments_for`]): a software rasteriser pays for every triangle, in the colour pass and
//! again in the shadow pass, and a mug does not need the 32 segments of a round table.

use std::collections::BTreeMap;

use bevy::asset::{Assets, Handle, RenderAssetUsages};
use bevy::math::Vec3;
use bevy::math::primitives::{Capsule3d, Cone, Cuboid, Cylinder, Sphere, Torus};
use bevy::mesh::{Indices, Mesh, MeshBuilder, Meshable, PrimitiveTopology};
use ipt_scenes::geometry::Shape;
use ipt_scenes::mesh::MeshGroup;
use ipt_scenes::scene::PartMesh;

/// The most segments around a round shape (for diameters of [`FULL_DETAIL_DIAMETER`] and up).
const MAX_SEGMENTS: u32 = 32;
/// The fewest segments around a round shape.
const MIN_SEGMENTS: u32 = 8;
/// Round shapes at least this wide (metres) get [`MAX_SEGMENTS`]; narrower ones get fewer,
/// in proportion, so that a segment stays about 5 cm long at most.
const FULL_DETAIL_DIAMETER: f32 = 0.5;

/// Segments around a round shape `diameter` metres wide: proportional to the diameter, a
/// multiple of 4 (so that the shape stays symmetric front to back and side to side), between
/// [`MIN_SEGMENTS`] and [`MAX_SEGMENTS`].
pub fn segments_for(diameter: f32) -> u32 {
    let wanted = (MAX_SEGMENTS as f32 * diameter / FULL_DETAIL_DIAMETER).ceil() as u32;
    (wanted.div_ceil(4) * 4).clamp(MIN_SEGMENTS, MAX_SEGMENTS)
}

/// Mesh handles by shape, level of detail and size.
#[derive(Default)]
pub struct MeshLibrary {
    unit: BTreeMap<(u8, u32), Handle<Mesh>>,
    sized: BTreeMap<(u8, [i32; 3]), Handle<Mesh>>,
    models: BTreeMap<(String, u32), Handle<Mesh>>,
}

fn shape_key(shape: Shape) -> u8 {
    match shape {
        Shape::Box => 0,
        Shape::Cylinder => 1,
        Shape::Cone => 2,
        Shape::Sphere => 3,
        Shape::Capsule => 4,
        Shape::Torus => 5,
        Shape::Mesh => 6,
    }
}

impl MeshLibrary {
    /// The mesh for a part of `shape` filling `size` (with its triangles for a mesh part), and
    /// the scale to draw it with.
    pub fn part(
        &mut self,
        meshes: &mut Assets<Mesh>,
        shape: Shape,
        size: Vec3,
        model: Option<&PartMesh>,
    ) -> (Handle<Mesh>, Vec3) {
        if let Some(model) = model.filter(|_| shape == Shape::Mesh) {
            let key = (model.model.clone(), model.group);
            let handle = self.models.entry(key).or_insert_with(|| meshes.add(group_mesh(&model.data))).clone();
            return (handle, size);
        }
        match shape {
            // A mesh part without its triangles stands as its box.
            Shape::Box | Shape::Cylinder | Shape::Cone | Shape::Sphere | Shape::Mesh => {
                let segments = match shape {
                    Shape::Box | Shape::Mesh => 0,
                    Shape::Sphere => segments_for(size.max_element()),
                    _ => segments_for(size.x.max(size.z)),
                };
                let handle = self
                    .unit
                    .entry((shape_key(shape), segments))
                    .or_insert_with(|| meshes.add(unit_mesh(shape, segments)))
                    .clone();
                (handle, size)
            }
            Shape::Capsule | Shape::Torus => {
                let key = (shape_key(shape), (size * 1000.0).round().as_ivec3().to_array());
                let handle = self.sized.entry(key).or_insert_with(|| meshes.add(sized_mesh(shape, size))).clone();
                (handle, Vec3::ONE)
            }
        }
    }

    /// Releases the per-size meshes (the unit meshes stay for the next scene).
    pub fn release_sized(&mut self, meshes: &mut Assets<Mesh>) {
        for (_, handle) in std::mem::take(&mut self.sized) {
            meshes.remove(&handle);
        }
    }
}

/// A unit-sized mesh of `shape` with `segments` around (ignored for boxes).
fn unit_mesh(shape: Shape, segments: u32) -> Mesh {
    match shape {
        Shape::Cylinder => Cylinder::new(0.5, 1.0).mesh().resolution(segments).build(),
        Shape::Cone => Cone { radius: 0.5, height: 1.0 }.mesh().resolution(segments).build(),
        Shape::Sphere => Sphere::new(0.5).mesh().uv(segments, segments / 2),
        _ => Mesh::from(Cuboid::new(1.0, 1.0, 1.0)),
    }
}

/// The unit-box mesh of a model's material group.
fn group_mesh(group: &MeshGroup) -> Mesh {
    let mut mesh = Mesh::new(PrimitiveTopology::TriangleList, RenderAssetUsages::default())
        .with_inserted_attribute(
            Mesh::ATTRIBUTE_POSITION,
            group.positions.iter().map(|p| p.to_array()).collect::<Vec<_>>(),
        )
        .with_inserted_attribute(
            Mesh::ATTRIBUTE_NORMAL,
            group.normals.iter().map(|n| n.to_array()).collect::<Vec<_>>(),
        );
    if !group.uvs.is_empty() {
        mesh.insert_attribute(Mesh::ATTRIBUTE_UV_0, group.uvs.iter().map(|uv| uv.to_array()).collect::<Vec<_>>());
    }
    mesh.with_inserted_indices(Indices::U32(group.indices.clone()))
}

fn sized_mesh(shape: Shape, size: Vec3) -> Mesh {
    let radius = 0.5 * size.x;
    let segments = segments_for(size.x);
    match shape {
        Shape::Capsule => Capsule3d::new(radius, (size.y - 2.0 * radius).max(0.0))
            .mesh()
            .longitudes(segments)
            .latitudes(segments / 2)
            .build(),
        _ => {
            let tube = 0.5 * size.y;
            Torus { minor_radius: tube, major_radius: (radius - tube).max(tube * 0.1) }
                .mesh()
                .major_resolution(segments as usize)
                .minor_resolution((segments as usize * 3 / 8).clamp(MIN_SEGMENTS as usize, 12))
                .build()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_follow_the_diameter_within_bounds() {
        assert_eq!(segments_for(0.02), MIN_SEGMENTS);
        assert_eq!(segments_for(0.1), 8);
        assert_eq!(segments_for(0.2), 16);
        assert_eq!(segments_for(0.3), 20);
        assert_eq!(segments_for(FULL_DETAIL_DIAMETER), MAX_SEGMENTS);
        assert_eq!(segments_for(3.0), MAX_SEGMENTS);
        for d in 1..100 {
            let segments = segments_for(d as f32 * 0.01);
            assert_eq!(segments % 4, 0);
            // No segment longer than about 5 cm below full detail.
            if segments < MAX_SEGMENTS {
                assert!(std::f32::consts::PI * d as f32 * 0.01 / segments as f32 <= 0.05 + 1e-6, "{d} cm");
            }
        }
    }
}

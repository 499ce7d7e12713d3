//! Meshes for scene parts. Boxes, cylinders, cones and spheres share one unit mesh each,
//! scaled by the part's size; capsules and tori (whose shape changes with proportions) get
//! their own mesh, cached per size and released when the scene is swapped.

use std::collections::BTreeMap;

use bevy::asset::{Assets, Handle};
use bevy::math::Vec3;
use bevy::math::primitives::{Capsule3d, Cone, Cuboid, Cylinder, Sphere, Torus};
use bevy::mesh::{Mesh, MeshBuilder, Meshable};
use ipt_scenes::geometry::Shape;

/// Round shapes are drawn with this many segments around.
const SEGMENTS: u32 = 32;

/// Mesh handles by shape and size.
#[derive(Default)]
pub struct MeshLibrary {
    unit: BTreeMap<u8, Handle<Mesh>>,
    sized: BTreeMap<(u8, [i32; 3]), Handle<Mesh>>,
}

fn shape_key(shape: Shape) -> u8 {
    match shape {
        Shape::Box => 0,
        Shape::Cylinder => 1,
        Shape::Cone => 2,
        Shape::Sphere => 3,
        Shape::Capsule => 4,
        Shape::Torus => 5,
    }
}

impl MeshLibrary {
    /// The mesh for a part of `shape` filling `size`, and the scale to draw it with.
    pub fn part(&mut self, meshes: &mut Assets<Mesh>, shape: Shape, size: Vec3) -> (Handle<Mesh>, Vec3) {
        match shape {
            Shape::Box | Shape::Cylinder | Shape::Cone | Shape::Sphere => {
                let handle = self.unit.entry(shape_key(shape)).or_insert_with(|| meshes.add(unit_mesh(shape))).clone();
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

fn unit_mesh(shape: Shape) -> Mesh {
    match shape {
        Shape::Cylinder => Cylinder::new(0.5, 1.0).mesh().resolution(SEGMENTS).build(),
        Shape::Cone => Cone { radius: 0.5, height: 1.0 }.mesh().resolution(SEGMENTS).build(),
        Shape::Sphere => Sphere::new(0.5).mesh().uv(SEGMENTS, SEGMENTS / 2),
        _ => Mesh::from(Cuboid::new(1.0, 1.0, 1.0)),
    }
}

fn sized_mesh(shape: Shape, size: Vec3) -> Mesh {
    let radius = 0.5 * size.x;
    match shape {
        Shape::Capsule => Capsule3d::new(radius, (size.y - 2.0 * radius).max(0.0))
            .mesh()
            .longitudes(SEGMENTS)
            .latitudes(SEGMENTS / 2)
            .build(),
        _ => {
            let tube = 0.5 * size.y;
            Torus { minor_radius: tube, major_radius: (radius - tube).max(tube * 0.1) }
                .mesh()
                .major_resolution(SEGMENTS as usize)
                .minor_resolution(12)
                .build()
        }
    }
}

//! The scene: the output of the scene builder and the input of every later stage
//! (rendering, task sampling, labels). Plain data, serialisable to JSON.

use glam::{Quat, Vec2, Vec3};
use serde::{Deserialize, Serialize};

use std::sync::Arc;

use crate::geometry::{Aabb, Obb, Rect2, Shape};
use crate::materials::Material;
use crate::mesh::MeshGroup;
use crate::nav::NavGrid;

/// Version of the scene JSON layout; bumped on incompatible changes.
pub const SCENE_FORMAT_VERSION: u32 = 1;

/// A built scene: rooms, walls, doorways, objects and the navigation grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scene {
    /// [`SCENE_FORMAT_VERSION`] at the time of writing.
    pub format_version: u32,
    /// The template's name.
    pub template: String,
    /// The seed it was built from.
    pub seed: u64,
    /// Ceiling height of every room, metres.
    pub ceiling_height: f32,
    /// Rooms (axis-aligned rectangles on the floor plane).
    pub rooms: Vec<Room>,
    /// Wall boxes, doorways already cut out.
    pub walls: Vec<Wall>,
    /// Openings between rooms.
    pub doorways: Vec<Doorway>,
    /// Every object; `id` is the index plus one (0 is reserved for "no object").
    pub objects: Vec<SceneObject>,
    /// Walkable floor.
    pub nav: NavGrid,
    /// How the build went: attempts, rejected layouts, dropped objects.
    pub report: BuildReport,
}

impl Scene {
    /// Gives the mesh parts of a scene read from JSON (which names models but does not hold
    /// their triangles) their triangles from `catalog`; fails naming a model it lacks.
    pub fn attach_meshes(&mut self, catalog: &crate::catalog::Catalog) -> Result<(), String> {
        for object in &mut self.objects {
            for part in &mut object.parts {
                let Some(mesh) = &mut part.mesh else { continue };

                let model = catalog.mesh_model(&mesh.model).ok_or_else(|| {
                    format!(
                        "object {} is drawn with the mesh model `{}`, which no loaded catalog holds (import the \
                         furniture library with `scripts/setup --assets`, or pass the --catalog folder it came from)",
                        object.name, mesh.model
                    )
                })?;
                let group = model.groups.get(mesh.group as usize).ok_or_else(|| {
                    format!("object {}: model `{}` has no material group {}", object.name, mesh.model, mesh.group)
                })?;
                mesh.data = group.clone();
                // The texture's file is not written out either.
                part.material = group.material.clone();
            }
        }
        Ok(())
    }

    /// The (x, z) rectangle around every room's floor, grown by `margin` on each side.
    pub fn floor_bounds(&self, margin: f32) -> (Vec2, Vec2) {
        let min = self.rooms.iter().map(|r| r.min).reduce(Vec2::min).unwrap_or(Vec2::ZERO);
        let max = self.rooms.iter().map(|r| r.max).reduce(Vec2::max).unwrap_or(Vec2::ZERO);
        (min - Vec2::splat(margin), max + Vec2::splat(margin))
    }
}

/// A room: the floor rectangle inside its walls and its materials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Room {
    /// Index of the room in [`Scene::rooms`].
    pub id: u32,
    /// Name within the template, e.g. "kitchen".
    pub name: String,
    /// The room template it was built from.
    pub template: String,
    /// Lowest (x, z) corner of the floor.
    pub min: Vec2,
    /// Highest (x, z) corner of the floor.
    pub max: Vec2,
    /// Floor material.
    pub floor: Material,
    /// Wall material (inside faces).
    pub walls: Material,
    /// Ceiling material.
    pub ceiling: Material,
}

impl Room {
    /// Whether the floor point (x, z) lies in the room, with `margin` of tolerance.
    pub fn contains(&self, point: Vec2, margin: f32) -> bool {
        point.cmpge(self.min - margin).all() && point.cmple(self.max + margin).all()
    }

    /// Floor area, square metres.
    pub fn area(&self) -> f32 {
        let size = self.max - self.min;
        size.x * size.y
    }

    /// Centre of the floor (x, z).
    pub fn center(&self) -> Vec2 {
        0.5 * (self.min + self.max)
    }
}

/// An axis-aligned wall box belonging to one room (shared walls are two half-thick boxes,
/// each painted as its room).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Wall {
    /// The room whose side this is.
    pub room: u32,
    /// Centre of the box.
    pub center: Vec3,
    /// Size of the box.
    pub size: Vec3,
    /// Material.
    pub material: Material,
}

impl Wall {
    /// The box.
    pub fn aabb(&self) -> Aabb {
        Aabb { min: self.center - 0.5 * self.size, max: self.center + 0.5 * self.size }
    }
}

/// An opening in the wall between two rooms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Doorway {
    /// The two rooms it joins.
    pub rooms: [u32; 2],
    /// Lowest (x, z) corner of the opening's floor (it spans the wall's thickness).
    pub min: Vec2,
    /// Highest (x, z) corner.
    pub max: Vec2,
    /// Height of the opening.
    pub height: f32,
}

/// One primitive of an object, in the object's frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Part {
    /// Part name from the catalog.
    pub name: String,
    /// The primitive.
    pub shape: Shape,
    /// Size in the part's own axes (the primitive fills this box).
    pub size: Vec3,
    /// Centre in the object's frame.
    pub position: Vec3,
    /// Object-from-part rotation.
    pub rotation: Quat,
    /// Material.
    pub material: Material,
    /// Whether the part's top face carries small objects.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub support: bool,
    /// Free height above a supporting face (shelves); absent when unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clearance: Option<f32>,
    /// The triangles of a [`Shape::Mesh`] part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mesh: Option<PartMesh>,
    /// A support face of a mesh model only: small objects rest on its top, which lies on the
    /// model's surface, but it is neither drawn nor seen by rays (the mesh is).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hidden: bool,
}

/// The mesh of a [`Shape::Mesh`] part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartMesh {
    /// The model's id in the catalog (see [`crate::catalog::Attribution::id`]).
    pub model: String,
    /// Index of the material group in the model.
    pub group: u32,
    /// The group's triangles (not written out: the model's id names them).
    #[serde(skip)]
    pub data: Arc<MeshGroup>,
}

/// Where a small object rests.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Support {
    /// Id of the receptacle object.
    pub object: u32,
    /// Index of the receptacle's part whose top face carries it.
    pub part: u32,
    /// World height of that face.
    pub height: f32,
}

/// A placed object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SceneObject {
    /// Stable id, 1-based, in placement order.
    pub id: u32,
    /// Unique readable name, e.g. `chair_3`.
    pub name: String,
    /// Catalog category.
    pub category: String,
    /// Readable category name for questions.
    pub display: String,
    /// Readable plural.
    pub plural: String,
    /// Whether it may be counted in questions.
    pub countable: bool,
    /// Room index.
    pub room: u32,
    /// Template group that placed it.
    pub group: String,
    /// World position of the object's origin (bottom centre of its box).
    pub position: Vec3,
    /// World-from-object rotation.
    pub rotation: Quat,
    /// Size of the object's box (after jitter).
    pub size: Vec3,
    /// World axis-aligned bounds of all parts.
    pub aabb: Aabb,
    /// World oriented box of the object.
    pub obb: Obb,
    /// The primitives.
    pub parts: Vec<Part>,
    /// For small objects: what they rest on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support: Option<Support>,
    /// The mesh model it is drawn with (its id in the catalog), when not primitives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

impl SceneObject {
    /// World oriented box of part `index`.
    pub fn part_obb(&self, index: usize) -> Obb {
        let part = &self.parts[index];
        Obb {
            center: self.position + self.rotation * part.position,
            half_extents: 0.5 * part.size,
            rotation: self.rotation * part.rotation,
        }
    }

    /// Floor footprint of the object's box.
    pub fn footprint(&self) -> Rect2 {
        self.obb.footprint()
    }

    /// World position of the object's centre.
    pub fn center(&self) -> Vec3 {
        self.obb.center
    }
}

/// Objects a group wanted but could not place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dropped {
    /// Room index.
    pub room: u32,
    /// Group name.
    pub group: String,
    /// Category.
    pub category: String,
    /// How many were sampled.
    pub wanted: u32,
    /// How many were placed.
    pub placed: u32,
}

/// How the build went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildReport {
    /// Layout attempts used (1 = the first layout was accepted).
    pub attempts: u32,
    /// Why earlier attempts were rejected, one line each.
    pub rejected: Vec<String>,
    /// Objects that could not be placed in the accepted layout.
    pub dropped: Vec<Dropped>,
    /// Fraction of the rooms' floor cells in the main walkable region.
    pub reachable_fraction: f32,
}

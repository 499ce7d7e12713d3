//! One example as one row.

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

/// An image cell in the Hugging Face layout: the encoded file's bytes (PNG) and an optional
/// path (always empty here: the bytes are the image).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// Encoded image file (PNG).
    pub bytes: Option<ByteBuf>,
    /// File name the image came from; `None` for generated images.
    pub path: Option<String>,
}

impl Image {
    /// A PNG image cell.
    pub fn png(bytes: Vec<u8>) -> Image {
        Image { bytes: Some(ByteBuf::from(bytes)), path: None }
    }

    /// The encoded bytes (empty if none).
    pub fn data(&self) -> &[u8] {
        self.bytes.as_deref().map_or(&[], |b| b.as_slice())
    }
}

/// The camera of one image: intrinsics and world-from-camera pose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Camera {
    /// `input` (the i-th input image, in order) or `imagination`.
    pub role: String,
    /// `perspective` (pinhole) or `orthographic` (top-down maps).
    pub projection: String,
    /// Image width, pixels.
    pub width: u32,
    /// Image height, pixels.
    pub height: u32,
    /// Horizontal field of view, degrees (perspective only).
    pub hfov_degrees: Option<f32>,
    /// Focal length along u, pixels (orthographic: pixels per metre).
    pub fx: f32,
    /// Focal length along v, pixels (orthographic: pixels per metre).
    pub fy: f32,
    /// Principal point u, pixels.
    pub cx: f32,
    /// Principal point v, pixels.
    pub cy: f32,
    /// 4x4 world-from-camera matrix, column-major (16 numbers). The camera looks along its
    /// local -Z with +Y up in the image; the world is +Y up, metres.
    pub world_from_camera: Vec<f32>,
}

/// An object the question is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectInfo {
    /// Id in the scene (its value in id images).
    pub id: u32,
    /// Catalog category (`office_chair`).
    pub category: String,
    /// Readable name used in the text (`office chair`).
    pub name: String,
    /// World centre of its box (x, y, z), metres.
    pub position: Vec<f32>,
    /// World axis-aligned box, lowest corner (x, y, z).
    pub box_min: Vec<f32>,
    /// World axis-aligned box, highest corner (x, y, z).
    pub box_max: Vec<f32>,
}

/// One example: inputs, question, options, answer, imagination, chain of thought and the
/// geometry behind the label. Field order is column order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Unique within a dataset: `<split>-<task>-<index>` (`train-pet-0000042`).
    pub id: String,
    /// `pet`, `pt` or `mvc`.
    pub task: String,
    /// Task variant (`arrow`, `path_arrow`, `square`, ...).
    pub variant: String,
    /// Balanced sub-type (`position_left_right`, `length_2_4m`, `count_3`, ...).
    pub subtype: String,
    /// `train`, `validation`, `test` or `benchmark`.
    pub split: String,
    /// The question, referring to the input images in order.
    pub question: String,
    /// The options, in order (option i has letter A + i).
    pub choices: Vec<String>,
    /// The correct option's letter.
    pub answer: String,
    /// The correct option's text.
    pub answer_text: String,
    /// Input images, in the order the question refers to them.
    pub images: Vec<Image>,
    /// The ground-truth imagination.
    pub imagination: Image,
    /// Textual chain of thought (numbered steps).
    pub cot: String,
    /// The IPT think phrase that precedes the imagination.
    pub think: String,
    /// The scene: `<template>-<scene seed>`.
    pub scene_id: String,
    /// Scene template.
    pub template: String,
    /// Scene seed (with the template, rebuilds the scene).
    pub seed: u64,
    /// Index of the example in its (split, task) stream.
    pub index: u64,
    /// One camera per image: the inputs in order, then the imagination.
    pub cameras: Vec<Camera>,
    /// The objects the question is about.
    pub objects: Vec<ObjectInfo>,
    /// Everything else, as JSON: the task's geometry (distances, coverage, path,
    /// trajectory, ...) and the markers and overlays of each view.
    pub meta: String,
    /// Instance-id images of the inputs (`--with-ids`; id = r + 256 g + 65536 b).
    pub images_ids: Option<Vec<Image>>,
    /// Instance-id image of the imagination (`--with-ids`).
    pub imagination_ids: Option<Image>,
    /// Depth images of the inputs (`--with-depth`; 16-bit PNG, millimetres).
    pub images_depth: Option<Vec<Image>>,
    /// Depth image of the imagination (`--with-depth`).
    pub imagination_depth: Option<Image>,
}

//! A small synthetic dataset folder for the trainer's tests: real shards and a real manifest
//! written through `ipt-schema`, with solid-colour images whose colour says the answer.

use std::path::Path;

use image::RgbImage;
use ipt_schema::record::{Camera, ObjectInfo};
use ipt_schema::{GeneratorInfo, Image, Manifest, Record, SCHEMA_VERSION, ShardEntry, ShardWriter, Split, Task};

/// A PNG of one colour.
pub fn png(size: u32, colour: [u8; 3]) -> Vec<u8> {
    let mut bytes = Vec::new();
    RgbImage::from_pixel(size, size, image::Rgb(colour))
        .write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)
        .unwrap();
    bytes
}

/// Example `index` of `task` in `split`: two options, the answer `index % 2`, the input
/// image red for A and blue for B, the imagination green.
pub fn record(split: Split, task: Task, index: u64) -> Record {
    let answer = (index % 2) as usize;
    let colour = if answer == 0 { [200, 30, 30] } else { [30, 30, 200] };
    Record {
        id: format!("{split}-{task}-{index:07}"),
        task: task.name().into(),
        variant: "x".into(),
        subtype: ["distance_closer", "distance_further"][answer].into(),
        split: split.name().into(),
        question: "Will the sofa be closer or further?".into(),
        choices: vec!["Closer".into(), "Further".into()],
        answer: ["A", "B"][answer].into(),
        answer_text: ["Closer", "Further"][answer].into(),
        images: vec![Image::png(png(32, colour))],
        imagination: Image::png(png(32, [30, 200, 30])),
        cot: "1. Look at the colour.".into(),
        think: task.think().into(),
        scene_id: "room-1".into(),
        template: "room".into(),
        seed: 1,
        index,
        cameras: vec![Camera {
            role: "input".into(),
            projection: "perspective".into(),
            width: 32,
            height: 32,
            hfov_degrees: Some(90.0),
            fx: 16.0,
            fy: 16.0,
            cx: 16.0,
            cy: 16.0,
            world_from_camera: vec![0.0; 16],
        }],
        objects: vec![ObjectInfo {
            id: 1,
            category: "sofa".into(),
            name: "sofa".into(),
            position: vec![0.0; 3],
            box_min: vec![0.0; 3],
            box_max: vec![1.0; 3],
        }],
        meta: "{}".into(),
        images_ids: None,
        imagination_ids: None,
        images_depth: None,
        imagination_depth: None,
    }
}

/// Writes a dataset folder with `rows` examples of PET per split in `splits`, one shard each.
pub fn dataset(dir: &Path, splits: &[Split], rows: u64) {
    let mut shards = Vec::new();
    for &split in splits {
        let path = format!("data/{split}/pet-00000-of-00001.parquet");
        std::fs::create_dir_all(dir.join(format!("data/{split}"))).unwrap();
        let mut writer = ShardWriter::create(&dir.join(&path), 16).unwrap();
        let records: Vec<Record> = (0..rows).map(|i| record(split, Task::Pet, i)).collect();
        writer.write(&records).unwrap();
        let bytes = writer.finish().unwrap();
        shards.push(ShardEntry {
            path,
            split,
            task: Task::Pet,
            shard: 0,
            first_index: 0,
            rows,
            bytes,
            sha256: String::new(),
        });
    }
    let manifest = Manifest {
        format: ipt_schema::DATASET_FORMAT.into(),
        schema_version: SCHEMA_VERSION,
        generator: GeneratorInfo { name: "test".into(), version: "0".into(), git: "none".into() },
        config: serde_json::json!({}),
        examples: rows * splits.len() as u64,
        streams: vec![],
        shards,
    };
    std::fs::write(dir.join(ipt_schema::MANIFEST_FILE), serde_json::to_vec(&manifest).unwrap()).unwrap();
}

//! Checks a finished dataset: that each shard's files hold its rows in order; every file's
//! size (and byte bound), checksum, schema and row count; every record's id and place; every
//! image decodes at its camera's size; and every label, question, option, camera and
//! geometry re-derived from the template and seed (the plan is made again and compared field
//! by field). Problems name the file and the row.

use anyhow::Result;
use ipt_schema::{Image, Record, read_records};
use rayon::prelude::*;

use super::layout::{Stream, Unit, units};
use super::pipeline::Generator;
use super::record::labels;
use super::store::{DatasetDir, Manifest, ShardEntry, files_hold_shard, sha256_of};
use crate::render::images::one_colour;

/// What validation found.
#[derive(Debug, Default)]
pub struct Report {
    /// Shard files checked.
    pub files: usize,
    /// Rows checked.
    pub rows: u64,
    /// Problems, each naming the shard (and row).
    pub problems: Vec<String>,
}

/// What to check beyond the files themselves.
#[derive(Debug, Clone, Copy)]
pub struct Checks {
    /// Re-plan every example and compare its labels.
    pub labels: bool,
}

/// Checks that `image` decodes at its camera's size and, for a colour image, that it is not
/// blank (one colour: a failed render).
fn decode(image: &Image, width: u32, height: u32, colour: bool) -> Result<(), String> {
    let decoded = image::load_from_memory(image.data()).map_err(|e| format!("does not decode ({e})"))?;
    if (decoded.width(), decoded.height()) != (width, height) {
        return Err(format!("is {}x{}, its camera says {width}x{height}", decoded.width(), decoded.height()));
    }
    if colour && one_colour(&decoded.to_rgb8()) {
        return Err("is blank (every pixel one colour): a failed render".into());
    }
    Ok(())
}

/// Problems of one record's images (colour, ids, depth) against its cameras.
fn check_images(record: &Record) -> Vec<String> {
    let mut problems = Vec::new();
    if record.cameras.len() != record.images.len() + 1 {
        problems.push(format!("{} cameras for {} images + imagination", record.cameras.len(), record.images.len()));
        return problems;
    }
    let size = |i: usize| (record.cameras[i].width, record.cameras[i].height);
    let last = record.images.len();
    let mut check = |name: String, image: &Image, i: usize, colour: bool| {
        if let Err(e) = decode(image, size(i).0, size(i).1, colour) {
            problems.push(format!("{name} {e}"));
        }
    };
    for (i, image) in record.images.iter().enumerate() {
        check(format!("image {}", i + 1), image, i, true);
    }
    check("imagination".into(), &record.imagination, last, true);
    for (kind, images, imagination) in [
        ("ids", &record.images_ids, &record.imagination_ids),
        ("depth", &record.images_depth, &record.imagination_depth),
    ] {
        if let Some(images) = images {
            for (i, image) in images.iter().enumerate() {
                check(format!("{kind} image {}", i + 1), image, i, false);
            }
        }
        if let Some(image) = imagination {
            check(format!("{kind} imagination"), image, last, false);
        }
    }
    problems
}

/// The fields where two records' labels differ (images ignored).
fn label_differences(stored: &Record, derived: &Record) -> Vec<String> {
    let mut differences = Vec::new();
    let mut compare = |name: &str, a: String, b: String| {
        if a != b {
            differences.push(format!("{name} is {a}, the geometry gives {b}"));
        }
    };
    compare("id", stored.id.clone(), derived.id.clone());
    compare("task", stored.task.clone(), derived.task.clone());
    compare("variant", stored.variant.clone(), derived.variant.clone());
    compare("subtype", stored.subtype.clone(), derived.subtype.clone());
    compare("split", stored.split.clone(), derived.split.clone());
    compare("question", format!("{:?}", stored.question), format!("{:?}", derived.question));
    compare("choices", format!("{:?}", stored.choices), format!("{:?}", derived.choices));
    compare("answer", format!("'{}'", stored.answer), format!("'{}'", derived.answer));
    compare("answer_text", format!("{:?}", stored.answer_text), format!("{:?}", derived.answer_text));
    compare("cot", format!("{:?}", stored.cot), format!("{:?}", derived.cot));
    compare("think", format!("{:?}", stored.think), format!("{:?}", derived.think));
    compare("scene_id", stored.scene_id.clone(), derived.scene_id.clone());
    compare("template", stored.template.clone(), derived.template.clone());
    compare("seed", stored.seed.to_string(), derived.seed.to_string());
    compare("index", stored.index.to_string(), derived.index.to_string());
    compare("cameras", format!("{:?}", stored.cameras), format!("{:?}", derived.cameras));
    compare("objects", format!("{:?}", stored.objects), format!("{:?}", derived.objects));
    compare("meta", stored.meta.clone(), derived.meta.clone());
    differences
}

/// Checks the rows of one shard file, whose first row is example `first_index` of `stream`;
/// problems are prefixed with the row.
fn check_rows(
    generator: &Generator<'_>,
    stream: &Stream,
    first_index: u64,
    records: &[Record],
    checks: Checks,
) -> Vec<String> {
    records
        .par_iter()
        .enumerate()
        .flat_map_iter(|(row, record)| {
            let index = first_index + row as u64;
            let mut problems = check_images(record);
            if checks.labels {
                match generator.plan(stream, index).and_then(|p| labels(stream, index, &p.plan)) {
                    Ok(derived) => problems.extend(label_differences(record, &derived)),
                    Err(error) => problems.push(format!("cannot re-plan: {error:#}")),
                }
            }
            problems.into_iter().map(move |p| format!("row {row} ({}): {p}", record.id))
        })
        .collect()
}

/// Validates the dataset in `dir` (its manifest, shard files and rows).
pub fn validate(dir: &DatasetDir, manifest: &Manifest, generator: &Generator<'_>, checks: Checks) -> Report {
    let mut report = Report::default();
    let expected = units(&manifest.config);
    if checks.labels {
        generator.prepare(&expected);
    }
    let mut entries = manifest.shards.iter().peekable();
    for unit in &expected {
        let files: Vec<ShardEntry> = std::iter::from_fn(|| {
            entries.next_if(|e| (e.split, e.task, e.shard) == (unit.stream.split, unit.stream.task, unit.shard))
        })
        .cloned()
        .collect();
        if !files_hold_shard(&files, unit) {
            report.problems.push(format!(
                "{}: the manifest's files for this shard of the config ({}) do not hold its rows {}..{}",
                unit.path(),
                files.iter().map(|e| e.path.as_str()).collect::<Vec<_>>().join(", "),
                unit.start,
                unit.end
            ));
            continue;
        }
        for entry in &files {
            check_file(dir, manifest, generator, unit, entry, checks, &mut report);
        }
    }
    let extra: Vec<&str> = entries.map(|e| e.path.as_str()).collect();
    if !extra.is_empty() {
        report.problems.push(format!(
            "manifest.json lists {} files the config does not make (first: {})",
            extra.len(),
            extra[0]
        ));
    }
    report
}

/// Checks one shard file against its manifest entry: size, byte bound, checksum, schema,
/// rows.
fn check_file(
    dir: &DatasetDir,
    manifest: &Manifest,
    generator: &Generator<'_>,
    unit: &Unit,
    entry: &ShardEntry,
    checks: Checks,
    report: &mut Report,
) {
    report.files += 1;
    let path = dir.root().join(&entry.path);
    let mut problem = |p: String| report.problems.push(format!("{}: {p}", entry.path));
    let Ok(metadata) = std::fs::metadata(&path) else {
        problem("missing".into());
        return;
    };
    if metadata.len() != entry.bytes {
        problem(format!("{} bytes, the manifest says {} (truncated or replaced?)", metadata.len(), entry.bytes));
    }
    let max_bytes = manifest.config.shard_max_bytes;
    if max_bytes > 0 && metadata.len() > max_bytes {
        problem(format!("{} bytes, over the config's shard_max_bytes ({max_bytes})", metadata.len()));
    }
    match sha256_of(&path) {
        Ok(sum) if sum != entry.sha256 => {
            problem(format!("checksum {sum} differs from the manifest's {}", entry.sha256))
        }
        Ok(_) => {}
        Err(error) => problem(format!("{error:#}")),
    }
    let records = match read_records(&path) {
        Ok(records) => records,
        Err(error) => {
            let message = error.to_string();
            problem(message.trim_start_matches(&format!("{}: ", path.display())).to_string());
            return;
        }
    };
    if records.len() as u64 != entry.rows {
        problem(format!("{} rows, the manifest says {}", records.len(), entry.rows));
    }
    report.rows += records.len() as u64;
    for row_problem in check_rows(generator, &unit.stream, entry.first_index, &records, checks) {
        report.problems.push(format!("{}: {row_problem}", entry.path));
    }
}

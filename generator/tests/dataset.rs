//! `ipt-gen generate`, `merge` and `validate` as a user runs them: an interrupted run
//! resumes to the same dataset, two workers plus merge equal one process, validation finds
//! damaged shards and wrong labels, and Python tools load the result.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use ipt_gen::dataset::config::{DatasetConfig, SplitShares};
use ipt_gen::dataset::layout::units;
use ipt_gen::dataset::pipeline::{Generator, generate as generate_in_process};
use ipt_gen::dataset::rendering::Renderers;
use ipt_gen::dataset::shard_files::ShardFiles;
use ipt_gen::dataset::store::DatasetDir;
use ipt_gen::render::bevy_backend::{BevyRenderer, RendererOptions};
use ipt_gen::render::{RenderedView, Renderer, ViewRequest};
use ipt_gen::tasks::Task;
use ipt_schema::{Image, ShardWriter, read_records};

mod common;

use common::text;

/// A small dataset: two tasks (Path Tracing adds the slowest planning), a
/// benchmark split, four-row shards.
const ARGS: [&str; 14] = [
    "--tasks",
    "pet,mvc",
    "--count",
    "20",
    "--resolution",
    "64",
    "--benchmark",
    "pet=4",
    "--shard-rows",
    "4",
    "--seed",
    "3",
    "--splits",
    "0.8,0.1,0.1",
];

/// Runs `ipt-gen` (the tests give it absolute paths, so any working folder does).
fn run(args: &[&str]) -> Output {
    common::ipt_gen(args, Path::new("."))
}

fn generate(out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["generate", "--out", out.to_str().unwrap()];
    args.extend(ARGS);
    args.extend(extra);
    run(&args)
}

/// The uninterrupted single-process dataset, made once.
fn reference() -> &'static Path {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("reference");
        let result = generate(&out, &[]);
        assert!(result.status.success(), "{}", text(&result.stderr));
        (dir, out)
    })
    .1
}

/// Every file of a dataset (path relative to the folder, bytes), state folder excluded.
fn files(root: &Path) -> Vec<(String, Vec<u8>)> {
    common::files(root).into_iter().filter(|(relative, _)| !relative.starts_with(".ipt-gen")).collect()
}

fn assert_same_dataset(a: &Path, b: &Path) {
    let (a, b) = (files(a), files(b));
    let names = |f: &[(String, Vec<u8>)]| f.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&a), names(&b));
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        assert!(x == y, "{name} differs");
    }
}

#[test]
fn a_killed_run_resumes_to_the_uninterrupted_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("resumed");
    let mut args = vec!["generate".to_string(), "--out".into(), out.to_string_lossy().to_string()];
    args.extend(ARGS.iter().map(|a| a.to_string()));
    let mut child =
        common::ipt_gen_command(dir.path()).args(&args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    // Kill it (SIGKILL) once two shards are finished, in the middle of the third.
    let records = out.join(".ipt-gen/shards");
    let start = Instant::now();
    loop {
        let finished = std::fs::read_dir(&records).map(|d| d.count()).unwrap_or(0);
        if finished >= 2 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(300), "no shard finished in 5 minutes");
        assert!(child.try_wait().unwrap().is_none(), "the run ended before it could be killed");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!out.join("manifest.json").exists(), "the killed run should not have finished");
    let resumed = generate(&out, &[]);
    assert!(resumed.status.success(), "{}", text(&resumed.stderr));
    assert!(text(&resumed.stderr).contains("resuming"), "{}", text(&resumed.stderr));
    assert_same_dataset(reference(), &out);
    // Nothing partial is left behind.
    assert!(files(&out).iter().all(|(name, _)| !name.contains(".partial")));
}

#[test]
fn two_workers_and_merge_equal_one_process() {
    let dir = tempfile::tempdir().unwrap();
    let workers: Vec<PathBuf> = (0..2).map(|i| dir.path().join(format!("worker{i}"))).collect();
    for (i, worker) in workers.iter().enumerate() {
        let index = i.to_string();
        let result = generate(worker, &["--num-workers", "2", "--worker-index", &index]);
        assert!(result.status.success(), "{}", text(&result.stderr));
        assert!(text(&result.stdout).contains("ipt-gen merge"), "{}", text(&result.stdout));
    }
    // One worker alone cannot be merged.
    let merged = dir.path().join("merged");
    let early = run(&["merge", "--out", merged.to_str().unwrap(), workers[0].to_str().unwrap()]);
    assert!(!early.status.success());
    assert!(text(&early.stderr).contains("not finished"), "{}", text(&early.stderr));
    let result =
        run(&["merge", "--out", merged.to_str().unwrap(), workers[0].to_str().unwrap(), workers[1].to_str().unwrap()]);
    assert!(result.status.success(), "{}", text(&result.stderr));
    assert_same_dataset(reference(), &merged);
}

#[test]
fn workers_sharing_one_folder_merge_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let shared = dir.path().join("shared");
    for index in ["1", "0"] {
        let result = generate(&shared, &["--num-workers", "2", "--worker-index", index]);
        assert!(result.status.success(), "{}", text(&result.stderr));
    }
    let result = run(&["merge", "--out", shared.to_str().unwrap()]);
    assert!(result.status.success(), "{}", text(&result.stderr));
    assert_same_dataset(reference(), &shared);
}

#[test]
fn another_config_into_an_existing_dataset_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let copy = copy_of_reference(dir.path());
    std::fs::create_dir_all(copy.join(".ipt-gen")).unwrap();
    std::fs::copy(reference().join(".ipt-gen/config.json"), copy.join(".ipt-gen/config.json")).unwrap();
    let result = generate(&copy, &["--with-ids"]);
    assert!(!result.status.success());
    let message = text(&result.stderr);
    assert!(message.contains("another configuration") && message.contains("with_ids: true vs false"), "{message}");
}

#[test]
fn a_second_process_into_the_same_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("busy");
    let lock_dir = out.join(".ipt-gen");
    std::fs::create_dir_all(&lock_dir).unwrap();
    let lock = std::fs::File::create(lock_dir.join("lock-worker-0-of-1")).unwrap();
    lock.lock().unwrap();
    let result = generate(&out, &[]);
    assert!(!result.status.success());
    assert!(text(&result.stderr).contains("another ipt-gen process"), "{}", text(&result.stderr));
}

/// Every record of a dataset, its files read in name order.
fn records_by_file_name(root: &Path) -> Vec<ipt_schema::Record> {
    let names = files(root).into_iter().map(|(name, _)| name).filter(|n| n.ends_with(".parquet"));
    names.flat_map(|name| read_records(&root.join(name)).unwrap()).collect()
}

/// `generate` into `out` with ten-row shards and a byte bound of 256 KiB: ten rows of 64 px
/// images are about 150-300 KB, so some shards need two files.
fn generate_bounded(out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["generate", "--out", out.to_str().unwrap()];
    args.extend(ARGS);
    let rows = args.iter().position(|&a| a == "--shard-rows").unwrap() + 1;
    args[rows] = "10";
    args.extend(["--shard-max-bytes", "256KiB"]);
    args.extend(extra);
    run(&args)
}

#[test]
fn shards_over_the_byte_bound_are_written_as_several_files_with_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bounded");
    let result = generate_bounded(&out, &[]);
    assert!(result.status.success(), "{}", text(&result.stderr));
    let shard_files: Vec<(String, Vec<u8>)> =
        files(&out).into_iter().filter(|(name, _)| name.ends_with(".parquet")).collect();
    for (name, bytes) in &shard_files {
        assert!(bytes.len() <= 256 * 1024, "{name}: {} bytes", bytes.len());
    }
    assert!(shard_files.iter().any(|(name, _)| name.ends_with("-part-001.parquet")), "no shard was split");
    // The same examples in the same order as the reference's four-row shards, byte for byte.
    assert!(records_by_file_name(&out) == records_by_file_name(reference()));
    let (valid, report) = validate(&out);
    assert!(valid, "{report}");
    // Workers and merge carry every file of a split shard.
    let workers: Vec<PathBuf> = (0..2).map(|i| dir.path().join(format!("worker{i}"))).collect();
    for (i, worker) in workers.iter().enumerate() {
        let result = generate_bounded(worker, &["--num-workers", "2", "--worker-index", &i.to_string()]);
        assert!(result.status.success(), "{}", text(&result.stderr));
    }
    let merged = dir.path().join("merged");
    let mut merge = vec!["merge", "--out", merged.to_str().unwrap()];
    merge.extend(workers.iter().map(|w| w.to_str().unwrap()));
    let result = run(&merge);
    assert!(result.status.success(), "{}", text(&result.stderr));
    assert_same_dataset(&out, &merged);
}

#[test]
fn an_example_larger_than_the_byte_bound_is_an_error_naming_the_setting_and_example() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DatasetDir::new(tmp.path());
    let unit = units(&DatasetConfig { count: 4, shard_rows: 4, ..DatasetConfig::default() })[0];
    let first = files(reference()).into_iter().map(|(name, _)| name).find(|n| n.ends_with(".parquet")).unwrap();
    let mut record = read_records(&reference().join(first)).unwrap().remove(0);
    record.imagination = Image::png(vec![0; 300_000]);
    let mut shard = ShardFiles::create(&dir, unit, 256 * 1024, 32).unwrap();
    let error = shard.push(&record).unwrap_err().to_string();
    assert!(error.contains("shard_max_bytes") && error.contains(&record.id), "{error}");
}

/// A copy of the reference dataset to damage.
/// A renderer whose first render comes back black (as a 512 px render once did under load).
struct BlankOnce {
    inner: BevyRenderer,
    renders: usize,
}

impl Renderer for BlankOnce {
    fn load_scene(&mut self, scene: &ipt_scenes::Scene) -> anyhow::Result<()> {
        self.inner.load_scene(scene)
    }

    fn render(&mut self, views: &[ViewRequest]) -> anyhow::Result<Vec<RenderedView>> {
        let mut rendered = self.inner.render(views)?;
        if self.renders == 0 {
            rendered[0].rgb.as_mut().unwrap().pixels_mut().for_each(|p| *p = image::Rgb([0, 0, 0]));
        }
        self.renders += 1;
        Ok(rendered)
    }

    fn adapter(&self) -> &str {
        self.inner.adapter()
    }
}

#[test]
fn a_blank_frame_is_rendered_again_and_the_dataset_is_unchanged() {
    // The configuration ARGS give on the command line.
    let config = DatasetConfig {
        mix: [(Task::Pet, 1.0), (Task::Mvc, 1.0)].into(),
        count: 20,
        resolution: 64,
        benchmark: [(Task::Pet, 4)].into(),
        shard_rows: 4,
        seed: 3,
        splits: SplitShares { train: 0.8, validation: 0.1, test: 0.1 },
        ..DatasetConfig::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let out = DatasetDir::new(&dir.path().join("blank-once"));
    let _lock = out.lock(1, 0).unwrap();
    out.claim(&config).unwrap();
    let assets = ipt_scenes::Assets::builtin().unwrap();
    let generator = Generator::new(&assets, &config).unwrap();
    let todo = units(&config);
    let inner = BevyRenderer::new(&RendererOptions::default()).unwrap();
    let mut renderers =
        Renderers::start(BlankOnce { inner, renders: 0 }, 0, |_| anyhow::bail!("no helper renderers")).unwrap();
    generate_in_process(&generator, &out, &todo, &mut renderers, &indicatif::ProgressBar::hidden()).unwrap();
    let examples: u64 = todo.iter().map(|u| u.rows()).sum();
    assert_eq!(renderers.first().renders as u64, examples + 1, "the blank example is rendered once more");
    out.finalize(&config).unwrap();
    ipt_gen::commands::audit::audit_dataset(&out).unwrap();
    assert_same_dataset(reference(), out.root());
}

fn copy_of_reference(dir: &Path) -> PathBuf {
    let copy = dir.join("copy");
    for (name, bytes) in files(reference()) {
        let path = copy.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    copy
}

fn validate(dir: &Path) -> (bool, String) {
    let result = run(&["validate", dir.to_str().unwrap()]);
    (result.status.success(), text(&result.stdout) + &text(&result.stderr))
}

#[test]
fn validate_passes_a_good_dataset_and_names_bad_shards_and_rows() {
    let (ok, report) = validate(reference());
    assert!(ok, "{report}");
    assert!(report.contains("0 problem(s)"), "{report}");

    let dir = tempfile::tempdir().unwrap();
    let copy = copy_of_reference(dir.path());
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(copy.join("manifest.json")).unwrap()).unwrap();
    let shard = |i: usize| manifest["shards"][i]["path"].as_str().unwrap().to_string();

    // A truncated shard.
    let truncated = copy.join(shard(0));
    let bytes = std::fs::read(&truncated).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() * 2 / 3]).unwrap();
    // A flipped byte in another (inside an image: the file still parses).
    let flipped = copy.join(shard(1));
    let mut bytes = std::fs::read(&flipped).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&flipped, &bytes).unwrap();
    // A wrong label in a third, rewritten as a valid shard with an updated manifest, so
    // only the label check can find it.
    let relabelled = copy.join(shard(2));
    let mut records = read_records(&relabelled).unwrap();
    let wrong = if records[1].answer == "A" { "B" } else { "A" };
    records[1].answer = wrong.to_string();
    let mut writer = ShardWriter::create(&relabelled, 32).unwrap();
    writer.write(&records).unwrap();
    writer.finish().unwrap();
    let mut manifest = manifest.clone();
    manifest["shards"][2]["bytes"] = std::fs::metadata(&relabelled).unwrap().len().into();
    manifest["shards"][2]["sha256"] = ipt_gen::dataset::store::sha256_of(&relabelled).unwrap().into();
    // A blank image (one colour, the right size) in a fourth, likewise rewritten.
    let blanked = copy.join(shard(3));
    let mut blank_records = read_records(&blanked).unwrap();
    let camera = &blank_records[2].cameras[0];
    let mut png = Vec::new();
    image::RgbImage::new(camera.width, camera.height)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    blank_records[2].images[0] = Image::png(png);
    let mut writer = ShardWriter::create(&blanked, 32).unwrap();
    writer.write(&blank_records).unwrap();
    writer.finish().unwrap();
    manifest["shards"][3]["bytes"] = std::fs::metadata(&blanked).unwrap().len().into();
    manifest["shards"][3]["sha256"] = ipt_gen::dataset::store::sha256_of(&blanked).unwrap().into();
    std::fs::write(copy.join("manifest.json"), serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();

    let (ok, report) = validate(&copy);
    assert!(!ok, "{report}");
    assert!(report.contains(&format!("{}: ", shard(0))) && report.contains("bytes, the manifest says"), "{report}");
    assert!(report.contains(&format!("{}: checksum", shard(1))), "{report}");
    let label_problem = format!("{}: row 1 ({}): answer is '{wrong}'", shard(2), records[1].id);
    assert!(report.contains(&label_problem), "expected '{label_problem}' in:\n{report}");
    let blank_problem = format!("{}: row 2 ({}): image 1 is blank", shard(3), blank_records[2].id);
    assert!(report.contains(&blank_problem), "expected '{blank_problem}' in:\n{report}");
}

fn run_python(script: &str, root: &Path) -> String {
    let result = Command::new(common::python()).arg("-c").arg(script).arg(root).output().expect("python runs");
    assert!(result.status.success(), "{}\n{}", text(&result.stdout), text(&result.stderr));
    text(&result.stdout)
}

#[test]
fn hugging_face_datasets_loads_images_as_images_and_every_row() {
    let script = r#"
import json, sys
from datasets import load_dataset
from PIL import Image
root = sys.argv[1]
manifest = json.load(open(f"{root}/manifest.json"))
expected = {}
for stream in manifest["streams"]:
    expected[stream["split"]] = expected.get(stream["split"], 0) + stream["count"]
ds = load_dataset(root)
assert {split: len(ds[split]) for split in ds} == expected, (dict(ds.num_rows), expected)
for split in ds:
    for row in ds[split]:
        assert isinstance(row["imagination"], Image.Image), type(row["imagination"])
        assert all(isinstance(image, Image.Image) for image in row["images"]), [type(i) for i in row["images"]]
        assert row["imagination"].size == (row["cameras"][-1]["width"], row["cameras"][-1]["height"])
pet = load_dataset(root, "pet")
assert all(task == "pet" for split in pet for task in pet[split]["task"])
print("ok", sum(expected.values()))
"#;
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(reference().join("manifest.json")).unwrap()).unwrap();
    let out = run_python(script, reference());
    assert_eq!(out.trim(), format!("ok {}", manifest["examples"]));
}

#[test]
fn duckdb_and_pandas_query_the_shards() {
    let script = r#"
import json, sys
import duckdb, pandas
root = sys.argv[1]
counts = duckdb.sql(f"SELECT split, task, count(*) FROM '{root}/data/*/*.parquet' GROUP BY ALL ORDER BY ALL").fetchall()
frame = pandas.read_parquet(f"{root}/data/train")
assert set(frame["answer"]) <= set("ABCD")
print(json.dumps([[s, t, n] for s, t, n in counts]), len(frame))
"#;
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(reference().join("manifest.json")).unwrap()).unwrap();
    let out = run_python(script, reference());
    let (json, train_rows) = out.trim().rsplit_once(' ').unwrap();
    let counts: Vec<(String, String, u64)> = serde_json::from_str(json).unwrap();
    let mut expected: Vec<(String, String, u64)> = manifest["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (s["split"].as_str().unwrap().into(), s["task"].as_str().unwrap().into(), s["count"].as_u64().unwrap())
        })
        .collect();
    expected.sort();
    assert_eq!(counts, expected);
    let train: u64 = expected.iter().filter(|e| e.0 == "train").map(|e| e.2).sum();
    assert_eq!(train_rows.parse::<u64>().unwrap(), train);
}

#[test]
fn preview_inlines_the_images_of_the_first_example_of_each_task() {
    use base64::Engine;
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("preview.html");
    let result = run(&["preview", reference().to_str().unwrap(), "--out", page.to_str().unwrap(), "--per-task", "1"]);
    assert!(result.status.success(), "{}", text(&result.stderr));
    let html = std::fs::read_to_string(&page).unwrap();
    let embedded: Vec<Vec<u8>> = html
        .split("data:image/png;base64,")
        .skip(1)
        .map(|rest| base64::engine::general_purpose::STANDARD.decode(&rest[..rest.find('"').unwrap()]).unwrap())
        .collect();
    // The page shows, task by task, the first example of the task's first shard in the
    // manifest: its inputs, then its imagination.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(reference().join("manifest.json")).unwrap()).unwrap();
    let mut expected = Vec::new();
    for task in ["pet", "pt", "mvc"] {
        let shards = manifest["shards"].as_array().unwrap();
        let Some(shard) = shards.iter().find(|s| s["task"] == task) else { continue };
        let record = read_records(&reference().join(shard["path"].as_str().unwrap())).unwrap().remove(0);
        assert!(html.contains(&record.id) || html.contains(&record.question[..20]), "{task} example missing");
        expected.extend(record.images.iter().chain([&record.imagination]).map(|image| image.data().to_vec()));
    }
    assert_eq!(embedded.len(), expected.len());
    assert!(embedded == expected, "the inlined images are not the dataset's");
}

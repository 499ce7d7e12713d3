//! `ipt-gen export` as a user runs it: every format read the way its stack's loader reads it
//! (a Python script following BAGEL's, TRL's through `datasets`, LLaVA's and LLaMA-Factory's
//! rules) and every example checked against its source row; clear errors for bad
//! arguments; a stopped export resumes to the same files.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

mod common;

use common::{files, ipt_gen, run_python_file, text};

/// A small dataset of every task (Path Tracing's `ego_dir` has three inputs, MVC four),
/// with train and test splits.
fn dataset() -> &'static Path {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("dataset");
        let args = [
            "generate",
            "--out",
            out.to_str().unwrap(),
            "--count",
            "18",
            "--resolution",
            "64",
            "--seed",
            "4",
            "--splits",
            "0.5,0,0.5",
            "--benchmark",
            "0",
            "--shard-rows",
            "2",
            "--no-audit",
        ];
        let result = ipt_gen(&args, Path::new("."));
        assert!(result.status.success(), "{}", text(&result.stderr));
        (dir, out)
    })
    .1
}

/// Runs `ipt-gen export` of the small dataset into `out` (its train and test splits unless
/// `args` name the splits).
fn export(out: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["export", dataset().to_str().unwrap(), "--out", out.to_str().unwrap()];
    if !args.contains(&"--splits") {
        all.extend(["--splits", "train,test"]);
    }
    all.extend(args);
    ipt_gen(&all, Path::new("."))
}

#[test]
fn every_format_reads_as_its_stack_reads_it_and_matches_the_source() {
    let out = tempfile::tempdir().unwrap();
    let exports: [&[&str]; 5] = [
        &["--format", "bagel", "--regime", "mixed"],
        &["--format", "bagel", "--regime", "cot"],
        &["--format", "trl", "--regime", "label", "--imagination", "input"],
        &["--format", "llava", "--regime", "cot"],
        &["--format", "sharegpt", "--regime", "label", "--imagination", "input"],
    ];
    for args in exports {
        let result = export(out.path(), args);
        assert!(result.status.success(), "{args:?}: {}", text(&result.stderr));
    }
    let checker = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/export_check.py");
    let printed = run_python_file(&checker, &[out.path(), dataset()]);
    // Every example once per dataset: bagel mixed (2) and cot (1), trl, llava, sharegpt.
    assert_eq!(printed.trim(), format!("ok {}", 18 * 6));
}

#[test]
fn bad_arguments_get_errors_that_say_what_to_do() {
    let out = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 4] = [
        (&["--format", "parquet", "--regime", "label"], "possible values: bagel, llava, sharegpt, trl"),
        (&["--format", "llava", "--regime", "ipt"], "has no output image, so it cannot hold --regime ipt"),
        (&["--format", "bagel", "--regime", "ipt", "--imagination", "input"], "is for the text-only formats"),
        (
            &["--format", "trl", "--regime", "label", "--tasks", "pet", "--splits", "benchmark"],
            "has no examples of the asked",
        ),
    ];
    for (args, expected) in cases {
        let result = export(out.path(), args);
        assert!(!result.status.success(), "{args:?} succeeded");
        assert!(text(&result.stderr).contains(expected), "{args:?}: expected '{expected}' in {}", text(&result.stderr));
    }
    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("notes.txt"), "mine").unwrap();
    let result = export(other.path(), &["--format", "trl", "--regime", "label"]);
    assert!(text(&result.stderr).contains("was not made by `ipt-gen export`"), "{}", text(&result.stderr));
    assert_eq!(std::fs::read_dir(other.path()).unwrap().count(), 1, "nothing is written into a foreign folder");
}

#[test]
fn a_stopped_export_resumes_to_the_same_files() {
    let out = tempfile::tempdir().unwrap();
    let args = ["--format", "trl", "--regime", "cot"];
    assert!(export(out.path(), &args).status.success());
    let whole = files(out.path());
    // As if killed after some units: their files are there, the others and the card not.
    let data = out.path().join("trl-cot/data");
    let mut written: Vec<PathBuf> = std::fs::read_dir(&data).unwrap().map(|e| e.unwrap().path()).collect();
    written.sort();
    for path in &written[written.len() / 2..] {
        std::fs::remove_file(path).unwrap();
    }
    std::fs::remove_file(out.path().join("trl-cot/README.md")).unwrap();
    std::fs::write(data.join(".train-pet-00001-of-00003.parquet.4242.partial"), "half a file").unwrap();
    let result = export(out.path(), &args);
    assert!(result.status.success(), "{}", text(&result.stderr));
    assert!(text(&result.stdout).contains("done before"), "{}", text(&result.stdout));
    assert_eq!(files(out.path()), whole, "the resumed export differs from the whole one");
    // Asking for other options in the same export folder is refused.
    let other = export(out.path(), &["--format", "trl", "--regime", "cot", "--tasks", "pet"]);
    assert!(text(&other.stderr).contains("was exported with other options"), "{}", text(&other.stderr));
}

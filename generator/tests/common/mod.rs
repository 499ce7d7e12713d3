//! What the tests that run the `ipt-gen` binary share.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `ipt-gen` binary, run in `cwd` as on a machine without the furniture library: these
/// tests are about primitive objects, and an imported library would change what the
/// commands build by default (the mesh tests use it on purpose).
pub fn ipt_gen_command(cwd: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ipt-gen"));
    command.current_dir(cwd).env("IPT_ASSETS_DIR", "/nonexistent/ipt-toolkit-assets");
    command
}

/// Runs `ipt-gen` with `args` in the folder `cwd` (see [`ipt_gen_command`]) and waits for it.
pub fn ipt_gen(args: &[&str], cwd: &Path) -> Output {
    ipt_gen_command(cwd).args(args).output().expect("ipt-gen runs")
}

/// A process's output as text (invalid UTF-8 replaced).
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The Python interpreter with `datasets`, `duckdb` and `pandas` (scripts/python-env makes
/// it; `IPT_PYTHON` overrides).
#[allow(dead_code)] // Not every test binary that includes this module runs Python.
pub fn python() -> PathBuf {
    if let Ok(path) = std::env::var("IPT_PYTHON") {
        return PathBuf::from(path);
    }
    let home = std::env::var("HOME").expect("HOME is set");
    let path = PathBuf::from(home).join(".cache/ipt-toolkit/python/bin/python");
    assert!(path.exists(), "no Python environment at {}: run scripts/python-env (scripts/test does)", path.display());
    path
}

/// Runs the Python script `script` with `args`; returns what it printed (fails the test,
/// showing its output, when it fails).
#[allow(dead_code)] // Not every test binary that includes this module runs Python scripts.
pub fn run_python_file(script: &Path, args: &[&Path]) -> String {
    let result = Command::new(python()).arg(script).args(args).output().expect("python runs");
    assert!(result.status.success(), "{}\n{}", text(&result.stdout), text(&result.stderr));
    text(&result.stdout)
}

/// Every file under `root`, sorted: (path relative to `root`, bytes).
#[allow(dead_code)] // Not every test binary that includes this module compares folders.
pub fn files(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let relative = path.strip_prefix(root).unwrap().to_string_lossy().to_string();
                found.push((relative, std::fs::read(&path).unwrap()));
            }
        }
    }
    found.sort();
    found
}

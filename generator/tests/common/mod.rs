//! What the tests that run the `ipt-gen` binary share.

use std::path::Path;
use std::process::{Command, Output};

/// Runs `ipt-gen` with `args` in the folder `cwd` and waits for it.
pub fn ipt_gen(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ipt-gen")).args(args).current_dir(cwd).output().expect("ipt-gen runs")
}

/// A process's output as text (invalid UTF-8 replaced).
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

//! Embeds the built-in material library, catalog and templates in the crate, so `ipt-gen`
//! works from any folder. Users still edit the files; this only copies them in at build time.

use std::fmt::Write;
use std::path::Path;

fn main() {
    // Read at run time: the build script's binary is shared between checkouts that share a
    // target folder (CI's cache), so a path fixed when it was compiled may be another clone's.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest_dir);
    let mut code = String::new();
    for (constant, folder) in [("CATALOG", "catalog"), ("TEMPLATES", "templates")] {
        let dir = root.join(folder);
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
            .map(|entry| entry.expect("directory entry").path())
            .filter(|path| path.extension().is_some_and(|e| e == "toml"))
            .collect();
        files.sort();
        writeln!(code, "pub const {constant}: &[(&str, &str)] = &[").unwrap();
        for path in files {
            let name = path.file_name().unwrap().to_string_lossy();
            writeln!(code, "    ({name:?}, include_str!({:?})),", path.display().to_string()).unwrap();
        }
        writeln!(code, "];").unwrap();
    }
    let materials = root.join("materials.toml");
    println!("cargo:rerun-if-changed={}", materials.display());
    writeln!(code, "pub const MATERIALS: &str = include_str!({:?});", materials.display().to_string()).unwrap();
    let out = Path::new(&std::env::var("OUT_DIR").unwrap()).join("builtin_assets.rs");
    std::fs::write(out, code).unwrap();
}

//! `ipt-gen assets`: the free furniture library. `import` turns the models the mapping file
//! names into a catalog folder that every command then loads by default; `list` prints the
//! library's models, to choose from when editing the mapping.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use ipt_scenes::AssetSources;
use ipt_scenes::library::{
    BUILTIN_MAPPING, DEBIAN_FURNITURE_DIR, ImportOptions, Mapping, import, installed_dir, read_library,
};

/// The `assets` subcommands.
#[derive(Debug, Subcommand)]
pub enum AssetsCommand {
    /// Import the models the mapping file names from Debian's sweethome3d-furniture package
    /// (install it with `scripts/setup --assets`): simplified to a triangle budget, with
    /// textures, sizes, authors and licences, into the folder every command loads meshes from.
    Import(ImportArgs),
    /// List the library's models (id, name, size, licence), to choose from when editing a
    /// mapping file.
    List(ListArgs),
}

/// Arguments of `ipt-gen assets import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The folder of the library's `.sh3f` archives.
    #[arg(long, value_name = "DIR", default_value = DEBIAN_FURNITURE_DIR)]
    pub from: PathBuf,
    /// A mapping file (category -> model ids) to use instead of the built-in
    /// scenes/assets/sweethome3d.toml.
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// Where to write the models and category files. Default: the folder every command
    /// loads meshes from ($IPT_ASSETS_DIR, else ~/.local/share/ipt-toolkit/assets).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Most triangles per model after simplification (software rendering pays for each).
    #[arg(long, default_value_t = 3000)]
    pub triangles: usize,
    /// Largest texture side in pixels.
    #[arg(long, default_value_t = 256)]
    pub texture_size: u32,
    /// Import only models under these licences (comma-separated, as in the mapping file's
    /// [licenses], e.g. `CC0-1.0` for public-domain models only). Default: all.
    #[arg(long, value_delimiter = ',')]
    pub licenses: Vec<String>,
}

/// Arguments of `ipt-gen assets list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// The folder of the library's `.sh3f` archives.
    #[arg(long, value_name = "DIR", default_value = DEBIAN_FURNITURE_DIR)]
    pub from: PathBuf,
    /// Only models whose id or name contains this text (any case).
    #[arg(long)]
    pub grep: Option<String>,
}

/// Runs `ipt-gen assets ...`.
pub fn run(sources: &AssetSources, command: &AssetsCommand) -> Result<()> {
    match command {
        AssetsCommand::Import(args) => run_import(sources, args),
        AssetsCommand::List(args) => run_list(args),
    }
}

fn run_import(sources: &AssetSources, args: &ImportArgs) -> Result<()> {
    let (text, mapping_file) = match &args.mapping {
        Some(path) => {
            (std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?, path.clone())
        }
        None => (BUILTIN_MAPPING.to_string(), PathBuf::from("builtin:scenes/assets/sweethome3d.toml")),
    };
    let mapping: Mapping =
        ipt_scenes::library::parse_mapping(&text, &mapping_file).map_err(|e| anyhow::anyhow!("{e}"))?;
    if args.triangles < 100 {
        bail!("--triangles {}: give at least 100", args.triangles);
    }
    // The catalog the models are added to, without any library already imported.
    let primitives = AssetSources { looks: ipt_scenes::Looks::Primitives, ..sources.clone() };
    let catalog = super::load_assets(&primitives)?.catalog;
    let out = args.out.clone().unwrap_or_else(installed_dir);
    let total = mapping.categories.values().map(Vec::len).sum::<usize>() as u64;
    let bar = ProgressBar::new(total).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} models · {elapsed} · {msg}").expect("a valid template"),
    );
    let options = ImportOptions {
        from: args.from.clone(),
        out: out.clone(),
        triangle_budget: args.triangles,
        texture_size: args.texture_size,
        licenses: args.licenses.clone(),
    };
    let started = std::time::Instant::now();
    let report = import(&mapping, &mapping_file, &catalog, &options, |id| {
        bar.set_message(id.to_string());
        bar.inc(1);
    })
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    bar.finish_and_clear();
    let categories: std::collections::BTreeSet<&str> = report.imported.iter().map(|m| m.category.as_str()).collect();
    let (before, after) = report.imported.iter().fold((0, 0), |(b, a), m| (b + m.triangles.0, a + m.triangles.1));
    println!(
        "imported {} models for {} categories into {} in {:.1} s ({before} triangles simplified to {after})",
        report.imported.len(),
        categories.len(),
        out.display(),
        started.elapsed().as_secs_f64()
    );
    for (id, why) in &report.skipped {
        println!("  left out {id}: {why}");
    }
    for note in &report.notes {
        println!("  note: {note}");
    }
    Ok(())
}

fn run_list(args: &ListArgs) -> Result<()> {
    let library = read_library(&args.from).map_err(|e| anyhow::anyhow!("{e}"))?;
    let needle = args.grep.as_ref().map(|g| g.to_lowercase());
    for model in library.values() {
        let text = format!("{} {}", model.id, model.name).to_lowercase();
        if needle.as_ref().is_some_and(|n| !text.contains(n)) {
            continue;
        }
        let s = model.size;
        println!("{:<55} {:<28} {:.2} x {:.2} x {:.2} m  ({})", model.id, model.name, s.x, s.y, s.z, model.archive);
    }
    Ok(())
}

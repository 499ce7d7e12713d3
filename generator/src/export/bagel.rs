//! `--format bagel`: the Parquet layout the IPT authors trained BAGEL with (their
//! `unified_edit` data, read by the loader of their BAGEL fork, which splits `image_list`
//! by `num_input_images`): per row the example's id, the input images then the imagination,
//! one instruction,
//! the outputs (an imagination goes between the two outputs of `ipt`), in row groups of
//! 64 rows. Per dataset a `parquet_info.json` (`{path: {num_row_groups,
//! num_rows}}`, paths exactly as the loader joins them), and per split a `dataset_info.py`
//! entry and a YAML data config (`mixed`: two datasets of equal size in one group).

use std::collections::BTreeMap;
use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use arrow_schema::{DataType, Field, Schema};
use ipt_schema::{Presentation, Record, Split};
use parquet::file::reader::{FileReader, SerializedFileReader};
use serde::Serialize;
use serde_bytes::Bytes;

use super::table::Table;
use super::text::{dataset_part, instruction, outputs};
use super::{Target, Unit, Writer, images_of, write_readme};
use crate::files::write_atomic;

/// One row of the authors' layout.
#[derive(Serialize)]
struct Row<'a> {
    id: &'a str,
    image_list: Vec<&'a Bytes>,
    instruction_list: [String; 1],
    output_text_list: Vec<String>,
    num_input_images: i64,
}

fn schema() -> Schema {
    let list = |item: DataType| DataType::List(Arc::new(Field::new("item", item, false)));
    Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("image_list", list(DataType::Binary), false),
        Field::new("instruction_list", list(DataType::Utf8), false),
        Field::new("output_text_list", list(DataType::Utf8), false),
        Field::new("num_input_images", DataType::Int64, false),
    ])
}

/// The row of `record` shown as `presentation`.
fn row(record: &Record, presentation: Presentation) -> Result<Row<'_>> {
    let images = images_of(record, presentation == Presentation::Imagined)?;
    Ok(Row {
        id: &record.id,
        image_list: images.into_iter().map(Bytes::new).collect(),
        instruction_list: [instruction(record, presentation, false)],
        output_text_list: outputs(record, presentation),
        num_input_images: record.images.len() as i64,
    })
}

/// Writes BAGEL datasets: one folder per (presentation, split), `<part>_<split>` (`ipt_train`).
pub(crate) struct Bagel<'t> {
    target: &'t Target,
}

impl<'t> Bagel<'t> {
    pub(crate) fn new(target: &'t Target) -> Bagel<'t> {
        Bagel { target }
    }

    fn presentations(&self) -> &'static [Presentation] {
        self.target.options.regime.presentations()
    }
}

/// A dataset's folder name: `<part>_<split>` (see [`dataset_part`]).
fn dataset_name(presentation: Presentation, split: Split) -> String {
    format!("{}_{}", dataset_part(presentation), split.name())
}

impl Writer for Bagel<'_> {
    fn outputs(&self, unit: &Unit) -> Vec<PathBuf> {
        self.presentations()
            .iter()
            .map(|&presentation| {
                PathBuf::from(dataset_name(presentation, unit.split)).join(format!("{}.parquet", unit.name))
            })
            .collect()
    }

    fn write_unit(&self, unit: &Unit, batches: &mut dyn Iterator<Item = Result<Vec<Record>>>) -> Result<()> {
        let files = self.outputs(unit);
        let mut tables = Vec::new();
        for file in &files {
            tables.push(Table::create(&self.target.folder.join(file), schema())?);
        }
        for batch in batches {
            let batch = batch?;
            for (table, &presentation) in tables.iter_mut().zip(self.presentations()) {
                let rows = batch.iter().map(|record| row(record, presentation)).collect::<Result<Vec<_>>>()?;
                table.write(&rows)?;
            }
        }
        for table in tables {
            table.finish()?;
        }
        Ok(())
    }

    fn finish(&self, units: &[Unit]) -> Result<Vec<PathBuf>> {
        let mut splits: BTreeMap<Split, Vec<&Unit>> = BTreeMap::new();
        for unit in units {
            splits.entry(unit.split).or_default().push(unit);
        }
        let mut entries = String::new();
        let mut configs = Vec::new();
        let mut examples = 0;
        for (&split, units) in &splits {
            let mut datasets = Vec::new();
            for &presentation in self.presentations() {
                let name = dataset_name(presentation, split);
                let dir = self.target.folder.join(&name);
                let data_dir = dir.to_string_lossy().to_string();
                let mut info = serde_json::Map::new();
                let mut rows = 0;
                for unit in units {
                    let file = format!("{}.parquet", unit.name);
                    let path = dir.join(&file);
                    let reader = SerializedFileReader::new(
                        File::open(&path).with_context(|| format!("cannot read {}", path.display()))?,
                    )
                    .with_context(|| format!("{} is not a Parquet file", path.display()))?;
                    let metadata = reader.metadata();
                    rows += metadata.file_metadata().num_rows();
                    // BAGEL looks files up by os.path.join(data_dir, name): the same string.
                    info.insert(
                        format!("{data_dir}/{file}"),
                        serde_json::json!({ "num_row_groups": metadata.num_row_groups(), "num_rows": metadata.file_metadata().num_rows() }),
                    );
                }
                write_atomic(&dir.join("parquet_info.json"), &serde_json::to_vec_pretty(&info)?)?;
                entries.push_str(&format!(
                    "    '{name}': {{\n        'data_dir': '{data_dir}',\n        'num_files': {},\n        \
                     'num_total_samples': {rows},\n        'parquet_info_path': '{data_dir}/parquet_info.json',\n    }},\n",
                    units.len()
                ));
                if presentation == self.presentations()[0] {
                    examples += rows as u64;
                }
                datasets.push((name, units.len()));
            }
            let config = self.target.folder.join(format!("{}.yaml", split.name()));
            write_atomic(&config, data_config(&datasets, self.target.options.regime.presentations()).as_bytes())?;
            configs.push(config);
        }
        let dataset_info = self.target.folder.join("dataset_info.py");
        let python = format!(
            "# Paste into DATASET_INFO['unified_edit'] in data/dataset_info.py of the IPT authors' BAGEL fork\n\
             # (its unified_edit loader reads num_input_images). Paths are absolute: after moving this\n\
             # folder, run the same `ipt-gen export` again to rewrite them (nothing else is redone).\n{entries}"
        );
        write_atomic(&dataset_info, python.as_bytes())?;
        let how = "- One folder per dataset (`<ipt|cot|answer>_<split>`) of Parquet files with `image_list` (inputs, then \
             the imagination for `ipt`), `instruction_list`, `output_text_list`, `num_input_images`, and its \
             `parquet_info.json`.\n\
             - `dataset_info.py`: the entries to paste into `DATASET_INFO['unified_edit']`.\n\
             - `<split>.yaml`: the data config to train on (`--dataset_config_file`); `mixed` lists its two \
             datasets with equal `num_used_data` (Parquet files, as BAGEL counts them).\n\n\
             See docs/export.md for the whole recipe.";
        let readme = write_readme(self.target, "", examples, how)?;
        let mut entry_points = vec![dataset_info];
        entry_points.extend(configs);
        entry_points.push(readme);
        Ok(entry_points)
    }
}

/// A BAGEL data config: one `unified_edit` group with `datasets` (name, Parquet files); the
/// text-only ones without the VAE.
fn data_config(datasets: &[(String, usize)], presentations: &[Presentation]) -> String {
    let names: String = datasets.iter().map(|(name, _)| format!("  - {name}\n")).collect();
    let used: String = datasets.iter().map(|(_, files)| format!("  - {files}\n")).collect();
    let vae = if presentations.contains(&Presentation::Imagined) { "" } else { "  enable_vae: False\n" };
    format!(
        "unified_edit:\n  dataset_names:\n{names}  image_transform_args:\n    image_stride: 16\n    \
         max_image_size: 1024\n    min_image_size: 512\n  vit_image_transform_args:\n    image_stride: 14\n    \
         max_image_size: 518\n    min_image_size: 224\n  is_mandatory: True\n  num_used_data:\n{used}{vae}  weight: 1\n"
    )
}

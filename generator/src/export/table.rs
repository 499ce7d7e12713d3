//! Writing rows of a serde type to one Parquet file, atomically: rows go to a temporary file
//! beside the target, which is renamed into place only when complete.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use arrow_schema::{FieldRef, Schema};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use serde::Serialize;

/// Rows per row group: about 64 MB of 256 px images, far from the 2 GiB a column chunk may
/// not exceed, and many (file, row group) pieces for a loader to spread over GPUs and
/// workers.
const ROW_GROUP_ROWS: usize = 64;

/// One Parquet file being written.
pub(crate) struct Table {
    path: PathBuf,
    temp: PathBuf,
    fields: Vec<FieldRef>,
    writer: ArrowWriter<BufWriter<File>>,
}

impl Table {
    /// Starts `path` (creating its folder) with `schema`, [`ROW_GROUP_ROWS`] rows per row group.
    pub(crate) fn create(path: &Path, schema: Schema) -> Result<Table> {
        let parent = path.parent().context("a table path has a folder")?;
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create folder {}", parent.display()))?;
        let name = path.file_name().context("a table path has a file name")?.to_string_lossy();
        let temp = parent.join(format!(".{name}.{}.partial", std::process::id()));
        let file = File::create(&temp).with_context(|| format!("cannot write {}", temp.display()))?;
        let properties = WriterProperties::builder().set_max_row_group_row_count(Some(ROW_GROUP_ROWS)).build();
        let schema = Arc::new(schema);
        let writer = ArrowWriter::try_new(BufWriter::new(file), schema.clone(), Some(properties))
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(Table { path: path.to_path_buf(), temp, fields: schema.fields().iter().cloned().collect(), writer })
    }

    /// Appends `rows`.
    pub(crate) fn write<T: Serialize>(&mut self, rows: &[T]) -> Result<()> {
        let batch = serde_arrow::to_record_batch(&self.fields, &rows)
            .with_context(|| format!("cannot encode rows of {}", self.path.display()))?;
        self.writer.write(&batch).with_context(|| format!("cannot write {}", self.path.display()))
    }

    /// Writes the footer, syncs the file and moves it into place; returns (row groups, rows).
    pub(crate) fn finish(self) -> Result<(usize, i64)> {
        let Table { path, temp, mut writer, .. } = self;
        let result = (|| -> Result<(usize, i64)> {
            writer.flush()?;
            let row_groups = writer.flushed_row_groups();
            let counts = (row_groups.len(), row_groups.iter().map(|group| group.num_rows()).sum());
            let file = writer.into_inner()?.into_inner().map_err(|error| error.into_error())?;
            file.sync_all()?;
            std::fs::rename(&temp, &path)?;
            Ok(counts)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        result.with_context(|| format!("cannot write {}", path.display()))
    }
}

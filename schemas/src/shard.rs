//! Parquet shards of records: written row group by row group, read back with the schema
//! checked. Image columns are stored without a codec (PNG bytes do not compress further);
//! text columns use Snappy.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{FieldRef, Schema};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;

use crate::columns::{SCHEMA_VERSION, VERSION_KEY, schema};
use crate::record::Record;

/// What went wrong with a shard, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    /// The file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The shard.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not a readable Parquet file (truncated, corrupt).
    #[error("{path}: not a readable Parquet shard: {message}")]
    Parquet {
        /// The shard.
        path: PathBuf,
        /// The decoder's message.
        message: String,
    },
    /// The file's columns differ from this version's record schema.
    #[error("{path}: {message}")]
    Schema {
        /// The shard.
        path: PathBuf,
        /// What differs.
        message: String,
    },
    /// Rows could not be converted to or from records.
    #[error("{path}: rows do not match the record type: {message}")]
    Rows {
        /// The shard.
        path: PathBuf,
        /// The converter's message.
        message: String,
    },
}

/// Text columns worth compressing.
const TEXT_COLUMNS: [&str; 4] = ["question", "cot", "think", "meta"];

/// Writes records to one Parquet file.
pub struct ShardWriter {
    path: PathBuf,
    fields: Vec<FieldRef>,
    writer: ArrowWriter<BufWriter<File>>,
}

impl ShardWriter {
    /// Creates (truncates) `path`; rows are grouped `row_group_rows` at a time.
    pub fn create(path: &Path, row_group_rows: usize) -> Result<ShardWriter, ShardError> {
        let file = File::create(path).map_err(|source| ShardError::Io { path: path.to_path_buf(), source })?;
        let mut properties = WriterProperties::builder()
            .set_compression(Compression::UNCOMPRESSED)
            .set_max_row_group_row_count(Some(row_group_rows.max(1)));
        for column in TEXT_COLUMNS {
            properties = properties.set_column_compression(ColumnPath::from(column), Compression::SNAPPY);
        }
        let schema = Arc::new(schema());
        let writer = ArrowWriter::try_new(BufWriter::new(file), schema.clone(), Some(properties.build()))
            .map_err(|e| parquet_error(path, e))?;
        Ok(ShardWriter { path: path.to_path_buf(), fields: schema.fields().iter().cloned().collect(), writer })
    }

    /// Appends `records`.
    pub fn write(&mut self, records: &[Record]) -> Result<(), ShardError> {
        let batch = serde_arrow::to_record_batch(&self.fields, &records)
            .map_err(|e| ShardError::Rows { path: self.path.clone(), message: e.to_string() })?;
        self.writer.write(&batch).map_err(|e| parquet_error(&self.path, e))
    }

    /// Writes the footer and flushes the file to disk.
    pub fn finish(self) -> Result<(), ShardError> {
        let path = self.path;
        let file = self.writer.into_inner().map_err(|e| parquet_error(&path, e))?;
        let file = file.into_inner().map_err(|e| ShardError::Io { path: path.clone(), source: e.into_error() })?;
        file.sync_all().map_err(|source| ShardError::Io { path, source })
    }
}

fn parquet_error(path: &Path, error: impl std::fmt::Display) -> ShardError {
    ShardError::Parquet { path: path.to_path_buf(), message: error.to_string() }
}

/// Checks that a file's schema is this version's record schema (column names and types).
fn check_schema(path: &Path, found: &Schema) -> Result<(), ShardError> {
    let expected = schema();
    let version = found.metadata().get(VERSION_KEY).map(String::as_str).unwrap_or("none");
    if version != SCHEMA_VERSION.to_string() {
        return Err(ShardError::Schema {
            path: path.to_path_buf(),
            message: format!("schema version {version}, expected {SCHEMA_VERSION}"),
        });
    }
    for want in expected.fields() {
        match found.field_with_name(want.name()) {
            Ok(got) if got.data_type() == want.data_type() => {}
            Ok(got) => {
                return Err(ShardError::Schema {
                    path: path.to_path_buf(),
                    message: format!("column '{}' is {}, expected {}", want.name(), got.data_type(), want.data_type()),
                });
            }
            Err(_) => {
                return Err(ShardError::Schema {
                    path: path.to_path_buf(),
                    message: format!("column '{}' is missing", want.name()),
                });
            }
        }
    }
    if found.fields().len() != expected.fields().len() {
        return Err(ShardError::Schema {
            path: path.to_path_buf(),
            message: format!("{} columns, expected {}", found.fields().len(), expected.fields().len()),
        });
    }
    Ok(())
}

/// Reads every record of a shard, checking its schema first.
pub fn read_records(path: &Path) -> Result<Vec<Record>, ShardError> {
    let file = File::open(path).map_err(|source| ShardError::Io { path: path.to_path_buf(), source })?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| parquet_error(path, e))?;
    check_schema(path, builder.schema())?;
    let reader = builder.build().map_err(|e| parquet_error(path, e))?;
    let mut records = Vec::new();
    for batch in reader {
        let batch: RecordBatch = batch.map_err(|e| parquet_error(path, e))?;
        let rows: Vec<Record> = serde_arrow::from_record_batch(&batch)
            .map_err(|e| ShardError::Rows { path: path.to_path_buf(), message: e.to_string() })?;
        records.extend(rows);
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Camera, Image, ObjectInfo};

    fn record(i: u64) -> Record {
        Record {
            id: format!("train-pet-{i:07}"),
            task: "pet".into(),
            variant: "plain".into(),
            subtype: "distance_closer".into(),
            split: "train".into(),
            question: "Closer or further?".into(),
            choices: vec!["Closer".into(), "Further".into()],
            answer: "A".into(),
            answer_text: "Closer".into(),
            images: vec![Image::png(vec![1, 2, 3])],
            imagination: Image::png(vec![4, 5]),
            cot: "1. Look.".into(),
            think: "Think.".into(),
            scene_id: "living_room-7".into(),
            template: "living_room".into(),
            seed: 7,
            index: i,
            cameras: vec![Camera {
                role: "input".into(),
                projection: "perspective".into(),
                width: 64,
                height: 64,
                hfov_degrees: Some(90.0),
                fx: 32.0,
                fy: 32.0,
                cx: 32.0,
                cy: 32.0,
                world_from_camera: (0..16).map(|k| k as f32).collect(),
            }],
            objects: vec![ObjectInfo {
                id: 3,
                category: "sofa".into(),
                name: "sofa".into(),
                position: vec![1.0, 0.5, 2.0],
                box_min: vec![0.0, 0.0, 1.0],
                box_max: vec![2.0, 1.0, 3.0],
            }],
            meta: "{}".into(),
            images_ids: None,
            imagination_ids: Some(Image::png(vec![9])),
            images_depth: None,
            imagination_depth: None,
        }
    }

    #[test]
    fn records_round_trip_through_a_shard() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.parquet");
        let records: Vec<Record> = (0..5).map(record).collect();
        let mut writer = ShardWriter::create(&path, 2).unwrap();
        writer.write(&records[..3]).unwrap();
        writer.write(&records[3..]).unwrap();
        writer.finish().unwrap();
        assert_eq!(read_records(&path).unwrap(), records);
    }

    #[test]
    fn a_truncated_shard_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.parquet");
        let mut writer = ShardWriter::create(&path, 2).unwrap();
        writer.write(&[record(0)]).unwrap();
        writer.finish().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let error = read_records(&path).unwrap_err().to_string();
        assert!(error.contains("b.parquet"), "{error}");
    }
}

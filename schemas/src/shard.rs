//! Parquet shards of records: written row group by row group, read back with the schema
//! checked. Image columns are stored without a codec (PNG bytes do not compress further);
//! text columns use Snappy.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{FieldRef, Schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::{ArrowWriter, ProjectionMask};
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
        let rows = self.encode(records)?;
        self.append(&rows)
    }

    /// Converts `records` to rows of this file's schema, ready to [`append`](Self::append).
    pub fn encode(&self, records: &[Record]) -> Result<EncodedRows, ShardError> {
        let batch = serde_arrow::to_record_batch(&self.fields, &records)
            .map_err(|e| ShardError::Rows { path: self.path.clone(), message: e.to_string() })?;
        Ok(EncodedRows { batch })
    }

    /// Appends encoded rows to the current row group (a full row group is written out).
    pub fn append(&mut self, rows: &EncodedRows) -> Result<(), ShardError> {
        self.writer.write(&rows.batch).map_err(|e| parquet_error(&self.path, e))
    }

    /// Writes out the current row group, even if it is not full.
    pub fn end_row_group(&mut self) -> Result<(), ShardError> {
        self.writer.flush().map_err(|e| parquet_error(&self.path, e))
    }

    /// An upper bound of the file's size if rows of `extra` bytes (an
    /// [`EncodedRows::size_bound`] sum) were appended in one more row group and the file were
    /// finished; rows already appended must have been written out by
    /// [`end_row_group`](Self::end_row_group).
    pub fn size_bound_with(&self, extra: u64) -> u64 {
        let row_groups = self.writer.flushed_row_groups().len() as u64 + 1;
        self.writer.bytes_written() as u64 + extra + FOOTER_BOUND + FOOTER_BOUND_PER_ROW_GROUP * row_groups
    }

    /// Writes the footer and flushes the file to disk; returns the file's size in bytes.
    pub fn finish(self) -> Result<u64, ShardError> {
        let path = self.path;
        let file = self.writer.into_inner().map_err(|e| parquet_error(&path, e))?;
        let file = file.into_inner().map_err(|e| ShardError::Io { path: path.clone(), source: e.into_error() })?;
        file.sync_all().map_err(|source| ShardError::Io { path: path.clone(), source })?;
        let metadata = file.metadata().map_err(|source| ShardError::Io { path, source })?;
        Ok(metadata.len())
    }
}

/// Bytes of a file's footer besides its row groups' entries (schema, key-value metadata,
/// magic numbers), with a wide margin.
const FOOTER_BOUND: u64 = 64 * 1024;
/// Bytes of one row group's entries in the footer and page indexes (about 10 KB measured for
/// 40 columns), with a wide margin.
const FOOTER_BOUND_PER_ROW_GROUP: u64 = 48 * 1024;
/// Bytes a row may add beyond its Arrow data: value lengths, levels and page headers.
const ROW_OVERHEAD_BOUND: u64 = 2048;

/// Records converted to the shard schema's columns.
pub struct EncodedRows {
    batch: RecordBatch,
}

impl EncodedRows {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.batch.num_rows()
    }

    /// An upper bound of the bytes these rows add to a shard: their Arrow data (stored as it
    /// is, but for the Snappy-compressed text columns, which may grow by about 1/6 at worst)
    /// plus a per-row allowance.
    pub fn size_bound(&self) -> u64 {
        let schema = self.batch.schema();
        let data: u64 = schema
            .fields()
            .iter()
            .zip(self.batch.columns())
            .map(|(field, column)| {
                let bytes = column.to_data().get_slice_memory_size().unwrap_or(0) as u64;
                if TEXT_COLUMNS.contains(&field.name().as_str()) { bytes + bytes / 5 } else { bytes }
            })
            .sum();
        data + ROW_OVERHEAD_BOUND * self.rows() as u64
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

/// Rows per batch of [`read_columns`].
pub const COLUMN_BATCH_ROWS: usize = 256;

/// Reads some columns of a shard as rows of `T`, in batches of at most
/// [`COLUMN_BATCH_ROWS`], without reading the other columns: `T` is a struct whose fields are named like the
/// record's columns (e.g. only `task`, `question`, `choices` and `answer` for a reader of the
/// text). Checks the schema first; `columns` are the names `T` needs.
pub fn read_columns<T: serde::de::DeserializeOwned>(
    path: &Path,
    columns: &[&str],
) -> Result<impl Iterator<Item = Result<Vec<T>, ShardError>> + use<T>, ShardError> {
    let file = File::open(path).map_err(|source| ShardError::Io { path: path.to_path_buf(), source })?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| parquet_error(path, e))?;
    check_schema(path, builder.schema())?;
    let mut roots = Vec::new();
    for name in columns {
        let index = builder.schema().index_of(name).map_err(|_| ShardError::Schema {
            path: path.to_path_buf(),
            message: format!("column '{name}' is not a record column"),
        })?;
        roots.push(index);
    }
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
    let reader =
        builder.with_projection(mask).with_batch_size(COLUMN_BATCH_ROWS).build().map_err(|e| parquet_error(path, e))?;
    let path = path.to_path_buf();
    Ok(reader.map(move |batch| {
        let batch: RecordBatch = batch.map_err(|e| parquet_error(&path, e))?;
        serde_arrow::from_record_batch(&batch)
            .map_err(|e| ShardError::Rows { path: path.clone(), message: e.to_string() })
    }))
}

/// Reads a shard's records batch by batch (at most [`COLUMN_BATCH_ROWS`] rows in memory at a
/// time, never the whole shard), checking its schema first: the reader for shards of
/// hundreds of megabytes.
pub fn stream_records(
    path: &Path,
) -> Result<impl Iterator<Item = Result<Vec<Record>, ShardError>> + use<>, ShardError> {
    let names: Vec<&str> = crate::columns::COLUMNS.iter().map(|column| column.name).collect();
    read_columns(path, &names)
}

/// Reads every record of a shard, checking its schema first.
pub fn read_records(path: &Path) -> Result<Vec<Record>, ShardError> {
    let mut records = Vec::new();
    for batch in stream_records(path)? {
        records.extend(batch?);
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
        let batches: Vec<Vec<Record>> = stream_records(&path).unwrap().map(Result::unwrap).collect();
        assert!(batches.iter().all(|batch| batch.len() <= COLUMN_BATCH_ROWS));
        assert_eq!(batches.concat(), records);
    }

    #[test]
    fn some_columns_are_read_alone_in_bounded_batches() {
        #[derive(Debug, PartialEq, serde::Deserialize)]
        struct Text {
            id: String,
            choices: Vec<String>,
            answer: String,
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.parquet");
        let records: Vec<Record> = (0..COLUMN_BATCH_ROWS as u64 + 5).map(record).collect();
        let mut writer = ShardWriter::create(&path, 64).unwrap();
        writer.write(&records).unwrap();
        writer.finish().unwrap();
        let batches: Vec<Vec<Text>> =
            read_columns(&path, &["id", "choices", "answer"]).unwrap().collect::<Result<_, _>>().unwrap();
        assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), [COLUMN_BATCH_ROWS, 5]);
        let rows: Vec<Text> = batches.into_iter().flatten().collect();
        let expected: Vec<Text> = records
            .iter()
            .map(|r| Text { id: r.id.clone(), choices: r.choices.clone(), answer: r.answer.clone() })
            .collect();
        assert_eq!(rows, expected);
        let unknown = read_columns::<Text>(&path, &["id", "colour"]).err().unwrap();
        assert!(unknown.to_string().contains("'colour'"), "{unknown}");
    }

    /// Bytes that no codec can shrink (a xorshift sequence).
    fn noise(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    #[test]
    fn the_size_bound_holds_and_is_close() {
        let dir = tempfile::tempdir().unwrap();
        for (case, (rows, image_bytes, row_group)) in
            [(1, 10, 1), (7, 5_000, 3), (40, 60_000, 8)].into_iter().enumerate()
        {
            let path = dir.path().join(format!("c{case}.parquet"));
            let mut writer = ShardWriter::create(&path, row_group).unwrap();
            let mut bound_of_group = 0;
            let mut pending = 0;
            for i in 0..rows {
                let mut r = record(i as u64);
                r.images = vec![Image::png(noise(image_bytes, i as u64)), Image::png(noise(image_bytes / 2, 99))];
                r.imagination = Image::png(noise(image_bytes, 1000 + i as u64));
                r.cot = String::from_utf8(noise(3000, i as u64).iter().map(|b| b'a' + b % 26).collect()).unwrap();
                let encoded = writer.encode(&[r]).unwrap();
                bound_of_group += encoded.size_bound();
                writer.append(&encoded).unwrap();
                pending += 1;
                if pending == row_group || i + 1 == rows {
                    writer.end_row_group().unwrap();
                    (bound_of_group, pending) = (0, 0);
                }
            }
            let bound = writer.size_bound_with(bound_of_group);
            let size = writer.finish().unwrap();
            assert_eq!(size, std::fs::metadata(&path).unwrap().len());
            assert!(size <= bound, "case {case}: {size} bytes, bound {bound}");
            let payload = (rows * (image_bytes * 5 / 2 + 3000)) as u64;
            assert!(bound < payload + payload / 10 + 400 * 1024, "case {case}: bound {bound} for {payload} bytes");
        }
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

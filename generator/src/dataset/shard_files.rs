//! Writing one shard within the byte bound: rows go into a Parquet file under a temporary
//! name, a row group at a time; when the next row could take the file over the bound, the
//! file is finished and the rows go on into the shard's next file. The bound of every file is
//! worked out before each row is added ([`EncodedRows::size_bound`],
//! [`ShardWriter::size_bound_with`]) and checked against the finished file's real size.

use anyhow::{Result, bail};
use ipt_schema::{EncodedRows, Record, ShardWriter};

use super::layout::Unit;
use super::store::{DatasetDir, PartRows};

/// The files of one shard being written.
pub struct ShardFiles<'a> {
    dir: &'a DatasetDir,
    unit: Unit,
    max_bytes: u64,
    row_group_rows: usize,
    /// Files finished so far.
    done: Vec<PartRows>,
    /// The file being written, and its rows in finished row groups.
    file: ShardWriter,
    file_rows: u64,
    /// Rows of the current row group, not yet appended, and the sum of their bounds.
    pending: Vec<EncodedRows>,
    pending_bound: u64,
}

impl<'a> ShardFiles<'a> {
    /// Starts writing `unit` into `dir`: files of at most `max_bytes` (0: no bound), row
    /// groups of `row_group_rows` rows.
    pub fn create(dir: &'a DatasetDir, unit: Unit, max_bytes: u64, row_group_rows: usize) -> Result<ShardFiles<'a>> {
        let file = ShardWriter::create(&dir.part_temp(&unit, 0)?, row_group_rows)?;
        Ok(ShardFiles {
            dir,
            unit,
            max_bytes: if max_bytes == 0 { u64::MAX } else { max_bytes },
            row_group_rows: row_group_rows.max(1),
            done: Vec::new(),
            file,
            file_rows: 0,
            pending: Vec::new(),
            pending_bound: 0,
        })
    }

    /// The shard this writes.
    pub fn unit(&self) -> Unit {
        self.unit
    }

    fn rows_in_file(&self) -> u64 {
        self.file_rows + self.pending.len() as u64
    }

    /// Adds the shard's next row.
    pub fn push(&mut self, record: &Record) -> Result<()> {
        let rows = self.file.encode(std::slice::from_ref(record))?;
        let bound = rows.size_bound();
        if self.file.size_bound_with(self.pending_bound + bound) > self.max_bytes && self.rows_in_file() > 0 {
            self.next_file()?;
        }
        if self.file.size_bound_with(self.pending_bound + bound) > self.max_bytes {
            bail!(
                "shard_max_bytes: {} bytes cannot hold {} (up to {} bytes with the file's footer); \
                 raise --shard-max-bytes",
                self.max_bytes,
                record.id,
                self.file.size_bound_with(bound)
            );
        }
        self.pending.push(rows);
        self.pending_bound += bound;
        if self.pending.len() >= self.row_group_rows {
            self.end_row_group()?;
        }
        Ok(())
    }

    fn end_row_group(&mut self) -> Result<()> {
        for rows in self.pending.drain(..) {
            self.file.append(&rows)?;
            self.file_rows += rows.rows() as u64;
        }
        self.file.end_row_group()?;
        self.pending_bound = 0;
        Ok(())
    }

    /// Finishes the current file and opens the next.
    fn next_file(&mut self) -> Result<()> {
        self.end_row_group()?;
        let next = ShardWriter::create(&self.dir.part_temp(&self.unit, self.done.len() + 1)?, self.row_group_rows)?;
        let file = std::mem::replace(&mut self.file, next);
        finish_file(&self.unit, self.max_bytes, file, self.file_rows, &mut self.done)?;
        self.file_rows = 0;
        Ok(())
    }

    /// Finishes the last file; returns the rows of each file, ready for
    /// [`DatasetDir::commit`].
    pub fn finish(mut self) -> Result<Vec<PartRows>> {
        self.end_row_group()?;
        let ShardFiles { unit, max_bytes, file, file_rows, mut done, .. } = self;
        finish_file(&unit, max_bytes, file, file_rows, &mut done)?;
        Ok(done)
    }
}

/// Finishes `file`, holding `rows` rows, as the next file of `unit` after `done`; checks its
/// size against `max_bytes`.
fn finish_file(unit: &Unit, max_bytes: u64, file: ShardWriter, rows: u64, done: &mut Vec<PartRows>) -> Result<()> {
    let bytes = file.finish()?;
    if bytes > max_bytes {
        bail!(
            "{}: file {} of the shard is {bytes} bytes, over shard_max_bytes ({max_bytes}) although its size \
             bound held; this is a bug in ipt-gen, please report it",
            unit.path(),
            done.len()
        );
    }
    let first_index = done.last().map_or(unit.start, |last| last.first_index + last.rows);
    done.push(PartRows { first_index, rows });
    Ok(())
}

//! Writing output files safely: to a temporary name beside the target, renamed into place
//! only when complete, so a crash or a full disk never leaves a half-written file.

use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result};
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{EncodableLayout, ImageBuffer, PixelWithColorType};

/// Writes `bytes` to `path` atomically, creating parent folders.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    move_into_place(&write_temp_beside(path, bytes)?, path)
}

/// Writes `bytes` to `path` atomically unless `path` exists; returns whether it wrote. Of
/// several processes racing to create the same file, exactly one writes it (on file systems
/// without hard links, the last one to finish).
pub fn write_new_atomic(path: &Path, bytes: &[u8]) -> Result<bool> {
    let temp = write_temp_beside(path, bytes)?;
    let linked = std::fs::hard_link(&temp, path);
    if linked.as_ref().is_err_and(|error| error.kind() == ErrorKind::Unsupported) {
        return move_into_place(&temp, path).map(|()| true);
    }
    let _ = std::fs::remove_file(&temp);
    match linked {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == ErrorKind::AlreadyExists => Ok(false),
        Err(error) => Err(error).with_context(|| format!("cannot write {}", path.display())),
    }
}

/// Renames the complete temporary file `temp` to `path` (removing `temp` if that fails).
fn move_into_place(temp: &Path, path: &Path) -> Result<()> {
    std::fs::rename(temp, path).map_err(|error| {
        let _ = std::fs::remove_file(temp);
        anyhow::Error::new(error).context(format!("cannot write {}", path.display()))
    })
}

/// Writes `bytes` to a new temporary file beside `path` (creating parent folders) and returns
/// its path. The name is unique to this process and call, so that processes or threads
/// writing the same file at the same time never share a temporary file.
fn write_temp_beside(path: &Path, bytes: &[u8]) -> Result<PathBuf> {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).with_context(|| format!("cannot create folder {}", parent.display()))?;
    let name = path.file_name().with_context(|| format!("{} is not a file path", path.display()))?;
    let call = CALLS.fetch_add(1, Ordering::Relaxed);
    let temp = parent.join(format!(".{}.{}-{call}.partial", name.to_string_lossy(), std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()
    })();
    if let Err(error) = result {
        let _ = std::fs::remove_file(&temp);
        return Err(error).with_context(|| format!("cannot write {}", path.display()));
    }
    Ok(temp)
}

/// Encodes an image as PNG bytes, with fast compression: about 20 times faster than the
/// default level for files about 7 % larger (../shared/notes/candle-and-parquet.md).
pub fn png_bytes<P>(image: &ImageBuffer<P, Vec<P::Subpixel>>) -> Result<Vec<u8>>
where
    P: PixelWithColorType,
    [P::Subpixel]: EncodableLayout,
{
    let mut bytes = Vec::new();
    let encoder = PngEncoder::new_with_quality(&mut bytes, CompressionType::Fast, FilterType::Adaptive);
    image.write_with_encoder(encoder).context("cannot encode PNG")?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b.json");
        write_atomic(&path, b"{}").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"{}");
        let names: Vec<_> =
            std::fs::read_dir(path.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("b.json")]);
    }

    #[test]
    fn concurrent_writers_of_one_file_all_succeed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    for _ in 0..50 {
                        write_atomic(&path, b"{}").unwrap();
                    }
                });
            }
        });
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("config.json")]);
    }

    #[test]
    fn exactly_one_of_racing_creators_writes_a_new_file() {
        for round in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("config.json");
            let written: Vec<bool> = std::thread::scope(|scope| {
                let writers: Vec<_> = (0..4u8)
                    .map(|i| {
                        let path = &path;
                        scope.spawn(move || write_new_atomic(path, &[i]).unwrap())
                    })
                    .collect();
                writers.into_iter().map(|w| w.join().unwrap()).collect()
            });
            assert_eq!(written.iter().filter(|w| **w).count(), 1, "round {round}: {written:?}");
            let winner = written.iter().position(|w| *w).unwrap() as u8;
            assert_eq!(std::fs::read(&path).unwrap(), vec![winner]);
            assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "temporary files left");
        }
    }

    #[test]
    fn reports_the_path_on_failure() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, b"x").unwrap();
        let err = write_atomic(&blocker.join("inner.json"), b"{}").unwrap_err();
        assert!(format!("{err:#}").contains("file"), "{err:#}");
    }
}

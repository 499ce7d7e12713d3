//! The image folder the file-based formats (LLaVA, LLaMA-Factory) share: every image once,
//! named by its content, so exports of several formats and regimes into one folder hold one
//! copy and an image repeated across examples is stored once.

use std::path::{Path, PathBuf};

use anyhow::Result;
use sha2::{Digest, Sha256};

use crate::files::write_new_atomic;

/// The image folder's name inside the export folder.
pub(crate) const IMAGES_DIR: &str = "images";

/// `images/` of an export folder.
pub(crate) struct ImageStore {
    root: PathBuf,
}

impl ImageStore {
    /// The store of export folder `out`.
    pub(crate) fn new(out: &Path) -> ImageStore {
        ImageStore { root: out.to_path_buf() }
    }

    /// Stores PNG `bytes` (unless an image with the same content is there) and returns its
    /// path relative to the export folder: `images/<first 2 hex digits>/<sha256>.png`.
    pub(crate) fn put(&self, bytes: &[u8]) -> Result<String> {
        let hash: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
        let relative = format!("{IMAGES_DIR}/{}/{hash}.png", &hash[..2]);
        let path = self.root.join(&relative);
        if !path.exists() {
            write_new_atomic(&path, bytes)?;
        }
        Ok(relative)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_bytes_are_stored_once_under_their_hash() {
        let dir = tempfile::tempdir().unwrap();
        let store = ImageStore::new(dir.path());
        let first = store.put(b"png bytes").unwrap();
        assert_eq!(store.put(b"png bytes").unwrap(), first);
        assert_ne!(store.put(b"other bytes").unwrap(), first);
        assert!(first.starts_with("images/") && first.ends_with(".png"), "{first}");
        assert_eq!(std::fs::read(dir.path().join(&first)).unwrap(), b"png bytes");
        assert_eq!(std::fs::read_dir(dir.path().join(IMAGES_DIR)).unwrap().count(), 2);
    }
}

//! mcp-connect's own files about client configs: a lock between mcp-connect writers and a
//! private backup of what was there (the atomic replace itself is [`crate::files`]).

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::files::{self, private_dir};
pub use crate::files::{Found, read, resolve, write_atomic};

/// mcp-connect's own files about client configs, under its state directory.
#[derive(Debug, Clone)]
pub struct Store {
    pub dir: PathBuf,
}

impl Store {
    pub fn new(state: &Path) -> Store {
        Store { dir: state.join("clientconfig") }
    }

    /// Holds an exclusive lock for `file` until the returned handle is dropped.
    pub fn lock(&self, file: &Path) -> io::Result<File> {
        let dir = self.dir.join("locks");
        private_dir(&dir)?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(dir.join(format!("{}.lock", key(file))))?;
        lock.lock()?;
        Ok(lock)
    }

    /// Copies `text`, the file's content before a change, to a private backup (named with
    /// `extension`); keeps the newest ten.
    pub fn backup(&self, file: &Path, text: &str, extension: &str) -> io::Result<PathBuf> {
        files::backup(&self.dir.join("backups").join(key(file)), text, extension)
    }
}

/// A file name for `file`: readable stem plus a hash of the whole path.
fn key(file: &Path) -> String {
    let digest = ::aws_lc_rs::digest::digest(
        &::aws_lc_rs::digest::SHA256,
        file.as_os_str().as_encoded_bytes(),
    );
    let hash: String = digest.as_ref()[..6].iter().map(|b| format!("{b:02x}")).collect();
    let stem = file.file_name().map(|n| n.to_string_lossy().trim_start_matches('.').to_owned());
    format!("{}-{hash}", stem.unwrap_or_default())
}

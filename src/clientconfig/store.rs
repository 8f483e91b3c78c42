//! Files on disk, handled so that nothing is lost: a lock between mcp-connect writers, a
//! private backup of what was there, and an atomic replace (temporary file in the same
//! directory, fsync, rename) that keeps the file's mode.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// Backups kept per file.
const BACKUPS: usize = 10;

/// The file as found: its text and mode, or nothing.
pub struct Found {
    pub text: String,
    pub mode: u32,
}

/// The real file behind `path` (a symlinked `~/.claude.json` is written through, not replaced).
pub fn resolve(path: &Path) -> PathBuf {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
        }
        _ => path.to_path_buf(),
    }
}

pub fn read(path: &Path) -> io::Result<Option<Found>> {
    match fs::read(path) {
        Ok(bytes) => {
            let mode = fs::metadata(path)?.permissions().mode() & 0o7777;
            let text = String::from_utf8(bytes).map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidData, "the file is not UTF-8 text")
            })?;
            Ok(Some(Found { text, mode }))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Replaces `path` with `text` in one step: readers see the old file or the new, never half.
pub fn write_atomic(path: &Path, text: &str, mode: u32) -> io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut temp = tempfile::Builder::new().prefix(&format!(".{name}.")).tempfile_in(dir)?;
    temp.as_file().set_permissions(fs::Permissions::from_mode(mode))?;
    temp.write_all(text.as_bytes())?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    File::open(dir)?.sync_all()
}

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

    /// Copies `text`, the file's content before a change, to a private backup; keeps the
    /// newest [`BACKUPS`].
    pub fn backup(&self, file: &Path, text: &str) -> io::Result<PathBuf> {
        let dir = self.dir.join("backups").join(key(file));
        private_dir(&dir)?;
        let millis = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
        let backup = dir.join(format!("{millis}.json"));
        write_atomic(&backup, text, 0o600)?;
        let mut old: Vec<PathBuf> =
            fs::read_dir(&dir)?.filter_map(|e| Some(e.ok()?.path())).collect();
        old.sort();
        for extra in old.iter().take(old.len().saturating_sub(BACKUPS)) {
            let _ = fs::remove_file(extra);
        }
        Ok(backup)
    }
}

fn private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
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

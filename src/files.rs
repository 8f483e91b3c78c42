//! Files written so that nothing is lost: an atomic replace (temporary file in the same
//! directory, fsync, rename) that keeps the file's mode, and private rotating backups of what a
//! change replaced.

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
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

/// The file's text and mode; `None` when there is no file.
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

/// A directory only its owner can enter.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
}

/// Keeps `text` (a file's content before a change) as `DIR/<millis>.<ext>`, readable by its
/// owner alone, and removes all but the newest [`BACKUPS`] there.
pub fn backup(dir: &Path, text: &str, ext: &str) -> io::Result<PathBuf> {
    private_dir(dir)?;
    let millis = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
    let backup = dir.join(format!("{millis}.{ext}"));
    write_atomic(&backup, text, 0o600)?;
    let mut old: Vec<PathBuf> = fs::read_dir(dir)?.filter_map(|e| Some(e.ok()?.path())).collect();
    old.sort();
    for extra in old.iter().take(old.len().saturating_sub(BACKUPS)) {
        let _ = fs::remove_file(extra);
    }
    Ok(backup)
}

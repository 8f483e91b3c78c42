//! Replacing a client config that another program (Claude Code) rewrites on its own, without
//! dropping its writes or ours.
//!
//! - [`Snapshot`]: the file as read, and what tells that version apart (device, inode, size,
//!   mtime, SHA-256 of the content); its inode is held open, so its number is not reused.
//! - [`install`]: puts a staged file in place only if the file is still the version read. On
//!   Linux the new file is swapped in with `renameat2(RENAME_EXCHANGE)`, which hands back the
//!   file it displaced: when that is not the version read, another writer's file landed after
//!   the last look, and it is swapped back at once (ours was in place for the time between two
//!   system calls). Without the exchange (another OS, or a filesystem without it) the version is
//!   looked at right before a plain rename(2): a write landing between that look and the rename
//!   is lost.
//! - [`watch`]: whether ours survives the next writer. A writer that read the file before ours
//!   landed, and writes after it, drops our change: that is seen here, and the edit is redone.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

use tempfile::NamedTempFile;

use crate::files::Found;

/// How often [`watch`] looks at the file.
const POLL: Duration = Duration::from_millis(5);
/// Versions that may land between two swaps of [`swap_back`] before it gives up.
const SWAPS: usize = 8;

/// Which file is at a path, and when it was last written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: i64,
    mtime_nsec: i64,
}

impl Stamp {
    fn of(meta: &fs::Metadata) -> Stamp {
        Stamp {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime: meta.mtime(),
            mtime_nsec: meta.mtime_nsec(),
        }
    }

    /// The file at `path` (through symlinks); `None` when there is none.
    fn at(path: &Path) -> io::Result<Option<Stamp>> {
        match fs::metadata(path) {
            Ok(meta) => Ok(Some(Stamp::of(&meta))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn inode(&self) -> (u64, u64) {
        (self.dev, self.ino)
    }
}

/// One version of a file: which file it is, and its content's hash (a rewrite in place within
/// the clock's tick keeps the stamp).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    stamp: Stamp,
    sha256: Vec<u8>,
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    ::aws_lc_rs::digest::digest(&::aws_lc_rs::digest::SHA256, bytes).as_ref().to_vec()
}

/// The file at `path`, opened and read whole: the handle, the bytes, and its metadata as of
/// after the read. `None` when there is no file.
fn open_read(path: &Path) -> io::Result<Option<(File, Vec<u8>, fs::Metadata)>> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    let meta = file.metadata()?;
    Ok(Some((file, bytes, meta)))
}

fn utf8(bytes: Vec<u8>) -> io::Result<String> {
    String::from_utf8(bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "the file is not UTF-8 text"))
}

/// The file as read, and which version it was.
pub struct Snapshot {
    /// Its text and mode; `None` when there was no file.
    pub found: Option<Found>,
    version: Option<Version>,
    /// The inode read, kept open so that no other file gets its number meanwhile.
    _held: Option<File>,
}

impl Snapshot {
    pub fn take(path: &Path) -> io::Result<Snapshot> {
        let Some((file, bytes, meta)) = open_read(path)? else {
            return Ok(Snapshot { found: None, version: None, _held: None });
        };
        let version = Version { stamp: Stamp::of(&meta), sha256: sha256(&bytes) };
        let found = Found { text: utf8(bytes)?, mode: meta.permissions().mode() & 0o7777 };
        Ok(Snapshot { found: Some(found), version: Some(version), _held: Some(file) })
    }
}

/// A new version, written and flushed to disk under a temporary name beside the file.
pub struct Staged {
    temp: NamedTempFile,
    version: Version,
}

impl Staged {
    pub fn version(&self) -> &Version {
        &self.version
    }
}

fn parent(path: &Path) -> &Path {
    path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

fn sync_dir(path: &Path) -> io::Result<()> {
    File::open(parent(path))?.sync_all()
}

/// `text` with `mode`, staged to replace `path`.
pub fn stage(path: &Path, text: &str, mode: u32) -> io::Result<Staged> {
    let dir = parent(path);
    fs::create_dir_all(dir)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut temp = tempfile::Builder::new().prefix(&format!(".{name}.")).tempfile_in(dir)?;
    temp.write_all(text.as_bytes())?;
    temp.as_file().set_permissions(fs::Permissions::from_mode(mode))?;
    temp.as_file().sync_all()?;
    let stamp = Stamp::of(&temp.as_file().metadata()?);
    Ok(Staged { temp, version: Version { stamp, sha256: sha256(text.as_bytes()) } })
}

/// What [`install`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Install {
    /// Ours is in place; what it replaced was the version read.
    Done,
    /// The file is no longer the version read: nothing was replaced (ours is dropped).
    Changed,
}

/// Puts `staged` at `path` if the file there is still the version `read`.
pub fn install(staged: Staged, path: &Path, read: &Snapshot) -> io::Result<Install> {
    let Some(expected) = &read.version else {
        // There was no file: ours goes in only if there still is none.
        return match staged.temp.persist_noclobber(path) {
            Ok(_) => sync_dir(path).map(|()| Install::Done),
            Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => Ok(Install::Changed),
            Err(e) => Err(e.error),
        };
    };
    // A file replaced since the read is seen without touching anything.
    if Stamp::at(path)? != Some(expected.stamp) {
        return Ok(Install::Changed);
    }
    match exchange(staged.temp.path(), path) {
        Ok(()) => {}
        Err(e) if unsupported(&e) => return replace_checked(staged, path, expected),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Install::Changed),
        Err(e) => return Err(e),
    }
    // The temporary name now holds the file that ours displaced.
    let displaced = open_read(staged.temp.path())?
        .map(|(_, bytes, meta)| Version { stamp: Stamp::of(&meta), sha256: sha256(&bytes) });
    if displaced.as_ref() == Some(expected) {
        staged.temp.close()?;
        sync_dir(path)?;
        return Ok(Install::Done);
    }
    // Another writer's file landed after the look above: it goes back in place.
    if let Err(e) = swap_back(&staged, path) {
        let kept = staged.temp.into_temp_path().keep().map_err(|e| e.error)?;
        return Err(io::Error::other(format!(
            "{e}; the version it held is kept at {}",
            kept.display()
        )));
    }
    sync_dir(path)?;
    Ok(Install::Changed)
}

/// Puts back the file that ours displaced: the path holds ours, the temporary name the other
/// writer's. When yet another version lands between two swaps, that one is the newest and goes
/// in place in turn. Every file swapped is held open, so its inode number stays its own.
fn swap_back(staged: &Staged, path: &Path) -> io::Result<()> {
    let temp = staged.temp.path();
    let mut at_path = staged.version.stamp.inode();
    let mut pinned = Vec::new();
    for _ in 0..SWAPS {
        let held = File::open(temp)?;
        let held_inode = Stamp::of(&held.metadata()?).inode();
        pinned.push(held);
        exchange(temp, path)?;
        if Stamp::of(&fs::metadata(temp)?).inode() == at_path {
            return Ok(());
        }
        at_path = held_inode;
    }
    Err(io::Error::other(format!(
        "{} was replaced {SWAPS} times while mcp-connect put back another program's version",
        path.display()
    )))
}

/// Without an exchange: the version is read once more right before a plain rename. A write
/// landing between that last look and the rename (two system calls apart) is lost.
fn replace_checked(staged: Staged, path: &Path, expected: &Version) -> io::Result<Install> {
    let now = open_read(path)?
        .map(|(_, bytes, meta)| Version { stamp: Stamp::of(&meta), sha256: sha256(&bytes) });
    if now.as_ref() != Some(expected) || Stamp::at(path)? != Some(expected.stamp) {
        return Ok(Install::Changed);
    }
    staged.temp.persist(path).map_err(|e| e.error)?;
    sync_dir(path).map(|()| Install::Done)
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(io::Error::from)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn exchange(_: &Path, _: &Path) -> io::Result<()> {
    Err(io::ErrorKind::Unsupported.into())
}

/// The kernel or the filesystem cannot exchange two names.
fn unsupported(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::Unsupported
        || matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP))
}

/// Whether our change survived the next writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Kept,
    /// A writer that had read the file before ours landed replaced it without our change.
    Lost,
}

/// After `ours` went in at `path`: waits up to `settle` for another version, and answers
/// whether the file still has our change (`keeps` on its text). The first version after ours
/// decides: a writer that read ours kept it, one that read the file before ours landed
/// dropped it. No other version within `settle`: kept.
pub fn watch(
    path: &Path,
    ours: &Version,
    settle: Duration,
    keeps: impl Fn(&str) -> bool,
) -> io::Result<Fate> {
    let deadline = Instant::now() + settle;
    loop {
        let changed = Stamp::at(path)? != Some(ours.stamp);
        let now = Instant::now();
        if changed || now >= deadline {
            // Read at the end too: a rewrite in place within the clock's tick keeps the stamp.
            let Some((_, bytes, _)) = open_read(path)? else { return Ok(Fate::Lost) };
            let kept = utf8(bytes).is_ok_and(|text| keeps(&text));
            return Ok(if kept { Fate::Kept } else { Fate::Lost });
        }
        std::thread::sleep(POLL.min(deadline - now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Files beside `path` other than itself: temporary files left behind.
    fn strays(path: &Path) -> Vec<String> {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        fs::read_dir(parent(path))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| *n != name)
            .collect()
    }

    /// Another program's write: a new file renamed over `path`.
    fn replace_by_rename(path: &Path, text: &str) {
        let other = path.with_extension("other");
        fs::write(&other, text).unwrap();
        fs::rename(&other, path).unwrap();
    }

    #[test]
    fn an_unchanged_file_is_replaced_and_nothing_is_left_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        fs::write(&path, "old").unwrap();
        let read = Snapshot::take(&path).unwrap();
        assert_eq!(read.found.as_ref().unwrap().text, "old");
        let staged = stage(&path, "new", 0o640).unwrap();
        assert_eq!(install(staged, &path, &read).unwrap(), Install::Done);
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640);
        assert_eq!(strays(&path), Vec::<String>::new());
    }

    #[test]
    fn a_file_replaced_since_the_read_is_not_written_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        fs::write(&path, "old").unwrap();
        let read = Snapshot::take(&path).unwrap();
        replace_by_rename(&path, "theirs");
        let staged = stage(&path, "ours", 0o600).unwrap();
        assert_eq!(install(staged, &path, &read).unwrap(), Install::Changed);
        assert_eq!(fs::read_to_string(&path).unwrap(), "theirs");
        assert_eq!(strays(&path), Vec::<String>::new());

        // No file when read, one since: it stays.
        fs::remove_file(&path).unwrap();
        let read = Snapshot::take(&path).unwrap();
        assert!(read.found.is_none());
        fs::write(&path, "created").unwrap();
        let staged = stage(&path, "ours", 0o600).unwrap();
        assert_eq!(install(staged, &path, &read).unwrap(), Install::Changed);
        assert_eq!(fs::read_to_string(&path).unwrap(), "created");
        assert_eq!(strays(&path), Vec::<String>::new());
    }

    /// A rewrite in place that keeps the size and the mtime passes the cheap look before the
    /// exchange: the file ours displaced is seen to differ, and is put back.
    #[test]
    fn a_rewrite_the_stamp_misses_is_swapped_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        fs::write(&path, "aaaa").unwrap();
        let read = Snapshot::take(&path).unwrap();
        let mtime = fs::metadata(&path).unwrap().modified().unwrap();
        let file = fs::OpenOptions::new().write(true).open(&path).unwrap();
        (&file).write_all(b"bbbb").unwrap();
        file.set_modified(mtime).unwrap();
        drop(file);
        let staged = stage(&path, "ours", 0o600).unwrap();
        assert_eq!(install(staged, &path, &read).unwrap(), Install::Changed);
        assert_eq!(fs::read_to_string(&path).unwrap(), "bbbb");
        assert_eq!(strays(&path), Vec::<String>::new());
    }

    #[test]
    fn the_first_version_after_ours_decides_whether_it_was_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        fs::write(&path, "old").unwrap();
        let has_ours = |text: &str| text.contains("ours");
        let put = |text: &str| {
            let read = Snapshot::take(&path).unwrap();
            let staged = stage(&path, text, 0o600).unwrap();
            let version = staged.version().clone();
            assert_eq!(install(staged, &path, &read).unwrap(), Install::Done);
            version
        };
        // Nobody else writes: kept once the settle time is over.
        let ours = put("ours 1");
        assert_eq!(watch(&path, &ours, Duration::ZERO, has_ours).unwrap(), Fate::Kept);
        assert_eq!(watch(&path, &ours, Duration::from_millis(20), has_ours).unwrap(), Fate::Kept);
        // A writer that had read the file before ours drops it; one that read ours keeps it.
        let ours = put("ours 2");
        replace_by_rename(&path, "stale");
        assert_eq!(watch(&path, &ours, Duration::from_secs(60), has_ours).unwrap(), Fate::Lost);
        let ours = put("ours 3");
        replace_by_rename(&path, "ours 3 and theirs");
        assert_eq!(watch(&path, &ours, Duration::from_secs(60), has_ours).unwrap(), Fate::Kept);
        fs::remove_file(&path).unwrap();
        assert_eq!(watch(&path, &ours, Duration::from_secs(60), has_ours).unwrap(), Fate::Lost);
    }
}

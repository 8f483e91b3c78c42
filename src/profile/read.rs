//! Reading one user profile file, or saying in words why it cannot be read.
//!
//! Only a regular file is read (a directory, a FIFO or a device named `x.yaml` is refused from
//! its metadata, and the file is opened non-blocking, so a FIFO swapped in meanwhile cannot
//! hang the loader), and at most [`MAX_BYTES`] of it: the size is checked from metadata before
//! reading, and the read goes through `take(MAX_BYTES + 1)`, so a file that grows while it is
//! read is refused too. A byte-order mark is read as YAML reads it: UTF-8 with or without one,
//! UTF-16 with one.

use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// The most a profile file may hold: a profile is a few KiB.
pub const MAX_BYTES: u64 = 1 << 20;

/// The file's text, or why it cannot be read: a sentence of the form
/// "…, expected …", as the loader's other messages are.
pub fn read(path: &Path) -> Result<String, String> {
    // Refused from metadata before it is opened: opening a FIFO blocks, opening a device may
    // do anything.
    let meta = fs::metadata(path).map_err(|err| cannot_open(path, &err))?;
    usable(&meta)?;
    let file = open(path).map_err(|err| cannot_open(path, &err))?;
    // What was opened may not be what was looked at: check the handle itself.
    let meta = file.metadata().map_err(|err| generic(&err))?;
    usable(&meta)?;
    decode(&read_bounded(file, meta.len())?)
}

/// Refuses what is not a regular file of at most [`MAX_BYTES`].
fn usable(meta: &Metadata) -> Result<(), String> {
    let kind = meta.file_type();
    let what = if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a named pipe (FIFO)"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else {
        return if meta.len() > MAX_BYTES { Err(too_large(meta.len())) } else { Ok(()) };
    };
    Err(format!("cannot read the file: it is {what}, expected a regular file holding a profile"))
}

/// At most [`MAX_BYTES`] of `source`; more is an error, however long the source goes on.
fn read_bounded(source: impl Read, expected_len: u64) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::with_capacity(expected_len.min(MAX_BYTES) as usize + 1);
    source.take(MAX_BYTES + 1).read_to_end(&mut bytes).map_err(|err| generic(&err))?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(format!(
            "the file grew past {MAX_BYTES} bytes (1 MiB) while it was read, expected a profile \
             of at most 1 MiB that is not being written"
        ));
    }
    Ok(bytes)
}

fn too_large(len: u64) -> String {
    let mib = len as f64 / (1u64 << 20) as f64;
    format!(
        "the file is {len} bytes ({mib:.1} MiB), expected a profile of at most {MAX_BYTES} bytes \
         (1 MiB): a profile is a few KiB, so check that this is the file you meant"
    )
}

/// The text of `bytes`: UTF-8 (a leading byte-order mark dropped) or UTF-16 with a byte-order
/// mark, as YAML reads them.
fn decode(bytes: &[u8]) -> Result<String, String> {
    const EXPECTED: &str = "expected UTF-8 text (or UTF-16 with a byte-order mark)";
    if bytes.starts_with(&[0, 0, 0xFE, 0xFF]) || bytes.starts_with(&[0xFF, 0xFE, 0, 0]) {
        return Err(format!("the file is UTF-32, {EXPECTED}"));
    }
    match encoding_rs::Encoding::for_bom(bytes) {
        Some((encoding, bom)) if encoding != encoding_rs::UTF_8 => encoding
            .decode_without_bom_handling_and_without_replacement(&bytes[bom..])
            .map(|text| text.into_owned())
            .ok_or_else(|| format!("the file is not valid {}, {EXPECTED}", encoding.name())),
        found => {
            let bom = found.map_or(0, |(_, len)| len);
            std::str::from_utf8(&bytes[bom..]).map(str::to_owned).map_err(|err| {
                let at = bom + err.valid_up_to();
                format!("the file is not UTF-8 text (an invalid byte at offset {at}), {EXPECTED}")
            })
        }
    }
}

/// Why `path` could not be looked at or opened.
fn cannot_open(path: &Path, err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(libc::ENOENT) => match fs::read_link(path) {
            Ok(target) => format!(
                "cannot read the file: it is a symbolic link to {}, which does not exist, \
                 expected a link to an existing profile file",
                target.display()
            ),
            Err(_) => format!("cannot read the file ({err}): it went away while it was read"),
        },
        Some(libc::ELOOP) => format!(
            "cannot read the file: it is a symbolic link that loops ({err}), expected a link \
             that ends at a profile file"
        ),
        Some(libc::EACCES) => format!(
            "cannot read the file: permission denied, expected a file you may read \
             (chmod u+r {})",
            path.display()
        ),
        _ => generic(err),
    }
}

fn generic(err: &io::Error) -> String {
    format!("cannot read the file ({err}), expected a readable file")
}

/// Opens for reading without blocking: a FIFO opened for reading otherwise waits for a writer.
fn open(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{PermissionsExt, symlink};

    const PROFILE: &str = "name: mine\ntitle: t\n";

    fn dir() -> tempfile::TempDir {
        tempfile::tempdir().expect("a temporary directory")
    }

    #[test]
    fn plain_utf8_is_read_as_it_is() {
        let dir = dir();
        let path = dir.path().join("mine.yaml");
        fs::write(&path, PROFILE).unwrap();
        assert_eq!(read(&path).unwrap(), PROFILE);
    }

    #[test]
    fn a_byte_order_mark_is_read_as_yaml_reads_it() {
        let utf8 = [b"\xEF\xBB\xBF".as_slice(), PROFILE.as_bytes()].concat();
        assert_eq!(decode(&utf8).unwrap(), PROFILE);
        let utf16le: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(PROFILE.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(decode(&utf16le).unwrap(), PROFILE);
        let utf16be: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain(PROFILE.encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        assert_eq!(decode(&utf16be).unwrap(), PROFILE);
    }

    #[test]
    fn text_that_is_not_utf8_says_where_it_stops_being_text() {
        let err = decode(b"name: \xFFx\n").unwrap_err();
        assert!(err.contains("not UTF-8 text (an invalid byte at offset 6)"), "{err}");
        let err = decode(b"\xEF\xBB\xBFname: \xFF").unwrap_err();
        assert!(err.contains("offset 9"), "{err}");
        let err = decode(&[0xFF, 0xFE, 0, 0, b'n', 0, 0, 0]).unwrap_err();
        assert!(err.contains("is UTF-32, expected UTF-8"), "{err}");
        let err = decode(&[0xFF, 0xFE, 0x00, 0xD8]).unwrap_err();
        assert!(err.contains("not valid UTF-16LE"), "{err}");
    }

    #[test]
    fn a_directory_named_like_a_profile_is_refused() {
        let dir = dir();
        let path = dir.path().join("x.yaml");
        fs::create_dir(&path).unwrap();
        let err = read(&path).unwrap_err();
        assert!(err.contains("it is a directory, expected a regular file"), "{err}");
    }

    #[test]
    fn a_fifo_is_refused_and_opening_one_does_not_block() {
        let dir = dir();
        let path = dir.path().join("x.yaml");
        make_fifo(&path);
        // Nobody writes to it: a blocking open would never return, so the test waits in
        // another thread, and a minute without an answer is a hang.
        let (tx, rx) = std::sync::mpsc::channel();
        let fifo = path.clone();
        std::thread::spawn(move || {
            let refused = read(&fifo).unwrap_err();
            let opened = open(&fifo).map(|file| usable(&file.metadata().unwrap()).unwrap_err());
            let _ = tx.send((refused, opened));
        });
        let (refused, opened) = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("reading a FIFO returns instead of waiting for a writer");
        assert!(
            refused.contains("it is a named pipe (FIFO), expected a regular file"),
            "{refused}"
        );
        // Swapped in after the first look, it is caught on the handle.
        assert!(opened.expect("a non-blocking open returns").contains("named pipe"));
    }

    #[test]
    fn dangling_and_looping_symbolic_links_say_what_they_are() {
        let dir = dir();
        let dangling = dir.path().join("gone.yaml");
        symlink(dir.path().join("nowhere.yaml"), &dangling).unwrap();
        let err = read(&dangling).unwrap_err();
        let target = dir.path().join("nowhere.yaml");
        let says = format!("symbolic link to {}, which does not exist", target.display());
        assert!(err.contains(&says), "{err}");

        let (a, b) = (dir.path().join("a.yaml"), dir.path().join("b.yaml"));
        symlink(&b, &a).unwrap();
        symlink(&a, &b).unwrap();
        let err = read(&a).unwrap_err();
        assert!(err.contains("it is a symbolic link that loops"), "{err}");
    }

    #[test]
    fn a_file_without_read_permission_says_so() {
        let dir = dir();
        let path = dir.path().join("locked.yaml");
        fs::write(&path, PROFILE).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o000)).unwrap();
        if File::open(&path).is_ok() {
            eprintln!(
                "note: skipped the mode-000 case: this test runs with the right to read any \
                 file (root), so mode 000 does not keep it from reading"
            );
            return;
        }
        let err = read(&path).unwrap_err();
        assert!(err.contains("permission denied, expected a file you may read"), "{err}");
    }

    #[test]
    fn one_mib_is_read_and_one_byte_more_is_refused() {
        let dir = dir();
        let path = dir.path().join("big.yaml");
        let mut text = "# padding\n".repeat(MAX_BYTES as usize / 10);
        text.push_str(&"#".repeat(MAX_BYTES as usize - text.len()));
        fs::write(&path, &text).unwrap();
        assert_eq!(read(&path).unwrap().len() as u64, MAX_BYTES);

        text.push('#');
        fs::write(&path, &text).unwrap();
        let err = read(&path).unwrap_err();
        assert!(err.contains("the file is 1048577 bytes (1.0 MiB), expected a profile of at most"));
    }

    #[test]
    fn a_sparse_200_mib_file_is_refused_from_its_size() {
        let dir = dir();
        let path = dir.path().join("huge.yaml");
        File::create(&path).unwrap().set_len(200 << 20).unwrap();
        let err = read(&path).unwrap_err();
        assert!(err.contains("the file is 209715200 bytes (200.0 MiB)"), "{err}");
    }

    #[test]
    fn a_source_that_never_ends_is_cut_at_the_cap() {
        // A file that grows while it is read: the size looked small, the bytes do not stop.
        let err = read_bounded(io::repeat(b'#'), 10).unwrap_err();
        assert!(err.contains("grew past 1048576 bytes (1 MiB) while it was read"), "{err}");
        let exact = read_bounded(io::repeat(b'#').take(MAX_BYTES), 10).unwrap();
        assert_eq!(exact.len() as u64, MAX_BYTES);
    }

    fn make_fifo(path: &Path) {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
        // SAFETY: `c` is a NUL-terminated path that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo {}", path.display());
    }
}

//! Profile files that cannot be read, through the binary: none vanishes, each is listed with
//! its path and why, none hangs the loader or fills its memory, and `up` with a misspelt name
//! offers only the profiles that load.

use std::fs;
use std::io::Read;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use mcp_connect::profile::MAX_BYTES;

use crate::support::{Home, Run};

const BUILT_IN_NAMES: &str = "serena-direct, gateway-port-forward, gateway-loadbalancer, router";

fn good(name: &str) -> String {
    format!("name: {name}\ntitle: A title\nlink:\n  direct:\n    url: http://127.0.0.1:9000\n")
}

/// The entries that cannot be read, made in `dir`: file name and what its error must say.
fn unreadable_entries(dir: &Path) -> Vec<(&'static str, String)> {
    fs::create_dir(dir.join("x.yaml")).unwrap();
    symlink(dir.join("nowhere.yaml"), dir.join("dangling.yaml")).unwrap();
    symlink(dir.join("loop-b.yaml"), dir.join("loop-a.yaml")).unwrap();
    symlink(dir.join("loop-a.yaml"), dir.join("loop-b.yaml")).unwrap();
    mkfifo(&dir.join("fifo.yaml"));
    fs::write(dir.join("over.yaml"), "#".repeat(MAX_BYTES as usize + 1)).unwrap();
    fs::File::create(dir.join("sparse.yaml")).unwrap().set_len(200 << 20).unwrap();
    let nowhere = dir.join("nowhere.yaml");
    vec![
        ("x.yaml", "cannot read the file: it is a directory, expected a regular file".into()),
        (
            "dangling.yaml",
            format!("it is a symbolic link to {}, which does not exist", nowhere.display()),
        ),
        ("loop-a.yaml", "it is a symbolic link that loops".into()),
        ("loop-b.yaml", "it is a symbolic link that loops".into()),
        ("fifo.yaml", "it is a named pipe (FIFO), expected a regular file".into()),
        ("over.yaml", "the file is 1048577 bytes (1.0 MiB), expected a profile of at most".into()),
        ("sparse.yaml", "the file is 209715200 bytes (200.0 MiB), expected a profile".into()),
    ]
}

#[test]
fn every_entry_that_cannot_be_read_is_listed_and_up_offers_only_valid_names() {
    let home = Home::new();
    let dir = home.user_profiles();
    home.write("config/mcp-connect/profiles/mine.yaml", &good("mine"));
    // Saved by an editor that starts the file with a byte-order mark.
    home.write("config/mcp-connect/profiles/bom.yaml", &format!("\u{feff}{}", good("with-bom")));
    let cases = unreadable_entries(&dir);

    let (run, max_rss_kib) = measured(&home, &["profiles"]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    let out = run.stdout();
    for (file, says) in &cases {
        let row = format!("  error: {}: ", dir.join(file).display());
        let line = out.lines().find(|l| l.starts_with(&row));
        let line = line.unwrap_or_else(|| panic!("no `{row}` line in:\n{out}"));
        assert!(line.contains(says.as_str()), "{file}: `{line}` should say `{says}`");
    }
    assert!(out.lines().any(|l| l.starts_with("with-bom ")), "the BOM profile loads:\n{out}");
    let total = 4 + 2 + cases.len();
    assert!(out.contains(&format!("{total} profiles, {} invalid", cases.len())), "{out}");
    // A 200 MiB file read whole takes 200 MiB at least (685 MB before the cap).
    assert!(max_rss_kib < 100 * 1024, "mcp-connect took {max_rss_kib} KiB: did it read the file?");

    let (run, _) = run_guarded(home.command().args(["up", "mnie"]));
    assert_eq!(run.code(), 2);
    let err = run.stderr();
    assert!(err.contains("error: no profile named \"mnie\""), "{err}");
    let offered = format!("  fix: use one of: {BUILT_IN_NAMES}, with-bom, mine\n");
    assert!(err.contains(&offered), "only the valid names: `{offered}` in\n{err}");
    for (file, says) in &cases {
        let line = format!("  not loaded: {}: ", dir.join(file).display());
        let found = err.lines().find(|l| l.starts_with(&line));
        assert!(found.is_some_and(|l| l.contains(says.as_str())), "`{line}{says}` in\n{err}");
    }

    // The name of a file that cannot be read is its stem: `up` says why that one fails.
    let (run, _) = run_guarded(home.command().args(["up", "x"]));
    assert_eq!(run.code(), 2);
    let expected =
        format!("error: {}: cannot read the file: it is a directory", dir.join("x.yaml").display());
    assert!(run.stderr().contains(&expected), "{}", run.stderr());
    assert!(run.stderr().contains("fix: make it a readable profile file"), "{}", run.stderr());
}

#[test]
fn a_profile_file_without_read_permission_is_listed_with_the_reason() {
    let home = Home::new();
    let dir = home.user_profiles();
    let locked = home.write("config/mcp-connect/profiles/locked.yaml", &good("locked"));
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();

    let mut command = home.command();
    command.arg("profiles");
    if fs::File::open(&locked).is_ok() {
        // Root reads a mode-000 file: run the binary as an ordinary user instead, who needs
        // to reach the profiles directory.
        let mut up = dir.clone();
        while up.starts_with(home.path()) {
            fs::set_permissions(&up, fs::Permissions::from_mode(0o755)).unwrap();
            if !up.pop() {
                break;
            }
        }
        command.uid(65534).gid(65534);
    }
    let Some((run, _)) = try_run_guarded(&mut command) else {
        eprintln!(
            "note: skipped the mode-000 case: this test runs as root and cannot start the binary \
             as the user nobody (65534), so mode 000 does not keep a file from being read"
        );
        return;
    };
    assert_eq!(run.code(), 1, "{}", run.stderr());
    let expected = format!(
        "  error: {}: cannot read the file: permission denied, expected a file you may read",
        locked.display()
    );
    assert!(run.stdout().contains(&expected), "{}", run.stdout());
}

/// Runs `command`; fails the test if it has not exited within a minute (a loader blocked on a
/// FIFO never would). Answers its output and its peak memory in KiB.
/// `mcp-connect ARGS` in `home`, and its peak resident memory in KiB, as GNU time reports it:
/// the binary is started by `time`, a small process, since a child forked from this test
/// binary (large after many tests) counts the parent's memory as its own until it execs.
fn measured(home: &Home, args: &[&str]) -> (Run, u64) {
    crate::support::ensure_tool("/usr/bin/time", "time");
    let report = home.path().join("time.out");
    let inner = home.command();
    let mut timed = Command::new("/usr/bin/time");
    timed.env_clear();
    for (key, value) in inner.get_envs() {
        if let Some(value) = value {
            timed.env(key, value);
        }
    }
    timed.args(["-f", "%M", "-o"]).arg(&report).arg(inner.get_program()).args(args);
    let (run, _) = run_guarded(&mut timed);
    let text = std::fs::read_to_string(&report).expect("time's report");
    let kib = text.lines().last().and_then(|l| l.trim().parse().ok());
    (run, kib.unwrap_or_else(|| panic!("time reported {text:?}")))
}

fn run_guarded(command: &mut Command) -> (Run, u64) {
    try_run_guarded(command).expect("mcp-connect starts")
}

fn try_run_guarded(command: &mut Command) -> Option<(Run, u64)> {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().ok()?;
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes).map(|_| bytes)
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let pid = child.id() as libc::pid_t;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut status = 0;
    // SAFETY: rusage is plain data; zeroes are a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: the pointers are to live locals; `pid` is our child, not yet reaped.
        let reaped = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if reaped == pid {
            break;
        }
        assert_eq!(reaped, 0, "wait4: {}", std::io::Error::last_os_error());
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("mcp-connect did not exit within a minute: is the loader blocked?");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = Output {
        status: std::process::ExitStatus::from_raw(status),
        stdout: stdout.join().unwrap().expect("stdout"),
        stderr: stderr.join().unwrap().expect("stderr"),
    };
    Some((Run(output), usage.ru_maxrss as u64))
}

fn mkfifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: `c` is a NUL-terminated path that outlives the call.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo {}", path.display());
}

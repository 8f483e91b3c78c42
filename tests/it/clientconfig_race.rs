//! Issue #18, item 3: Claude Code rewrites `~/.claude.json` itself, often. An outside writer
//! does here what it does (read the file, change its own key, write a temporary file and rename
//! it over the file) every ~10 ms, while ten `mcp-connect config write` processes (the real
//! binary, a throwaway HOME) add their entries, then replace them in two more rounds. Every update the outside writer made and every
//! entry of ours must be in the final file.
//!
//! The outside writer appends its update's number to its own array each time, from what it has
//! just read: an update written over by a stale write of ours would be missing from the array
//! for good, so the final array must be exactly 1..=N for the N renames it completed. The test
//! cannot pass vacuously: the writer must have made hundreds of updates, some of them while
//! ours ran, and it must have seen the file with some but not all of our entries (ours and its
//! writes interleaved).

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::Home;

/// Our `config write` processes, all started at once, each round.
const OURS: usize = 10;
/// Rounds of them: the first adds our entries, the others replace them (another port).
const ROUNDS: usize = 3;
/// Updates the outside writer makes at the least, in all.
const OUTSIDE_UPDATES: usize = 200;
/// How often the outside writer writes.
const PERIOD: Duration = Duration::from_millis(10);

/// What the outside writer did.
#[derive(Debug, Default)]
struct Log {
    /// Renames it completed, each one update.
    updates: usize,
    /// How many of our entries it found in the file, over all its reads.
    seen: BTreeSet<usize>,
    /// Its writes that replaced a file other than the one it had read (found by a look right
    /// before its rename): those drop whatever landed in between, ours included.
    stale: usize,
}

/// Claude Code's way of writing the file, in a loop until `stop`: read it, append the next
/// number to `outside`, write a temporary file beside it, rename that over it.
fn outside_writer(file: PathBuf, stop: Arc<AtomicBool>, done: Arc<AtomicUsize>) -> Log {
    let temp = file.with_file_name(".claude.json.tmp.outside");
    let mut log = Log::default();
    while !stop.load(Ordering::SeqCst) {
        let read = fs::File::open(&file).expect("the file is always there");
        let inode = read.metadata().unwrap().ino();
        let text = std::io::read_to_string(&read).unwrap();
        let mut value: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("the file is valid JSON at every moment ({e}):\n{text}"));
        let servers = value.get("mcpServers").and_then(Value::as_object);
        log.seen.insert(servers.map_or(0, |s| s.keys().filter(|k| k.starts_with("ours-")).count()));
        let updates = value["outside"].as_array_mut().expect("its own key is an array");
        updates.push(json!(log.updates + 1));
        fs::write(&temp, serde_json::to_string_pretty(&value).unwrap() + "\n").unwrap();
        if fs::metadata(&file).map(|m| m.ino()).ok() != Some(inode) {
            log.stale += 1;
        }
        fs::rename(&temp, &file).unwrap();
        log.updates += 1;
        done.store(log.updates, Ordering::SeqCst);
        std::thread::sleep(PERIOD);
    }
    log
}

/// The local port of entry `i` in `round`.
fn port(round: usize, i: usize) -> usize {
    9000 + 100 * round + i
}

/// Waits until the outside writer made `count` updates; fails after a minute.
fn wait_for(done: &AtomicUsize, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while done.load(Ordering::SeqCst) < count {
        assert!(Instant::now() < deadline, "the outside writer stalled at {done:?}");
        std::thread::sleep(PERIOD);
    }
}

/// Files beside `file` whose names start with its own: temporary files left behind.
fn strays(file: &Path) -> Vec<String> {
    let prefix = format!("{}.", file.file_name().unwrap().to_string_lossy());
    fs::read_dir(file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&prefix))
        .collect()
}

#[test]
fn every_outside_update_and_every_entry_of_ours_survives_claude_codes_own_writes() {
    let home = Home::new();
    let file = home.write(".claude.json", "{\n  \"numStartups\": 1,\n  \"outside\": []\n}\n");
    let (stop, done) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
    let outside: JoinHandle<Log> = {
        let (file, stop, done) = (file.clone(), stop.clone(), done.clone());
        std::thread::spawn(move || outside_writer(file, stop, done))
    };
    wait_for(&done, 20);

    let before_ours = done.load(Ordering::SeqCst);
    let mut outputs = Vec::new();
    for round in 0..ROUNDS {
        let children: Vec<_> = (0..OURS)
            .map(|i| {
                let name = format!("ours-{i}");
                let args = ["config", "write", "serena-direct", "--scope", "user", "--name", &name];
                let mut command = home.command();
                command.args(args).args(["--local-port", &port(round, i).to_string()]);
                command.stdout(Stdio::piped()).stderr(Stdio::piped());
                command.spawn().expect("run mcp-connect")
            })
            .collect();
        for (i, child) in children.into_iter().enumerate() {
            outputs.push((round, i, child.wait_with_output().expect("mcp-connect ends")));
        }
    }
    let during_ours = done.load(Ordering::SeqCst) - before_ours;
    wait_for(&done, OUTSIDE_UPDATES.max(done.load(Ordering::SeqCst) + 20));
    stop.store(true, Ordering::SeqCst);
    let log = outside.join().expect("the outside writer never failed");

    let mut redone = 0;
    for (round, i, output) in &outputs {
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "ours-{i}, round {round}, failed:\n{stdout}{stderr}");
        let done = match round {
            0 => format!("added ours-{i} to {} (user scope)", file.display()),
            _ => format!("replaced ours-{i} in {} (user scope)", file.display()),
        };
        assert!(stdout.lines().any(|l| l == done), "ours-{i}, round {round}:\n{stdout}");
        redone += stdout
            .lines()
            .find_map(|l| {
                l.split("redone on its version (").nth(1)?.split(' ').next()?.parse().ok()
            })
            .unwrap_or(0usize);
    }
    eprintln!(
        "outside updates: {} ({during_ours} while ours ran); its stale writes: {}; counts of ours \
         it saw: {:?}; our edits redone: {redone}",
        log.updates, log.stale, log.seen
    );

    // Not vacuous: hundreds of outside updates, some while ours ran, interleaved with ours.
    assert!(log.updates >= OUTSIDE_UPDATES, "{log:?}");
    assert!(during_ours >= 1, "the outside writer made no update while ours ran");
    assert!(log.seen.contains(&0) && log.seen.contains(&OURS), "{log:?}");
    assert!(log.seen.iter().any(|&n| 0 < n && n < OURS), "no write landed between ours: {log:?}");

    let text = fs::read_to_string(&file).unwrap();
    let value: Value = serde_json::from_str(&text).unwrap();
    let expected: Vec<Value> = (1..=log.updates).map(|n| json!(n)).collect();
    let updates = value["outside"].as_array().unwrap();
    let lost: Vec<&Value> = expected.iter().filter(|n| !updates.contains(n)).collect();
    assert!(lost.is_empty(), "outside updates lost: {lost:?} of {}", log.updates);
    assert_eq!(updates, &expected, "outside updates in order, once each");
    assert_eq!(value["numStartups"], 1);
    for i in 0..OURS {
        let url = format!("http://127.0.0.1:{}/mcp", port(ROUNDS - 1, i));
        assert_eq!(value["mcpServers"][format!("ours-{i}")]["url"], url, "ours-{i} in:\n{text}");
    }
    assert_eq!(strays(&file), Vec::<String>::new(), "temporary files left behind");
}

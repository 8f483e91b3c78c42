//! What a run leaves behind in its log file and on its output under load: a log that stays
//! under its cap, no line per connection at the default level, and a burst of cut connections
//! told as one line and a count.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use mcp_connect::lab::world::{Lab, LabOptions};
use serde_json::Value;

use crate::support::mcp::{McpSession, http_client};
use crate::support::{Home, free_port};

/// `up serena-direct --json` over `lab` on `port`, with `extra` flags, until its first
/// `serving` line; the rest of its output is still to read (and `up` stops when it is dropped).
fn up(home: &Home, lab: &Lab, port: u16, extra: &[&str]) -> (Child, impl Iterator<Item = Value>) {
    let mut child = home
        .command()
        .arg("--kubeconfig")
        .arg(lab.kubeconfig())
        .args(extra)
        .args(["up", "serena-direct", "--json", "--local-port", &port.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut events = lines.map(|l| serde_json::from_str::<Value>(&l.unwrap()).unwrap());
    let serving = tokio::task::block_in_place(|| {
        events.by_ref().find(|e| e["event"] == "status" && e["phase"] == "serving")
    });
    assert!(serving.is_some(), "up ended before serving");
    (child, events)
}

/// `n` MCP sessions one after another, each on a connection of its own.
async fn load(port: u16, n: usize) {
    let url = format!("http://127.0.0.1:{port}/mcp");
    for _ in 0..n {
        let mut session = McpSession::connect(&http_client(), &url).await.unwrap();
        session.tools_list().await.unwrap();
    }
}

/// The log directory's files: name and size.
fn log_files(home: &Home) -> Vec<(String, u64)> {
    let dir = home.path().join("state/mcp-connect");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| (e.file_name().into_string().unwrap(), e.metadata().unwrap().len()))
        .collect();
    files.sort();
    files
}

fn read(home: &Home, name: &str) -> String {
    std::fs::read_to_string(Path::new(&home.path().join("state/mcp-connect")).join(name)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_run_at_trace_keeps_the_log_under_its_cap() {
    let lab = Lab::start(LabOptions::default()).await.unwrap();
    let (home, port) = (Home::new(), free_port());
    // Enough load to fill more than three files at trace level: with the forward's streams
    // multiplexed on one tunnel, a session writes far fewer lines than a WebSocket of its own.
    let cap = ["--log-level", "trace", "--log-file-size", "4K", "--log-files", "2"];
    let (mut child, _events) = up(&home, &lab, port, &cap);
    load(port, 600).await;
    assert_eq!(tokio::task::block_in_place(|| crate::support::stop(&mut child)), 0);

    let files = log_files(&home);
    let names: Vec<_> = files.iter().map(|(name, _)| name.as_str()).collect();
    // The load wrote more than the cap holds: the oldest was rolled away.
    assert_eq!(names, ["mcp-connect.log", "mcp-connect.log.1", "mcp-connect.log.2"], "{files:?}");
    for (name, size) in &files {
        // A file is rolled once it reached the cap, so it holds the cap and one record more.
        assert!(*size <= 2 * 4 * 1024, "{name} is {size} bytes");
    }
    assert!(read(&home, "mcp-connect.log.2").contains(" TRACE "), "trace lines were written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_default_level_a_forward_writes_no_line_per_connection() {
    let lab = Lab::start(LabOptions::default()).await.unwrap();
    let (home, port) = (Home::new(), free_port());
    let (mut child, _events) = up(&home, &lab, port, &[]);
    load(port, 40).await;
    assert_eq!(tokio::task::block_in_place(|| crate::support::stop(&mut child)), 0);
    let log = read(&home, "mcp-connect.log");
    assert!(log.lines().count() < 20, "{} lines for 40 connections:\n{log}", log.lines().count());
}

/// `mcp-connect lab` with `flags`, 40 MCP sessions straight to its reference server, stopped:
/// its log.
async fn lab_log(flags: &[&str]) -> String {
    let home = Home::new();
    let mut child = home.command().args(flags).arg("lab").stdout(Stdio::piped()).spawn().unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines().map(Result::unwrap);
    let printed: Vec<String> =
        tokio::task::block_in_place(|| lines.take_while(|l| l != "lab ready").collect());
    let service = printed.iter().find(|l| l.starts_with("service mcp/serena-mcp:8080"));
    let url = service.and_then(|l| l.rsplit_once(", ")).map(|(_, url)| url.trim_end_matches(')'));
    let url = url.unwrap_or_else(|| panic!("the lab names its server's URL: {printed:?}"));
    for _ in 0..40 {
        let mut session = McpSession::connect(&http_client(), url).await.unwrap();
        session.tools_list().await.unwrap();
    }
    assert_eq!(tokio::task::block_in_place(|| crate::support::stop(&mut child)), 0);
    read(&home, "mcp-connect.log")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_default_level_the_labs_sessions_write_no_line_each() {
    // The MCP SDK the lab serves with logs every session at info: seen when trace is asked for.
    let trace = lab_log(&["--log-level", "trace"]).await;
    let sdk = trace.lines().filter(|l| l.contains(" INFO rmcp")).count();
    assert!(sdk >= 40, "{sdk} info lines of the SDK for 40 sessions");

    let info = lab_log(&[]).await;
    // Not one a session (40 or more): a loaded machine may add a warning or two.
    assert!(info.lines().count() < 20, "{} lines for 40 sessions:\n{info}", info.lines().count());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_connections_cut_with_their_pod_are_one_line_and_a_count() {
    const CONNECTIONS: usize = 40;
    let lab = Lab::start(LabOptions::default()).await.unwrap();
    let (home, port) = (Home::new(), free_port());
    let (mut child, events) = up(&home, &lab, port, &[]);
    let url = format!("http://127.0.0.1:{port}/mcp");
    // Each session keeps its own connection open.
    let mut sessions = Vec::new();
    for _ in 0..CONNECTIONS {
        let mut session = McpSession::connect(&http_client(), &url).await.unwrap();
        session.tools_list().await.unwrap();
        sessions.push(session);
    }
    let old = lab.serena_pod().expect("a pod serves");
    lab.cluster().delete_pod("mcp", &old).unwrap();
    // Give the cut connections and their counts time to be told (the count comes within a
    // second of the burst), then stop.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(tokio::task::block_in_place(|| crate::support::stop(&mut child)), 0);
    let events: Vec<Value> = tokio::task::block_in_place(|| events.collect());
    let lost: Vec<&Value> = events.iter().filter(|e| e["event"] == "connection-lost").collect();
    let told: u64 = lost.iter().map(|e| 1 + e["repeated"].as_u64().unwrap_or(0)).sum();
    // Ours, and the route's own connections (its health checks) cut with them.
    assert!(told >= CONNECTIONS as u64, "every cut connection is counted: {lost:#?}");
    let distinct: std::collections::HashSet<_> = lost.iter().map(|e| &e["message"]).collect();
    assert!(lost.len() <= 2 * distinct.len(), "one line and one count per message: {lost:#?}");
    assert!(lost.iter().any(|e| e["repeated"].as_u64() > Some(0)), "{lost:#?}");
}

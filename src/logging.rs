//! Logging to a daily-rolling file, never to the terminal (the TUI owns it); the router's
//! process mirrors it to stderr, which the TUI reads as the router's log.

use std::fs::DirBuilder;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

use tracing::level_filters::LevelFilter;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::fmt;
use tracing_subscriber::prelude::*;

/// How many daily files are kept.
const KEEP_DAYS: usize = 7;

/// Starts logging to `dir/mcp-connect.YYYY-MM-DD.log`, and with `mirror` to stderr too, at
/// info and above (a process whose stderr is its log: the router the TUI runs). Keep the guard
/// alive until exit: it flushes what is still queued when dropped.
pub fn init(dir: &Path, level: LevelFilter, mirror: bool) -> io::Result<WorkerGuard> {
    // Only the user reads the logs: they name hosts, pods and paths.
    DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let appender = RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix("mcp-connect")
        .filename_suffix("log")
        .max_log_files(KEEP_DAYS)
        .build(dir)
        .map_err(io::Error::other)?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let file = fmt::layer().with_writer(writer).with_ansi(false).with_filter(level);
    let stderr = mirror.then(|| {
        let level = level.min(LevelFilter::INFO);
        fmt::layer()
            .with_writer(io::stderr)
            .with_ansi(false)
            .without_time()
            .with_target(false)
            .with_filter(level)
    });
    tracing_subscriber::registry()
        .with(file)
        .with(stderr)
        .try_init()
        .map_err(|e| io::Error::other(e.to_string()))?;
    Ok(guard)
}

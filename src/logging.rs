//! Logging to a file, never to the terminal (the TUI owns it); the router's process mirrors it
//! to stderr, which the TUI reads as the router's log.
//!
//! The file is bounded: `mcp-connect.log` is rolled to `mcp-connect.log.1` (and `.1` to `.2`, …)
//! when it reaches [`Retention::file_bytes`], and only [`Retention::files`] rolled files are
//! kept. mcp-connect's own lines are written at the level asked for; its libraries' (HTTP,
//! Kubernetes, the MCP SDK, which logs every session at info) at warn and above unless trace is
//! asked for.

use std::fs::DirBuilder;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

use rolling_file::{BasicRollingFileAppender, RollingConditionBasic};
use tracing::level_filters::LevelFilter;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt;
use tracing_subscriber::prelude::*;

/// The log file's name in the log directory.
pub const FILE: &str = "mcp-connect.log";

/// How much log is kept: at most `file_bytes` (and one line) per file, `files` rolled files
/// beside the one written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub file_bytes: u64,
    pub files: usize,
}

impl Default for Retention {
    /// 10 MiB a file, 4 rolled files: 50 MiB at most.
    fn default() -> Retention {
        Retention { file_bytes: 10 << 20, files: 4 }
    }
}

/// Starts logging to `dir/mcp-connect.log`, and with `mirror` to stderr too, at info and above
/// (a process whose stderr is its log: the router the TUI runs). Keep the guard alive until
/// exit: it flushes what is still queued when dropped.
pub fn init(
    dir: &Path,
    level: LevelFilter,
    mirror: bool,
    retention: Retention,
) -> io::Result<WorkerGuard> {
    // Only the user reads the logs: they name hosts, pods and paths.
    DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let condition = RollingConditionBasic::new().max_size(retention.file_bytes);
    let appender = BasicRollingFileAppender::new(dir.join(FILE), condition, retention.files)?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let file = fmt::layer().with_writer(writer).with_ansi(false).with_filter(targets(level));
    let stderr = mirror.then(|| {
        fmt::layer()
            .with_writer(io::stderr)
            .with_ansi(false)
            .without_time()
            .with_target(false)
            .with_filter(targets(level.min(LevelFilter::INFO)))
    });
    tracing_subscriber::registry()
        .with(file)
        .with(stderr)
        .try_init()
        .map_err(|e| io::Error::other(e.to_string()))?;
    Ok(guard)
}

/// mcp-connect's lines at `level`, its libraries' at warn unless `level` is trace.
fn targets(level: LevelFilter) -> Targets {
    let libraries = if level == LevelFilter::TRACE { level } else { level.min(LevelFilter::WARN) };
    Targets::new().with_default(libraries).with_target("mcp_connect", level)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn libraries_speak_at_warn_unless_trace_is_asked_for() {
        let info = targets(LevelFilter::INFO);
        assert!(info.would_enable("mcp_connect::forward", &Level::INFO));
        assert!(!info.would_enable("mcp_connect::forward", &Level::DEBUG));
        assert!(!info.would_enable("rmcp::service", &Level::INFO));
        assert!(info.would_enable("rmcp::service", &Level::WARN));
        let debug = targets(LevelFilter::DEBUG);
        assert!(debug.would_enable("mcp_connect::up", &Level::DEBUG));
        assert!(!debug.would_enable("hyper::proto", &Level::DEBUG));
        assert!(targets(LevelFilter::TRACE).would_enable("hyper::proto", &Level::TRACE));
        assert!(!targets(LevelFilter::ERROR).would_enable("rmcp::service", &Level::WARN));
    }
}

//! The log's memory: a ring of tagged lines, bounded in count and in line length, so memory
//! stays bounded whatever the input rate.

use std::collections::VecDeque;
use std::fmt;

use jiff::Timestamp;

/// Lines kept; older ones are dropped first.
pub const CAPACITY: usize = 5_000;
/// Bytes kept of one line; the rest is cut and marked with `…`.
pub const MAX_LINE: usize = 1_000;

/// Where a line comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The port-forward's states, warnings and connection errors.
    Forward,
    /// The forwarded pod's own log.
    Pod,
    /// A router route's process: its stderr, starts and exits.
    Router,
    /// Health checks and diagnoses.
    Probe,
    /// Config writes and `claude mcp add` commands.
    Config,
    /// Routes starting and stopping, and the UI's own notes.
    Engine,
}

impl Source {
    pub const ALL: [Source; 6] = [
        Source::Forward,
        Source::Pod,
        Source::Router,
        Source::Probe,
        Source::Config,
        Source::Engine,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Forward => "forward",
            Source::Pod => "pod",
            Source::Router => "router",
            Source::Probe => "probe",
            Source::Config => "config",
            Source::Engine => "engine",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// When it happened: the time a pod wrote it, or else the time the UI took it in.
    pub at: Option<Timestamp>,
    pub source: Source,
    /// The route it is about, if any.
    pub profile: Option<String>,
    /// The pod whose log it is, for a pod's line.
    pub pod: Option<String>,
    pub text: String,
}

impl LogLine {
    pub fn new(source: Source, profile: Option<&str>, text: impl Into<String>) -> LogLine {
        LogLine {
            at: None,
            source,
            profile: profile.map(str::to_owned),
            pod: None,
            text: text.into(),
        }
    }

    /// The same line, as of `at`.
    pub fn at(self, at: Timestamp) -> LogLine {
        LogLine { at: Some(at), ..self }
    }

    /// The same line, from `pod`'s log.
    pub fn from_pod(self, pod: impl Into<String>) -> LogLine {
        LogLine { pod: Some(pod.into()), ..self }
    }
}

/// The newest [`CAPACITY`] lines.
#[derive(Debug, Clone)]
pub struct Ring {
    lines: VecDeque<LogLine>,
    capacity: usize,
}

impl Default for Ring {
    fn default() -> Self {
        Ring::with_capacity(CAPACITY)
    }
}

impl Ring {
    pub fn with_capacity(capacity: usize) -> Ring {
        let capacity = capacity.max(1);
        Ring { lines: VecDeque::with_capacity(capacity), capacity }
    }

    /// Adds a line (cleaned of control characters and cut to [`MAX_LINE`]), dropping the
    /// oldest when full.
    pub fn push(&mut self, mut line: LogLine) {
        line.text = clean(&line.text);
        if self.lines.len() == self.capacity {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Newest first.
    pub fn newest_first(&self) -> impl Iterator<Item = &LogLine> {
        self.lines.iter().rev()
    }
}

/// The text fit for one screen line: terminal escapes dropped, tabs and other control
/// characters as spaces, at most [`MAX_LINE`] bytes.
fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_LINE + 3));
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if out.len() >= MAX_LINE {
            out.push('…');
            break;
        }
        match c {
            // CSI sequences (colours from a pod's log): ESC [ … final byte.
            '\u{1b}' if chars.peek() == Some(&'[') => {
                for c in chars.by_ref().skip(1) {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            '\r' | '\n' => {}
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_bounded_whatever_comes_in() {
        let mut ring = Ring::default();
        for n in 0..100_000 {
            ring.push(LogLine::new(Source::Pod, Some("serena-direct"), format!("line {n}")));
        }
        assert_eq!(ring.len(), CAPACITY);
        assert_eq!(ring.newest_first().next().map(|l| l.text.as_str()), Some("line 99999"));
        assert_eq!(ring.newest_first().last().map(|l| l.text.as_str()), Some("line 95000"));
        ring.push(LogLine::new(Source::Pod, None, "x".repeat(1_000_000)));
        let longest = ring.newest_first().map(|l| l.text.len()).max();
        assert!(longest <= Some(MAX_LINE + '…'.len_utf8()));
    }

    #[test]
    fn escapes_and_control_characters_do_not_reach_the_screen() {
        assert_eq!(clean("\u{1b}[31mred\u{1b}[0m\tdone\r\n"), "red done");
    }
}

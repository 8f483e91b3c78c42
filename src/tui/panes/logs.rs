//! The log pane: every route's forward, pod, probe, config and engine lines, tagged by source
//! and stamped with a short local time; scroll, follow, filter by text (`/`) and by source
//! (`t`), a selected line (Enter opens it whole, `y` copies it), long lines cut at the edge
//! and scrolled sideways, or wrapped (`W`). The state is here; `draw` draws it.

pub mod draw;
mod ring;
pub mod shown;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use tui_input::Input;

pub use draw::draw;
pub use ring::{CAPACITY, LogLine, MAX_LINE, Ring, Source};
pub use shown::Pane;

/// Columns one sideways step moves.
pub const STEP: usize = 20;

/// The log pane's state.
#[derive(Debug)]
pub struct Logs {
    ring: Ring,
    /// The text filter (`/`); empty: everything.
    pub filter: Input,
    /// Whether keys go into the filter.
    pub editing: bool,
    /// Only this source, if set (`t` cycles).
    pub source: Option<Source>,
    /// The selected line, counted in matching lines above the newest: 0 is the newest, and
    /// then the pane follows the tail.
    cursor: usize,
    /// The newest line in view, counted the same way; never above the cursor.
    offset: usize,
    /// Long lines wrap, rather than end at the pane's edge.
    pub wrap: bool,
    /// Columns the lines' bodies are scrolled sideways, when they do not wrap.
    column: usize,
    /// The time a line taken in now happened at, as the loop last read its clock.
    now: Option<Timestamp>,
    /// The zone times are shown in: the user's, once the loop says so.
    zone: TimeZone,
}

impl Default for Logs {
    fn default() -> Self {
        Logs {
            ring: Ring::default(),
            filter: Input::default(),
            editing: false,
            source: None,
            cursor: 0,
            offset: 0,
            wrap: false,
            column: 0,
            now: None,
            zone: TimeZone::UTC,
        }
    }
}

impl Logs {
    /// Takes in a line, stamped with the time now unless it has its own.
    pub fn push(&mut self, mut line: LogLine) {
        if line.at.is_none() {
            line.at = self.now;
        }
        if self.cursor > 0 && self.matches(&line) {
            // Keep the lines the user is reading in place.
            self.cursor += 1;
            self.offset += 1;
        }
        self.ring.push(line);
    }

    /// The time lines taken in from now on are stamped with.
    pub fn clock(&mut self, now: Timestamp) {
        self.now = Some(now);
    }

    pub fn set_zone(&mut self, zone: TimeZone) {
        self.zone = zone;
    }

    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }

    pub fn len(&self) -> usize {
        self.ring.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    pub fn following(&self) -> bool {
        self.cursor == 0
    }

    /// How many lines above the newest the selected one is.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    pub fn column(&self) -> usize {
        self.column
    }

    /// The selected line.
    pub fn selected(&self) -> Option<&LogLine> {
        self.visible().nth(self.cursor)
    }

    /// How many lines pass the filters.
    pub fn count(&self) -> usize {
        if self.source.is_none() && self.filter.value().is_empty() {
            return self.ring.len();
        }
        self.visible().count()
    }

    /// Selects `lines` older lines; the view follows.
    pub fn up(&mut self, lines: usize, pane: Pane) {
        self.cursor = self.cursor.saturating_add(lines);
        self.settle(pane);
    }

    /// Selects `lines` newer lines; at the newest, follows.
    pub fn down(&mut self, lines: usize, pane: Pane) {
        self.cursor = self.cursor.saturating_sub(lines);
        self.settle(pane);
    }

    /// A page older: the view and the selection both move.
    pub fn page_up(&mut self, pane: Pane) {
        let page = pane.height.saturating_sub(1).max(1);
        self.offset = self.offset.saturating_add(page);
        self.up(page, pane);
    }

    pub fn page_down(&mut self, pane: Pane) {
        let page = pane.height.saturating_sub(1).max(1);
        self.offset = self.offset.saturating_sub(page);
        self.down(page, pane);
    }

    /// The oldest line.
    pub fn top(&mut self, pane: Pane) {
        self.up(usize::MAX, pane);
    }

    pub fn follow(&mut self) {
        self.cursor = 0;
        self.offset = 0;
    }

    /// Wraps long lines, or cuts them at the edge again.
    pub fn toggle_wrap(&mut self, pane: Pane) {
        self.wrap = !self.wrap;
        self.column = 0;
        self.settle(Pane { wrap: self.wrap, ..pane });
    }

    /// Scrolls the bodies sideways towards their starts.
    pub fn left(&mut self) {
        self.column = self.column.saturating_sub(STEP);
    }

    /// Scrolls the bodies sideways towards their ends, as far as the longest line in view
    /// goes; whether it moved.
    pub fn right(&mut self, pane: Pane) -> bool {
        let most = self.in_view(pane).iter().map(|l| shown::width(l)).max().unwrap_or(0);
        let before = self.column;
        self.column = (self.column + STEP).min(most.saturating_sub(pane.width));
        self.column != before
    }

    /// All sources, then each one alone.
    pub fn cycle_source(&mut self) {
        self.source = match self.source {
            None => Some(Source::ALL[0]),
            Some(s) => Source::ALL.iter().skip_while(|x| **x != s).nth(1).copied(),
        };
        self.follow();
    }

    /// The filter changed: show the newest matching lines.
    pub fn refilter(&mut self) {
        self.follow();
    }

    pub fn clear_filter(&mut self) {
        self.filter.reset();
        self.follow();
    }

    fn matches(&self, line: &LogLine) -> bool {
        if self.source.is_some_and(|s| s != line.source) {
            return false;
        }
        let needle = self.filter.value();
        needle.is_empty()
            || contains(&line.text, needle)
            || line.profile.as_deref().is_some_and(|p| contains(p, needle))
            || line.pod.as_deref().is_some_and(|p| contains(p, needle))
    }

    /// The lines that pass the filters, newest first.
    pub fn visible(&self) -> impl Iterator<Item = &LogLine> {
        self.ring.newest_first().filter(|l| self.matches(l))
    }

    /// Keeps the cursor on a line and in view, moving the view as little as it can.
    fn settle(&mut self, pane: Pane) {
        self.cursor = self.cursor.min(self.count().saturating_sub(1));
        self.offset = self.view_end(pane);
    }

    /// The newest line of the view for `pane`: the stored one if the selected line is in view
    /// with it and the view is full, else the nearest one that makes it so.
    pub fn view_end(&self, pane: Pane) -> usize {
        let count = self.count();
        let last = count.saturating_sub(1);
        let cursor = self.cursor.min(last);
        let mut end = self.offset.min(cursor);
        if end + pane.height > count {
            // Too few lines above to fill the pane, perhaps: no higher than what shows the
            // oldest line at the top.
            end = end.min(self.lowest_end(last, pane));
        }
        end.max(self.lowest_end(cursor, pane))
    }

    /// The newest line the view can end with while the line `index` is still whole in it.
    fn lowest_end(&self, index: usize, pane: Pane) -> usize {
        let height = pane.height.max(1);
        let start = (index + 1).saturating_sub(height);
        let below: Vec<&LogLine> = self.visible().skip(start).take(index + 1 - start).collect();
        let mut rows = 0;
        let mut lowest = index;
        for (i, line) in below.iter().enumerate().rev() {
            rows += shown::rows(line, pane);
            if rows > height {
                break;
            }
            lowest = start + i;
        }
        lowest
    }

    /// The lines in view in `pane`, newest first; the oldest may show only its last rows.
    pub fn in_view(&self, pane: Pane) -> Vec<&LogLine> {
        let mut rows = 0;
        self.visible()
            .skip(self.view_end(pane))
            .take_while(|line| {
                let fits = rows < pane.height;
                rows += shown::rows(line, pane);
                fits
            })
            .collect()
    }
}

/// Smart case: a needle with capitals matches exactly, one without ignores case.
fn contains(haystack: &str, needle: &str) -> bool {
    if needle.chars().any(char::is_uppercase) {
        return haystack.contains(needle);
    }
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    h.len() >= n.len() && h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(source: Source, text: &str) -> LogLine {
        LogLine::new(source, Some("serena-direct"), text)
    }

    const PANE: Pane = Pane { width: 60, height: 3, wrap: false };

    fn numbered(n: usize) -> Logs {
        let mut logs = Logs::default();
        for i in 0..n {
            logs.push(line(Source::Engine, &format!("line {i}")));
        }
        logs
    }

    fn texts(lines: Vec<&LogLine>) -> Vec<&str> {
        lines.into_iter().map(|l| l.text.as_str()).collect()
    }

    #[test]
    fn filters_by_text_and_source_and_keeps_the_reader_in_place() {
        let mut logs = Logs::default();
        logs.push(line(Source::Pod, "GET /mcp 200").from_pod("serena-mcp-1"));
        logs.push(line(Source::Probe, "healthy"));
        logs.push(line(Source::Pod, "POST /mcp 202").from_pod("serena-mcp-1"));
        logs.filter = Input::new("direct".into());
        assert_eq!(logs.visible().count(), 3, "profile names match too");
        logs.filter = Input::new("mcp-1".into());
        assert_eq!(logs.visible().count(), 2, "pod names match too");
        logs.filter = Input::new("POST".into());
        assert_eq!(logs.visible().map(|l| l.text.as_str()).collect::<Vec<_>>(), ["POST /mcp 202"]);
        logs.clear_filter();
        logs.cycle_source();
        logs.cycle_source();
        assert_eq!(logs.source, Some(Source::Pod));
        assert_eq!(logs.visible().count(), 2);
        logs.up(1, PANE);
        logs.push(line(Source::Pod, "GET /mcp 200 again"));
        assert_eq!(logs.selected().map(|l| l.text.as_str()), Some("GET /mcp 200"));
        logs.follow();
        assert!(logs.following());
        for _ in 1..Source::ALL.len() {
            logs.cycle_source();
        }
        assert_eq!(logs.source, None);
    }

    #[test]
    fn the_selection_moves_inside_the_view_before_the_view_moves() {
        let mut logs = numbered(10);
        assert_eq!(texts(logs.in_view(PANE)), ["line 9", "line 8", "line 7"]);
        logs.up(2, PANE);
        assert_eq!(logs.selected().map(|l| l.text.as_str()), Some("line 7"));
        assert_eq!(texts(logs.in_view(PANE)), ["line 9", "line 8", "line 7"], "not moved yet");
        logs.up(1, PANE);
        assert_eq!(texts(logs.in_view(PANE)), ["line 8", "line 7", "line 6"]);
        logs.down(2, PANE);
        assert_eq!(logs.selected().map(|l| l.text.as_str()), Some("line 8"));
        assert_eq!(texts(logs.in_view(PANE)), ["line 8", "line 7", "line 6"], "still in view");
        logs.top(PANE);
        assert_eq!(texts(logs.in_view(PANE)), ["line 2", "line 1", "line 0"]);
        assert_eq!(logs.selected().map(|l| l.text.as_str()), Some("line 0"));
        logs.page_down(PANE);
        assert_eq!(texts(logs.in_view(PANE)), ["line 4", "line 3", "line 2"]);
        logs.push(line(Source::Engine, "line 10"));
        assert_eq!(texts(logs.in_view(PANE)), ["line 4", "line 3", "line 2"], "kept in place");
        logs.follow();
        assert_eq!(texts(logs.in_view(PANE)), ["line 10", "line 9", "line 8"]);
    }

    #[test]
    fn wrapped_lines_take_their_rows_and_the_selection_stays_in_view() {
        let mut logs = numbered(3);
        let long = "long ".repeat(20);
        logs.push(line(Source::Engine, &long));
        let wrapped = Pane { width: 60, height: 6, wrap: true };
        // 28 columns beside the head, then 30 under the body: 5 words, 6, 6 and 3.
        assert_eq!(shown::rows(logs.selected().unwrap(), wrapped), 4);
        assert_eq!(texts(logs.in_view(wrapped)), [long.as_str(), "line 2", "line 1"]);
        logs.up(3, wrapped);
        assert_eq!(texts(logs.in_view(wrapped)), ["line 2", "line 1", "line 0"]);
        logs.toggle_wrap(wrapped);
        assert_eq!(logs.in_view(Pane { wrap: false, ..wrapped }).len(), 4, "one row each");
    }

    #[test]
    fn sideways_goes_as_far_as_the_longest_line_in_view() {
        let mut logs = numbered(2);
        logs.push(line(Source::Engine, &"x".repeat(70)));
        let longest = shown::width(logs.selected().unwrap());
        assert!(logs.right(PANE));
        assert_eq!(logs.column(), STEP);
        while logs.right(PANE) {}
        assert_eq!(logs.column(), longest - PANE.width);
        logs.left();
        assert_eq!(logs.column(), longest - PANE.width - STEP);
        logs.toggle_wrap(PANE);
        assert_eq!((logs.wrap, logs.column()), (true, 0));
    }
}

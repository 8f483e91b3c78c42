//! The log pane: every route's forward, pod, probe, config and engine lines, tagged by source;
//! scroll, follow, filter by text (`/`) and by source (`t`).

mod ring;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use tui_input::Input;

pub use ring::{CAPACITY, LogLine, MAX_LINE, Ring, Source};

use crate::tui::theme::Theme;

/// Lines moved by PageUp / PageDown.
const PAGE: usize = 10;

/// The log pane's state.
#[derive(Debug, Default)]
pub struct Logs {
    ring: Ring,
    /// The text filter (`/`); empty: everything.
    pub filter: Input,
    /// Whether keys go into the filter.
    pub editing: bool,
    /// Only this source, if set (`t` cycles).
    pub source: Option<Source>,
    /// How many matching lines the view is above the newest; 0 follows the tail.
    offset: usize,
}

impl Logs {
    pub fn push(&mut self, line: LogLine) {
        if self.offset > 0 && self.matches(&line) {
            // Keep the lines the user is reading in place.
            self.offset += 1;
        }
        self.ring.push(line);
    }

    pub fn len(&self) -> usize {
        self.ring.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    pub fn following(&self) -> bool {
        self.offset == 0
    }

    /// Scrolls towards older lines.
    pub fn up(&mut self, lines: usize) {
        let most = self.visible().count().saturating_sub(1);
        self.offset = (self.offset + lines).min(most);
    }

    /// Scrolls towards newer lines; at the bottom, follows.
    pub fn down(&mut self, lines: usize) {
        self.offset = self.offset.saturating_sub(lines);
    }

    pub fn page_up(&mut self) {
        self.up(PAGE);
    }

    pub fn page_down(&mut self) {
        self.down(PAGE);
    }

    pub fn top(&mut self) {
        self.up(usize::MAX / 2);
    }

    pub fn follow(&mut self) {
        self.offset = 0;
    }

    /// All sources, then each one alone.
    pub fn cycle_source(&mut self) {
        self.source = match self.source {
            None => Some(Source::ALL[0]),
            Some(s) => Source::ALL.iter().skip_while(|x| **x != s).nth(1).copied(),
        };
        self.offset = 0;
    }

    /// The filter changed: show the newest matching lines.
    pub fn refilter(&mut self) {
        self.offset = 0;
    }

    pub fn clear_filter(&mut self) {
        self.filter.reset();
        self.offset = 0;
    }

    fn matches(&self, line: &LogLine) -> bool {
        if self.source.is_some_and(|s| s != line.source) {
            return false;
        }
        let needle = self.filter.value();
        needle.is_empty()
            || contains(&line.text, needle)
            || line.profile.as_deref().is_some_and(|p| contains(p, needle))
    }

    /// The lines that pass the filters, newest first.
    pub fn visible(&self) -> impl Iterator<Item = &LogLine> {
        self.ring.newest_first().filter(|l| self.matches(l))
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

/// Draws the pane: the visible lines, and the filter field while it is edited.
pub fn draw(frame: &mut Frame, area: Rect, logs: &Logs, focused: bool, theme: &Theme) {
    let mut title = vec![Span::styled(" Logs ", theme.title())];
    title.push(Span::raw(format!("[{}] ", logs.source.map_or("all", Source::as_str))));
    if !logs.filter.value().is_empty() && !logs.editing {
        title.push(Span::styled(format!("/{} ", logs.filter.value()), theme.key()));
    }
    if !logs.following() {
        title.push(Span::styled(format!("↑{} ", logs.offset), theme.fix()));
    }
    let border = if focused { theme.focused() } else { theme.border() };
    let block = Block::bordered().border_style(border).title(Line::from(title));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [body, field] = if logs.editing {
        Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(inner)
    } else {
        [inner, Rect::default()]
    };
    let height = usize::from(body.height);
    let mut shown: Vec<Line> = logs
        .visible()
        .skip(logs.offset)
        .take(height)
        .map(|line| {
            let profile = line.profile.as_deref().map(|p| format!("{p}: ")).unwrap_or_default();
            Line::from(vec![
                Span::styled(format!("{:<7} ", line.source), theme.dim()),
                Span::styled(profile, theme.label()),
                Span::raw(line.text.as_str()),
            ])
        })
        .collect();
    shown.reverse();
    frame.render_widget(Paragraph::new(shown), body);
    if logs.editing {
        let width = usize::from(field.width.saturating_sub(1));
        let scroll = logs.filter.visual_scroll(width);
        let text = format!("/{}", logs.filter.value());
        let field_text = Paragraph::new(text).scroll((0, u16::try_from(scroll).unwrap_or(0)));
        frame.render_widget(field_text, field);
        let cursor = logs.filter.visual_cursor().saturating_sub(scroll) + 1;
        let x = field.x.saturating_add(u16::try_from(cursor).unwrap_or(u16::MAX));
        frame.set_cursor_position(Position::new(x.min(field.right().saturating_sub(1)), field.y));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(source: Source, text: &str) -> LogLine {
        LogLine::new(source, Some("serena-direct"), text)
    }

    #[test]
    fn filters_by_text_and_source_and_keeps_the_reader_in_place() {
        let mut logs = Logs::default();
        logs.push(line(Source::Pod, "GET /mcp 200"));
        logs.push(line(Source::Probe, "healthy"));
        logs.push(line(Source::Pod, "POST /mcp 202"));
        logs.filter = Input::new("direct".into());
        assert_eq!(logs.visible().count(), 3, "profile names match too");
        logs.filter = Input::new("POST".into());
        assert_eq!(logs.visible().map(|l| l.text.as_str()).collect::<Vec<_>>(), ["POST /mcp 202"]);
        logs.clear_filter();
        logs.cycle_source();
        logs.cycle_source();
        assert_eq!(logs.source, Some(Source::Pod));
        assert_eq!(logs.visible().count(), 2);
        logs.up(1);
        logs.push(line(Source::Pod, "GET /mcp 200 again"));
        assert_eq!(logs.visible().nth(logs.offset).map(|l| l.text.as_str()), Some("GET /mcp 200"));
        logs.follow();
        assert!(logs.following());
        for _ in 1..Source::ALL.len() {
            logs.cycle_source();
        }
        assert_eq!(logs.source, None);
    }
}

//! Enter on a log line: the line whole — its full time, source, route and pod, and its text
//! wrapped — to read what the pane cuts at its edge, and `y` to copy the text.

use ratatui::Frame;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::tui::keymap::{self, Action, Context};
use crate::tui::panes::logs::LogLine;
use crate::tui::theme::Theme;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLinePopup {
    pub line: LogLine,
    /// When it happened, as the pane's zone writes it (`2026-03-04 12:34:56.789 +01:00`).
    pub when: Option<String>,
    pub scroll: u16,
}

impl LogLinePopup {
    pub fn new(line: LogLine, when: Option<String>) -> LogLinePopup {
        LogLinePopup { line, when, scroll: 0 }
    }

    /// What `y` copies: the text, as the pod or the engine said it.
    pub fn text(&self) -> &str {
        &self.line.text
    }
}

pub fn draw(frame: &mut Frame, state: &LogLinePopup, theme: &Theme) {
    let line = &state.line;
    let field = |label: &'static str, value: String| {
        Line::from(vec![Span::styled(format!("{label:<7}"), theme.label()), Span::raw(value)])
    };
    let mut lines = Vec::new();
    if let Some(when) = &state.when {
        lines.push(field("time", when.clone()));
    }
    lines.push(field("source", line.source.to_string()));
    if let Some(profile) = &line.profile {
        lines.push(field("route", profile.clone()));
    }
    if let Some(pod) = &line.pod {
        lines.push(field("pod", pod.clone()));
    }
    lines.push(Line::raw(""));
    lines.push(Line::raw(line.text.clone()));
    lines.push(Line::raw(""));
    let key = |action| keymap::first_key(Context::Text, action).unwrap_or_default();
    let hint = format!("{} copies the text · {} closes", key(Action::Copy), key(Action::Close));
    lines.push(Line::styled(hint, theme.dim()));
    let width = frame.area().width.saturating_sub(4).min(100);
    // The text wraps: room for it whole where the screen allows, scrolled where not.
    let text_rows = textwrap::wrap(&line.text, usize::from(width.max(1))).len();
    let rows = u16::try_from(lines.len() - 1 + text_rows).unwrap_or(u16::MAX);
    let inner = super::frame_area(
        frame,
        width.saturating_add(2),
        rows.saturating_add(2),
        "Log line",
        theme,
    );
    let scroll = state.scroll.min(rows.saturating_sub(inner.height));
    let paragraph = Paragraph::new(lines).wrap(Wrap { trim: false }).scroll((scroll, 0));
    frame.render_widget(paragraph, inner);
}

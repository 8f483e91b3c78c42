//! `?`: every key, from the keymap, grouped by where it applies: one scrolled column on a
//! small terminal, the main screen's keys beside the popups' on a wide one.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::tui::keymap::{self, Context};
use crate::tui::theme::Theme;

/// Width from which the help has two columns.
const TWO_COLUMNS: u16 = 116;

/// The help popup's state: how far it is scrolled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Help {
    pub scroll: u16,
}

/// The lines for `contexts`: a title for each, then `keys  what they do`.
pub fn lines<'a>(contexts: &[Context], theme: &Theme) -> Vec<Line<'a>> {
    let mut lines = Vec::new();
    for context in contexts {
        if !lines.is_empty() {
            lines.push(Line::raw(""));
        }
        lines.push(Line::styled(context.title(), theme.title()));
        for binding in keymap::bindings(*context) {
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<10}", keymap::keys_label(binding)), theme.key()),
                Span::raw(binding.help),
            ]));
        }
    }
    lines
}

fn height(lines: &[Line]) -> u16 {
    u16::try_from(lines.len()).unwrap_or(u16::MAX)
}

pub fn draw(frame: &mut Frame, state: &Help, theme: &Theme) {
    let title = "Keys (j/k scroll, esc close)";
    if frame.area().width >= TWO_COLUMNS + 4 {
        let left = lines(&[Context::Main], theme);
        let right = [Context::Popup, Context::Text, Context::WriteConfig, Context::Input];
        let right = lines(&right, theme);
        let rows = height(&left).max(height(&right));
        let inner = super::frame_area(frame, TWO_COLUMNS, rows.saturating_add(2), title, theme);
        let max = rows.saturating_sub(inner.height);
        let [l, r] = Layout::horizontal([Constraint::Fill(1); 2]).spacing(2).areas(inner);
        let scroll = (state.scroll.min(max), 0);
        frame.render_widget(Paragraph::new(left).scroll(scroll), l);
        frame.render_widget(Paragraph::new(right).scroll(scroll), r);
    } else {
        let all = lines(&Context::ALL, theme);
        let rows = height(&all);
        let inner = super::frame_area(frame, 72, rows.saturating_add(2), title, theme);
        let max = rows.saturating_sub(inner.height);
        frame.render_widget(Paragraph::new(all).scroll((state.scroll.min(max), 0)), inner);
    }
}

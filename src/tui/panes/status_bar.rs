//! The status bar: the keys that matter where the user is, from the keymap, and a short note
//! (quitting, a refused key). Help and quit are pinned to the right, so that they show at
//! any width; the other hints fill the left as far as they fit.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::tui::keymap::{self, Action, Context};
use crate::tui::theme::Theme;

fn pinned(action: Action) -> bool {
    matches!(action, Action::Help | Action::Quit)
}

/// The hints of `context` (pinned ones or the others) that fit in `width` columns.
pub fn hints<'a>(context: Context, pins: bool, width: usize, theme: &Theme) -> Line<'a> {
    let mut spans = Vec::new();
    let mut used = 0;
    for (_, key, word) in keymap::hints(context).filter(|(action, ..)| pinned(*action) == pins) {
        let pair = [Span::styled(format!(" {key}"), theme.key()), Span::raw(format!(" {word} "))];
        let needed: usize = pair.iter().map(Span::width).sum();
        if used + needed > width {
            break;
        }
        used += needed;
        spans.extend(pair);
    }
    Line::from(spans)
}

/// `text` in at most `width` columns, ending in `…` when it was longer.
fn cut(text: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthStr;
    if text.width() <= width {
        return text.to_owned();
    }
    let mut kept = String::new();
    for c in text.chars() {
        if kept.width() + unicode_width::UnicodeWidthChar::width(c).unwrap_or(0) + 1 > width {
            break;
        }
        kept.push(c);
    }
    format!("{kept}…")
}

pub fn draw(frame: &mut Frame, area: Rect, context: Context, note: Option<&str>, theme: &Theme) {
    let width = |line: &Line| u16::try_from(line.width()).unwrap_or(u16::MAX);
    let right = hints(context, true, usize::from(area.width), theme);
    // A note longer than the room is cut with `…`, so that it shows it goes on.
    let room = usize::from(area.width).saturating_sub(right.width() + 2);
    let note = note.map(|n| cut(n, room)).map(|n| format!(" {n} ")).unwrap_or_default();
    let note = Line::styled(note, theme.fix());
    let [left_area, note_area, right_area] = Layout::horizontal([
        Constraint::Fill(1),
        Constraint::Length(width(&note)),
        Constraint::Length(width(&right)),
    ])
    .areas(area);
    let left = hints(context, false, usize::from(left_area.width), theme);
    frame.render_widget(Paragraph::new(left), left_area);
    frame.render_widget(Paragraph::new(note), note_area);
    frame.render_widget(Paragraph::new(right), right_area);
}

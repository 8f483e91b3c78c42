//! The panes of the main screen, one module each: its state (if any) apart from its drawing.
//! Drawing functions take `&` state and a [`Theme`](super::theme::Theme) and change nothing.

pub mod detail;
pub mod header;
pub mod health;
pub mod logs;
pub mod profiles;
pub mod status_bar;

use ratatui::text::Line;
use ratatui::widgets::Block;

use super::theme::Theme;

/// A pane's frame: its title, highlighted when it has the focus.
pub fn block<'a>(title: impl Into<Line<'a>>, focused: bool, theme: &Theme) -> Block<'a> {
    let border = if focused { theme.focused() } else { theme.border() };
    Block::bordered().border_style(border).title(title.into().style(theme.title()))
}

//! The panes of the main screen, one module each: its state (if any) apart from its drawing.
//! Drawing functions take `&` state and a [`Theme`](super::theme::Theme) and change nothing.

pub mod detail;
pub mod header;
pub mod health;
pub mod logs;
pub mod profiles;
pub mod status_bar;

use ratatui::Frame;
use ratatui::layout::{Margin, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Scrollbar, ScrollbarOrientation, ScrollbarState};

use super::theme::Theme;

/// A pane's frame: its title, highlighted when it has the focus.
pub fn block<'a>(title: impl Into<Line<'a>>, focused: bool, theme: &Theme) -> Block<'a> {
    let border = if focused { theme.focused() } else { theme.border() };
    Block::bordered().border_style(border).title(title.into().style(theme.title()))
}

/// The columns a pane's text has inside `block` drawn over `area`.
pub fn text_width(block: &Block<'_>, area: Rect) -> u16 {
    block.inner(area).width
}

/// How far `lines` scroll in `block` over `area`: the rows that do not fit.
pub fn overflow(block: &Block<'_>, area: Rect, lines: usize) -> u16 {
    let rows = usize::from(block.inner(area).height);
    u16::try_from(lines.saturating_sub(rows)).unwrap_or(u16::MAX)
}

/// Draws `lines` (laid out for the pane's width) from row `scroll` on, and when they do not all
/// fit, a scrollbar on the pane's right border that says how much there is and where this is.
pub fn scrolling(
    frame: &mut Frame,
    area: Rect,
    block: Block<'_>,
    lines: Vec<Line<'_>>,
    scroll: u16,
    theme: &Theme,
) {
    let overflow = overflow(&block, area, lines.len());
    let offset = scroll.min(overflow);
    let rows = block.inner(area).height;
    frame.render_widget(Paragraph::new(lines).block(block).scroll((offset, 0)), area);
    if overflow > 0 {
        let mut state = ScrollbarState::new(usize::from(overflow) + 1)
            .position(usize::from(offset))
            .viewport_content_length(usize::from(rows));
        let bar = Scrollbar::new(ScrollbarOrientation::VerticalRight).style(theme.border());
        let track = area.inner(Margin { vertical: 1, horizontal: 0 });
        frame.render_stateful_widget(bar, track, &mut state);
    }
}

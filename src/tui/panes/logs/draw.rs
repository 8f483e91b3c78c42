//! Drawing the log pane: the lines in view, the newest at the bottom, each with its time, tag
//! and route; the selected one highlighted while the pane has the focus; scrollbars on the
//! right and bottom borders when there is more above or to the side; the filter field while
//! it is edited.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Margin, Position, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Scrollbar, ScrollbarOrientation, ScrollbarState};

use super::shown::{self, Pane};
use super::{LogLine, Logs, Source};
use crate::tui::keymap::{self, Action, Context};
use crate::tui::theme::Theme;

/// The text area of the pane drawn in `area` (inside the border, above the filter field).
pub fn pane(area: Rect, logs: &Logs) -> Pane {
    let inner = area.inner(Margin::new(1, 1));
    let field = u16::from(logs.editing);
    Pane {
        width: usize::from(inner.width),
        height: usize::from(inner.height.saturating_sub(field)),
        wrap: logs.wrap,
    }
}

/// Draws the pane: the lines in view, and the filter field while it is edited.
pub fn draw(frame: &mut Frame, area: Rect, logs: &Logs, focused: bool, theme: &Theme) {
    let pane = pane(area, logs);
    let end = logs.view_end(pane);
    let in_view = logs.in_view(pane);
    let count = logs.count();
    let border = if focused { theme.focused() } else { theme.border() };
    let mut block = Block::bordered().border_style(border).title(title(logs, focused, theme));
    if focused {
        block = block.title_top(Line::styled(keys(), theme.dim()).right_aligned());
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [body, field] = if logs.editing {
        Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(inner)
    } else {
        [inner, Rect::default()]
    };
    let selected = focused.then(|| logs.cursor().min(count.saturating_sub(1)));
    let mut rows: Vec<Row> = Vec::new();
    for (i, line) in in_view.iter().enumerate() {
        let mut lines = shown_rows(line, logs, pane, theme);
        if selected == Some(end + i) {
            lines = lines.into_iter().map(|l| l.patch_style(theme.selected())).collect();
        }
        rows.splice(0..0, lines);
    }
    let extra = rows.len().saturating_sub(pane.height);
    let column = if logs.wrap { 0 } else { logs.column() };
    for (y, row) in rows.into_iter().skip(extra).enumerate() {
        let y = body.y.saturating_add(u16::try_from(y).unwrap_or(u16::MAX));
        row.render(frame, Rect { y, height: 1, ..body }, column);
    }
    vertical_bar(frame, area, count, end, in_view.len(), theme);
    let widest = in_view.iter().map(|l| shown::width(l)).max().unwrap_or(0);
    horizontal_bar(frame, area, logs, widest, theme);
    if logs.editing {
        filter_field(frame, field, logs);
    }
}

/// ` Logs [all] 37/40 /filter ↑3 →20 `: source, selected line (focused), filter, how far
/// above the newest, how far sideways.
fn title<'a>(logs: &Logs, focused: bool, theme: &Theme) -> Line<'a> {
    let mut title = vec![Span::styled(" Logs ", theme.title())];
    title.push(Span::raw(format!("[{}] ", logs.source.map_or("all", Source::as_str))));
    let count = logs.count();
    if focused && count > 0 {
        let at = count - logs.cursor().min(count - 1);
        title.push(Span::raw(format!("{at}/{count} ")));
    }
    if !logs.filter.value().is_empty() && !logs.editing {
        title.push(Span::styled(format!("/{} ", logs.filter.value()), theme.key()));
    }
    if !logs.following() {
        title.push(Span::styled(format!("↑{} ", logs.cursor()), theme.fix()));
    }
    if logs.wrap {
        title.push(Span::styled("wrapped ", theme.dim()));
    } else if logs.column() > 0 {
        title.push(Span::styled(format!("→{} ", logs.column()), theme.fix()));
    }
    Line::from(title)
}

/// ` enter open · y copy · W wrap · h/l sideways `, from the keymap.
fn keys() -> String {
    let key = |action| keymap::first_key(Context::Main, action).unwrap_or_default();
    format!(
        " {} open · {} copy · {} wrap · {}/{} sideways ",
        key(Action::Activate),
        key(Action::Copy),
        key(Action::Wrap),
        key(Action::Left),
        key(Action::Right)
    )
}

/// The rows of one line: its head and the first piece of its body, then the wrapped rest.
fn shown_rows<'a>(line: &'a LogLine, logs: &Logs, pane: Pane, theme: &Theme) -> Vec<Row<'a>> {
    let time = line.at.map(|at| shown::clock(at, logs.zone()) + " ").unwrap_or_default();
    let head = vec![
        Span::styled(format!("{time:<width$}", width = shown::TIME), theme.dim()),
        Span::styled(format!("{:<width$}", line.source, width = shown::TAG), theme.dim()),
        Span::styled(shown::route(line), theme.label()),
    ];
    let indent = " ".repeat(shown::indent(line, pane));
    shown::pieces(line, pane)
        .into_iter()
        .enumerate()
        .map(|(i, piece)| {
            let lead = if i == 0 { head.clone() } else { vec![Span::raw(indent.clone())] };
            Row { head: Line::from(lead), body: body_line(line, piece, i == 0, theme) }
        })
        .collect()
}

/// A body piece, the pod's name dimmed where it starts the first.
fn body_line<'a>(line: &LogLine, piece: String, first: bool, theme: &Theme) -> Line<'a> {
    if let (true, Some(pod)) = (first, &line.pod) {
        let tag = format!("[{pod}]");
        if let Some(rest) = piece.strip_prefix(&tag) {
            return Line::from(vec![Span::styled(tag, theme.dim()), Span::raw(rest.to_owned())]);
        }
    }
    Line::raw(piece)
}

/// One screen row: a head that stays put and a body that scrolls sideways.
struct Row<'a> {
    head: Line<'a>,
    body: Line<'a>,
}

impl<'a> Row<'a> {
    fn patch_style(self, style: Style) -> Row<'a> {
        Row { head: self.head.patch_style(style), body: self.body.patch_style(style) }
    }

    /// Draws the row in `area` (one line high), its body scrolled by `column`.
    fn render(self, frame: &mut Frame, area: Rect, column: usize) {
        let head = u16::try_from(self.head.width()).unwrap_or(u16::MAX).min(area.width);
        // The whole row takes the line's style (the selection), not only its text.
        frame.buffer_mut().set_style(area, self.head.style.patch(self.body.style));
        let [left, right] =
            Layout::horizontal([Constraint::Length(head), Constraint::Fill(1)]).areas(area);
        frame.render_widget(self.head, left);
        let column = u16::try_from(column).unwrap_or(u16::MAX);
        frame.render_widget(Paragraph::new(self.body).scroll((0, column)), right);
    }
}

/// A bar on the right border when there are lines above or below the view.
fn vertical_bar(
    frame: &mut Frame,
    area: Rect,
    count: usize,
    end: usize,
    shown: usize,
    theme: &Theme,
) {
    if count <= shown || area.height <= 2 {
        return;
    }
    // Positions count from the oldest line: the top line's.
    let mut state = ScrollbarState::new(count - shown + 1)
        .position(count - end - shown)
        .viewport_content_length(shown);
    let bar = Scrollbar::new(ScrollbarOrientation::VerticalRight)
        .begin_symbol(None)
        .end_symbol(None)
        .track_symbol(Some("│"))
        .thumb_symbol("┃")
        .thumb_style(theme.key());
    frame.render_stateful_widget(bar, area.inner(Margin::new(0, 1)), &mut state);
}

/// A bar on the bottom border when a line in view is cut at the edge (`widest` columns).
fn horizontal_bar(frame: &mut Frame, area: Rect, logs: &Logs, widest: usize, theme: &Theme) {
    let width = usize::from(area.width.saturating_sub(2));
    if logs.wrap || widest <= width || width == 0 {
        return;
    }
    let most = widest - width;
    let mut state = ScrollbarState::new(most + 1)
        .position(logs.column().min(most))
        .viewport_content_length(width);
    let bar = Scrollbar::new(ScrollbarOrientation::HorizontalBottom)
        .begin_symbol(None)
        .end_symbol(None)
        .track_symbol(Some("─"))
        .thumb_symbol("━")
        .thumb_style(theme.key());
    frame.render_stateful_widget(bar, area.inner(Margin::new(1, 0)), &mut state);
}

fn filter_field(frame: &mut Frame, field: Rect, logs: &Logs) {
    let width = usize::from(field.width.saturating_sub(1));
    let scroll = logs.filter.visual_scroll(width);
    let text = format!("/{}", logs.filter.value());
    let field_text = Paragraph::new(text).scroll((0, u16::try_from(scroll).unwrap_or(0)));
    frame.render_widget(field_text, field);
    let cursor = logs.filter.visual_cursor().saturating_sub(scroll) + 1;
    let x = field.x.saturating_add(u16::try_from(cursor).unwrap_or(u16::MAX));
    frame.set_cursor_position(Position::new(x.min(field.right().saturating_sub(1)), field.y));
}

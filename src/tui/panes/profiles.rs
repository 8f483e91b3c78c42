//! The profile list: one row per route with its state glyph, name, route kind and latency.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row as TableRow, Table, TableState};

use crate::profile::RouteKind;
use crate::tui::route::{Row, Status, millis};
use crate::tui::theme::Theme;

/// The list's state: which row is selected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profiles {
    pub selected: usize,
}

impl Profiles {
    pub fn up(&mut self) {
        self.selected = self.selected.saturating_sub(1);
    }

    pub fn down(&mut self, rows: usize) {
        self.selected = (self.selected + 1).min(rows.saturating_sub(1));
    }

    pub fn top(&mut self) {
        self.selected = 0;
    }

    pub fn bottom(&mut self, rows: usize) {
        self.selected = rows.saturating_sub(1);
    }
}

/// A route kind in few letters, for narrow lists.
fn kind(kind: RouteKind, wide: bool) -> &'static str {
    match (kind, wide) {
        (RouteKind::PortForward, false) => "fwd",
        (kind, _) => kind.as_str(),
    }
}

/// The latency column: the last sample of a live route.
fn latency(row: &Row) -> String {
    match (row.status(), row.view.latency.last) {
        (Status::Serving | Status::Degraded, Some(last)) => millis(last),
        (Status::Down, _) => "down".to_owned(),
        _ => String::new(),
    }
}

pub fn draw(
    frame: &mut Frame,
    area: Rect,
    rows: &[Row],
    state: &Profiles,
    active: Option<&str>,
    focused: bool,
    theme: &Theme,
) {
    let wide = area.width >= 48;
    let table_rows = rows.iter().map(|row| {
        let status = row.status();
        let mut name = Span::raw(row.name.as_str());
        if active == Some(row.name.as_str()) {
            name = name.style(theme.title());
        }
        let kind = row.profile.as_ref().map_or("invalid", |p| kind(p.route_kind(), wide));
        TableRow::new([
            Cell::from(Span::styled(status.glyph(), theme.status(status))),
            Cell::from(name),
            Cell::from(Span::styled(kind, theme.dim())),
            Cell::from(Line::from(latency(row)).right_aligned()),
        ])
    });
    let kind_width = if wide { 12 } else { 6 };
    let widths = [
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(kind_width),
        Constraint::Length(6),
    ];
    let title =
        format!(" Routes {}/{} ", state.selected.saturating_add(1).min(rows.len()), rows.len());
    let table = Table::new(table_rows, widths)
        .block(super::block(title, focused, theme))
        .column_spacing(1)
        .row_highlight_style(theme.selected());
    let mut table_state = TableState::default().with_selected(Some(state.selected));
    frame.render_stateful_widget(table, area, &mut table_state);
}

//! The profile list: one row per route with its state glyph, name, route kind and latency.

use ratatui::Frame;
use ratatui::layout::{Constraint, Margin, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Cell, Row as TableRow, Scrollbar, ScrollbarOrientation, ScrollbarState, Table, TableState,
};

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

/// The widest name's columns.
fn name_width(rows: &[Row]) -> u16 {
    let widest = rows.iter().map(|r| r.name.chars().count()).max().unwrap_or(0);
    u16::try_from(widest).unwrap_or(u16::MAX)
}

/// The columns the list's rows need: glyph, name, kind and latency with a space between.
pub fn width(rows: &[Row]) -> u16 {
    1 + 1 + name_width(rows) + 1 + KIND_WIDE + 1 + LATENCY
}

/// The kind column's width, spelled out or short.
const KIND_WIDE: u16 = 12;
const KIND_SHORT: u16 = 6;
/// The latency column's width.
const LATENCY: u16 = 6;

pub fn draw(
    frame: &mut Frame,
    area: Rect,
    rows: &[Row],
    state: &Profiles,
    active: Option<&str>,
    focused: bool,
    theme: &Theme,
) {
    // Spelled out when the row fits inside the borders with it.
    let wide = area.width >= width(rows) + 2;
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
    let kind_width = if wide { KIND_WIDE } else { KIND_SHORT };
    // Sized to the names: a wide pane keeps name and kind together, not at its two edges.
    let name = name_width(rows).min(area.width.saturating_sub(2 + 3 + 1 + kind_width + LATENCY));
    let widths = [
        Constraint::Length(1),
        Constraint::Length(name),
        Constraint::Length(kind_width),
        Constraint::Length(LATENCY),
    ];
    let title =
        format!(" Routes {}/{} ", state.selected.saturating_add(1).min(rows.len()), rows.len());
    let table = Table::new(table_rows, widths)
        .block(super::block(title, focused, theme))
        .column_spacing(1)
        .row_highlight_style(theme.selected());
    let mut table_state = TableState::default().with_selected(Some(state.selected));
    frame.render_stateful_widget(table, area, &mut table_state);
    // More routes than rows: a scrollbar on the border says where the selected one is.
    let shown = usize::from(area.height.saturating_sub(2));
    if rows.len() > shown {
        let mut bar = ScrollbarState::new(rows.len()).position(state.selected);
        let track = area.inner(Margin { vertical: 1, horizontal: 0 });
        let scrollbar = Scrollbar::new(ScrollbarOrientation::VerticalRight).style(theme.border());
        frame.render_stateful_widget(scrollbar, track, &mut bar);
    }
}

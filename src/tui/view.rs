//! The screen's layout: header, routes, health, the route's detail, logs, the status bar, and
//! the open popup on top. The routes' column is as wide as the list needs (between 38 columns
//! and two fifths of the screen), the logs take three tenths of the height (and what the panes
//! above leave when their text wants fewer rows), and the rest goes to health and the detail.
//!
//! ```text
//!  mcp-connect  kubeconfig FILE  context NAME
//! ┌Routes──────────────┐┌Route───────────────────┐
//! │● serena-direct ... ││title, summary, target, │
//! └────────────────────┘│endpoint, auth, TLS,    │
//! ┌Health──────────────┐│pros/cons, entry JSON   │
//! │state, cause, fix,  ││                        │
//! │latency, sparkline  ││                        │
//! └────────────────────┘└────────────────────────┘
//! ┌Logs──────────────────────────────────────────┐
//! └──────────────────────────────────────────────┘
//!  key hints                                  note
//! ```
//!
//! While the selected route has trouble, its cause and fix are what the user came for: the
//! Health pane then spans the whole width under the routes and the detail, so that they read
//! whole at 80×24. Below [`COMPACT`] columns every pane spans the width, stacked: routes,
//! health, the route's detail, logs.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};

use super::app::{App, Focus};
use super::keymap::Context;
use super::panes::{detail, header, health, logs, profiles, status_bar};
use super::popups;

/// Narrower than this, the panes are stacked rather than side by side.
pub const COMPACT: u16 = 100;

/// The areas of the main screen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Areas {
    pub header: Rect,
    pub profiles: Rect,
    pub health: Rect,
    pub detail: Rect,
    pub logs: Rect,
    pub status: Rect,
}

/// What the panes need to be laid out well.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    /// The routes listed.
    pub rows: usize,
    /// The columns the list's widest row needs.
    pub list_width: u16,
    /// When the selected route has a cause and fix to show: the rows its health text takes
    /// at the screen's width.
    pub trouble: Option<u16>,
    /// The rows the panes above the logs want at most (side by side, without trouble): what
    /// they leave goes to the logs.
    pub top: Option<u16>,
}

/// The routes column's width: as wide as the list needs, between 38 columns and two fifths of
/// the screen.
fn left_width(area: Rect, list_width: u16) -> u16 {
    list_width.saturating_add(2).clamp(38, (area.width * 2 / 5).max(38))
}

/// Splits `area` for panes that need `needs`.
pub fn areas(area: Rect, needs: Needs) -> Areas {
    let Needs { rows, list_width, trouble, top: top_wants } = needs;
    let troubled = trouble.is_some();
    let [header, body, status] =
        Layout::vertical([Constraint::Length(1), Constraint::Fill(1), Constraint::Length(1)])
            .areas(area);
    let compact = area.width < COMPACT;
    // Stacked and in trouble, the rows go to cause and fix: the logs and the detail shrink.
    let logs_height = if compact && troubled { 5 } else { (body.height * 3 / 10).max(5) };
    let [top, logs] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(logs_height)]).areas(body);
    let mut list_height =
        u16::try_from(rows).unwrap_or(u16::MAX).saturating_add(2).min(top.height / 2);
    if compact {
        // In trouble, four routes show (the list scrolls to the selected one).
        if troubled {
            list_height = list_height.min(6);
        }
        let detail = if troubled { Constraint::Length(3) } else { Constraint::Fill(1) };
        let [profiles, health, detail] =
            Layout::vertical([Constraint::Length(list_height), Constraint::Fill(1), detail])
                .areas(top);
        return Areas { header, profiles, health, detail, logs, status };
    }
    let left_width = left_width(area, list_width);
    if let Some(text) = trouble {
        // Health as tall as its text (the rest of the room to the route's detail above it),
        // and never so short that cause and fix do not show.
        let most = top.height.saturating_sub(list_height);
        let health = text.saturating_add(2).clamp(7.min(most), most);
        let [upper, health] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length(health)]).areas(top);
        let [profiles, detail] =
            Layout::horizontal([Constraint::Length(left_width), Constraint::Fill(1)]).areas(upper);
        return Areas { header, profiles, health, detail, logs, status };
    }
    // A tall screen whose panes want less than the top gives the rest to the logs.
    let (top, logs) = match top_wants {
        Some(want) if want < top.height => {
            let [top, logs] =
                Layout::vertical([Constraint::Length(want), Constraint::Fill(1)]).areas(body);
            (top, logs)
        }
        _ => (top, logs),
    };
    let [left, detail] =
        Layout::horizontal([Constraint::Length(left_width), Constraint::Fill(1)]).areas(top);
    let [profiles, health] =
        Layout::vertical([Constraint::Length(list_height), Constraint::Fill(1)]).areas(left);
    Areas { header, profiles, health, detail, logs, status }
}

/// The main screen's areas for `app` in a terminal of `area`.
pub fn layout(app: &App, area: Rect) -> Areas {
    let count = |n: usize| u16::try_from(n).unwrap_or(u16::MAX);
    let list_width = profiles::width(&app.rows);
    let selected = app.selected_row();
    let trouble = selected
        .filter(|r| r.view.status.trouble.is_some())
        .map(|r| count(health::lines(r, &app.theme, area.width.saturating_sub(2), false).len()));
    // Side by side: the detail's text, or the list over the health text and its sparkline.
    let top = selected.filter(|_| trouble.is_none()).map(|row| {
        let left = left_width(area, list_width);
        let detail_width = area.width.saturating_sub(left + 2);
        let current = app.header.current_context.as_deref();
        let detail = detail::lines(row, current, &app.detail.launcher, &app.theme, detail_width);
        let health = health::lines(row, &app.theme, left.saturating_sub(2), false).len();
        let spark = if row.view.latency.history_us.is_empty() { 0 } else { health::SPARK_MOST };
        let list = app.rows.len() + 2;
        count(detail.len() + 2).max(count(list + health + spark + 2))
    });
    let needs = Needs { rows: app.rows.len(), list_width, trouble, top };
    areas(area, needs)
}

/// How far the Health and Route panes can scroll for `app` in a terminal of `area`: the rows
/// of their text that do not fit.
pub fn overflow(app: &App, area: Rect) -> (u16, u16) {
    let Some(row) = app.selected_row() else { return (0, 0) };
    let areas = layout(app, area);
    let theme = &app.theme;
    let block = |title| super::panes::block(title, false, theme);
    let health = health::fitted(row, areas.health, theme).len();
    let width = super::panes::text_width(&block(" Route "), areas.detail);
    let current = app.header.current_context.as_deref();
    let detail = detail::lines(row, current, &app.detail.launcher, theme, width).len();
    (
        super::panes::overflow(&block(" Health "), areas.health, health),
        super::panes::overflow(&block(" Route "), areas.detail, detail),
    )
}

/// Draws everything from `app`'s state.
pub fn draw(frame: &mut Frame, app: &App) {
    let theme = &app.theme;
    let row = app.selected_row();
    let areas = layout(app, frame.area());
    let current = app.header.current_context.as_deref();
    let route_context = row.and_then(|r| r.context(current));
    header::draw(frame, areas.header, &app.header, route_context, theme);
    let focus = app.focus;
    let active = app.active.as_deref();
    let list_focused = focus == Focus::Profiles;
    profiles::draw(frame, areas.profiles, &app.rows, &app.profiles, active, list_focused, theme);
    health::draw(frame, areas.health, row, app.health, focus == Focus::Health, theme);
    let detail_focused = focus == Focus::Detail;
    detail::draw(frame, areas.detail, row, &app.detail, current, detail_focused, theme);
    logs::draw(frame, areas.logs, &app.logs, focus == Focus::Logs, theme);
    let context = match (&app.popup, app.logs.editing) {
        (Some(popup), _) => popup.context(),
        (None, true) => Context::Input,
        (None, false) => Context::Main,
    };
    status_bar::draw(frame, areas.status, context, app.note.as_deref(), theme);
    if let Some(popup) = &app.popup {
        popups::draw(frame, popup, theme);
    }
}

//! The screen's layout: header, routes and health on the left, the route's detail on the
//! right, logs below, the status bar last, and the open popup on top. Usable at 80×24; the
//! extra room of a larger terminal goes to the detail and the logs.
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
//! whole at 80×24.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};

use super::app::{App, Focus};
use super::keymap::Context;
use super::panes::{detail, header, health, logs, profiles, status_bar};
use super::popups;

/// The areas of the main screen for a terminal of `area`'s size.
pub struct Areas {
    pub header: Rect,
    pub profiles: Rect,
    pub health: Rect,
    pub detail: Rect,
    pub logs: Rect,
    pub status: Rect,
}

/// Splits the screen; `rows` is the number of routes listed, `troubled` whether the selected
/// route has a cause and fix to show.
pub fn areas(area: Rect, rows: usize, troubled: bool) -> Areas {
    let [header, body, status] =
        Layout::vertical([Constraint::Length(1), Constraint::Fill(1), Constraint::Length(1)])
            .areas(area);
    let logs_height = (body.height / 3).max(7);
    let [top, logs] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(logs_height)]).areas(body);
    let left_width = (area.width * 2 / 5).max(38);
    let list_height = u16::try_from(rows).unwrap_or(u16::MAX).saturating_add(2).min(top.height / 2);
    if troubled {
        let [upper, health] =
            Layout::vertical([Constraint::Length(list_height), Constraint::Fill(1)]).areas(top);
        let [profiles, detail] =
            Layout::horizontal([Constraint::Length(left_width), Constraint::Fill(1)]).areas(upper);
        return Areas { header, profiles, health, detail, logs, status };
    }
    let [left, detail] =
        Layout::horizontal([Constraint::Length(left_width), Constraint::Fill(1)]).areas(top);
    let [profiles, health] =
        Layout::vertical([Constraint::Length(list_height), Constraint::Fill(1)]).areas(left);
    Areas { header, profiles, health, detail, logs, status }
}

/// Draws everything from `app`'s state.
pub fn draw(frame: &mut Frame, app: &App) {
    let theme = &app.theme;
    let row = app.selected_row();
    let troubled = row.is_some_and(|r| r.view.status.trouble.is_some());
    let areas = areas(frame.area(), app.rows.len(), troubled);
    let current = app.header.current_context.as_deref();
    header::draw(frame, areas.header, &app.header, theme);
    let focus = app.focus;
    let active = app.active.as_deref();
    let list_focused = focus == Focus::Profiles;
    profiles::draw(frame, areas.profiles, &app.rows, &app.profiles, active, list_focused, theme);
    health::draw(frame, areas.health, row, false, theme);
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

//! The whole UI state, and nothing else: no terminal, no network, no clock. Keys come in
//! through [`App::on_key`] (which answers the engine commands they mean), engine events
//! through [`App::on_event`]; [`App::draw`] is a pure function of the state, and
//! [`App::dirty`] says whether a frame is needed at all. The loop tells it the time
//! ([`App::clock`]) and the terminal's size, and takes what a key asked to copy
//! ([`App::take_copy`]) to write it to the terminal.

mod journal;
mod keys;
mod popup_keys;

use std::path::PathBuf;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use ratatui::Frame;
use ratatui::layout::{Rect, Size};

use super::clipboard::Copy;
use super::panes::detail::Detail;
use super::panes::health::Health;
use super::panes::logs::{self, Logs, Pane};
use super::panes::profiles::Profiles;
use super::popups::Popup;
use super::route::{Diagnosis, RouteView, Row};
use super::theme::Theme;
use crate::profile::{Catalog, Profile, Source};
use crate::supervisor::hub::{Command, Event};

pub use super::panes::header::Header;

/// Which pane the movement keys act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Profiles,
    Health,
    Detail,
    Logs,
}

impl Focus {
    fn next(self) -> Focus {
        match self {
            Focus::Profiles => Focus::Health,
            Focus::Health => Focus::Detail,
            Focus::Detail => Focus::Logs,
            Focus::Logs => Focus::Profiles,
        }
    }

    fn prev(self) -> Focus {
        self.next().next().next()
    }
}

/// The TUI's state.
#[derive(Debug)]
pub struct App {
    pub(super) rows: Vec<Row>,
    pub(super) header: Header,
    /// The project directory configs are written for (project and local scopes).
    pub(super) config_dir: PathBuf,
    /// The home whose `.claude.json` is written, when it is not the user's own (the demo's).
    pub(super) claude_home: Option<PathBuf>,
    /// Where other clients' files are and which are installed (`None`: the user's own, or
    /// under the demo's home).
    pub(super) client_homes: Option<crate::clientconfig::Homes>,
    pub(super) theme: Theme,
    pub(super) focus: Focus,
    pub(super) profiles: Profiles,
    pub(super) health: Health,
    pub(super) detail: Detail,
    pub(super) logs: Logs,
    pub(super) popup: Option<Popup>,
    /// The route Enter started last (the engine keeps one active at a time).
    pub(super) active: Option<String>,
    /// A short note for the status bar, until the next key.
    pub(super) note: Option<String>,
    /// What the last key asked to copy, until the loop takes it.
    copy: Option<Copy>,
    /// The terminal's size, as the loop last said.
    size: Size,
    quitting: bool,
    /// The user pressed quit twice: leave without waiting for the engine.
    forced: bool,
    shut_down: bool,
    dirty: bool,
}

impl App {
    /// The state for `profiles` and, listed after them, the profiles that do not load
    /// (`(name, error text)`).
    pub fn new(
        profiles: Vec<Profile>,
        broken: Vec<(String, String)>,
        header: Header,
        config_dir: PathBuf,
        theme: Theme,
    ) -> App {
        let rows = profiles
            .into_iter()
            .map(Row::new)
            .chain(broken.into_iter().map(|(name, error)| Row::broken(name, error)))
            .collect();
        App {
            rows,
            header,
            config_dir,
            claude_home: None,
            client_homes: None,
            theme,
            focus: Focus::Profiles,
            profiles: Profiles::default(),
            health: Health::default(),
            detail: Detail::default(),
            logs: Logs::default(),
            popup: None,
            active: None,
            note: None,
            copy: None,
            size: Size::new(80, 24),
            quitting: false,
            forced: false,
            shut_down: false,
            dirty: true,
        }
    }

    /// Every entry of `catalog`, in its order, broken ones with their error.
    pub fn from_catalog(
        catalog: &Catalog,
        header: Header,
        config_dir: PathBuf,
        theme: Theme,
    ) -> App {
        let mut app = App::new(Vec::new(), Vec::new(), header, config_dir, theme);
        app.rows = catalog
            .entries()
            .iter()
            .map(|entry| {
                let mut row = match &entry.profile {
                    Ok(profile) => Row::new(profile.clone()),
                    Err(error) => Row::broken(entry.name.clone(), error.to_string()),
                };
                if let Source::User(file) = &entry.source {
                    row.file = Some(file.clone());
                }
                row
            })
            .collect();
        app
    }

    /// Where the user and local scopes write: `home`'s `.claude.json`, shown whole when it is
    /// not the user's own home.
    pub fn set_claude_home(&mut self, home: PathBuf) {
        let own = etcetera::home_dir().ok();
        self.claude_home = (own.as_deref() != Some(home.as_path())).then_some(home);
    }

    /// Where the write popup finds the clients' user files and tells which are installed.
    pub(super) fn client_homes(&self) -> crate::clientconfig::Homes {
        if let Some(homes) = &self.client_homes {
            return homes.clone();
        }
        let home = self.claude_home.clone().or_else(|| etcetera::home_dir().ok());
        crate::clientconfig::Homes::for_home(&home.unwrap_or_default())
    }

    /// A line of the engine's in the log, about no route in particular.
    pub fn note_in_log(&mut self, text: String) {
        let line = logs::LogLine::new(logs::Source::Engine, None, text);
        self.logs.push(line);
    }

    /// How the entries shown (and written by the engine) start mcp-connect.
    pub fn set_launcher(&mut self, launcher: crate::clientconfig::Launcher) {
        self.detail.launcher = launcher;
    }

    /// Takes in an override decided before the screen opened (the demo's free local ports, a
    /// `--context` flag), as `e` and `x` would have made it.
    pub fn preset(&mut self, command: &Command) {
        if let Command::Override { profile, context, local_port } = command
            && let Some(row) = self.rows.iter_mut().find(|r| r.name == *profile)
        {
            if context.is_some() {
                row.overrides.context.clone_from(context);
            }
            if local_port.is_some() {
                row.overrides.local_port = *local_port;
            }
        }
    }

    /// Takes in one engine event.
    pub fn on_event(&mut self, event: Event) {
        self.dirty = true;
        for line in journal::lines(&event) {
            self.logs.push(line);
        }
        match event {
            Event::Route { profile, event } => {
                if let Some(row) = self.row_mut(&profile) {
                    row.view.apply(&event);
                }
            }
            Event::Diagnosis { profile, outcome } => {
                if let Some(row) = self.row_mut(&profile) {
                    row.view.diagnosis = Some(Diagnosis::from_outcome(&outcome));
                }
            }
            Event::Config { profile, result } => {
                if let Some(Popup::WriteConfig(popup)) = &mut self.popup
                    && popup.profile == profile
                {
                    popup.answer(result);
                }
            }
            Event::ProfileSaved { profile, result } => self.profile_saved(&profile, result),
            Event::Certificate { profile, result } => {
                if let Some(Popup::Pin(pin)) = &mut self.popup
                    && pin.profile == profile
                {
                    pin.answer(result);
                }
            }
            Event::ShutDown => self.shut_down = true,
        }
    }

    /// The terminal's size, at the start and whenever it changes: the next frame is drawn
    /// for it, the keys that scroll count with it, and the panes scroll no further than their
    /// text.
    pub fn on_resize(&mut self, size: Size) {
        self.size = size;
        self.clamp_scroll();
        self.dirty = true;
    }

    /// The screen's area at the size last told.
    pub(super) fn screen(&self) -> Rect {
        Rect::from((ratatui::layout::Position::ORIGIN, self.size))
    }

    /// Keeps the Health and Route panes' scroll within their text.
    pub(super) fn clamp_scroll(&mut self) {
        let (health, detail) = super::view::overflow(self, self.screen());
        self.health.scroll = self.health.scroll.min(health);
        self.detail.scroll = self.detail.scroll.min(detail);
    }

    /// The time now, as the loop read its clock: the log lines of the next keys and events
    /// are stamped with it.
    pub fn clock(&mut self, now: Timestamp) {
        self.logs.clock(now);
    }

    /// The zone log times are shown in (UTC until told).
    pub fn set_time_zone(&mut self, zone: TimeZone) {
        self.logs.set_zone(zone);
        self.dirty = true;
    }

    /// What a key asked to copy, for the loop to write to the terminal (once).
    pub fn take_copy(&mut self) -> Option<Copy> {
        self.copy.take()
    }

    /// The loop wrote `copy` to the terminal, or could not: the status bar says which.
    pub fn copied(&mut self, copy: &Copy, written: &std::io::Result<()>) {
        self.note = Some(copy.note(written));
        self.dirty = true;
    }

    /// The log pane's text area on the screen as it is now laid out.
    pub(super) fn logs_pane(&self) -> Pane {
        let areas = super::view::layout(self, self.screen());
        logs::draw::pane(areas.logs, &self.logs)
    }

    /// The loop's low tick. Nothing on screen depends on the clock, so it changes nothing and
    /// an idle UI stays idle.
    pub fn on_tick(&mut self) {}

    /// True once the engine has stopped every route (after `q`), or after `q` twice.
    pub fn should_quit(&self) -> bool {
        self.shut_down || self.forced
    }

    /// Whether anything changed since the last call: take-and-clear.
    pub fn dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    /// Whether anything changed since [`App::dirty`] was last called, without clearing it.
    pub fn dirty_peek(&self) -> bool {
        self.dirty
    }

    /// Draws the whole screen; changes nothing.
    pub fn draw(&self, frame: &mut Frame) {
        super::view::draw(frame, self);
    }

    /// The selected route's name.
    pub fn selected(&self) -> Option<&str> {
        self.selected_row().map(|r| r.name.as_str())
    }

    /// A route's view state, by profile name.
    pub fn route(&self, name: &str) -> Option<&RouteView> {
        self.rows.iter().find(|r| r.name == name).map(|r| &r.view)
    }

    pub fn logs(&self) -> &Logs {
        &self.logs
    }

    pub fn popup(&self) -> Option<&Popup> {
        self.popup.as_ref()
    }

    pub fn focus(&self) -> Focus {
        self.focus
    }

    pub fn active(&self) -> Option<&str> {
        self.active.as_deref()
    }

    /// Whether `q` was pressed and the engine is stopping the routes.
    pub fn quitting(&self) -> bool {
        self.quitting
    }

    pub(super) fn selected_row(&self) -> Option<&Row> {
        self.rows.get(self.profiles.selected)
    }

    fn row_mut(&mut self, name: &str) -> Option<&mut Row> {
        self.rows.iter_mut().find(|r| r.name == name)
    }
}

#[cfg(test)]
#[path = "fixtures.rs"]
mod fixtures;

#[cfg(test)]
#[path = "key_tests.rs"]
mod key_tests;

#[cfg(test)]
#[path = "screen_tests.rs"]
mod screen_tests;

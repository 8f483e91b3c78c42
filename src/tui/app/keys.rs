//! Keys to state changes and engine commands. Nothing here waits: a key that needs the engine
//! answers the command, and the engine's answer arrives later as an event.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::{App, Focus};
use crate::clientconfig::Scope;
use crate::supervisor::hub::Command;
use crate::tui::clipboard::Copy;
use crate::tui::keymap::{self, Action, Context};
use crate::tui::panes::detail;
use crate::tui::panes::logs::{LogLine, Source, shown};
use crate::tui::popups::Popup;
use crate::tui::popups::claude::Claude;
use crate::tui::popups::contexts::Contexts;
use crate::tui::popups::edit::Edit;
use crate::tui::popups::help::Help;
use crate::tui::popups::log_line::LogLinePopup;
use crate::tui::popups::pin::Pin;
use crate::tui::popups::write_config::WriteConfig;
use crate::tui::route::Diagnosis;

impl App {
    /// Handles one key; answers the engine commands it means (never waits).
    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Command> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        self.dirty = true;
        self.note = None;
        let interrupt =
            key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
        if self.quitting || interrupt {
            return match keymap::action(Context::Main, &key) {
                Some(Action::Quit) => self.quit(),
                _ => Vec::new(),
            };
        }
        if let Some(popup) = self.popup.take() {
            return self.popup_key(popup, key);
        }
        if self.logs.editing {
            self.filter_key(key);
            return Vec::new();
        }
        match keymap::action(Context::Main, &key) {
            Some(action) => self.main_action(action),
            None => Vec::new(),
        }
    }

    fn quit(&mut self) -> Vec<Command> {
        if self.quitting {
            self.forced = true;
            return Vec::new();
        }
        self.quitting = true;
        self.popup = None;
        self.note = Some("stopping every route… (q again: leave now)".to_owned());
        vec![Command::Shutdown]
    }

    /// The selected route, if its profile loads; a note saying why not otherwise.
    fn usable(&mut self) -> Option<String> {
        let row = self.selected_row()?;
        match &row.profile {
            Ok(_) => Some(row.name.clone()),
            Err(_) => {
                self.note = Some(format!("{} does not load; see its error", row.name));
                None
            }
        }
    }

    fn main_action(&mut self, action: Action) -> Vec<Command> {
        let rows = self.rows.len();
        match action {
            Action::Quit => return self.quit(),
            Action::Help => self.popup = Some(Popup::Help(Help::default())),
            Action::FocusNext => self.focus = self.focus.next(),
            Action::FocusPrev => self.focus = self.focus.prev(),
            Action::FilterLogs => self.logs.editing = true,
            Action::CycleSource => self.logs.cycle_source(),
            Action::Wrap => {
                let pane = self.logs_pane();
                self.logs.toggle_wrap(pane);
            }
            Action::Left | Action::Right if self.logs.wrap => {
                let wrap = keymap::first_key(Context::Main, Action::Wrap).unwrap_or_default();
                self.note = Some(format!("the logs wrap: nothing is cut ({wrap} cuts them again)"));
            }
            Action::Left => self.logs.left(),
            Action::Right => {
                let pane = self.logs_pane();
                self.logs.right(pane);
            }
            Action::Copy => self.copy_focused(),
            Action::Activate if self.focus == Focus::Logs => self.open_log_line(),
            Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Top
            | Action::Bottom => {
                self.movement(action, rows);
            }
            _ => return self.route_action(action),
        }
        Vec::new()
    }

    fn movement(&mut self, action: Action, rows: usize) {
        match (self.focus, action) {
            (Focus::Profiles, Action::Up | Action::PageUp) => self.profiles.up(),
            (Focus::Profiles, Action::Down | Action::PageDown) => self.profiles.down(rows),
            (Focus::Profiles, Action::Top) => self.profiles.top(),
            (Focus::Profiles, _) => self.profiles.bottom(rows),
            (Focus::Health, Action::Up) => {
                self.health.scroll = self.health.scroll.saturating_sub(1)
            }
            (Focus::Health, Action::Down) => {
                self.health.scroll = self.health.scroll.saturating_add(1)
            }
            (Focus::Health, Action::PageUp) => {
                self.health.scroll = self.health.scroll.saturating_sub(5)
            }
            (Focus::Health, Action::PageDown) => {
                self.health.scroll = self.health.scroll.saturating_add(5)
            }
            (Focus::Health, Action::Top) => self.health.scroll = 0,
            (Focus::Health, _) => self.health.scroll = u16::MAX,
            (Focus::Detail, Action::Up) => self.detail.up(1),
            (Focus::Detail, Action::Down) => self.detail.down(1),
            (Focus::Detail, Action::PageUp) => self.detail.up(10),
            (Focus::Detail, Action::PageDown) => self.detail.down(10),
            (Focus::Detail, Action::Top) => self.detail.scroll = 0,
            (Focus::Detail, _) => self.detail.down(200),
            (Focus::Logs, action) => self.logs_movement(action),
        }
        if self.focus == Focus::Profiles {
            self.detail.scroll = 0;
            self.health.scroll = 0;
        }
        self.clamp_scroll();
    }

    fn logs_movement(&mut self, action: Action) {
        let pane = self.logs_pane();
        match action {
            Action::Up => self.logs.up(1, pane),
            Action::Down => self.logs.down(1, pane),
            Action::PageUp => self.logs.page_up(pane),
            Action::PageDown => self.logs.page_down(pane),
            Action::Top => self.logs.top(pane),
            _ => self.logs.follow(),
        }
    }

    /// Enter on the logs: the selected line whole, in a popup.
    fn open_log_line(&mut self) {
        let Some(line) = self.logs.selected() else {
            self.note = Some("no log line to open".to_owned());
            return;
        };
        let when = line.at.map(|at| shown::when(at, self.logs.zone()));
        self.popup = Some(Popup::LogLine(LogLinePopup::new(line.clone(), when)));
    }

    /// `y`: the selected log line when the logs have the focus, else the selected route's
    /// Claude Code entry, as the Route pane shows it.
    fn copy_focused(&mut self) {
        if self.focus == Focus::Logs {
            match self.logs.selected() {
                Some(line) => self.copy = Some(Copy::new("the log line", line.text.clone())),
                None => self.note = Some("no log line to copy".to_owned()),
            }
            return;
        }
        let Some(name) = self.usable() else { return };
        let Some(row) = self.selected_row() else { return };
        match row.entry(&self.detail.launcher) {
            Some(Ok(entry)) => {
                let what = format!("{name}'s Claude Code entry");
                self.copy = Some(Copy::new(what, detail::entry_text(&entry)));
            }
            Some(Err(none)) => self.note = Some(format!("no entry to copy: {}", none.cause)),
            None => {}
        }
    }

    /// The keys that act on the selected route.
    fn route_action(&mut self, action: Action) -> Vec<Command> {
        let Some(name) = self.usable() else { return Vec::new() };
        match action {
            Action::Activate => {
                let live = self.selected_row().is_some_and(|r| r.view.status.phase.live());
                if live && self.active.as_deref() == Some(name.as_str()) {
                    self.note =
                        Some(format!("{name} is running already (r restarts it, s stops it)"));
                    return Vec::new();
                }
                self.active = Some(name.clone());
                return vec![Command::Activate(name)];
            }
            Action::Stop => {
                if self.active.as_deref() == Some(name.as_str()) {
                    self.active = None;
                }
                // A failed route has stopped already (the engine said so); `s` dismisses it.
                if let Some(row) = self.row_mut(&name) {
                    row.view.dismiss_failure();
                }
                return vec![Command::Stop(name)];
            }
            Action::Restart => return vec![Command::Restart(name)],
            Action::Diagnose => {
                if let Some(row) = self.row_mut(&name) {
                    row.view.diagnosis = Some(Diagnosis::Pending);
                }
                return vec![Command::Diagnose(name)];
            }
            Action::WriteConfig => {
                let homes = self.client_homes();
                self.popup = Some(Popup::WriteConfig(WriteConfig::new(
                    name,
                    self.config_dir.clone(),
                    self.claude_home.clone(),
                    homes,
                )));
            }
            Action::ClaudeCommand => self.claude_command(name),
            Action::Contexts => self.open_contexts(name),
            Action::Edit => self.open_edit(name),
            Action::Pin => return self.open_pin(name),
            _ => {}
        }
        Vec::new()
    }

    fn claude_command(&mut self, name: String) {
        let scope = Scope::Project { dir: self.config_dir.clone() };
        let Some(row) = self.selected_row() else { return };
        let server =
            row.profile.as_ref().map(|p| p.client.server_name.to_string()).unwrap_or_default();
        let command = match row.entry(&self.detail.launcher) {
            Some(Ok(entry)) => Ok(entry.claude_add_command(&server, &scope)),
            Some(Err(none)) => Err(none),
            None => return,
        };
        if let Ok(command) = &command {
            self.logs.push(LogLine::new(Source::Config, Some(&name), command.clone()));
        }
        self.popup = Some(Popup::Claude(Claude { profile: name, command }));
    }

    fn open_contexts(&mut self, name: String) {
        let Some(row) = self.selected_row().filter(|r| r.takes_context()) else {
            self.note = Some(format!("{name} is not a port-forward: it uses no context"));
            return;
        };
        let using = row.context(self.header.current_context.as_deref()).map(|(c, _)| c);
        self.popup =
            Some(Popup::Contexts(Contexts::new(name, self.header.contexts.clone(), using)));
    }

    fn open_pin(&mut self, name: String) -> Vec<Command> {
        let Some(row) = self.selected_row() else { return Vec::new() };
        let https = row.profile.as_ref().is_ok_and(|p| p.local_endpoint().scheme() == "https");
        if !https {
            self.note = Some(format!("{name} speaks plain HTTP: there is no certificate to pin"));
            return Vec::new();
        }
        self.popup = Some(Popup::Pin(Pin::new(name.clone(), row.file.clone())));
        vec![Command::Inspect(name)]
    }

    fn open_edit(&mut self, name: String) {
        let current = self.header.current_context.as_deref();
        let Some(row) = self.selected_row() else { return };
        let (Ok(profile), Some(port)) = (&row.profile, row.local_port()) else { return };
        let (context, why) = row.context(current).unwrap_or_default();
        let follows_current = why == "current";
        match Edit::new(profile.clone(), row.file.clone(), context, follows_current, port) {
            Some(edit) => self.popup = Some(Popup::Edit(Box::new(edit))),
            None => {
                self.note = Some(format!("{name}: only port-forward routes can be edited here"))
            }
        }
    }

    /// Keys while the log filter is typed into.
    fn filter_key(&mut self, key: KeyEvent) {
        match keymap::action(Context::Input, &key) {
            Some(Action::Confirm) => self.logs.editing = false,
            Some(Action::Close) => {
                self.logs.clear_filter();
                self.logs.editing = false;
            }
            Some(_) => {}
            None => {
                let event = crossterm::event::Event::Key(key);
                if let Some(request) = tui_input::backend::crossterm::to_input_request(&event) {
                    self.logs.filter.handle(request);
                    self.logs.refilter();
                }
            }
        }
    }
}

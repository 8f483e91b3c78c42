//! Keys while a popup is open, one function per popup, the session overrides the contexts
//! popup makes, and the answer to a profile the edit popup saved.

use crossterm::event::KeyEvent;

use super::App;
use crate::supervisor::hub::{Command, Refused, SavedProfile};
use crate::tui::clipboard::Copy;
use crate::tui::keymap::{self, Action};
use crate::tui::panes::logs::{LogLine, Source};
use crate::tui::popups::Popup;
use crate::tui::popups::contexts::Contexts;
use crate::tui::popups::edit::Edit;
use crate::tui::popups::help::Help;
use crate::tui::popups::pin::Step;
use crate::tui::popups::write_config::{Next, WriteConfig};

impl App {
    /// Handles `key` for the open `popup`, which is put back unless the key closes it.
    pub(super) fn popup_key(&mut self, mut popup: Popup, key: KeyEvent) -> Vec<Command> {
        let action = keymap::action(popup.context(), &key);
        if action == Some(Action::Close) {
            return Vec::new();
        }
        let mut commands = Vec::new();
        let keep = match &mut popup {
            Popup::Help(help) => help_key(help, action),
            Popup::Claude(claude) => {
                if let (Some(Action::Copy), Ok(command)) = (action, &claude.command) {
                    self.copy = Some(Copy::new("the claude mcp add command", command.clone()));
                }
                true
            }
            Popup::LogLine(popup) => {
                match action {
                    Some(Action::Copy) => {
                        self.copy = Some(Copy::new("the log line", popup.text().to_owned()));
                    }
                    Some(Action::Up) => popup.scroll = popup.scroll.saturating_sub(1),
                    Some(Action::Down) => popup.scroll = popup.scroll.saturating_add(1),
                    _ => {}
                }
                true
            }
            Popup::Contexts(list) => self.contexts_key(list, action, &mut commands),
            Popup::WriteConfig(write) => write_key(write, action, &mut commands),
            Popup::Edit(edit) => self.edit_key(edit, action, key, &mut commands),
            Popup::Pin(pin) => match action {
                Some(Action::Confirm) => match pin.confirm() {
                    Some(command) => {
                        commands.push(command);
                        true
                    }
                    None => matches!(pin.step, Step::Fetching | Step::Pinning(_)),
                },
                _ => true,
            },
        };
        if keep {
            self.popup = Some(popup);
        }
        commands
    }

    /// Returns whether the popup stays open.
    fn contexts_key(
        &mut self,
        list: &mut Contexts,
        action: Option<Action>,
        commands: &mut Vec<Command>,
    ) -> bool {
        match action {
            Some(Action::Up) => list.up(),
            Some(Action::Down) => list.down(),
            Some(Action::Confirm) => {
                let chosen = list.chosen().map(str::to_owned);
                if let Some(context) = chosen {
                    commands.extend(self.override_route(&list.profile, Some(context), None));
                }
                return false;
            }
            _ => {}
        }
        true
    }

    /// Returns whether the popup stays open.
    fn edit_key(
        &mut self,
        edit: &mut Edit,
        action: Option<Action>,
        key: KeyEvent,
        commands: &mut Vec<Command>,
    ) -> bool {
        match action {
            Some(Action::NextField) => edit.next_field(),
            Some(Action::PrevField) => edit.prev_field(),
            Some(Action::Confirm) if !edit.saving => match edit.changed(&self.header.contexts) {
                Ok(profile) if profile == edit.original => {
                    self.note = Some(format!("{}: nothing changed, nothing saved", edit.profile));
                    return false;
                }
                Ok(profile) => {
                    edit.saving = true;
                    let from = edit.file.clone();
                    commands.push(Command::SaveProfile { profile: Box::new(profile), from });
                }
                Err(why) => edit.error = Some(why),
            },
            Some(_) => {}
            None => edit.input(key),
        }
        true
    }

    /// The engine's answer to `Command::SaveProfile`: the row takes the saved profile (which
    /// replaces its overrides, as in the engine); the edit popup closes, or shows why not.
    pub(super) fn profile_saved(&mut self, name: &str, result: Result<SavedProfile, Refused>) {
        if let Some(Popup::Pin(pin)) = &mut self.popup
            && pin.profile == name
        {
            match &result {
                Ok(_) => self.popup = None,
                Err(refused) => pin.refused(refused.clone()),
            }
        }
        let editing = match &mut self.popup {
            Some(Popup::Edit(edit)) if edit.profile == name => Some(edit),
            _ => None,
        };
        match result {
            Ok(saved) => {
                if editing.is_some() {
                    self.popup = None;
                }
                self.note = Some(format!("{name} saved as {}", saved.file.display()));
                if let Some(row) = self.row_mut(name) {
                    row.profile = Ok(*saved.profile);
                    row.file = Some(saved.file);
                    if saved.replaces_overrides {
                        row.overrides = Default::default();
                    }
                }
            }
            Err(refused) => match editing {
                Some(edit) => {
                    edit.saving = false;
                    edit.error =
                        Some(format!("{}; {}", refused.trouble.cause, refused.trouble.fix));
                }
                None => self.note = Some(format!("{name} not saved: {}", refused.trouble.cause)),
            },
        }
    }

    /// Records a session override and answers the command that makes the engine use it;
    /// nothing when it changes nothing.
    fn override_route(
        &mut self,
        profile: &str,
        context: Option<String>,
        local_port: Option<u16>,
    ) -> Vec<Command> {
        let current = self.header.current_context.clone();
        let Some(row) = self.row_mut(profile) else { return Vec::new() };
        let now = row.context(current.as_deref()).map(|(c, _)| c);
        let context = context.filter(|c| now.as_ref() != Some(c));
        let local_port = local_port.filter(|p| row.local_port() != Some(*p));
        if context.is_none() && local_port.is_none() {
            return Vec::new();
        }
        let mut changed = Vec::new();
        if let Some(context) = &context {
            row.overrides.context = Some(context.clone());
            changed.push(format!("context {context}"));
        }
        if let Some(port) = local_port {
            row.overrides.local_port = Some(port);
            changed.push(format!("local port {port}"));
        }
        // What a diagnosis said was of the route as it was.
        row.view.diagnosis = None;
        let text = format!("from now on: {}", changed.join(", "));
        self.logs.push(LogLine::new(Source::Engine, Some(profile), text));
        vec![Command::Override { profile: profile.to_owned(), context, local_port }]
    }
}

/// Returns whether the popup stays open.
fn help_key(help: &mut Help, action: Option<Action>) -> bool {
    match action {
        Some(Action::Up) => help.scroll = help.scroll.saturating_sub(1),
        Some(Action::Down) => help.scroll = help.scroll.saturating_add(1),
        Some(Action::Confirm) => return false,
        _ => {}
    }
    true
}

/// Returns whether the popup stays open.
fn write_key(write: &mut WriteConfig, action: Option<Action>, commands: &mut Vec<Command>) -> bool {
    let next = match action {
        Some(Action::ScopeProject) => {
            write.select_named("project");
            Next::Stay
        }
        Some(Action::ScopeLocal) => {
            write.select_named("local");
            Next::Stay
        }
        Some(Action::ScopeUser) => {
            write.select_named("user");
            Next::Stay
        }
        Some(Action::ChooseClient) => {
            write.choose_client();
            Next::Stay
        }
        Some(Action::Up) => {
            write.up();
            Next::Stay
        }
        Some(Action::Down) => {
            write.down();
            Next::Stay
        }
        Some(Action::Confirm) => write.confirm(),
        Some(Action::Force) => write.force(),
        _ => Next::Stay,
    };
    match next {
        Next::Send(command) => {
            commands.push(command);
            true
        }
        Next::Close => false,
        Next::Stay => true,
    }
}

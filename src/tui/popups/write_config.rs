//! `w`: write the route's entry for an MCP client. Choose the client (Claude Code first, then
//! the installed ones, then the rest), then the scope; Enter previews it (a dry run, shown as a
//! diff), Enter again writes it; a refusal shows its cause and fix, and `f` forces past an
//! entry mcp-connect did not write.

use std::path::PathBuf;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::clientconfig::{Client, Homes, Outcome, Scope};
use crate::supervisor::hub::{Command, ConfigWritten, Refused};
use crate::tui::theme::Theme;

/// Where the popup is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Choosing the client.
    Client,
    /// Choosing the scope.
    Choose,
    /// The dry run was sent.
    Previewing,
    Preview(ConfigWritten),
    /// The write was sent.
    Writing,
    Written(ConfigWritten),
    Refused(Refused),
}

/// What the popup wants after a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    Send(Command),
    Close,
    Stay,
}

#[derive(Debug, Clone)]
pub struct WriteConfig {
    pub profile: String,
    /// The project directory of the project and local scopes.
    pub dir: PathBuf,
    /// The home whose `.claude.json` is written, when it is not the user's own (the demo's).
    pub home: Option<PathBuf>,
    /// Where the clients' user files are, and whether each is installed.
    pub homes: Homes,
    /// The clients in the order shown, and whether each is installed.
    pub clients: Vec<(Client, bool)>,
    /// Index into `clients`.
    pub client: usize,
    /// Index into the chosen client's scopes ([`Scope::all`]).
    pub scope: usize,
    pub force: bool,
    pub step: Step,
    /// How far the diff is scrolled.
    pub scroll: u16,
}

impl WriteConfig {
    pub fn new(profile: String, dir: PathBuf, home: Option<PathBuf>, homes: Homes) -> Self {
        // Claude Code first (the default), then the installed ones, then the rest.
        let mut clients: Vec<(Client, bool)> =
            Client::ALL.into_iter().map(|c| (c, c.installed(&homes))).collect();
        clients.sort_by_key(|(c, installed)| (*c != Client::ClaudeCode, !installed));
        let (client, scope, force, step, scroll) = (0, 0, false, Step::Client, 0);
        WriteConfig { profile, dir, home, homes, clients, client, scope, force, step, scroll }
    }

    pub fn chosen_client(&self) -> Client {
        self.clients.get(self.client).map_or(Client::ClaudeCode, |(c, _)| *c)
    }

    /// The chosen client's scopes, narrowest first.
    pub fn scopes(&self) -> Vec<Scope> {
        Scope::all(self.chosen_client(), &self.dir)
    }

    pub fn scope(&self) -> Scope {
        let scopes = self.scopes();
        let last = scopes.len().saturating_sub(1);
        scopes.into_iter().nth(self.scope.min(last)).unwrap_or(Scope::User)
    }

    fn command(&self, dry_run: bool) -> Command {
        let (profile, scope, force) = (self.profile.clone(), self.scope(), self.force);
        Command::WriteConfig { profile, scope, name: None, dry_run, force }
    }

    /// Picks a scope; anything shown for another scope is dropped.
    pub fn select(&mut self, scope: usize) {
        if matches!(self.step, Step::Previewing | Step::Writing) || scope >= self.scopes().len() {
            return;
        }
        (self.scope, self.step, self.force, self.scroll) = (scope, Step::Choose, false, 0);
    }

    /// p, l, u: the scope of that name, if the client has it (on the client list: of the
    /// client highlighted).
    pub fn select_named(&mut self, name: &str) {
        if let Some(i) = self.scopes().iter().position(|s| s.name() == name) {
            self.select(i);
        }
    }

    /// `c`: back to the list of clients.
    pub fn choose_client(&mut self) {
        if !matches!(self.step, Step::Previewing | Step::Writing) {
            (self.step, self.scope, self.force, self.scroll) = (Step::Client, 0, false, 0);
        }
    }

    /// Enter: preview, then write, then close.
    pub fn confirm(&mut self) -> Next {
        match &self.step {
            Step::Client => {
                self.step = Step::Choose;
                Next::Stay
            }
            Step::Choose | Step::Refused(_) => {
                self.step = Step::Previewing;
                Next::Send(self.command(true))
            }
            Step::Preview(preview) if preview.outcome == Outcome::Unchanged => Next::Close,
            Step::Preview(_) => {
                self.step = Step::Writing;
                Next::Send(self.command(false))
            }
            Step::Written(_) => Next::Close,
            Step::Previewing | Step::Writing => Next::Stay,
        }
    }

    /// `f`: preview again, replacing an entry that is not mcp-connect's.
    pub fn force(&mut self) -> Next {
        match &self.step {
            Step::Refused(refused) if forcible(refused) => {
                self.force = true;
                self.step = Step::Previewing;
                Next::Send(self.command(true))
            }
            _ => Next::Stay,
        }
    }

    /// The engine's answer to the command sent last.
    pub fn answer(&mut self, result: Result<ConfigWritten, Refused>) {
        self.scroll = 0;
        self.step = match (&self.step, result) {
            (Step::Previewing | Step::Writing, Err(refused)) => Step::Refused(refused),
            (Step::Previewing, Ok(written)) => Step::Preview(written),
            (Step::Writing, Ok(written)) => Step::Written(written),
            // Not waiting for anything: an answer to an earlier popup.
            (step, _) => step.clone(),
        };
    }

    pub fn up(&mut self) {
        match self.step {
            Step::Client => self.client = self.client.saturating_sub(1),
            Step::Choose => self.select(self.scope.saturating_sub(1)),
            _ => self.scroll = self.scroll.saturating_sub(1),
        }
    }

    pub fn down(&mut self) {
        match self.step {
            Step::Client => self.client = (self.client + 1).min(self.clients.len() - 1),
            Step::Choose => self.select(self.scope + 1),
            _ => self.scroll = self.scroll.saturating_add(1),
        }
    }
}

/// Whether forcing would get past the refusal (the entry is someone else's).
pub fn forcible(refused: &Refused) -> bool {
    refused.forcible
}

/// The clients, installed ones marked, the chosen one pointed at.
fn client_lines<'a>(state: &WriteConfig, theme: &Theme) -> Vec<Line<'a>> {
    state
        .clients
        .iter()
        .enumerate()
        .map(|(i, (client, installed))| {
            let chosen = i == state.client;
            let mark = if chosen { "› " } else { "  " };
            let style = if chosen { theme.selected() } else { theme.key() };
            let note = if *installed { " installed" } else { "" };
            Line::from(vec![
                Span::styled(format!("{mark}{:<16}", client.title()), style),
                Span::styled(note, theme.dim()),
            ])
        })
        .collect()
}

/// The chosen client's scopes with the file each writes, wrapped at `width` under the file.
fn scope_lines<'a>(state: &WriteConfig, theme: &Theme, width: u16) -> Vec<Line<'a>> {
    let dir = state.dir.display();
    let claude = match &state.home {
        Some(home) => home.join(".claude.json").display().to_string(),
        None => "~/.claude.json".to_owned(),
    };
    let file = |scope: &Scope| match scope {
        Scope::Project { .. } => format!("{dir}/.mcp.json (shared with the project)"),
        Scope::Local { .. } => format!("{claude}, projects[\"{dir}\"] (you, here)"),
        Scope::User => format!("{claude} (you, every project)"),
        Scope::Client { dir: Some(_), .. } => {
            format!("{} (shared with the project)", scope.file_in(&state.homes).display())
        }
        Scope::Client { dir: None, .. } => {
            format!("{} (you, every project)", scope.file_in(&state.homes).display())
        }
    };
    let client = Line::from(vec![
        Span::styled(format!("  {:<8}", "client"), theme.key()),
        Span::styled(format!(" {} (c changes it)", state.chosen_client().title()), theme.dim()),
    ]);
    let lines = state.scopes().into_iter().enumerate().map(|(i, scope)| {
        let chosen = i == state.scope;
        let mark = if chosen { "› " } else { "  " };
        let name = Span::styled(
            format!("{mark}{:<8}", scope.name()),
            if chosen { theme.selected() } else { theme.key() },
        );
        crate::tui::text::hanging(
            name,
            vec![Span::styled(format!(" {}", file(&scope)), theme.dim())],
            width,
        )
    });
    std::iter::once(client).chain(lines.flatten()).collect()
}

fn step_lines<'a>(state: &'a WriteConfig, theme: &Theme) -> Vec<Line<'a>> {
    let outcome = |w: &ConfigWritten, verb: &str| {
        Line::styled(format!("{}: {} {verb}", w.file.display(), w.outcome.as_str()), theme.title())
    };
    match &state.step {
        Step::Client => vec![Line::styled(
            "j/k choose the client · enter chooses its scope (p/l/u: that scope at once)",
            theme.dim(),
        )],
        Step::Choose => {
            vec![Line::styled("p/l/u or j/k choose · enter previews the change", theme.dim())]
        }
        Step::Previewing => vec![Line::raw("previewing…")],
        Step::Writing => vec![Line::raw("writing…")],
        Step::Preview(w) if w.outcome == Outcome::Unchanged => vec![
            outcome(w, "(nothing to write)"),
            Line::styled("already exactly so · enter closes", theme.dim()),
        ],
        Step::Preview(w) => {
            let mut lines = vec![outcome(w, "(preview) · enter writes it · esc cancels")];
            lines.extend(w.diff.lines().map(|l| Line::styled(l, theme.diff_line(l))));
            lines
        }
        Step::Written(w) => {
            let mut lines = vec![outcome(w, "· written")];
            if let Some(backup) = &w.backup {
                lines.push(Line::styled(format!("backup: {}", backup.display()), theme.dim()));
            }
            if !w.claude_command.is_empty() {
                lines.push(Line::styled("the same with Claude Code's CLI:", theme.dim()));
                lines.push(Line::raw(w.claude_command.as_str()));
            }
            lines.push(Line::styled("enter closes", theme.dim()));
            lines
        }
        Step::Refused(refused) => {
            let mut lines = vec![
                Line::styled(refused.trouble.cause.as_str(), theme.error()),
                Line::styled(format!("fix: {}", refused.trouble.fix), theme.fix()),
            ];
            if forcible(refused) {
                lines.push(Line::styled("f forces it (the old file is backed up)", theme.key()));
            }
            lines
        }
    }
}

pub fn draw(frame: &mut Frame, state: &WriteConfig, theme: &Theme) {
    let area = frame.area();
    let (width, height) = (area.width.saturating_sub(4).min(100), area.height);
    let title = match state.step {
        Step::Client => format!("Write {}'s entry: which client?", state.profile),
        _ => format!("Write {}'s {} entry", state.profile, state.chosen_client().title()),
    };
    let inner = super::frame_area(frame, width, height, &title, theme);
    let scope_lines = match state.step {
        Step::Client => client_lines(state, theme),
        _ => scope_lines(state, theme, inner.width),
    };
    let rows = u16::try_from(scope_lines.len() + 1).unwrap_or(u16::MAX);
    let [scopes, body] =
        Layout::vertical([Constraint::Length(rows), Constraint::Fill(1)]).areas(inner);
    frame.render_widget(Paragraph::new(scope_lines), scopes);
    let body_text = Paragraph::new(step_lines(state, theme)).wrap(Wrap { trim: false });
    frame.render_widget(body_text.scroll((state.scroll, 0)), body);
}

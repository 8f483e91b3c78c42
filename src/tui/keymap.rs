//! Every key the TUI knows, as one table of data: dispatch looks keys up here, and the `?` help
//! popup and the status bar's hints are drawn from it, so the three never disagree.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key asks for. What it does depends on the focused pane or open popup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Activate,
    Stop,
    Restart,
    WriteConfig,
    ClaudeCommand,
    Diagnose,
    Edit,
    Contexts,
    Pin,
    FilterLogs,
    CycleSource,
    /// Logs: wrap long lines, or cut them at the edge.
    Wrap,
    /// Logs: scroll sideways.
    Left,
    Right,
    /// Copy to the clipboard what the focus or the popup shows.
    Copy,
    FocusNext,
    FocusPrev,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Help,
    Quit,
    /// Close the popup (or leave the text field).
    Close,
    /// Enter in a popup: the popup's next step.
    Confirm,
    ScopeProject,
    ScopeLocal,
    ScopeUser,
    /// Back to the list of clients.
    ChooseClient,
    Force,
    NextField,
    PrevField,
}

/// Where a binding applies: the main screen, or the kind of popup on top of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Main,
    /// Help, the contexts list, the certificate.
    Popup,
    /// A text to read and copy: the `claude mcp add` command, a log line.
    Text,
    WriteConfig,
    /// A text field (the log filter, the edit popup): other keys are typed into it.
    Input,
}

impl Context {
    pub fn title(self) -> &'static str {
        match self {
            Context::Main => "Main screen",
            Context::Popup => "Popups",
            Context::Text => "Claude command, log line",
            Context::WriteConfig => "Write config",
            Context::Input => "Text fields (filter, edit)",
        }
    }

    pub const ALL: [Context; 5] =
        [Context::Main, Context::Popup, Context::Text, Context::WriteConfig, Context::Input];
}

/// A key with its modifiers (Shift is ignored: `G` and `?` arrive with or without it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

const fn key(code: KeyCode) -> Key {
    Key { code, modifiers: KeyModifiers::NONE }
}

const fn ch(c: char) -> Key {
    key(KeyCode::Char(c))
}

const fn ctrl(c: char) -> Key {
    Key { code: KeyCode::Char(c), modifiers: KeyModifiers::CONTROL }
}

impl Key {
    fn matches(&self, event: &KeyEvent) -> bool {
        let strip = |m: KeyModifiers| m.difference(KeyModifiers::SHIFT);
        self.code == event.code && strip(self.modifiers) == strip(event.modifiers)
    }

    /// How the key is written in hints and help.
    pub fn label(&self) -> String {
        let base = match self.code {
            KeyCode::Enter => "enter".to_owned(),
            KeyCode::Esc => "esc".to_owned(),
            KeyCode::Tab => "tab".to_owned(),
            KeyCode::BackTab => "S-tab".to_owned(),
            KeyCode::Up => "↑".to_owned(),
            KeyCode::Down => "↓".to_owned(),
            KeyCode::Left => "←".to_owned(),
            KeyCode::Right => "→".to_owned(),
            KeyCode::PageUp => "pgup".to_owned(),
            KeyCode::PageDown => "pgdn".to_owned(),
            KeyCode::Home => "home".to_owned(),
            KeyCode::End => "end".to_owned(),
            KeyCode::Char(c) => c.to_string(),
            other => format!("{other:?}"),
        };
        if self.modifiers.contains(KeyModifiers::CONTROL) { format!("^{base}") } else { base }
    }
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub context: Context,
    pub keys: &'static [Key],
    pub action: Action,
    /// The word in the status bar, for the keys worth a hint there.
    pub hint: Option<&'static str>,
    /// The line in the help popup.
    pub help: &'static str,
}

const fn bind(
    context: Context,
    keys: &'static [Key],
    action: Action,
    hint: Option<&'static str>,
    help: &'static str,
) -> Binding {
    Binding { context, keys, action, hint, help }
}

use Action as A;
use Context::{Input, Main, Popup, Text, WriteConfig};

/// The keymap. Order is the order of hints and help.
#[rustfmt::skip]
pub const BINDINGS: &[Binding] = &[
    bind(Main, &[key(KeyCode::Enter)], A::Activate, Some("start"), "start it, stop the active · logs: open line"),
    bind(Main, &[ch('s')], A::Stop, Some("stop"), "stop the selected route"),
    bind(Main, &[ch('r')], A::Restart, None, "restart the selected route"),
    bind(Main, &[ch('w')], A::WriteConfig, Some("config"), "write its entry for Claude Code or another client"),
    bind(Main, &[ch('c')], A::ClaudeCommand, Some("claude"), "the equivalent `claude mcp add` command"),
    bind(Main, &[ch('d')], A::Diagnose, Some("diagnose"), "diagnose: one full probe, cause and fix"),
    bind(Main, &[ch('e')], A::Edit, None, "edit the forward, save it as a user profile"),
    bind(Main, &[ch('x')], A::Contexts, Some("context"), "switch the route's kubeconfig context"),
    bind(Main, &[ch('p')], A::Pin, None, "show the route's TLS certificate, and pin it"),
    bind(Main, &[ch('/')], A::FilterLogs, Some("filter"), "filter the logs by text"),
    bind(Main, &[ch('t')], A::CycleSource, None, "logs: show one source, then the next"),
    bind(Main, &[ch('W')], A::Wrap, None, "logs: wrap long lines / cut them at the edge"),
    bind(Main, &[ch('h'), key(KeyCode::Left)], A::Left, None, "logs: scroll sideways, to the start"),
    bind(Main, &[ch('l'), key(KeyCode::Right)], A::Right, None, "logs: scroll sideways, to the end"),
    bind(Main, &[ch('y')], A::Copy, None, "copy its Claude Code entry · logs: the line"),
    bind(Main, &[key(KeyCode::Tab)], A::FocusNext, None, "focus the next pane"),
    bind(Main, &[key(KeyCode::BackTab)], A::FocusPrev, None, "focus the previous pane"),
    bind(Main, &[ch('k'), key(KeyCode::Up)], A::Up, None, "up: previous route / scroll up"),
    bind(Main, &[ch('j'), key(KeyCode::Down)], A::Down, None, "down: next route / scroll down"),
    bind(Main, &[key(KeyCode::PageUp)], A::PageUp, None, "scroll a page up"),
    bind(Main, &[key(KeyCode::PageDown)], A::PageDown, None, "scroll a page down"),
    bind(Main, &[ch('g'), key(KeyCode::Home)], A::Top, None, "first route / oldest log line"),
    bind(Main, &[ch('G'), key(KeyCode::End)], A::Bottom, None, "last route / follow the logs"),
    bind(Main, &[ch('?')], A::Help, Some("help"), "this help"),
    bind(Main, &[ch('q'), ctrl('c')], A::Quit, Some("quit"), "quit: stop every route, then leave"),
    bind(Popup, &[key(KeyCode::Enter)], A::Confirm, Some("choose"), "choose"),
    bind(Popup, &[ch('k'), key(KeyCode::Up)], A::Up, None, "up"),
    bind(Popup, &[ch('j'), key(KeyCode::Down)], A::Down, None, "down"),
    bind(Popup, &[key(KeyCode::Esc), ch('q'), ch('?')], A::Close, Some("close"), "close"),
    bind(Text, &[ch('y')], A::Copy, Some("copy"), "copy it to the clipboard (OSC 52)"),
    bind(Text, &[ch('k'), key(KeyCode::Up)], A::Up, None, "scroll up"),
    bind(Text, &[ch('j'), key(KeyCode::Down)], A::Down, None, "scroll down"),
    bind(Text, &[key(KeyCode::Esc), ch('q'), ch('?')], A::Close, Some("close"), "close"),
    bind(Text, &[key(KeyCode::Enter)], A::Close, None, "close"),
    bind(WriteConfig, &[ch('p')], A::ScopeProject, Some("project"), "scope project: the client's file in DIR"),
    bind(WriteConfig, &[ch('l')], A::ScopeLocal, Some("local"), "scope local: ~/.claude.json, this project"),
    bind(WriteConfig, &[ch('u')], A::ScopeUser, Some("user"), "scope user: the client's file for every project"),
    bind(WriteConfig, &[ch('c')], A::ChooseClient, Some("client"), "back to the clients (installed ones on top)"),
    bind(WriteConfig, &[ch('k'), key(KeyCode::Up)], A::Up, None, "previous client or scope / scroll the diff"),
    bind(WriteConfig, &[ch('j'), key(KeyCode::Down)], A::Down, None, "next client or scope / scroll the diff"),
    bind(WriteConfig, &[key(KeyCode::Enter)], A::Confirm, Some("next"), "preview, then write"),
    bind(WriteConfig, &[ch('f')], A::Force, None, "force: replace an entry not mcp-connect's"),
    bind(WriteConfig, &[key(KeyCode::Esc), ch('q')], A::Close, Some("close"), "close without writing"),
    bind(Input, &[key(KeyCode::Enter)], A::Confirm, Some("done"), "done: filter, or save the edited profile"),
    bind(Input, &[key(KeyCode::Tab)], A::NextField, Some("field"), "next field"),
    bind(Input, &[key(KeyCode::BackTab)], A::PrevField, None, "previous field"),
    bind(Input, &[key(KeyCode::Esc)], A::Close, Some("cancel"), "cancel (the filter: clear it)"),
];

/// The action `event` means in `context`.
pub fn action(context: Context, event: &KeyEvent) -> Option<Action> {
    BINDINGS
        .iter()
        .find(|b| b.context == context && b.keys.iter().any(|k| k.matches(event)))
        .map(|b| b.action)
}

/// The bindings of one context, in table order.
pub fn bindings(context: Context) -> impl Iterator<Item = &'static Binding> {
    BINDINGS.iter().filter(move |b| b.context == context)
}

/// The keys of a binding, as written in help: `k/↑`.
pub fn keys_label(binding: &Binding) -> String {
    binding.keys.iter().map(Key::label).collect::<Vec<_>>().join("/")
}

/// The first key bound to `action` in `context`, as written in hints.
pub fn first_key(context: Context, action: Action) -> Option<String> {
    bindings(context).find(|b| b.action == action).and_then(|b| Some(b.keys.first()?.label()))
}

/// `(action, key, word)` for the status bar, with the first key of each binding.
pub fn hints(context: Context) -> impl Iterator<Item = (Action, String, &'static str)> {
    bindings(context).filter_map(|b| Some((b.action, b.keys.first()?.label(), b.hint?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn lookup_ignores_shift_but_not_control() {
        let shift = KeyModifiers::SHIFT;
        assert_eq!(action(Main, &press(KeyCode::Char('G'), shift)), Some(A::Bottom));
        assert_eq!(action(Main, &press(KeyCode::Char('?'), shift)), Some(A::Help));
        assert_eq!(action(Main, &press(KeyCode::Char('c'), KeyModifiers::CONTROL)), Some(A::Quit));
        assert_eq!(
            action(Main, &press(KeyCode::Char('c'), KeyModifiers::NONE)),
            Some(A::ClaudeCommand)
        );
        assert_eq!(action(Popup, &press(KeyCode::Char('s'), KeyModifiers::NONE)), None);
    }

    #[test]
    fn no_key_means_two_things_in_one_context() {
        for context in Context::ALL {
            let keys: Vec<Key> = bindings(context).flat_map(|b| b.keys.iter().copied()).collect();
            for (i, k) in keys.iter().enumerate() {
                assert!(!keys[i + 1..].contains(k), "{k:?} bound twice in {context:?}");
            }
        }
    }
}

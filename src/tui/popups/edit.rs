//! `e`: change a port-forward route's context, namespace, service and local port, and save the
//! result as a user profile (sent as `Command::SaveProfile`; the engine writes the file and
//! runs the route as saved).

use std::path::PathBuf;

use crossterm::event::{Event as TermEvent, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Position;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use tui_input::Input;
use tui_input::backend::crossterm::to_input_request;

use crate::profile::{KubeName, Link, Port, Profile};
use crate::tui::theme::Theme;

/// The fields, in tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Context,
    Namespace,
    Service,
    LocalPort,
}

const FIELDS: [(Field, &str); 4] = [
    (Field::Context, "context"),
    (Field::Namespace, "namespace"),
    (Field::Service, "service"),
    (Field::LocalPort, "local port"),
];

/// Width of the label column.
const LABEL: u16 = 12;

#[derive(Debug, Clone)]
pub struct Edit {
    pub profile: String,
    /// The profile as loaded, which the fields change.
    pub original: Profile,
    /// The user file it came from (`None`: a built-in, saved as a new user file).
    pub file: Option<PathBuf>,
    /// The context shown at first, and whether it is only the kubeconfig's current one (kept
    /// out of the saved file unless changed, so the profile keeps following it).
    initial_context: (String, bool),
    inputs: [Input; 4],
    pub field: Field,
    /// Sent, and waiting for the engine's answer.
    pub saving: bool,
    /// Why the last Enter was refused.
    pub error: Option<String>,
}

impl Edit {
    /// `context` is what the route uses now, `follows_current` whether that is merely the
    /// kubeconfig's current context; `port` is the local port it serves on now.
    pub fn new(
        original: Profile,
        file: Option<PathBuf>,
        context: String,
        follows_current: bool,
        port: u16,
    ) -> Option<Edit> {
        let Link::PortForward(pf) = &original.link else { return None };
        let inputs = [
            Input::new(context.clone()),
            Input::new(pf.namespace.to_string()),
            Input::new(pf.service.to_string()),
            Input::new(port.to_string()),
        ];
        Some(Edit {
            profile: original.name.to_string(),
            original,
            file,
            initial_context: (context, follows_current),
            inputs,
            field: Field::Context,
            saving: false,
            error: None,
        })
    }

    fn index(field: Field) -> usize {
        FIELDS.iter().position(|(f, _)| *f == field).unwrap_or(0)
    }

    pub fn value(&self, field: Field) -> &str {
        self.inputs[Self::index(field)].value()
    }

    pub fn next_field(&mut self) {
        self.field = FIELDS[(Self::index(self.field) + 1) % FIELDS.len()].0;
    }

    pub fn prev_field(&mut self) {
        self.field = FIELDS[(Self::index(self.field) + FIELDS.len() - 1) % FIELDS.len()].0;
    }

    /// Types `key` into the focused field.
    pub fn input(&mut self, key: KeyEvent) {
        let Some(request) = to_input_request(&TermEvent::Key(key)) else { return };
        self.inputs[Self::index(self.field)].handle(request);
        self.error = None;
    }

    /// The profile the fields describe, or why it cannot be (the field to fix is focused).
    pub fn changed(&mut self, contexts: &[String]) -> Result<Profile, String> {
        let result = self.build(contexts);
        if let Err((field, _)) = &result {
            self.field = *field;
        }
        result.map_err(|(_, why)| why)
    }

    fn build(&self, contexts: &[String]) -> Result<Profile, (Field, String)> {
        let mut profile = self.original.clone();
        let Link::PortForward(pf) = &mut profile.link else {
            return Err((Field::Context, "only port-forward routes can be edited".to_owned()));
        };
        let context = self.value(Field::Context).trim();
        let (initial, follows_current) = &self.initial_context;
        if !(context == initial && *follows_current) {
            if !context.is_empty() && !contexts.is_empty() && !contexts.iter().any(|c| c == context)
            {
                let why = format!("no context {context:?} in the kubeconfig; x lists them");
                return Err((Field::Context, why));
            }
            pf.context = (!context.is_empty()).then(|| context.to_owned());
        }
        let name =
            |field: Field| KubeName::try_from(self.value(field).trim()).map_err(|why| (field, why));
        pf.namespace = name(Field::Namespace)?;
        pf.service = name(Field::Service)?;
        let port = self.value(Field::LocalPort).trim();
        pf.local_port = port.parse::<u16>().ok().and_then(Port::new).ok_or_else(|| {
            (Field::LocalPort, format!("{port:?} is not a port; expected 1-65535"))
        })?;
        Ok(profile)
    }
}

pub fn draw(frame: &mut Frame, state: &Edit, theme: &Theme) {
    let inner = super::frame_area(frame, 66, 12, &format!("Edit {}", state.profile), theme);
    let mut lines: Vec<Line> = FIELDS
        .iter()
        .map(|(field, label)| {
            Line::from(vec![
                Span::styled(format!("{label:<width$}", width = usize::from(LABEL)), theme.label()),
                Span::raw(state.value(*field).to_owned()),
            ])
        })
        .collect();
    let target = match &state.file {
        Some(file) => format!("saves over {}", file.display()),
        None => "saves a user profile in place of the built-in".to_owned(),
    };
    lines.push(Line::styled(target, theme.dim()));
    lines.push(Line::raw(""));
    lines.push(match (&state.error, state.saving) {
        (Some(error), _) => Line::styled(error.as_str(), theme.error()),
        (None, true) => Line::styled("saving…", theme.dim()),
        (None, false) => Line::styled(
            "enter saves and restarts the route if running · tab next field · esc cancel",
            theme.dim(),
        ),
    });
    frame.render_widget(Paragraph::new(lines).wrap(ratatui::widgets::Wrap { trim: false }), inner);
    let row = u16::try_from(Edit::index(state.field)).unwrap_or(0);
    let input = &state.inputs[Edit::index(state.field)];
    let x = inner.x + LABEL + u16::try_from(input.visual_cursor()).unwrap_or(0);
    if x < inner.right() {
        frame.set_cursor_position(Position::new(x, inner.y + row));
    }
}

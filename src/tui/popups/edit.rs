//! `e`: change the route's kubeconfig context and local port for this session (sent as
//! `Command::Override`). Namespace and service are shown; changing them means saving a user
//! profile, which this version does not do yet.

use crossterm::event::{Event as TermEvent, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Position;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use tui_input::Input;
use tui_input::backend::crossterm::to_input_request;

use crate::tui::route::Overrides;
use crate::tui::theme::Theme;

/// The field being typed into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Context,
    LocalPort,
}

#[derive(Debug, Clone)]
pub struct Edit {
    pub profile: String,
    pub namespace: String,
    pub service: String,
    pub context: Input,
    pub local_port: Input,
    pub field: Field,
    /// Why the last Enter was refused.
    pub error: Option<String>,
}

impl Edit {
    pub fn new(
        profile: String,
        namespace: String,
        service: String,
        context: &str,
        port: u16,
    ) -> Edit {
        Edit {
            profile,
            namespace,
            service,
            context: Input::new(context.to_owned()),
            local_port: Input::new(port.to_string()),
            field: Field::Context,
            error: None,
        }
    }

    pub fn next_field(&mut self) {
        self.field = match self.field {
            Field::Context => Field::LocalPort,
            Field::LocalPort => Field::Context,
        };
    }

    /// Types `key` into the focused field.
    pub fn input(&mut self, key: KeyEvent) {
        let Some(request) = to_input_request(&TermEvent::Key(key)) else { return };
        let input = match self.field {
            Field::Context => &mut self.context,
            Field::LocalPort => &mut self.local_port,
        };
        input.handle(request);
        self.error = None;
    }

    /// What the fields ask for, or why it cannot be.
    pub fn overrides(&self, contexts: &[String]) -> Result<Overrides, String> {
        let context = self.context.value().trim();
        if !context.is_empty() && !contexts.is_empty() && !contexts.iter().any(|c| c == context) {
            return Err(format!("no context {context:?} in the kubeconfig; x lists them"));
        }
        let port = self.local_port.value().trim();
        let local_port = match port.parse::<u16>() {
            Ok(0) | Err(_) => return Err(format!("{port:?} is not a port; expected 1-65535")),
            Ok(port) => port,
        };
        let context = (!context.is_empty()).then(|| context.to_owned());
        Ok(Overrides { context, local_port: Some(local_port) })
    }
}

pub fn draw(frame: &mut Frame, state: &Edit, theme: &Theme) {
    let inner = super::frame_area(frame, 64, 9, &format!("Edit {}", state.profile), theme);
    let label = |text: &'static str| Span::styled(format!("{text:<11}"), theme.label());
    let fixed =
        |text: &str| Span::styled(format!("{text}  (saved profiles: not yet)"), theme.dim());
    let mut lines = vec![
        Line::from(vec![label("context"), Span::raw(state.context.value().to_owned())]),
        Line::from(vec![label("local port"), Span::raw(state.local_port.value().to_owned())]),
        Line::from(vec![label("namespace"), fixed(&state.namespace)]),
        Line::from(vec![label("service"), fixed(&state.service)]),
        Line::raw(""),
    ];
    match &state.error {
        Some(error) => lines.push(Line::styled(error.as_str(), theme.error())),
        None => lines.push(Line::styled(
            "enter applies (restarts the route if running) · tab next field · esc cancel",
            theme.dim(),
        )),
    }
    frame.render_widget(Paragraph::new(lines), inner);
    let (input, row) = match state.field {
        Field::Context => (&state.context, 0),
        Field::LocalPort => (&state.local_port, 1),
    };
    let x = inner.x + 11 + u16::try_from(input.visual_cursor()).unwrap_or(0);
    if x < inner.right() {
        frame.set_cursor_position(Position::new(x, inner.y + row));
    }
}

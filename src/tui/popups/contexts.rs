//! `x`: the kubeconfig's contexts; Enter runs the selected route in the chosen one.

use ratatui::Frame;
use ratatui::text::{Line, Span};
use ratatui::widgets::{List, ListItem, ListState};

use crate::tui::theme::Theme;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contexts {
    pub profile: String,
    pub contexts: Vec<String>,
    /// The context the route uses now.
    pub using: Option<String>,
    pub selected: usize,
}

impl Contexts {
    /// The list, with the route's context selected.
    pub fn new(profile: String, contexts: Vec<String>, using: Option<String>) -> Contexts {
        let selected = contexts.iter().position(|c| Some(c) == using.as_ref()).unwrap_or(0);
        Contexts { profile, contexts, using, selected }
    }

    pub fn up(&mut self) {
        self.selected = self.selected.saturating_sub(1);
    }

    pub fn down(&mut self) {
        self.selected = (self.selected + 1).min(self.contexts.len().saturating_sub(1));
    }

    pub fn chosen(&self) -> Option<&str> {
        self.contexts.get(self.selected).map(String::as_str)
    }
}

pub fn draw(frame: &mut Frame, state: &Contexts, theme: &Theme) {
    let height = u16::try_from(state.contexts.len().max(1)).unwrap_or(u16::MAX).saturating_add(2);
    let title = format!("Context for {}", state.profile);
    let inner = super::frame_area(frame, 60, height, &title, theme);
    if state.contexts.is_empty() {
        frame
            .render_widget(Line::styled("the kubeconfig defines no context", theme.error()), inner);
        return;
    }
    let items = state.contexts.iter().map(|c| {
        let mut spans = vec![Span::raw(c.as_str())];
        if state.using.as_ref() == Some(c) {
            spans.push(Span::styled("  (in use)", theme.dim()));
        }
        ListItem::new(Line::from(spans))
    });
    let list = List::new(items).highlight_style(theme.selected()).highlight_symbol("› ");
    let mut list_state = ListState::default().with_selected(Some(state.selected));
    frame.render_stateful_widget(list, inner, &mut list_state);
}

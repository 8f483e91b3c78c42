//! The header: which kubeconfig and context a forward uses, as kubectl would resolve them.

use std::path::PathBuf;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::tui::theme::Theme;

/// The kubeconfig as loaded (from `kubeconfig::Loaded`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    /// The files read, in merge order (empty: none found).
    pub kubeconfig_files: Vec<PathBuf>,
    pub current_context: Option<String>,
    /// Every context the files define, for `x`.
    pub contexts: Vec<String>,
}

impl Header {
    /// `FILE`, or `FILE (+N more)` for a merged `KUBECONFIG`.
    pub fn files_label(&self) -> String {
        match self.kubeconfig_files.as_slice() {
            [] => "none found".to_owned(),
            [one] => one.display().to_string(),
            [first, rest @ ..] => format!("{} (+{} more)", first.display(), rest.len()),
        }
    }
}

/// The header; `route` is the selected route's context when it is not the current one (`x`
/// chose another, or its profile names one): `context lab  route uses other (changed here)`.
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    header: &Header,
    route: Option<(String, &str)>,
    theme: &Theme,
) {
    let context = header.current_context.as_deref().unwrap_or("none");
    let mut spans = vec![
        Span::styled(" mcp-connect ", theme.key()),
        Span::styled(" kubeconfig ", theme.label()),
        Span::raw(header.files_label()),
        Span::styled("  context ", theme.label()),
        Span::raw(context.to_owned()),
    ];
    if let Some((used, why)) = route.filter(|(used, _)| used != context) {
        spans.push(Span::styled("  route uses ", theme.label()));
        spans.push(Span::raw(format!("{used} ({why})")));
    }
    let line = Line::from(spans);
    frame.render_widget(Paragraph::new(line), area);
}

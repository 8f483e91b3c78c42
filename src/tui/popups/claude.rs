//! `c`: the `claude mcp add …` command that makes the same entry as `w` would (project scope),
//! for a user who prefers Claude Code's own CLI; `y` copies it. The same text also goes to the
//! log.

use ratatui::Frame;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use crate::trouble::Trouble;
use crate::tui::keymap::{self, Action, Context};
use crate::tui::theme::Theme;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claude {
    pub profile: String,
    /// The command, or why there is none.
    pub command: Result<String, Trouble>,
}

pub fn draw(frame: &mut Frame, state: &Claude, theme: &Theme) {
    let title = format!("claude mcp add: {}", state.profile);
    let inner = super::frame_area(frame, 100, 10, &title, theme);
    let lines = match &state.command {
        Ok(command) => {
            let key = |action| keymap::first_key(Context::Text, action).unwrap_or_default();
            let copy = format!("{} copies it · {} closes", key(Action::Copy), key(Action::Close));
            vec![
                Line::raw(command.as_str()),
                Line::raw(""),
                Line::styled(copy, theme.key()),
                Line::styled("(also in the log; w writes it without the claude CLI)", theme.dim()),
            ]
        }
        Err(none) => vec![
            Line::styled(none.cause.as_str(), theme.error()),
            Line::styled(format!("fix: {}", none.fix), theme.fix()),
        ],
    };
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

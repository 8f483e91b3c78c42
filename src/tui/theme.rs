//! Colours and emphasis, in one place. A [`Theme`] is passed to every drawing function; with
//! `NO_COLOR` set it has no colour at all (bold, dim and reverse remain, so the selection and
//! the states still read), and glyphs alone tell the states apart.

use ratatui::style::{Color, Modifier, Style};

use super::route::Status;

/// How the screen is coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    color: bool,
}

impl Theme {
    /// Colours unless `NO_COLOR` is set to a non-empty value (<https://no-color.org>).
    pub fn from_env() -> Theme {
        Theme::with_no_color(std::env::var_os("NO_COLOR").as_deref())
    }

    /// The theme for a given `NO_COLOR` value, for tests and callers that read it themselves.
    pub fn with_no_color(no_color: Option<&std::ffi::OsStr>) -> Theme {
        Theme { color: no_color.is_none_or(|v| v.is_empty()) }
    }

    pub fn colored() -> Theme {
        Theme { color: true }
    }

    /// No colour anywhere.
    pub fn plain() -> Theme {
        Theme { color: false }
    }

    pub fn has_color(&self) -> bool {
        self.color
    }

    fn fg(&self, color: Color) -> Style {
        if self.color { Style::new().fg(color) } else { Style::new() }
    }

    /// A route state's glyph colour.
    pub fn status(&self, status: Status) -> Style {
        match status {
            Status::Stopped => self.fg(Color::DarkGray),
            Status::Starting | Status::Waiting => self.fg(Color::Cyan),
            Status::Serving => self.fg(Color::Green),
            Status::Degraded => self.fg(Color::Yellow),
            Status::Down | Status::Failed => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            Status::Invalid => self.fg(Color::Magenta),
        }
    }

    /// Field names in the detail and health panes.
    pub fn label(&self) -> Style {
        self.fg(Color::Blue).add_modifier(Modifier::BOLD)
    }

    /// Titles and the route's own title.
    pub fn title(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    /// Secondary text: hints, sources, explanations.
    pub fn dim(&self) -> Style {
        Style::new().add_modifier(Modifier::DIM)
    }

    /// The selected row of a list.
    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    /// The border of the focused pane.
    pub fn focused(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn border(&self) -> Style {
        self.fg(Color::DarkGray)
    }

    /// A problem's cause.
    pub fn error(&self) -> Style {
        self.fg(Color::Red)
    }

    /// A problem's fix.
    pub fn fix(&self) -> Style {
        self.fg(Color::Yellow)
    }

    pub fn good(&self) -> Style {
        self.fg(Color::Green)
    }

    /// A key in the status bar and the help popup.
    pub fn key(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn sparkline(&self) -> Style {
        self.fg(Color::Green)
    }

    /// A unified diff's line, by its first character.
    pub fn diff_line(&self, line: &str) -> Style {
        if line.starts_with("+++") || line.starts_with("---") {
            self.title()
        } else if line.starts_with('+') {
            self.fg(Color::Green)
        } else if line.starts_with('-') {
            self.fg(Color::Red)
        } else if line.starts_with("@@") {
            self.fg(Color::Cyan)
        } else {
            Style::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_means_no_colour_but_keeps_emphasis() {
        let plain = Theme::with_no_color(Some("1".as_ref()));
        assert!(!plain.has_color());
        assert_eq!(plain.status(Status::Serving), Style::new());
        assert_eq!(plain.selected(), Style::new().add_modifier(Modifier::REVERSED));
        // An empty NO_COLOR does not count, as the convention says.
        assert!(Theme::with_no_color(Some("".as_ref())).has_color());
        assert!(Theme::with_no_color(None).has_color());
    }
}

//! Popups over the main screen, one module each, at most one open at a time. Each has its
//! state apart from its drawing; the keys they take are in the keymap's popup contexts.

pub mod claude;
pub mod contexts;
pub mod edit;
pub mod help;
pub mod log_line;
pub mod pin;
pub mod write_config;

use ratatui::Frame;
use ratatui::layout::{Constraint, Margin, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear};

use super::keymap::Context;
use super::theme::Theme;

/// The open popup.
#[derive(Debug)]
pub enum Popup {
    Help(help::Help),
    WriteConfig(write_config::WriteConfig),
    Contexts(contexts::Contexts),
    Edit(Box<edit::Edit>),
    Claude(claude::Claude),
    Pin(pin::Pin),
    LogLine(log_line::LogLinePopup),
}

impl Popup {
    /// Which keymap context its keys are looked up in.
    pub fn context(&self) -> Context {
        match self {
            Popup::Help(_) | Popup::Contexts(_) | Popup::Pin(_) => Context::Popup,
            Popup::Claude(_) | Popup::LogLine(_) => Context::Text,
            Popup::WriteConfig(_) => Context::WriteConfig,
            Popup::Edit(_) => Context::Input,
        }
    }
}

/// A centred area of at most `width`×`height`, between the header and the status bar (whose
/// hints stay visible), cleared, framed and titled; returns the inside.
pub fn frame_area(frame: &mut Frame, width: u16, height: u16, title: &str, theme: &Theme) -> Rect {
    let room = frame.area().inner(Margin { horizontal: 0, vertical: 1 });
    let area = room.centered(
        Constraint::Length(width.min(room.width)),
        Constraint::Length(height.min(room.height)),
    );
    let block = Block::bordered()
        .border_style(theme.focused())
        .title(Line::styled(format!(" {title} "), theme.title()));
    let inner = block.inner(area);
    frame.render_widget(Clear, area);
    frame.render_widget(block, area);
    inner
}

pub fn draw(frame: &mut Frame, popup: &Popup, theme: &Theme) {
    match popup {
        Popup::Help(state) => help::draw(frame, state, theme),
        Popup::WriteConfig(state) => write_config::draw(frame, state, theme),
        Popup::Contexts(state) => contexts::draw(frame, state, theme),
        Popup::Edit(state) => edit::draw(frame, state, theme),
        Popup::Claude(state) => claude::draw(frame, state, theme),
        Popup::Pin(state) => pin::draw(frame, state, theme),
        Popup::LogLine(state) => log_line::draw(frame, state, theme),
    }
}

//! `p`: the certificate the route's endpoint presents — subject, issuer, validity, names and
//! SHA-256 — and, when this machine does not trust it, Enter pins exactly that one.

use std::path::PathBuf;

use ratatui::Frame;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::supervisor::hub::{Certificate, Command, Refused};
use crate::trouble::Trouble;
use crate::tui::theme::Theme;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Connecting to the endpoint (a port-forward may be brought up for it).
    Fetching,
    Shown(Certificate),
    /// Pin sent; waiting for the engine to save the profile.
    Pinning(Certificate),
    Failed(Trouble),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    pub profile: String,
    /// The user file the profile came from (`None`: a built-in).
    pub from: Option<PathBuf>,
    pub step: Step,
}

impl Pin {
    pub fn new(profile: String, from: Option<PathBuf>) -> Pin {
        Pin { profile, from, step: Step::Fetching }
    }

    pub fn answer(&mut self, result: Result<Certificate, Refused>) {
        self.step = match result {
            Ok(cert) => Step::Shown(cert),
            Err(refused) => Step::Failed(refused.trouble),
        };
    }

    /// The pin was refused: say why, keep the popup.
    pub fn refused(&mut self, refused: Refused) {
        self.step = Step::Failed(refused.trouble);
    }

    /// Enter: the command that pins the certificate shown, or `None` when the popup should
    /// close instead (nothing to pin, or not shown yet).
    pub fn confirm(&mut self) -> Option<Command> {
        let Step::Shown(cert) = &self.step else { return None };
        if cert.pinned || cert.refusal.is_none() {
            return None;
        }
        let command = Command::Pin {
            profile: self.profile.clone(),
            sha256: cert.cert.sha256.clone(),
            from: self.from.clone(),
        };
        self.step = Step::Pinning(cert.clone());
        Some(command)
    }
}

pub fn draw(frame: &mut Frame, state: &Pin, theme: &Theme) {
    let title = format!("Certificate of {}", state.profile);
    let inner = super::frame_area(frame, 100, 13, &title, theme);
    let field = |label: &'static str, value: String| {
        Line::from(vec![Span::styled(format!("{label:<9}"), theme.label()), Span::raw(value)])
    };
    let lines = match &state.step {
        Step::Fetching => vec![Line::styled("connecting to the endpoint…", theme.dim())],
        Step::Failed(trouble) => vec![
            Line::styled(trouble.cause.as_str(), theme.error()),
            Line::styled(format!("fix: {}", trouble.fix), theme.fix()),
        ],
        Step::Shown(cert) | Step::Pinning(cert) => {
            let c = &cert.cert;
            let signed = if c.self_signed { " (self-signed)" } else { "" };
            let mut lines = vec![
                field("url", cert.url.clone()),
                field("subject", c.subject.clone()),
                field("issuer", format!("{}{signed}", c.issuer)),
                field("valid", format!("{} to {}", c.not_before, c.not_after)),
                field("names", c.names.join(", ")),
                field("SHA-256", c.sha256.clone()),
                Line::raw(""),
            ];
            let (verdict, style) = match (&cert.refusal, cert.pinned) {
                (_, true) => ("pinned in the profile already".to_owned(), theme.dim()),
                (None, false) => {
                    ("trusted by this machine: nothing to pin".to_owned(), theme.dim())
                }
                (Some(why), false) => {
                    (format!("not trusted by this machine: {why}"), theme.error())
                }
            };
            lines.push(Line::styled(verdict, style));
            lines.push(match (&state.step, &cert.refusal, cert.pinned) {
                (Step::Pinning(_), _, _) => Line::styled("pinning…", theme.dim()),
                (_, Some(_), false) => Line::styled(
                    "enter pins it (only if this SHA-256 is the server's) · esc cancel",
                    theme.dim(),
                ),
                _ => Line::styled("enter or esc closes", theme.dim()),
            });
            lines
        }
    };
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

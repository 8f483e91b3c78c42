//! The detail pane: what the selected route is and when to use it, what it reaches, where
//! Claude Code connects, its auth and TLS, and the Claude Code entry it would write.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::clientconfig::{Entry, Launcher};
use crate::profile::{Auth, Link, Profile, Scheme, SecretSource};
use crate::router::GatewayState;
use crate::supervisor::router::GatewayRow;
use crate::tui::keymap;
use crate::tui::route::{Row, Status, millis};
use crate::tui::theme::Theme;

/// The pane's state: how far it is scrolled, and how its entries start mcp-connect.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Detail {
    pub scroll: u16,
    /// How the entries shown start mcp-connect (as the engine writes them).
    pub launcher: Launcher,
}

impl Detail {
    pub fn up(&mut self, lines: u16) {
        self.scroll = self.scroll.saturating_sub(lines);
    }

    pub fn down(&mut self, lines: u16) {
        self.scroll = self.scroll.saturating_add(lines).min(200);
    }
}

/// `Label    value`, the label padded so values line up.
fn field<'a>(label: &'a str, value: impl Into<String>, theme: &Theme) -> Line<'a> {
    Line::from(vec![Span::styled(format!("{label:<9}"), theme.label()), Span::raw(value.into())])
}

/// How requests authenticate.
pub fn auth_summary(profile: &Profile) -> String {
    match &profile.auth {
        Auth::None => "none".to_owned(),
        Auth::Bearer(bearer) => format!("bearer token from ${}", bearer.env),
        Auth::Jwt(jwt) => {
            let secret = match &jwt.secret {
                SecretSource::Kubernetes(r) => {
                    format!("secret {}/{} key {}", r.namespace, r.name, r.key)
                }
                SecretSource::Env(var) => format!("${var}"),
            };
            format!("JWT (iss {}, aud {}) signed with {secret}", jwt.issuer, jwt.audience)
        }
    }
}

/// Whether and how the server's certificate is checked.
pub fn tls_summary(profile: &Profile) -> String {
    let https = match &profile.link {
        Link::PortForward(pf) => pf.scheme == Scheme::Https,
        Link::Direct(direct) => direct.url.as_str().starts_with("https:"),
        Link::Router(router) => router
            .gateway_pools
            .iter()
            .flat_map(|p| &p.gateways)
            .any(|g| g.url.as_str().starts_with("https:")),
    };
    match &profile.tls {
        _ if !https => "none (plain HTTP)".to_owned(),
        Some(tls) if !tls.verify => "NOT verified (tls.verify: false)".to_owned(),
        Some(tls) if tls.pin_sha256.is_some() => {
            let pin = tls.pin_sha256.as_ref().map(|p| p.as_str()).unwrap_or_default();
            format!("verified, pinned to sha256 {}…", pin.get(..16).unwrap_or(pin))
        }
        Some(tls) if tls.ca_file.is_some() => {
            let ca = tls.ca_file.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
            format!("verified with CA {ca}")
        }
        _ => "verified (system roots)".to_owned(),
    }
}

/// `● healthy   w100  0.84ms  1 session  gw:8443`, with why it last failed.
fn gateway_line<'a>(label: &'a str, gateway: &GatewayRow, theme: &Theme) -> Line<'a> {
    let status = match gateway.state {
        GatewayState::Healthy => Status::Serving,
        GatewayState::Probation => Status::Degraded,
        GatewayState::Down => Status::Down,
    };
    let state = match gateway.state {
        GatewayState::Healthy => "healthy",
        GatewayState::Probation => "probation",
        GatewayState::Down => "down",
    };
    let latency = gateway.latency.map(millis).unwrap_or_else(|| "-".to_owned());
    // Every gateway serves at the profile's path: host and port tell them apart.
    let authority = url::Url::parse(&gateway.url)
        .ok()
        .and_then(|u| Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?)))
        .unwrap_or_else(|| gateway.url.clone());
    let sessions = match gateway.sessions {
        1 => "1 session".to_owned(),
        n => format!("{n} sessions"),
    };
    let mut spans = vec![
        Span::styled(format!("{label:<9}"), theme.label()),
        Span::styled(format!("{} {state:<9} ", status.glyph()), theme.status(status)),
        Span::raw(format!("w{:<4} {latency:>7}  {sessions:<10} {}", gateway.weight, authority)),
    ];
    if let Some(why) = gateway.last_failure.as_ref().filter(|_| status != Status::Serving) {
        spans.push(Span::styled(format!(" ({why})"), theme.error()));
    }
    Line::from(spans)
}

/// The entry as the pane shows it, and as `y` copies it.
pub fn entry_text(entry: &Entry) -> String {
    entry.to_json().to_string()
}

/// Every line of the pane for `row`.
pub fn lines<'a>(
    row: &'a Row,
    current_context: Option<&str>,
    launcher: &Launcher,
    theme: &Theme,
) -> Vec<Line<'a>> {
    let profile = match &row.profile {
        Ok(profile) => profile,
        Err(error) => {
            return vec![
                Line::styled(format!("{} does not load", row.name), theme.title()),
                Line::styled(error.as_str(), theme.error()),
                Line::styled("fix the file and start mcp-connect again", theme.fix()),
            ];
        }
    };
    let mut lines = vec![Line::styled(profile.title.as_str(), theme.title())];
    let transport = profile.endpoint.transport.as_str();
    lines.push(field("Route", format!("{}, {transport}", profile.route_kind()), theme));
    lines.push(field("Target", profile.target(), theme));
    if let Some((context, why)) = row.context(current_context) {
        lines.push(field("Context", format!("{context} ({why})"), theme));
    }
    if let Some(pod) = &row.view.status.pod {
        lines.push(field("Pod", pod.as_str(), theme));
    }
    lines.push(field("Local", row.endpoint().unwrap_or_default(), theme));
    for (i, gateway) in row.view.gateways.iter().enumerate() {
        lines.push(gateway_line(if i == 0 { "Gateways" } else { "" }, gateway, theme));
    }
    lines.push(field("Auth", auth_summary(profile), theme));
    lines.push(field("TLS", tls_summary(profile), theme));
    if !profile.summary.is_empty() {
        lines.push(Line::raw(profile.summary.as_str()));
    }
    let list = |lines: &mut Vec<Line<'a>>, label: &'a str, mark: &str, items: &'a [String]| {
        for (i, item) in items.iter().enumerate() {
            let label = if i == 0 { label } else { "" };
            lines.push(field(label, format!("{mark} {item}"), theme));
        }
    };
    list(&mut lines, "Good", "+", &profile.pros);
    list(&mut lines, "Bad", "-", &profile.cons);
    if !profile.when_to_use.is_empty() {
        lines.push(field("When", profile.when_to_use.as_str(), theme));
    }
    let server = profile.client.server_name.as_str();
    let copy = keymap::first_key(keymap::Context::Main, keymap::Action::Copy).unwrap_or_default();
    let label = format!("Claude Code entry \"{server}\" ({copy} copies it):");
    lines.push(Line::styled(label, theme.label()));
    match row.entry(launcher) {
        Some(Ok(entry)) => lines.push(Line::raw(entry_text(&entry))),
        Some(Err(none)) => {
            lines.push(Line::styled(format!("none yet: {}", none.cause), theme.error()));
            lines.push(Line::styled(format!("fix: {}", none.fix), theme.fix()));
        }
        None => {}
    }
    lines
}

pub fn draw(
    frame: &mut Frame,
    area: Rect,
    row: Option<&Row>,
    state: &Detail,
    current_context: Option<&str>,
    focused: bool,
    theme: &Theme,
) {
    let block = super::block(" Route ", focused, theme);
    let lines =
        row.map(|row| lines(row, current_context, &state.launcher, theme)).unwrap_or_default();
    let paragraph =
        Paragraph::new(lines).block(block).wrap(Wrap { trim: false }).scroll((state.scroll, 0));
    frame.render_widget(paragraph, area);
}

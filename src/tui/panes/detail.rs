//! The detail pane: what the selected route is and when to use it, what it reaches, where
//! Claude Code connects, its auth and TLS, and the Claude Code entry it would write.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crate::clientconfig::{Entry, Launcher};
use crate::profile::{Auth, Link, Profile, Scheme, SecretSource};
use crate::router::GatewayState;
use crate::supervisor::router::GatewayRow;
use crate::tui::keymap;
use crate::tui::route::{Row, Status, millis};
use crate::tui::text;
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

/// `Label    value`, the label padded so values line up, wrapped lines hanging under the value.
fn field<'a>(label: &'a str, value: impl Into<String>, theme: &Theme, width: u16) -> Vec<Line<'a>> {
    let label = Span::styled(format!("{label:<9}"), theme.label());
    text::hanging(label, vec![Span::raw(value.into())], width)
}

/// How requests authenticate.
pub fn auth_summary(profile: &Profile) -> String {
    let own = describe_auth(&profile.auth);
    let Link::Router(router) = &profile.link else { return own };
    // A router's gateway with credentials of its own says so after the profile's.
    let gateways = router.gateway_pools.iter().flat_map(|p| &p.gateways);
    let theirs: Vec<String> = gateways
        .filter_map(|g| Some(format!("{}: {}", g.url, describe_auth(g.auth.as_ref()?))))
        .collect();
    match theirs.is_empty() {
        true => own,
        false => format!("{own}; gateways of their own: {}", theirs.join("; ")),
    }
}

/// One set of credentials in words.
fn describe_auth(auth: &Auth) -> String {
    match auth {
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
fn gateway_line<'a>(
    label: &'a str,
    gateway: &GatewayRow,
    theme: &Theme,
    width: u16,
) -> Vec<Line<'a>> {
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
        Span::styled(format!("{} {state:<9} ", status.glyph()), theme.status(status)),
        Span::raw(format!("w{:<4} {latency:>7}  {sessions:<10} {}", gateway.weight, authority)),
    ];
    if let Some(why) = gateway.last_failure.as_ref().filter(|_| status != Status::Serving) {
        spans.push(Span::styled(format!(" ({why})"), theme.error()));
    }
    text::hanging(Span::styled(format!("{label:<9}"), theme.label()), spans, width)
}

/// The entry as the pane shows it, and as `y` copies it: pretty, one key a line, so that it
/// reads and a long value breaks only where it must.
pub fn entry_text(entry: &Entry) -> String {
    serde_json::to_string_pretty(&entry.to_json()).unwrap_or_default()
}

/// Every line of the pane for `row`, laid out for `width` columns.
pub fn lines<'a>(
    row: &'a Row,
    current_context: Option<&str>,
    launcher: &Launcher,
    theme: &Theme,
    width: u16,
) -> Vec<Line<'a>> {
    let plain = |text: String, style| text::wrapped(vec![Span::styled(text, style)], width);
    let profile = match &row.profile {
        Ok(profile) => profile,
        Err(error) => {
            let mut lines = plain(format!("{} does not load", row.name), theme.title());
            lines.extend(plain(error.clone(), theme.error()));
            lines.extend(plain("fix the file and start mcp-connect again".into(), theme.fix()));
            return lines;
        }
    };
    let mut lines = plain(profile.title.to_string(), theme.title());
    let transport = profile.endpoint.transport.as_str();
    let route = format!("{}, {transport}", profile.route_kind());
    lines.extend(field("Route", route, theme, width));
    lines.extend(field("Target", profile.target(), theme, width));
    if let Some((context, why)) = row.context(current_context) {
        lines.extend(field("Context", format!("{context} ({why})"), theme, width));
    }
    if let Some(pod) = &row.view.status.pod {
        lines.extend(field("Pod", pod.as_str(), theme, width));
    }
    lines.extend(field("Local", row.endpoint().unwrap_or_default(), theme, width));
    for (i, gateway) in row.view.gateways.iter().enumerate() {
        lines.extend(gateway_line(if i == 0 { "Gateways" } else { "" }, gateway, theme, width));
    }
    lines.extend(field("Auth", auth_summary(profile), theme, width));
    lines.extend(field("TLS", tls_summary(profile), theme, width));
    if !profile.summary.is_empty() {
        lines.extend(plain(profile.summary.to_string(), ratatui::style::Style::default()));
    }
    let list = |lines: &mut Vec<Line<'a>>, label: &'a str, mark: &str, items: &'a [String]| {
        for (i, item) in items.iter().enumerate() {
            let label = if i == 0 { label } else { "" };
            // The mark hangs out: wrapped lines go under the item's text.
            let lead = Span::styled(format!("{label:<9}{mark} "), theme.label());
            lines.extend(text::hanging(lead, vec![Span::raw(item.as_str())], width));
        }
    };
    list(&mut lines, "Good", "+", &profile.pros);
    list(&mut lines, "Bad", "-", &profile.cons);
    if !profile.when_to_use.is_empty() {
        lines.extend(field("When", profile.when_to_use.as_str(), theme, width));
    }
    let server = profile.client.server_name.as_str();
    let copy = keymap::first_key(keymap::Context::Main, keymap::Action::Copy).unwrap_or_default();
    let label = format!("Claude Code entry \"{server}\" ({copy} copies it):");
    lines.extend(plain(label, theme.label()));
    match row.entry(launcher) {
        Some(Ok(entry)) => {
            for line in entry_text(&entry).lines() {
                let text = line.trim_start();
                let indent = Span::raw(" ".repeat(line.len() - text.len()));
                lines.extend(text::hanging(indent, vec![Span::raw(text.to_owned())], width));
            }
        }
        Some(Err(none)) => {
            lines.extend(plain(format!("none yet: {}", none.cause), theme.error()));
            lines.extend(plain(format!("fix: {}", none.fix), theme.fix()));
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
    let width = super::text_width(&block, area);
    let lines = row
        .map(|row| lines(row, current_context, &state.launcher, theme, width))
        .unwrap_or_default();
    super::scrolling(frame, area, block, lines, state.scroll, theme);
}

#[cfg(test)]
mod tests {
    use super::auth_summary;

    #[test]
    fn a_router_gateway_with_credentials_of_its_own_is_named_in_the_auth_line() {
        let yaml = "name: two\ntitle: t\nlink:\n  router:\n    local_port: 8080\n    \
                    gateway_pools:\n      - name: p\n        gateways:\n          \
                    - url: https://a.example:8443\n          \
                    - url: https://b.example:8443\n            auth:\n              \
                    bearer:\n                env: B_TOKEN\nauth:\n  bearer:\n    env: A_TOKEN\n";
        let profile = crate::profile::parse(yaml, "two.yaml").expect("a router profile");
        assert_eq!(
            auth_summary(&profile),
            "bearer token from $A_TOKEN; gateways of their own: https://b.example:8443: \
             bearer token from $B_TOKEN"
        );
    }
}

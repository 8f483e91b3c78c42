//! Why a gateway failed, in words a user acts on. Every failure the router meets on the way to
//! a gateway — no token, the connection, the certificate, a refused token, an HTTP error, a
//! broken answer — becomes a [`Trouble`] whose fix names the setting to change in the terms of
//! the settings the router was started from (its config file or its profile, see [`Origin`]).
//! A gateway keeps its last one: `/health` and the log show it, and a client that finds no
//! gateway healthy is told each gateway's cause and fix.

use std::io::ErrorKind;

use reqwest::header::WWW_AUTHENTICATE;
use url::Url;

use super::gateway::SendError;
use super::settings::Origin;
use crate::auth::TokenOrigin;
use crate::net::mcp::said_in;
use crate::net::tls::{self, Seen, SeenHandle};
use crate::net::{broke_off, first_line, innermost, io_kind};
use crate::probe::jwt::{self, Expected};
use crate::trouble::Trouble;

/// The command that prints the seed gateway's signing secret.
const SECRET_KEY: &str = "kubectl -n mcp get secret mcp-gateway-mcp-bridge-secrets -o \
                          jsonpath='{.data.jwt-secret-key}' | base64 -d";

/// A gateway as fixes name it: its URL, where its settings were read from, and where its token
/// comes from (`None`: the router sends none).
#[derive(Debug, Clone)]
pub(crate) struct Place {
    pub url: Url,
    pub origin: Origin,
    pub token: Option<TokenOrigin>,
    /// Whether the token comes from the gateway's own `auth` (else the top level's).
    pub own_auth: bool,
    /// The name of its pool.
    pub pool: String,
}

impl Place {
    /// What is restarted for a changed setting or environment to count.
    fn restart(&self) -> &'static str {
        match self.origin {
            Origin::Profile(_) => "restart the route",
            Origin::File(_) | Origin::Unnamed => "restart the router",
        }
    }

    /// `yaml` set under this gateway where its settings come from.
    fn set(&self, yaml: &str) -> String {
        let url = &self.url;
        match &self.origin {
            Origin::File(file) => format!(
                "set `{yaml}` under gateway {url} in {}, then {}",
                file.display(),
                self.restart()
            ),
            Origin::Profile(name) => format!(
                "set `{yaml}` under gateway {url} in profile {name}, then {}",
                self.restart()
            ),
            Origin::Unnamed => format!("set `{yaml}` in gateway {url}'s settings"),
        }
    }

    /// ` in FILE` or ` in profile NAME`: where the gateway's URL is written.
    fn written(&self) -> String {
        match &self.origin {
            Origin::File(file) => format!(" in {}", file.display()),
            Origin::Profile(name) => format!(" in profile {name}"),
            Origin::Unnamed => String::new(),
        }
    }

    /// `yaml` set in its pool where the settings come from.
    fn set_in_pool(&self, yaml: &str) -> String {
        let pool = &self.pool;
        match &self.origin {
            Origin::File(file) => format!(
                "set `{yaml}` in pool {pool} of {}, then {}",
                file.display(),
                self.restart()
            ),
            Origin::Profile(name) => {
                format!("set `{yaml}` in pool {pool} of profile {name}, then {}", self.restart())
            }
            Origin::Unnamed => format!("set `{yaml}` in pool {pool}'s settings"),
        }
    }

    /// Where its `auth.jwt` section is: its own, or the top level's.
    fn jwt_section(&self) -> String {
        match self.own_auth {
            true => format!("under gateway {}'s `auth.jwt`{}", self.url, self.written()),
            false => format!("under `auth.jwt`{}", self.written()),
        }
    }

    /// No answer to `what` within the request deadline `within`. `alive`: the gateway passed
    /// a check after it, so only this request is late. `label` names the gateway.
    pub(crate) fn late(
        &self,
        what: &str,
        within: std::time::Duration,
        alive: bool,
        label: &str,
    ) -> Trouble {
        let longer = humantime::format_duration(within * 2);
        let raise = self.set_in_pool(&format!("request_timeout: {longer}"));
        let within = humantime::format_duration(within);
        match alive {
            true => Trouble::new(
                format!(
                    "{what} got no answer from gateway {label} within {within} (the request \
                     deadline); the gateway still answers its checks, so the call may still be \
                     running there"
                ),
                format!(
                    "if such calls take longer than {within}, {raise}; else check the MCP server \
                     behind the gateway (its log)"
                ),
            ),
            false => Trouble::new(
                format!("no answer to {what} within {within} (the request deadline)"),
                "check that the gateway is reachable from here and not stuck (its log); the \
                 router checks it again and takes it back once it answers",
            ),
        }
    }

    fn authority(&self) -> String {
        let host = self.url.host_str().unwrap_or_default();
        format!("{host}:{}", self.url.port_or_known_default().unwrap_or(0))
    }

    /// A request that got no HTTP answer; `seen`: what the handshakes of its client saw.
    pub(crate) fn unanswered(&self, error: &reqwest::Error, seen: &SeenHandle) -> SendError {
        let refused = io_kind(error) == Some(ErrorKind::ConnectionRefused);
        let connect = error.is_connect();
        let detail = innermost(error);
        let trouble = match seen.last().filter(|s| s.refusal.is_some()) {
            Some(seen) if connect && !refused => self.certificate(&seen),
            _ if refused => self.refused(),
            _ if error.is_timeout() => Trouble::new(
                format!("no answer from {} in time ({detail})", self.url),
                "check that the gateway is reachable from here (VPN, firewall, security group) \
                 and not stuck (its log)",
            ),
            _ => match broke_off(error) {
                Some(how) => {
                    self.dropped(&format!("the connection was {} ({detail})", how.as_str()))
                }
                None if connect => self.unreachable(&detail),
                None => self.other(format!("the request failed: {detail}")),
            },
        };
        SendError { trouble, delivered: !connect }
    }

    /// The TCP connection was refused.
    pub(crate) fn refused(&self) -> Trouble {
        Trouble::new(
            format!("nothing is listening at {} (connection refused)", self.authority()),
            format!(
                "start the gateway (or the port-forward to it), or correct its URL{}",
                self.written()
            ),
        )
    }

    /// No connection, for a reason other than a refusal or the certificate.
    pub(crate) fn unreachable(&self, detail: &str) -> Trouble {
        Trouble::new(
            format!("cannot connect to {}: {detail}", self.authority()),
            format!(
                "check the gateway's URL{} and that its host is reachable from here",
                self.written()
            ),
        )
    }

    /// The connection broke under a request: transient, as a rule.
    pub(crate) fn dropped(&self, cause: &str) -> Trouble {
        Trouble::new(
            cause,
            "transient (the gateway restarting, or something on the way dropping the \
             connection): the router moves the session to another gateway and checks this one \
             again; if it keeps happening, check the gateway's log",
        )
    }

    /// The certificate the TLS handshake refused, named, and how to pin it here.
    pub(crate) fn certificate(&self, seen: &Seen) -> Trouble {
        let hex = seen.cert.sha256.replace(':', "").to_ascii_lowercase();
        let pin = self.set(&format!("tls: {{pin_sha256: \"{hex}\"}}"));
        tls::refused(self.url.as_str(), seen, &pin)
    }

    /// No token could be had for the gateway.
    pub(crate) fn no_token(&self, trouble: &Trouble) -> Trouble {
        let cause = format!("no token for it: {}", trouble.cause);
        // A config file signs with a variable of the router's own environment, and nothing else.
        if let (Origin::File(_), Some(TokenOrigin::Minted { secret, .. })) =
            (&self.origin, &self.token)
            && let Some(var) = secret.strip_prefix("environment variable ")
        {
            return Trouble::new(
                cause,
                format!(
                    "start the router with {var} set to the gateway's jwt-secret-key: `export \
                     {var}=\"$({SECRET_KEY})\"`, then restart the router"
                ),
            );
        }
        // A token from the environment is read from the router's own: a restart takes a change.
        let environment = match &self.token {
            Some(TokenOrigin::Minted { secret, .. }) => secret.starts_with("environment"),
            Some(TokenOrigin::Ready { .. }) => true,
            None => false,
        };
        let fix = match environment {
            true => format!("{}, then {}", trouble.fix, self.restart()),
            false => trouble.fix.clone(),
        };
        Trouble::new(cause, fix)
    }

    /// An HTTP answer other than a success, to `what` ("initialize", "ping"); `bearer`: the
    /// token sent with it, when there was one.
    pub(crate) async fn answered(
        &self,
        response: reqwest::Response,
        what: &str,
        bearer: Option<&str>,
    ) -> Trouble {
        let status = response.status().as_u16();
        let challenge = (response.headers().get(WWW_AUTHENTICATE))
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split("error_description=\"").nth(1))
            .and_then(|v| v.split('"').next())
            .map(str::to_owned);
        let body = response.text().await.unwrap_or_default();
        let said = said_in(&body);
        if let Some(said) = &said
            && let Some(fix) = &said.fix
        {
            return Trouble::new(
                format!("it answered {what} with HTTP {status}: {}", said.cause),
                fix,
            );
        }
        let text = said.map(|s| s.cause).unwrap_or_else(|| first_line(&body));
        let text = match challenge {
            Some(reason) if text.is_empty() || text == "Unauthorized" => reason,
            _ => text,
        };
        let http = match text.is_empty() {
            true => format!("HTTP {status}"),
            false => format!("HTTP {status}: {text}"),
        };
        match status {
            401 | 403 => self.refused_token(&http, bearer),
            500..=599 => Trouble::new(
                format!("it answered {what} with {http}"),
                "the gateway is up but failing: check its log, and the MCP server behind it",
            ),
            404 | 405 => Trouble::new(
                format!("it answered {what} with {http}"),
                format!(
                    "check the gateway's URL{}: standard MCP is served at /mcp (an https:// \
                     URL), the mcp-bridge gateway's own envelope at /ws (a wss:// URL)",
                    self.written()
                ),
            ),
            _ => Trouble::new(
                format!("it answered {what} with {http}"),
                "check the gateway's log: it refused what the router sent",
            ),
        }
    }

    /// The gateway refused the token (`http`: `HTTP 401: <what it said>`): the claim at fault,
    /// read from the token itself, or else its signature.
    fn refused_token(&self, http: &str, bearer: Option<&str>) -> Trouble {
        let (Some(token), Some(origin)) = (bearer, &self.token) else {
            return Trouble::new(
                format!("it wants a token ({http}) and the router sends none"),
                match &self.origin {
                    Origin::File(file) => format!(
                        "add `auth: {{jwt: {{secret_key_env: JWT_SECRET_KEY}}}}` to {}, export \
                         JWT_SECRET_KEY=… (the gateway's jwt-secret-key), then restart the \
                         router",
                        file.display()
                    ),
                    Origin::Profile(name) => format!(
                        "give profile {name} an `auth: jwt` section (signed with the gateway's \
                         secret), then restart the route"
                    ),
                    Origin::Unnamed => "give the gateway credentials (a JWT signed with its \
                                        secret)"
                        .to_owned(),
                },
            );
        };
        let expected = Expected::default();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let claims = format!("iss {:?} and aud {:?}", expected.issuer, expected.audience);
        match jwt::problems(token, &expected, now) {
            Ok(problems) if !problems.is_empty() => Trouble::new(
                format!("it refused the router's token ({http}): {}", problems.join("; ")),
                match origin {
                    TokenOrigin::Minted { .. } => format!(
                        "mint it with {claims}: set `issuer: {}` and `audience: {}` {}, then {}",
                        expected.issuer,
                        expected.audience,
                        self.jwt_section(),
                        self.restart()
                    ),
                    TokenOrigin::Ready { env } => format!(
                        "put a token with {claims} and an exp in the future into {env} (or let \
                         the router mint one: `auth: jwt`), then {}",
                        self.restart()
                    ),
                },
            ),
            Ok(_) if http.contains("expired") || http.contains("not yet valid") => Trouble::new(
                format!(
                    "it refused the router's token ({http}), which this machine's clock finds \
                     valid: the two clocks disagree"
                ),
                "correct the clock of this machine or of the gateway (NTP)",
            ),
            Ok(_) => Trouble::new(
                format!(
                    "it refused the router's token ({http}); the token's claims are what the \
                     gateway expects ({claims}), so its signature is not: it was not signed \
                     with the gateway's secret"
                ),
                match origin {
                    TokenOrigin::Minted { secret, .. } if secret.starts_with("environment") => {
                        format!(
                            "put the gateway's jwt-secret-key into {secret} (`{SECRET_KEY}`), \
                             then {}",
                            self.restart()
                        )
                    }
                    TokenOrigin::Minted { secret, .. } => format!(
                        "check that {secret} is the key the gateway signs with (it is read again \
                         after every refusal)"
                    ),
                    TokenOrigin::Ready { env } => format!(
                        "put a token signed with the gateway's secret into {env}, then {}",
                        self.restart()
                    ),
                },
            ),
            Err(unreadable) => Trouble::new(
                format!("it refused the router's token ({http}): {unreadable}"),
                "send a JWT (three base64url parts) signed with the gateway's secret",
            ),
        }
    }

    /// Any other failure: what happened, and where to look.
    pub(crate) fn other(&self, cause: impl Into<String>) -> Trouble {
        Trouble::new(
            cause,
            "check the gateway's log; the router checks it again and takes it back once it \
             answers",
        )
    }
}

//! One upstream gateway: its carrier (an HTTP client with TLS as configured and the
//! certificate recorded, or the envelope's WebSocket sessions, see [`super::envelope`]), its
//! credentials, and its health as checks and real requests have found it.
//!
//! States: healthy (in the rotation) → down at the first failure, active or passive → with
//! checks on, probation after one successful check and healthy again after the second; with
//! checks off, a down gateway is tried again by real traffic once `interval` has passed.
//!
//! A failed check, or a request left unanswered past its deadline, judges it down with every
//! request open on it: they give up at once and are failed over (see [`wait`]). A request that
//! fails otherwise (its connection dropped, an HTTP error) takes it out of the rotation, and the
//! requests still open on it go on, each to its own end: a killed gateway drops their
//! connections too, and one that only stopped answering fails the checks they ask for.

mod wait;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use reqwest::{Method, Response, StatusCode};
use tokio::sync::{Notify, watch};
use url::Url;

use super::envelope::Envelope;
use super::eras::Kept;
use super::fault::Place;
use super::health::{GatewayHealth, GatewayState};
use super::metrics::Counters;
use super::settings::{GatewaySettings, GatewayTransport, HealthSettings, Origin, PoolSettings};
use crate::auth::Tokens;
use crate::net::era::{Era, modern_headers};
use crate::net::mcp::{ACCEPT_BOTH, MODERN_VERSION, SESSION, VERSION};
use crate::net::tls::SeenHandle;
use crate::net::{Http, Target};
use crate::trouble::Trouble;
pub(crate) use wait::{Interrupted, STALL};

/// Consecutive successful checks that bring a down gateway back.
const BACK_AFTER: u32 = 2;

/// What found a gateway down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Judged {
    /// A failed check: every request open on it gives up.
    Check,
    /// A request left unanswered past its deadline: every request open on it gives up.
    Deadline,
    /// A request that failed otherwise: the ones open on it go on.
    Request,
}

/// A session on a gateway, as the router sends it back: its id and protocol version. With
/// version 2026-07-28 and no id it is no session: each request is sent on its own, with the
/// 2026 headers (see [`Upstream::modern`]).
#[derive(Debug, Clone, Default)]
pub(crate) struct Upstream {
    pub id: Option<HeaderValue>,
    pub version: Option<String>,
}

impl Upstream {
    /// Session-less 2026-07-28: every request says its version, method and name in headers.
    pub(crate) fn modern() -> Upstream {
        Upstream { id: None, version: Some(MODERN_VERSION.to_owned()) }
    }

    pub(crate) fn is_modern(&self) -> bool {
        self.version.as_deref() == Some(MODERN_VERSION)
    }
}

/// What a gateway's server was found to speak (by a check, or by its answers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Speaks {
    /// MCP 2026-07-28: it answered `server/discover`.
    pub modern: bool,
    /// The `initialize` handshake, with sessions.
    pub initialize: bool,
    /// The versions its `server/discover` listed; empty when it did not say.
    pub supported: Vec<String>,
}

/// Why a request got no HTTP answer, explained (see [`super::fault`]). `delivered`: it may have
/// reached the gateway (false only when the connection was never made, or no token could be
/// had).
#[derive(Debug, Clone)]
pub(crate) struct SendError {
    pub trouble: Trouble,
    pub delivered: bool,
}

pub(crate) struct Gateway {
    pub url: Url,
    /// The URL as text: how logs, `/health` and `/metrics` name it.
    pub label: String,
    pub weight: u32,
    pub pool: String,
    pub health: HealthSettings,
    /// How long a request waits for its answer here, at most.
    pub request_timeout: Duration,
    pub counters: Counters,
    carrier: Carrier,
    tokens: Option<Tokens>,
    /// How failures name it and its settings.
    pub place: Place,
    /// The certificates its connections' handshakes saw.
    seen: SeenHandle,
    status: Mutex<Status>,
    /// Counts the times it was judged down: requests waiting on it watch it and give up at
    /// once when it moves.
    downs: watch::Sender<u64>,
    /// A request has waited a while: its health watch checks it now (see [`wait`]).
    suspect: Notify,
    /// Counts its successful checks: a request past its deadline waits for the next one.
    checks: watch::Sender<u64>,
    /// What its server speaks, once found out.
    speaks: Mutex<Option<Speaks>>,
    /// On a 2025-only gateway, the session the router keeps there for 2026 clients.
    pub kept: tokio::sync::Mutex<Option<Kept>>,
}

/// How requests reach the gateway.
enum Carrier {
    /// Streamable HTTP, one request each.
    Http(reqwest::Client),
    /// The mcp-bridge envelope, a WebSocket per session.
    Envelope(Box<Envelope>),
}

struct Status {
    state: GatewayState,
    since: Instant,
    successes: u32,
    last_failure: Option<Trouble>,
    latency: Option<Duration>,
}

impl Gateway {
    pub(crate) fn new(
        settings: &GatewaySettings,
        pool: &PoolSettings,
        origin: &Origin,
    ) -> Result<Gateway, Trouble> {
        let url = settings.url.clone();
        let tls_error = |cause: String| {
            Trouble::new(format!("gateway {url}: {cause}"), "check the gateway's tls settings")
        };
        let token = settings.tokens.as_ref().map(Tokens::origin);
        let place = Place {
            url: url.clone(),
            origin: origin.clone(),
            token,
            own_auth: settings.own_auth,
            pool: pool.name.clone(),
        };
        // The envelope carries sessions only: the 2025 era.
        let mut speaks = None;
        let (carrier, seen) = match settings.transport() {
            Some(GatewayTransport::StreamableHttp) => {
                let target = Target { tls: settings.tls.clone(), ..Target::new(url.clone()) };
                let http = Http::new(&target).map_err(tls_error)?;
                (Carrier::Http(http.client), http.seen)
            }
            Some(GatewayTransport::EnvelopeWs) => {
                let envelope =
                    Envelope::new(&url, &settings.tls, settings.tokens.clone(), place.clone())
                        .map_err(tls_error)?;
                let seen = envelope.seen();
                speaks = Some(Speaks { modern: false, initialize: true, supported: Vec::new() });
                (Carrier::Envelope(Box::new(envelope)), seen)
            }
            None => {
                return Err(Trouble::new(
                    format!("gateway {url} is neither an http(s) nor a ws(s) URL"),
                    "give each gateway its MCP endpoint, e.g. https://gateway:8443/mcp, or its \
                     envelope WebSocket, e.g. wss://gateway:8443/ws",
                ));
            }
        };
        let status = Status {
            state: GatewayState::Healthy,
            since: Instant::now(),
            successes: 0,
            last_failure: None,
            latency: None,
        };
        Ok(Gateway {
            label: url.to_string(),
            url,
            weight: settings.weight,
            pool: pool.name.clone(),
            health: pool.health.clone(),
            request_timeout: pool.request_timeout,
            counters: Counters::default(),
            carrier,
            tokens: settings.tokens.clone(),
            place,
            seen,
            status: Mutex::new(status),
            downs: watch::Sender::new(0),
            suspect: Notify::new(),
            checks: watch::Sender::new(0),
            speaks: Mutex::new(speaks),
            kept: tokio::sync::Mutex::new(None),
        })
    }

    /// Sends one HTTP request in `session` with the current token; after a 401, once more with
    /// a new one. `body`: a POST of JSON; `None` with GET: the server stream; else DELETE.
    /// To an envelope gateway, the same exchange carried over its WebSocket.
    pub(crate) async fn send(
        &self,
        method: Method,
        body: Option<Bytes>,
        session: &Upstream,
    ) -> Result<Response, SendError> {
        let mut refreshed = false;
        loop {
            let response = match &self.carrier {
                Carrier::Http(client) => {
                    self.request(client, &method, body.as_ref(), session).await?
                }
                Carrier::Envelope(envelope) => {
                    envelope.send(&method, body.as_ref(), session).await?
                }
            };
            if response.status() == StatusCode::UNAUTHORIZED
                && !refreshed
                && let Some(tokens) = &self.tokens
            {
                refreshed = true;
                let fresh = tokens.refresh().await.map_err(|e| self.no_token(&e))?;
                tracing::info!(
                    gateway = %self.label, token = %fresh.fingerprint(),
                    "the gateway refused the token (401); minted a new one and retrying"
                );
                continue;
            }
            return Ok(response);
        }
    }

    /// Lets go of `session` here without telling the gateway (an envelope session's
    /// connection is closed; an HTTP gateway's session is left to expire).
    pub(crate) async fn forget(&self, session: &Upstream) {
        if let Carrier::Envelope(envelope) = &self.carrier {
            envelope.forget(session).await;
        }
    }

    /// One HTTP request with the current token.
    async fn request(
        &self,
        client: &reqwest::Client,
        method: &Method,
        body: Option<&Bytes>,
        session: &Upstream,
    ) -> Result<Response, SendError> {
        let mut request = client.request(method.clone(), self.url.clone());
        request = match body {
            Some(body) => request
                .header(ACCEPT, ACCEPT_BOTH)
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone()),
            None if *method == Method::GET => request.header(ACCEPT, "text/event-stream"),
            None => request,
        };
        if let Some(id) = &session.id {
            request = request.header(SESSION, id.clone());
        }
        if let Some(version) = &session.version {
            request = request.header(VERSION, version.as_str());
        }
        if session.is_modern()
            && let Some(message) = body.and_then(|b| serde_json::from_slice(b).ok())
        {
            for (name, value) in modern_headers(&message).into_iter().skip(1) {
                // A name a header cannot carry is left out; the server reads the body.
                if let Ok(value) = HeaderValue::from_str(&value) {
                    request = request.header(name, value);
                }
            }
        }
        if let Some(tokens) = &self.tokens {
            let bearer = tokens.bearer().await.map_err(|e| self.no_token(&e))?;
            let mut value = HeaderValue::from_str(&bearer.header_value()).map_err(|_| {
                self.no_token(&Trouble::new(
                    "the token holds characters a header cannot carry",
                    "check the token's source (a ready token must be the bare JWT)",
                ))
            })?;
            value.set_sensitive(true);
            request = request.header(AUTHORIZATION, value);
        }
        request.send().await.map_err(|e| self.place.unanswered(&e, &self.seen))
    }

    fn no_token(&self, error: &Trouble) -> SendError {
        SendError { trouble: self.place.no_token(error), delivered: false }
    }

    /// An answer other than a success to `what` ("initialize"), explained: a refused token
    /// claim by claim (the token sent is read again), an HTTP error, a wrong path.
    pub(crate) async fn explain(&self, response: Response, what: &str) -> Trouble {
        let bearer = match &self.tokens {
            Some(tokens) => tokens.bearer().await.ok(),
            None => None,
        };
        self.place.answered(response, what, bearer.as_ref().map(|b| b.token())).await
    }

    /// In the rotation for new sessions: healthy, or (checks off) down for `interval` already.
    pub(crate) fn selectable(&self) -> bool {
        let status = self.lock();
        match status.state {
            GatewayState::Healthy => true,
            GatewayState::Down => {
                !self.health.enabled && status.since.elapsed() >= self.health.interval
            }
            GatewayState::Probation => false,
        }
    }

    /// May keep the sessions it has (anything but down, unless due to be tried again).
    pub(crate) fn serves(&self) -> bool {
        let down = self.lock().state == GatewayState::Down;
        !down || self.selectable()
    }

    pub(crate) fn is_healthy(&self) -> bool {
        self.lock().state == GatewayState::Healthy
    }

    /// A failure, found as `judged` says: out of the rotation now; after a check or a
    /// deadline, every request waiting on it gives up too.
    pub(crate) fn mark_down(&self, failure: &Trouble, judged: Judged) {
        let mut status = self.lock();
        if status.state != GatewayState::Down {
            let how = match judged {
                Judged::Check => "its health check failed",
                Judged::Deadline => "a request to it went unanswered past its deadline",
                Judged::Request => "a request to it failed",
            };
            let (cause, fix) = (&failure.cause, &failure.fix);
            tracing::warn!(gateway = %self.label, %cause, %fix, "gateway down: {how}");
        }
        status.state = GatewayState::Down;
        status.since = Instant::now();
        status.successes = 0;
        status.last_failure = Some(failure.clone());
        drop(status);
        if judged != Judged::Request {
            self.downs.send_modify(|downs| *downs += 1);
        }
    }

    /// A successful check, with the ping's round trip.
    pub(crate) fn check_ok(&self, latency: Duration) {
        let mut status = self.lock();
        status.latency = Some(latency);
        self.checks.send_modify(|checks| *checks += 1);
        match status.state {
            GatewayState::Healthy => return,
            GatewayState::Down => status.successes = 1,
            GatewayState::Probation => status.successes += 1,
        }
        status.state = match status.successes >= BACK_AFTER {
            true => GatewayState::Healthy,
            false => GatewayState::Probation,
        };
        status.since = Instant::now();
        let (state, n) = (status.state, status.successes);
        tracing::info!(gateway = %self.label, ?state, "successful check {n} of {BACK_AFTER}");
    }

    /// A real request succeeded: with checks off, that is how a down gateway comes back.
    pub(crate) fn request_ok(&self) {
        let mut status = self.lock();
        if !self.health.enabled && status.state != GatewayState::Healthy {
            status.state = GatewayState::Healthy;
            status.since = Instant::now();
            tracing::info!(gateway = %self.label, "gateway back: a request to it succeeded");
        }
    }

    /// `https://gw/mcp (down: connection refused)`, for messages naming every gateway.
    pub(crate) fn describe(&self) -> String {
        let status = self.lock();
        let state = format!("{:?}", status.state).to_lowercase();
        match &status.last_failure {
            Some(failure) if status.state != GatewayState::Healthy => {
                format!("{} ({state}: {})", self.label, failure.cause)
            }
            _ => format!("{} ({state})", self.label),
        }
    }

    /// Why it is out of the rotation, and the fix: `None` while it is healthy.
    pub(crate) fn trouble(&self) -> Option<Trouble> {
        let status = self.lock();
        status.last_failure.clone().filter(|_| status.state != GatewayState::Healthy)
    }

    pub(crate) fn row(&self, sessions: usize) -> GatewayHealth {
        let speaks = self.speaks();
        let status = self.lock();
        GatewayHealth {
            url: self.label.clone(),
            state: status.state,
            weight: self.weight,
            latency_ms: status.latency.map(|d| (d.as_secs_f64() * 1e4).round() / 10.0),
            sessions,
            last_failure: status.last_failure.as_ref().map(|t| t.cause.clone()),
            last_fix: status.last_failure.as_ref().map(|t| t.fix.clone()),
            era: speaks.as_ref().map(|s| if s.modern { Era::Modern } else { Era::Initialize }),
            supported_versions: speaks.map(|s| s.supported).filter(|v| !v.is_empty()),
        }
    }

    /// What its server speaks, if found out yet.
    pub(crate) fn speaks(&self) -> Option<Speaks> {
        self.speaks.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Keeps what its server was found to speak.
    pub(crate) fn learned(&self, speaks: Speaks) {
        let mut known = self.speaks.lock().unwrap_or_else(|p| p.into_inner());
        if known.as_ref() != Some(&speaks) {
            tracing::info!(gateway = %self.label, modern = speaks.modern,
                initialize = speaks.initialize, "the gateway's MCP eras");
            *known = Some(speaks);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Status> {
        self.status.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

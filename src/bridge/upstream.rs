//! The server's side: one POST per client message, with a fresh token and either the session id
//! and protocol version (the 2025 era) or the 2026 headers; the answer passed on as it streams.
//! Recovers on its own from an expired session (404), a refused token (401) and a connection
//! the forward dropped. Where the client and the server speak different eras, [`translate`]
//! answers what only one of them has.
//!
//! [`translate`]: super::translate

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use reqwest::{RequestBuilder, Response, StatusCode};
use serde_json::Value;
use tokio::task::JoinHandle;
use url::Url;

use super::answer::{self, Read};
use super::era::{self, Eras, Way};
use super::explain::{self, Explainer};
use super::link::LinkHealth;
use super::rpc::{self, Problem};
use super::session::{Session, Snapshot};
use super::stdio::{Out, note, warn};
use super::target;
use crate::auth::{Bearer, Tokens};
use crate::net::era::{Era, as_2026_result};
use crate::net::mcp::{ACCEPT_BOTH, SESSION, VERSION, answers};
use crate::net::{Http, innermost, snippet};
use crate::profile::Profile;
use crate::supervisor::RunOptions;

/// How long before a dropped connection is tried again.
const RETRY_AFTER: Duration = Duration::from_millis(500);
/// How long ending the session may take at exit.
const CLOSE_WITHIN: Duration = Duration::from_secs(2);
/// How long a request waits for a route the bridge runs to serve again before it is answered
/// with the route's cause and fix.
pub(super) const WAIT_FOR_ROUTE: Duration = Duration::from_secs(5);
/// How long a broken connection waits for the route the bridge runs to say why, before the
/// bridge explains it from what it saw alone.
pub(super) const LEARNS_WITHIN: Duration = Duration::from_secs(1);

/// The server, as every task of the bridge shares it.
#[derive(Clone)]
pub(super) struct Upstream(Arc<Inner>);

pub(super) struct Inner {
    pub(super) client: reqwest::Client,
    pub(super) url: Url,
    pub(super) tokens: Option<Tokens>,
    pub(super) session: Session,
    pub(super) out: Out,
    pub(super) server_stream: Mutex<Option<JoinHandle<()>>>,
    pub(super) explainer: Explainer,
    pub(super) forwarded: bool,
    pub(super) health: LinkHealth,
    /// One re-initialization at a time.
    pub(super) reinit: tokio::sync::Mutex<()>,
    pub(super) reinits: AtomicU64,
    /// The era of each side.
    pub(super) eras: Eras,
    /// One look at the server's era at a time.
    pub(super) learning: tokio::sync::Mutex<()>,
}

impl std::ops::Deref for Upstream {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl Upstream {
    /// The client for `profile`'s endpoint, with its TLS settings and credentials.
    pub fn new(
        profile: &Profile,
        options: &RunOptions,
        health: LinkHealth,
        out: Out,
    ) -> Result<Upstream, Problem> {
        let (target, hints) = target::of(profile, options)?;
        let http = Http::new(&target).map_err(|cause| {
            Problem::new(rpc::NO_ROUTE, cause, "check the profile's `tls` section")
        })?;
        Ok(Upstream(Arc::new(Inner {
            client: http.client,
            url: target.url.clone(),
            tokens: target.auth.clone(),
            session: Session::default(),
            out,
            server_stream: Mutex::new(None),
            forwarded: hints.forwarded,
            explainer: Explainer { target, hints, seen: http.seen },
            health,
            reinit: tokio::sync::Mutex::new(()),
            reinits: AtomicU64::new(0),
            eras: Eras::default(),
            learning: tokio::sync::Mutex::new(()),
        })))
    }

    /// Relays a request and passes its answer on; answers an error when it cannot. Between
    /// eras, answers what the server's era lacks itself (see [`super::translate`]).
    pub async fn request(&self, line: String, message: Value, id: Value, method: String) {
        let client = self.eras.client_sends(&message);
        if client == Era::Initialize && method == "initialize" {
            return self.initialize(line, message, id).await;
        }
        if client == Era::Modern && self.eras.server().is_none() {
            match self.learn_era(&message, &id).await {
                Ok(true) => {}
                Ok(false) => return,
                Err(problem) => return self.fail(&id, &method, problem).await,
            }
        }
        if self.answer_here(client, &method, &id).await {
            return;
        }
        let initialize = self.session.initialize_params();
        let server = self.eras.server();
        let (body, way) = era::outgoing(client, server, message, line, initialize.as_ref());
        let response = match self.exchange_any(&body, &method, &way).await {
            Ok(response) => response,
            Err(problem) => return self.fail(&id, &method, problem).await,
        };
        let status = response.status();
        if status.is_success() {
            return self.pass_on(response, &id, &method).await;
        }
        let text = response.text().await.unwrap_or_default();
        // A 2026 server answers a request it refuses with 400 or 404 and the JSON-RPC error
        // that says why (-32602, -32601…): that one, as it is.
        let modern_refusal = matches!(way, Way::Modern(_)) && matches!(status.as_u16(), 400 | 404);
        if let Some(error) = era::error_answering(&text, &id).filter(|_| modern_refusal) {
            let _ = self.out.send(error).await;
            return;
        }
        let problem = self.refused(&method, status.as_u16(), &text).await;
        self.fail(&id, &method, problem).await;
    }

    /// Passes the answer to request `id` on to the client.
    pub(super) async fn pass_on(&self, response: Response, id: &Value, method: &str) {
        if response.status() != StatusCode::OK {
            let detail = format!("HTTP {} without an answer", response.status().as_u16());
            return self.fail(id, method, self.explainer.bad_answer(method, &detail)).await;
        }
        // A 2025 server's results, to a 2026 client, say they are final as 2026 results do.
        let complete =
            self.eras.client() == Era::Modern && self.eras.server() == Some(Era::Initialize);
        let read = answer::read(response, id, Some(&self.out), |message| {
            if complete && answers(message, id) {
                as_2026_result(message, method);
            }
        });
        let problem = match read.await {
            Ok(Read::Answered | Read::ClientGone) => return,
            Ok(Read::Unanswered) => self.explainer.bad_answer(method, "the stream ended first"),
            Err(detail) => self.explainer.bad_answer(method, &detail),
        };
        self.fail(id, method, problem).await;
    }

    /// Relays a notification, or a response to a request of the server (202 expected).
    pub async fn notify(&self, line: String, message: Value, method: Option<String>) {
        let what = method.as_deref().unwrap_or("a response to the server");
        let client = self.eras.client_sends(&message);
        let server = self.eras.server();
        if (client, server, what)
            == (Era::Initialize, Some(Era::Modern), "notifications/initialized")
        {
            // The bridge answered `initialize` itself: there is no session to confirm.
            return;
        }
        let initialize = self.session.initialize_params();
        let (body, way) = era::outgoing(client, server, message, line, initialize.as_ref());
        match self.exchange(&body, what, &way).await {
            // The 2025 era's GET stream, in the client's own session only.
            Ok(_) if what == "notifications/initialized" && way == Way::Session => {
                self.open_server_stream()
            }
            Ok(_) => {}
            Err(problem) => warn(format!("{what} could not be relayed: {}", problem.message())),
        }
    }

    /// Ends the session on the server (DELETE, best effort, at most two seconds).
    pub async fn close(&self) {
        if let Some(task) = self.server_stream.lock().ok().and_then(|mut s| s.take()) {
            task.abort();
        }
        let ended = self.session.end();
        if ended.id.is_none() {
            return;
        }
        let delete = async {
            let bearer = self.bearer().await.ok().flatten();
            let request = with_session(self.client.delete(self.url.clone()), &ended, bearer);
            request.send().await
        };
        match tokio::time::timeout(CLOSE_WITHIN, delete).await {
            Ok(Ok(response)) => tracing::info!(status = %response.status(), "session ended"),
            Ok(Err(error)) => tracing::info!(%error, "the session could not be ended"),
            Err(_) => tracing::info!("ending the session took too long; left to expire"),
        }
    }

    /// The current token, minted when due; `None` when the profile has no auth.
    pub(super) async fn bearer(&self) -> Result<Option<Bearer>, Problem> {
        match &self.tokens {
            None => Ok(None),
            Some(tokens) => tokens.bearer().await.map(Some).map_err(explain::auth),
        }
    }

    /// POSTs `body` the `way` given and answers the response when its status is a success,
    /// recovering once each from a refused connection, a refused token and an expired session
    /// (a 2026 request has none: its 404 is an answer).
    pub(super) async fn exchange(
        &self,
        body: &str,
        what: &str,
        way: &Way,
    ) -> Result<Response, Problem> {
        let response = self.exchange_any(body, what, way).await?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let text = response.text().await.unwrap_or_default();
        Err(self.refused(what, status.as_u16(), &text).await)
    }

    /// Why the server refused `what` with `status` and `body`. The route's own verdict first:
    /// a link that broke under the request says more than what its local end answered.
    pub(super) async fn refused(&self, what: &str, status: u16, body: &str) -> Problem {
        if let Some(problem) = self.health.failure() {
            return problem;
        }
        let bearer = self.bearer().await.ok().flatten();
        self.explainer.status(what, status, body, bearer.as_ref())
    }

    /// As [`Upstream::exchange`], answering the response whatever its status.
    pub(super) async fn exchange_any(
        &self,
        body: &str,
        what: &str,
        way: &Way,
    ) -> Result<Response, Problem> {
        // A route the bridge runs that does not serve now: the request waits for it a while,
        // then is answered with the route's own cause and fix.
        if let Some(problem) = self.health.serving(WAIT_FOR_ROUTE).await {
            return Err(problem);
        }
        let (mut reconnected, mut refreshed, mut reinitialized) = (false, false, false);
        loop {
            let (session, headers) = match way {
                Way::Session => (self.session.snapshot(), &[][..]),
                Way::Fresh => (Snapshot::default(), &[][..]),
                Way::Modern(headers) => (Snapshot::default(), &headers[..]),
            };
            let bearer = self.bearer().await?;
            let response = match self.post_with(body, &session, bearer, headers).await {
                Ok(response) => response,
                Err(error) if !reconnected && self.may_retry(&error) => {
                    reconnected = true;
                    warn(format!(
                        "{what}: the connection to {} failed ({}); retrying once",
                        self.url,
                        innermost(&error)
                    ));
                    tokio::time::sleep(RETRY_AFTER).await;
                    continue;
                }
                // The route learns why a connection broke a moment after the client does.
                Err(error) => {
                    let link = self.health.failure_soon(LEARNS_WITHIN).await;
                    return Err(link.unwrap_or_else(|| self.explainer.transport(error)));
                }
            };
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED
                && !refreshed
                && let Some(tokens) = &self.tokens
            {
                refreshed = true;
                let reason = response.text().await.unwrap_or_default();
                let fresh_token = tokens.refresh().await.map_err(explain::auth)?;
                note(format!(
                    "the server refused the token on {what} (401: {}); minted a new one ({}), \
                     retrying",
                    snippet(&reason),
                    fresh_token.fingerprint()
                ));
                continue;
            }
            if status == StatusCode::NOT_FOUND && session.id.is_some() && !reinitialized {
                reinitialized = true;
                self.reinitialize(session.generation, what).await?;
                continue;
            }
            return Ok(response);
        }
    }

    pub(super) async fn post(
        &self,
        body: &str,
        session: &Snapshot,
        bearer: Option<Bearer>,
    ) -> Result<Response, reqwest::Error> {
        self.post_with(body, session, bearer, &[]).await
    }

    /// As [`Upstream::post`], with `headers` besides (the 2026 ones).
    pub(super) async fn post_with(
        &self,
        body: &str,
        session: &Snapshot,
        bearer: Option<Bearer>,
        headers: &[(&'static str, String)],
    ) -> Result<Response, reqwest::Error> {
        let mut request = self
            .client
            .post(self.url.clone())
            .header(ACCEPT, ACCEPT_BOTH)
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_owned());
        for (name, value) in headers {
            request = request.header(*name, value.as_str());
        }
        with_session(request, session, bearer).send().await
    }

    pub(super) async fn fail(&self, id: &Value, what: &str, problem: Problem) {
        warn(format!("{what} failed: {}", problem.message()));
        let _ = self.out.send(problem.answer(id)).await;
    }
}

/// Adds the session id, protocol version and token to `request`.
pub(super) fn with_session(
    mut request: RequestBuilder,
    session: &Snapshot,
    bearer: Option<Bearer>,
) -> RequestBuilder {
    if let Some(id) = &session.id {
        request = request.header(SESSION, id.clone());
    }
    if let Some(version) = &session.version {
        request = request.header(VERSION, version.as_str());
    }
    if let Some(bearer) = bearer
        && let Ok(mut value) = HeaderValue::from_str(&bearer.header_value())
    {
        value.set_sensitive(true);
        request = request.header(AUTHORIZATION, value);
    }
    request
}

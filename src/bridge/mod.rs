//! `mcp-connect bridge PROFILE`: a stdio MCP server (what Claude Code launches for a `stdio`
//! entry) that relays every message to the profile's streamable HTTP endpoint, with a fresh
//! token and the profile's TLS settings, bringing up the port-forward when nothing listens.
//!
//! - [`stdio`]: newline-delimited JSON-RPC in, one writer owning stdout, notes on stderr.
//! - [`link`]: a direct URL, a forward already running, or the bridge's own forward.
//! - [`upstream`]: the POSTs, the session, and recovery from 404, 401 and dropped connections;
//!   [`server_stream`] the optional GET stream; [`answer`] JSON and SSE answers.
//! - [`era`]: which MCP era each side speaks (the client's `initialize` or `server/discover`,
//!   the server's refusals); [`translate`] answers, between eras, what only one side has.
//!
//! Stdout carries JSON-RPC lines and nothing else; no token or secret is written anywhere.

pub(crate) mod answer;
mod envelope;
mod era;
mod explain;
pub mod link;
mod recover;
pub mod rpc;
mod server_stream;
mod session;
pub mod stdio;
mod target;
mod translate;
mod upstream;

use std::future::Future;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::clientconfig::Launcher;
use crate::profile::Profile;
use crate::supervisor::RunOptions;
use envelope::EnvelopeUpstream;
use link::LinkHealth;
use rpc::{Incoming, Problem};
use stdio::{In, note, warn};
use upstream::Upstream;

/// How long requests still under way may finish once the client has gone.
const GRACE: Duration = Duration::from_millis(1500);

/// Runs the bridge for `profile` until `input` ends or `shutdown` resolves. `Err` only when the
/// profile cannot be bridged at all (checked before anything starts); every later failure is
/// answered to the client as a JSON-RPC error, and the bridge keeps going.
pub async fn run<W>(
    profile: &Profile,
    options: RunOptions,
    launcher: &Launcher,
    mut input: In,
    output: W,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Problem>
where
    W: std::io::Write + Send + 'static,
{
    let (out, writer) = stdio::spawn_writer(output);
    let (health, statuses) = LinkHealth::new();
    let upstream = match profile.endpoint.transport.is_envelope() {
        true => Carrier::Envelope(EnvelopeUpstream::new(
            profile,
            &options,
            health.clone(),
            out.clone(),
        )?),
        false => Carrier::Mcp(Upstream::new(profile, &options, health.clone(), out.clone())?),
    };
    tokio::pin!(shutdown);
    let established = tokio::select! {
        established = link::establish(profile, &options, launcher, statuses) => established,
        () = &mut shutdown => {
            note("stopping before the route was up");
            return Ok(());
        }
    };
    let (link, route) = match established {
        Ok(link) => (Some(link), Ok(upstream)),
        Err(problem) => {
            warn(format!("every request will be answered with: {}", problem.message()));
            (None, Err(problem))
        }
    };
    let (notes, notes_rx) = mpsc::channel(256);
    let notifier =
        route.as_ref().ok().map(|up| tokio::spawn(notify_in_order(up.clone(), notes_rx)));
    let mut requests = JoinSet::new();
    loop {
        let line = tokio::select! {
            line = input.recv() => line,
            () = &mut shutdown => {
                note("stopping on a signal");
                break;
            }
        };
        let Some(line) = line else {
            note("the client closed stdin; stopping");
            break;
        };
        let text = String::from_utf8_lossy(&line).into_owned();
        if text.trim().is_empty() {
            continue;
        }
        let (message, incoming) = match rpc::classify(&text) {
            Ok(classified) => classified,
            Err(answer) => {
                warn("a line from the client is not a JSON-RPC message; answered with an error");
                let _ = out.send(answer).await;
                continue;
            }
        };
        match (incoming, &route) {
            (Incoming::Request { id, .. }, Err(problem)) => {
                let _ = out.send(problem.answer(&id)).await;
            }
            (Incoming::Request { id, method }, Ok(upstream)) => {
                let upstream = upstream.clone();
                requests.spawn(async move { upstream.request(text, message, id, method).await });
            }
            (Incoming::Notification { method }, Err(_)) => {
                tracing::info!(?method, "not relayed: the route is down");
            }
            (Incoming::Notification { method }, Ok(_)) => {
                let _ = notes.send((text, message, method)).await;
            }
        }
        while requests.try_join_next().is_some() {}
    }
    drop(notes);
    let mut notifier = notifier;
    let finish = async {
        while requests.join_next().await.is_some() {}
        if let Some(notifier) = notifier.as_mut() {
            let _ = notifier.await;
        }
    };
    let _ = tokio::time::timeout(GRACE, finish).await;
    requests.abort_all();
    if let Some(notifier) = notifier {
        notifier.abort();
    }
    if let Ok(upstream) = &route {
        upstream.close().await;
    }
    drop(route);
    if let Some(link) = link {
        link.stop().await;
    }
    drop(out);
    let _ = tokio::time::timeout(Duration::from_secs(1), writer).await;
    Ok(())
}

/// The server's side: MCP's streamable HTTP, or the mcp-bridge gateway's envelope.
#[derive(Clone)]
enum Carrier {
    Mcp(Upstream),
    Envelope(EnvelopeUpstream),
}

impl Carrier {
    async fn request(
        &self,
        line: String,
        message: serde_json::Value,
        id: serde_json::Value,
        method: String,
    ) {
        match self {
            Carrier::Mcp(up) => up.request(line, message, id, method).await,
            Carrier::Envelope(up) => up.request(message, id, method).await,
        }
    }

    async fn notify(&self, line: String, message: serde_json::Value, method: Option<String>) {
        match self {
            Carrier::Mcp(up) => up.notify(line, message, method).await,
            Carrier::Envelope(up) => up.notify(line, method).await,
        }
    }

    async fn close(&self) {
        match self {
            Carrier::Mcp(up) => up.close().await,
            Carrier::Envelope(up) => up.close().await,
        }
    }
}

/// Relays the client's notifications and responses one at a time, in the order they came.
async fn notify_in_order(upstream: Carrier, mut notes: mpsc::Receiver<Note>) {
    while let Some((line, message, method)) = notes.recv().await {
        upstream.notify(line, message, method).await;
    }
}

/// A notification or response from the client: its line, the message, its method.
type Note = (String, serde_json::Value, Option<String>);

#[cfg(test)]
mod tests;

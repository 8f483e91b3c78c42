//! Which way the forward carries connections: as streams of one multiplexed SPDY tunnel per pod
//! ([`super::tunnel`], the way `kubectl port-forward` does), or one kube-rs WebSocket each (the
//! way every API server with port-forward serves).
//!
//! The tunnel is tried first. When the API server answers its upgrade with anything but 101, the
//! connection goes the per-connection way, which either works (the API server lacks SPDY: the
//! forward stays per-connection from then on) or fails with the cause explained exactly as
//! before (401, 403, no such pod). A tunnel that breaks is connected again at the next
//! connection; one to a pod no longer served, or older than [`MAX_AGE`], takes no new streams
//! and is let go once its streams end.
//!
//! `MCP_CONNECT_FORWARD_MUX=off` forces the per-connection way (to measure one against the
//! other, or should an API server mishandle the tunnel): see [`multiplexed`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use kube::Client;
use tokio::sync::Mutex;

use super::tunnel::{Refused, Session, TunnelStream};

/// The environment variable that, set to `off`, keeps the forward per-connection.
pub const ENV: &str = "MCP_CONNECT_FORWARD_MUX";

/// A tunnel is authenticated once, where a WebSocket per connection asks the kubeconfig's
/// credentials (a plugin's token, a login) each time. Past this age the next connection gets a
/// new tunnel, so that a login that ran out is found, and explained, as soon as before: the cost
/// is one upgrade every few seconds while connections come, none while the forward is idle.
pub const MAX_AGE: Duration = Duration::from_secs(5);

/// Whether a forward started now multiplexes: unless `MCP_CONNECT_FORWARD_MUX` is `off`.
pub fn multiplexed() -> bool {
    !std::env::var(ENV).is_ok_and(|v| v.trim().eq_ignore_ascii_case("off"))
}

pub struct Mux {
    client: Client,
    namespace: String,
    session: Mutex<Option<Session>>,
    /// The last tunnel was refused with a status: a per-connection stream that then opens
    /// shows the API server lacks SPDY.
    suspect: AtomicBool,
    /// Per-connection only, from now on.
    off: AtomicBool,
}

impl Mux {
    /// `multiplexed` false: every connection its own WebSocket.
    pub fn new(client: Client, namespace: String, multiplexed: bool) -> Mux {
        Mux {
            client,
            namespace,
            session: Mutex::new(None),
            suspect: AtomicBool::new(false),
            off: AtomicBool::new(!multiplexed),
        }
    }

    /// A stream to `port` of `pod` on its tunnel; `None` when the connection should go the
    /// per-connection way.
    pub async fn open(&self, pod: &str, port: u16) -> Option<TunnelStream> {
        // A tunnel that breaks under the open is connected again, once.
        for _ in 0..2 {
            if self.off.load(Ordering::Relaxed) {
                return None;
            }
            let session = self.session(pod).await?;
            if let Some(stream) = session.open(port).await {
                return Some(stream);
            }
            let mut current = self.session.lock().await;
            if current.as_ref().is_some_and(|s| s.same(&session)) {
                *current = None;
            }
        }
        None
    }

    /// The live tunnel to `pod`, connected if there is none.
    async fn session(&self, pod: &str) -> Option<Session> {
        let mut current = self.session.lock().await;
        if let Some(session) = current
            .as_ref()
            .filter(|s| s.pod == pod && !s.is_closed() && s.connected.elapsed() < MAX_AGE)
        {
            return Some(session.clone());
        }
        *current = None;
        match Session::connect(&self.client, &self.namespace, pod).await {
            Ok(session) => {
                self.suspect.store(false, Ordering::Relaxed);
                Some(current.insert(session).clone())
            }
            Err(refused) => {
                tracing::debug!(%refused, "forward: no SPDY tunnel; one stream per connection");
                self.suspect.store(matches!(refused, Refused::Status(_)), Ordering::Relaxed);
                None
            }
        }
    }

    /// A per-connection stream opened after the tunnel was refused: the API server lacks SPDY,
    /// and the forward stops asking for it.
    pub fn per_connection_opened(&self) {
        if self.suspect.swap(false, Ordering::Relaxed) {
            tracing::info!("forward: the API server refuses SPDY; one WebSocket per connection");
            self.off.store(true, Ordering::Relaxed);
        }
    }
}

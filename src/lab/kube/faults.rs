//! Faults a test can inject into the fake API server, and what it served that a test counts.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use super::status::ApiError;

/// The user the lab's token authenticates as.
pub const USER: &str = "lab-user";

#[derive(Debug, Default)]
pub struct Faults {
    latency: Mutex<Duration>,
    /// `(verb, resource)` pairs RBAC denies, e.g. `("create", "pods/portforward")`.
    denied: Mutex<Vec<(String, String)>>,
    /// Port-forward in SPDY (either form) is refused, as by an API server without it.
    no_spdy: AtomicBool,
    /// Only SPDY tunnelled in a WebSocket is refused (the plain upgrade still works).
    no_spdy_tunnel: AtomicBool,
    spdy_upgrades: AtomicUsize,
    websocket_upgrades: AtomicUsize,
}

/// The port-forward connections the API server upgraded, by protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Upgrades {
    /// SPDY/3.1, tunnelled in a WebSocket or after a plain upgrade: each carries many.
    pub spdy: usize,
    /// `v4.channel.k8s.io` WebSockets: one per forwarded connection.
    pub websocket: usize,
}

impl Faults {
    pub fn set_latency(&self, latency: Duration) {
        *self.latency.lock().unwrap_or_else(|p| p.into_inner()) = latency;
    }

    pub fn latency(&self) -> Duration {
        *self.latency.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Refuses port-forward over SPDY from now on (the request falls to the WebSocket
    /// channels' checks, as on an API server that lacks SPDY).
    pub fn refuse_spdy(&self) {
        self.no_spdy.store(true, Ordering::Relaxed);
    }

    pub fn spdy_refused(&self) -> bool {
        self.no_spdy.load(Ordering::Relaxed)
    }

    /// Refuses SPDY tunnelled in a WebSocket from now on, as an API server older than 1.30 does;
    /// the plain `Upgrade: SPDY/3.1` still works.
    pub fn refuse_spdy_tunnel(&self) {
        self.no_spdy_tunnel.store(true, Ordering::Relaxed);
    }

    pub fn spdy_tunnel_refused(&self) -> bool {
        self.spdy_refused() || self.no_spdy_tunnel.load(Ordering::Relaxed)
    }

    /// Counts one port-forward upgrade.
    pub fn upgraded(&self, spdy: bool) {
        let counter = if spdy { &self.spdy_upgrades } else { &self.websocket_upgrades };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn upgrades(&self) -> Upgrades {
        Upgrades {
            spdy: self.spdy_upgrades.load(Ordering::Relaxed),
            websocket: self.websocket_upgrades.load(Ordering::Relaxed),
        }
    }

    pub fn deny(&self, verb: &str, resource: &str) {
        self.denied.lock().unwrap_or_else(|p| p.into_inner()).push((verb.into(), resource.into()));
    }

    /// The RBAC decision for a request.
    pub fn authorize(
        &self,
        verb: &str,
        resource: &str,
        name: Option<&str>,
        ns: &str,
    ) -> Result<(), ApiError> {
        let denied = self.denied.lock().unwrap_or_else(|p| p.into_inner());
        if denied.iter().any(|(v, r)| v == verb && r == resource) {
            return Err(ApiError::forbidden(USER, verb, resource, name, ns));
        }
        Ok(())
    }
}

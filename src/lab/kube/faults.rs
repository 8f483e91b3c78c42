//! Faults a test can inject into the fake API server.

use std::sync::Mutex;
use std::time::Duration;

use super::status::ApiError;

/// The user the lab's token authenticates as.
pub const USER: &str = "lab-user";

#[derive(Debug, Default)]
pub struct Faults {
    latency: Mutex<Duration>,
    /// `(verb, resource)` pairs RBAC denies, e.g. `("create", "pods/portforward")`.
    denied: Mutex<Vec<(String, String)>>,
}

impl Faults {
    pub fn set_latency(&self, latency: Duration) {
        *self.latency.lock().unwrap_or_else(|p| p.into_inner()) = latency;
    }

    pub fn latency(&self) -> Duration {
        *self.latency.lock().unwrap_or_else(|p| p.into_inner())
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

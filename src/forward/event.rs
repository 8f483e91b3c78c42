//! What a forward tells its faces: plain data, no terminal in sight.

use serde::Serialize;

use crate::trouble::Trouble;

/// The named states of a forward; each has a hint for the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum ForwardState {
    Starting,
    /// No Ready pod behind the Service (yet).
    WaitingForPod {
        service: String,
        namespace: String,
        selector: String,
    },
    /// Accepting connections at `url`, forwarding to `pod`.
    Listening {
        url: String,
        pod: String,
    },
    /// Something went away; it is being brought back: what, and what the user can do.
    Reconnecting(Trouble),
    /// It cannot go on without the user: what is wrong and how to fix it.
    Failed(Trouble),
    Stopped,
}

impl ForwardState {
    /// A short line for the user: what is happening, and what (if anything) to do.
    pub fn hint(&self) -> String {
        match self {
            ForwardState::Starting => "connecting to the cluster".into(),
            ForwardState::WaitingForPod { service, namespace, selector } => format!(
                "waiting for a Ready pod of svc/{service} in {namespace} (selector {selector}); \
                 check `kubectl get pods -n {namespace} -l {selector}`"
            ),
            ForwardState::Listening { url, pod } => format!("forwarding {url} to pod {pod}"),
            ForwardState::Reconnecting(trouble) => format!("reconnecting: {}", trouble.cause),
            ForwardState::Failed(trouble) => trouble.to_string(),
            ForwardState::Stopped => "stopped".into(),
        }
    }

    /// Why a new connection cannot be carried in this state: what a refused connection is
    /// answered with, and what every face shows. `None` while it listens (or starts, stops).
    pub fn trouble(&self) -> Option<Trouble> {
        match self {
            ForwardState::WaitingForPod { service, namespace, selector } => Some(Trouble::new(
                format!(
                    "waiting for a Ready pod of svc/{service} in {namespace} (selector {selector})"
                ),
                format!(
                    "requests go through as soon as a pod is Ready; check `kubectl get pods -n \
                     {namespace} -l {selector}`"
                ),
            )),
            ForwardState::Reconnecting(trouble) | ForwardState::Failed(trouble) => {
                Some(trouble.clone())
            }
            ForwardState::Starting | ForwardState::Listening { .. } | ForwardState::Stopped => None,
        }
    }
}

/// Everything a forward reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum ForwardEvent {
    State(ForwardState),
    /// A line of the forwarded pod's log.
    PodLog {
        pod: String,
        line: String,
    },
    /// A new connection could not be carried: its stream did not open, or the pod refused it
    /// (a message on the port-forward's error channel). New connections fail: cause and fix.
    ConnectionError {
        pod: String,
        trouble: Trouble,
    },
    /// A connection already carried ended badly: its pod went away, or the copy broke.
    ConnectionLost {
        pod: String,
        message: String,
    },
    /// A connection was answered at once (a 503, or closed for https) because the link is
    /// down; the state already says why.
    Refused {
        pod: String,
        message: String,
    },
    /// A connection's pod answered it: new connections are carried (once per connection).
    Answered {
        pod: String,
    },
    /// Something worth knowing that does not change the state.
    Warning {
        message: String,
    },
    /// The pod's side ended a connection before the local client did: a server closing an idle
    /// connection, or a backend that went away. Not shown on its own; a health check follows.
    PodClosed {
        pod: String,
    },
}

//! The upstream session as the bridge knows it: its id, the protocol version the server chose,
//! and the client's own `initialize` params, kept to start a new session when the server
//! forgets the old one.

use std::sync::Mutex;

use reqwest::header::HeaderValue;
use serde_json::Value;

/// The session a request is sent in. `generation` counts sessions, so that many requests
/// failing with the same expired session start only one new one.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub id: Option<HeaderValue>,
    pub version: Option<String>,
    pub generation: u64,
}

#[derive(Debug, Default)]
pub struct Session {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    current: Snapshot,
    initialize: Option<Value>,
}

impl Session {
    pub fn snapshot(&self) -> Snapshot {
        self.lock(|state| state.current.clone())
    }

    /// A new session begins (`id` from the answer to `initialize`; `None` when the server keeps
    /// none). `initialize` is the client's params, kept for a later re-initialization; `None`
    /// keeps the ones there are. Answers the new generation.
    pub fn begin(&self, id: Option<HeaderValue>, initialize: Option<Value>) -> u64 {
        self.lock(|state| {
            let generation = state.current.generation + 1;
            state.current = Snapshot { id, version: None, generation };
            if initialize.is_some() {
                state.initialize = initialize;
            }
            generation
        })
    }

    /// The protocol version the server answered `initialize` of session `generation` with.
    pub fn set_version(&self, generation: u64, version: &str) {
        self.lock(|state| {
            if state.current.generation == generation {
                state.current.version = Some(version.to_owned());
            }
        });
    }

    /// The client's `initialize` params, if it has initialized.
    pub fn initialize_params(&self) -> Option<Value> {
        self.lock(|state| state.initialize.clone())
    }

    /// Ends the session as far as the bridge is concerned; answers its id to DELETE.
    pub fn end(&self) -> Snapshot {
        self.lock(|state| {
            let ended = state.current.clone();
            state.current = Snapshot { generation: ended.generation + 1, ..Snapshot::default() };
            ended
        })
    }

    fn lock<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_session_forgets_the_old_version_but_keeps_the_params() {
        let session = Session::default();
        let params = serde_json::json!({"protocolVersion": "2025-06-18"});
        let first = session.begin(Some(HeaderValue::from_static("a")), Some(params.clone()));
        session.set_version(first, "2025-06-18");
        assert_eq!(session.snapshot().version.as_deref(), Some("2025-06-18"));
        let second = session.begin(Some(HeaderValue::from_static("b")), None);
        assert_eq!(second, first + 1);
        session.set_version(first, "stale");
        let now = session.snapshot();
        assert_eq!((now.id.unwrap(), now.version), (HeaderValue::from_static("b"), None));
        assert_eq!(session.initialize_params(), Some(params));
        assert_eq!(session.end().generation, second);
        assert!(session.snapshot().id.is_none());
    }
}

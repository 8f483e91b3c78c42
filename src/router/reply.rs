//! The client's side of a relayed message: one whole HTTP answer, or an SSE stream once one
//! has begun, fed through a channel by the relay task.

use axum::body::Bytes;
use axum::http::{HeaderValue, StatusCode};
use serde_json::Value;
use tokio::sync::mpsc;

use super::wire::{self, GATEWAY_LOST};

/// What the relay hands the HTTP handler.
pub(crate) enum Out {
    /// The whole answer, as one HTTP response.
    Whole {
        status: StatusCode,
        content_type: Option<HeaderValue>,
        body: Bytes,
    },
    /// The answer is an SSE stream; its messages follow.
    Stream,
    Message(Value),
}

/// The client's side: one whole answer, or an SSE stream once one has begun.
pub(crate) struct Reply {
    out: mpsc::Sender<Out>,
    pub streaming: bool,
}

impl Reply {
    pub(crate) fn new(out: mpsc::Sender<Out>) -> Reply {
        Reply { out, streaming: false }
    }

    pub(crate) async fn stream(&mut self) {
        if !self.streaming {
            self.streaming = true;
            let _ = self.out.send(Out::Stream).await;
        }
    }

    /// Passes a message on; false when the client is gone.
    pub(crate) async fn message(&self, message: Value) -> bool {
        self.out.send(Out::Message(message)).await.is_ok()
    }

    pub(crate) async fn whole(
        &mut self,
        status: StatusCode,
        content_type: Option<HeaderValue>,
        body: Bytes,
    ) {
        if !self.streaming {
            let _ = self.out.send(Out::Whole { status, content_type, body }).await;
            return;
        }
        // The stream has begun: what comes now must be messages in it.
        let messages = match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Array(items)) => items,
            Ok(message) if status.is_success() => vec![message],
            _ => {
                let cause = format!(
                    "the gateway answered HTTP {}: {}",
                    status.as_u16(),
                    crate::net::first_line(&String::from_utf8_lossy(&body))
                );
                vec![wire::error(&Value::Null, GATEWAY_LOST, &cause, "see the router's log")]
            }
        };
        for message in messages {
            self.message(message).await;
        }
    }

    /// An answer of the router's own; `unavailable`: HTTP 503 when it is the whole answer.
    pub(crate) async fn answer(&mut self, answer: Value, unavailable: bool) {
        let status = if unavailable { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
        let content_type = Some(HeaderValue::from_static("application/json"));
        self.whole(status, content_type, answer.to_string().into()).await;
    }

    pub(crate) async fn accepted(&mut self) {
        self.whole(StatusCode::ACCEPTED, None, Bytes::new()).await;
    }
}

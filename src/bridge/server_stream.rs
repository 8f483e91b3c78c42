//! The server's own stream (GET on the endpoint): notifications and requests the server sends
//! outside any answer. Optional in the protocol; a server that offers none is left alone.

use std::time::Duration;

use futures::StreamExt;
use reqwest::StatusCode;
use reqwest::header::ACCEPT;
use sse_stream::SseStream;

use super::stdio::warn;
use super::upstream::{Upstream, with_session};
use crate::net::mcp::{media_type, message_of};

/// Consecutive failures after which the bridge stops asking for the stream.
const GIVE_UP_AFTER: u32 = 5;
const MAX_WAIT: Duration = Duration::from_secs(30);

impl Upstream {
    /// Listens to the server's stream of the current session (replacing any earlier listener).
    pub(super) fn open_server_stream(&self) {
        let generation = self.session.snapshot().generation;
        let task = tokio::spawn(listen(self.clone(), generation));
        if let Ok(mut current) = self.server_stream.lock()
            && let Some(old) = current.replace(task)
        {
            old.abort();
        }
    }
}

/// Relays the stream of session `generation` until the session changes, the server says it
/// offers none, or it keeps failing. A stream the server ends is asked for again.
async fn listen(upstream: Upstream, generation: u64) {
    let (mut failures, mut refreshed) = (0u32, false);
    loop {
        let session = upstream.session.snapshot();
        if session.generation != generation {
            return;
        }
        let Ok(bearer) = upstream.bearer().await else { return };
        let request = upstream.client.get(upstream.url.clone()).header(ACCEPT, "text/event-stream");
        match with_session(request, &session, bearer).send().await {
            Ok(response)
                if response.status() == StatusCode::OK
                    && media_type(&response) == "text/event-stream" =>
            {
                failures = 0;
                tracing::info!("listening to the server's own stream");
                let mut events = Box::pin(SseStream::from_bytes_stream(response.bytes_stream()));
                while let Some(Ok(event)) = events.next().await {
                    let Some(message) = message_of(event) else { continue };
                    if upstream.out.send(message.to_string()).await.is_err() {
                        return;
                    }
                }
                tracing::info!("the server's own stream ended");
            }
            Ok(response) if matches!(response.status().as_u16(), 400 | 404 | 405) => {
                let status = response.status();
                tracing::info!(%status, "the server offers no stream of its own");
                return;
            }
            Ok(response) if response.status() == StatusCode::UNAUTHORIZED && !refreshed => {
                refreshed = true;
                if let Some(tokens) = &upstream.tokens
                    && tokens.refresh().await.is_ok()
                {
                    continue;
                }
                return;
            }
            Ok(response) => {
                failures += 1;
                tracing::info!(status = %response.status(), "the server's stream was refused");
            }
            Err(error) => {
                failures += 1;
                tracing::info!(%error, "the server's stream could not be opened");
            }
        }
        if failures >= GIVE_UP_AFTER {
            warn("stopped listening to the server's own stream after repeated failures");
            return;
        }
        let wait = Duration::from_secs(1 << failures.min(5)).min(MAX_WAIT);
        tokio::time::sleep(wait).await;
    }
}

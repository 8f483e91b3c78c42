//! The legacy HTTP+SSE transport (2024-11-05): `GET` the SSE URL, whose first `endpoint` event
//! names where to POST; every answer comes back on the event stream.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use reqwest::StatusCode;
use reqwest::header::ACCEPT;
use rmcp::model::JsonObject;
use serde_json::Value;
use sse_stream::SseStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::failure::Failure;
use super::rpc::{self, RpcError};
use crate::net::Broke;
use crate::net::Http;
use crate::net::mcp::media_type;

type Waiters = Arc<Mutex<HashMap<i64, oneshot::Sender<Value>>>>;

pub struct Legacy {
    http: Http,
    sse_url: String,
    post_url: url::Url,
    waiting: Waiters,
    reader: JoinHandle<()>,
}

impl Drop for Legacy {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Legacy {
    /// Opens the event stream and waits for its `endpoint` event.
    pub async fn connect(http: Http, sse_url: &url::Url) -> Result<Legacy, Failure> {
        let url = sse_url.to_string();
        let fail = |e| {
            let failure = Failure::from_reqwest(e, &url, &http.seen, http.timeout);
            failure.during(|| "opening the event stream".to_owned())
        };
        let response = http
            .client
            .get(sse_url.clone())
            .header(ACCEPT, "text/event-stream")
            .send()
            .await
            .map_err(fail)?;
        if response.status() != StatusCode::OK {
            let status = response.status().as_u16();
            let body = response.text().await.unwrap_or_default();
            return Err(Failure::status("GET", url, status, &body, "200 with an event stream"));
        }
        let protocol = |detail: String| Failure::Protocol { url: url.clone(), detail };
        let kind = media_type(&response);
        if kind != "text/event-stream" {
            return Err(protocol(format!(
                "GET answered Content-Type {kind:?}, not an event stream"
            )));
        }
        let mut events = Box::pin(SseStream::from_bytes_stream(response.bytes_stream()));
        let endpoint = tokio::time::timeout(http.timeout, async {
            while let Some(Ok(event)) = events.next().await {
                if event.event.as_deref() == Some("endpoint") {
                    return event.data;
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .ok_or_else(|| protocol("the event stream sent no `endpoint` event".to_owned()))?;
        let post_url = sse_url
            .join(endpoint.trim())
            .map_err(|e| protocol(format!("the endpoint event names {endpoint:?}: {e}")))?;
        let waiting: Waiters = Arc::default();
        let reader = tokio::spawn(dispatch(events, waiting.clone()));
        Ok(Legacy { http, sse_url: url, post_url, waiting, reader })
    }

    async fn send(&self, message: &Value) -> Result<(), Failure> {
        let url = self.post_url.to_string();
        let response = self
            .http
            .client
            .post(self.post_url.clone())
            .timeout(self.http.timeout)
            .json(message)
            .send()
            .await
            .map_err(|e| Failure::from_reqwest(e, &url, &self.http.seen, self.http.timeout))
            .map_err(|f| {
                f.during(|| {
                    format!("sending {}", message["method"].as_str().unwrap_or("a message"))
                })
            })?;
        match response.status() {
            StatusCode::ACCEPTED | StatusCode::OK | StatusCode::NO_CONTENT => Ok(()),
            StatusCode::NOT_FOUND => Err(Failure::SessionExpired),
            status => {
                let body = response.text().await.unwrap_or_default();
                Err(Failure::status("POST", url, status.as_u16(), &body, "202 Accepted"))
            }
        }
    }

    pub async fn request(
        &mut self,
        id: i64,
        method: &str,
        params: Option<Value>,
    ) -> Result<Result<JsonObject, RpcError>, Failure> {
        let (tx, rx) = oneshot::channel();
        if let Ok(mut waiting) = self.waiting.lock() {
            waiting.insert(id, tx);
        }
        self.send(&rpc::request(id, method, params)).await?;
        let protocol = |detail: String| Failure::Protocol { url: self.sse_url.clone(), detail };
        match tokio::time::timeout(self.http.timeout, rx).await {
            Ok(Ok(message)) => rpc::answer_for(&message, id).ok_or_else(|| {
                protocol(format!("the answer to {method} is not a JSON-RPC response"))
            }),
            // The stream that opened the session ended: the link or the server went away.
            Ok(Err(_)) => Err(Failure::Dropped {
                url: self.sse_url.clone(),
                how: Broke::Closed,
                during: format!("waiting for the answer to {method}"),
                detail: "the event stream ended before the answer".to_owned(),
            }),
            Err(_) => Err(Failure::Timeout { url: self.sse_url.clone(), after: self.http.timeout }),
        }
    }

    pub async fn notify(&self, method: &str) -> Result<(), Failure> {
        self.send(&rpc::notification(method)).await
    }
}

/// Hands each answer on the stream to the request waiting for it. Ends with the stream, which
/// drops every waiter.
async fn dispatch(
    mut events: impl futures::Stream<Item = Result<sse_stream::Sse, sse_stream::Error>> + Unpin,
    waiting: Waiters,
) {
    while let Some(Ok(event)) = events.next().await {
        let Some(data) = event.data else { continue };
        let Ok(message) = serde_json::from_str::<Value>(&data) else { continue };
        let Some(id) = message.get("id").and_then(Value::as_i64) else { continue };
        if message.get("result").is_none() && message.get("error").is_none() {
            continue;
        }
        let waiter = waiting.lock().ok().and_then(|mut w| w.remove(&id));
        if let Some(waiter) = waiter {
            let _ = waiter.send(message);
        }
    }
    if let Ok(mut waiting) = waiting.lock() {
        waiting.clear();
    }
}

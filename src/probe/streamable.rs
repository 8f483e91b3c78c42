//! Streamable HTTP (spec 2025-06-18): one endpoint, a POST per message, answers as JSON or as
//! an SSE stream, the session id in `Mcp-Session-Id`. In the 2026-07-28 way ([`Streamable::modern`]):
//! no session, each request with `MCP-Protocol-Version: 2026-07-28`, `Mcp-Method` (and
//! `Mcp-Name`) and its `params._meta`.

use futures::StreamExt;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use reqwest::{Response, StatusCode};
use rmcp::model::JsonObject;
use serde_json::Value;
use sse_stream::SseStream;

use super::failure::Failure;
use super::rpc::{self, RpcError};
use crate::net::Broke;
use crate::net::Http;
use crate::net::era::modern_headers;
use crate::net::mcp::{ACCEPT_BOTH, MODERN_VERSION, SESSION, VERSION, media_type};

pub struct Streamable {
    http: Http,
    url: String,
    session: Option<HeaderValue>,
    protocol_version: Option<String>,
    /// Speaks 2026-07-28: no session, the method in the headers, `_meta` in the params.
    modern: bool,
}

impl Streamable {
    pub fn new(http: Http, url: &str) -> Streamable {
        Streamable {
            http,
            url: url.to_owned(),
            session: None,
            protocol_version: None,
            modern: false,
        }
    }

    /// A connection that speaks 2026-07-28.
    pub fn modern(http: Http, url: &str) -> Streamable {
        Streamable {
            protocol_version: Some(MODERN_VERSION.to_owned()),
            modern: true,
            ..Streamable::new(http, url)
        }
    }

    pub fn set_protocol_version(&mut self, version: &str) {
        self.protocol_version = Some(version.to_owned());
    }

    async fn post(&self, body: &Value) -> Result<Response, Failure> {
        let mut request = self
            .http
            .client
            .post(&self.url)
            .timeout(self.http.timeout)
            .header(ACCEPT, ACCEPT_BOTH)
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_string());
        if let Some(session) = &self.session {
            request = request.header(SESSION, session.clone());
        }
        if self.modern {
            for (name, value) in modern_headers(body) {
                request = request.header(name, value);
            }
        } else if let Some(version) = &self.protocol_version {
            request = request.header(VERSION, version.as_str());
        }
        request.send().await.map_err(|e| self.failure(e))
    }

    fn failure(&self, error: reqwest::Error) -> Failure {
        Failure::from_reqwest(error, &self.url, &self.http.seen, self.http.timeout)
    }

    /// Sends a request and reads its answer, JSON or SSE-framed.
    pub async fn request(
        &mut self,
        id: i64,
        method: &str,
        params: Option<Value>,
    ) -> Result<Result<JsonObject, RpcError>, Failure> {
        let waiting = || format!("waiting for the answer to {method}");
        let params = if self.modern { Some(rpc::with_meta(params)) } else { params };
        let response =
            self.post(&rpc::request(id, method, params)).await.map_err(|f| f.during(waiting))?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND && self.session.is_some() {
            return Err(Failure::SessionExpired);
        }
        if status != StatusCode::OK {
            return Err(self.status_failure(response, "200 with the answer").await);
        }
        if method == "initialize"
            && let Some(session) = response.headers().get(SESSION)
        {
            self.session = Some(session.clone());
        }
        let kind = media_type(&response);
        match kind.as_str() {
            "application/json" => {
                let text = response.text().await.map_err(|e| self.failure(e).during(|| reading(method)))?;
                let message: Value = serde_json::from_str(&text).map_err(|e| self.protocol(format!("invalid JSON in the answer to {method}: {e}")))?;
                // A batch answer is an array; a single request gets a single object.
                let found = match &message {
                    Value::Array(items) => items.iter().find_map(|m| rpc::answer_for(m, id)),
                    single => rpc::answer_for(single, id),
                };
                found.ok_or_else(|| self.protocol(format!("the answer to {method} is not a JSON-RPC response to it")))
            }
            "text/event-stream" => self.read_sse(response, id, method).await,
            other => Err(self.protocol(format!(
                "the answer to {method} has Content-Type {other:?}, not application/json or text/event-stream"
            ))),
        }
    }

    /// Reads SSE events until the one that answers `id`; others (server notifications,
    /// priming events) are passed over.
    async fn read_sse(
        &self,
        response: Response,
        id: i64,
        method: &str,
    ) -> Result<Result<JsonObject, RpcError>, Failure> {
        let mut events = Box::pin(SseStream::from_bytes_stream(response.bytes_stream()));
        while let Some(event) = events.next().await {
            let event = event.map_err(|e| Failure::Dropped {
                url: self.url.clone(),
                how: Broke::Closed,
                during: reading(method),
                detail: format!("the event stream broke: {e}"),
            })?;
            let Some(data) = event.data.filter(|d| !d.trim().is_empty()) else { continue };
            let Ok(message) = serde_json::from_str::<Value>(&data) else { continue };
            if let Some(answer) = rpc::answer_for(&message, id) {
                return Ok(answer);
            }
        }
        // It answered as MCP does (200, an event stream): the stream was cut, not misaddressed.
        Err(Failure::Dropped {
            url: self.url.clone(),
            how: Broke::Closed,
            during: reading(method),
            detail: "the event stream ended before the answer".to_owned(),
        })
    }

    /// Sends a notification, which the server acknowledges with 202.
    pub async fn notify(&self, method: &str) -> Result<(), Failure> {
        let sending = || format!("sending {method}");
        let response =
            self.post(&rpc::notification(method)).await.map_err(|f| f.during(sending))?;
        match response.status() {
            StatusCode::ACCEPTED | StatusCode::OK | StatusCode::NO_CONTENT => Ok(()),
            StatusCode::NOT_FOUND if self.session.is_some() => Err(Failure::SessionExpired),
            _ => Err(self.status_failure(response, "202 Accepted").await),
        }
    }

    /// Ends the session on the server (DELETE), when there is one. Best effort.
    pub async fn close(&mut self) {
        if let Some(session) = self.session.take() {
            let _ = self
                .http
                .client
                .delete(&self.url)
                .timeout(self.http.timeout)
                .header(SESSION, session)
                .send()
                .await;
        }
    }

    async fn status_failure(&self, response: Response, wanted: &'static str) -> Failure {
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        Failure::status("POST", self.url.clone(), status, &body, wanted)
    }

    fn protocol(&self, detail: String) -> Failure {
        Failure::Protocol { url: self.url.clone(), detail }
    }
}

fn reading(method: &str) -> String {
    format!("reading the answer to {method}")
}

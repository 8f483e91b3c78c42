//! The gateway's HTTP frontend, client side: `POST /api/v1/mcp` with the envelope in and the
//! bare JSON-RPC answer out, always HTTP 200 (the gateway's errors are -32603 with id null).

use reqwest::header::CONTENT_TYPE;
use serde_json::Value;

use super::ws::{WsError, bearer, enveloped};
use crate::auth::Tokens;
use crate::net::{Http, Target};

/// A client of one gateway's frontend.
#[derive(Clone)]
pub struct Frontend {
    http: Http,
    url: url::Url,
    tokens: Option<Tokens>,
}

impl Frontend {
    /// For `target` (its URL, TLS settings and credentials).
    pub fn new(target: &Target) -> Result<Frontend, String> {
        Ok(Frontend {
            http: Http::new(target)?,
            url: target.url.clone(),
            tokens: target.auth.clone(),
        })
    }

    /// Sends one message (request or notification) and answers the JSON-RPC message back.
    pub async fn send(&self, payload: &Value) -> Result<Value, WsError> {
        let bearer = bearer(self.tokens.as_ref()).await?;
        let body = enveloped(payload, bearer.as_ref())?;
        let mut request = (self.http.client.post(self.url.clone()))
            .header(CONTENT_TYPE, "application/json")
            .timeout(self.http.timeout)
            .body(body);
        if let Some(bearer) = &bearer {
            request = request.bearer_auth(bearer.token());
        }
        let response = request.send().await.map_err(|e| WsError::Connect(e.to_string()))?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|e| WsError::Dropped(e.to_string()))?;
        if status != 200 {
            return Err(WsError::Refused { status, body: text });
        }
        serde_json::from_str(&text)
            .map_err(|e| WsError::BadAnswer(format!("the frontend's answer is not JSON: {e}")))
    }
}

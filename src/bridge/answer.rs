//! Reading the server's answer to a POST, JSON or an SSE stream, and passing every message on
//! as it arrives: responses, notifications and the server's own requests alike.

use futures::StreamExt;
use reqwest::Response;
use serde_json::Value;
use sse_stream::SseStream;

use super::stdio::Out;
use crate::net::mcp::{answers, media_type, message_of};

/// How reading an answer went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// The answer to the request came (for a batch: the stream ended after at least one).
    Answered,
    /// The body ended without it.
    Unanswered,
    /// The client's side is gone; nothing more can be written.
    ClientGone,
}

/// Reads `response`, giving each message to `inspect` (which may change it), then to `out`
/// (when given) as one line. Stops after the message that answers `id`. `Err` names what was
/// wrong with the body.
pub async fn read(
    response: Response,
    id: &Value,
    out: Option<&Out>,
    mut inspect: impl FnMut(&mut Value),
) -> Result<Read, String> {
    let mut seen = false;
    let mut pass = async |mut message: Value| -> Option<Read> {
        inspect(&mut message);
        let answered = answers(&message, id);
        seen = true;
        if let Some(out) = out
            && out.send(message.to_string()).await.is_err()
        {
            return Some(Read::ClientGone);
        }
        answered.then_some(Read::Answered)
    };
    match media_type(&response).as_str() {
        "application/json" => {
            let body = response.bytes().await.map_err(|e| format!("the answer broke off: {e}"))?;
            let message: Value = serde_json::from_slice(&body)
                .map_err(|e| format!("the answer is not valid JSON: {e}"))?;
            let messages = match message {
                Value::Array(items) => items,
                single => vec![single],
            };
            for message in messages {
                if let Some(read) = pass(message).await {
                    return Ok(read);
                }
            }
        }
        "text/event-stream" => {
            let mut events = Box::pin(SseStream::from_bytes_stream(response.bytes_stream()));
            while let Some(event) = events.next().await {
                let event = event.map_err(|e| format!("the event stream broke: {e}"))?;
                let Some(message) = message_of(event) else { continue };
                if let Some(read) = pass(message).await {
                    return Ok(read);
                }
            }
        }
        other => {
            return Err(format!(
                "the answer has Content-Type {other:?}, not application/json or text/event-stream"
            ));
        }
    }
    // A batch has no one id to wait for: what came is its answer.
    Ok(if id.is_null() && seen { Read::Answered } else { Read::Unanswered })
}

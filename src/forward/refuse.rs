//! A connection the forward cannot carry now (no Ready pod, the API server unreachable, the
//! forward failed) is answered at once rather than left hanging: over `http`, a `503` whose
//! body is a JSON-RPC error naming the cause and the fix, which an MCP client shows as it is;
//! over `https` (TLS end to end, nothing to answer in) the connection is closed.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::event::ForwardEvent;
use crate::trouble::Trouble;

/// The JSON-RPC error code of the answer: the route is not available. The bridge answers the
/// same condition with the same number.
pub const UNAVAILABLE: i64 = -32004;
/// How long the request is read for: a client sends its request right after connecting, and
/// one that does not is answered anyway.
const READ_WITHIN: Duration = Duration::from_millis(500);
/// A request head longer than this is not read further.
const HEAD_MOST: usize = 16 * 1024;
/// A body up to this long is read (for its JSON-RPC id); a longer one is drained, not parsed.
const BODY_MOST: usize = 64 * 1024;
/// After the answer, what the client still sends is read and dropped for this long, so that
/// closing does not reset the connection (and lose the answer) over unread bytes.
const LINGER: Duration = Duration::from_secs(1);

/// Answers (or closes) `tcp` with `trouble` on its own task, and reports it for `pod` (empty
/// when none): as [`ForwardEvent::ConnectionError`] when this connection's own stream failed
/// (`failed`), else as [`ForwardEvent::Refused`] (the link was down before it came).
pub fn spawn(
    tcp: TcpStream,
    scheme: &'static str,
    trouble: Trouble,
    pod: String,
    failed: bool,
    events: mpsc::Sender<ForwardEvent>,
) {
    tokio::spawn(async move {
        if failed {
            let event =
                ForwardEvent::ConnectionError { pod: pod.clone(), trouble: trouble.clone() };
            let _ = events.send(event).await;
        }
        let message = if scheme == "https" {
            drop(tcp);
            format!("the link is down, so a new connection was closed: {}", trouble.cause)
        } else {
            answer(tcp, &trouble).await;
            format!("the link is down, so a new connection was answered 503: {}", trouble.cause)
        };
        let _ = events.send(ForwardEvent::Refused { pod, message }).await;
    });
}

/// Reads the request (briefly), answers it with the 503, and closes gently.
pub async fn answer(mut tcp: TcpStream, trouble: &Trouble) {
    let request = read_request(&mut tcp).await;
    let _ = tcp.write_all(&response(&request_id(&request), trouble)).await;
    let _ = tcp.shutdown().await;
    let mut sink = [0u8; 4096];
    let _ = tokio::time::timeout(LINGER, async {
        while matches!(tcp.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
}

/// The whole answer: status line, headers, and the JSON-RPC error answering `id`.
pub fn response(id: &Value, trouble: &Trouble) -> Vec<u8> {
    let body = crate::net::mcp::error(id, UNAVAILABLE, &trouble.cause, &trouble.fix).to_string();
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\nRetry-After: 1\r\n\r\n",
        body.len()
    );
    [head.into_bytes(), body.into_bytes()].concat()
}

/// What of the request arrives within [`READ_WITHIN`]: the head, and its body when it is small.
async fn read_request(tcp: &mut TcpStream) -> Vec<u8> {
    let deadline = Instant::now() + READ_WITHIN;
    let mut request = Vec::new();
    let mut chunk = [0u8; 4096];
    while !complete(&request) {
        match tokio::time::timeout_at(deadline, tcp.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => request.extend_from_slice(&chunk[..n]),
            _ => break,
        }
    }
    request
}

/// Whether enough of the request is in: the head and the body it announces (unless the body
/// is large, or the client waits for `100 Continue` before sending it).
fn complete(request: &[u8]) -> bool {
    let Some(end) = head_end(request) else { return request.len() >= HEAD_MOST };
    let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
    let header = |name: &str| {
        head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key.trim() == name).then(|| value.trim().to_owned())
        })
    };
    if header("expect").is_some_and(|v| v == "100-continue") {
        return true;
    }
    match header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        Some(length) if length <= BODY_MOST => request.len() >= end + length,
        _ => true,
    }
}

/// Where the head ends (after its blank line).
fn head_end(request: &[u8]) -> Option<usize> {
    request.windows(4).position(|w| w == b"\r\n\r\n").map(|at| at + 4)
}

/// The JSON-RPC id of the request in the body, when the body is one request; else null.
fn request_id(request: &[u8]) -> Value {
    let body = head_end(request).map_or(&[][..], |end| &request[end..]);
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(message)) => match message.get("id") {
            Some(id @ (Value::Number(_) | Value::String(_))) => id.clone(),
            _ => Value::Null,
        },
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tokio::net::TcpListener;

    fn trouble() -> Trouble {
        Trouble::new("cannot reach the API server", "check your VPN")
    }

    fn post(body: &str) -> Vec<u8> {
        format!(
            "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    /// Splits an answer into its head and its JSON body.
    fn parts(answer: &[u8]) -> (String, Value) {
        let end = head_end(answer).expect("a whole head");
        let head = String::from_utf8(answer[..end].to_vec()).unwrap();
        (head, serde_json::from_slice(&answer[end..]).expect("a JSON body"))
    }

    #[test]
    fn the_answer_is_a_503_to_retry_with_a_json_rpc_error_naming_cause_and_fix() {
        let (head, body) = parts(&response(&json!(7), &trouble()));
        let length = serde_json::to_vec(&body).unwrap().len();
        assert_eq!(
            head,
            format!(
                "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n\
                 Content-Length: {length}\r\nConnection: close\r\nRetry-After: 1\r\n\r\n"
            )
        );
        assert_eq!(
            body,
            json!({"jsonrpc": "2.0", "id": 7, "error": {
                "code": UNAVAILABLE,
                "message": "cannot reach the API server; fix: check your VPN",
                "data": {"cause": "cannot reach the API server", "fix": "check your VPN"},
            }})
        );
    }

    #[test]
    fn the_request_s_id_is_answered_and_null_when_there_is_none() {
        let request = post(r#"{"jsonrpc":"2.0","id":"a-1","method":"tools/list"}"#);
        assert_eq!(request_id(&request), json!("a-1"));
        assert_eq!(request_id(&post(r#"{"jsonrpc":"2.0","method":"x"}"#)), Value::Null);
        assert_eq!(request_id(&post(r#"[{"jsonrpc":"2.0","id":1}]"#)), Value::Null);
        assert_eq!(request_id(&post("not json")), Value::Null);
        assert_eq!(request_id(b"GET /mcp HTTP/1.1\r\nHost: x\r\n\r\n"), Value::Null);
        assert_eq!(request_id(b"POST /mcp HTTP/1.1\r\nCont"), Value::Null);
    }

    #[test]
    fn a_request_is_complete_with_its_head_and_its_small_body() {
        let whole = post(r#"{"id":1}"#);
        assert!(complete(&whole));
        assert!(!complete(&whole[..whole.len() - 1]));
        assert!(!complete(b"POST /mcp HTTP/1.1\r\nHost: x\r\n"));
        let large = b"POST / HTTP/1.1\r\nContent-Length: 10000000\r\n\r\n{";
        assert!(complete(large), "a large body is not waited for");
        let expecting = b"POST / HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n";
        assert!(complete(expecting), "a client waiting for 100 Continue is answered");
    }

    #[tokio::test]
    async fn a_client_reads_the_whole_answer_even_with_a_large_body_unread() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            answer(tcp, &trouble()).await;
        });
        let mut client = TcpStream::connect(addr).await.unwrap();
        // Announce (and send part of) a body far over what is read: closing must not reset.
        let large = b"POST /mcp HTTP/1.1\r\nContent-Length: 1000000\r\n\r\n";
        let spaces = vec![b' '; 200_000];
        let request = [large.as_slice(), spaces.as_slice()].concat();
        let (mut read, mut write) = client.split();
        let writing = async {
            let _ = write.write_all(&request).await;
        };
        let mut answer = Vec::new();
        let reading = async {
            tokio::time::timeout(Duration::from_secs(10), read.read_to_end(&mut answer))
                .await
                .expect("answered in time")
                .expect("the answer, not a reset");
        };
        tokio::join!(writing, reading);
        let (head, body) = parts(&answer);
        assert!(head.starts_with("HTTP/1.1 503 Service Unavailable\r\n"), "{head}");
        assert_eq!(body["id"], Value::Null);
        assert_eq!(body["error"]["data"]["cause"], json!("cannot reach the API server"));
        server.await.unwrap();
    }
}

//! The gateway's WebSocket face, client side: one connection at a time, the bearer JWT on the
//! upgrade, one envelope per text frame, answers taken in order (the gateway answers every
//! frame once, one at a time), a ping every 30 s, and a new connection — with the client's
//! `initialize` replayed — when the gateway drops the old one.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error as WsProtocolError, Message};
use tokio_util::sync::CancellationToken;
use url::Url;

use super::envelope::{self, MAX_MESSAGE};
use crate::auth::{Bearer, Tokens};
use crate::net::TlsOptions;
use crate::net::tls::{Recorder, SeenHandle};
use crate::trouble::Trouble;

/// How the gateway is reached.
#[derive(Clone)]
pub struct WsSettings {
    /// `wss://host:port/ws` (or `ws://`).
    pub url: Url,
    pub tls: TlsOptions,
    pub tokens: Option<Tokens>,
    /// Keepalive pings, as the gateway's own router sends them.
    pub ping_every: Duration,
    /// How long an answer may take (the gateway gives its backend 5 s).
    pub answer_within: Duration,
}

/// Why a message got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsError {
    /// No connection: nothing listens, TLS refused, or the like.
    Connect(String),
    /// The upgrade was answered with an HTTP status (401: the token).
    Refused { status: u16, body: String },
    /// The connection ended before the answer; the gateway may have read the message.
    Dropped(String),
    /// Over the gateway's 1 MiB read limit: not sent.
    TooLarge { bytes: usize },
    /// No answer in time.
    Timeout(Duration),
    /// A frame that is not an envelope.
    BadAnswer(String),
    /// No token could be had.
    Token(Trouble),
}

impl std::fmt::Display for WsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WsError::Connect(why) => write!(f, "cannot connect: {why}"),
            WsError::Refused { status, body } => write!(f, "the upgrade got HTTP {status}: {body}"),
            WsError::Dropped(why) => write!(f, "the gateway dropped the connection: {why}"),
            WsError::TooLarge { bytes } => write!(
                f,
                "the message is {:.1} MiB; the gateway reads at most 1 MiB per message",
                *bytes as f64 / MAX_MESSAGE as f64
            ),
            WsError::Timeout(after) => {
                write!(f, "no answer within {}", humantime::format_duration(*after))
            }
            WsError::BadAnswer(why) => f.write_str(why),
            WsError::Token(trouble) => write!(f, "no token: {}", trouble.cause),
        }
    }
}

/// A client of one gateway; clones share the connection.
#[derive(Clone)]
pub struct WsClient(Arc<Inner>);

/// TLS for WebSocket connections as [`TlsOptions`] say (the system's roots loaded once), and
/// what its handshakes saw; clients made with [`WsClient::with_tls`] share it.
#[derive(Clone)]
pub struct WsTls {
    config: Arc<tokio_rustls::rustls::ClientConfig>,
    seen: SeenHandle,
}

impl WsTls {
    /// `Err` when the settings cannot be used (the system's roots do not load).
    pub fn new(options: &TlsOptions) -> Result<WsTls, String> {
        let recorder = Recorder::new(options)?;
        let seen = recorder.seen();
        let mut config = recorder.config;
        // WebSockets upgrade HTTP/1.1 connections.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(WsTls { config: Arc::new(config), seen })
    }

    /// What the handshakes of every client sharing it saw; the last one wins.
    pub fn seen(&self) -> SeenHandle {
        self.seen.clone()
    }
}

struct Inner {
    settings: WsSettings,
    tls: WsTls,
    conn: tokio::sync::Mutex<Option<Conn>>,
    /// The client's `initialize`, replayed on every later connection.
    initialize: Mutex<Option<Value>>,
    /// After a failed connect: not before this, and the wait after the next failure.
    retry: Mutex<Option<(Instant, Duration)>>,
}

/// Waits between connects to a gateway that refuses them: 100 ms doubling to 5 s.
const FIRST_RETRY: Duration = Duration::from_millis(100);
const MOST_RETRY: Duration = Duration::from_secs(5);

/// One open connection: frames to write, with where each answer goes.
struct Conn {
    jobs: mpsc::Sender<Job>,
    closed: CancellationToken,
}

struct Job {
    /// The request's JSON-RPC id; none for a notification or a response.
    id: Option<Value>,
    frame: String,
    answer: oneshot::Sender<Result<Value, WsError>>,
}

/// Who waits for an answer, by the id of the request it sent.
type Waiter = (Option<Value>, oneshot::Sender<Result<Value, WsError>>);

/// The waiter an answer is for: the one whose request has its id; for an answer without one
/// (the gateway's error for a notification, or for a frame it could not read), the oldest —
/// the gateway answers every frame once, in order.
fn waiter_for(waiting: &mut VecDeque<Waiter>, answer: &Result<Value, WsError>) -> Option<Waiter> {
    let id = answer.as_ref().ok().and_then(|a| a.get("id")).filter(|id| !id.is_null());
    match id {
        Some(id) => {
            let at = waiting.iter().position(|(sent, _)| sent.as_ref() == Some(id))?;
            waiting.remove(at)
        }
        None => waiting.pop_front(),
    }
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

impl WsClient {
    /// `Err` when the TLS settings cannot be used (the system's roots do not load).
    pub fn new(settings: WsSettings) -> Result<WsClient, String> {
        let tls = WsTls::new(&settings.tls)?;
        Ok(WsClient::with_tls(settings, tls))
    }

    /// With TLS made already (`settings.tls` is not read again).
    pub fn with_tls(settings: WsSettings, tls: WsTls) -> WsClient {
        WsClient(Arc::new(Inner {
            settings,
            tls,
            conn: tokio::sync::Mutex::new(None),
            initialize: Mutex::new(None),
            retry: Mutex::new(None),
        }))
    }

    /// The certificate the last TLS handshake saw, and why it was refused if it was.
    pub fn seen(&self) -> SeenHandle {
        self.0.tls.seen.clone()
    }

    /// Sends a request and answers the JSON-RPC message that answers it.
    pub async fn call(&self, payload: &Value) -> Result<Value, WsError> {
        if payload["method"] == "initialize"
            && let Ok(mut saved) = self.0.initialize.lock()
        {
            *saved = Some(payload.clone());
        }
        let jobs = self.connection().await?;
        self.send(&jobs, payload).await
    }

    /// Sends a notification (or a response); the gateway's id-null error for it is dropped.
    pub async fn notify(&self, payload: &Value) -> Result<(), WsError> {
        let jobs = self.connection().await?;
        let echo = self.send(&jobs, payload).await?;
        tracing::debug!(answer = %echo, "the gateway answered a notification; dropped");
        Ok(())
    }

    /// Closes the connection, if one is open.
    pub async fn close(&self) {
        if let Some(conn) = self.0.conn.lock().await.take() {
            conn.closed.cancel();
        }
    }

    async fn send(&self, jobs: &mpsc::Sender<Job>, payload: &Value) -> Result<Value, WsError> {
        let token = bearer(self.0.settings.tokens.as_ref()).await?;
        let frame = enveloped(payload, token.as_ref())?;
        let (answer, answered) = oneshot::channel();
        let gone = || WsError::Dropped("the connection closed".to_owned());
        let id = payload.get("id").filter(|id| !id.is_null()).cloned();
        jobs.send(Job { id, frame, answer }).await.map_err(|_| gone())?;
        let within = self.0.settings.answer_within;
        match tokio::time::timeout(within, answered).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Err(gone()),
            Err(_) => Err(WsError::Timeout(within)),
        }
    }

    /// The open connection, or a new one (the client's `initialize` replayed on it first).
    async fn connection(&self) -> Result<mpsc::Sender<Job>, WsError> {
        let mut conn = self.0.conn.lock().await;
        if let Some(open) = conn.as_ref().filter(|c| !c.closed.is_cancelled()) {
            return Ok(open.jobs.clone());
        }
        let not_before = self.0.retry.lock().ok().and_then(|r| r.map(|(at, _)| at));
        if let Some(at) = not_before {
            tokio::time::sleep_until(at.into()).await;
        }
        let open = match connect(&self.0.settings, &self.0.tls.config).await {
            Ok(open) => open,
            Err(err) => {
                if let Ok(mut retry) = self.0.retry.lock() {
                    let wait = retry.map_or(FIRST_RETRY, |(_, wait)| (wait * 2).min(MOST_RETRY));
                    *retry = Some((Instant::now() + wait, wait));
                }
                return Err(err);
            }
        };
        if let Ok(mut retry) = self.0.retry.lock() {
            *retry = None;
        }
        let jobs = open.jobs.clone();
        let replay = self.0.initialize.lock().ok().and_then(|saved| saved.clone());
        *conn = Some(open);
        drop(conn);
        if let Some(initialize) = replay {
            tracing::info!("a new connection to the gateway: replaying the client's initialize");
            self.send(&jobs, &initialize).await?;
            let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
            self.send(&jobs, &initialized).await?;
        }
        Ok(jobs)
    }
}

/// A token from `tokens` (fresh enough to be sent), when the gateway takes one.
pub(super) async fn bearer(tokens: Option<&Tokens>) -> Result<Option<Bearer>, WsError> {
    match tokens {
        Some(tokens) => tokens.bearer().await.map(Some).map_err(WsError::Token),
        None => Ok(None),
    }
}

/// `payload` in the gateway's envelope, with the raw token; refused over its read limit.
pub(super) fn enveloped(payload: &Value, bearer: Option<&Bearer>) -> Result<String, WsError> {
    let text = envelope::wrap(payload, bearer.map(Bearer::token)).to_string();
    match text.len() {
        bytes if bytes > MAX_MESSAGE => Err(WsError::TooLarge { bytes }),
        _ => Ok(text),
    }
}

/// Opens a connection and starts the task that owns it.
async fn connect(
    settings: &WsSettings,
    tls: &Arc<tokio_rustls::rustls::ClientConfig>,
) -> Result<Conn, WsError> {
    let url = &settings.url;
    let host = url.host_str().ok_or_else(|| WsError::Connect(format!("{url} names no host")))?;
    let port = url.port_or_known_default().unwrap_or(443);
    let tcp = TcpStream::connect((host.trim_matches(['[', ']']), port))
        .await
        .map_err(|e| WsError::Connect(format!("{host}:{port}: {e}")))?;
    let _ = tcp.set_nodelay(true);
    let stream: Box<dyn Io> = match url.scheme() {
        "wss" => {
            let name = ServerName::try_from(host.trim_matches(['[', ']']).to_owned())
                .map_err(|e| WsError::Connect(format!("{host}: {e}")))?;
            let connector = tokio_rustls::TlsConnector::from(tls.clone());
            let tls = connector.connect(name, tcp).await;
            Box::new(tls.map_err(|e| WsError::Connect(format!("TLS with {host}:{port}: {e}")))?)
        }
        _ => Box::new(tcp),
    };
    let mut request =
        url.as_str().into_client_request().map_err(|e| WsError::Connect(format!("{url}: {e}")))?;
    if let Some(bearer) = bearer(settings.tokens.as_ref()).await? {
        let mut value = HeaderValue::from_str(&bearer.header_value())
            .map_err(|e| WsError::Connect(format!("the token is not a header value: {e}")))?;
        value.set_sensitive(true);
        request.headers_mut().insert("Authorization", value);
    }
    let (socket, _) =
        tokio_tungstenite::client_async(request, stream).await.map_err(|e| match e {
            WsProtocolError::Http(response) => {
                let body =
                    response.body().as_deref().map(String::from_utf8_lossy).unwrap_or_default();
                let reason = (response.headers().get("www-authenticate"))
                    .and_then(|v| v.to_str().ok())
                    .map(|v| format!("{v}; "))
                    .unwrap_or_default();
                WsError::Refused {
                    status: response.status().as_u16(),
                    body: format!("{reason}{body}"),
                }
            }
            other => WsError::Connect(format!("the WebSocket upgrade at {url} failed: {other}")),
        })?;
    let (jobs, queue) = mpsc::channel(64);
    let closed = CancellationToken::new();
    tokio::spawn(run(socket, queue, closed.clone(), settings.ping_every));
    Ok(Conn { jobs, closed })
}

/// Owns the socket: writes each job's frame, hands each answer to the job it answers,
/// pings, and fails whatever waits when the connection ends.
async fn run<S>(
    socket: tokio_tungstenite::WebSocketStream<S>,
    mut queue: mpsc::Receiver<Job>,
    closed: CancellationToken,
    ping_every: Duration,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mut sink, mut stream) = socket.split();
    let mut waiting: VecDeque<Waiter> = VecDeque::new();
    let mut ping = tokio::time::interval(ping_every);
    ping.tick().await;
    let why = loop {
        tokio::select! {
            job = queue.recv() => {
                let Some(job) = job else { break "the client closed it".to_owned() };
                if let Err(e) = sink.send(Message::text(job.frame)).await {
                    let _ = job.answer.send(Err(WsError::Dropped(e.to_string())));
                    break e.to_string();
                }
                waiting.push_back((job.id, job.answer));
            }
            frame = stream.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    let answer = envelope::unwrap(&text).map_err(WsError::BadAnswer);
                    match waiter_for(&mut waiting, &answer) {
                        Some((_, waiter)) => { let _ = waiter.send(answer); }
                        None => tracing::debug!(%text, "a frame from the gateway that answers nothing"),
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    break frame.map_or("closed".to_owned(), |f| format!("closed ({} {})", f.code, f.reason));
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => break e.to_string(),
                None => break "closed without a close frame (1006)".to_owned(),
            },
            _ = ping.tick() => {
                if let Err(e) = sink.send(Message::Ping(Vec::new().into())).await {
                    break e.to_string();
                }
            }
            () = closed.cancelled() => {
                let _ = sink.send(Message::Close(None)).await;
                break "closed by mcp-connect".to_owned();
            }
        }
    };
    closed.cancel();
    tracing::info!(%why, "the gateway's WebSocket ended");
    for (_, waiter) in waiting {
        let _ = waiter.send(Err(WsError::Dropped(why.clone())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_go_to_the_request_with_their_id_and_id_less_ones_to_the_oldest() {
        let mut waiting = VecDeque::new();
        let mut answers = Vec::new();
        for id in [None, Some(json!(1)), Some(json!("two"))] {
            let (tx, rx) = oneshot::channel();
            waiting.push_back((id, tx));
            answers.push(rx);
        }
        let two = Ok(json!({"jsonrpc": "2.0", "id": "two", "result": {}}));
        assert_eq!(waiter_for(&mut waiting, &two).map(|(id, _)| id), Some(Some(json!("two"))));
        let echo = Ok(json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32603}}));
        assert_eq!(waiter_for(&mut waiting, &echo).map(|(id, _)| id), Some(None));
        let stray = Ok(json!({"jsonrpc": "2.0", "id": 9, "result": {}}));
        assert!(waiter_for(&mut waiting, &stray).is_none(), "an answer to nothing sent");
        let one = Ok(json!({"jsonrpc": "2.0", "id": 1, "result": {}}));
        assert_eq!(waiter_for(&mut waiting, &one).map(|(id, _)| id), Some(Some(json!(1))));
        assert!(waiting.is_empty());
    }
}

//! One SPDY/3.1 connection to a pod's `portforward`, carrying every local connection as a pair
//! of streams, as `kubectl port-forward` does: one TLS connection and one upgrade for all of
//! them, where kube-rs's `portforward()` opens a WebSocket per connection.
//!
//! The connection goes through the kube-rs [`Client`] (so auth, TLS and credential plugins are
//! the kubeconfig's): first as SPDY tunnelled in a WebSocket (subprotocol
//! `SPDY/3.1+portforward.k8s.io`, each binary message the next bytes), then, when that is
//! refused, as a plain `Upgrade: SPDY/3.1`. Per connection the client opens an `error` stream
//! and a `data` stream (headers `streamtype`, `port`, `requestid`), waits for both SYN_REPLYs,
//! half-closes the error stream, and copies bytes on the data stream; the pod's side writes a
//! failure as text on the error stream. A reader task dispatches frames to streams; a writer
//! task owns the header compression context and the socket.

use std::collections::HashMap;
use std::io;

use futures::future::BoxFuture;
use futures::{FutureExt, SinkExt, StreamExt};
use hyper::{Request, StatusCode, header};
use hyper_util::rt::TokioIo;
use kube::Client;
use kube::client::Body;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_util::io::StreamReader;

use crate::net::spdy::{self, Frame, Reader, Writer};

/// The WebSocket subprotocol of SPDY tunnelled in binary messages (kubectl 1.30+).
const SPDY_TUNNEL: &str = "SPDY/3.1+portforward.k8s.io";
const SPDY: &str = "SPDY/3.1";
const STREAM_PROTOCOL: &str = "portforward.k8s.io";
/// RST_STREAM status: the stream is cancelled (its local end went away).
const CANCEL: u32 = 5;
/// The buffer between a stream and the connection it carries, each way.
const STREAM_BUFFER: usize = 64 * 1024;

/// Why no tunnel could be had.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// The API server answered both forms of the upgrade with something else than 101 (it lacks
    /// them, or refuses the request: the per-connection way says which).
    #[error("the API server answered the SPDY upgrade with {0}")]
    Status(StatusCode),
    /// The request did not get an answer, or the upgrade did not complete.
    #[error("the SPDY upgrade failed: {0}")]
    Failed(String),
}

/// A stream opened on the tunnel: the bytes, and what the pod's error stream says (`None` when
/// it ends without a word).
pub struct TunnelStream {
    pub stream: DuplexStream,
    pub error: BoxFuture<'static, Option<String>>,
}

/// A live tunnel to one pod. Dropping it (every clone) lets the connection end once its streams
/// have.
#[derive(Clone)]
pub struct Session {
    pub pod: String,
    /// When the connection was made (and its credentials last asked for).
    pub connected: std::time::Instant,
    commands: mpsc::Sender<Command>,
}

enum Command {
    Open { port: u16, opened: oneshot::Sender<TunnelStream> },
}

impl Session {
    /// Connects to `pod` in `namespace`: the WebSocket tunnel first, the plain upgrade second.
    pub async fn connect(client: &Client, namespace: &str, pod: &str) -> Result<Session, Refused> {
        let path = format!("/api/v1/namespaces/{namespace}/pods/{pod}/portforward");
        let (read, write) = match websocket(client, &path).await {
            Ok(halves) => halves,
            Err(Refused::Status(status)) => {
                tracing::debug!(%status, "forward: SPDY over WebSocket refused; trying SPDY/3.1");
                plain(client, &path).await?
            }
            Err(failed) => return Err(failed),
        };
        let (commands, received) = mpsc::channel(64);
        let (out, outgoing) = mpsc::channel(256);
        let writer = tokio::spawn(write_frames(write, outgoing));
        tokio::spawn(drive(read, received, out, writer));
        Ok(Session { pod: pod.to_owned(), connected: std::time::Instant::now(), commands })
    }

    /// Opens a stream to `port`; `None` when the connection is gone (or the pod's side refused
    /// the streams).
    pub async fn open(&self, port: u16) -> Option<TunnelStream> {
        let (opened, stream) = oneshot::channel();
        self.commands.send(Command::Open { port, opened }).await.ok()?;
        stream.await.ok()
    }

    /// Whether the connection has ended.
    pub fn is_closed(&self) -> bool {
        self.commands.is_closed()
    }

    /// Whether `other` is this same connection.
    pub fn same(&self, other: &Session) -> bool {
        self.commands.same_channel(&other.commands)
    }
}

type ReadHalf = Box<dyn AsyncRead + Send + Unpin>;

/// Where the writer task puts its bytes: binary messages, or the raw connection.
enum WriteHalf {
    Tunnel(futures::stream::SplitSink<WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>, Message>),
    Plain(tokio::io::WriteHalf<TokioIo<hyper::upgrade::Upgraded>>),
}

async fn websocket(client: &Client, path: &str) -> Result<(ReadHalf, WriteHalf), Refused> {
    let key = tokio_tungstenite::tungstenite::handshake::client::generate_key();
    let request = Request::get(path)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "websocket")
        .header(header::SEC_WEBSOCKET_VERSION, "13")
        .header(header::SEC_WEBSOCKET_KEY, key)
        .header(header::SEC_WEBSOCKET_PROTOCOL, SPDY_TUNNEL)
        .body(Body::from(Vec::new()))
        .map_err(|e| Refused::Failed(e.to_string()))?;
    let upgraded = upgrade(client, request, |response| {
        response
            .headers()
            .get(header::SEC_WEBSOCKET_PROTOCOL)
            .is_some_and(|p| p.as_bytes().eq_ignore_ascii_case(SPDY_TUNNEL.as_bytes()))
    })
    .await?;
    let socket = WebSocketStream::from_raw_socket(upgraded, Role::Client, None).await;
    let (sink, stream) = socket.split();
    let bytes = stream
        .take_while(|m| std::future::ready(!matches!(m, Ok(Message::Close(_)))))
        .filter_map(|m| {
            std::future::ready(match m {
                Ok(Message::Binary(bytes)) => Some(Ok(bytes)),
                Ok(_) => None,
                Err(e) => Some(Err(io::Error::other(e))),
            })
        });
    Ok((Box::new(StreamReader::new(Box::pin(bytes))), WriteHalf::Tunnel(sink)))
}

async fn plain(client: &Client, path: &str) -> Result<(ReadHalf, WriteHalf), Refused> {
    let request = Request::post(path)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, SPDY)
        .header("X-Stream-Protocol-Version", STREAM_PROTOCOL)
        .body(Body::from(Vec::new()))
        .map_err(|e| Refused::Failed(e.to_string()))?;
    let upgraded = upgrade(client, request, |response| {
        response
            .headers()
            .get(header::UPGRADE)
            .is_some_and(|p| p.as_bytes().eq_ignore_ascii_case(SPDY.as_bytes()))
    })
    .await?;
    let (read, write) = tokio::io::split(upgraded);
    Ok((Box::new(read), WriteHalf::Plain(write)))
}

/// Sends `request`; a 101 that `accepted` takes gives the upgraded connection.
async fn upgrade(
    client: &Client,
    request: Request<Body>,
    accepted: impl Fn(&hyper::Response<Body>) -> bool,
) -> Result<TokioIo<hyper::upgrade::Upgraded>, Refused> {
    let response = client.send(request).await.map_err(|e| Refused::Failed(e.to_string()))?;
    if response.status() != StatusCode::SWITCHING_PROTOCOLS || !accepted(&response) {
        return Err(Refused::Status(response.status()));
    }
    let upgraded =
        hyper::upgrade::on(response).await.map_err(|e| Refused::Failed(e.to_string()))?;
    Ok(TokioIo::new(upgraded))
}

/// What the writer task sends, in order.
enum Out {
    /// SYN_STREAM, whose headers go through the connection's one compression context.
    Open {
        stream: u32,
        port: u16,
        kind: &'static str,
        request: u32,
    },
    Frame(Vec<u8>),
}

async fn write_frames(mut write: WriteHalf, mut outgoing: mpsc::Receiver<Out>) -> io::Result<()> {
    let mut writer = Writer::new()?;
    let mut batch = Vec::new();
    while let Some(next) = outgoing.recv().await {
        // Frames queued behind this one go out together.
        let mut next = Some(next);
        while let Some(out) = next.take().or_else(|| outgoing.try_recv().ok()) {
            match out {
                Out::Frame(bytes) => batch.extend_from_slice(&bytes),
                Out::Open { stream, port, kind, request } => {
                    let (port, request) = (port.to_string(), request.to_string());
                    let headers = [("streamtype", kind), ("port", &port), ("requestid", &request)];
                    batch.extend(writer.syn_stream(stream, &headers, false)?);
                }
            }
            if batch.len() >= 256 * 1024 {
                break;
            }
        }
        match &mut write {
            WriteHalf::Tunnel(sink) => {
                sink.send(Message::Binary(std::mem::take(&mut batch).into()))
                    .await
                    .map_err(io::Error::other)?;
            }
            WriteHalf::Plain(write) => {
                write.write_all(&batch).await?;
                write.flush().await?;
                batch.clear();
            }
        }
    }
    match &mut write {
        WriteHalf::Tunnel(sink) => sink.close().await.map_err(io::Error::other),
        WriteHalf::Plain(write) => write.shutdown().await,
    }
}

/// One local connection's two streams. The error stream's id is the request's key; the data
/// stream's is two more.
struct Pair {
    replies: u8,
    opened: Option<oneshot::Sender<TunnelStream>>,
    /// The pod's bytes, to the stream's pump; dropped at the pod's FIN.
    to_local: Option<mpsc::UnboundedSender<Vec<u8>>>,
    /// What the error stream said so far, and where it goes once it ends.
    message: Vec<u8>,
    told: Option<oneshot::Sender<Option<String>>>,
    data_ended: bool,
    error_ended: bool,
}

/// The error stream's id for `stream`, whichever of the pair it is (errors are 1, 5, 9…).
fn key(stream: u32) -> u32 {
    if stream % 4 == 1 { stream } else { stream.wrapping_sub(2) }
}

/// Reads frames and dispatches them, opens pairs on command; ends when the connection does,
/// or when the session is dropped and no stream is left.
async fn drive(
    mut read: ReadHalf,
    mut commands: mpsc::Receiver<Command>,
    out: mpsc::Sender<Out>,
    writer: JoinHandle<io::Result<()>>,
) {
    let mut reader = Reader::new();
    let mut pairs: HashMap<u32, Pair> = HashMap::new();
    let (reset, mut resets) = mpsc::unbounded_channel::<u32>();
    let mut next_stream = 1u32;
    let mut dropped = false;
    loop {
        if dropped && pairs.is_empty() {
            break;
        }
        let frame = tokio::select! {
            command = commands.recv(), if !dropped => {
                let Some(Command::Open { port, opened }) = command else {
                    dropped = true;
                    continue;
                };
                let error = next_stream;
                next_stream += 4;
                let request = error / 4;
                let open = |stream, kind| Out::Open { stream, port, kind, request };
                if out.send(open(error, "error")).await.is_err()
                    || out.send(open(error + 2, "data")).await.is_err()
                {
                    break;
                }
                pairs.insert(error, Pair {
                    replies: 0,
                    opened: Some(opened),
                    to_local: None,
                    message: Vec::new(),
                    told: None,
                    data_ended: false,
                    error_ended: false,
                });
                continue;
            }
            Some(stream) = resets.recv() => {
                pairs.remove(&stream);
                continue;
            }
            frame = reader.next(&mut read) => frame,
        };
        let frame = match frame {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(error) => {
                tracing::debug!(%error, "forward: the SPDY connection ended");
                break;
            }
        };
        match frame {
            Frame::SynReply { stream, .. } => {
                let Some(pair) = pairs.get_mut(&key(stream)) else { continue };
                pair.replies += 1;
                if stream % 4 == 1 {
                    // Nothing is sent on the error stream: half-closed once it is accepted.
                    let _ = out.send(Out::Frame(spdy::data(stream, true, b""))).await;
                }
                if pair.replies == 2
                    && let Some(opened) = pair.opened.take()
                {
                    let error = key(stream);
                    let (ours, theirs) = tokio::io::duplex(STREAM_BUFFER);
                    let (to_local, from_pod) = mpsc::unbounded_channel();
                    let (told, message) = oneshot::channel();
                    pair.to_local = Some(to_local);
                    pair.told = Some(told);
                    let error_future = message.map(|m| m.ok().flatten()).boxed();
                    if opened.send(TunnelStream { stream: theirs, error: error_future }).is_err() {
                        // Nobody waits for it any more (the open timed out).
                        pairs.remove(&error);
                        let _ = out.send(Out::Frame(spdy::rst_stream(error + 2, CANCEL))).await;
                        continue;
                    }
                    tokio::spawn(pump(ours, error, from_pod, out.clone(), reset.clone()));
                }
            }
            Frame::Data { stream, fin, data } => {
                let error = key(stream);
                let Some(pair) = pairs.get_mut(&error) else { continue };
                if stream == error {
                    pair.message.extend_from_slice(&data);
                    // The pod's word ends the connection: said as soon as it comes.
                    if !pair.message.is_empty()
                        && let Some(told) = pair.told.take()
                    {
                        let _ = told.send(Some(String::from_utf8_lossy(&pair.message).into()));
                    }
                    pair.error_ended |= fin;
                } else {
                    if !data.is_empty()
                        && let Some(to_local) = &pair.to_local
                    {
                        let _ = to_local.send(data);
                    }
                    if fin {
                        pair.to_local = None;
                        pair.data_ended = true;
                    }
                }
                if pair.data_ended && pair.error_ended {
                    pairs.remove(&error);
                }
            }
            Frame::RstStream { stream } => {
                // A refused or reset stream ends its connection.
                pairs.remove(&key(stream));
            }
            Frame::Ping { id } => {
                if out.send(Out::Frame(spdy::ping(id))).await.is_err() {
                    break;
                }
            }
            Frame::GoAway => break,
            Frame::SynStream { stream, .. } => {
                // The pod's side opens nothing in port-forward.
                let _ = out.send(Out::Frame(spdy::rst_stream(stream, spdy::REFUSED_STREAM))).await;
            }
            Frame::Other => {}
        }
    }
    // No stream opens from now on (the session says it is closed before any stream ends), and
    // every stream ends with the connection: their pumps see the end, their openers `None`.
    drop(commands);
    drop(pairs);
    writer.abort();
}

/// One stream's two directions: the local side's bytes out as data frames (FIN at its end),
/// the pod's bytes in. A local side gone while the pod still sends resets the stream.
async fn pump(
    stream: DuplexStream,
    error: u32,
    mut from_pod: mpsc::UnboundedReceiver<Vec<u8>>,
    out: mpsc::Sender<Out>,
    reset: mpsc::UnboundedSender<u32>,
) {
    let data = error + 2;
    let (mut read, mut write) = tokio::io::split(stream);
    let up = async {
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            match read.read(&mut buf).await {
                Ok(0) | Err(_) => {
                    let _ = out.send(Out::Frame(spdy::data(data, true, b""))).await;
                    return;
                }
                Ok(n) => {
                    if out.send(Out::Frame(spdy::data(data, false, &buf[..n]))).await.is_err() {
                        return;
                    }
                }
            }
        }
    };
    let down = async {
        while let Some(bytes) = from_pod.recv().await {
            if write.write_all(&bytes).await.is_err() {
                let _ = out.send(Out::Frame(spdy::rst_stream(data, CANCEL))).await;
                let _ = reset.send(error);
                return;
            }
        }
        let _ = write.shutdown().await;
    };
    tokio::join!(up, down);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::world::{Lab, LabOptions};

    async fn session(lab: &Lab) -> Session {
        let loaded = crate::kubeconfig::load(Some(lab.kubeconfig())).unwrap();
        let client = loaded.client(None).await.unwrap();
        Session::connect(&client, "mcp", &lab.seeded.serena_pod).await.unwrap()
    }

    /// One HTTP exchange on a stream: what the pod answered, to its end.
    async fn get(mut stream: DuplexStream, n: usize) -> String {
        let request = format!("GET /mcp?{n} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        answer
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn streams_at_once_share_one_connection_and_a_refusal_comes_on_the_error_stream() {
        let lab = Lab::start(LabOptions::default()).await.unwrap();
        let session = session(&lab).await;
        let exchanges = (0..20).map(|n| {
            let session = session.clone();
            async move {
                let opened = session.open(8080).await.expect("a stream");
                let answer = get(opened.stream, n).await;
                (answer, opened.error.await)
            }
        });
        for (answer, error) in futures::future::join_all(exchanges).await {
            assert!(answer.starts_with("HTTP/1.1 "), "{answer:?}");
            assert_eq!(error, None, "nothing said on the error stream");
        }
        // Nothing listens on port 9 in the pod: the kubelet's words, on the error stream.
        let refused = session.open(9).await.expect("a stream");
        let said = refused.error.await.expect("a message");
        assert!(said.contains("localhost:9") && said.contains("connection refused"), "{said}");
        assert_eq!(lab.api.faults().upgrades().spdy, 1);
        assert_eq!(lab.api.faults().upgrades().websocket, 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_pod_deleted_ends_the_session_and_its_streams() {
        let lab = Lab::start(LabOptions::default()).await.unwrap();
        let session = session(&lab).await;
        let mut live = session.open(8080).await.expect("a stream");
        lab.cluster().delete_pod("mcp", &lab.seeded.serena_pod).unwrap();
        let mut rest = Vec::new();
        live.stream.read_to_end(&mut rest).await.unwrap();
        assert_eq!(live.error.await, None);
        assert!(session.open(8080).await.is_none(), "no stream on a session that ended");
        assert!(session.is_closed());
    }
}

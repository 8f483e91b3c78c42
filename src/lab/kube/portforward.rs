//! `pods/portforward` in the three forms clients speak:
//! - WebSocket, subprotocol `v4.channel.k8s.io` (kube-rs, the Python client), as the API server
//!   and kubelet speak it: per port `i` a data channel `2i` and an error channel `2i+1`; every
//!   binary frame starts with its channel byte; the first frame on each channel carries the
//!   port as a little-endian u16;
//! - SPDY/3.1 tunnelled in a WebSocket, subprotocol `SPDY/3.1+portforward.k8s.io` (kubectl
//!   1.30+), and SPDY/3.1 after a plain HTTP upgrade (`X-Stream-Protocol-Version:
//!   portforward.k8s.io`; older kubectl, and newer ones when the WebSocket is refused): see
//!   [`super::spdy`].

use std::collections::HashMap;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::api::ApiState;
use super::spdy;
use super::status::ApiError;
use super::store::ForwardTarget;

pub const PROTOCOL: &str = "v4.channel.k8s.io";
/// The WebSocket subprotocol of SPDY tunnelled in binary messages.
pub const SPDY_TUNNEL: &str = "SPDY/3.1+portforward.k8s.io";
/// The protocol of the plain upgrade, and the stream protocol it carries.
const SPDY: &str = "SPDY/3.1";
const STREAM_PROTOCOL: &str = "portforward.k8s.io";

pub async fn handle(
    State(s): State<ApiState>,
    Path((ns, name)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    request: Request,
) -> Result<Response, ApiError> {
    s.faults.authorize("create", "pods/portforward", Some(&name), &ns)?;
    // A pod that does not exist is 404 before any upgrade.
    s.cluster.forward_target(&ns, &name, 0)?;
    let headers = request.headers();
    let websocket = has_token(headers, header::UPGRADE, "websocket");
    let spdy = !s.faults.spdy_refused();
    let tunnelled = !s.faults.spdy_tunnel_refused();
    if tunnelled && websocket && has_token(headers, header::SEC_WEBSOCKET_PROTOCOL, SPDY_TUNNEL) {
        let upgrade = websocket_upgrade(request, &s).await?.protocols([SPDY_TUNNEL]);
        let faults = s.faults.clone();
        let (cluster, stopping) = (s.cluster.clone(), s.stopping.clone());
        return Ok(upgrade
            .on_upgrade(move |socket| async move {
                faults.upgraded(true);
                tracing::debug!(namespace = %ns, pod = %name, "lab: SPDY-over-WebSocket forward");
                spdy::serve(tunnel(socket), cluster, ns, name, stopping).await
            })
            .into_response());
    }
    if spdy && !websocket && has_token(headers, header::UPGRADE, SPDY) {
        return Ok(spdy_upgrade(request, &s, ns, name));
    }
    let ports: Vec<u16> = q
        .get("ports")
        .map(|p| p.split(',').filter_map(|p| p.trim().parse().ok()).collect())
        .unwrap_or_default();
    if ports.is_empty() {
        return Err(ApiError::bad_request("query parameter \"ports\" is required"));
    }
    let targets: Vec<ForwardTarget> =
        ports.iter().map(|p| s.cluster.forward_target(&ns, &name, *p)).collect::<Result<_, _>>()?;
    let upgrade = websocket_upgrade(request, &s).await?.protocols([PROTOCOL]);
    let (stopping, faults) = (s.stopping.clone(), s.faults.clone());
    Ok(upgrade
        .on_upgrade(move |socket| async move {
            faults.upgraded(false);
            // Not in the pod's log: a kubelet does not write there, and one line per connection
            // buried what the pod itself says.
            tracing::debug!(namespace = %ns, pod = %name, ?ports, "lab: port-forward stream opened");
            tokio::select! {
                _ = relay(socket, ports, targets) => {}
                _ = stopping.cancelled() => {}
            }
        })
        .into_response())
}

/// Whether header `name` lists `token` (comma-separated, any case).
fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

async fn websocket_upgrade(request: Request, s: &ApiState) -> Result<WebSocketUpgrade, ApiError> {
    let (mut parts, _) = request.into_parts();
    WebSocketUpgrade::from_request_parts(&mut parts, s)
        .await
        .map_err(|_| ApiError::bad_request("port-forward needs a WebSocket or SPDY/3.1 upgrade"))
}

/// `101 Switching Protocols` to SPDY/3.1, then [`spdy::serve`] on the raw connection.
fn spdy_upgrade(mut request: Request, s: &ApiState, ns: String, name: String) -> Response {
    let upgraded = hyper::upgrade::on(&mut request);
    let (cluster, stopping, faults) = (s.cluster.clone(), s.stopping.clone(), s.faults.clone());
    tokio::spawn(async move {
        match upgraded.await {
            Ok(io) => {
                faults.upgraded(true);
                spdy::serve(TokioIo::new(io), cluster, ns, name, stopping).await
            }
            Err(error) => tracing::debug!(%error, "lab: a SPDY upgrade did not complete"),
        }
    });
    let mut response = StatusCode::SWITCHING_PROTOCOLS.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, header::HeaderValue::from_static("Upgrade"));
    headers.insert(header::UPGRADE, header::HeaderValue::from_static(SPDY));
    headers.insert("x-stream-protocol-version", header::HeaderValue::from_static(STREAM_PROTOCOL));
    response
}

/// The byte stream a SPDY-tunnelling WebSocket carries: each binary message is the next bytes.
fn tunnel(socket: WebSocket) -> tokio::io::DuplexStream {
    let (ours, theirs) = tokio::io::duplex(256 * 1024);
    tokio::spawn(async move {
        let (mut sink, mut stream) = socket.split();
        let (mut read, mut write) = tokio::io::split(ours);
        let inbound = async move {
            while let Some(Ok(message)) = stream.next().await {
                match message {
                    Message::Binary(bytes) if write.write_all(&bytes).await.is_err() => break,
                    Message::Close(_) => break,
                    _ => {}
                }
            }
            let _ = write.shutdown().await;
        };
        let outbound = async move {
            let mut buf = vec![0u8; 64 * 1024];
            while let Ok(n @ 1..) = read.read(&mut buf).await {
                if sink.send(Message::Binary(buf[..n].to_vec().into())).await.is_err() {
                    return;
                }
            }
            let _ = sink.send(Message::Close(None)).await;
        };
        tokio::select! {
            _ = inbound => {}
            _ = outbound => {}
        }
    });
    theirs
}

/// A frame on a channel.
fn frame(channel: u8, payload: &[u8]) -> Message {
    let mut bytes = Vec::with_capacity(payload.len() + 1);
    bytes.push(channel);
    bytes.extend_from_slice(payload);
    Message::Binary(bytes.into())
}

async fn relay(socket: WebSocket, ports: Vec<u16>, targets: Vec<ForwardTarget>) {
    let (mut sink, mut stream) = socket.split();
    // The port prefix opens each channel.
    for (i, port) in ports.iter().enumerate() {
        let index = u8::try_from(i).unwrap_or(u8::MAX);
        for channel in [2 * index, 2 * index + 1] {
            if sink.send(frame(channel, &port.to_le_bytes())).await.is_err() {
                return;
            }
        }
    }
    // Everything bound for the client goes through one queue, so one task owns the sink.
    let (out_tx, mut out_rx) = mpsc::channel::<Message>(64);
    let mut to_backend = Vec::new();
    for (i, (port, target)) in ports.iter().zip(&targets).enumerate() {
        let index = u8::try_from(i).unwrap_or(u8::MAX);
        let (tx, rx) = mpsc::channel::<Vec<u8>>(64);
        to_backend.push(tx);
        tokio::spawn(serve_port(index, *port, target.clone(), rx, out_tx.clone()));
    }
    drop(out_tx);
    let ends = targets.first().map(|t| (t.pod_gone.clone(), t.cut.clone()));
    let Some((pod_gone, cut)) = ends else { return };
    loop {
        tokio::select! {
            _ = pod_gone.cancelled() => break,
            _ = cut.cancelled() => break,
            out = out_rx.recv() => match out {
                Some(message) => if sink.send(message).await.is_err() { break },
                // Every port's backend has finished.
                None => break,
            },
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Binary(bytes))) if bytes.len() > 1 => {
                    let channel = bytes[0];
                    // Data for port i arrives on channel 2i; the client sends nothing on errors.
                    if channel % 2 == 0
                        && let Some(tx) = to_backend.get(usize::from(channel / 2))
                        && tx.send(bytes[1..].to_vec()).await.is_err()
                    {
                        to_backend[usize::from(channel / 2)] = mpsc::channel(1).0;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    let _ = sink.send(Message::Close(None)).await;
}

/// One port: connect to the backend and copy both ways; a refused connection is reported on
/// the port's error channel, as a kubelet reports it.
async fn serve_port(
    index: u8,
    port: u16,
    target: ForwardTarget,
    mut from_client: mpsc::Receiver<Vec<u8>>,
    to_client: mpsc::Sender<Message>,
) {
    let connected = match target.backend {
        Some(addr) => TcpStream::connect(addr).await.map_err(|e| e.to_string()),
        None => Err("connect: connection refused".to_owned()),
    };
    let backend = match connected {
        Ok(backend) => backend,
        Err(cause) => {
            let message = refused_message(port, &target.uid, &cause);
            let _ = to_client.send(frame(2 * index + 1, message.as_bytes())).await;
            return;
        }
    };
    let _ = backend.set_nodelay(true);
    let (mut read, mut write) = backend.into_split();
    let upstream = async move {
        while let Some(bytes) = from_client.recv().await {
            if write.write_all(&bytes).await.is_err() {
                return;
            }
        }
        let _ = write.shutdown().await;
    };
    let downstream = async move {
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            match read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if to_client.send(frame(2 * index, &buf[..n])).await.is_err() {
                        return;
                    }
                }
            }
        }
    };
    // The backend closing its side ends the port, as the kubelet's stream ends.
    tokio::select! {
        _ = downstream => {}
        _ = async { upstream.await; std::future::pending::<()>().await } => {}
    }
}

/// What a kubelet says when nothing listens on the pod's `port`.
pub(super) fn refused_message(port: u16, uid: &str, cause: &str) -> String {
    format!(
        "error forwarding port {port} to pod {uid}, uid : failed to execute portforward in \
         network namespace \"/var/run/netns/cni-{uid}\": failed to connect to localhost:{port} \
         inside namespace \"{uid}\", IPv4: dial tcp4 127.0.0.1:{port}: {cause} IPv6 dial tcp6 \
         [::1]:{port}: connect: connection refused "
    )
}

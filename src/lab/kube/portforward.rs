//! `pods/portforward` over WebSocket, subprotocol `v4.channel.k8s.io`, as the API server and
//! kubelet speak it: per port `i` a data channel `2i` and an error channel `2i+1`; every binary
//! frame starts with its channel byte; the first frame on each channel carries the port as a
//! little-endian u16.

use std::collections::HashMap;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::api::ApiState;
use super::status::ApiError;
use super::store::ForwardTarget;

pub const PROTOCOL: &str = "v4.channel.k8s.io";

pub async fn handle(
    State(s): State<ApiState>,
    Path((ns, name)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    s.faults.authorize("create", "pods/portforward", Some(&name), &ns)?;
    let ports: Vec<u16> = q
        .get("ports")
        .map(|p| p.split(',').filter_map(|p| p.trim().parse().ok()).collect())
        .unwrap_or_default();
    if ports.is_empty() {
        return Err(ApiError::bad_request("query parameter \"ports\" is required"));
    }
    let targets: Vec<ForwardTarget> =
        ports.iter().map(|p| s.cluster.forward_target(&ns, &name, *p)).collect::<Result<_, _>>()?;
    let Ok(upgrade) = upgrade else {
        return Err(ApiError::bad_request("port-forward needs a WebSocket upgrade"));
    };
    let upgrade = upgrade.protocols([PROTOCOL]);
    let stopping = s.stopping.clone();
    Ok(upgrade
        .on_upgrade(move |socket| async move {
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
            let message = format!(
                "error forwarding port {port} to pod {uid}, uid : failed to execute portforward \
                 in network namespace \"/var/run/netns/cni-{uid}\": failed to connect to \
                 localhost:{port} inside namespace \"{uid}\", IPv4: dial tcp4 127.0.0.1:{port}: \
                 {cause} IPv6 dial tcp6 [::1]:{port}: connect: connection refused ",
                uid = target.uid
            );
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

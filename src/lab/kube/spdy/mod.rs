//! `pods/portforward` over SPDY/3.1, as kubectl speaks it (its `port-forward` before and beside
//! the v4/v5 WebSocket channels): for each local connection kubectl opens two streams carrying
//! `streamtype` (`error`, `data`), `port` and `requestid` headers; the kubelet answers each
//! with SYN_REPLY, connects to the port once both are there, copies bytes both ways on the data
//! stream, writes a failure as text on the error stream, and ends both with FIN.
//!
//! The connection is either a plain HTTP upgrade (`Upgrade: SPDY/3.1`) or tunnelled in a
//! WebSocket (subprotocol `SPDY/3.1+portforward.k8s.io`, kubectl 1.30+); either way [`serve`]
//! gets the byte stream. Flow control is not enforced: kubectl's spdystream does not either.

use std::collections::HashMap;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::portforward::refused_message;
use super::store::{Cluster, ForwardTarget};
use crate::net::spdy::{self as frame, Frame, REFUSED_STREAM, Reader, Writer};

/// What the writer task sends, in order.
enum Out {
    Frame(Vec<u8>),
    /// SYN_REPLY, whose headers go through the connection's one compression context.
    Reply(u32),
}

/// The two streams of one forwarded connection, as they arrive.
#[derive(Default)]
struct Pair {
    port: Option<u16>,
    error: Option<u32>,
    data: Option<u32>,
    started: bool,
}

/// Serves one SPDY connection for pod `name` in `ns` until the client goes away, the pod is
/// deleted, the lab cuts every forward, or `stopping` is cancelled.
pub async fn serve<S>(
    io: S,
    cluster: Cluster,
    ns: String,
    name: String,
    stopping: CancellationToken,
) where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let Ok(whole) = cluster.forward_target(&ns, &name, 0) else { return };
    let (mut read, write) = tokio::io::split(io);
    let (out, outgoing) = mpsc::channel::<Out>(256);
    let writer = tokio::spawn(write_frames(write, outgoing));
    let mut reader = Reader::new();
    let mut pairs: HashMap<String, Pair> = HashMap::new();
    let mut to_backend: HashMap<u32, mpsc::Sender<Option<Vec<u8>>>> = HashMap::new();
    let mut tasks: HashMap<u32, JoinHandle<()>> = HashMap::new();
    loop {
        let frame = tokio::select! {
            _ = stopping.cancelled() => break,
            _ = whole.pod_gone.cancelled() => break,
            _ = whole.cut.cancelled() => break,
            frame = reader.next(&mut read) => frame,
        };
        let frame = match frame {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(error) => {
                tracing::debug!(%error, "lab: a SPDY port-forward connection ended");
                break;
            }
        };
        match frame {
            Frame::SynStream { stream, headers, .. } => {
                if out.send(Out::Reply(stream)).await.is_err() {
                    break;
                }
                let request = headers.get("requestid").cloned().unwrap_or_default();
                let pair = pairs.entry(request).or_default();
                pair.port = pair.port.or_else(|| headers.get("port")?.parse().ok());
                match headers.get("streamtype").map(String::as_str) {
                    Some("error") => pair.error = Some(stream),
                    Some("data") => pair.data = Some(stream),
                    _ => {
                        let _ =
                            out.send(Out::Frame(frame::rst_stream(stream, REFUSED_STREAM))).await;
                        continue;
                    }
                }
                if let (Some(error), Some(data), Some(port), false) =
                    (pair.error, pair.data, pair.port, pair.started)
                {
                    pair.started = true;
                    let (tx, rx) = mpsc::channel(64);
                    to_backend.insert(data, tx);
                    let target = cluster.forward_target(&ns, &name, port);
                    let streams = Streams { error, data, port };
                    tasks.insert(data, tokio::spawn(forward(streams, target, rx, out.clone())));
                }
            }
            Frame::Data { stream, fin, data } => {
                if let Some(tx) = to_backend.get(&stream) {
                    let gone = (!data.is_empty() && tx.send(Some(data)).await.is_err())
                        || (fin && tx.send(None).await.is_err());
                    if gone || fin {
                        to_backend.remove(&stream);
                    }
                }
            }
            Frame::RstStream { stream } => {
                to_backend.remove(&stream);
                if let Some(task) = tasks.remove(&stream) {
                    task.abort();
                }
            }
            Frame::Ping { id } => {
                if out.send(Out::Frame(frame::ping(id))).await.is_err() {
                    break;
                }
            }
            Frame::GoAway => break,
            Frame::SynReply { .. } | Frame::Other => {}
        }
        tasks.retain(|_, task| !task.is_finished());
    }
    for task in tasks.into_values() {
        task.abort();
    }
    drop(out);
    writer.abort();
}

async fn write_frames(
    mut write: impl AsyncWrite + Unpin,
    mut outgoing: mpsc::Receiver<Out>,
) -> std::io::Result<()> {
    let mut writer = Writer::new()?;
    while let Some(next) = outgoing.recv().await {
        let bytes = match next {
            Out::Frame(bytes) => bytes,
            Out::Reply(stream) => writer.syn_reply(stream)?,
        };
        write.write_all(&bytes).await?;
        // Frames queued behind this one go out in the same flush.
        if outgoing.is_empty() {
            write.flush().await?;
        }
    }
    write.shutdown().await
}

struct Streams {
    error: u32,
    data: u32,
    port: u16,
}

/// One forwarded connection: the backend's bytes on the data stream, the client's to the
/// backend, a refusal as text on the error stream; both streams end with FIN.
async fn forward(
    streams: Streams,
    target: Result<ForwardTarget, super::status::ApiError>,
    mut from_client: mpsc::Receiver<Option<Vec<u8>>>,
    out: mpsc::Sender<Out>,
) {
    let Streams { error, data, port } = streams;
    let finish = async |out: &mpsc::Sender<Out>| {
        let _ = out.send(Out::Frame(frame::data(data, true, b""))).await;
        let _ = out.send(Out::Frame(frame::data(error, true, b""))).await;
    };
    let connected = match &target {
        Ok(ForwardTarget { backend: Some(addr), .. }) => {
            TcpStream::connect(addr).await.map_err(|e| e.to_string())
        }
        _ => Err("connect: connection refused".to_owned()),
    };
    let backend = match (connected, &target) {
        (Ok(backend), _) => backend,
        (Err(cause), Ok(target)) => {
            let message = refused_message(port, &target.uid, &cause);
            let _ = out.send(Out::Frame(frame::data(error, false, message.as_bytes()))).await;
            return finish(&out).await;
        }
        (Err(_), Err(api)) => {
            let message = format!("error forwarding port {port}: {api:?}");
            let _ = out.send(Out::Frame(frame::data(error, false, message.as_bytes()))).await;
            return finish(&out).await;
        }
    };
    let _ = backend.set_nodelay(true);
    let (mut read, mut write) = backend.into_split();
    let upstream = async move {
        while let Some(Some(bytes)) = from_client.recv().await {
            if write.write_all(&bytes).await.is_err() {
                return;
            }
        }
        let _ = write.shutdown().await;
    };
    let downstream = async {
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            match read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if out.send(Out::Frame(frame::data(data, false, &buf[..n]))).await.is_err() {
                        return;
                    }
                }
            }
        }
    };
    // The backend closing its side ends the connection, as the kubelet's copy ends.
    tokio::select! {
        _ = downstream => {}
        _ = async { upstream.await; std::future::pending::<()>().await } => {}
    }
    finish(&out).await;
}

//! One local connection carried to the pod over its own port-forward stream.

use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};

use super::event::ForwardEvent;
use super::opened::Opened;
use super::target::Tracking;

/// Copies both ways until either side closes. A message on the error channel ends the
/// connection and is reported; so is a connection cut because its pod went away.
pub async fn relay(
    mut tcp: TcpStream,
    opened: Opened,
    namespace: String,
    tracking: watch::Receiver<Tracking>,
    events: mpsc::Sender<ForwardEvent>,
) {
    let pod = opened.pod.clone();
    let (mut stream, mut error, early) = opened.into_parts();
    if !early.is_empty() && tcp.write_all(&early).await.is_err() {
        return;
    }
    let mut carried = false;
    let mut pod_first = false;
    // The pod's first answer tells the route that new connections are carried again.
    let (answered, first_answer) = tokio::sync::oneshot::channel();
    let told = {
        let (events, pod) = (events.clone(), pod.clone());
        tokio::spawn(async move {
            if first_answer.await.is_ok() {
                let _ = events.send(ForwardEvent::Answered { pod }).await;
            }
        })
    };
    let (outcome, refused) = {
        let copy = two_way(&mut tcp, &mut stream, answered);
        tokio::pin!(copy);
        let mut error_seen = false;
        loop {
            tokio::select! {
                (copied, pod_closed_first) = &mut copy => {
                    carried = copied.as_ref().is_ok_and(|(up, down)| *up > 0 || *down > 0);
                    pod_first = pod_closed_first;
                    break (copied.err().map(|e| e.to_string()), false);
                }
                message = &mut error, if !error_seen => {
                    error_seen = true;
                    if let Some(message) = message {
                        break (Some(message), true);
                    }
                }
            }
        }
    };
    // Told before anything about this connection's end.
    let _ = told.await;
    let gone = tracking.borrow().target.as_ref().is_none_or(|t| t.pod != pod);
    let message = match (outcome, gone) {
        (Some(message), _) => Some(message),
        // The pod went away under a live connection: say so rather than let it vanish.
        (None, true) if carried => Some(format!(
            "connection closed: pod {pod} went away; new connections go to the next Ready pod"
        )),
        (None, _) => None,
    };
    match message {
        // The pod's side refused the connection: new ones will fail alike.
        Some(message) if refused => {
            let trouble = super::explain::pod_refused(&namespace, &pod, &message);
            let _ = events.send(ForwardEvent::ConnectionError { pod, trouble }).await;
        }
        Some(message) => {
            let _ = events.send(ForwardEvent::ConnectionLost { pod, message }).await;
        }
        None if pod_first && carried => {
            let _ = events.send(ForwardEvent::PodClosed { pod }).await;
        }
        None => {}
    }
}

/// Copies both ways, as `copy_bidirectional` does (one side's end shuts the other's writing
/// half down, then the other direction drains), and also answers whether the pod's side ended
/// first.
async fn two_way(
    tcp: &mut TcpStream,
    pod: &mut DuplexStream,
    answered: tokio::sync::oneshot::Sender<()>,
) -> (std::io::Result<(u64, u64)>, bool) {
    let (mut from_client, mut to_client) = tcp.split();
    let (mut from_pod, mut to_pod) = tokio::io::split(pod);
    let up = async {
        let n = tokio::io::copy(&mut from_client, &mut to_pod).await?;
        to_pod.shutdown().await.map(|()| n)
    };
    let down = async {
        // The first bytes by hand, to say when the pod answers; the rest as a copy.
        let mut first = vec![0; 16 * 1024];
        let read = from_pod.read(&mut first).await?;
        if read > 0 {
            let _ = answered.send(());
            to_client.write_all(&first[..read]).await?;
        }
        let n = match read {
            0 => 0,
            _ => read as u64 + tokio::io::copy(&mut from_pod, &mut to_client).await?,
        };
        to_client.shutdown().await.map(|()| n)
    };
    tokio::pin!(up, down);
    tokio::select! {
        up_done = &mut up => {
            let down_done = down.await;
            (up_done.and_then(|u| down_done.map(|d| (u, d))), false)
        }
        down_done = &mut down => {
            let pod_first = down_done.is_ok();
            let up_done = up.await;
            (up_done.and_then(|u| down_done.map(|d| (u, d))), pod_first)
        }
    }
}

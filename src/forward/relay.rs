//! One local connection carried to the pod over its own port-forward stream.

use tokio::io::AsyncWriteExt;
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
    tracking: watch::Receiver<Tracking>,
    events: mpsc::Sender<ForwardEvent>,
) {
    let pod = opened.pod.clone();
    let (mut stream, mut error, early) = opened.into_parts();
    if !early.is_empty() && tcp.write_all(&early).await.is_err() {
        return;
    }
    let mut carried = false;
    let outcome = {
        let copy = tokio::io::copy_bidirectional(&mut tcp, &mut stream);
        tokio::pin!(copy);
        let mut error_seen = false;
        loop {
            tokio::select! {
                copied = &mut copy => {
                    carried = copied.as_ref().is_ok_and(|(up, down)| *up > 0 || *down > 0);
                    break copied.err().map(|e| e.to_string());
                }
                message = &mut error, if !error_seen => {
                    error_seen = true;
                    if let Some(message) = message {
                        break Some(message);
                    }
                }
            }
        }
    };
    let gone = tracking.borrow().target.as_ref().is_none_or(|t| t.pod != pod);
    let message = match (outcome, gone) {
        (Some(message), _) => Some(message),
        // The pod went away under a live connection: say so rather than let it vanish.
        (None, true) if carried => Some(format!(
            "connection closed: pod {pod} went away; new connections go to the next Ready pod"
        )),
        (None, _) => None,
    };
    if let Some(message) = message {
        let _ = events.send(ForwardEvent::ConnectionError { pod, message }).await;
    }
}

//! The forwarded pod's log, followed as `kubectl logs -f` would, switching with the pod.

use futures::{AsyncBufReadExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::LogParams;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::event::ForwardEvent;
use super::explain::{Doing, explain};
use super::target::Tracking;
use crate::kubeconfig::ApiServer;

/// Lines from before the forward started, as `kubectl logs -l` shows.
const TAIL: i64 = 10;

/// Follows the log of whichever pod the forward goes to, until `cancel`.
pub async fn follow(
    pods: Api<Pod>,
    namespace: String,
    api: ApiServer,
    mut tracking: watch::Receiver<Tracking>,
    events: mpsc::Sender<ForwardEvent>,
    cancel: CancellationToken,
) {
    let mut followed: Option<(String, CancellationToken)> = None;
    loop {
        let pod = tracking.borrow_and_update().target.as_ref().map(|t| t.pod.clone());
        if followed.as_ref().map(|(name, _)| name) != pod.as_ref() {
            if let Some((_, stop)) = followed.take() {
                stop.cancel();
            }
            if let Some(pod) = pod {
                let stop = cancel.child_token();
                let task = one_pod(
                    pods.clone(),
                    namespace.clone(),
                    api.clone(),
                    pod.clone(),
                    events.clone(),
                );
                let guard = stop.clone();
                tokio::spawn(async move {
                    tokio::select! {
                        _ = guard.cancelled() => {}
                        _ = task => {}
                    }
                });
                followed = Some((pod, stop));
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            changed = tracking.changed() => if changed.is_err() { return },
        }
    }
}

async fn one_pod(
    pods: Api<Pod>,
    namespace: String,
    api: ApiServer,
    pod: String,
    events: mpsc::Sender<ForwardEvent>,
) {
    let mut backoff = super::retry();
    let mut tail = Some(TAIL);
    loop {
        let params = LogParams { follow: true, tail_lines: tail, ..LogParams::default() };
        match pods.log_stream(&pod, &params).await {
            Ok(stream) => {
                let mut lines = stream.lines();
                while let Ok(Some(line)) = lines.try_next().await {
                    let event = ForwardEvent::PodLog { pod: pod.clone(), line };
                    if events.send(event).await.is_err() {
                        return;
                    }
                }
                // The stream ends with the pod; if the pod is still followed, pick up new lines.
                tail = Some(0);
            }
            // The pod is gone: nothing more to follow.
            Err(kube::Error::Api(status)) if status.code == 404 => return,
            Err(err) => {
                let explained =
                    explain(&err, Doing::FollowLogs { namespace: &namespace, pod: &pod }, &api);
                let trouble = &explained.trouble;
                let message = format!("logs of pod {pod}: {}; {}", trouble.cause, trouble.fix);
                if events.send(ForwardEvent::Warning { message }).await.is_err()
                    || !explained.transient
                {
                    return;
                }
            }
        }
        tokio::time::sleep(backoff.next().unwrap_or(super::RETRY_MOST)).await;
    }
}

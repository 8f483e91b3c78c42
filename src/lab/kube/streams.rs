//! The API's long-lived answers: pod watches (newline-delimited events, bookmarks, 410 for a
//! version that left the history) and followed pod logs. Both end when the server stops.

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use super::api::{ApiState, PodFilter};
use super::status::ApiError;
use super::store::PodEvent;

pub(super) fn watch_pods(
    s: ApiState,
    filter: PodFilter,
    q: &HashMap<String, String>,
) -> Result<Response, ApiError> {
    let since = match q.get("resourceVersion").filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => Some(
            v.parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("invalid resourceVersion {v:?}")))?,
        ),
    };
    let bookmarks = q.get("allowWatchBookmarks").is_some_and(|v| v == "true");
    let timeout = q
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map_or(Duration::from_secs(1800), Duration::from_secs);
    let (tx, rx) = mpsc::channel::<Result<String, std::io::Error>>(64);
    let line =
        |kind: &str, object: Value| Ok(format!("{}\n", json!({"type": kind, "object": object})));
    match s.cluster.watch_pods(since) {
        // A resource version that has left the history: the watch answers with an ERROR event.
        Err(gone) => {
            let _ = tx.try_send(line("ERROR", gone.to_status()));
        }
        Ok((backlog, mut live)) => {
            tokio::spawn(async move {
                let mut last_rv = since.unwrap_or_default();
                let event_line = |e: &PodEvent| {
                    line(e.kind.as_str(), serde_json::to_value(&e.pod).unwrap_or_default())
                };
                for event in backlog.iter().filter(|e| filter.matches(&e.pod)) {
                    last_rv = last_rv.max(event.rv);
                    if tx.send(event_line(event)).await.is_err() {
                        return;
                    }
                }
                let deadline = tokio::time::sleep(timeout);
                tokio::pin!(deadline);
                let mut tick = tokio::time::interval(Duration::from_secs(1));
                loop {
                    let next = tokio::select! {
                        _ = &mut deadline => return,
                        _ = s.stopping.cancelled() => return,
                        _ = tick.tick(), if bookmarks => {
                            let rv = s.cluster.resource_version().max(last_rv);
                            let bookmark = json!({"kind": "Pod", "apiVersion": "v1", "metadata": {"resourceVersion": rv.to_string()}});
                            line("BOOKMARK", bookmark)
                        }
                        event = live.recv() => match event {
                            Ok(event) if event.rv > last_rv && filter.matches(&event.pod) => {
                                last_rv = event.rv;
                                event_line(&event)
                            }
                            Ok(_) => continue,
                            // A watcher that falls behind is closed; it resumes from its last version.
                            Err(broadcast::error::RecvError::Lagged(_) | broadcast::error::RecvError::Closed) => return,
                        },
                    };
                    if tx.send(next).await.is_err() {
                        return;
                    }
                }
            });
        }
    }
    Ok(Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-cache, private")
        .body(Body::from_stream(ReceiverStream::new(rx)))
        .unwrap_or_default())
}

/// `pods/log`: the log so far (`tailLines` of it), then with `follow=true` each new line
/// until the pod is gone.
pub(super) async fn pod_log(
    State(s): State<ApiState>,
    Path((ns, name)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    s.faults.authorize("get", "pods/log", Some(&name), &ns)?;
    let (mut lines, mut live, gone) = s.cluster.logs(&ns, &name)?;
    if let Some(tail) = q.get("tailLines").and_then(|t| t.parse::<usize>().ok()) {
        lines = lines.split_off(lines.len().saturating_sub(tail));
    }
    let follow = matches!(q.get("follow").map(String::as_str), Some("true" | "1"));
    let (tx, rx) = mpsc::channel::<Result<String, std::io::Error>>(256);
    tokio::spawn(async move {
        for line in lines {
            if tx.send(Ok(format!("{line}\n"))).await.is_err() {
                return;
            }
        }
        if !follow {
            return;
        }
        loop {
            let line = tokio::select! {
                _ = gone.cancelled() => return,
                _ = s.stopping.cancelled() => return,
                line = live.recv() => match line {
                    Ok(line) => line,
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            };
            if tx.send(Ok(format!("{line}\n"))).await.is_err() {
                return;
            }
        }
    });
    Ok(Response::builder()
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from_stream(ReceiverStream::new(rx)))
        .unwrap_or_default())
}

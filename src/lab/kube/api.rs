//! The REST surface: discovery, reads, pod watch and delete, logs. JSON as the real server
//! writes it; errors as `Status` objects.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use k8s_openapi::api::core::v1::{
    EndpointAddress, EndpointPort, EndpointSubset, Endpoints, ObjectReference, Pod,
};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;

use super::faults::Faults;
use super::objects::{is_ready, name_of};
use super::selector::{FieldSelector, Selector};
use super::status::ApiError;
use super::store::{Cluster, PodEvent};
use super::table;

/// What every handler shares.
#[derive(Clone)]
pub struct ApiState {
    pub cluster: Cluster,
    pub token: Arc<str>,
    pub faults: Arc<Faults>,
    /// Cancelled when the server stops: ends watches, log follows and forwards.
    pub stopping: CancellationToken,
    pub address: String,
}

type Params = Query<HashMap<String, String>>;

pub fn router(state: ApiState) -> Router {
    let ns = "/api/v1/namespaces/{ns}";
    Router::new()
        .route("/version", get(version))
        .route("/api", get(api_versions))
        .route(
            "/apis",
            get(|| async {
                json_ok(json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": []}))
            }),
        )
        .route("/api/v1", get(resources))
        .route("/api/v1/namespaces", get(list_namespaces))
        .route(ns, get(get_namespace))
        .route("/api/v1/services", get(list_services))
        .route(&format!("{ns}/services"), get(list_services))
        .route(&format!("{ns}/services/{{name}}"), get(get_service))
        .route(&format!("{ns}/endpoints"), get(list_endpoints))
        .route(&format!("{ns}/endpoints/{{name}}"), get(get_endpoints))
        .route("/api/v1/pods", get(list_pods))
        .route(&format!("{ns}/pods"), get(list_pods))
        .route(&format!("{ns}/pods/{{name}}"), get(get_pod).delete(delete_pod))
        .route(&format!("{ns}/pods/{{name}}/log"), get(pod_log))
        .route(&format!("{ns}/pods/{{name}}/portforward"), get(super::portforward::handle))
        .route("/api/v1/secrets", get(list_secrets))
        .route(&format!("{ns}/secrets"), get(list_secrets))
        .route(&format!("{ns}/secrets/{{name}}"), get(get_secret))
        .fallback(|| async {
            ApiError {
                code: StatusCode::NOT_FOUND,
                reason: "NotFound",
                message: "the server could not find the requested resource".into(),
                details: None,
            }
        })
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .with_state(state)
}

/// Bearer-token authentication, and the latency a test may add.
async fn authenticate(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    let latency = state.faults.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if presented != Some(&*state.token) {
        return ApiError::unauthorized().into_response();
    }
    next.run(request).await
}

fn json_ok(value: impl Serialize) -> Response {
    (StatusCode::OK, axum::Json(value)).into_response()
}

fn list(kind: &str, rv: u64, items: impl Serialize) -> Response {
    json_ok(json!({
        "kind": kind,
        "apiVersion": "v1",
        "metadata": {"resourceVersion": rv.to_string()},
        "items": items,
    }))
}

async fn version() -> Response {
    json_ok(json!({
        "major": "1", "minor": "33", "gitVersion": "v1.33.0-mcp-connect-lab",
        "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.24.0", "compiler": "gc",
        "platform": "linux/amd64",
    }))
}

async fn api_versions(State(state): State<ApiState>) -> Response {
    json_ok(json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": state.address}],
    }))
}

async fn resources() -> Response {
    let r = |name: &str, kind: &str, namespaced: bool, verbs: &[&str], short: &[&str]| {
        let mut v = json!({
            "name": name, "singularName": "", "namespaced": namespaced, "kind": kind, "verbs": verbs,
        });
        if !short.is_empty() {
            v["shortNames"] = json!(short);
        }
        v
    };
    json_ok(json!({
        "kind": "APIResourceList",
        "groupVersion": "v1",
        "resources": [
            r("namespaces", "Namespace", false, &["get", "list"], &["ns"]),
            r("services", "Service", true, &["get", "list"], &["svc"]),
            r("endpoints", "Endpoints", true, &["get", "list"], &["ep"]),
            r("pods", "Pod", true, &["delete", "get", "list", "watch"], &["po"]),
            r("pods/log", "Pod", true, &["get"], &[]),
            r("pods/portforward", "PodPortForwardOptions", true, &["create", "get"], &[]),
            r("secrets", "Secret", true, &["get", "list"], &[]),
        ],
    }))
}

async fn list_namespaces(State(s): State<ApiState>) -> Result<Response, ApiError> {
    s.faults.authorize("list", "namespaces", None, "")?;
    Ok(list("NamespaceList", s.cluster.resource_version(), s.cluster.namespaces()))
}

async fn get_namespace(
    State(s): State<ApiState>,
    Path(ns): Path<String>,
) -> Result<Response, ApiError> {
    s.faults.authorize("get", "namespaces", Some(&ns), "")?;
    s.cluster.namespace(&ns).map(json_ok).ok_or_else(|| ApiError::not_found("namespaces", &ns))
}

/// The namespace of a path, if the route has one.
fn namespace(params: &HashMap<String, String>) -> Option<&str> {
    params.get("ns").map(String::as_str)
}

async fn list_services(
    State(s): State<ApiState>,
    Path(p): Path<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    s.faults.authorize("list", "services", None, namespace(&p).unwrap_or_default())?;
    let (services, rv) = (s.cluster.services(namespace(&p)), s.cluster.resource_version());
    if table::wanted(&headers) {
        return Ok(json_ok(table::services(&services, rv)));
    }
    Ok(list("ServiceList", rv, services))
}

async fn get_service(
    State(s): State<ApiState>,
    Path((ns, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    s.faults.authorize("get", "services", Some(&name), &ns)?;
    s.cluster.service(&ns, &name).map(json_ok).ok_or_else(|| ApiError::not_found("services", &name))
}

/// Endpoints as the endpoints controller derives them: the Service's Ready pods.
fn endpoints_of(cluster: &Cluster, ns: &str, name: &str) -> Option<Endpoints> {
    let service = cluster.service(ns, name)?;
    let spec = service.spec.clone().unwrap_or_default();
    let selector = spec.selector.clone().unwrap_or_default();
    let (pods, _) = cluster.pods(Some(ns));
    let address = |pod: &Pod| EndpointAddress {
        ip: pod.status.as_ref().and_then(|s| s.pod_ip.clone()).unwrap_or_default(),
        node_name: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
        target_ref: Some(ObjectReference {
            kind: Some("Pod".into()),
            name: Some(name_of(pod).to_owned()),
            namespace: Some(ns.to_owned()),
            uid: pod.metadata.uid.clone(),
            ..ObjectReference::default()
        }),
        ..EndpointAddress::default()
    };
    let selected: Vec<&Pod> = pods
        .iter()
        .filter(|p| {
            let labels = p.metadata.labels.clone().unwrap_or_default();
            !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
        })
        .collect();
    let ready: Vec<EndpointAddress> =
        selected.iter().filter(|p| is_ready(p)).map(|p| address(p)).collect();
    let not_ready: Vec<EndpointAddress> =
        selected.iter().filter(|p| !is_ready(p)).map(|p| address(p)).collect();
    let ports = spec.ports.unwrap_or_default().into_iter().map(|p| EndpointPort {
        name: p.name,
        port: match p.target_port {
            Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(port)) => port,
            _ => p.port,
        },
        protocol: p.protocol,
        ..EndpointPort::default()
    });
    let mut endpoints = Endpoints::default();
    endpoints.metadata.name = Some(name.to_owned());
    endpoints.metadata.namespace = Some(ns.to_owned());
    endpoints.metadata.labels = service.metadata.labels.clone();
    endpoints.metadata.creation_timestamp = service.metadata.creation_timestamp.clone();
    endpoints.subsets = Some(vec![EndpointSubset {
        addresses: (!ready.is_empty()).then_some(ready),
        not_ready_addresses: (!not_ready.is_empty()).then_some(not_ready),
        ports: Some(ports.collect()),
    }]);
    Some(endpoints)
}

async fn list_endpoints(
    State(s): State<ApiState>,
    Path(ns): Path<String>,
) -> Result<Response, ApiError> {
    s.faults.authorize("list", "endpoints", None, &ns)?;
    let items: Vec<Endpoints> = s
        .cluster
        .services(Some(&ns))
        .iter()
        .filter_map(|svc| endpoints_of(&s.cluster, &ns, svc.metadata.name.as_deref()?))
        .collect();
    Ok(list("EndpointsList", s.cluster.resource_version(), items))
}

async fn get_endpoints(
    State(s): State<ApiState>,
    Path((ns, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    s.faults.authorize("get", "endpoints", Some(&name), &ns)?;
    endpoints_of(&s.cluster, &ns, &name)
        .map(json_ok)
        .ok_or_else(|| ApiError::not_found("endpoints", &name))
}

async fn list_secrets(
    State(s): State<ApiState>,
    Path(p): Path<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    s.faults.authorize("list", "secrets", None, namespace(&p).unwrap_or_default())?;
    Ok(list("SecretList", s.cluster.resource_version(), s.cluster.secrets(namespace(&p))))
}

async fn get_secret(
    State(s): State<ApiState>,
    Path((ns, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    s.faults.authorize("get", "secrets", Some(&name), &ns)?;
    s.cluster.secret(&ns, &name).map(json_ok).ok_or_else(|| ApiError::not_found("secrets", &name))
}

async fn get_pod(
    State(s): State<ApiState>,
    Path((ns, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    s.faults.authorize("get", "pods", Some(&name), &ns)?;
    s.cluster.pod(&ns, &name).map(json_ok).ok_or_else(|| ApiError::not_found("pods", &name))
}

async fn delete_pod(
    State(s): State<ApiState>,
    Path((ns, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    s.faults.authorize("delete", "pods", Some(&name), &ns)?;
    s.cluster.delete_pod(&ns, &name).map(json_ok)
}

/// Filters on a pod list or watch.
struct PodFilter {
    ns: Option<String>,
    labels: Selector,
    fields: FieldSelector,
}

impl PodFilter {
    fn new(ns: Option<&str>, q: &HashMap<String, String>) -> Result<PodFilter, ApiError> {
        let labels = Selector::parse(q.get("labelSelector").map_or("", String::as_str))
            .map_err(ApiError::bad_request)?;
        let fields = FieldSelector::parse(q.get("fieldSelector").map_or("", String::as_str))
            .map_err(ApiError::bad_request)?;
        Ok(PodFilter { ns: ns.map(str::to_owned), labels, fields })
    }

    fn matches(&self, pod: &Pod) -> bool {
        let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
        self.ns.as_deref().is_none_or(|n| n == ns)
            && self.labels.matches(pod.metadata.labels.as_ref())
            && self.fields.matches(name_of(pod), ns)
    }
}

async fn list_pods(
    State(s): State<ApiState>,
    Path(p): Path<HashMap<String, String>>,
    Query(q): Params,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let ns = namespace(&p);
    let filter = PodFilter::new(ns, &q)?;
    if matches!(q.get("watch").map(String::as_str), Some("true" | "1")) {
        s.faults.authorize("watch", "pods", None, ns.unwrap_or_default())?;
        return watch_pods(s, filter, &q);
    }
    s.faults.authorize("list", "pods", None, ns.unwrap_or_default())?;
    let (pods, rv) = s.cluster.pods(ns);
    let items: Vec<Pod> = pods.into_iter().filter(|p| filter.matches(p)).collect();
    if table::wanted(&headers) {
        return Ok(json_ok(table::pods(&items, rv)));
    }
    Ok(list("PodList", rv, items))
}

fn watch_pods(
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
async fn pod_log(
    State(s): State<ApiState>,
    Path((ns, name)): Path<(String, String)>,
    Query(q): Params,
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

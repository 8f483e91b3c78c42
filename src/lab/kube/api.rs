//! The REST surface: discovery, reads, pod watch and delete, logs. JSON as the real server
//! writes it; errors as `Status` objects.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use k8s_openapi::api::core::v1::{
    EndpointAddress, EndpointPort, EndpointSubset, Endpoints, ObjectReference, Pod,
};
use serde::Serialize;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::faults::Faults;
use super::objects::{is_ready, name_of};
use super::selector::{FieldSelector, Selector};
use super::status::ApiError;
use super::store::Cluster;
use super::{streams, table};

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
        .route(&format!("{ns}/pods/{{name}}/log"), get(streams::pod_log))
        .route(
            &format!("{ns}/pods/{{name}}/portforward"),
            get(super::portforward::handle).post(super::portforward::handle),
        )
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
pub(super) struct PodFilter {
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

    pub(super) fn matches(&self, pod: &Pod) -> bool {
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
        return streams::watch_pods(s, filter, &q);
    }
    s.faults.authorize("list", "pods", None, ns.unwrap_or_default())?;
    let (pods, rv) = s.cluster.pods(ns);
    let items: Vec<Pod> = pods.into_iter().filter(|p| filter.matches(p)).collect();
    if table::wanted(&headers) {
        return Ok(json_ok(table::pods(&items, rv)));
    }
    Ok(list("PodList", rv, items))
}

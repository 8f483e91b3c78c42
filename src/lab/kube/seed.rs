//! The objects every lab starts with: namespace `mcp`, Serena's Service and pod, the MCP
//! gateway's Service and pod, and the gateway's JWT secret.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Secret, Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::objects::{PodTemplate, suffix};
use super::store::{Cluster, PodInstances, Workload};

pub const NAMESPACE: &str = "mcp";
pub const SERENA: &str = "serena-mcp";
pub const GATEWAY: &str = "mcp-gateway-mcp-bridge-gateway";
pub const GATEWAY_SECRET: &str = "mcp-gateway-mcp-bridge-secrets";
pub const GATEWAY_SECRET_KEY: &str = "jwt-secret-key";

/// The addresses that serve the seeded pods' ports.
#[derive(Debug, Clone, Default)]
pub struct Backends {
    /// Serena's MCP port (8080) on the first pod.
    pub serena: Option<SocketAddr>,
    /// Each Serena pod's own server on 8080: a replacement gets a new one. `None`: every pod
    /// is served by `serena`.
    pub serena_instances: Option<PodInstances>,
    /// The gateway's MCP port (8443).
    pub gateway: Option<SocketAddr>,
    /// The gateway's health port (8080).
    pub gateway_health: Option<SocketAddr>,
}

/// What the seed made.
#[derive(Debug, Clone)]
pub struct Seeded {
    pub serena_pod: String,
    pub gateway_pod: String,
    /// The gateway's JWT signing secret, as stored in the Secret.
    pub jwt_secret: String,
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn service(
    name: &str,
    cluster_ip: &str,
    selector: &BTreeMap<String, String>,
    ports: &[(&str, u16)],
) -> Service {
    let mut svc = Service::default();
    svc.metadata.name = Some(name.into());
    svc.metadata.namespace = Some(NAMESPACE.into());
    svc.metadata.labels = Some(selector.clone());
    svc.spec = Some(ServiceSpec {
        type_: Some("ClusterIP".into()),
        cluster_ip: Some(cluster_ip.into()),
        selector: Some(selector.clone()),
        ports: Some(
            ports
                .iter()
                .map(|(port_name, port)| ServicePort {
                    name: Some((*port_name).into()),
                    port: i32::from(*port),
                    target_port: Some(IntOrString::Int(i32::from(*port))),
                    protocol: Some("TCP".into()),
                    ..ServicePort::default()
                })
                .collect(),
        ),
        ..ServiceSpec::default()
    });
    svc
}

/// Seeds the cluster with a fresh JWT secret. Replacement pods turn Ready `ready_delay` after
/// they start.
pub fn seed(cluster: &Cluster, backends: &Backends, ready_delay: Duration) -> Seeded {
    seed_with_secret(cluster, backends, ready_delay, super::random_token())
}

/// Seeds the cluster with `jwt_secret` in the gateway's Secret: the one the gateway serving
/// `backends.gateway` checks tokens with.
pub fn seed_with_secret(
    cluster: &Cluster,
    backends: &Backends,
    ready_delay: Duration,
    jwt_secret: String,
) -> Seeded {
    cluster.add_namespace("default");
    cluster.add_namespace(NAMESPACE);

    let serena_labels = labels(&[("app", SERENA)]);
    cluster.add_service(service(
        SERENA,
        "10.96.0.10",
        &serena_labels,
        &[("http", 8080), ("dashboard", 24282)],
    ));
    let serena_pod = cluster.add_workload(Workload {
        template: PodTemplate {
            namespace: NAMESPACE.into(),
            name: SERENA.into(),
            labels: serena_labels,
            image: "ghcr.io/oraios/serena:latest".into(),
            ports: vec![("http".into(), 8080), ("dashboard".into(), 24282)],
            hash: suffix(10),
        },
        backends: backends.serena.map(|a| HashMap::from([(8080, a)])).unwrap_or_default(),
        ready_delay,
        instances: backends.serena_instances.clone(),
    });

    let gateway_labels = labels(&[
        ("app.kubernetes.io/name", "mcp-bridge"),
        ("app.kubernetes.io/component", "gateway"),
    ]);
    cluster.add_service(service(
        GATEWAY,
        "10.96.0.11",
        &gateway_labels,
        &[("https", 8443), ("health", 8080), ("metrics", 9090)],
    ));
    let mut gateway_backends = HashMap::new();
    gateway_backends.extend(backends.gateway.map(|a| (8443, a)));
    gateway_backends.extend(backends.gateway_health.map(|a| (8080, a)));
    let gateway_pod = cluster.add_workload(Workload {
        template: PodTemplate {
            namespace: NAMESPACE.into(),
            name: GATEWAY.into(),
            labels: gateway_labels,
            image: "ghcr.io/actual-software/mcp-bridge-gateway:1.0.0-rc2".into(),
            ports: vec![("https".into(), 8443), ("health".into(), 8080), ("metrics".into(), 9090)],
            hash: suffix(10),
        },
        backends: gateway_backends,
        ready_delay,
        instances: None,
    });

    let mut secret = Secret::default();
    secret.metadata.name = Some(GATEWAY_SECRET.into());
    secret.metadata.namespace = Some(NAMESPACE.into());
    secret.type_ = Some("Opaque".into());
    secret.data = Some(BTreeMap::from([(
        GATEWAY_SECRET_KEY.into(),
        ByteString(jwt_secret.clone().into_bytes()),
    )]));
    cluster.add_secret(secret);

    Seeded { serena_pod, gateway_pod, jwt_secret }
}

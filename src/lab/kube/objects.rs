//! Building the objects the fake cluster serves, shaped like a real cluster's.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Container, ContainerPort, ContainerState, ContainerStateRunning, ContainerStatus, Pod,
    PodCondition, PodSpec, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use k8s_openapi::jiff::Timestamp;
use rand::Rng;

/// Readiness as the engine judges it; the lab's endpoints and tests use the same rule.
pub use crate::forward::target::is_ready;

/// What a pod is made from: what a Deployment's template would say.
#[derive(Debug, Clone)]
pub struct PodTemplate {
    pub namespace: String,
    /// The Deployment's name; pods are `NAME-HASH-XXXXX`.
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub image: String,
    /// Container ports, named.
    pub ports: Vec<(String, u16)>,
    /// The ReplicaSet's pod-template hash.
    pub hash: String,
}

/// Random characters as Kubernetes uses them in generated names.
pub fn suffix(len: usize) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::rng();
    (0..len).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

pub fn uid() -> String {
    let mut rng = rand::rng();
    let hex = |n: usize, rng: &mut rand::rngs::ThreadRng| -> String {
        (0..n).map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0')).collect()
    };
    format!(
        "{}-{}-{}-{}-{}",
        hex(8, &mut rng),
        hex(4, &mut rng),
        hex(4, &mut rng),
        hex(4, &mut rng),
        hex(12, &mut rng)
    )
}

/// A new pod of the template, running, Ready or not yet.
pub fn new_pod(template: &PodTemplate, ip: &str, ready: bool) -> Pod {
    let name = format!("{}-{}-{}", template.name, template.hash, suffix(5));
    let now = Time(Timestamp::now());
    let mut labels = template.labels.clone();
    labels.insert("pod-template-hash".into(), template.hash.clone());
    let replica_set = format!("{}-{}", template.name, template.hash);
    let pod = Pod {
        metadata: ObjectMeta {
            name: Some(name),
            generate_name: Some(format!("{replica_set}-")),
            namespace: Some(template.namespace.clone()),
            uid: Some(uid()),
            labels: Some(labels),
            creation_timestamp: Some(now.clone()),
            owner_references: Some(vec![OwnerReference {
                api_version: "apps/v1".into(),
                kind: "ReplicaSet".into(),
                name: replica_set,
                uid: uid(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            containers: vec![Container {
                name: template.name.clone(),
                image: Some(template.image.clone()),
                ports: Some(
                    template
                        .ports
                        .iter()
                        .map(|(name, port)| ContainerPort {
                            name: Some(name.clone()),
                            container_port: i32::from(*port),
                            protocol: Some("TCP".into()),
                            ..ContainerPort::default()
                        })
                        .collect(),
                ),
                ..Container::default()
            }],
            node_name: Some("lab-node".into()),
            ..PodSpec::default()
        }),
        status: Some(PodStatus {
            phase: Some("Running".into()),
            pod_ip: Some(ip.to_owned()),
            host_ip: Some("192.0.2.10".into()),
            start_time: Some(now.clone()),
            container_statuses: Some(vec![ContainerStatus {
                name: template.name.clone(),
                image: template.image.clone(),
                image_id: format!("{}@sha256:{}", template.image, "0".repeat(64)),
                ready: false,
                started: Some(true),
                restart_count: 0,
                state: Some(ContainerState {
                    running: Some(ContainerStateRunning { started_at: Some(now) }),
                    ..ContainerState::default()
                }),
                ..ContainerStatus::default()
            }]),
            ..PodStatus::default()
        }),
    };
    with_ready(pod, ready)
}

/// The pod with its Ready condition (and its container's readiness) set.
pub fn with_ready(mut pod: Pod, ready: bool) -> Pod {
    let status = pod.status.get_or_insert_with(PodStatus::default);
    let value = if ready { "True" } else { "False" };
    let now = Time(Timestamp::now());
    let condition = |type_: &str| PodCondition {
        type_: type_.into(),
        status: value.into(),
        last_transition_time: Some(now.clone()),
        ..PodCondition::default()
    };
    status.conditions = Some(vec![
        PodCondition {
            type_: "PodScheduled".into(),
            status: "True".into(),
            ..PodCondition::default()
        },
        PodCondition {
            type_: "Initialized".into(),
            status: "True".into(),
            ..PodCondition::default()
        },
        condition("ContainersReady"),
        condition("Ready"),
    ]);
    for container in status.container_statuses.iter_mut().flatten() {
        container.ready = ready;
    }
    pod
}

pub fn name_of(pod: &Pod) -> &str {
    pod.metadata.name.as_deref().unwrap_or_default()
}

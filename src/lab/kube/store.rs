//! The fake cluster's objects, resource versions and watch history.
//!
//! One lock guards everything; watchers subscribe under it, so no event falls between a
//! list and a watch. Pods owned by a workload are replaced, as a Deployment would. A workload
//! may give each pod its own server ([`PodInstances`]): a replacement starts with a fresh one
//! and turns Ready once it listens; a pod's server stops when the pod is gone.

use std::any::Any;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::{Namespace, Pod, Secret, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::objects::{self, PodTemplate};
use super::status::ApiError;

/// `(namespace, name)`.
pub type Key = (String, String);

/// How long a deleted pod stays Terminating before it is gone.
const GRACE: Duration = Duration::from_millis(300);
/// Watch events kept for watchers that resume from a resource version.
const HISTORY: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Added,
    Modified,
    Deleted,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Added => "ADDED",
            EventKind::Modified => "MODIFIED",
            EventKind::Deleted => "DELETED",
        }
    }
}

#[derive(Debug, Clone)]
pub struct PodEvent {
    pub rv: u64,
    pub kind: EventKind,
    pub pod: Pod,
}

/// Where a port-forward goes, and what ends it.
#[derive(Debug, Clone)]
pub struct ForwardTarget {
    /// The address serving the port; `None` when nothing listens on it in the pod.
    pub backend: Option<SocketAddr>,
    /// Cancelled when the pod is gone.
    pub pod_gone: CancellationToken,
    /// Cancelled when a test cuts every forward.
    pub cut: CancellationToken,
    pub uid: String,
}

/// A server started for one pod: it serves the pod's port at `addr` until `held` is dropped.
pub struct Instance {
    pub addr: SocketAddr,
    pub held: Box<dyn Any + Send>,
}

/// Starts a pod's own server, given the pod's name and, to start it again where it was, its
/// address. An error is said in the pod's log, and the pod never turns Ready.
pub type StartInstance = Arc<
    dyn Fn(String, Option<SocketAddr>) -> BoxFuture<'static, Result<Instance, String>>
        + Send
        + Sync,
>;

/// Each pod of a workload gets its own server on `port`, as each pod of a Deployment runs its
/// own container: a replacement starts with none of the old one's state.
#[derive(Clone)]
pub struct PodInstances {
    pub port: u16,
    pub start: StartInstance,
}

impl fmt::Debug for PodInstances {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PodInstances").field("port", &self.port).finish_non_exhaustive()
    }
}

/// Pods made from a template, with the addresses that serve their container ports.
#[derive(Debug, Clone)]
pub struct Workload {
    pub template: PodTemplate,
    /// What serves the first pod's ports; a replacement's too, but for the port of
    /// `instances`, which it gets from there.
    pub backends: HashMap<u16, SocketAddr>,
    /// How long a replacement pod takes to turn Ready.
    pub ready_delay: Duration,
    /// Each pod's own server on one port. The first pod's is the caller's: its address is in
    /// `backends`, and the caller hands it over with [`Cluster::attach_instance`].
    pub instances: Option<PodInstances>,
}

struct PodState {
    pod: Pod,
    workload: Option<Key>,
    backends: HashMap<u16, SocketAddr>,
    /// The pod's own server, stopped when the pod is gone.
    instance: Option<Instance>,
    logs: Vec<String>,
    log_tx: broadcast::Sender<String>,
    /// Cancelled when the pod is gone: ends its forwards and log follows.
    gone: CancellationToken,
}

#[derive(Default)]
struct Store {
    rv: u64,
    next_ip: u8,
    namespaces: BTreeMap<String, Namespace>,
    services: BTreeMap<Key, Service>,
    secrets: BTreeMap<Key, Secret>,
    pods: BTreeMap<Key, PodState>,
    workloads: BTreeMap<Key, Workload>,
    history: VecDeque<PodEvent>,
    /// Events at or below this version have left the history.
    floor: u64,
    cut: CancellationToken,
    /// Set by [`Cluster::stop_instances`]: an instance started later is stopped at once.
    closed: bool,
}

/// The objects of the fake cluster; cheap to clone.
#[derive(Clone)]
pub struct Cluster {
    store: Arc<Mutex<Store>>,
    events: broadcast::Sender<PodEvent>,
}

impl Default for Cluster {
    fn default() -> Self {
        Cluster { store: Arc::default(), events: broadcast::channel(1024).0 }
    }
}

fn key(ns: &str, name: &str) -> Key {
    (ns.to_owned(), name.to_owned())
}

impl Cluster {
    fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn resource_version(&self) -> u64 {
        self.lock().rv
    }

    pub fn add_namespace(&self, name: &str) {
        let mut s = self.lock();
        s.rv += 1;
        let mut ns = Namespace::default();
        ns.metadata.name = Some(name.into());
        ns.metadata.uid = Some(objects::uid());
        ns.metadata.resource_version = Some(s.rv.to_string());
        ns.metadata.creation_timestamp = Some(Time(Timestamp::now()));
        ns.status = Some(k8s_openapi::api::core::v1::NamespaceStatus {
            phase: Some("Active".into()),
            ..Default::default()
        });
        s.namespaces.insert(name.into(), ns);
    }

    pub fn add_service(&self, mut service: Service) {
        let mut s = self.lock();
        s.rv += 1;
        service.metadata.resource_version = Some(s.rv.to_string());
        service.metadata.uid = Some(objects::uid());
        service.metadata.creation_timestamp = Some(Time(Timestamp::now()));
        let ns = service.metadata.namespace.clone().unwrap_or_default();
        let name = service.metadata.name.clone().unwrap_or_default();
        s.services.insert((ns, name), service);
    }

    pub fn add_secret(&self, mut secret: Secret) {
        let mut s = self.lock();
        s.rv += 1;
        secret.metadata.resource_version = Some(s.rv.to_string());
        secret.metadata.uid = Some(objects::uid());
        secret.metadata.creation_timestamp = Some(Time(Timestamp::now()));
        let ns = secret.metadata.namespace.clone().unwrap_or_default();
        let name = secret.metadata.name.clone().unwrap_or_default();
        s.secrets.insert((ns, name), secret);
    }

    /// Registers a workload and starts its first pod, Ready at once. Answers the pod's name.
    pub fn add_workload(&self, workload: Workload) -> String {
        let wkey = key(&workload.template.namespace, &workload.template.name);
        let mut s = self.lock();
        s.workloads.insert(wkey.clone(), workload);
        self.start_pod(&mut s, &wkey, true)
    }

    /// Creates a pod of a workload (under the lock) and, when not Ready, schedules readiness.
    fn start_pod(&self, s: &mut Store, wkey: &Key, ready: bool) -> String {
        let Some(workload) = s.workloads.get(wkey).cloned() else { return String::new() };
        s.next_ip = s.next_ip.wrapping_add(1).max(2);
        let ip = format!("10.244.0.{}", s.next_ip);
        let mut pod = objects::new_pod(&workload.template, &ip, ready);
        let name = objects::name_of(&pod).to_owned();
        s.rv += 1;
        pod.metadata.resource_version = Some(s.rv.to_string());
        let (log_tx, _) = broadcast::channel(1024);
        let started = format!(
            "{} {name}: container {} started, serving {}",
            Timestamp::now(),
            workload.template.name,
            workload
                .template
                .ports
                .iter()
                .map(|(n, p)| format!("{n}:{p}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        let mut backends = workload.backends.clone();
        if !ready && let Some(instances) = &workload.instances {
            backends.remove(&instances.port);
        }
        let state = PodState {
            pod: pod.clone(),
            workload: Some(wkey.clone()),
            backends,
            instance: None,
            logs: vec![started],
            log_tx,
            gone: CancellationToken::new(),
        };
        s.pods.insert(key(&workload.template.namespace, &name), state);
        self.record(s, EventKind::Added, pod);
        if !ready {
            let cluster = self.clone();
            let (ns, pod_name) = (workload.template.namespace.clone(), name.clone());
            tokio::spawn(async move {
                // Its server starts while the pod waits for its readiness probe.
                let started = async {
                    let instances = workload.instances.as_ref()?;
                    Some((instances.port, (instances.start)(pod_name.clone(), None).await))
                };
                let (started, ()) = tokio::join!(started, tokio::time::sleep(workload.ready_delay));
                match started {
                    Some((port, Ok(instance))) => {
                        cluster.attach_instance(&ns, &pod_name, port, instance)
                    }
                    Some((_, Err(error))) => {
                        let line =
                            format!("{} {pod_name}: container failed: {error}", Timestamp::now());
                        return cluster.append_log(&ns, &pod_name, line);
                    }
                    None => {}
                }
                let _ = cluster.set_ready(&ns, &pod_name, true);
            });
        }
        name
    }

    /// Hands a pod its own server on `port`; stopped at once when the pod is gone already.
    pub fn attach_instance(&self, ns: &str, name: &str, port: u16, instance: Instance) {
        let mut s = self.lock();
        if s.closed {
            return;
        }
        if let Some(state) = s.pods.get_mut(&key(ns, name)) {
            state.backends.insert(port, instance.addr);
            let replaced = state.instance.replace(instance);
            drop(s);
            drop(replaced);
        }
    }

    /// Takes a pod's own server away, leaving its address: connections to the pod's port are
    /// refused once the caller stops it, as when a container's process dies.
    pub fn take_instance(&self, ns: &str, name: &str) -> Option<Instance> {
        self.lock().pods.get_mut(&key(ns, name)).and_then(|state| state.instance.take())
    }

    /// Stops every pod's own server, now and as they start: the lab is going away.
    pub fn stop_instances(&self) {
        let mut s = self.lock();
        s.closed = true;
        let instances: Vec<Instance> =
            s.pods.values_mut().filter_map(|state| state.instance.take()).collect();
        drop(s);
        drop(instances);
    }

    fn record(&self, s: &mut Store, kind: EventKind, pod: Pod) {
        let event = PodEvent { rv: s.rv, kind, pod };
        s.history.push_back(event.clone());
        while s.history.len() > HISTORY {
            if let Some(old) = s.history.pop_front() {
                s.floor = old.rv;
            }
        }
        let _ = self.events.send(event);
    }

    pub fn namespaces(&self) -> Vec<Namespace> {
        self.lock().namespaces.values().cloned().collect()
    }

    pub fn namespace(&self, name: &str) -> Option<Namespace> {
        self.lock().namespaces.get(name).cloned()
    }

    pub fn services(&self, ns: Option<&str>) -> Vec<Service> {
        let s = self.lock();
        s.services
            .iter()
            .filter(|((n, _), _)| ns.is_none_or(|ns| ns == n))
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub fn service(&self, ns: &str, name: &str) -> Option<Service> {
        self.lock().services.get(&key(ns, name)).cloned()
    }

    pub fn secrets(&self, ns: Option<&str>) -> Vec<Secret> {
        let s = self.lock();
        s.secrets
            .iter()
            .filter(|((n, _), _)| ns.is_none_or(|ns| ns == n))
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub fn secret(&self, ns: &str, name: &str) -> Option<Secret> {
        self.lock().secrets.get(&key(ns, name)).cloned()
    }

    /// Pods of a namespace (or all), with the version the list is consistent at.
    pub fn pods(&self, ns: Option<&str>) -> (Vec<Pod>, u64) {
        let s = self.lock();
        let pods = s
            .pods
            .iter()
            .filter(|((n, _), _)| ns.is_none_or(|ns| ns == n))
            .map(|(_, p)| p.pod.clone())
            .collect();
        (pods, s.rv)
    }

    pub fn pod(&self, ns: &str, name: &str) -> Option<Pod> {
        self.lock().pods.get(&key(ns, name)).map(|p| p.pod.clone())
    }

    /// Events after `since` and a subscription to those that follow, taken atomically.
    /// `None` (or 0) starts with a synthetic ADDED for every pod, as the real server does.
    pub fn watch_pods(
        &self,
        since: Option<u64>,
    ) -> Result<(Vec<PodEvent>, broadcast::Receiver<PodEvent>), ApiError> {
        let s = self.lock();
        let live = self.events.subscribe();
        let backlog = match since.filter(|rv| *rv > 0) {
            None => s
                .pods
                .values()
                .map(|p| PodEvent { rv: s.rv, kind: EventKind::Added, pod: p.pod.clone() })
                .collect(),
            Some(rv) if rv < s.floor => return Err(ApiError::gone(rv)),
            Some(rv) => s.history.iter().filter(|e| e.rv > rv).cloned().collect(),
        };
        Ok((backlog, live))
    }

    /// Marks the pod Terminating; it is gone after a short grace period, and its workload
    /// (if any) starts a replacement at once, Ready after the workload's delay.
    pub fn delete_pod(&self, ns: &str, name: &str) -> Result<Pod, ApiError> {
        let mut s = self.lock();
        let state =
            s.pods.get_mut(&key(ns, name)).ok_or_else(|| ApiError::not_found("pods", name))?;
        if state.pod.metadata.deletion_timestamp.is_some() {
            return Ok(state.pod.clone());
        }
        let mut pod = objects::with_ready(state.pod.clone(), false);
        pod.metadata.deletion_timestamp = Some(Time(Timestamp::now()));
        pod.metadata.deletion_grace_period_seconds = Some(0);
        let workload = state.workload.clone();
        s.rv += 1;
        pod.metadata.resource_version = Some(s.rv.to_string());
        if let Some(state) = s.pods.get_mut(&key(ns, name)) {
            state.pod = pod.clone();
            state
                .logs
                .push(format!("{} {name}: received SIGTERM, shutting down", Timestamp::now()));
        }
        self.record(&mut s, EventKind::Modified, pod.clone());
        if let Some(wkey) = workload {
            self.start_pod(&mut s, &wkey, false);
        }
        drop(s);
        let cluster = self.clone();
        let (ns, name) = (ns.to_owned(), name.to_owned());
        tokio::spawn(async move {
            tokio::time::sleep(GRACE).await;
            cluster.remove_pod(&ns, &name);
        });
        Ok(pod)
    }

    fn remove_pod(&self, ns: &str, name: &str) {
        let mut s = self.lock();
        if let Some(state) = s.pods.remove(&key(ns, name)) {
            state.gone.cancel();
            s.rv += 1;
            let mut pod = state.pod;
            pod.metadata.resource_version = Some(s.rv.to_string());
            self.record(&mut s, EventKind::Deleted, pod);
            // Its own server stops with it, outside the lock.
            drop(s);
            drop(state.instance);
        }
    }

    /// Sets a pod's Ready condition.
    pub fn set_ready(&self, ns: &str, name: &str, ready: bool) -> Result<(), ApiError> {
        let mut s = self.lock();
        let state =
            s.pods.get_mut(&key(ns, name)).ok_or_else(|| ApiError::not_found("pods", name))?;
        if state.pod.metadata.deletion_timestamp.is_some() {
            return Ok(());
        }
        let mut pod = objects::with_ready(state.pod.clone(), ready);
        let line = format!(
            "{} {name}: readiness probe {}",
            Timestamp::now(),
            if ready { "succeeded" } else { "failed" }
        );
        state.logs.push(line.clone());
        let _ = state.log_tx.send(line);
        s.rv += 1;
        pod.metadata.resource_version = Some(s.rv.to_string());
        if let Some(state) = s.pods.get_mut(&key(ns, name)) {
            state.pod = pod.clone();
        }
        self.record(&mut s, EventKind::Modified, pod);
        Ok(())
    }

    /// Ends every live port-forward stream.
    pub fn cut_forwards(&self) {
        let mut s = self.lock();
        s.cut.cancel();
        s.cut = CancellationToken::new();
    }

    /// Where a forward to `port` of the pod goes, and what ends it.
    pub fn forward_target(
        &self,
        ns: &str,
        name: &str,
        port: u16,
    ) -> Result<ForwardTarget, ApiError> {
        let s = self.lock();
        let state = s.pods.get(&key(ns, name)).ok_or_else(|| ApiError::not_found("pods", name))?;
        Ok(ForwardTarget {
            backend: state.backends.get(&port).copied(),
            pod_gone: state.gone.clone(),
            cut: s.cut.clone(),
            uid: state.pod.metadata.uid.clone().unwrap_or_default(),
        })
    }

    /// The address serving `port` on a live Ready pod of the workload `name`, as the
    /// workload's Service reaches it from inside the cluster.
    pub fn ready_backend(&self, ns: &str, name: &str, port: u16) -> Option<SocketAddr> {
        let s = self.lock();
        let wkey = key(ns, name);
        let ready = |pod: &Pod| objects::is_ready(pod) && pod.metadata.deletion_timestamp.is_none();
        s.pods
            .values()
            .filter(|state| state.workload.as_ref() == Some(&wkey) && ready(&state.pod))
            .find_map(|state| state.backends.get(&port).copied())
    }

    /// Appends a line to a pod's log.
    pub fn append_log(&self, ns: &str, name: &str, line: impl Into<String>) {
        let mut s = self.lock();
        if let Some(state) = s.pods.get_mut(&key(ns, name)) {
            let line = line.into();
            state.logs.push(line.clone());
            let _ = state.log_tx.send(line);
        }
    }

    /// The log so far and, to follow it, a subscription that ends when the pod is gone.
    pub fn logs(
        &self,
        ns: &str,
        name: &str,
    ) -> Result<(Vec<String>, broadcast::Receiver<String>, CancellationToken), ApiError> {
        let s = self.lock();
        let state = s.pods.get(&key(ns, name)).ok_or_else(|| ApiError::not_found("pods", name))?;
        Ok((state.logs.clone(), state.log_tx.subscribe(), state.gone.clone()))
    }
}

//! Which pod a forward goes to: the Service's selector, then its Ready pods, watched with a
//! kube-rs reflector (no polling). The choice is published on a `watch` channel.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::runtime::utils::WatchStreamExt;
use kube::runtime::{reflector, watcher};
use kube::{Api, Client};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::explain::{Doing, Explained, explain, no_answer};
use crate::kubeconfig::ApiServer;

/// The pod a forward goes to, and the port on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub pod: String,
    pub port: u16,
}

/// What the tracker knows: the pod to use, and any trouble reaching the API.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tracking {
    pub target: Option<Target>,
    pub trouble: Option<Explained>,
    /// The pod watch has listed the pods (or failed to) at least once: until then, no pod
    /// means nothing yet, not "none is Ready".
    pub listed: bool,
}

/// The Service's port, as its pods see it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PodPort {
    Number(u16),
    Named(String),
}

/// A Service resolved to what selects its pods.
#[derive(Debug, Clone)]
pub struct Selected {
    selector: BTreeMap<String, String>,
    port: PodPort,
}

impl Selected {
    /// The selector as `kubectl -l` takes it: `app=serena-mcp`.
    pub fn selector(&self) -> String {
        self.selector.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
    }
}

/// Reads the Service and finds the pod port behind `port`. An API server that does not answer
/// within [`super::API_ANSWER`] is an error (a transient one), not a wait without end.
pub async fn resolve(
    client: &Client,
    namespace: &str,
    service: &str,
    port: u16,
    api_server: &ApiServer,
) -> Result<Selected, Explained> {
    let api: Api<Service> = Api::namespaced(client.clone(), namespace);
    let svc = tokio::time::timeout(super::API_ANSWER, api.get(service))
        .await
        .map_err(|_| no_answer(api_server, super::API_ANSWER))?
        .map_err(|e| explain(&e, Doing::GetService { namespace, service }, api_server))?;
    let spec = svc.spec.unwrap_or_default();
    let selector = spec.selector.unwrap_or_default();
    if selector.is_empty() {
        return Err(Explained::new(
            format!("svc/{service} has no selector, so no pods to forward to"),
            "forward to a Service that selects pods (Services backed by manual Endpoints \
                  are not supported)",
            false,
        ));
    }
    let ports = spec.ports.unwrap_or_default();
    let Some(found) = ports.iter().find(|p| i32::from(port) == p.port) else {
        let have: Vec<String> = ports
            .iter()
            .map(|p| {
                format!(
                    "{}{}",
                    p.port,
                    p.name.as_deref().map(|n| format!("/{n}")).unwrap_or_default()
                )
            })
            .collect();
        return Err(Explained::new(
            format!("svc/{service} has no port {port} (it has {})", have.join(", ")),
            "set the profile's remote_port to one of the Service's ports",
            false,
        ));
    };
    let port = match &found.target_port {
        Some(IntOrString::Int(n)) => PodPort::Number(u16::try_from(*n).unwrap_or(port)),
        Some(IntOrString::String(name)) => PodPort::Named(name.clone()),
        None => PodPort::Number(port),
    };
    Ok(Selected { selector, port })
}

/// Whether a pod takes traffic: its Ready condition is True and it is not terminating.
pub fn is_ready(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_none()
        && pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn pod_port(pod: &Pod, port: &PodPort) -> Option<u16> {
    match port {
        PodPort::Number(n) => Some(*n),
        PodPort::Named(name) => pod
            .spec
            .as_ref()?
            .containers
            .iter()
            .flat_map(|c| c.ports.iter().flatten())
            .find(|p| p.name.as_deref() == Some(name))
            .and_then(|p| u16::try_from(p.container_port).ok()),
    }
}

/// The pod to forward to: the current one while it stays Ready, else the newest Ready pod.
fn choose(pods: &[Arc<Pod>], current: Option<&Target>, port: &PodPort) -> Option<Target> {
    let ready = || pods.iter().filter(|p| is_ready(p));
    let name = |p: &Pod| p.metadata.name.clone().unwrap_or_default();
    if let Some(current) = current
        && ready().any(|p| name(p) == current.pod)
    {
        return Some(current.clone());
    }
    let newest = ready().max_by(|a, b| {
        let created = |p: &Pod| p.metadata.creation_timestamp.as_ref().map(|t| t.0);
        created(a).cmp(&created(b)).then_with(|| name(a).cmp(&name(b)))
    })?;
    Some(Target { pod: name(newest), port: pod_port(newest, port)? })
}

/// Tells the tracker that the API server answered again (a port-forward stream opened), which
/// ends a transient trouble of the watch. The watch cannot say so itself: resumed after an
/// outage, it yields nothing until a pod changes.
#[derive(Clone)]
pub struct Answered(watch::Sender<Tracking>);

impl Answered {
    pub fn answered(&self) {
        self.0.send_if_modified(|tracking| {
            let over = tracking.trouble.as_ref().is_some_and(|t| t.transient);
            if over {
                tracking.trouble = None;
            }
            over
        });
    }
}

/// Watches the selected pods until `cancel`, publishing each change of choice or trouble.
pub fn track(
    client: Client,
    namespace: String,
    selected: Selected,
    api_server: ApiServer,
    cancel: CancellationToken,
) -> (watch::Receiver<Tracking>, Answered) {
    let (tx, rx) = watch::channel(Tracking::default());
    let answered = Answered(tx.clone());
    let api: Api<Pod> = Api::namespaced(client, &namespace);
    let config = watcher::Config::default().labels(&selected.selector());
    let (store, writer) = reflector::store();
    let stream = watcher(api, config).backoff(super::retry()).reflect(writer);
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        loop {
            let item = tokio::select! {
                _ = cancel.cancelled() => return,
                item = stream.next() => item,
            };
            let Some(item) = item else { return };
            tx.send_if_modified(|tracking| {
                let before = tracking.clone();
                match &item {
                    Err(err) => {
                        tracking.trouble = Some(explain_watch(err, &namespace, &api_server));
                        tracking.listed = true;
                    }
                    Ok(watcher::Event::Init | watcher::Event::InitApply(_)) => {}
                    Ok(_) => {
                        tracking.trouble = None;
                        tracking.listed = true;
                        let pods = store.state();
                        tracking.target = choose(&pods, tracking.target.as_ref(), &selected.port);
                    }
                }
                *tracking != before
            });
        }
    });
    (rx, answered)
}

fn explain_watch(err: &watcher::Error, namespace: &str, api: &ApiServer) -> Explained {
    let doing = Doing::WatchPods { namespace };
    match err {
        watcher::Error::InitialListFailed(e)
        | watcher::Error::WatchStartFailed(e)
        | watcher::Error::WatchFailed(e) => explain(e, doing, api),
        watcher::Error::WatchError(status) => {
            explain(&kube::Error::Api(status.clone()), doing, api)
        }
        watcher::Error::NoResourceVersion => Explained::new(
            "the API server sent pods without a resourceVersion",
            "retrying; the API server or a proxy in front of it is misbehaving",
            true,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{PodCondition, PodStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use k8s_openapi::jiff::Timestamp;

    fn pod(name: &str, ready: bool, created_secs: i64) -> Arc<Pod> {
        let mut pod = Pod::default();
        pod.metadata.name = Some(name.into());
        pod.metadata.creation_timestamp = Some(Time(Timestamp::from_second(created_secs).unwrap()));
        pod.status = Some(PodStatus {
            conditions: Some(vec![PodCondition {
                type_: "Ready".into(),
                status: if ready { "True" } else { "False" }.into(),
                ..PodCondition::default()
            }]),
            ..PodStatus::default()
        });
        Arc::new(pod)
    }

    #[test]
    fn keeps_the_current_pod_while_ready_else_takes_the_newest_ready() {
        let port = PodPort::Number(8080);
        let current = Target { pod: "a".into(), port: 8080 };
        let pods = [pod("a", true, 1), pod("b", true, 2)];
        assert_eq!(choose(&pods, Some(&current), &port).unwrap().pod, "a");
        assert_eq!(choose(&pods, None, &port).unwrap().pod, "b");
        let pods = [pod("a", false, 1), pod("b", true, 2), pod("c", false, 3)];
        assert_eq!(choose(&pods, Some(&current), &port).unwrap().pod, "b");
        assert_eq!(choose(&[pod("a", false, 1)], Some(&current), &port), None);
    }
}

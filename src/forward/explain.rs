//! Kubernetes errors, explained: what went wrong in the user's words, and how to fix it.

use kube::Error;

use crate::kubeconfig::plugin;
use crate::trouble::Trouble;

/// An error as the user should read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explained {
    pub trouble: Trouble,
    /// Whether retrying can help without the user doing something (API down, restarting).
    pub transient: bool,
}

impl Explained {
    pub fn new(cause: impl Into<String>, fix: impl Into<String>, transient: bool) -> Explained {
        Explained { trouble: Trouble::new(cause, fix), transient }
    }
}

/// What was being done when the error came.
#[derive(Debug, Clone, Copy)]
pub enum Doing<'a> {
    GetService { namespace: &'a str, service: &'a str },
    WatchPods { namespace: &'a str },
    PortForward { namespace: &'a str, pod: &'a str },
    FollowLogs { namespace: &'a str, pod: &'a str },
}

impl Doing<'_> {
    /// The RBAC permission the operation needs: verb, resource, namespace.
    fn permission(&self) -> (&'static str, &'static str, &str) {
        match *self {
            Doing::GetService { namespace, .. } => ("get", "services", namespace),
            Doing::WatchPods { namespace } => ("watch", "pods", namespace),
            Doing::PortForward { namespace, .. } => ("create", "pods/portforward", namespace),
            Doing::FollowLogs { namespace, .. } => ("get", "pods/log", namespace),
        }
    }
}

pub fn explain(err: &Error, doing: Doing<'_>) -> Explained {
    // A credential plugin that starts failing mid-run: a new token is needed, not a retry.
    if let Some(auth) = plugin::cause_in(err)
        && let Some(trouble) = plugin::explain(auth, None)
    {
        return Explained { trouble, transient: false };
    }
    let (verb, resource, namespace) = doing.permission();
    match err {
        Error::Api(status) if status.code == 403 => Explained::new(
            format!(
                "the cluster denied `{verb}` on {resource} in namespace {namespace}: {}",
                status.message
            ),
            format!(
                "ask a cluster admin for a Role granting `{verb}` on `{resource}` in `{namespace}` \
                 (check with `kubectl auth can-i {verb} {resource} -n {namespace}`), or use a \
                 context that has it"
            ),
            false,
        ),
        Error::Api(status) if status.code == 401 => Explained::new(
            "the cluster rejected the credentials in the kubeconfig (401 Unauthorized)",
            "refresh them (log in again, or regenerate the kubeconfig, e.g. `aws eks \
             update-kubeconfig`)",
            false,
        ),
        Error::Api(status) if status.code == 404 => {
            let (cause, fix) = match doing {
                Doing::GetService { namespace, service } => (
                    format!("svc/{service} does not exist in namespace {namespace}"),
                    format!(
                        "check the profile's service and namespace (`kubectl get svc -n {namespace}`)"
                    ),
                ),
                Doing::PortForward { pod, .. } | Doing::FollowLogs { pod, .. } => (
                    format!("pod {pod} is gone"),
                    "nothing to do: the forward moves to the next Ready pod".into(),
                ),
                Doing::WatchPods { namespace } => (
                    format!("namespace {namespace} does not exist"),
                    "check the profile's namespace (`kubectl get ns`)".into(),
                ),
            };
            let transient = matches!(doing, Doing::PortForward { .. } | Doing::FollowLogs { .. });
            Explained::new(cause, fix, transient)
        }
        Error::Api(status) => Explained::new(
            format!("the API server answered {}: {}", status.code, status.message),
            "retrying; if it persists, check the API server's health",
            true,
        ),
        other => Explained::new(
            format!("cannot reach the API server: {}", chain(other)),
            "retrying; check your network or VPN, and that the cluster is up (`kubectl \
                  cluster-info`)",
            true,
        ),
    }
}

/// An error with its sources, `a: b: c`.
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        let next = inner.to_string();
        if !text.contains(&next) {
            text = format!("{text}: {next}");
        }
        source = inner.source();
    }
    text
}

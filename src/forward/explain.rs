//! Kubernetes errors, explained: what went wrong in the user's words, and how to fix it.

use std::io::ErrorKind;
use std::time::Duration;

use kube::Error;

use crate::kubeconfig::{ApiServer, plugin};
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

/// `err`, met while `doing` something against `api`, explained.
pub fn explain(err: &Error, doing: Doing<'_>, api: &ApiServer) -> Explained {
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
        Error::Service(_) | Error::HyperError(_) => Explained::new(
            format!("cannot reach the API server {api}: {}", network_detail(err)),
            unreachable_fix(api),
            true,
        ),
        other => Explained::new(
            format!("cannot reach the API server {api}: {}", chain(other)),
            unreachable_fix(api),
            true,
        ),
    }
}

/// An API server that took longer than `within` to answer: one that accepts connections and
/// never answers (a dead VPN, a half-open load balancer) looks like this.
pub fn no_answer(api: &ApiServer, within: Duration) -> Explained {
    Explained::new(
        format!("the API server {api} did not answer within {} s", within.as_secs()),
        unreachable_fix(api),
        true,
    )
}

fn unreachable_fix(api: &ApiServer) -> String {
    format!(
        "check your network or VPN and that the cluster is up (`{}`); the forward retries on its \
         own",
        api.cluster_info()
    )
}

/// What went wrong on the way to the API server, in a few words: the I/O error's kind when it
/// says it ("connection refused"), else the innermost cause (a DNS or TLS failure's own text)
/// rather than hyper's and kube's wrapping of it.
fn network_detail(err: &Error) -> String {
    let specific = |kind: &ErrorKind| {
        matches!(
            kind,
            ErrorKind::ConnectionRefused
                | ErrorKind::ConnectionReset
                | ErrorKind::ConnectionAborted
                | ErrorKind::NotConnected
                | ErrorKind::TimedOut
                | ErrorKind::HostUnreachable
                | ErrorKind::NetworkUnreachable
                | ErrorKind::NetworkDown
                | ErrorKind::AddrNotAvailable
                | ErrorKind::BrokenPipe
                | ErrorKind::UnexpectedEof
        )
    };
    match crate::net::io_kind(err) {
        Some(kind) if specific(&kind) => kind.to_string(),
        _ => crate::net::innermost(err),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn lab() -> ApiServer {
        ApiServer { url: "https://127.0.0.1:6443".into(), context: "lab".into() }
    }

    fn service_error(io: std::io::Error) -> Error {
        #[derive(Debug, thiserror::Error)]
        #[error("client error (Connect)")]
        struct Wrapper(#[source] std::io::Error);
        Error::Service(Box::new(Wrapper(io)))
    }

    #[test]
    fn an_unreachable_api_server_is_named_with_its_address_context_and_the_innermost_cause() {
        let refused = service_error(std::io::Error::from(ErrorKind::ConnectionRefused));
        let doing = Doing::GetService { namespace: "mcp", service: "serena-mcp" };
        let explained = explain(&refused, doing, &lab());
        assert_eq!(
            explained.trouble.cause,
            "cannot reach the API server https://127.0.0.1:6443 (context lab): connection refused"
        );
        assert_eq!(
            explained.trouble.fix,
            "check your network or VPN and that the cluster is up (`kubectl --context lab \
             cluster-info`); the forward retries on its own"
        );
        assert!(explained.transient);

        let dns = service_error(std::io::Error::other("failed to lookup address information"));
        let explained = explain(&dns, doing, &lab());
        assert!(explained.trouble.cause.ends_with(": failed to lookup address information"));
    }

    #[test]
    fn a_silent_api_server_is_named_with_how_long_it_was_given() {
        let explained = no_answer(&lab(), Duration::from_secs(3));
        assert_eq!(
            explained.trouble.cause,
            "the API server https://127.0.0.1:6443 (context lab) did not answer within 3 s"
        );
        assert!(explained.transient);
    }
}

/// The pod refused a connection on its port (the port-forward's error channel said so): the
/// pod is Ready, but nothing listens in it — its server died or has not started — until a
/// liveness probe or a person restarts it.
pub fn pod_refused(namespace: &str, pod: &str, message: &str) -> Trouble {
    let lower = message.to_ascii_lowercase();
    let port = lower
        .split("localhost:")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .filter(|digits| !digits.is_empty());
    let on = port.map(|p| format!(" on its port {p}")).unwrap_or_default();
    let fix = format!(
        "check its log (`kubectl logs -n {namespace} {pod}`) and restart it (`kubectl delete pod \
         -n {namespace} {pod}`); requests go through again once something listens"
    );
    if lower.contains("connection refused") {
        let cause = format!(
            "pod {pod} is Ready, but nothing answers{on}: its server has stopped or not started \
             (the pod refused the connection)"
        );
        return Trouble::new(cause, fix);
    }
    let cause =
        format!("pod {pod} did not take the connection: {}", crate::net::first_line(message));
    Trouble::new(cause, fix)
}

#[cfg(test)]
mod pod_tests {
    use super::pod_refused;

    #[test]
    fn a_refused_port_names_the_pod_its_port_and_how_to_restart_it() {
        let message = "error forwarding port 8080 to pod 86d7, uid : failed to execute portforward \
                       in network namespace \"/var/run/netns/cni-86d7\": failed to connect to \
                       localhost:8080 inside namespace \"86d7\", IPv4: dial tcp4 127.0.0.1:8080: \
                       connect: connection refused";
        let trouble = pod_refused("mcp", "serena-0", message);
        assert_eq!(
            trouble.cause,
            "pod serena-0 is Ready, but nothing answers on its port 8080: its server has stopped \
             or not started (the pod refused the connection)"
        );
        assert!(trouble.fix.starts_with("check its log (`kubectl logs -n mcp serena-0`)"));
    }
}

//! Each pod of `svc/serena-mcp` has its own backend, as in a cluster: after `kubectl delete
//! pod`, the replacement is a new server that knows no session, the old pod's server stops,
//! and a client's old session gets 404 until it initializes again — through kubectl's
//! port-forward and through mcp-connect's own; and `up` says so.

use std::sync::mpsc;
use std::time::Duration;

use jsonwebtoken::{EncodingKey, Header};
use mcp_connect::forward::{ForwardEvent, ForwardState};
use mcp_connect::lab::kube::store::EventKind;
use mcp_connect::lab::mcp::Eras;
use mcp_connect::lab::world::{Lab, LabOptions};
use mcp_connect::net::Target;
use mcp_connect::probe::{self, Hints, Outcome};
use reqwest::StatusCode;
use serde_json::json;

use crate::forward::{Running, spec};
use crate::lab_kubectl::port_forward;
use crate::support::mcp::{McpError, McpSession, http_client};
use crate::support::{Home, free_port};

/// A watchdog for the replacement, not a measurement.
const WITHIN: Duration = Duration::from_secs(30);

/// Deletes `old` with `kubectl delete pod` and waits until the replacement is Ready and the old
/// pod is gone; answers the replacement's name.
async fn replace_with_kubectl(lab: &Lab, home: &Home, old: &str) -> String {
    let (_, mut events) = lab.cluster().watch_pods(Some(lab.cluster().resource_version())).unwrap();
    let out = tokio::task::block_in_place(|| {
        crate::support::ensure_tool("kubectl", "kubernetes-client");
        std::process::Command::new("kubectl")
            .env("HOME", home.path())
            .arg("--kubeconfig")
            .arg(lab.kubeconfig())
            .args(["delete", "pod", old, "--wait=false"])
            .output()
            .expect("kubectl runs")
    });
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (mut new, mut gone) = (None, false);
    let watched = tokio::time::timeout(WITHIN, async {
        while new.is_none() || !gone {
            let event = events.recv().await.expect("the watch goes on");
            let name = event.pod.metadata.name.clone().unwrap_or_default();
            let ready = event.pod.status.iter().flat_map(|s| s.conditions.iter().flatten());
            let ready = ready.clone().any(|c| c.type_ == "Ready" && c.status == "True");
            match event.kind {
                EventKind::Deleted if name == old => gone = true,
                EventKind::Modified if name != old && name.starts_with("serena-mcp") && ready => {
                    new = Some(name)
                }
                _ => {}
            }
        }
    });
    watched.await.expect("a Ready replacement and the old pod gone");
    new.unwrap()
}

/// The status of a `tools/list` sent with `session`'s id to `url`.
async fn status_of_old_session(session: &McpSession, url: &str) -> StatusCode {
    let body = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/list", "params": {}});
    let response = http_client()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", session.protocol_version())
        .header("mcp-session-id", session.session_id().expect("a session id"))
        .json(&body)
        .send()
        .await
        .expect("the replacement answers");
    response.status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_kubectl_delete_pod_the_replacement_has_no_session_and_the_old_server_is_gone() {
    let lab = Lab::start(LabOptions::default()).await.expect("the lab starts");
    let home = Home::new();
    let old = lab.seeded.serena_pod.clone();
    let (mut first, port, _lines) =
        tokio::task::block_in_place(|| port_forward(&lab, &home, "svc/serena-mcp", true));
    let url = format!("http://127.0.0.1:{port}/mcp");
    let mut session = McpSession::connect(&http_client(), &url).await.expect("initialize");
    session.tools_list().await.unwrap();
    let _ = first.kill();
    let _ = first.wait();

    let new = replace_with_kubectl(&lab, &home, &old).await;
    let (mut second, port, _lines) =
        tokio::task::block_in_place(|| port_forward(&lab, &home, "svc/serena-mcp", true));
    let url = format!("http://127.0.0.1:{port}/mcp");
    let status = status_of_old_session(&session, &url).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "pod {new} knows no session of pod {old}");
    let mut fresh = McpSession::connect(&http_client(), &url).await.expect("a new initialize");
    assert_ne!(fresh.session_id(), session.session_id());
    fresh.tools_list().await.unwrap();
    let _ = second.kill();
    let _ = second.wait();

    // The old pod's server stopped with it (it stops as the pod goes; wait a little for it).
    let old_addr = lab.serena_url.trim_start_matches("http://").trim_end_matches("/mcp");
    let deadline = tokio::time::Instant::now() + WITHIN;
    while tokio::net::TcpStream::connect(old_addr).await.is_ok() {
        assert!(tokio::time::Instant::now() < deadline, "pod {old}'s server still listens");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_our_forward_a_session_cut_by_a_replacement_gets_404_and_initializes_again() {
    let lab = Lab::start(LabOptions::default()).await.expect("the lab starts");
    let home = Home::new();
    let mut forward = Running::start(&lab, spec(0), None);
    let (url, old) = forward.ready().await;
    let mut session = McpSession::connect(&http_client(), &url).await.expect("initialize");
    session.tools_list().await.unwrap();

    let new = replace_with_kubectl(&lab, &home, &old).await;
    forward
        .seen_or_until("the forward on the replacement", |e| match e {
            ForwardEvent::State(ForwardState::Listening { pod, .. }) if *pod == new => Some(()),
            _ => None,
        })
        .await;
    match session.tools_list().await {
        Err(McpError::Http { status: StatusCode::NOT_FOUND, .. }) => {}
        other => panic!("the old session on pod {new}: {other:?}"),
    }
    let mut again = McpSession::connect(&http_client(), &url).await.expect("a new initialize");
    assert!(again.tools_list().await.unwrap().contains(&"echo".to_owned()));
}

/// `up` on a 2025-era server (sessions): a pod replaced under the route is said once, with
/// what it means for clients; the route serves on the new pod.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_says_once_that_the_replacement_pod_has_no_session_and_clients_reinitialize() {
    let said = up_says_the_replacement(Eras::Only2025, Duration::from_millis(500)).await;
    assert!(said.ends_with(NO_SESSION), "{said}");
}

/// What a check that found its session gone on the new pod says after the pod names.
const NO_SESSION: &str =
    "the new pod has no session; clients re-initialize (Claude Code does this on its own)";

/// The same when the route's checks fail while no pod is Ready (the forward answers 503): the
/// health watch keeps its session through the gap, and the check on the new pod finds it gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_says_the_replacement_after_checks_failed_while_no_pod_was_ready() {
    let said = up_says_the_replacement(Eras::Only2025, Duration::from_secs(4)).await;
    assert!(said.ends_with(NO_SESSION), "{said}");
}

/// A server of both eras is checked in 2026 (no session): what the 2025 clients lose is said.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_says_what_a_replacement_means_for_2025_clients_of_a_dual_era_server() {
    let said = up_says_the_replacement(Eras::Both, Duration::from_millis(500)).await;
    assert!(said.contains("the 2025 sessions on the old pod are gone with it"), "{said}");
}

async fn up_says_the_replacement(eras: Eras, ready_delay: Duration) -> String {
    let options = LabOptions { eras, ready_delay, ..LabOptions::default() };
    let lab = Lab::start(options).await.expect("the lab starts");
    let (home, port) = (Home::new(), free_port());
    let local_port = ["--local-port", &port.to_string()];
    let (mut child, lines) = home.up(lab.kubeconfig(), "serena-direct", &local_port);
    let mut said = Vec::new();
    until(&lines, &mut said, "serving", &|l| l.starts_with("serving: "));
    let old = lab.seeded.serena_pod.clone();
    lab.cluster().delete_pod("mcp", &old).unwrap();
    until(&lines, &mut said, "the replacement", &|l| l.contains("was replaced by"));
    let new = lab.serena_pod().expect("a replacement");
    // Serving on the new pod may be said before the check that found the session gone.
    let serving_new = |l: &str| l.starts_with("serving: ") && l.contains(&format!("(pod {new})"));
    if !said.iter().any(|l| serving_new(l)) {
        until(&lines, &mut said, "serving on the replacement", &serving_new);
    }

    assert_eq!(tokio::task::block_in_place(|| crate::support::stop(&mut child)), 0);
    said.extend(lines.try_iter());
    let told: Vec<&String> = said.iter().filter(|l| l.contains("was replaced by")).collect();
    assert_eq!(told.len(), 1, "said once: {said:#?}");
    let prefix = format!("health: pod {old} was replaced by {new}: ");
    assert!(told[0].starts_with(&prefix), "{said:#?}");
    told[0].clone()
}

/// Reads `up`'s lines into `said` until one that `pick` accepts.
fn until(
    lines: &mpsc::Receiver<String>,
    said: &mut Vec<String>,
    what: &str,
    pick: &dyn Fn(&str) -> bool,
) {
    tokio::task::block_in_place(|| {
        loop {
            match lines.recv_timeout(WITHIN) {
                Ok(line) if pick(&line) => return said.push(line),
                Ok(line) => said.push(line),
                Err(why) => panic!("up never said {what} ({why}): {said:#?}"),
            }
        }
    })
}

/// The gateway reaches Serena through its Service, as pods in the cluster do: the replacement
/// serves it once the first pod is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_reaches_the_replacement_through_serenas_service() {
    let lab = Lab::start(LabOptions::default()).await.expect("the lab starts");
    let home = Home::new();
    let key = EncodingKey::from_secret(lab.seeded.jwt_secret.as_bytes());
    let exp = crate::support::gateways::now() + 3600;
    let claims = json!({"sub": "dev", "iss": "mcp-gateway", "aud": "mcp-gateway", "exp": exp});
    let token = jsonwebtoken::encode(&Header::default(), &claims, &key).unwrap();
    let mut target = Target::new(lab.gateway.mcp_url().parse().unwrap());
    target.tls.pin_sha256 = Some(lab.gateway.fingerprint_sha256.replace(':', "").to_lowercase());
    target.add_header(&format!("Authorization: Bearer {token}")).unwrap();
    let healthy = async || match probe::check(&target, &Hints::default()).await.unwrap() {
        Outcome::Healthy(_) => {}
        Outcome::Unhealthy { diagnosis, .. } => panic!("through the gateway: {diagnosis}"),
    };
    healthy().await;
    let old = lab.seeded.serena_pod.clone();
    replace_with_kubectl(&lab, &home, &old).await;
    healthy().await;
}

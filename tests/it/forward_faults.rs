//! The forward while its link is down, against the lab: the API server refusing or silent.
//! The route says why, naming the API server and the kubeconfig context.

use std::path::{Path, PathBuf};
use std::time::Instant;

use mcp_connect::forward::{ForwardEvent, ForwardState};
use tokio::net::TcpListener;

use crate::forward::{Running, spec};
use crate::support::free_port;

/// Waits for `Reconnecting` whose reason contains `text`; answers the reason.
async fn reconnecting(forward: &mut Running, text: &str) -> String {
    forward
        .until(&format!("reconnecting with {text:?}"), |e| match e {
            ForwardEvent::State(ForwardState::Reconnecting { why }) if why.contains(text) => {
                Some(why.clone())
            }
            _ => None,
        })
        .await
}

/// A kubeconfig whose one context, `context`, points at `server` (its certificate unchecked).
fn kubeconfig(dir: &Path, server: &str, context: &str) -> PathBuf {
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\n    \
         insecure-skip-tls-verify: true\ncontexts:\n- name: {context}\n  context:\n    cluster: c\n    \
         user: u\n    namespace: mcp\ncurrent-context: {context}\nusers:\n- name: u\n  user:\n    \
         token: t\n"
    );
    let path = dir.join("kubeconfig");
    std::fs::write(&path, text).expect("write the kubeconfig");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_server_refusing_from_the_start_is_named_with_its_url_and_context() {
    let dir = tempfile::tempdir().unwrap();
    let server = format!("https://127.0.0.1:{}", free_port());
    let config = kubeconfig(dir.path(), &server, "staging");
    let mut forward = Running::with_kubeconfig(&config, spec(free_port()), None);
    let started = Instant::now();
    let why = reconnecting(&mut forward, "cannot reach").await;
    eprintln!("API server refusing: Reconnecting {:?} after the start", started.elapsed());
    assert_eq!(
        why,
        format!("cannot reach the API server {server} (context staging): connection refused")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_api_server_is_named_as_not_answering() {
    // Accepts connections and never says a word, as an API server behind a dead VPN can.
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = format!("https://{}", silent.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = silent.accept().await {
            held.push(tcp);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), &server, "hang");
    let mut forward = Running::with_kubeconfig(&config, spec(free_port()), None);
    let why = reconnecting(&mut forward, "did not answer").await;
    assert_eq!(why, format!("the API server {server} (context hang) did not answer within 3 s"));
    held.abort();
}

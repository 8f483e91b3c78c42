//! The forward while its link is down, against the lab: the API server refusing or silent, no
//! Ready pod. The route says why (naming the API server and the kubeconfig context), a new
//! connection is answered at once with a 503 carrying that cause rather than left hanging, and
//! requests go through again once the link is back. How long each took is printed, not judged.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mcp_connect::forward::{ForwardEvent, ForwardState};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::forward::{Running, lab, spec};
use crate::support::free_port;
use crate::support::mcp::{McpSession, http_client};

/// What the forward's local port answered to one JSON-RPC request.
#[derive(Debug)]
struct Answer {
    /// 0 when the connection closed without an answer.
    status: u16,
    head: String,
    body: Value,
}

impl Answer {
    fn cause(&self) -> &str {
        self.body["error"]["data"]["cause"].as_str().unwrap_or_default()
    }

    fn fix(&self) -> &str {
        self.body["error"]["data"]["fix"].as_str().unwrap_or_default()
    }
}

/// POSTs `tools/list` (id 41) on a new connection to `port` and reads the answer's head (and
/// body, for a 503). A forward that leaves the connection hanging fails the test.
async fn ask(port: u16) -> Answer {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let nothing = || Answer { status: 0, head: String::new(), body: Value::Null };
    let exchange = async {
        let mut tcp = TcpStream::connect(addr).await.expect("the local port accepts");
        let body = json!({"jsonrpc": "2.0", "id": 41, "method": "tools/list"}).to_string();
        let request = format!(
            "POST /mcp HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Accept: application/json, text/event-stream\r\nConnection: close\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if tcp.write_all(request.as_bytes()).await.is_err() {
            return nothing();
        }
        let mut got = Vec::new();
        let mut chunk = [0u8; 4096];
        let end = loop {
            if let Some(at) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            match tcp.read(&mut chunk).await {
                Ok(n) if n > 0 => got.extend_from_slice(&chunk[..n]),
                _ => return nothing(),
            }
        };
        let head = String::from_utf8_lossy(&got[..end]).into_owned();
        let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        if status != 503 {
            return Answer { status, head, body: Value::Null };
        }
        let _ = tcp.read_to_end(&mut got).await;
        let body = serde_json::from_slice(&got[end..]).expect("a JSON body with the 503");
        Answer { status, head, body }
    };
    tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .expect("the local port answered within 10 s rather than hanging")
}

/// Asks until the answer is a 503; answers it and how long that took from `since`.
async fn first_503(port: u16, since: Instant) -> (Answer, Duration) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let answer = ask(port).await;
        if answer.status == 503 {
            return (answer, since.elapsed());
        }
        assert!(Instant::now() < deadline, "no 503 within 15 s; last answer {answer:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits for `Reconnecting` whose reason contains `text`; answers the reason and how long that
/// took from `since`.
async fn reconnecting(forward: &mut Running, text: &str, since: Instant) -> (String, Duration) {
    let why = forward
        .until(&format!("reconnecting with {text:?}"), |e| match e {
            ForwardEvent::State(ForwardState::Reconnecting(t)) if t.cause.contains(text) => {
                Some(t.cause.clone())
            }
            _ => None,
        })
        .await;
    (why, since.elapsed())
}

/// Opens an MCP session through the forward and lists the tools.
async fn requests_go_through(url: &str) {
    let mut session = McpSession::connect(&http_client(), url).await.expect("a session again");
    session.tools_list().await.expect("tools/list again");
}

fn assert_a_503_to_retry(answer: &Answer) {
    assert_eq!(answer.status, 503, "{answer:?}");
    assert!(answer.head.contains("\r\nContent-Type: application/json\r\n"), "{}", answer.head);
    assert!(answer.head.contains("\r\nRetry-After: 1\r\n"), "{}", answer.head);
    assert!(answer.head.contains("\r\nConnection: close\r\n"), "{}", answer.head);
    assert_eq!(answer.body["id"], json!(41), "the request's id is answered: {}", answer.body);
    assert_eq!(answer.body["jsonrpc"], json!("2.0"));
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
async fn a_stopped_api_server_is_named_new_connections_get_503_and_it_recovers() {
    let mut lab = lab().await;
    let port = free_port();
    let mut forward = Running::start(&lab, spec(port), None);
    let (url, _) = forward.ready().await;
    let named = format!("the API server {} (context lab)", lab.api.url());

    let fault = Instant::now();
    lab.api.stop();
    let ((why, to_state), (answer, to_503)) =
        tokio::join!(reconnecting(&mut forward, &named, fault), first_503(port, fault));
    eprintln!("API server stopped: Reconnecting after {to_state:?}, first 503 after {to_503:?}");
    assert!(why.starts_with(&format!("cannot reach {named}")), "{why}");
    assert_a_503_to_retry(&answer);
    assert!(answer.cause().contains(&named), "{answer:?}");
    assert!(answer.fix().contains("`kubectl --context lab cluster-info`"), "{answer:?}");
    forward
        .seen_or_until("the refusal reported", |e| match e {
            ForwardEvent::Refused { message, .. } if message.contains("503") => Some(()),
            _ => None,
        })
        .await;

    let back = Instant::now();
    lab.api.restart(Duration::ZERO).await.expect("the API server serves again on its port");
    forward.ready().await;
    eprintln!("API server back: Listening after {:?}", back.elapsed());
    requests_go_through(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_server_refusing_from_the_start_is_named_with_its_url_and_context() {
    let dir = tempfile::tempdir().unwrap();
    let server = format!("https://127.0.0.1:{}", free_port());
    let config = kubeconfig(dir.path(), &server, "staging");
    let port = free_port();
    let mut forward = Running::with_kubeconfig(&config, spec(port), None);
    let (why, after) = reconnecting(&mut forward, "cannot reach", Instant::now()).await;
    eprintln!("API server refusing: Reconnecting {after:?} after the start");
    assert_eq!(
        why,
        format!("cannot reach the API server {server} (context staging): connection refused")
    );
    let answer = ask(port).await;
    assert_a_503_to_retry(&answer);
    assert_eq!(answer.cause(), why);
    assert_eq!(
        answer.fix(),
        "check your network or VPN and that the cluster is up (`kubectl --context staging \
         cluster-info`); the forward retries on its own"
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
    let port = free_port();
    let mut forward = Running::with_kubeconfig(&config, spec(port), None);
    let (why, _) = reconnecting(&mut forward, "did not answer", Instant::now()).await;
    assert_eq!(why, format!("the API server {server} (context hang) did not answer within 3 s"));
    let answer = ask(port).await;
    assert_a_503_to_retry(&answer);
    assert_eq!(answer.cause(), why);
    assert!(answer.fix().contains("`kubectl --context hang cluster-info`"), "{answer:?}");
    held.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_server_that_falls_silent_mid_run_is_named_as_not_answering() {
    let lab = lab().await;
    let port = free_port();
    let mut forward = Running::start(&lab, spec(port), None);
    let (url, _) = forward.ready().await;

    let fault = Instant::now();
    // Every request now waits far longer than the forward gives the API server.
    lab.api.faults().set_latency(Duration::from_secs(60));
    let named = format!("the API server {} (context lab) did not answer within 3 s", lab.api.url());
    let ((why, to_state), (answer, to_503)) =
        tokio::join!(reconnecting(&mut forward, &named, fault), first_503(port, fault));
    eprintln!("API server silent: Reconnecting after {to_state:?}, first 503 after {to_503:?}");
    assert_eq!(why, named);
    assert_a_503_to_retry(&answer);
    assert_eq!(answer.cause(), named);

    lab.api.faults().set_latency(Duration::ZERO);
    let back = Instant::now();
    forward.ready().await;
    eprintln!("API server answering again: Listening after {:?}", back.elapsed());
    requests_go_through(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_ready_pod_a_request_gets_503_with_what_it_waits_for() {
    let lab = lab().await;
    let pod = lab.seeded.serena_pod.clone();
    let port = free_port();
    let mut forward = Running::start(&lab, spec(port), None);
    let (url, _) = forward.ready().await;

    let fault = Instant::now();
    lab.cluster().set_ready("mcp", &pod, false).unwrap();
    let ((why, to_state), (answer, to_503)) =
        tokio::join!(reconnecting(&mut forward, "no longer Ready", fault), first_503(port, fault));
    eprintln!("pod not Ready: Reconnecting after {to_state:?}, first 503 after {to_503:?}");
    assert_eq!(why, format!("pod {pod} is no longer Ready; waiting for another Ready pod"));
    assert_a_503_to_retry(&answer);
    assert_eq!(answer.cause(), why);
    assert!(answer.fix().contains("`kubectl get pods -n mcp -l app=serena-mcp`"), "{answer:?}");

    lab.cluster().set_ready("mcp", &pod, true).unwrap();
    forward.ready().await;
    requests_go_through(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_ready_pod_from_the_start_a_request_is_told_what_it_waits_for() {
    let lab = lab().await;
    lab.cluster().set_ready("mcp", &lab.seeded.serena_pod, false).unwrap();
    let port = free_port();
    let mut forward = Running::start(&lab, spec(port), None);
    forward
        .until("waiting", |e| {
            matches!(e, ForwardEvent::State(ForwardState::WaitingForPod { .. })).then_some(())
        })
        .await;
    let answer = ask(port).await;
    assert_a_503_to_retry(&answer);
    assert_eq!(
        answer.cause(),
        "waiting for a Ready pod of svc/serena-mcp in mcp (selector app=serena-mcp)"
    );
}

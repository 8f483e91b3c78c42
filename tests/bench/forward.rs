//! The forward's cost, measured against a direct connection and against `kubectl
//! port-forward` (the machine's kubectl; skipped with a note when there is none) in the same
//! run: `cargo bench --bench forward`.
//!
//! P1 tools/list round trip (p50, p95), P2 new connection to first byte, P3 bulk throughput,
//! P2c 50 clients each opening a new connection per request (requests/s, p99), each through
//! the forward ÷ direct and ÷ kubectl to the lab's reference MCP server; P4 the time from a
//! replacement pod turning Ready to serving again (for kubectl, the seed's `while true; do
//! kubectl port-forward …; sleep 2; done`); and the idle CPU of `mcp-connect up` and of
//! `kubectl port-forward`. P2 and P2c are measured for both of the forward's modes: multiplexed
//! (one SPDY tunnel per pod, as kubectl) and per-connection (one WebSocket each, as the forward
//! runs with `MCP_CONNECT_FORWARD_MUX=off` or against an API server without SPDY).

mod kubectl;

// Test support shared with the integration tests; the bench uses part of it.
#[allow(dead_code)]
#[path = "../it/support/mcp.rs"]
mod mcp;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use mcp::{McpSession, http_client};
use mcp_connect::forward::{ForwardEvent, ForwardSpec, ForwardState};
use mcp_connect::lab::world::{Lab, LabOptions};
use mcp_connect::supervisor;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const RTT_SAMPLES: usize = 2000;
const CONNECT_SAMPLES: usize = 300;
const BLOB: u64 = 8 * 1024 * 1024;
const BLOB_CALLS: usize = 8;
const REPLACEMENTS: usize = 5;
/// P2c: clients at once, and requests each (a new connection per request).
const CLIENTS: usize = 50;
const REQUESTS_EACH: usize = 40;
/// How long idle CPU is measured.
const IDLE: Duration = Duration::from_secs(30);

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let lab = Lab::start(LabOptions::default()).await.expect("the lab starts");
    let (tx, mut events) = mpsc::channel(4096);
    let cancel = CancellationToken::new();
    let forward = start_forward(&lab, true, tx, &cancel, &mut events).await;
    // The same forward, one WebSocket per connection; its events are not read past Listening.
    let (per_tx, mut per_events) = mpsc::channel(4096);
    let per_connection = start_forward(&lab, false, per_tx, &cancel, &mut per_events).await;
    tokio::spawn(async move { while per_events.recv().await.is_some() {} });
    let direct = lab.serena_url.clone();
    println!(
        "forward benchmark: lab reference MCP server, direct {direct} vs forward {forward} \
         (multiplexed) and {per_connection} (per-connection)"
    );

    let (d, f) = (rtt(&direct).await, rtt(&forward).await);
    let (d50, d95, f50, f95) = (pct(&d, 50), pct(&d, 95), pct(&f, 50), pct(&f, 95));
    println!(
        "P1 tools/list RTT ({RTT_SAMPLES}): direct p50 {} p95 {} | forward p50 {} p95 {} | ratio p50 {:.2} p95 {:.2} (target <= 1.10) {}",
        ms(d50),
        ms(d95),
        ms(f50),
        ms(f95),
        ratio(f50, d50),
        ratio(f95, d95),
        verdict(ratio(f50, d50) <= 1.10)
    );

    // Where the forward's time goes: the same calls over a bare kube-rs port-forward stream
    // (the cluster path: API server and kubelet, here the lab's) without our listener.
    // One lean HTTP/1.1 client (hyper) over each path, so that only the path differs.
    let tcp = |url: &str| {
        let addr: SocketAddr =
            url.trim_start_matches("http://").trim_end_matches("/mcp").parse().unwrap();
        async move { TcpStream::connect(addr).await.unwrap() }
    };
    let hd = pct(&rtt_hyper(tcp(&direct).await).await, 50);
    let hf = pct(&rtt_hyper(tcp(&forward).await).await, 50);
    let hb = pct(&rtt_hyper(bare_stream(&lab).await).await, 50);
    let hr = pct(&rtt_hyper(tcp(&plain_relay(&direct).await).await).await, 50);
    println!(
        "P1b tools/list RTT p50, one hyper connection ({RTT_SAMPLES}): direct {} | forward {} | bare kube-rs stream {} | forward/direct {:.2}, bare/direct {:.2} (the cluster path), forward/bare {:.2} (our listener)",
        ms(hd),
        ms(hf),
        ms(hb),
        ratio(hf, hd),
        ratio(hb, hd),
        ratio(hf, hb)
    );
    // The floor: one bare loopback TCP relay (accept, copy both ways), which any forward needs
    // at least once before the cluster path adds its own legs.
    println!(
        "P1c floor, one plain TCP relay in front of the server: {} | relay/direct {:.2}",
        ms(hr),
        ratio(hr, hd)
    );

    let kube = match kubectl::available() {
        true => {
            tokio::task::block_in_place(|| kubectl::port_forward(lab.kubeconfig(), free_port()))
        }
        false => None,
    };
    match &kube {
        Some(k) => println!("kubectl: `kubectl port-forward svc/serena-mcp` at {}", k.url),
        None => println!("kubectl: not on PATH or it did not forward; its figures are skipped"),
    }
    if let Some(k) = &kube {
        let k = rtt(&k.url).await;
        let (k50, k95) = (pct(&k, 50), pct(&k, 95));
        println!(
            "P1k tools/list RTT ({RTT_SAMPLES}): kubectl p50 {} p95 {} | forward p50 {} p95 {} | forward/kubectl p50 {:.2} p95 {:.2} (target <= 0.80) {}",
            ms(k50),
            ms(k95),
            ms(f50),
            ms(f95),
            ratio(f50, k50),
            ratio(f95, k95),
            verdict(ratio(f50, k50) <= 0.80)
        );
    }

    let (d, f) = (first_byte(&direct).await, first_byte(&forward).await);
    let (d50, f50) = (pct(&d, 50), pct(&f, 50));
    println!(
        "P2 new connection -> first byte ({CONNECT_SAMPLES}): direct p50 {} | forward p50 {} | ratio {:.2} (target <= 3) {}",
        ms(d50),
        ms(f50),
        ratio(f50, d50),
        verdict(ratio(f50, d50) <= 3.0)
    );
    let p50 = pct(&first_byte(&per_connection).await, 50);
    println!(
        "P2p new connection -> first byte, per-connection mode: p50 {} | ratio to direct {:.2} | multiplexed/per-connection {:.2}",
        ms(p50),
        ratio(p50, d50),
        ratio(f50, p50)
    );
    if let Some(k) = &kube {
        let k50 = pct(&first_byte(&k.url).await, 50);
        println!(
            "P2k new connection -> first byte: kubectl p50 {} | forward/kubectl {:.2} (target <= 0.80) {} | per-connection/kubectl {:.2}",
            ms(k50),
            ratio(f50, k50),
            verdict(ratio(f50, k50) <= 0.80),
            ratio(p50, k50)
        );
    }

    let (d, f) = (throughput(&direct).await, throughput(&forward).await);
    println!(
        "P3 bulk ({BLOB_CALLS} x {} MiB blob): direct {:.0} MiB/s | forward {:.0} MiB/s | ratio {:.2} (target >= 0.70) {}",
        BLOB >> 20,
        d,
        f,
        f / d,
        verdict(f / d >= 0.70)
    );
    if let Some(k) = &kube {
        let k = throughput(&k.url).await;
        println!("P3k bulk: kubectl {k:.0} MiB/s | forward/kubectl {:.2}", f / k);
    }

    let (d, f) = (concurrent(&direct).await, concurrent(&forward).await);
    let p = concurrent(&per_connection).await;
    let k = match &kube {
        Some(k) => Some(concurrent(&k.url).await),
        None => None,
    };
    let kubectl_part = k.map(|(rps, p99)| {
        let vs = f.0 / rps;
        format!(
            " | kubectl {rps:.0}/s p99 {} | forward/kubectl {vs:.2} (target >= 1.20) {}, per-connection/kubectl {:.2}",
            ms(p99),
            verdict(vs >= 1.20),
            p.0 / rps
        )
    });
    println!(
        "P2c {CLIENTS} clients x {REQUESTS_EACH} requests, a new connection each: direct {:.0}/s p99 {} | forward {:.0}/s p99 {} ({:.2} of direct) | per-connection {:.0}/s p99 {} ({:.2} of direct){}",
        d.0,
        ms(d.1),
        f.0,
        ms(f.1),
        f.0 / d.0,
        p.0,
        ms(p.1),
        p.0 / d.0,
        kubectl_part.unwrap_or_default()
    );
    idle_cpu(&lab, kube.as_ref()).await;
    drop(kube);

    let mut worst = Duration::ZERO;
    for _ in 0..REPLACEMENTS {
        worst = worst.max(replacement(&lab, &forward, &mut events).await);
    }
    println!(
        "P4 pod replaced -> serving again after the new pod is Ready (worst of {REPLACEMENTS}): {} (target <= 0.1 s) {}",
        ms(worst),
        verdict(worst <= Duration::from_millis(100))
    );
    cancel.cancel();
    if kubectl::available() {
        let port = free_port();
        let looped = tokio::task::block_in_place(|| kubectl::seed_loop(lab.kubeconfig(), port));
        if let Some(looped) = looped {
            let mut worst = Duration::ZERO;
            for _ in 0..3 {
                worst = worst.max(replacement_seen(&lab, &looped.url).await);
            }
            println!(
                "P4k the seed's kubectl loop, pod replaced -> serving again after Ready (worst of 3): {}",
                ms(worst)
            );
        }
    }
}

/// Starts a forward to the lab's Serena, multiplexed or per-connection; answers its URL.
async fn start_forward(
    lab: &Lab,
    multiplexed: bool,
    tx: mpsc::Sender<ForwardEvent>,
    cancel: &CancellationToken,
    events: &mut mpsc::Receiver<ForwardEvent>,
) -> String {
    let spec = ForwardSpec {
        namespace: "mcp".into(),
        service: "serena-mcp".into(),
        remote_port: 8080,
        local: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        scheme: "http",
        path: "/mcp".into(),
        multiplexed,
    };
    let kubeconfig = Some(lab.kubeconfig().to_path_buf());
    tokio::spawn(supervisor::run_forward(spec, None, kubeconfig, tx, cancel.clone()));
    loop {
        match events.recv().await.expect("the forward runs") {
            ForwardEvent::State(ForwardState::Listening { url, .. }) => break url,
            ForwardEvent::State(ForwardState::Failed(trouble)) => panic!("{trouble}"),
            _ => {}
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// CPU of `mcp-connect up serena-direct` (health checked every 2 s) and of `kubectl
/// port-forward`, both idle over the same window, with the lab in this process.
async fn idle_cpu(lab: &Lab, kube: Option<&kubectl::Kubectl>) {
    use std::os::unix::process::CommandExt;
    let home = tempfile::tempdir().unwrap();
    let mut up = std::process::Command::new(env!("CARGO_BIN_EXE_mcp-connect"))
        .env("HOME", home.path())
        .env("XDG_STATE_HOME", home.path().join("state"))
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .arg("--kubeconfig")
        .arg(lab.kubeconfig())
        .args(["up", "serena-direct", "--local-port", &free_port().to_string()])
        .process_group(0)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("mcp-connect up");
    // Past its start and first checks.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let ours = kubectl::idle_share(up.id(), IDLE);
    let theirs = async {
        match kube {
            Some(k) => kubectl::idle_share(k.group(), IDLE).await,
            None => None,
        }
    };
    let (ours, theirs) = tokio::join!(ours, theirs);
    let _ = up.kill();
    let _ = up.wait();
    let percent = |share: Option<f64>| {
        share.map(|s| format!("{:.2} %", s * 100.0)).unwrap_or_else(|| "-".to_owned())
    };
    println!(
        "idle CPU over {} s: up serena-direct {} of a core (target <= 0.2 %) {} | kubectl port-forward {}",
        IDLE.as_secs(),
        percent(ours),
        verdict(ours.is_some_and(|s| s <= 0.002)),
        percent(theirs)
    );
}

/// `CLIENTS` clients at once, each making `REQUESTS_EACH` requests on a new connection each:
/// requests per second over the whole, and the p99 latency.
async fn concurrent(url: &str) -> (f64, Duration) {
    let started = Instant::now();
    let clients = (0..CLIENTS).map(|_| {
        let url = url.to_owned();
        tokio::spawn(async move {
            let mut samples = Vec::with_capacity(REQUESTS_EACH);
            for _ in 0..REQUESTS_EACH {
                samples.push(one_request(&url).await);
            }
            samples
        })
    });
    let mut all = Vec::with_capacity(CLIENTS * REQUESTS_EACH);
    for client in futures::future::join_all(clients).await {
        all.extend(client.expect("a client"));
    }
    let rps = all.len() as f64 / started.elapsed().as_secs_f64();
    (rps, pct(&all, 99))
}

/// One `initialize` on a new connection, to its whole answer.
async fn one_request(url: &str) -> Duration {
    let addr: SocketAddr =
        url.trim_start_matches("http://").trim_end_matches("/mcp").parse().unwrap();
    let request = initialize_request(addr);
    let started = Instant::now();
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    tcp.set_nodelay(true).unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tcp.read_to_end(&mut answer).await.expect("an answer");
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer));
    started.elapsed()
}

fn initialize_request(addr: SocketAddr) -> String {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}}})
    .to_string();
    format!(
        "POST /mcp HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json, text/event-stream\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn verdict(met: bool) -> &'static str {
    if met { "MET" } else { "MISSED" }
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

fn pct(samples: &[Duration], p: usize) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[(sorted.len() - 1) * p / 100]
}

async fn rtt(url: &str) -> Vec<Duration> {
    let client = http_client();
    let mut session = McpSession::connect(&client, url).await.expect("a session");
    for _ in 0..100 {
        session.tools_list().await.expect("warm-up");
    }
    let mut samples = Vec::with_capacity(RTT_SAMPLES);
    for _ in 0..RTT_SAMPLES {
        let started = Instant::now();
        session.tools_list().await.expect("tools/list");
        samples.push(started.elapsed());
    }
    samples
}

/// A bare kube-rs port-forward stream to Serena's pod: the cluster path, no listener.
async fn bare_stream(lab: &Lab) -> tokio::io::DuplexStream {
    use k8s_openapi::api::core::v1::Pod;
    let loaded = mcp_connect::kubeconfig::load(Some(lab.kubeconfig())).unwrap();
    let pods: kube::Api<Pod> = kube::Api::namespaced(loaded.client(None).await.unwrap(), "mcp");
    let mut forwarder = pods.portforward(&lab.seeded.serena_pod, &[8080]).await.unwrap();
    forwarder.take_stream(8080).unwrap()
}

/// A plain TCP relay to `url`'s server: one accept, `copy_bidirectional`, TCP_NODELAY both
/// sides. Answers the relay's URL.
async fn plain_relay(url: &str) -> String {
    let upstream: SocketAddr =
        url.trim_start_matches("http://").trim_end_matches("/mcp").parse().unwrap();
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let local = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut server = TcpStream::connect(upstream).await.unwrap();
                client.set_nodelay(true).unwrap();
                server.set_nodelay(true).unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            });
        }
    });
    format!("http://{local}/mcp")
}

/// tools/list round trips with HTTP/1.1 spoken by hyper directly on `io`.
async fn rtt_hyper<T>(io: T) -> Vec<Duration>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    use http_body_util::{BodyExt, Full};
    use hyper::body::Bytes;
    use hyper_util::rt::TokioIo;

    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(io)).await.unwrap();
    tokio::spawn(connection);
    let mut call = async |body: serde_json::Value, session: &Option<String>| {
        let mut request = hyper::Request::post("/mcp")
            .header("host", "127.0.0.1:8080")
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("mcp-protocol-version", "2025-06-18");
        if let Some(id) = session {
            request = request.header("mcp-session-id", id);
        }
        let request = request.body(Full::new(Bytes::from(body.to_string()))).unwrap();
        sender.ready().await.unwrap();
        let response = sender.send_request(request).await.unwrap();
        let id = response.headers().get("mcp-session-id").map(|v| v.to_str().unwrap().to_owned());
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (id, body)
    };
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}}});
    let session = call(init, &None).await.0;
    call(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}), &session).await;
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    for _ in 0..100 {
        call(list.clone(), &session).await;
    }
    let mut samples = Vec::with_capacity(RTT_SAMPLES);
    for _ in 0..RTT_SAMPLES {
        let started = Instant::now();
        let (_, body) = call(list.clone(), &session).await;
        samples.push(started.elapsed());
        assert!(body.len() > 100, "a tools/list answer");
    }
    samples
}

/// A fresh TCP connection each time: connect, send initialize, wait for the first byte back.
async fn first_byte(url: &str) -> Vec<Duration> {
    let addr: SocketAddr =
        url.trim_start_matches("http://").trim_end_matches("/mcp").parse().unwrap();
    let request = initialize_request(addr);
    let mut samples = Vec::with_capacity(CONNECT_SAMPLES);
    for i in 0..CONNECT_SAMPLES + 20 {
        let started = Instant::now();
        let mut tcp = TcpStream::connect(addr).await.expect("connect");
        tcp.set_nodelay(true).unwrap();
        tcp.write_all(request.as_bytes()).await.unwrap();
        let mut byte = [0u8; 1];
        tcp.read_exact(&mut byte).await.expect("a first byte");
        if i >= 20 {
            samples.push(started.elapsed());
        }
        let mut rest = Vec::new();
        let _ = tcp.read_to_end(&mut rest).await;
        // Give the forward's spare time to be replaced, as between real client connections.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    samples
}

/// MiB/s of blob results.
async fn throughput(url: &str) -> f64 {
    let client = http_client();
    let mut session = McpSession::connect(&client, url).await.expect("a session");
    session.call_tool("blob", json!({"bytes": BLOB})).await.expect("warm-up");
    let started = Instant::now();
    for _ in 0..BLOB_CALLS {
        let result = session.call_tool("blob", json!({"bytes": BLOB})).await.expect("blob");
        let text = result["content"][0]["text"].as_str().expect("text");
        assert_eq!(text.len() as u64, BLOB);
    }
    (BLOB * BLOB_CALLS as u64) as f64 / (1 << 20) as f64 / started.elapsed().as_secs_f64()
}

/// Replaces the forwarded pod; answers how long after the replacement turned Ready a new
/// session first succeeded.
async fn replacement(lab: &Lab, url: &str, events: &mut mpsc::Receiver<ForwardEvent>) -> Duration {
    let old = ready_pod(lab, None).await;
    while events.try_recv().is_ok() {}
    lab.cluster().delete_pod("mcp", &old).unwrap();
    // Connections may still reach the old pod while it terminates: count from the moment the
    // forward has moved to the replacement.
    loop {
        match events.recv().await.expect("the forward runs") {
            ForwardEvent::State(ForwardState::Listening { pod, .. }) if pod != old => break,
            _ => {}
        }
    }
    let serving_at = serving(url).await;
    serving_at.saturating_duration_since(ready_at(lab, &old))
}

/// The same for a forward we cannot watch (kubectl's): from the replacement's Ready to the
/// first session that succeeds once it is Ready (the old pod's forward ends with the pod).
async fn replacement_seen(lab: &Lab, url: &str) -> Duration {
    let old = ready_pod(lab, None).await;
    lab.cluster().delete_pod("mcp", &old).unwrap();
    ready_pod(lab, Some(&old)).await;
    let serving_at = serving(url).await;
    serving_at.saturating_duration_since(ready_at(lab, &old))
}

/// A Ready pod of Serena's, other than `not`.
async fn ready_pod(lab: &Lab, not: Option<&str>) -> String {
    loop {
        let (pods, _) = lab.cluster().pods(Some("mcp"));
        let ready = pods.iter().find(|p| {
            p.metadata.name.as_deref().is_some_and(|n| n.starts_with("serena-mcp"))
                && p.metadata.name.as_deref() != not
                && mcp_connect::lab::kube::objects::is_ready(p)
        });
        if let Some(pod) = ready {
            return pod.metadata.name.clone().unwrap();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// When a new session through `url` first lists tools.
async fn serving(url: &str) -> Instant {
    loop {
        let client = http_client();
        let attempt =
            tokio::time::timeout(Duration::from_millis(500), McpSession::connect(&client, url))
                .await;
        if let Ok(Ok(mut session)) = attempt
            && session.tools_list().await.is_ok()
        {
            return Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// When the Ready replacement of pod `old` turned Ready.
fn ready_at(lab: &Lab, old: &str) -> Instant {
    let new = lab.cluster().pods(Some("mcp")).0.into_iter().find(|p| {
        p.metadata.name.as_deref().is_some_and(|n| n.starts_with("serena-mcp") && n != old)
            && mcp_connect::lab::kube::objects::is_ready(p)
    });
    let ready = new.expect("a Ready replacement").status.unwrap().conditions.unwrap();
    let at =
        ready.iter().find(|c| c.type_ == "Ready").unwrap().last_transition_time.clone().unwrap().0;
    let ago = k8s_openapi::jiff::Timestamp::now().duration_since(at);
    Instant::now() - Duration::try_from(ago).unwrap_or_default()
}

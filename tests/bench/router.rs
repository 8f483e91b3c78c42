//! The router's cost and its failover, measured in one run: `cargo bench --bench router`.
//!
//! P7: the `tools/list` round trip through the router ÷ straight to the gateway it routes to
//! (p50, p95; the two interleaved, sample by sample), in a 2025 session and as session-less
//! MCP 2026-07-28 requests, and the failover time: a client sending
//! `tools/list` back to back while its session's gateway is killed, from the last answer of
//! the old gateway to the first of the new one.
//!
//! P9: a gateway frozen (sockets open, nothing answered) under 20 sessions issuing requests,
//! the router on its default settings: from the freeze to the answer of the last request that
//! was open then (safe ones sent again elsewhere, tool calls answered with the failover error).

// Test support shared with the integration tests; the bench uses part of it.
#[allow(dead_code)]
#[path = "../it/support/freeze.rs"]
mod freeze;
#[allow(dead_code)]
#[path = "../it/support/mcp.rs"]
mod mcp;
#[allow(dead_code)]
#[path = "../it/support/modern.rs"]
mod modern;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use axum::serve::ListenerExt;
use mcp::{McpSession, http_client};
use mcp_connect::auth::{KubeAccess, Tokens};
use mcp_connect::lab::gateway::{Gateway, GatewayOptions, proxy};
use mcp_connect::lab::mcp::{McpServer, McpServerOptions};
use mcp_connect::net::{Http, Target, TlsOptions};
use mcp_connect::router::{
    self, DEFAULT_REQUEST_TIMEOUT, GatewaySettings, HealthSettings, PoolSettings, RouterSettings,
};
use modern::Modern;

const SECRET: &str = "a-router-bench-secret-of-forty-characters";
const SECRET_VAR: &str = "MCP_CONNECT_BENCH_ROUTER_JWT_SECRET";
const RTT_SAMPLES: usize = 2000;
const WARMUP: usize = 200;
const FAILOVERS: usize = 10;
/// P7c: a server this far away (the lab server's delay before every answer).
const FAR: Duration = Duration::from_millis(2);
const FAR_SAMPLES: usize = 500;
/// P9: freezes, and the sessions each one holds up.
const FREEZES: usize = 3;
const FROZEN_SESSIONS: usize = 20;

struct Lab {
    name: String,
    _backend: McpServer,
    gateway: Option<Gateway>,
    url: String,
    tls: TlsOptions,
}

async fn lab(name: &str, delay: Duration) -> Lab {
    let options = McpServerOptions { name: name.into(), delay, ..Default::default() };
    let backend = McpServer::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), options).await;
    let backend = backend.expect("the lab MCP server starts");
    let options =
        GatewayOptions { backend: backend.url(), secret: SECRET.into(), ..Default::default() };
    let gateway = Gateway::start(options).await.expect("the lab gateway starts");
    let pin = gateway.fingerprint_sha256.replace(':', "").to_lowercase();
    let tls = TlsOptions { pin_sha256: Some(pin), ..Default::default() };
    Lab {
        name: name.into(),
        _backend: backend,
        url: gateway.mcp_url(),
        gateway: Some(gateway),
        tls,
    }
}

fn tokens() -> Tokens {
    let yaml = format!(
        "name: router-bench\ntitle: Router bench\nlink:\n  direct:\n    url: https://127.0.0.1:1\n\
         auth:\n  jwt:\n    secret:\n      env: {SECRET_VAR}\n    subject: router-bench\n"
    );
    let profile = mcp_connect::profile::parse(&yaml, "router-bench.yaml").unwrap();
    Tokens::for_profile(&profile, KubeAccess::default()).unwrap()
}

async fn start(labs: &[&Lab]) -> router::Router {
    let health =
        HealthSettings { enabled: true, interval: Duration::from_secs(1), ..Default::default() };
    start_with(labs, health).await
}

/// A router over `labs` with these checks, the rest of its settings the defaults.
async fn start_with(labs: &[&Lab], health: HealthSettings) -> router::Router {
    let gateways = (labs.iter())
        .map(|lab| GatewaySettings {
            url: lab.url.parse().unwrap(),
            weight: 1,
            tokens: Some(tokens()),
            own_auth: false,
            tls: lab.tls.clone(),
        })
        .collect();
    let pool = PoolSettings {
        name: "bench".into(),
        gateways,
        health,
        request_timeout: DEFAULT_REQUEST_TIMEOUT,
    };
    let listen = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    router::start(RouterSettings { listen, pools: vec![pool], origin: Default::default() })
        .await
        .expect("the router starts")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // SAFETY: set before any task runs that could read the environment.
    unsafe { std::env::set_var(SECRET_VAR, SECRET) };
    let alpha = lab("alpha", Duration::ZERO).await;
    println!(
        "router benchmark: lab gateway {} (HTTPS, JWT) in front of a lab MCP server",
        alpha.url
    );
    let [mut d, mut r, mut b] = measure(&alpha, RTT_SAMPLES).await;
    let (d50, d95, r50, r95) = (pct(&mut d, 50), pct(&mut d, 95), pct(&mut r, 50), pct(&mut r, 95));
    println!(
        "P7 tools/list RTT ({RTT_SAMPLES}, interleaved): direct p50 {} p95 {} | router p50 {} \
         p95 {} | ratio p50 {:.2} p95 {:.2} (target <= 1.15) {}",
        ms(d50),
        ms(d95),
        ms(r50),
        ms(r95),
        ratio(r50, d50),
        ratio(r95, d95),
        verdict(ratio(r50, d50) <= 1.15 && ratio(r95, d95) <= 1.15)
    );
    let [mut d, mut r] = measure_modern(&alpha, RTT_SAMPLES).await;
    let (d50, d95, r50, r95) = (pct(&mut d, 50), pct(&mut d, 95), pct(&mut r, 50), pct(&mut r, 95));
    println!(
        "P7 (2026-07-28) tools/list RTT, session-less ({RTT_SAMPLES}, interleaved): direct p50 \
         {} p95 {} | router p50 {} p95 {} | ratio p50 {:.2} p95 {:.2} (target <= 1.15) {}",
        ms(d50),
        ms(d95),
        ms(r50),
        ms(r95),
        ratio(r50, d50),
        ratio(r95, d95),
        verdict(ratio(r50, d50) <= 1.15 && ratio(r95, d95) <= 1.15)
    );
    let (b50, b95) = (pct(&mut b, 50), pct(&mut b, 95));
    println!(
        "P7b the floor, a bare HTTP relay (no MCP logic) in the router's place: p50 {} p95 {} = \
         {:.2}x / {:.2}x direct; the router is {:.2}x / {:.2}x the bare relay",
        ms(b50),
        ms(b95),
        ratio(b50, d50),
        ratio(b95, d95),
        ratio(r50, b50),
        ratio(r95, b95)
    );
    let far = lab("far", FAR).await;
    let [mut d, mut r, _] = measure(&far, FAR_SAMPLES).await;
    let (d50, d95, r50, r95) = (pct(&mut d, 50), pct(&mut d, 95), pct(&mut r, 50), pct(&mut r, 95));
    println!(
        "P7c the same with the server {} ms away ({FAR_SAMPLES}): direct p50 {} p95 {} | router \
         p50 {} p95 {} | ratio p50 {:.2} p95 {:.2} (target <= 1.15) {}",
        FAR.as_millis(),
        ms(d50),
        ms(d95),
        ms(r50),
        ms(r95),
        ratio(r50, d50),
        ratio(r95, d95),
        verdict(ratio(r50, d50) <= 1.15 && ratio(r95, d95) <= 1.15)
    );

    let mut gaps = Vec::new();
    for _ in 0..FAILOVERS {
        gaps.push(failover().await);
    }
    let (g50, gmax) = (pct(&mut gaps, 50), *gaps.iter().max().unwrap());
    println!(
        "P7 failover ({FAILOVERS} kills, tools/list back to back): last answer of the old \
         gateway to first of the new: p50 {} max {} (target <= 1 s) {}",
        ms(g50),
        ms(gmax),
        verdict(gmax <= Duration::from_secs(1))
    );

    let (mut held, mut failed_safe, mut unexplained, mut requests) = (Vec::new(), 0, 0, 0);
    for _ in 0..FREEZES {
        let run = frozen().await;
        held.push(run.all_answered_after());
        failed_safe += run.failed_safe().len();
        unexplained += run.unexplained_calls().len();
        requests += run.requests.len() + 1;
    }
    let (h50, hmax) = (pct(&mut held, 50), *held.iter().max().unwrap());
    println!(
        "P9 a gateway frozen under {FROZEN_SESSIONS} sessions ({FREEZES} freezes, default \
         settings): every request open on it answered after p50 {} max {} (target <= 5 s; was \
         28-31 s); {requests} requests, {failed_safe} safe ones failed, {unexplained} tool calls \
         failed without the failover error {}",
        ms(h50),
        ms(hmax),
        verdict(hmax <= Duration::from_secs(5) && failed_safe == 0 && unexplained == 0)
    );
}

/// One freeze: two gateways, the router on its default settings, 20 sessions issuing requests;
/// the gateway of the first session frozen mid-run.
async fn frozen() -> freeze::Run {
    let labs = [lab("alpha", Duration::ZERO).await, lab("beta", Duration::ZERO).await];
    let router = start_with(&[&labs[0], &labs[1]], HealthSettings::default()).await;
    freeze::run(&router.url(), FROZEN_SESSIONS, |name| {
        let lab = labs.iter().find(|lab| lab.name == name).expect("a lab of that name");
        lab.gateway.as_ref().expect("running").freeze();
    })
    .await
}

/// One failover: the session's gateway killed while the client sends `tools/list` back to back.
async fn failover() -> Duration {
    let mut labs = [lab("alpha", Duration::ZERO).await, lab("beta", Duration::ZERO).await];
    let router = start(&[&labs[0], &labs[1]]).await;
    let mut session = McpSession::connect(&http_client(), &router.url()).await.expect("a session");
    let doomed = usize::from(session.server_name() == "beta");
    let (mut answers, mut killed) = (Vec::new(), None::<Instant>);
    while killed.is_none_or(|at| at.elapsed() < Duration::from_millis(200)) {
        if killed.is_none() && answers.len() >= 50 {
            drop(labs[doomed].gateway.take());
            killed = Some(Instant::now());
        }
        session.tools_list().await.expect("no safe request fails");
        answers.push(Instant::now());
    }
    let killed = killed.unwrap();
    let last_old = answers.iter().filter(|t| **t < killed).max().unwrap();
    let first_new = answers.iter().filter(|t| **t >= killed).min().unwrap();
    *first_new - *last_old
}

/// `tools/list` round trips straight to `lab`'s gateway, through the router, and through a
/// bare relay, interleaved sample by sample (after a warm-up).
async fn measure(lab: &Lab, samples: usize) -> [Vec<Duration>; 3] {
    let router = start(&[lab]).await;
    // Straight to the gateway: its certificate pinned, a token minted as the router mints.
    let mut target = Target::new(lab.url.parse().unwrap());
    target.tls = lab.tls.clone();
    target.auth = Some(tokens());
    target.authorize().await.expect("a token");
    let direct_client = Http::new(&target).expect("a client").client;
    let relay = bare_relay(lab.url.clone(), direct_client.clone()).await;
    let mut sessions = [
        McpSession::connect(&direct_client, &lab.url).await.expect("direct"),
        McpSession::connect(&http_client(), &router.url()).await.expect("routed"),
        McpSession::connect(&http_client(), &relay).await.expect("relayed"),
    ];
    let mut times: [Vec<Duration>; 3] = Default::default();
    for n in 0..WARMUP + samples {
        for (session, times) in sessions.iter_mut().zip(times.iter_mut()) {
            let took = time(session).await;
            if n >= WARMUP {
                times.push(took);
            }
        }
    }
    times
}

/// [`measure`] in the 2026 era: session-less `tools/list` straight to the gateway and through
/// the router (which found the gateway's era with its first check), interleaved.
async fn measure_modern(lab: &Lab, samples: usize) -> [Vec<Duration>; 2] {
    let router = start(&[lab]).await;
    let mut target = Target::new(lab.url.parse().unwrap());
    target.tls = lab.tls.clone();
    target.auth = Some(tokens());
    target.authorize().await.expect("a token");
    let direct_client = Http::new(&target).expect("a client").client;
    let clients =
        [Modern::new(&direct_client, &lab.url), Modern::new(&http_client(), &router.url())];
    let mut times: [Vec<Duration>; 2] = Default::default();
    for n in 0..WARMUP + samples {
        for (client, times) in clients.iter().zip(times.iter_mut()) {
            let started = Instant::now();
            client.tools_list().await.expect("tools/list, 2026");
            if n >= WARMUP {
                times.push(started.elapsed());
            }
        }
    }
    times
}

/// A bare HTTP relay in front of `url` (the lab gateway's own pass-through), on a free port:
/// what any HTTP hop costs here, with no MCP logic.
async fn bare_relay(url: String, client: reqwest::Client) -> String {
    let relay = move |request: axum::extract::Request| {
        let (client, url) = (client.clone(), url.clone());
        async move { proxy::forward(&client, &url, "", request).await }
    };
    let app = axum::Router::new().route("/mcp", axum::routing::any(relay));
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/mcp")
}

async fn time(session: &mut McpSession) -> Duration {
    let started = Instant::now();
    session.tools_list().await.expect("tools/list");
    started.elapsed()
}

fn pct(samples: &mut [Duration], p: usize) -> Duration {
    samples.sort_unstable();
    samples[(samples.len() * p / 100).min(samples.len() - 1)]
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn verdict(ok: bool) -> &'static str {
    if ok { "PASS" } else { "MISS" }
}

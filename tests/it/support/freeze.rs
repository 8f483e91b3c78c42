//! Many sessions issuing requests back to back through a router while the gateway of one of
//! them freezes (sockets open, nothing answered: the lab gateway's `freeze`): what each request
//! got and how long it waited. Item 1 of #18 asserts on it (`router_freeze`); P9 of
//! `cargo bench --bench router` prints its figure.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde_json::json;

use super::mcp::{McpError, McpSession, http_client};

/// What each session sends in turn: two safe requests (sent again after a failover) and a tool
/// call (not sent again: answered with the failover error when its gateway goes down).
const METHODS: [&str; 3] = ["tools/list", "ping", "tools/call"];
/// Between two requests of a session.
const PAUSE: Duration = Duration::from_millis(20);
/// A request unanswered this long is recorded as such (and the run goes on).
const GIVE_UP: Duration = Duration::from_secs(60);
/// The caller's tool call: far longer than any failover.
const CALL_MS: u64 = 60_000;

/// One request and its answer.
#[derive(Debug, Clone)]
pub struct Request {
    pub session: usize,
    pub method: &'static str,
    pub started: Instant,
    pub ended: Instant,
    /// `Ok`, or the error as the client read it: its JSON-RPC code (0 for any other error)
    /// and message.
    pub answer: Result<(), (i64, String)>,
    /// Sent on a session that was opened on the gateway that froze.
    pub on_frozen: bool,
}

impl Request {
    fn safe(&self) -> bool {
        self.method != "tools/call"
    }

    fn waited(&self) -> Duration {
        self.ended - self.started
    }
}

/// A run: the freeze's instant, and every request.
pub struct Run {
    pub frozen_at: Instant,
    /// The name of the server behind the gateway that froze.
    pub frozen: String,
    pub requests: Vec<Request>,
    /// The long tool call open on the frozen gateway when it froze.
    pub caller: Request,
}

impl Run {
    /// The requests open when the gateway froze.
    pub fn in_flight(&self) -> impl Iterator<Item = &Request> {
        let at = self.frozen_at;
        (self.requests.iter())
            .chain(std::iter::once(&self.caller))
            .filter(move |r| r.started <= at && r.ended > at)
    }

    /// From the freeze to the last answer to a request open then: how long the freeze held
    /// the router's clients.
    pub fn all_answered_after(&self) -> Duration {
        self.in_flight().map(|r| r.ended - self.frozen_at).max().unwrap_or_default()
    }

    /// The longest any request waited for its answer.
    pub fn longest_wait(&self) -> Duration {
        (self.requests.iter().chain(std::iter::once(&self.caller)))
            .map(Request::waited)
            .max()
            .unwrap_or_default()
    }

    /// Safe requests that failed, with what they got.
    pub fn failed_safe(&self) -> Vec<String> {
        (self.requests.iter())
            .filter(|r| r.safe() && r.answer.is_err())
            .map(|r| format!("{} on session {}: {:?}", r.method, r.session, r.answer))
            .collect()
    }

    /// Tool calls that failed other than with the failover error (-32010, saying the call may
    /// have run), with what they got.
    pub fn unexplained_calls(&self) -> Vec<String> {
        (self.requests.iter().chain(std::iter::once(&self.caller)))
            .filter(|r| !r.safe())
            .filter(|r| match &r.answer {
                Ok(()) => false,
                Err((code, message)) => !(*code == -32010 && message.contains("may have run")),
            })
            .map(|r| format!("tools/call on session {}: {:?}", r.session, r.answer))
            .collect()
    }
}

/// Opens `sessions` sessions on the router at `url`, which issue requests back to back for a
/// second; then a minute-long tool call starts on session 0, and 300 ms later `freeze` is
/// called with the name of session 0's server: it must freeze that server's gateway. The
/// requests go on until every session has had two answers to requests sent after the freeze.
pub async fn run(url: &str, sessions: usize, freeze: impl FnOnce(&str)) -> Run {
    let client = http_client();
    let mut opened = Vec::new();
    for _ in 0..sessions {
        opened.push(McpSession::connect(&client, url).await.expect("a session"));
    }
    let frozen = opened[0].server_name().to_owned();
    let frozen_at = Arc::new(OnceLock::<Instant>::new());
    let (stop, settled) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
    let mut tasks = Vec::new();
    for (n, session) in opened.iter().enumerate() {
        let on_frozen = session.server_name() == frozen;
        let (session, frozen_at) = (session.clone(), frozen_at.clone());
        let (stop, settled) = (stop.clone(), settled.clone());
        tasks.push(tokio::spawn(async move {
            issue(n, session, on_frozen, frozen_at, stop, settled).await
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut caller = opened[0].clone();
    let call = tokio::spawn(async move {
        let started = Instant::now();
        let called = caller.call_tool("sleep", json!({"ms": CALL_MS}));
        let answer = answered(tokio::time::timeout(GIVE_UP, called).await.map(|r| r.map(drop)));
        let ended = Instant::now();
        Request { session: 0, method: "tools/call", started, ended, answer, on_frozen: true }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    freeze(&frozen);
    let at = Instant::now();
    frozen_at.set(at).expect("frozen once");
    while settled.load(Ordering::Relaxed) < sessions && at.elapsed() < GIVE_UP {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut requests = Vec::new();
    for task in tasks {
        requests.extend(task.await.expect("a session's task"));
    }
    let caller = call.await.expect("the caller's task");
    Run { frozen_at: at, frozen, requests, caller }
}

/// One session's requests, until `stop`; counts it `settled` once two requests sent after the
/// freeze were answered.
async fn issue(
    n: usize,
    mut session: McpSession,
    on_frozen: bool,
    frozen_at: Arc<OnceLock<Instant>>,
    stop: Arc<AtomicBool>,
    settled: Arc<AtomicUsize>,
) -> Vec<Request> {
    let (mut requests, mut after) = (Vec::new(), 0);
    for turn in n.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let method = METHODS[turn % METHODS.len()];
        let started = Instant::now();
        let sent = async {
            match method {
                "tools/list" => session.tools_list().await.map(drop),
                "ping" => session.ping().await,
                _ => session.call_tool("echo", json!({"text": "frozen?"})).await.map(drop),
            }
        };
        let answer = answered(tokio::time::timeout(GIVE_UP, sent).await);
        let ended = Instant::now();
        requests.push(Request { session: n, method, started, ended, answer, on_frozen });
        if frozen_at.get().is_some_and(|at| started > *at) {
            after += 1;
            if after == 2 {
                settled.fetch_add(1, Ordering::Relaxed);
            }
        }
        tokio::time::sleep(PAUSE).await;
    }
    requests
}

fn answered(
    answer: Result<Result<(), McpError>, tokio::time::error::Elapsed>,
) -> Result<(), (i64, String)> {
    match answer {
        Ok(Ok(())) => Ok(()),
        Ok(Err(McpError::Rpc { code, message })) => Err((code, message)),
        Ok(Err(other)) => Err((0, other.to_string())),
        Err(_) => Err((0, format!("no answer within {GIVE_UP:?}"))),
    }
}

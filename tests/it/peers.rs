//! The real peers, as the helper in `support::peers` provides them, behave as FACTS.md says:
//! Serena serves MCP only at `/mcp`, and Claude Code connects to that URL and not to `/`; the
//! reference server "everything" speaks legacy HTTP+SSE on 127.0.0.1 only.

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::{Value, json};

use crate::support::messages::both_call_serena;
use crate::support::peers::{Claude, Peer, SERENA_VERSION};
use crate::support::{EventReader, Home};

/// The JSON-RPC message in an answer that is either JSON or SSE-framed (`data: {...}`).
fn message(content_type: &str, body: &str) -> Value {
    let json = match content_type.starts_with("text/event-stream") {
        true => body.lines().find_map(|line| line.strip_prefix("data:")).expect("a data line"),
        false => body,
    };
    serde_json::from_str(json.trim()).unwrap_or_else(|e| panic!("{e}: {body}"))
}

#[tokio::test]
async fn serena_answers_initialize_at_mcp_and_404_at_root() {
    let serena = Peer::serena(None);
    let client = reqwest::Client::builder().no_proxy().build().expect("an HTTP client");
    let initialize = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "mcp-connect-tests", "version": "0"}
        }
    });

    let response = client
        .post(serena.url())
        .header(ACCEPT, "application/json, text/event-stream")
        .header(CONTENT_TYPE, "application/json")
        .body(initialize.to_string())
        .send()
        .await
        .expect("POST initialize");
    assert_eq!(response.status(), StatusCode::OK, "Serena's log:\n{}", serena.log());
    let session = response.headers().get("mcp-session-id").expect("an mcp-session-id header");
    assert!(!session.is_empty());
    let content_type =
        response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let content_type = content_type.to_owned();
    let answer = message(&content_type, &response.text().await.expect("the body"));
    assert_eq!(answer["id"], 1, "{answer}");
    assert_eq!(answer["result"]["serverInfo"]["name"], "Serena", "{answer}");
    assert_eq!(answer["result"]["serverInfo"]["version"], SERENA_VERSION, "{answer}");

    let root = format!("http://127.0.0.1:{}/", serena.port());
    let response = client.get(root).send().await.expect("GET /");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[test]
fn claude_connects_to_serena_at_mcp_and_fails_at_root() {
    let serena = Peer::serena(None);
    let home = Home::new();
    let claude = Claude::new(home.path());
    let wrong = format!("http://127.0.0.1:{}/", serena.port());

    let url = serena.url();
    claude.run_ok(&["mcp", "add", "--transport", "http", "--scope", "local", "serena", &url]);
    claude.run_ok(&["mcp", "add", "--transport", "http", "--scope", "user", "wrong-path", &wrong]);
    // Both Claude Codes: the pinned one (initialize) and the newest (server/discover first).
    for claude in Claude::both(home.path()) {
        let list = claude.run_ok(&["mcp", "list"]);
        let line = |name: &str| {
            let prefix = format!("{name}: ");
            let found = list.lines().find(|line| line.starts_with(&prefix));
            found.unwrap_or_else(|| panic!("no {name} in `claude mcp list`:\n{list}")).to_owned()
        };
        let serena_line = line("serena");
        let version = claude.version();
        assert!(serena_line.contains(&url), "{version}: {serena_line}");
        let log = serena.log();
        assert!(serena_line.ends_with("- ✔ Connected"), "{version}: {list}\nSerena's log:\n{log}");
        // The newest adds why after a dash.
        assert!(line("wrong-path").contains("- ✘ Failed to connect"), "{version}: {list}");
    }

    // A real tool call: each Claude Code, driven by a scripted Messages API, calls one of
    // Serena's tools and gets its answer.
    both_call_serena(home.path(), "serena");

    let get = claude.run_ok(&["mcp", "get", "serena"]);
    assert!(get.contains("Status: ✔ Connected"), "{get}");
    assert!(!claude.cwd().join(".mcp.json").exists(), "local scope must not write .mcp.json");
}

/// Real Serena behind the lab's `serena-mcp` Service: an MCP initialize sent through a kube-rs
/// port-forward reaches it, and its output is the pod's log.
#[tokio::test]
async fn the_lab_serves_real_serena_through_a_port_forward() {
    use k8s_openapi::api::core::v1::Pod;
    use kube::config::{KubeConfigOptions, Kubeconfig};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let lab = crate::support::peers::lab_with_real_serena().await;
    let kubeconfig = Kubeconfig::read_from(lab.kubeconfig()).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap();
    let pods: kube::Api<Pod> =
        kube::Api::default_namespaced(kube::Client::try_from(config).unwrap());

    let mut forwarder = pods.portforward(&lab.seeded.serena_pod, &[8080]).await.unwrap();
    let mut stream = forwarder.take_stream(8080).unwrap();
    let body = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "mcp-connect-tests", "version": "0"}}
    })
    .to_string();
    // What a client of a local forward sends: Host is the local end, which Serena accepts.
    let request = format!(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAccept: application/json, \
         text/event-stream\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    let read = stream.read_to_string(&mut answer);
    tokio::time::timeout(std::time::Duration::from_secs(30), read).await.unwrap().unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("mcp-session-id:"), "{answer}");
    assert!(answer.contains(r#""name":"Serena""#), "{answer}");

    // Serena's own output is the pod's log, after the lab's first line.
    let (lines, _, _) = lab.cluster().logs("mcp", &lab.seeded.serena_pod).unwrap();
    assert!(lines.len() > 1, "Serena's output reaches the pod log: {lines:?}");
}

/// Real Serena through the native forward: an MCP session with Serena's own tools.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mcp_session_with_real_serena_runs_through_the_forward() {
    use crate::support::mcp::{McpSession, http_client};
    use mcp_connect::forward::{ForwardEvent, ForwardSpec, ForwardState};

    let lab = crate::support::peers::lab_with_real_serena().await;
    let spec = ForwardSpec {
        namespace: "mcp".into(),
        service: "serena-mcp".into(),
        remote_port: 8080,
        local: "127.0.0.1:0".parse().unwrap(),
        scheme: "http",
        path: "/mcp".into(),
        multiplexed: true,
    };
    let (tx, mut events) = tokio::sync::mpsc::channel(1024);
    let cancel = tokio_util::sync::CancellationToken::new();
    let kubeconfig = Some(lab.kubeconfig().to_path_buf());
    tokio::spawn(mcp_connect::supervisor::run_forward(spec, None, kubeconfig, tx, cancel.clone()));
    let url = loop {
        match events.recv().await.expect("the forward runs") {
            ForwardEvent::State(ForwardState::Listening { url, .. }) => break url,
            ForwardEvent::State(ForwardState::Failed(trouble)) => panic!("{trouble}"),
            _ => {}
        }
    };
    let mut session = McpSession::connect(&http_client(), &url).await.expect("initialize");
    assert_eq!(session.server_name(), "Serena");
    let tools = session.tools_list().await.expect("tools/list");
    // Without an active project Serena offers few tools; activate_project is always one.
    assert!(tools.iter().any(|t| t == "activate_project"), "Serena's tools: {tools:?}");
    session.close().await.expect("DELETE the session");
    cancel.cancel();
}

#[tokio::test]
async fn everything_speaks_legacy_sse_and_listens_on_127_0_0_1_only() {
    let everything = Peer::everything_sse();
    let client = reqwest::Client::builder().no_proxy().build().expect("an HTTP client");
    let base = format!("http://127.0.0.1:{}", everything.port());

    let stream = client.get(everything.url()).send().await.expect("GET /sse");
    assert_eq!(stream.status(), StatusCode::OK, "its log:\n{}", everything.log());
    let content_type = stream.headers()[CONTENT_TYPE].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/event-stream"), "{content_type}");
    let mut events = EventReader::new(stream);
    let (event, endpoint) = events.next().await;
    assert_eq!(event, "endpoint");
    assert!(endpoint.starts_with("/message?sessionId="), "{endpoint}");

    let initialize = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2024-11-05", "capabilities": {},
                   "clientInfo": {"name": "mcp-connect-tests", "version": "0"}}
    });
    let posted = client
        .post(format!("{base}{endpoint}"))
        .header(CONTENT_TYPE, "application/json")
        .body(initialize.to_string())
        .send()
        .await
        .expect("POST initialize");
    assert_eq!(posted.status(), StatusCode::ACCEPTED);
    let (event, data) = events.next().await;
    assert_eq!(event, "message");
    let answer: Value = serde_json::from_str(&data).unwrap();
    assert_eq!(answer["id"], 1, "{answer}");
    assert_eq!(answer["result"]["protocolVersion"], "2024-11-05", "{answer}");
    assert_eq!(answer["result"]["serverInfo"]["name"], "mcp-servers/everything", "{answer}");

    // Streamable HTTP is not there: a POST to /sse is a 404.
    let streamable = client.post(everything.url()).header(CONTENT_TYPE, "application/json");
    let streamable = streamable.body(initialize.to_string()).send().await.expect("POST /sse");
    assert_eq!(streamable.status(), StatusCode::NOT_FOUND);

    // On its own it would listen on every interface; another loopback address of this machine
    // must not reach it.
    if cfg!(target_os = "linux") {
        let elsewhere = std::net::SocketAddr::from(([127, 0, 0, 2], everything.port()));
        let timeout = std::time::Duration::from_secs(1);
        let reached = std::net::TcpStream::connect_timeout(&elsewhere, timeout);
        assert!(reached.is_err(), "the everything server also listens on {elsewhere}");
    }
}

//! The fake API server, seen through the real clients: kube-rs and kubectl.

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use futures::{AsyncBufReadExt, StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{DeleteParams, ListParams, LogParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, Config};
use mcp_connect::lab::kube::FakeApiServer;
use mcp_connect::lab::kube::objects::is_ready;
use mcp_connect::lab::kube::seed::{self, Backends, Seeded};
use mcp_connect::lab::kube::store::Cluster;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A TCP server that sends back what it receives.
async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = tcp.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    addr
}

struct Lab {
    server: FakeApiServer,
    seeded: Seeded,
    client: Client,
}

async fn lab() -> Lab {
    let cluster = Cluster::default();
    let backends = Backends { serena: Some(echo_server().await), ..Backends::default() };
    let seeded = seed::seed(&cluster, &backends, Duration::from_millis(200));
    let server = FakeApiServer::start(cluster).await.expect("the API server starts");
    let client = client_for(&server).await;
    Lab { server, seeded, client }
}

async fn client_for(server: &FakeApiServer) -> Client {
    let kubeconfig = Kubeconfig::from_yaml(&server.kubeconfig("mcp")).expect("a valid kubeconfig");
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("kube-rs accepts the kubeconfig");
    Client::try_from(config).expect("a client")
}

fn pods(lab: &Lab) -> Api<Pod> {
    Api::namespaced(lab.client.clone(), "mcp")
}

#[tokio::test]
async fn kube_rs_lists_pods_by_label_and_reads_the_secret() {
    let lab = lab().await;
    let listed = pods(&lab).list(&ListParams::default().labels("app=serena-mcp")).await.unwrap();
    let names: Vec<_> = listed.items.iter().map(|p| p.metadata.name.clone().unwrap()).collect();
    assert_eq!(names, std::slice::from_ref(&lab.seeded.serena_pod));
    assert!(names[0].starts_with("serena-mcp-"));
    assert!(is_ready(&listed.items[0]));
    assert!(listed.metadata.resource_version.is_some());

    let all = pods(&lab).list(&ListParams::default()).await.unwrap();
    assert_eq!(all.items.len(), 2, "Serena's pod and the gateway's");

    let secrets: Api<Secret> = Api::namespaced(lab.client.clone(), "mcp");
    let secret = secrets.get("mcp-gateway-mcp-bridge-secrets").await.unwrap();
    let value = &secret.data.unwrap()["jwt-secret-key"].0;
    assert_eq!(String::from_utf8_lossy(value), lab.seeded.jwt_secret);
    assert!(lab.seeded.jwt_secret.len() >= 32);
}

#[tokio::test]
async fn bytes_round_trip_through_a_port_forward() {
    let lab = lab().await;
    let mut forwarder = pods(&lab).portforward(&lab.seeded.serena_pod, &[8080]).await.unwrap();
    let mut stream = forwarder.take_stream(8080).unwrap();
    let payload: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let (mut r, mut w) = tokio::io::split(&mut stream);
    let send = async {
        w.write_all(&payload).await.unwrap();
    };
    let mut back = vec![0u8; payload.len()];
    let receive = async { r.read_exact(&mut back).await.unwrap() };
    tokio::time::timeout(Duration::from_secs(10), async { tokio::join!(send, receive) })
        .await
        .expect("the echo comes back");
    assert_eq!(back, payload);
}

#[tokio::test]
async fn a_port_nothing_listens_on_reports_on_the_error_channel() {
    let lab = lab().await;
    let mut forwarder = pods(&lab).portforward(&lab.seeded.gateway_pod, &[8443]).await.unwrap();
    let error = forwarder.take_error(8443).unwrap();
    let message = tokio::time::timeout(Duration::from_secs(10), error).await.unwrap();
    let message = message.expect("an error message");
    assert!(message.contains("error forwarding port 8443 to pod"), "{message}");
    assert!(message.contains("connection refused"), "{message}");
}

#[tokio::test]
async fn logs_follow_new_lines() {
    let lab = lab().await;
    let params = LogParams { follow: true, ..LogParams::default() };
    let mut lines = pods(&lab).log_stream(&lab.seeded.serena_pod, &params).await.unwrap().lines();
    let first = lines.try_next().await.unwrap().unwrap();
    assert!(first.contains("started"), "{first}");
    lab.server.cluster().append_log("mcp", &lab.seeded.serena_pod, "INFO tool call: echo");
    let next = tokio::time::timeout(Duration::from_secs(10), lines.try_next()).await.unwrap();
    assert_eq!(next.unwrap().unwrap(), "INFO tool call: echo");
}

#[tokio::test]
async fn the_watcher_sees_a_pod_replaced_and_the_replacement_turn_ready() {
    let lab = lab().await;
    let config = watcher::Config::default().labels("app=serena-mcp");
    let mut events = watcher::watcher(pods(&lab), config).boxed();
    // The initial list.
    loop {
        match events.try_next().await.unwrap().unwrap() {
            Event::InitDone => break,
            _ => continue,
        }
    }
    let old = lab.seeded.serena_pod.clone();
    pods(&lab).delete(&old, &DeleteParams::default()).await.unwrap();

    let (mut old_deleted, mut new_ready) = (false, None);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !(old_deleted && new_ready.is_some()) {
        let event = tokio::time::timeout_at(deadline, events.try_next()).await.unwrap().unwrap();
        match event.unwrap() {
            Event::Delete(pod) if pod.metadata.name.as_deref() == Some(&old) => old_deleted = true,
            Event::Apply(pod) if pod.metadata.name.as_deref() != Some(&old) && is_ready(&pod) => {
                new_ready = pod.metadata.name.clone();
            }
            _ => {}
        }
    }
    let new = new_ready.unwrap();
    assert!(new.starts_with("serena-mcp-") && new != old);
}

#[tokio::test]
async fn no_token_is_401_and_a_denied_verb_is_403_with_the_rbac_message() {
    let lab = lab().await;
    let ca = reqwest::Certificate::from_pem(lab.server.ca_pem().as_bytes()).unwrap();
    let http = reqwest::Client::builder().add_root_certificate(ca).build().unwrap();
    let response =
        http.get(format!("{}/api/v1/namespaces/mcp/pods", lab.server.url())).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let status: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        (status["kind"].as_str(), status["reason"].as_str()),
        (Some("Status"), Some("Unauthorized"))
    );

    lab.server.faults().deny("create", "pods/portforward");
    let err = pods(&lab).portforward(&lab.seeded.serena_pod, &[8080]).await.err().expect("denied");
    let kube::Error::Api(status) = err else { panic!("an API error, got {err:?}") };
    assert_eq!(status.code, 403);
    assert_eq!(
        status.message,
        format!(
            "pods \"{}\" is forbidden: User \"lab-user\" cannot create resource \
             \"pods/portforward\" in API group \"\" in the namespace \"mcp\"",
            lab.seeded.serena_pod
        )
    );
}

#[tokio::test]
async fn clients_carry_on_after_an_api_server_restart() {
    let mut lab = lab().await;
    lab.server.restart(Duration::from_millis(200)).await.unwrap();
    let listed = pods(&lab).list(&ListParams::default().labels("app=serena-mcp")).await.unwrap();
    assert_eq!(listed.items.len(), 1);
}

#[tokio::test]
async fn cutting_forwards_ends_live_streams() {
    let lab = lab().await;
    let mut forwarder = pods(&lab).portforward(&lab.seeded.serena_pod, &[8080]).await.unwrap();
    let mut stream = forwarder.take_stream(8080).unwrap();
    stream.write_all(b"ping").await.unwrap();
    let mut buf = [0u8; 4];
    stream.read_exact(&mut buf).await.unwrap();
    lab.server.cluster().cut_forwards();
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut rest)).await;
    assert!(read.is_ok(), "the stream ends after the cut");
}

/// kubectl from PATH, installing Debian's `kubernetes-client` when it is missing.
fn kubectl() -> Command {
    crate::support::ensure_tool("kubectl", "kubernetes-client");
    Command::new("kubectl")
}

// kubectl blocks this test's thread; the second worker keeps serving it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_gets_pods_services_and_the_secret_and_deletes_a_pod() {
    let lab = lab().await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    lab.server.write_kubeconfig(&kubeconfig, "mcp").unwrap();
    let run = |args: &[&str]| {
        let out = kubectl()
            .env("HOME", dir.path())
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(args)
            .output()
            .expect("kubectl runs");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "kubectl {args:?} failed: {stderr}{stdout}");
        stdout
    };

    let listing = run(&["get", "pods,svc", "-n", "mcp"]);
    assert!(listing.contains(&lab.seeded.serena_pod), "{listing}");
    assert!(listing.contains(&lab.seeded.gateway_pod), "{listing}");
    assert!(listing.contains("service/serena-mcp"), "{listing}");
    assert!(listing.contains("service/mcp-gateway-mcp-bridge-gateway"), "{listing}");
    // Server-side printing, as a real cluster does it.
    let serena_row = listing.lines().find(|l| l.contains(&lab.seeded.serena_pod)).unwrap();
    let cells: Vec<&str> = serena_row.split_whitespace().collect();
    assert_eq!(cells[1..4], ["1/1", "Running", "0"], "{listing}");
    assert!(listing.contains("8080/TCP,24282/TCP"), "{listing}");

    let secret = run(&[
        "get",
        "secret",
        "mcp-gateway-mcp-bridge-secrets",
        "-n",
        "mcp",
        "-o",
        "jsonpath={.data.jwt-secret-key}",
    ]);
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::STANDARD.decode(secret.trim()).unwrap();
    assert_eq!(String::from_utf8(decoded).unwrap(), lab.seeded.jwt_secret);

    // The context's namespace is `mcp`, so no -n is needed.
    let deleted = run(&["delete", "pod", &lab.seeded.serena_pod, "--wait=false"]);
    assert!(deleted.contains(&format!("pod \"{}\" deleted", lab.seeded.serena_pod)), "{deleted}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let listed =
            pods(&lab).list(&ListParams::default().labels("app=serena-mcp")).await.unwrap();
        let ready: Vec<_> = listed.items.iter().filter(|p| is_ready(p)).collect();
        if let [pod] = ready.as_slice()
            && pod.metadata.name.as_deref() != Some(&lab.seeded.serena_pod)
        {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no Ready replacement: {listed:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn added_latency_slows_every_api_response() {
    let lab = lab().await;
    let list = || async { pods(&lab).list(&ListParams::default()).await.unwrap() };
    list().await;
    lab.server.faults().set_latency(Duration::from_millis(300));
    let started = std::time::Instant::now();
    list().await;
    assert!(started.elapsed() >= Duration::from_millis(300), "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_pod_marked_not_ready_is_modified_and_leaves_the_endpoints() {
    let lab = lab().await;
    let config = watcher::Config::default().labels("app=serena-mcp");
    let mut events = watcher::watcher(pods(&lab), config).boxed();
    while !matches!(events.try_next().await.unwrap().unwrap(), Event::InitDone) {}
    let name = lab.seeded.serena_pod.clone();
    lab.server.cluster().set_ready("mcp", &name, false).unwrap();
    let event = tokio::time::timeout(Duration::from_secs(10), events.try_next()).await.unwrap();
    let Some(Event::Apply(pod)) = event.unwrap() else { panic!("a MODIFIED pod") };
    assert_eq!(pod.metadata.name.as_deref(), Some(name.as_str()));
    assert!(!is_ready(&pod));

    let endpoints: Api<k8s_openapi::api::core::v1::Endpoints> =
        Api::namespaced(lab.client.clone(), "mcp");
    let subset = endpoints.get("serena-mcp").await.unwrap().subsets.unwrap().remove(0);
    assert!(subset.addresses.is_none(), "no Ready address");
    let not_ready = subset.not_ready_addresses.unwrap();
    assert_eq!(not_ready[0].target_ref.as_ref().unwrap().name.as_deref(), Some(name.as_str()));
}

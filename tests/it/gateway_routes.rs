//! Routes 2 and 3 against the lab's gateway: the certificate pinned with `trust`, the token
//! minted from the cluster's Secret, a probe diagnosis naming a bad claim, health that survives
//! token renewals, and config entries that carry no token.

use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{EncodingKey, Header};
use mcp_connect::auth::{KubeAccess, Tokens};
use mcp_connect::lab::world::{Lab, LabOptions};
use mcp_connect::net::Target;
use mcp_connect::probe::{self, Health, Hints, MonitorOptions, Outcome, ProbeEvent};
use mcp_connect::profile::parse;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::support::Home;

/// Route 3 as a user profile: the lab gateway's address stands for the LoadBalancer.
fn route_3(lab: &Lab, ttl: &str) -> String {
    format!(
        "name: gateway-lab\ntitle: The lab gateway, direct\nlink:\n  direct:\n    url: {}\n\
         endpoint:\n  path: /mcp\nauth:\n  jwt:\n    secret:\n      kubernetes:\n        \
         namespace: mcp\n        name: mcp-gateway-mcp-bridge-secrets\n        key: \
         jwt-secret-key\n    ttl: {ttl}\ntls:\n  verify: true\n",
        lab.gateway.url
    )
}

fn pin(lab: &Lab) -> String {
    lab.gateway.fingerprint_sha256.replace(':', "").to_lowercase()
}

fn run(home: &Home, args: &[&str]) -> crate::support::Run {
    let mut command = home.command();
    command.args(args).stdin(Stdio::null());
    crate::support::Run(command.output().expect("run mcp-connect"))
}

fn mcp_json(dir: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join(".mcp.json")).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_2_is_pinned_by_trust_and_then_written_as_the_stdio_bridge() {
    let lab = Lab::start(LabOptions::default()).await.unwrap();
    let home = Home::new();
    let kubeconfig = lab.kubeconfig().display().to_string();
    let project = home.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    let project_arg = project.display().to_string();
    let write = |home: &Home| {
        let args = ["--kubeconfig", &kubeconfig, "config", "write", "gateway-port-forward"];
        run(home, &[&args[..], &["--scope", "project", "--dir", &project_arg]].concat())
    };

    // Unpinned, the certificate is taken as publicly trusted: http, token from headersHelper.
    let written = write(&home);
    assert_eq!(written.code(), 0, "{}", written.stderr());
    let entry = mcp_json(&project)["mcpServers"]["serena"].clone();
    assert_eq!(entry["type"], "http");
    let helper = entry["headersHelper"].as_str().unwrap();
    assert!(
        helper
            .ends_with(&format!("--kubeconfig {kubeconfig} token gateway-port-forward --headers")),
        "{helper}"
    );

    // No terminal and no --yes: shown, not pinned.
    let refused = run(&home, &["--kubeconfig", &kubeconfig, "trust", "gateway-port-forward"]);
    assert_eq!(refused.code(), 2);
    assert!(refused.stdout().contains(&lab.gateway.fingerprint_sha256), "{}", refused.stdout());
    assert!(refused.stdout().contains("self-signed"), "{}", refused.stdout());
    assert!(refused.stderr().contains("--yes"), "{}", refused.stderr());
    let saved = home.path().join("config/mcp-connect/profiles/gateway-port-forward.yaml");
    assert!(!saved.exists());

    let trusted =
        run(&home, &["--kubeconfig", &kubeconfig, "trust", "gateway-port-forward", "--yes"]);
    assert_eq!(trusted.code(), 0, "{}", trusted.stderr());
    let profile = parse(&std::fs::read_to_string(&saved).unwrap(), "saved").unwrap();
    let tls = profile.tls.unwrap();
    assert!(tls.verify);
    assert_eq!(tls.pin_sha256.unwrap().as_str(), pin(&lab));
    let pem = home.path().join("config/mcp-connect/certs/gateway-port-forward.pem");
    assert_eq!(std::fs::read_to_string(pem).unwrap(), lab.gateway.cert_pem);
    let again = run(&home, &["--kubeconfig", &kubeconfig, "trust", "gateway-port-forward"]);
    assert!(again.stdout().contains("pinned already"), "{}", again.stdout());

    // Pinned: the entry is the stdio bridge, by absolute path, with the flags that find it.
    let rewritten = write(&home);
    assert_eq!(rewritten.code(), 0, "{}", rewritten.stderr());
    let entry = mcp_json(&project)["mcpServers"]["serena"].clone();
    assert_eq!(entry["type"], "stdio");
    assert!(std::path::Path::new(entry["command"].as_str().unwrap()).is_absolute());
    assert_eq!(
        entry["args"],
        json!(["--kubeconfig", kubeconfig, "bridge", "gateway-port-forward"])
    );
    let files = std::fs::read_to_string(project.join(".mcp.json")).unwrap();
    assert!(!files.contains("eyJ") && !files.contains(&lab.seeded.jwt_secret));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_3_probes_healthy_with_the_pin_and_a_minted_token() {
    let lab = Lab::start(LabOptions::default()).await.unwrap();
    let home = Home::new();
    let profiles = home.user_profiles();
    std::fs::write(profiles.join("gateway-lab.yaml"), route_3(&lab, "1h")).unwrap();
    let kubeconfig = lab.kubeconfig().display().to_string();
    let probe = |home: &Home| {
        run(home, &["--kubeconfig", &kubeconfig, "probe", "--profile", "gateway-lab"])
    };

    let unpinned = probe(&home);
    assert_eq!(unpinned.code(), 1);
    assert!(unpinned.stdout().contains("mcp-connect trust gateway-lab"), "{}", unpinned.stdout());
    let trusted = run(&home, &["--kubeconfig", &kubeconfig, "trust", "gateway-lab", "--yes"]);
    assert_eq!(trusted.code(), 0, "{}", trusted.stderr());
    let healthy = probe(&home);
    assert_eq!(healthy.code(), 0, "{}{}", healthy.stdout(), healthy.stderr());
    assert!(healthy.stdout().contains("tools      3"), "{}", healthy.stdout());

    let mut everything = healthy.stdout() + &healthy.stderr() + &trusted.stdout();
    for file in crate::support::files_under(home.path()) {
        everything += &std::fs::read_to_string(file).unwrap_or_default();
    }
    assert!(!everything.contains("eyJ"), "a token reached the output or a file");
    assert!(
        !everything.contains(&lab.seeded.jwt_secret),
        "the secret reached the output or a file"
    );
}

/// A target at the lab gateway with its certificate pinned.
fn gateway_target(lab: &Lab) -> Target {
    let mut target = Target::new(lab.gateway.mcp_url().parse().unwrap());
    target.tls.pin_sha256 = Some(pin(lab));
    target
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_with_a_bad_claim_is_refused_and_the_diagnosis_names_the_claim() {
    let lab = Lab::start(LabOptions::default()).await.unwrap();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let key = EncodingKey::from_secret(lab.seeded.jwt_secret.as_bytes());
    let cases = [
        (json!({"sub": "dev", "aud": "mcp-gateway", "exp": now + 3600}), "`iss` is missing"),
        (
            json!({"sub": "dev", "iss": "mcp-gateway", "aud": "other", "exp": now + 3600}),
            "`aud` is",
        ),
        (
            json!({"sub": "dev", "iss": "mcp-gateway", "aud": "mcp-gateway", "exp": now - 600}),
            "`exp` passed",
        ),
    ];
    for (claims, named) in cases {
        let token = jsonwebtoken::encode(&Header::default(), &claims, &key).unwrap();
        let mut target = gateway_target(&lab);
        target.add_header(&format!("Authorization: Bearer {token}")).unwrap();
        let outcome = probe::check(&target, &Hints::default()).await.unwrap();
        let Outcome::Unhealthy { diagnosis, .. } = outcome else { panic!("{claims} was admitted") };
        assert!(diagnosis.cause.contains("401"), "{diagnosis:?}");
        assert!(diagnosis.cause.contains(named), "{named} not in {diagnosis:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_stays_up_while_the_token_is_renewed_under_it() {
    let lab = Lab::start(LabOptions::default()).await.unwrap();
    let profile = parse(&route_3(&lab, "3s"), "gateway-lab.yaml").unwrap();
    let kube = KubeAccess { kubeconfig: Some(lab.kubeconfig().to_path_buf()), context: None };
    let tokens = Tokens::for_profile(&profile, kube).unwrap();
    let mut target = gateway_target(&lab);
    target.auth = Some(tokens.clone());
    // A check that takes long (a new TLS session and a mint, on a busy machine) is not the
    // change of health this test looks for: only a generous threshold makes a check slow.
    let options = MonitorOptions {
        interval: Duration::from_millis(250),
        slow_after: Duration::from_secs(10),
        ..Default::default()
    };
    let (tx, mut rx) = mpsc::channel(256);
    let cancel = CancellationToken::new();
    tokio::spawn(probe::monitor(target, options, tx, cancel.clone()));
    let until = tokio::time::Instant::now() + Duration::from_secs(8);
    let mut healthy = 0;
    while let Ok(Some(event)) = tokio::time::timeout_at(until, rx.recv()).await {
        match event {
            ProbeEvent::Health(Health::Healthy { .. }) => healthy += 1,
            ProbeEvent::Health(other) => {
                panic!("health changed while the token was renewed: {other:?}")
            }
            _ => {}
        }
    }
    cancel.cancel();
    assert_eq!(healthy, 1, "healthy once, and never anything else");
    assert!(tokens.minted() >= 3, "8 s with a 3 s token renews it: minted {}", tokens.minted());
}

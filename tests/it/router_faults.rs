//! Every failure of a gateway named right through the router (#17): a client that finds no
//! gateway healthy is told each gateway's cause as its checks found it (the certificate, the
//! token, the claim at fault, nothing listening, the secret's variable unset) and the fix in the
//! terms of the settings the router runs on; the probe of the router says the same, unescaped.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use jsonwebtoken::{EncodingKey, Header};
use mcp_connect::auth::{KubeAccess, Tokens};
use mcp_connect::net::Target;
use mcp_connect::net::mcp::said_in;
use mcp_connect::probe::{self, Hints, Outcome};
use mcp_connect::router::{self, GatewaySettings, Router, config};
use mcp_connect::trouble::Trouble;
use serde_json::json;

use crate::support::gateways::{Lab, SECRET, SECRET_VAR, now, start_router, tokens};
use crate::support::mcp::{McpError, McpSession, http_client};
use crate::support::{Home, free_port};

/// The command that prints the seed gateway's signing secret, as fixes quote it.
const KUBECTL: &str = "kubectl -n mcp get secret mcp-gateway-mcp-bridge-secrets -o \
                       jsonpath='{.data.jwt-secret-key}' | base64 -d";

/// A router config in the seed's shape over `gateways` (each a `url:` line and what follows
/// it), signing with the secret in `var`, written as `router-config.yaml` in `dir`.
fn config_file(dir: &Path, gateways: &[String], var: &str) -> PathBuf {
    let gateways: String = gateways.iter().map(|g| format!("      - url: {g}\n")).collect();
    let text = format!(
        "server:\n  port: 8080\n  protocol: http\n\ngateway_pools:\n  - name: staging-pool\n    \
         gateways:\n{gateways}    health_check:\n      enabled: true\n      interval: 30s\n\n\
         auth:\n  jwt:\n    secret_key_env: {var}\n"
    );
    let path = dir.join("router-config.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The router the file describes, on a free port.
async fn router_of(file: &Path) -> Router {
    let mut settings = config::from_file(file).unwrap();
    settings.listen.set_port(0);
    router::start(settings).await.unwrap()
}

/// What a client's `initialize` is told: 503 and a JSON-RPC error, read as cause and fix.
async fn refusal(router: &Router) -> Trouble {
    match McpSession::connect(&http_client(), &router.url()).await {
        Err(McpError::Http { status, body }) => {
            assert_eq!(status, 503, "{body}");
            let said = said_in(&body).expect("a JSON-RPC error");
            assert_eq!(said.code, -32011);
            Trouble::new(said.cause, said.fix.expect("a fix"))
        }
        other => panic!("initialize with no gateway up should be 503: {:?}", other.err()),
    }
}

/// The probe's diagnosis of the router.
async fn diagnosis(router: &Router) -> Trouble {
    let target = Target::new(router.url().parse().unwrap());
    match probe::check(&target, &Hints::default()).await.unwrap() {
        Outcome::Unhealthy { diagnosis, .. } => diagnosis,
        Outcome::Healthy(report) => panic!("expected a diagnosis, got {report:?}"),
    }
}

const CHECKS: &str = "the router checks each gateway every 30s and takes one back after 2 checks \
                      in a row pass";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_gateway_is_named_with_what_its_checks_found_and_the_fix_in_the_config_file() {
    let _ = tokens(); // puts the secret into SECRET_VAR
    let unpinned = Lab::start("unpinned").await;
    let other_secret = Lab::start_with_secret("other", "not-the-routers-secret-0123456789").await;
    let closed = free_port();
    let base = |lab: &Lab| lab.url.trim_end_matches("/mcp").to_owned();
    let gateways = [
        base(&unpinned),
        format!("{}\n        tls: {{pin_sha256: \"{}\"}}", base(&other_secret), other_secret.pin),
        format!("https://127.0.0.1:{closed}"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let file = config_file(dir.path(), &gateways, SECRET_VAR);
    let router = router_of(&file).await;
    let file = file.display();

    let certificate = unpinned.gateway.as_ref().unwrap().fingerprint_sha256.clone();
    let closed_url = format!("https://127.0.0.1:{closed}/mcp");
    let expected = [
        (
            unpinned.url.clone(),
            Trouble::new(
                format!(
                    "{} presented a self-signed certificate no trusted CA signed (subject \
                     CN=mcp-gateway lab, issuer CN=mcp-gateway lab, valid Jan  1 00:00:00 1975 \
                     +00:00 to Jan  1 00:00:00 4096 +00:00, SHA-256 {certificate})",
                    unpinned.url
                ),
                format!(
                    "if that fingerprint is the server's, trust it: set `tls: {{pin_sha256: \
                     \"{}\"}}` under gateway {} in {file}, then restart the router",
                    unpinned.pin, unpinned.url
                ),
            ),
        ),
        (
            other_secret.url.clone(),
            Trouble::new(
                "it refused the router's token (HTTP 401: invalid signature: not signed with the \
                 gateway's secret); the token's claims are what the gateway expects (iss \
                 \"mcp-gateway\" and aud \"mcp-gateway\"), so its signature is not: it was not \
                 signed with the gateway's secret",
                format!(
                    "put the gateway's jwt-secret-key into environment variable {SECRET_VAR} \
                     (`{KUBECTL}`), then restart the router"
                ),
            ),
        ),
        (
            closed_url.clone(),
            Trouble::new(
                format!("nothing is listening at 127.0.0.1:{closed} (connection refused)"),
                format!(
                    "start the gateway (or the port-forward to it), or correct its URL in {file}"
                ),
            ),
        ),
    ];

    let told = refusal(&router).await;
    let causes: Vec<String> =
        expected.iter().map(|(url, t)| format!("{url} (down: {})", t.cause)).collect();
    assert_eq!(told.cause, format!("no gateway is healthy: {}", causes.join("; ")));
    let fixes: Vec<String> =
        expected.iter().map(|(url, t)| format!("for {url}: {}", t.fix)).collect();
    assert_eq!(told.fix, format!("{}; {CHECKS}", fixes.join("; ")));

    // /health shows the same, gateway by gateway.
    let report = router.health();
    for (url, trouble) in &expected {
        let row = report.gateway(url).unwrap();
        assert_eq!(row.last_failure.as_deref(), Some(trouble.cause.as_str()), "{url}");
        assert_eq!(row.last_fix.as_deref(), Some(trouble.fix.as_str()), "{url}");
    }

    // The probe of the router says what the router said, not "answered 503 … check the URL".
    assert_eq!(diagnosis(&router).await, told);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unset_secret_variable_is_named_with_the_export_and_the_restart_it_needs() {
    const UNSET: &str = "MCP_CONNECT_TEST_ROUTER_FAULTS_UNSET";
    // SAFETY: only this test touches this variable.
    unsafe { std::env::remove_var(UNSET) };
    let alpha = Lab::start("alpha").await;
    let pinned = format!(
        "{}\n        tls: {{pin_sha256: \"{}\"}}",
        alpha.url.trim_end_matches("/mcp"),
        alpha.pin
    );
    let dir = tempfile::tempdir().unwrap();
    let router = router_of(&config_file(dir.path(), &[pinned], UNSET)).await;
    let told = refusal(&router).await;
    assert_eq!(
        told.cause,
        format!(
            "no gateway is healthy: {} (down: no token for it: environment variable {UNSET} is \
             not set)",
            alpha.url
        )
    );
    assert_eq!(
        told.fix,
        format!(
            "start the router with {UNSET} set to the gateway's jwt-secret-key: `export \
             {UNSET}=\"$({KUBECTL})\"`, then restart the router; {CHECKS}"
        )
    );
}

/// Item 4 of #17: a token without `iss` and `aud` (the seed's `{sub, exp}`) is refused with
/// the claims it lacks, read from the token itself, whatever the gateway's body says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_without_iss_and_aud_is_refused_by_the_claims_it_lacks() {
    const VAR: &str = "MCP_CONNECT_TEST_ROUTER_FAULTS_SEED_TOKEN";
    let claims = json!({"sub": "dev", "exp": now() + 3600});
    let seed_token = jsonwebtoken::encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    // SAFETY: only this test touches this variable, set before its token is read.
    unsafe { std::env::set_var(VAR, &seed_token) };
    let yaml = format!(
        "name: seed-token\ntitle: Seed token\nlink:\n  direct:\n    url: https://127.0.0.1:1\n\
         auth:\n  bearer:\n    env: {VAR}\n"
    );
    let profile = mcp_connect::profile::parse(&yaml, "seed-token.yaml").unwrap();
    let alpha = Lab::start("alpha").await;
    let settings = GatewaySettings {
        tokens: Tokens::for_profile(&profile, KubeAccess::default()),
        ..alpha.settings(1)
    };
    let router = start_router(vec![settings], true, Duration::from_secs(30)).await;
    let told = refusal(&router).await;
    assert_eq!(
        told.cause,
        format!(
            "no gateway is healthy: {} (down: it refused the router's token (HTTP 401: invalid \
             issuer: no iss; want \"mcp-gateway\"): `iss` is missing; it must be \
             \"mcp-gateway\"; `aud` is missing; it must contain \"mcp-gateway\")",
            alpha.url
        )
    );
    assert_eq!(
        told.fix,
        format!(
            "put a token with iss \"mcp-gateway\" and aud \"mcp-gateway\" and an exp in the \
             future into {VAR} (or let the router mint one: `auth: jwt`), then restart the \
             router; {CHECKS}"
        )
    );
    assert!(!told.cause.contains(&seed_token), "the token is never repeated");
}

/// Starts `mcp-connect router --config FILE` on `port`, the secret in its environment; answers
/// once it serves.
fn serve(home: &Home, file: &Path, port: u16) -> Child {
    let mut child = home
        .command()
        .env(SECRET_VAR, SECRET)
        .args(["router", "--config", file.to_str().unwrap(), "--local-port", &port.to_string()])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let serving = format!("router: serving http://127.0.0.1:{port}/mcp");
    while let Some(Ok(line)) = lines.next() {
        if line.starts_with(&serving) {
            // Its log goes on: read, so that it never waits on a full pipe.
            std::thread::spawn(move || lines.for_each(drop));
            return child;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the router never said {serving:?}");
}

/// Item 2 of #17, as a user meets it: the seed's router-config.yaml in front of a gateway with a
/// self-signed certificate. It said `invalid peer certificate: ApplicationVerificationFailure`
/// and "start or repair a gateway"; it names the certificate and the pin to add to that very
/// file, and with the pin added the router serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_config_before_a_self_signed_gateway_says_which_pin_to_add_to_it() {
    let alpha = Lab::start("alpha").await;
    let base = alpha.url.trim_end_matches("/mcp").to_owned();
    let home = Home::new();
    let seed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/seed-router-config.yaml"),
    )
    .unwrap();
    let seed_gateway =
        "https://k8s-mcp-mcpgatew-dae950c5b5-2f1dace9a3e601aa.elb.us-west-2.amazonaws.com:8443";
    let text = seed.replace(seed_gateway, &base).replace("JWT_SECRET_KEY", SECRET_VAR);
    let file = home.write("router-config.yaml", &text);
    let (port, url) = (free_port(), alpha.url.clone());
    let probe =
        |home: &Home, port: u16| home.run(&["probe", &format!("http://127.0.0.1:{port}/mcp")]);

    let (home, file, unpinned) = tokio::task::spawn_blocking(move || {
        let mut router = serve(&home, &file, port);
        let said = probe(&home, port);
        crate::support::stop(&mut router);
        (home, file, said)
    })
    .await
    .unwrap();
    assert_eq!(unpinned.code(), 1, "{}", unpinned.stderr());
    let out = unpinned.stdout();
    let sha = &alpha.gateway.as_ref().unwrap().fingerprint_sha256;
    assert!(
        out.contains(&format!(
            "  cause  no gateway is healthy: {url} (down: {url} presented a self-signed \
             certificate no trusted CA signed (subject CN=mcp-gateway lab, issuer"
        )),
        "{out}"
    );
    assert!(out.contains(&format!("SHA-256 {sha}))\n")), "{out}");
    let pin_line = format!("tls: {{pin_sha256: \"{}\"}}", alpha.pin);
    assert!(
        out.contains(&format!(
            "  fix    if that fingerprint is the server's, trust it: set `{pin_line}` under \
             gateway {url} in {}, then restart the router; {CHECKS}\n",
            file.display()
        )),
        "{out}"
    );
    assert!(!out.contains("ApplicationVerificationFailure") && !out.contains("check the URL"));

    // Done as it says: the pin under that gateway, the router restarted.
    let pinned = text
        .replace("        weight: 100\n", &format!("        weight: 100\n        {pin_line}\n"));
    std::fs::write(&file, pinned).unwrap();
    let healthy = tokio::task::spawn_blocking(move || {
        let mut router = serve(&home, &file, port);
        let said = probe(&home, port);
        crate::support::stop(&mut router);
        said
    })
    .await
    .unwrap();
    assert_eq!(healthy.code(), 0, "{}", healthy.stdout());
    assert!(healthy.stdout().contains("  server     alpha"), "{}", healthy.stdout());
}

//! Item 2 of #18: each gateway its own JWT. Gateways of two clusters sign with two secrets, and
//! with one top-level `auth` the second refused every token (401). A gateway's own `auth`, in
//! the top level's shape, now signs its tokens, in `router-config.yaml` and in router profiles;
//! a gateway without one uses the top level's.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use mcp_connect::net::mcp::said_in;
use mcp_connect::router::{self, GatewayState, Router, RouterSettings, config};
use mcp_connect::supervisor::RunOptions;

use crate::support::gateways::{Lab, SECRET_VAR, tokens};
use crate::support::mcp::{McpError, McpSession, http_client};

/// The second cluster's gateway signs with this.
const OTHER_SECRET: &str = "the-other-clusters-secret-of-forty-chars";

/// `url: …` and its pin, as a gateway's lines in either file (`indent` before each key).
fn gateway_lines(lab: &Lab, indent: &str) -> String {
    let base = lab.url.trim_end_matches("/mcp");
    format!("{indent}- url: {base}\n{indent}  tls: {{pin_sha256: \"{}\"}}\n", lab.pin)
}

async fn start(mut settings: RouterSettings) -> Router {
    settings.listen.set_port(0);
    router::start(settings).await.expect("the router starts")
}

/// Sessions through `router` reach both labs, and their checks pass on both.
async fn serves_both(router: &Router, labs: [&Lab; 2]) {
    let mut reached = BTreeSet::new();
    for _ in 0..6 {
        let mut session = McpSession::connect(&http_client(), &router.url()).await.unwrap();
        session.tools_list().await.expect("tools/list");
        reached.insert(session.server_name().to_owned());
    }
    let names: BTreeSet<String> = labs.iter().map(|lab| lab.name.clone()).collect();
    assert_eq!(reached, names, "sessions on both gateways: {:?}", router.health());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let report = router.health();
        let checked = |lab: &&Lab| {
            let row = report.gateway(&lab.url).expect("listed");
            row.state == GatewayState::Healthy && row.latency_ms.is_some()
        };
        if labs.iter().all(checked) {
            assert!(report.gateways().all(|g| g.last_failure.is_none()), "{report:?}");
            return;
        }
        assert!(Instant::now() < deadline, "checks did not pass on both: {report:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The cause `router` gives for the gateway at `url`, once its check found it down.
async fn down_cause(router: &Router, url: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let row = router.health().gateway(url).expect("listed").clone();
        if row.state == GatewayState::Down {
            return row.last_failure.expect("a cause");
        }
        assert!(Instant::now() < deadline, "never down: {row:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_with_two_secrets_both_serve_from_the_config_file() {
    const OTHER_VAR: &str = "MCP_CONNECT_TEST_ROUTER_AUTH_FILE_OTHER";
    let _ = tokens(); // the top level's secret, in SECRET_VAR
    // SAFETY: only this test touches this variable.
    unsafe { std::env::remove_var(OTHER_VAR) };
    let alpha = Lab::start("alpha").await;
    let beta = Lab::start_with_secret("beta", OTHER_SECRET).await;
    let file = |beta_auth: &str| {
        format!(
            "server:\n  port: 8080\ngateway_pools:\n  - name: two-clusters\n    gateways:\n{}{}\
             {beta_auth}auth:\n  jwt:\n    secret_key_env: {SECRET_VAR}\n",
            gateway_lines(&alpha, "      "),
            gateway_lines(&beta, "      "),
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("router-config.yaml");
    let load = |text: String| {
        std::fs::write(&path, text).unwrap();
        config::from_file(&path).unwrap()
    };

    // One secret for both: the second cluster's gateway refuses the token.
    let router = start(load(file(""))).await;
    let cause = down_cause(&router, &beta.url).await;
    assert!(
        cause.starts_with("it refused the router's token (HTTP 401: invalid signature"),
        "{cause}"
    );
    router.shutdown().await;

    // Its own auth, its variable not set yet: the fix names that variable.
    let own = format!("        auth:\n          jwt:\n            secret_key_env: {OTHER_VAR}\n");
    let settings = load(file(&own));
    let gateways = &settings.pools[0].gateways;
    assert!(!gateways[0].own_auth && gateways[1].own_auth);
    let router = start(settings).await;
    let cause = down_cause(&router, &beta.url).await;
    assert_eq!(cause, format!("no token for it: environment variable {OTHER_VAR} is not set"));
    let fix = router.health().gateway(&beta.url).unwrap().last_fix.clone().unwrap();
    assert!(fix.starts_with(&format!("start the router with {OTHER_VAR} set")), "{fix}");
    router.shutdown().await;

    // Set: both serve, each with its own secret.
    // SAFETY: only this test touches this variable, set before its token is minted.
    unsafe { std::env::set_var(OTHER_VAR, OTHER_SECRET) };
    let router = start(load(file(&own))).await;
    serves_both(&router, [&alpha, &beta]).await;
}

/// A router profile over `labs`, the profile's `auth` signing with the secret in SECRET_VAR
/// and the gateways' own lines after each gateway's (`own[i]`, indented under it).
fn profile_text(name: &str, labs: &[&Lab], own: &[&str]) -> String {
    let mut gateways = String::new();
    for (lab, own) in labs.iter().zip(own) {
        gateways.push_str(&gateway_lines(lab, "          "));
        gateways.push_str(own);
    }
    format!(
        "name: {name}\ntitle: Two clusters\nlink:\n  router:\n    local_port: 8080\n    \
         gateway_pools:\n      - name: two-clusters\n        gateways:\n{gateways}auth:\n  jwt:\n    \
         secret:\n      env: {SECRET_VAR}\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_with_two_secrets_both_serve_from_a_router_profile() {
    const OTHER_VAR: &str = "MCP_CONNECT_TEST_ROUTER_AUTH_PROFILE_OTHER";
    let _ = tokens();
    // SAFETY: only this test touches this variable, set before any token is minted.
    unsafe { std::env::set_var(OTHER_VAR, OTHER_SECRET) };
    let alpha = Lab::start("alpha").await;
    let beta = Lab::start_with_secret("beta", OTHER_SECRET).await;
    let own = format!(
        "            auth:\n              jwt:\n                secret:\n                  env: {OTHER_VAR}\n"
    );
    let text = profile_text("two-clusters", &[&alpha, &beta], &["", &own]);
    let profile = mcp_connect::profile::parse(&text, "two-clusters.yaml").unwrap();
    // It saves and reads back with the gateway's own auth.
    let saved = serde_yaml::to_string(&profile).unwrap();
    assert_eq!(mcp_connect::profile::parse(&saved, "again.yaml").unwrap(), profile);

    let settings = config::from_profile(&profile, &RunOptions::default()).unwrap();
    let router = start(settings).await;
    serves_both(&router, [&alpha, &beta]).await;
}

/// A refusal of a gateway's own token points at the gateway's own `auth.jwt`, not the
/// profile's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fix_for_a_gateways_own_token_names_its_own_auth_section() {
    let _ = tokens();
    let alpha = Lab::start("alpha").await;
    let own = format!(
        "            auth:\n              jwt:\n                secret:\n                  env: \
         {SECRET_VAR}\n                issuer: someone-else\n"
    );
    let text = profile_text("own-claims", &[&alpha], &[&own]);
    let profile = mcp_connect::profile::parse(&text, "own-claims.yaml").unwrap();
    let router = start(config::from_profile(&profile, &RunOptions::default()).unwrap()).await;
    let body = match McpSession::connect(&http_client(), &router.url()).await {
        Err(McpError::Http { status, body }) if status == 503 => body,
        other => panic!("the gateway refuses the token: {:?}", other.err()),
    };
    let fix = said_in(&body).and_then(|said| said.fix).expect("a fix");
    let want = format!(
        "set `issuer: mcp-gateway` and `audience: mcp-gateway` under gateway {}'s `auth.jwt` in \
         profile own-claims, then restart the route",
        alpha.url
    );
    assert!(fix.contains(&want), "{fix}");
}

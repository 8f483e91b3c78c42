//! The router's settings: the seed's `router-config.yaml` read as written (errors with
//! file:line:col), the `router` profile converted, and `mcp-connect router` on the command line.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use mcp_connect::profile::{Catalog, Profile};
use mcp_connect::router::config;
use mcp_connect::router::{GatewayTransport, RouterSettings};
use mcp_connect::supervisor::RunOptions;
use mcp_connect::trouble::Trouble;

use crate::support::{Home, free_port};

const SEED_GATEWAY: &str =
    "https://k8s-mcp-mcpgatew-dae950c5b5-2f1dace9a3e601aa.elb.us-west-2.amazonaws.com:8443";

const PIN_A: &str = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";
const PIN_B: &str = "1111111111111111111111111111111111111111111111111111111111111111";

fn seed_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/seed-router-config.yaml")
}

fn seed_text() -> String {
    std::fs::read_to_string(seed_file()).unwrap()
}

/// Writes `text` as `router-config.yaml` in a fresh directory and reads it.
fn load(text: &str) -> (tempfile::TempDir, PathBuf, Result<RouterSettings, Trouble>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("router-config.yaml");
    std::fs::write(&path, text).unwrap();
    let loaded = config::from_file(&path);
    (dir, path, loaded)
}

/// The error of loading `text`, with the file's path replaced by `FILE`.
fn error_of(text: &str) -> Trouble {
    let (_dir, path, loaded) = load(text);
    let err = loaded.expect_err("an error");
    let file = path.display().to_string();
    Trouble { cause: err.cause.replace(&file, "FILE"), fix: err.fix.replace(&file, "FILE") }
}

fn builtin(name: &str) -> Profile {
    Catalog::builtin().get(name).unwrap().profile.clone().unwrap()
}

#[test]
fn the_seed_example_parses_unchanged() {
    let settings = config::from_file(&seed_file()).unwrap();
    assert_eq!(settings.listen, "127.0.0.1:8080".parse().unwrap());
    assert_eq!(settings.pools.len(), 1);
    let pool = &settings.pools[0];
    assert_eq!(pool.name, "staging-pool");
    assert!(pool.health.enabled);
    assert_eq!(pool.health.interval, Duration::from_secs(30));
    assert_eq!(pool.gateways.len(), 1);
    let gateway = &pool.gateways[0];
    assert_eq!(gateway.url.as_str(), format!("{SEED_GATEWAY}/mcp"));
    assert_eq!(gateway.weight, 100);
    assert!(gateway.tokens.is_some(), "the seed's auth.jwt gives the gateway a token");
    assert!(gateway.tls.pin_sha256.is_none() && !gateway.tls.insecure);
    assert!(gateway.tls.extra_roots.is_empty());
}

#[tokio::test]
async fn the_token_is_the_gateways_jwt_signed_with_the_secret_key_env() {
    const VAR: &str = "MCP_CONNECT_TEST_ROUTER_CONFIG_SECRET";
    // SAFETY: only this test touches this variable, set before any token is asked for.
    unsafe { std::env::set_var(VAR, "router-secret-0123456789") };
    let text = seed_text().replace("JWT_SECRET_KEY", VAR);
    let (_dir, _path, loaded) = load(&text);
    let tokens = loaded.unwrap().pools[0].gateways[0].tokens.clone().unwrap();
    let bearer = tokens.bearer().await.unwrap();

    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_issuer(&["mcp-gateway"]);
    validation.set_audience(&["mcp-gateway"]);
    let key = jsonwebtoken::DecodingKey::from_secret(b"router-secret-0123456789");
    let claims = jsonwebtoken::decode::<serde_json::Value>(bearer.token(), &key, &validation)
        .expect("HS256, iss and aud mcp-gateway, signed with the variable's value")
        .claims;
    let ttl = claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap();
    assert_eq!(ttl, 3600, "{claims}");
}

#[tokio::test]
async fn a_missing_secret_variable_is_an_error_when_minting_not_when_loading() {
    const UNSET: &str = "MCP_CONNECT_TEST_ROUTER_CONFIG_UNSET";
    // SAFETY: only this test touches this variable.
    unsafe { std::env::remove_var(UNSET) };
    let text = seed_text().replace("JWT_SECRET_KEY", UNSET);
    let (_dir, _path, loaded) = load(&text);
    let tokens = loaded.expect("loads without the variable").pools[0].gateways[0].tokens.clone();
    let err = tokens.unwrap().bearer().await.unwrap_err();
    assert_eq!(err.cause, format!("environment variable {UNSET} is not set"));
    assert!(err.fix.contains(&format!("export {UNSET}=")), "{}", err.fix);
}

#[test]
fn an_unknown_key_names_its_position_and_what_was_expected() {
    let err = error_of(&seed_text().replace("  protocol: http", "  prot0col: http"));
    assert_eq!(
        err.cause,
        "FILE:3:3: server: unknown field `prot0col`, expected one of `port`, `protocol`, `host`"
    );
    assert_eq!(err.fix, "fix FILE at the position shown");
    assert_eq!(err.to_string(), format!("{}; fix: {}", err.cause, err.fix));

    let err = error_of(&seed_text().replace("        weight: 100", "        wieght: 100"));
    assert!(
        err.cause.starts_with("FILE:9:9: gateway_pools[0].gateways[0]: unknown field `wieght`"),
        "{}",
        err.cause
    );
    assert!(err.cause.contains("expected one of `url`, `weight`, `tls`"), "{}", err.cause);
}

#[test]
fn a_protocol_other_than_http_is_refused_by_name() {
    let err = error_of(&seed_text().replace("protocol: http", "protocol: stdio"));
    assert!(err.cause.starts_with("FILE:3:13: server.protocol: "), "{}", err.cause);
    assert!(
        err.cause.contains("protocol \"stdio\" is not supported, expected `http`"),
        "{}",
        err.cause
    );
    assert!(err.cause.contains("mcp-connect bridge router"), "{}", err.cause);
}

#[test]
fn a_zero_interval_or_weight_is_an_error_at_its_value() {
    let err = error_of(&seed_text().replace("interval: 30s", "interval: 0s"));
    assert!(
        err.cause.starts_with("FILE:12:17: gateway_pools[0].health_check.interval: "),
        "{}",
        err.cause
    );
    assert!(err.cause.contains("invalid duration \"0s\", expected a positive"), "{}", err.cause);

    let err = error_of(&seed_text().replace("weight: 100", "weight: 0"));
    assert!(
        err.cause.starts_with("FILE:9:17: gateway_pools[0].gateways[0].weight: "),
        "{}",
        err.cause
    );
    assert!(err.cause.contains("expected a nonzero"), "{}", err.cause);
}

#[test]
fn other_mistakes_point_at_their_place() {
    let err = error_of("");
    assert!(err.cause.starts_with("FILE:1:1: the file is empty, expected"), "{}", err.cause);

    let err = error_of(&seed_text().replace("  port: 8080", "  port: 0"));
    assert!(err.cause.starts_with("FILE:2:9: server.port: invalid port 0"), "{}", err.cause);

    let err = error_of(
        &seed_text().replace("    secret_key_env: JWT_SECRET_KEY", "    secret_key_env: 1X"),
    );
    assert!(err.cause.starts_with("FILE:16:21: auth.jwt.secret_key_env: "), "{}", err.cause);

    let err = error_of(&seed_text().replace(SEED_GATEWAY, "ftp://gw:8443"));
    assert!(err.cause.contains("URL scheme \"ftp\" is not supported"), "{}", err.cause);

    let err = error_of("server:\n  port: 8080\ngateway_pools: []\n");
    assert!(err.cause.starts_with("FILE:3:16: gateway_pools: empty list"), "{}", err.cause);

    let err = error_of("server:\n  protocol: http\ngateway_pools: []\n");
    assert!(err.cause.contains("missing field `port`"), "{}", err.cause);
}

#[test]
fn a_gateway_url_may_name_its_path_and_auth_may_be_left_out() {
    let text = "server: {port: 9000, host: 127.0.0.2}\ngateway_pools:\n  - name: p\n    gateways:\n      - url: http://127.0.0.1:7000/gw/mcp\n      - url: http://127.0.0.1:7001\n        weight: 5\n    health_check: {enabled: false}\n";
    let (_dir, _path, loaded) = load(text);
    let settings = loaded.unwrap();
    assert_eq!(settings.listen, "127.0.0.2:9000".parse().unwrap());
    let gateways = &settings.pools[0].gateways;
    assert_eq!(gateways[0].url.as_str(), "http://127.0.0.1:7000/gw/mcp");
    assert_eq!(gateways[0].weight, 100);
    assert_eq!(gateways[1].url.as_str(), "http://127.0.0.1:7001/mcp");
    assert_eq!(gateways[1].weight, 5);
    assert!(gateways.iter().all(|g| g.tokens.is_none()));
    assert!(!settings.pools[0].health.enabled);
    assert_eq!(settings.pools[0].health.interval, Duration::from_secs(30));
}

#[test]
fn a_ws_gateway_url_in_the_seed_shape_selects_the_envelope_transport() {
    let text = seed_text().replace(
        &format!("      - url: {SEED_GATEWAY}\n"),
        &format!(
            "      - url: wss://gw.example:8443\n        tls: {{pin_sha256: {PIN_B}}}\n      - url: \
             ws://127.0.0.1:7000/gateway/ws\n      - url: {SEED_GATEWAY}\n"
        ),
    );
    let (_dir, _path, loaded) = load(&text);
    let settings = loaded.unwrap();
    let gateways = &settings.pools[0].gateways;
    assert_eq!(gateways.len(), 3);
    assert_eq!(gateways[0].url.as_str(), "wss://gw.example:8443/ws", "no path: /ws");
    assert_eq!(gateways[0].transport(), Some(GatewayTransport::EnvelopeWs));
    assert_eq!(gateways[0].tls.pin_sha256.as_deref(), Some(PIN_B), "wss:// speaks TLS");
    assert_eq!(gateways[1].url.as_str(), "ws://127.0.0.1:7000/gateway/ws", "the path as given");
    assert_eq!(gateways[1].transport(), Some(GatewayTransport::EnvelopeWs));
    assert_eq!(gateways[2].url.as_str(), format!("{SEED_GATEWAY}/mcp"));
    assert_eq!(gateways[2].transport(), Some(GatewayTransport::StreamableHttp));
    assert!(gateways.iter().all(|g| g.tokens.is_some()), "auth.jwt applies to each");

    let text = text.replace("ws://127.0.0.1:7000/gateway/ws", "ws://127.0.0.1:7000");
    let (_dir, _path, loaded) = load(&text);
    assert_eq!(loaded.unwrap().pools[0].gateways[1].url.as_str(), "ws://127.0.0.1:7000/ws");
}

#[test]
fn per_gateway_tls_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let ca = mcp_connect::lab::tls::LabCa::new("router-config test CA").unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
    let text = format!(
        "server: {{port: 8080}}\ngateway_pools:\n  - name: p\n    gateways:\n      - url: https://a:8443\n        tls: {{pin_sha256: \"{PIN_A}\"}}\n      - url: https://b:8443\n        tls:\n          ca_file: ca.pem\n      - url: https://c:8443\n        tls: {{verify: false}}\n"
    );
    let path = dir.path().join("router-config.yaml");
    std::fs::write(&path, &text).unwrap();
    let settings = config::from_file(&path).unwrap();
    let gateways = &settings.pools[0].gateways;
    let pin = PIN_A.replace(':', "").to_ascii_lowercase();
    assert_eq!(gateways[0].tls.pin_sha256.as_deref(), Some(pin.as_str()));
    assert!(!gateways[0].tls.insecure);
    assert_eq!(gateways[1].tls.extra_roots.len(), 1, "ca_file is read next to the config");
    assert!(gateways[2].tls.insecure && gateways[2].tls.pin_sha256.is_none());

    let err = error_of(&text.replace("ca.pem", "missing.pem"));
    assert!(err.cause.starts_with("FILE:9:20: cannot read CA certificates from "), "{}", err.cause);

    let err = error_of(&text.replace("https://a:8443", "http://a:8080"));
    assert!(
        err.cause.starts_with("FILE:6:14: `tls` is set but this gateway's URL is plain http://"),
        "{}",
        err.cause
    );

    let err = error_of(&text.replace("{pin_sha256:", "{verify: false, pin_sha256:"));
    assert!(
        err.cause.starts_with("FILE:6:23: `verify: false` with `pin_sha256` set"),
        "{}",
        err.cause
    );

    let err = error_of(&text.replace("{verify: false}", "{verfy: false}"));
    assert!(
        err.cause
            .contains("unknown field `verfy`, expected one of `verify`, `ca_file`, `pin_sha256`"),
        "{}",
        err.cause
    );
}

#[test]
fn the_builtin_router_profile_converts() {
    let profile = builtin("router");
    let settings = config::from_profile(&profile, &RunOptions::default()).unwrap();
    assert_eq!(settings.listen, "127.0.0.1:8080".parse().unwrap());
    assert_eq!(settings.pools.len(), 1);
    let pool = &settings.pools[0];
    assert_eq!(pool.name, "staging-pool");
    assert_eq!(pool.health.interval, Duration::from_secs(30));
    let gateway = &pool.gateways[0];
    assert_eq!(gateway.url.as_str(), format!("{SEED_GATEWAY}/mcp"));
    assert_eq!(gateway.weight, 100);
    assert!(gateway.tokens.is_some());
    assert!(!gateway.tls.insecure && gateway.tls.pin_sha256.is_none());

    let options = RunOptions { local_port: Some(18080), ..RunOptions::default() };
    let settings = config::from_profile(&profile, &options).unwrap();
    assert_eq!(settings.listen, "127.0.0.1:18080".parse().unwrap());

    let err = config::from_profile(&builtin("serena-direct"), &RunOptions::default()).unwrap_err();
    assert_eq!(err.cause, "profile serena-direct has a port_forward link, not a router");
}

const TWO_GATEWAYS: &str = "name: two-gateways
title: Two gateways
link:
  router:
    local_port: 8181
    gateway_pools:
      - name: p
        gateways:
          - url: https://a.example:8443
            tls:
              pin_sha256: PIN_B
          - url: https://b.example:8443
            weight: 50
endpoint:
  path: /gw
tls:
  pin_sha256: PIN_A
";

#[test]
fn a_gateways_own_tls_overrides_the_profiles() {
    let text = TWO_GATEWAYS.replace("PIN_A", &format!("\"{PIN_A}\"")).replace("PIN_B", PIN_B);
    let profile = mcp_connect::profile::parse(&text, "two.yaml").unwrap();
    let settings = config::from_profile(&profile, &RunOptions::default()).unwrap();
    let gateways = &settings.pools[0].gateways;
    assert_eq!(gateways[0].tls.pin_sha256.as_deref(), Some(PIN_B));
    let pin_a = PIN_A.replace(':', "").to_ascii_lowercase();
    assert_eq!(gateways[1].tls.pin_sha256.as_deref(), Some(pin_a.as_str()));
    assert_eq!(gateways[1].url.as_str(), "https://b.example:8443/gw");
    assert_eq!(gateways[1].weight, 50);
    assert!(gateways.iter().all(|g| g.tokens.is_none()), "auth: none");

    // The profile saves and reads back with the gateway's tls.
    let yaml = serde_yaml::to_string(&profile).unwrap();
    assert_eq!(mcp_connect::profile::parse(&yaml, "again.yaml").unwrap(), profile);
}

#[test]
fn a_profile_gateways_tls_needs_an_https_url() {
    let text = TWO_GATEWAYS
        .replace("PIN_A", &format!("\"{PIN_A}\""))
        .replace("PIN_B", PIN_B)
        .replace("https://a.example:8443", "http://a.example:8080");
    let err = mcp_connect::profile::parse(&text, "two.yaml").unwrap_err();
    assert_eq!(
        err.to_string(),
        "two.yaml:11:15: `tls` is set but this gateway's URL is plain http://, expected an \
         https:// URL or no `tls` section"
    );
}

#[test]
fn the_command_wants_exactly_one_of_profile_and_config() {
    let home = Home::new();
    let none = home.run(&["router"]);
    assert_eq!(none.code(), 2, "{}", none.stderr());
    assert!(
        none.stderr().contains("the following required arguments were not provided"),
        "{}",
        none.stderr()
    );
    assert!(none.stderr().contains("<PROFILE|--config <FILE>>"), "{}", none.stderr());

    let file = seed_file();
    let both = home.run(&["router", "router", "--config", file.to_str().unwrap()]);
    assert_eq!(both.code(), 2, "{}", both.stderr());
    assert!(both.stderr().contains("cannot be used with"), "{}", both.stderr());
}

#[test]
fn the_command_reports_a_bad_file_with_its_position() {
    let home = Home::new();
    let path =
        home.write("router-config.yaml", &seed_text().replace("protocol: http", "protocol: stdio"));
    let run = home.run(&["router", "--config", path.to_str().unwrap()]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    let expected = format!("error: {}:3:13: server.protocol: protocol \"stdio\"", path.display());
    assert!(run.stderr().starts_with(&expected), "{}", run.stderr());
    assert!(run.stderr().contains("  fix: fix "), "{}", run.stderr());

    let run = home.run(&["router", "serena-direct"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("has a port_forward link, not a router"), "{}", run.stderr());
}

#[test]
fn the_command_serves_the_seed_file_and_stops_on_sigterm() {
    let home = Home::new();
    let port = free_port();
    let file = seed_file();
    let mut child = home
        .command()
        .args(["router", "--config", file.to_str().unwrap(), "--local-port", &port.to_string()])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // Its log comes first (stderr is its log when the TUI runs it), then the line it serves.
    let serving = format!("router: serving http://127.0.0.1:{port}/mcp (1 gateway in 1 pool)");
    let mut lines = Vec::new();
    while lines.last() != Some(&serving) {
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(line) => lines.push(line),
            Err(_) => {
                let _ = child.kill();
                panic!("no {serving:?} on stderr; it wrote {lines:#?}");
            }
        }
    }
    assert!(
        lines.iter().any(|l| l.contains("INFO") && l.contains("router listening")),
        "{lines:#?}"
    );
    // It listens once the line is out.
    std::net::TcpStream::connect(("127.0.0.1", port)).expect("the router listens");
    assert_eq!(crate::support::stop(&mut child), 0);
}

const ENVELOPE_GATEWAYS: &str = "name: envelope
title: Envelope gateways
link:
  router:
    local_port: 8181
    gateway_pools:
      - name: p
        gateways:
          - url: https://a.example:8443
          - url: http://127.0.0.1:8080
          - url: https://c.example:8443
            transport: TRANSPORT
endpoint:
  path: /gateway/ws
  transport: mcp-bridge-ws
";

#[test]
fn an_envelope_endpoint_makes_every_gateway_an_envelope_one_unless_it_says_otherwise() {
    let text = ENVELOPE_GATEWAYS.replace("TRANSPORT", "streamable-http");
    let profile = mcp_connect::profile::parse(&text, "envelope.yaml").unwrap();
    let settings = config::from_profile(&profile, &RunOptions::default()).unwrap();
    let urls: Vec<&str> = settings.pools[0].gateways.iter().map(|g| g.url.as_str()).collect();
    assert_eq!(
        urls,
        [
            "wss://a.example:8443/gateway/ws",
            "ws://127.0.0.1:8080/gateway/ws",
            "https://c.example:8443/mcp"
        ],
        "endpoint.path for the endpoint's kind; /mcp for a gateway that speaks MCP instead"
    );
    let transports: Vec<_> = settings.pools[0].gateways.iter().map(|g| g.transport()).collect();
    let (ws, http) = (Some(GatewayTransport::EnvelopeWs), Some(GatewayTransport::StreamableHttp));
    assert_eq!(transports, [ws, ws, http]);

    // The profile saves and reads back with the gateway's transport.
    let yaml = serde_yaml::to_string(&profile).unwrap();
    assert!(yaml.contains("transport: streamable-http"), "{yaml}");
    assert_eq!(mcp_connect::profile::parse(&yaml, "again.yaml").unwrap(), profile);
}

#[test]
fn one_envelope_gateway_in_an_mcp_profile_is_reached_at_ws() {
    let text =
        TWO_GATEWAYS.replace("PIN_A", &format!("\"{PIN_A}\"")).replace("PIN_B", PIN_B).replace(
            "            weight: 50\n",
            "            weight: 50\n            transport: mcp-bridge-ws\n",
        );
    let profile = mcp_connect::profile::parse(&text, "two.yaml").unwrap();
    let settings = config::from_profile(&profile, &RunOptions::default()).unwrap();
    let gateways = &settings.pools[0].gateways;
    assert_eq!(gateways[0].url.as_str(), "https://a.example:8443/gw", "endpoint.path");
    assert_eq!(gateways[1].url.as_str(), "wss://b.example:8443/ws", "the envelope's usual path");
    assert_eq!(gateways[1].transport(), Some(GatewayTransport::EnvelopeWs));
    let pin_a = PIN_A.replace(':', "").to_ascii_lowercase();
    assert_eq!(gateways[1].tls.pin_sha256.as_deref(), Some(pin_a.as_str()), "the profile's tls");
}

#[test]
fn a_transport_the_router_cannot_speak_to_a_gateway_is_refused_naming_it() {
    for transport in ["sse", "mcp-bridge-http"] {
        let text = ENVELOPE_GATEWAYS.replace("TRANSPORT", transport);
        let err = mcp_connect::profile::parse(&text, "envelope.yaml").unwrap_err().to_string();
        let expected = format!(
            "envelope.yaml:12:24: transport `{transport}` is not one the router speaks to \
             gateway https://c.example:8443, expected `streamable-http` (or `auto`: standard \
             MCP) or `mcp-bridge-ws`"
        );
        assert!(err.starts_with(&expected), "{err}");
    }
    let err =
        mcp_connect::profile::parse(&ENVELOPE_GATEWAYS.replace("TRANSPORT", "sorcery"), "e.yaml")
            .unwrap_err()
            .to_string();
    assert!(err.contains("unknown variant `sorcery`"), "{err}");

    // Inherited from the endpoint: refused when the settings are made, naming the gateway.
    let text = ENVELOPE_GATEWAYS
        .replace("TRANSPORT", "mcp-bridge-ws")
        .replace("/gateway/ws\n  transport: mcp-bridge-ws", "/gateway/ws\n  transport: sse");
    let profile = mcp_connect::profile::parse(&text, "envelope.yaml").unwrap();
    let err = config::from_profile(&profile, &RunOptions::default()).unwrap_err();
    assert_eq!(
        err.cause,
        "profile envelope, gateway https://a.example:8443: transport `sse` (from the profile's \
         `endpoint.transport`) is not one the router speaks to a gateway"
    );
    assert!(err.fix.contains("`transport: mcp-bridge-ws`"), "{}", err.fix);
}

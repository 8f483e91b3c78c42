//! The gateway's JWT, minted from the lab cluster's secret: through the library, and through
//! `mcp-connect token`.

use std::time::{Duration, SystemTime};

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use mcp_connect::auth::{Claims, KubeAccess, Tokens};
use mcp_connect::lab::kube::seed::GATEWAY_SECRET;
use mcp_connect::lab::world::{Lab, LabOptions};
use mcp_connect::profile::{Auth, Catalog, EnvVar, Profile, SecretSource};
use mcp_connect::trouble::Trouble;
use serde_json::Value;

use crate::support::{Home, rotate_gateway_secret};

fn builtin(name: &str) -> Profile {
    Catalog::builtin().get(name).unwrap().profile.clone().unwrap()
}

fn lab_access(lab: &Lab) -> KubeAccess {
    KubeAccess { kubeconfig: Some(lab.kubeconfig().to_path_buf()), context: None }
}

/// The claims of `token` when it verifies as the gateway checks it (HMAC with `secret`, `iss`
/// and `aud` mcp-gateway, not expired).
fn verify(token: &str, secret: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&["mcp-gateway"]);
    validation.set_audience(&["mcp-gateway"]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let key = DecodingKey::from_secret(secret.as_bytes());
    jsonwebtoken::decode::<Claims>(token, &key, &validation).map(|data| data.claims)
}

/// `gateway-port-forward` with its secret taken from `source` instead.
fn with_secret(source: SecretSource) -> Profile {
    let mut profile = builtin("gateway-port-forward");
    let Auth::Jwt(jwt) = &mut profile.auth else { panic!("gateway-port-forward mints a JWT") };
    jwt.secret = source;
    profile
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_profile_mints_a_token_its_secret_verifies() {
    let lab = Lab::start(LabOptions::default()).await.unwrap();
    let tokens = Tokens::for_profile(&builtin("gateway-port-forward"), lab_access(&lab)).unwrap();
    let before = SystemTime::now();
    let bearer = tokens.bearer().await.unwrap();
    let after = SystemTime::now();

    let claims = verify(bearer.token(), &lab.seeded.jwt_secret).expect("a token the gateway takes");
    assert_eq!((claims.iss.as_str(), claims.aud.as_str()), ("mcp-gateway", "mcp-gateway"));
    assert_eq!(claims.scopes, ["mcp:*:read", "mcp:*:write"]);
    assert!(!claims.sub.is_empty());
    assert_eq!(claims.exp - claims.iat, 3600);
    // An hour from when it was minted, which lies between `before` and `after` (however long
    // the mint took).
    let lifetime = bearer.expires_at().duration_since(before).unwrap();
    assert!(lifetime > Duration::from_secs(3590), "{lifetime:?}");
    let left_after = bearer.expires_at().duration_since(after).unwrap();
    assert!(left_after <= Duration::from_secs(3601), "{left_after:?}");
    assert_eq!(bearer.header_value(), format!("Bearer {}", bearer.token()));
    assert!(verify(bearer.token(), "another-secret").is_err());
    assert_eq!(tokens.minted(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_share_one_mint_and_later_ones_the_same_token() {
    let lab = Lab::start(LabOptions::default()).await.unwrap();
    // A slow API server keeps the first mint under way while the others ask (however late a
    // busy machine starts them).
    lab.api.faults().set_latency(Duration::from_secs(2));
    let tokens = Tokens::for_profile(&builtin("gateway-port-forward"), lab_access(&lab)).unwrap();
    let asks = (0..8).map(|_| {
        let tokens = tokens.clone();
        tokio::spawn(async move { tokens.bearer().await })
    });
    let answers: Vec<_> = futures::future::join_all(asks).await;
    let tokens_seen: Vec<String> =
        answers.into_iter().map(|a| a.unwrap().unwrap().token().to_owned()).collect();
    assert!(tokens_seen.iter().all(|t| t == &tokens_seen[0]));
    assert_eq!(tokens.minted(), 1, "eight callers, one mint");

    let again = tokens.bearer().await.unwrap();
    assert_eq!(again.token(), tokens_seen[0]);
    assert_eq!(tokens.minted(), 1, "a fresh token is reused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_mints_anew_and_rereads_the_secret() {
    let lab = Lab::start(LabOptions::default()).await.unwrap();
    let tokens = Tokens::for_profile(&builtin("gateway-port-forward"), lab_access(&lab)).unwrap();
    let first = tokens.bearer().await.unwrap();
    verify(first.token(), &lab.seeded.jwt_secret).unwrap();

    // The gateway's secret is rotated: the current token stays until a refresh is asked for.
    rotate_gateway_secret(&lab, "rotated-secret-0123456789");
    assert_eq!(tokens.bearer().await.unwrap().token(), first.token());
    let second = tokens.refresh().await.unwrap();
    assert_ne!(second.token(), first.token());
    verify(second.token(), "rotated-secret-0123456789").expect("signed with the new secret");
    assert!(verify(second.token(), &lab.seeded.jwt_secret).is_err());
    assert_eq!(tokens.minted(), 2);
    // Every clone sees the refreshed token.
    assert_eq!(tokens.clone().bearer().await.unwrap().token(), second.token());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_in_its_last_fifth_is_renewed_and_a_failed_renewal_keeps_the_valid_one() {
    let lab = Lab::start(LabOptions::default()).await.unwrap();
    let mut profile = builtin("gateway-port-forward");
    let Auth::Jwt(jwt) = &mut profile.auth else { panic!("gateway-port-forward mints a JWT") };
    jwt.ttl = Duration::from_secs(5); // renewed in its last second
    let (a, b) = (
        Tokens::for_profile(&profile, lab_access(&lab)).unwrap(),
        Tokens::for_profile(&profile, lab_access(&lab)).unwrap(),
    );
    let (first_a, first_b) = (a.bearer().await.unwrap(), b.bearer().await.unwrap());
    assert_eq!(a.bearer().await.unwrap().token(), first_a.token(), "not due yet");

    let due = first_a.expires_at().min(first_b.expires_at()) - Duration::from_millis(700);
    tokio::time::sleep(due.duration_since(SystemTime::now()).unwrap_or_default()).await;
    let renewed = a.bearer().await.unwrap();
    assert_ne!(renewed.token(), first_a.token());
    assert!(renewed.expires_at() > first_a.expires_at());
    assert_eq!(a.minted(), 2);

    // The secret becomes unreadable: the old token serves while it is valid, then the error.
    lab.api.faults().deny("get", "secrets");
    assert_eq!(b.bearer().await.unwrap().token(), first_b.token());
    assert_eq!(b.minted(), 1);
    let over = first_b.expires_at() + Duration::from_millis(100);
    tokio::time::sleep(over.duration_since(SystemTime::now()).unwrap_or_default()).await;
    let err = b.bearer().await.unwrap_err();
    assert!(err.cause.starts_with("your kubeconfig user may not read secret"), "{}", err.cause);
    assert!(b.refresh().await.is_err(), "refresh answers no stale token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_who_may_not_read_the_secret_is_told_which_permission_and_the_way_around() {
    let lab = Lab::start(LabOptions::default()).await.unwrap();
    lab.api.faults().deny("get", "secrets");
    let tokens = Tokens::for_profile(&builtin("gateway-port-forward"), lab_access(&lab)).unwrap();
    let Trouble { cause, fix } = tokens.bearer().await.unwrap_err();
    assert!(
        cause.starts_with(
            "your kubeconfig user may not read secret mcp/mcp-gateway-mcp-bridge-secrets"
        ),
        "{cause}"
    );
    assert!(cause.contains("lab-user"), "the API server's message names the user: {cause}");
    assert!(fix.starts_with("ask for `get` on secrets in mcp"), "{fix}");
    assert!(fix.contains("jsonpath='{.data.jwt-secret-key}' | base64 -d"), "{fix}");
    assert!(fix.contains("secret: {env: JWT_SECRET_KEY}"), "{fix}");
    assert!(!cause.contains(&lab.seeded.jwt_secret) && !fix.contains(&lab.seeded.jwt_secret));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_key_or_name_lists_what_is_there() {
    let lab = Lab::start(LabOptions::default()).await.unwrap();
    let reference = |name: &str, key: &str| {
        let yaml = format!("kubernetes: {{namespace: mcp, name: {name}, key: {key}}}");
        serde_yaml::with::singleton_map::deserialize::<SecretSource, _>(
            serde_yaml::Deserializer::from_str(&yaml),
        )
        .unwrap()
    };
    let profile = with_secret(reference(GATEWAY_SECRET, "jwt-secret"));
    let tokens = Tokens::for_profile(&profile, lab_access(&lab)).unwrap();
    let err = tokens.bearer().await.unwrap_err();
    assert_eq!(
        err.cause,
        "secret mcp/mcp-gateway-mcp-bridge-secrets has no key \"jwt-secret\" (its keys: \
         jwt-secret-key)"
    );
    assert!(err.fix.contains("key to one of: jwt-secret-key"), "{}", err.fix);
    assert!(!format!("{err:?}").contains(&lab.seeded.jwt_secret));

    let profile = with_secret(reference("no-such-secret", "jwt-secret-key"));
    let tokens = Tokens::for_profile(&profile, lab_access(&lab)).unwrap();
    let err = tokens.bearer().await.unwrap_err();
    assert_eq!(err.cause, "secret mcp/no-such-secret not found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_context_names_the_ones_there_are() {
    let lab = Lab::start(LabOptions::default()).await.unwrap();
    let kube = KubeAccess { context: Some("prod".into()), ..lab_access(&lab) };
    let tokens = Tokens::for_profile(&builtin("gateway-port-forward"), kube).unwrap();
    let err = tokens.bearer().await.unwrap_err();
    assert!(err.cause.contains("context \"prod\" is not in the kubeconfig"), "{}", err.cause);
    assert!(err.fix.contains("(lab)"), "{}", err.fix);
}

#[tokio::test]
async fn an_env_secret_signs_and_a_missing_one_says_what_to_export() {
    const SET: &str = "MCP_CONNECT_TEST_AUTH_ENV_SECRET";
    const UNSET: &str = "MCP_CONNECT_TEST_AUTH_ENV_UNSET";
    // SAFETY: only this test touches these variables, and it sets them before any token is
    // asked for.
    unsafe {
        std::env::set_var(SET, "env-secret-abcdef");
        std::env::remove_var(UNSET);
    }
    let env = |var: &str| SecretSource::Env(EnvVar::try_from(var).unwrap());
    // No kubeconfig anywhere: an env secret needs no cluster.
    let none = KubeAccess { kubeconfig: Some("/nonexistent/kubeconfig".into()), context: None };

    let tokens = Tokens::for_profile(&with_secret(env(SET)), none.clone()).unwrap();
    let bearer = tokens.bearer().await.unwrap();
    verify(bearer.token(), "env-secret-abcdef").expect("signed with the variable's value");

    let tokens = Tokens::for_profile(&with_secret(env(UNSET)), none).unwrap();
    let err = tokens.bearer().await.unwrap_err();
    assert_eq!(err.cause, format!("environment variable {UNSET} is not set"));
    assert_eq!(
        err.fix,
        format!(
            "export {UNSET}=… (the gateway's jwt-secret-key), or use a kubernetes secret source"
        )
    );
}

#[tokio::test]
async fn a_ready_bearer_token_is_passed_through_with_its_expiry() {
    const VAR: &str = "MCP_CONNECT_TEST_AUTH_READY_TOKEN";
    let mut profile = builtin("gateway-port-forward");
    profile.auth = serde_yaml::with::singleton_map::deserialize(
        serde_yaml::Deserializer::from_str(&format!("bearer: {{env: {VAR}}}")),
    )
    .unwrap();
    let claims = Claims {
        sub: "ci".into(),
        iss: "mcp-gateway".into(),
        aud: "mcp-gateway".into(),
        iat: 1_900_000_000,
        exp: 1_900_000_600,
        scopes: vec![],
    };
    let jwt = mcp_connect::auth::mint(b"k", &claims).unwrap();
    // SAFETY: only this test touches this variable.
    unsafe { std::env::set_var(VAR, &jwt) };
    let tokens = Tokens::for_profile(&profile, KubeAccess::default()).unwrap();
    let bearer = tokens.bearer().await.unwrap();
    assert_eq!(bearer.token(), jwt);
    assert_eq!(bearer.expires_at(), claims.expires_at());

    // SAFETY: as above.
    unsafe { std::env::set_var(VAR, "opaque-token") };
    let bearer = tokens.refresh().await.unwrap();
    assert_eq!(bearer.token(), "opaque-token");
    assert!(bearer.expires_at() > SystemTime::now() + Duration::from_secs(100 * 365 * 86400));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_command_prints_a_headers_helper_object_and_leaks_nothing() {
    let lab = Lab::start(LabOptions::default()).await.unwrap();
    let home = Home::new();
    let run = |args: &[&str]| {
        let mut command = home.command();
        // The most the log file ever holds: kube's and hyper's own traces included.
        command.arg("--kubeconfig").arg(lab.kubeconfig()).args(["--log-level", "trace"]);
        tokio::task::block_in_place(|| command.args(args).output().unwrap())
    };

    let out = run(&["token", "gateway-port-forward", "--headers"]);
    let (stdout, stderr) =
        (String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap());
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.ends_with('\n') && stdout.lines().count() == 1, "{stdout:?}");
    let headers: Value = serde_json::from_str(&stdout).expect("one JSON object");
    let object = headers.as_object().unwrap();
    assert_eq!(object.keys().collect::<Vec<_>>(), ["Authorization"]);
    let token = object["Authorization"].as_str().unwrap().strip_prefix("Bearer ").unwrap();
    verify(token, &lab.seeded.jwt_secret).expect("a token the gateway takes");
    assert_eq!(stdout, format!("{{\"Authorization\":\"Bearer {token}\"}}\n"));

    let raw = run(&["token", "gateway-port-forward"]);
    assert_eq!(raw.status.code(), Some(0));
    let raw_token = String::from_utf8(raw.stdout).unwrap();
    let raw_token = raw_token.strip_suffix('\n').expect("the token and a newline");
    verify(raw_token, &lab.seeded.jwt_secret).unwrap();

    // Neither the secret nor a token reaches stderr or any file under the throwaway home,
    // the log files included.
    let written = crate::support::files_under(home.path());
    assert!(written.iter().any(|f| f.to_string_lossy().contains("state")), "{written:?}");
    for (name, text) in written
        .iter()
        .map(|f| (f.display().to_string(), std::fs::read_to_string(f).unwrap_or_default()))
        .chain([("stderr".to_owned(), stderr)])
    {
        for (what, needle) in
            [("secret", lab.seeded.jwt_secret.as_str()), ("token", token), ("token", raw_token)]
        {
            assert!(!text.contains(needle), "the {what} is in {name}");
        }
        // Every JWT starts so (`{"` in base64): none may be written anywhere.
        assert!(!text.contains("eyJ"), "something JWT-like is in {name}");
    }
}

#[test]
fn the_token_command_refuses_a_profile_without_auth() {
    let home = Home::new();
    let out = home.run(&["token", "serena-direct"]);
    assert_eq!(out.code(), 2);
    assert!(out.stdout().is_empty());
    assert!(
        out.stderr().contains("error: profile serena-direct needs no token (it has auth: none)"),
        "{}",
        out.stderr()
    );
}

#[test]
fn the_token_command_says_what_to_export_when_the_env_secret_is_missing() {
    let home = Home::new();
    let out = home.run(&["token", "router"]);
    assert_eq!(out.code(), 2);
    assert!(out.stdout().is_empty());
    assert!(
        out.stderr().contains("error: environment variable JWT_SECRET_KEY is not set"),
        "{}",
        out.stderr()
    );
    assert!(out.stderr().contains("fix: export JWT_SECRET_KEY=…"), "{}", out.stderr());

    let out = Home::new()
        .command()
        .env("JWT_SECRET_KEY", "from-the-environment")
        .args(["token", "router"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let token = String::from_utf8(out.stdout).unwrap();
    verify(token.trim_end(), "from-the-environment").unwrap();
}

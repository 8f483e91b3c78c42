//! Profiles: the built-ins, user files on top, and errors that say where and what.

use mcp_connect::profile::{Catalog, Link, Profile, Source, UserDir, parse};
use serde_json::Value;

use crate::support::{Home, Run};

const BUILT_IN_NAMES: [&str; 4] =
    ["serena-direct", "gateway-port-forward", "gateway-loadbalancer", "router"];

/// A valid user profile named `name`, forwarding to local port 9000.
fn good(name: &str) -> String {
    format!(
        "name: {name}\ntitle: A title\nlink:\n  port_forward:\n    namespace: mcp\n    \
         service: serena-mcp\n    remote_port: 8080\n    local_port: 9000\n"
    )
}

#[test]
fn built_ins_parse_validate_and_say_what_the_seed_gets_wrong() {
    let catalog = Catalog::builtin();
    let names: Vec<&str> = catalog.entries().iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, BUILT_IN_NAMES);
    let profiles: Vec<&Profile> =
        catalog.entries().iter().map(|e| e.profile.as_ref().expect("valid built-in")).collect();

    let urls: Vec<String> = profiles.iter().map(|p| p.local_endpoint().to_string()).collect();
    assert_eq!(
        urls,
        [
            "http://127.0.0.1:8080/mcp",
            "https://127.0.0.1:8443/mcp",
            "https://k8s-mcp-mcpgatew-dae950c5b5-2f1dace9a3e601aa.elb.us-west-2.amazonaws.com:8443/mcp",
            "http://127.0.0.1:8080/mcp",
        ]
    );
    let Link::PortForward(serena) = &profiles[0].link else { panic!("route 1 is a port-forward") };
    assert_eq!((serena.namespace.as_str(), serena.service.as_str()), ("mcp", "serena-mcp"));
    let Link::PortForward(gateway) = &profiles[1].link else { panic!("route 2 is a port-forward") };
    assert_eq!(gateway.service.as_str(), "mcp-gateway-mcp-bridge-gateway");
    assert_eq!(gateway.remote_port.get(), 8443);
    // The gateway rejects a token without iss/aud = mcp-gateway (FACTS.md), so all three
    // gateway routes carry them, and none turns TLS verification off.
    for profile in &profiles[1..] {
        let mcp_connect::profile::Auth::Jwt(jwt) = &profile.auth else {
            panic!("{} authenticates with a JWT", profile.name)
        };
        assert_eq!((jwt.issuer.as_str(), jwt.audience.as_str()), ("mcp-gateway", "mcp-gateway"));
        assert!(profile.tls.as_ref().is_some_and(|t| t.verify), "{} verifies TLS", profile.name);
    }
    for profile in &profiles {
        assert_eq!(profile.client.server_name.as_str(), "serena");
        assert!(
            !profile.pros.is_empty() && !profile.cons.is_empty() && !profile.when_to_use.is_empty()
        );
    }
}

#[test]
fn profiles_json_round_trips_to_the_same_profiles() {
    let home = Home::new();
    home.write("config/mcp-connect/profiles/mine.yaml", &good("mine"));
    let run = home.run(&["profiles", "--json"]);
    assert_eq!(run.code(), 0, "stderr: {}", run.stderr());
    let listing: Value = serde_json::from_str(&run.stdout()).expect("JSON on stdout");
    let rows = listing["profiles"].as_array().expect("a profiles array");
    assert_eq!(rows.len(), 5);

    let catalog = Catalog::load(&UserDir::Explicit(home.user_profiles())).expect("loads");
    for (row, entry) in rows.iter().zip(catalog.entries()) {
        let expected = entry.profile.as_ref().expect("valid");
        let from_json: Profile =
            serde_json::from_value(row["profile"].clone()).expect("the JSON profile parses back");
        assert_eq!(&from_json, expected);
        // And back through YAML, the format profiles are written in.
        let yaml = serde_yaml::to_string(&from_json).expect("serializes to YAML");
        assert_eq!(&parse(&yaml, "round-trip.yaml").expect("re-parses"), expected, "{yaml}");
        assert_eq!(row["name"], entry.name.as_str());
        assert_eq!(row["local_endpoint"], expected.local_endpoint().as_str());
        assert_eq!(row["error"], Value::Null);
    }
    assert_eq!(rows[4]["route"], "port-forward");
    assert_eq!(rows[4]["target"], "mcp/svc/serena-mcp:8080");
    assert!(rows[4]["source"].as_str().unwrap().ends_with("profiles/mine.yaml"));
    assert_eq!(rows[0]["source"], "built-in");
}

/// A bad profile: its file name, its text, and where and what the error must say.
struct Bad {
    file: &'static str,
    text: String,
    line: usize,
    column: usize,
    says: &'static str,
}

fn bad(file: &'static str, text: impl Into<String>, at: (usize, usize), says: &'static str) -> Bad {
    Bad { file, text: text.into(), line: at.0, column: at.1, says }
}

fn bad_cases() -> Vec<Bad> {
    let g = good;
    vec![
        bad(
            "syntax.yaml",
            g("syntax").replace("service: serena-mcp", "service: \"serena-mcp"),
            (9, 1),
            "while scanning a quoted scalar",
        ),
        bad(
            "tab.yaml",
            g("tab").replace("    local_port", "\tlocal_port"),
            (8, 1),
            "tab character",
        ),
        bad(
            "unknown-key.yaml",
            g("unknown-key").replace("namespace:", "nmespace:"),
            (5, 5),
            "unknown field `nmespace`, expected one of `context`, `namespace`",
        ),
        bad(
            "unknown-top-key.yaml",
            g("unknown-top-key") + "colour: red\n",
            (9, 1),
            "unknown field `colour`, expected one of `name`, `title`",
        ),
        bad(
            "wrong-type.yaml",
            g("wrong-type").replace("remote_port: 8080", "remote_port: eighty"),
            (7, 18),
            "invalid type: string \"eighty\", expected a port number from 1 to 65535",
        ),
        bad(
            "missing-field.yaml",
            g("missing-field").replace("    service: serena-mcp\n", ""),
            (5, 5),
            "missing field `service`, expected `service: …`",
        ),
        bad("missing-link.yaml", "name: missing-link\ntitle: t\n", (1, 1), "missing field `link`"),
        bad(
            "port-zero.yaml",
            g("port-zero").replace("local_port: 9000", "local_port: 0"),
            (8, 17),
            "invalid port 0, expected a port number from 1 to 65535",
        ),
        bad(
            "port-big.yaml",
            g("port-big").replace("local_port: 9000", "local_port: 70000"),
            (8, 17),
            "invalid port 70000, expected a port number from 1 to 65535",
        ),
        bad(
            "bad-url.yaml",
            "name: bad-url\ntitle: t\nlink:\n  direct:\n    url: ftp://gw.example\n",
            (5, 10),
            "URL scheme \"ftp\" is not supported, expected an http:// or https:// URL",
        ),
        bad(
            "url-with-path.yaml",
            "name: url-with-path\ntitle: t\nlink:\n  direct:\n    url: http://gw.example/mcp\n",
            (5, 10),
            "expected no path here: put it in `endpoint.path`",
        ),
        bad(
            "empty-name.yaml",
            g("\"\""),
            (1, 7),
            "invalid profile name \"\", expected 1-63 lowercase letters",
        ),
        bad(
            "bad-variant.yaml",
            g("bad-variant").replace("port_forward:", "port_forwrd:"),
            (4, 3),
            "unknown variant `port_forwrd`, expected one of `port_forward`, `direct`, `router`",
        ),
        bad(
            "bad-namespace.yaml",
            g("bad-namespace").replace("namespace: mcp", "namespace: MCP_ns"),
            (5, 16),
            "invalid Kubernetes name \"MCP_ns\", expected an RFC 1123 label",
        ),
        bad(
            "bad-ttl.yaml",
            g("bad-ttl") + "auth:\n  jwt:\n    secret: {env: JWT_SECRET_KEY}\n    ttl: soon\n",
            (12, 10),
            "invalid duration \"soon\", expected a positive duration",
        ),
        bad(
            "tls-on-http.yaml",
            g("tls-on-http") + "tls:\n  verify: true\n",
            (10, 3),
            "`tls` is set but the link speaks plain HTTP, expected `scheme: https`",
        ),
        bad(
            "token-in-clear.yaml",
            "name: token-in-clear\ntitle: t\nlink:\n  direct:\n    url: http://gw.example:8443\nauth:\n  bearer:\n    env: TOKEN\n",
            (5, 10),
            "clear text to gw.example, expected an https:// URL",
        ),
        bad(
            "empty-pool.yaml",
            "name: empty-pool\ntitle: t\nlink:\n  router:\n    local_port: 8080\n    gateway_pools: []\n",
            (6, 20),
            "empty list, expected at least one entry",
        ),
        bad("empty.yaml", "# nothing here\n", (1, 1), "the file is empty, expected a profile"),
        bad("list.yaml", "- a\n- b\n", (1, 1), "invalid type: sequence, expected struct Profile"),
        bad(
            "zz-duplicate.yaml",
            g("aa-first"),
            (1, 7),
            "duplicate profile name `aa-first`, already used by",
        ),
    ]
}

#[test]
fn bad_profiles_name_file_line_column_and_what_was_expected_and_the_rest_still_load() {
    let home = Home::new();
    let dir = home.user_profiles();
    home.write("config/mcp-connect/profiles/aa-first.yaml", &good("aa-first"));
    let cases = bad_cases();
    assert!(cases.len() >= 12);
    for case in &cases {
        std::fs::write(dir.join(case.file), &case.text).expect("write");
    }

    let catalog = Catalog::load(&UserDir::Explicit(dir.clone())).expect("the directory loads");
    for case in &cases {
        let path = dir.join(case.file);
        let entry = catalog
            .entries()
            .iter()
            .find(|e| e.source == Source::User(path.clone()))
            .unwrap_or_else(|| panic!("{} is listed", case.file));
        let err = entry.profile.as_ref().expect_err(case.file).to_string();
        let prefix = format!("{}:{}:{}: ", path.display(), case.line, case.column);
        assert!(err.starts_with(&prefix), "{}: `{err}` should start with `{prefix}`", case.file);
        assert!(err.contains(case.says), "{}: `{err}` should say `{}`", case.file, case.says);
        assert!(err.contains("expected"), "{}: `{err}` should say what was expected", case.file);
    }
    // Every built-in and the good user profile still load.
    let valid: Vec<&str> =
        catalog.entries().iter().filter(|e| e.profile.is_ok()).map(|e| e.name.as_str()).collect();
    assert_eq!(valid, [&BUILT_IN_NAMES[..], &["aa-first"]].concat());

    // The command lists them all, shows each error under its row, and exits 1.
    let run = home.run(&["profiles"]);
    assert_eq!(run.code(), 1);
    let out = run.stdout();
    for case in &cases {
        let row =
            format!("  error: {}:{}:{}: ", dir.join(case.file).display(), case.line, case.column);
        assert!(out.contains(&row), "`{row}` missing from:\n{out}");
    }
    assert!(
        out.contains(&format!("{} profiles, {} invalid", cases.len() + 5, cases.len())),
        "{out}"
    );
}

#[test]
fn a_user_profile_replaces_the_built_in_of_the_same_name_in_place() {
    let home = Home::new();
    let custom = good("serena-direct").replace("local_port: 9000", "local_port: 18080");
    let path = home.write("config/mcp-connect/profiles/my-serena.yaml", &custom);

    let run = home.run(&["profiles", "--json"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let listing: Value = serde_json::from_str(&run.stdout()).unwrap();
    let rows = listing["profiles"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, BUILT_IN_NAMES, "replaced in place, not added");
    assert_eq!(rows[0]["source"], path.display().to_string());
    assert_eq!(rows[0]["replaces_builtin"], true);
    assert_eq!(rows[0]["local_endpoint"], "http://127.0.0.1:18080/mcp");
    assert_eq!(rows[1]["replaces_builtin"], false);

    // A broken override is shown in the built-in's place, not silently skipped.
    home.write("config/mcp-connect/profiles/my-serena.yaml", &custom.replace("18080", "0"));
    let run = home.run(&["profiles"]);
    assert_eq!(run.code(), 1);
    assert!(run.stdout().contains("serena-direct") && run.stdout().contains("(replaces built-in)"));
    assert!(run.stdout().contains("invalid port 0"), "{}", run.stdout());
}

#[test]
fn profiles_flag_beats_the_xdg_directory() {
    let home = Home::new();
    home.write("config/mcp-connect/profiles/from-xdg.yaml", &good("from-xdg"));
    let other = home.path().join("elsewhere");
    home.write("elsewhere/from-flag.yaml", &good("from-flag"));

    let default_run = home.run(&["profiles"]);
    assert!(default_run.stdout().contains("from-xdg"));
    let flag_run = home.run(&["profiles", "--profiles", other.to_str().unwrap()]);
    assert!(flag_run.stdout().contains("from-flag") && !flag_run.stdout().contains("from-xdg"));
}

#[test]
fn a_missing_profiles_directory_is_an_error_with_a_fix() {
    let home = Home::new();
    let missing = home.path().join("nope");
    let run = home.run(&["profiles", "--profiles", missing.to_str().unwrap()]);
    assert_eq!(run.code(), 2);
    let err = run.stderr();
    assert!(
        err.contains(&format!("error: profiles directory {} does not exist", missing.display())),
        "{err}"
    );
    assert!(err.contains("fix: create it"), "{err}");
    // While the default directory may simply not exist yet.
    assert_eq!(home.run(&["profiles"]).code(), 0);
}

#[test]
fn the_listing_names_the_kubeconfig_and_the_context_each_forward_uses() {
    let home = Home::new();
    let kubeconfig = "apiVersion: v1\nkind: Config\ncurrent-context: lab\nclusters:\n- name: lab\n  \
                      cluster: {server: 'https://127.0.0.1:6443'}\ncontexts:\n- name: lab\n  \
                      context: {cluster: lab, user: lab}\n- name: staging\n  context: {cluster: lab, \
                      user: lab}\nusers:\n- name: lab\n  user: {token: t}\n";
    let path = home.write("kube/config", kubeconfig);

    // KUBECONFIG with a `~` is expanded, as kubectl users expect.
    let run = Run::from(home.command().env("KUBECONFIG", "~/kube/config").args(["profiles"]));
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let out = run.stdout();
    assert!(
        out.starts_with(&format!("kubeconfig: {} (current context: lab)", path.display())),
        "{out}"
    );
    assert!(out.contains("mcp/svc/serena-mcp:8080 @lab"), "{out}");

    // --context overrides the current context.
    let run = home.run(&[
        "profiles",
        "--json",
        "--kubeconfig",
        path.to_str().unwrap(),
        "--context",
        "staging",
    ]);
    let listing: Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(listing["kubeconfig"]["current_context"], "lab");
    assert_eq!(listing["profiles"][0]["context"], "staging");
    assert_eq!(listing["profiles"][2]["context"], Value::Null, "a direct route has no context");

    // No kubeconfig is no error for the listing: it says what was tried.
    let run = home.run(&["profiles"]);
    assert_eq!(run.code(), 0);
    let tried = home.path().join(".kube/config");
    assert!(run.stdout().contains(&format!("no kubeconfig found (tried {})", tried.display())));
}

#[test]
fn the_table_of_built_ins_reads_well() {
    let home = Home::new();
    let run = home.run(&["profiles"]);
    let out = run.stdout().replace(&home.path().display().to_string(), "$HOME");
    insta::assert_snapshot!(out);
}

#[test]
fn logs_go_to_a_private_file_under_xdg_state_home() {
    use std::os::unix::fs::PermissionsExt;
    let home = Home::new();
    home.write("config/mcp-connect/profiles/broken.yaml", "name: broken\n");
    let run = home.run(&["profiles", "--log-level", "debug"]);
    assert_eq!(run.code(), 1);
    let dir = home.path().join("state/mcp-connect");
    let mode = std::fs::metadata(&dir).expect("log directory").permissions().mode();
    assert_eq!(mode & 0o077, 0, "only the user can read the logs");
    let log: String = std::fs::read_dir(&dir)
        .unwrap()
        .map(|f| std::fs::read_to_string(f.unwrap().path()).unwrap())
        .collect();
    assert!(log.contains("profile not loaded") && log.contains("broken.yaml"), "{log}");
    assert!(!run.stdout().contains("profile not loaded"), "logs never reach stdout");
}

impl From<&mut std::process::Command> for Run {
    fn from(cmd: &mut std::process::Command) -> Run {
        Run(cmd.output().expect("run mcp-connect"))
    }
}

#[test]
fn the_example_user_profile_in_assets_is_valid() {
    let text = include_str!("../../assets/user-profile.example.yaml");
    let profile = parse(text, "assets/user-profile.example.yaml").expect("the example parses");
    assert_eq!(profile.local_endpoint().as_str(), "http://127.0.0.1:18080/mcp");
    assert_eq!(profile.context(), Some("staging"));
}

#[test]
fn the_listing_fits_an_80_column_terminal_and_wide_shows_every_cell_whole() {
    let home = Home::new();
    home.write("config/mcp-connect/profiles/bad.yaml", &good("bad").replace("8080", "80800"));
    let listing = |columns: &str, args: &[&str]| {
        let out = home.command().env("COLUMNS", columns).arg("profiles").args(args).output();
        String::from_utf8(out.expect("run mcp-connect").stdout).expect("UTF-8")
    };
    let host = "k8s-mcp-mcpgatew-dae950c5b5-2f1dace9a3e601aa.elb.us-west-2.amazonaws.com:8443";

    let narrow = listing("80", &[]);
    for line in narrow.lines() {
        assert!(line.chars().count() <= 80, "{} columns: {line}\n{narrow}", line.chars().count());
    }
    assert!(narrow.contains("serena-direct  port-forward  built-in\n"), "{narrow}");
    assert!(narrow.contains("  local   http://127.0.0.1:8080/mcp\n"), "{narrow}");
    // A value too long keeps its start and its port.
    assert!(narrow.contains("  target  k8s-mcp-mcpgatew-") && narrow.contains("…"), "{narrow}");
    assert!(narrow.contains(":8443\n") && !narrow.contains(host), "{narrow}");
    assert!(narrow.contains("  error   ") && narrow.contains("\n          "), "{narrow}");

    let wide = listing("80", &["--wide"]);
    assert!(wide.contains("NAME ") && wide.contains(host), "{wide}");
    // Room enough: the table, as wide.
    assert_eq!(listing("300", &[]), wide);
}

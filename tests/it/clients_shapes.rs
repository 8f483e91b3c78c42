//! Issue #21: the entry each client gets for each route, as golden files (insta snapshots of
//! the whole file mcp-connect writes from nothing), and a check of each entry against the shape
//! the client documents, for the clients that cannot run here (Cursor, VS Code, Windsurf, Zed,
//! Claude Desktop) as for those that do. Routes: the four built-ins, route 2 once its
//! certificate is pinned, and a direct route with a bearer token from the environment.

use std::path::Path;
use std::time::Duration;

use mcp_connect::clientconfig::{Client, Edit, Entry, Launcher, Op, Scope, Writer};
use mcp_connect::profile::{Catalog, Profile};
use serde_json::Value;

const PROGRAM: &str = "/usr/local/bin/mcp-connect";

fn builtin(name: &str) -> Profile {
    Catalog::builtin().get(name).and_then(|e| e.profile.clone().ok()).expect("a built-in")
}

/// The routes, by the server name each is written under.
fn routes() -> Vec<(&'static str, Profile)> {
    let builtin_text = include_str!("../../profiles/gateway-port-forward.yaml");
    let pinned =
        builtin_text.replace("name: gateway-port-forward", "name: gateway-pinned").replace(
            "tls:\n  verify: true\n",
            &format!("tls:\n  verify: true\n  pin_sha256: \"{}\"\n", "ab".repeat(32)),
        );
    let bearer = include_str!("../../profiles/serena-direct.yaml")
        .replace("name: serena-direct", "name: serena-bearer")
        .replace(
            "  port_forward:\n    namespace: mcp\n    service: serena-mcp\n    remote_port: 8080\n    local_port: 8080\n",
            "  direct:\n    url: https://serena.example.com\n",
        )
        .replace("auth: none", "auth:\n  bearer:\n    env: SERENA_TOKEN");
    let parse = |text: &str| mcp_connect::profile::parse(text, "test.yaml").expect("a profile");
    vec![
        ("route1-forward", builtin("serena-direct")),
        ("route2-gateway", builtin("gateway-port-forward")),
        ("route2-pinned", parse(&pinned)),
        ("route3-loadbalancer", builtin("gateway-loadbalancer")),
        ("route4-router", builtin("router")),
        ("bearer-direct", parse(&bearer)),
    ]
}

/// The file `client`'s user scope holds after writing every route into it.
fn written(client: Client, home: &Path) -> (String, Vec<(String, Value)>) {
    let writer = Writer::new(home, &home.join("state")).with_settle(Duration::ZERO);
    let launcher = Launcher { program: PROGRAM.into(), args: vec![] };
    let scope = Scope::of(client, "user", home).unwrap();
    for (name, profile) in routes() {
        let entry = Entry::for_client(&profile, None, &launcher, client).unwrap();
        let edit =
            Edit { scope: scope.clone(), name: name.into(), op: Op::Put(entry), force: false };
        writer.commit(&edit).unwrap_or_else(|e| panic!("{client} {name}: {e}"));
    }
    let text = std::fs::read_to_string(scope.file(home)).unwrap();
    let listed = writer.list(&scope).unwrap();
    assert!(listed.iter().all(|l| l.ours), "every entry is recorded as ours");
    (text, listed.into_iter().map(|l| (l.name, l.entry)).collect())
}

#[test]
fn each_clients_entry_for_each_route_is_its_golden_file() {
    for client in Client::ALL {
        let home = tempfile::tempdir().unwrap();
        let (text, _) = written(client, home.path());
        insta::assert_snapshot!(format!("entries_{}", client.id().replace('-', "_")), text);
    }
}

/// The keys `client` documents for a remote entry and for a launched one (`None`: it takes
/// none of that kind), and its credential reference form.
fn documented(client: Client) -> (Option<&'static [&'static str]>, &'static [&'static str]) {
    match client {
        Client::ClaudeCode => (
            Some(&["type", "url", "headers", "headersHelper"]),
            &["type", "command", "args", "env"],
        ),
        Client::ClaudeDesktop => (None, &["command", "args", "env"]),
        Client::Cursor | Client::Zed => (Some(&["url", "headers"]), &["command", "args", "env"]),
        Client::VsCode => (Some(&["type", "url", "headers"]), &["type", "command", "args", "env"]),
        Client::Windsurf => (Some(&["serverUrl", "headers"]), &["command", "args", "env"]),
        Client::Codex => (
            Some(&["url", "bearer_token_env_var", "http_headers", "env_http_headers"]),
            &["command", "args", "env"],
        ),
        Client::Gemini => (Some(&["httpUrl", "url", "headers"]), &["command", "args", "env"]),
    }
}

#[test]
fn every_entry_has_only_the_keys_its_client_documents_and_no_credential_in_the_clear() {
    for client in Client::ALL {
        let home = tempfile::tempdir().unwrap();
        let (text, entries) = written(client, home.path());
        let (remote, launched) = documented(client);
        for (name, entry) in &entries {
            let keys: Vec<&str> = entry.as_object().unwrap().keys().map(String::as_str).collect();
            let launches = keys.contains(&"command");
            let allowed = if launches { Some(launched) } else { remote };
            let allowed =
                allowed.unwrap_or_else(|| panic!("{client} takes no remote entry: {name}"));
            assert!(keys.iter().all(|k| allowed.contains(k)), "{client} {name}: {entry}");
            if launches {
                assert_eq!(entry["command"], PROGRAM, "{client} {name}: the bridge");
                assert!(entry["args"].to_string().contains("\"bridge\""), "{client} {name}");
            }
            match client {
                Client::VsCode => {
                    let kind = entry["type"].as_str().unwrap_or_default();
                    assert!(["http", "sse", "stdio"].contains(&kind), "{name}: {entry}");
                }
                Client::Gemini if !launches => {
                    assert!(entry.get("httpUrl").is_some(), "streamable HTTP is httpUrl: {entry}");
                }
                _ => {}
            }
        }
        // The bearer route: its credential by reference, in the client's own form.
        let bearer = &entries.iter().find(|(n, _)| n == "bearer-direct").unwrap().1;
        let reference = match client {
            Client::ClaudeCode | Client::Gemini => Some("Bearer ${SERENA_TOKEN}"),
            Client::Cursor | Client::VsCode | Client::Windsurf => {
                Some("Bearer ${env:SERENA_TOKEN}")
            }
            _ => None,
        };
        match (client, reference) {
            (_, Some(reference)) => assert_eq!(bearer["headers"]["Authorization"], reference),
            (Client::Codex, None) => assert_eq!(bearer["bearer_token_env_var"], "SERENA_TOKEN"),
            // No reference form (Zed) or no remote entry (Claude Desktop): the bridge reads it.
            (_, None) => assert_eq!(bearer["command"], PROGRAM, "{client}"),
        }
        assert!(!text.contains("eyJ"), "no token is ever written:\n{text}");
    }
}

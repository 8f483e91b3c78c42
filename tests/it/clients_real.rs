//! Issue #21 end to end, with the real Gemini CLI and Codex CLI, offline, each in a throwaway
//! HOME, against the lab with real Serena: `mcp-connect config write --client …` writes route 1
//! (the port-forward `up` keeps open, an http entry) and route 2 (the gateway through its
//! port-forward, with a pinned certificate and a JWT minted per connection: the stdio bridge)
//! beside a wrong entry the user had (Serena's URL without /mcp). Each client's own check says
//! ours connect and the wrong one fails: `gemini mcp list` (`✓ … Connected`), and for Codex,
//! whose `mcp list` does not connect, `codex app-server`'s `mcpServerStatus/list` (each
//! server's tools, or its startup error). `config show` tells the entries apart, and `config
//! remove` gives the user's file back byte for byte.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::clientconfig_claude::up;
use crate::support::peers::{codex_bin, gemini_bin, lab_with_real_serena};
use crate::support::{Home, free_port};

/// How long one client command may take (each connects to every server, the bridge brings up
/// a port-forward first).
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// `cmd` with only PATH from the environment and this home.
fn client(bin: &Path, home: &Home) -> Command {
    let mut cmd = Command::new(bin);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_STATE_HOME", home.path().join("state"))
        .stdin(Stdio::null());
    cmd
}

/// Runs `cmd` to the end, killed after [`RUN_TIMEOUT`].
fn run(mut cmd: Command) -> Output {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let pid = child.id();
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || send.send(child.wait_with_output()));
    match receive.recv_timeout(RUN_TIMEOUT) {
        Ok(output) => output.expect("the client's output"),
        Err(_) => {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            panic!("{cmd:?} did not finish within {RUN_TIMEOUT:?}")
        }
    }
}

/// `text` without its ANSI colour sequences (`ESC [ … m`).
fn plain(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("\x1b[") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        rest = after.find('m').map_or("", |end| &after[end + 1..]);
    }
    out.push_str(rest);
    out
}

/// `mcp-connect --kubeconfig K ARGS`, which must succeed: its stdout.
fn connect(home: &Home, kubeconfig: &str, args: &[&str]) -> String {
    let run = home.run(&[&["--kubeconfig", kubeconfig][..], args].concat());
    assert_eq!(run.code(), 0, "{args:?}:\n{}{}", run.stdout(), run.stderr());
    run.stdout()
}

/// Pins the lab gateway's certificate for route 2, then writes route 1 (as `serena`, at
/// `port`) and route 2 (as `serena-gw`, its forward at another free port) for `client` in
/// `scope`.
fn write_both(home: &Home, kubeconfig: &str, client: &str, scope: &[&str], port: u16) {
    connect(home, kubeconfig, &["trust", "gateway-port-forward", "--yes"]);
    let port = port.to_string();
    let route_1 = ["config", "write", "serena-direct", "--client", client, "--local-port", &port];
    let out = connect(home, kubeconfig, &[&route_1[..], scope].concat());
    eprintln!("{out}");
    let gw_port = free_port().to_string();
    let route_2 = ["config", "write", "gateway-port-forward", "--client", client, "--name"];
    let route_2 = [&route_2[..], &["serena-gw", "--local-port", &gw_port]].concat();
    eprintln!("{}", connect(home, kubeconfig, &[&route_2[..], scope].concat()));
}

/// `config show --client CLIENT`: the status of entry `name`.
fn status(show: &str, name: &str) -> String {
    let prefix = format!("  {name} ");
    let line = show.lines().find(|l| l.starts_with(&prefix));
    line.unwrap_or_else(|| panic!("no {name} in config show:\n{show}")).to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gemini_connects_to_both_routes_and_reports_the_wrong_entry_beside_them() {
    let lab = lab_with_real_serena().await;
    tokio::task::block_in_place(|| {
        let home = Home::new();
        let dir = home.path().join("project");
        std::fs::create_dir_all(&dir).unwrap();
        let dir = dir.canonicalize().unwrap();
        let (dir_arg, kubeconfig) = (dir.to_str().unwrap(), lab.kubeconfig().to_str().unwrap());
        let port = free_port();
        let (mut child, _ready, output) = up(&home, lab.kubeconfig(), port);

        // The user's project settings, commented, with a wrong entry of their own.
        let theirs = format!(
            "{{\n  // mine\n  \"ui\": {{\"theme\": \"GitHub\"}},\n  \"mcpServers\": {{\n    \
             \"wrong\": {{\"httpUrl\": \"http://127.0.0.1:{port}/\"}}\n  }}\n}}\n"
        );
        let settings = dir.join(".gemini/settings.json");
        std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
        std::fs::write(&settings, &theirs).unwrap();
        write_both(&home, kubeconfig, "gemini", &["--scope", "project", "--dir", dir_arg], port);
        let written = std::fs::read_to_string(&settings).unwrap();
        eprintln!("{}:\n{written}", settings.display());
        let inserted = similar::TextDiff::from_chars(&theirs, &written)
            .ops()
            .iter()
            .all(|op| matches!(op.tag(), similar::DiffTag::Equal | similar::DiffTag::Insert));
        assert!(inserted, "theirs is kept, ours only added:\n{written}");

        let mut list = client(gemini_bin(), &home);
        list.env("GEMINI_CLI_TRUST_WORKSPACE", "true").current_dir(&dir).args(["mcp", "list"]);
        let out = run(list);
        // It prints the list on stderr, its marks coloured even into a pipe.
        let text = |bytes: &[u8]| plain(&String::from_utf8_lossy(bytes));
        let stdout = text(&out.stderr) + &text(&out.stdout);
        eprintln!("gemini mcp list:\n{stdout}");
        let line = |name: &str| {
            let prefix = format!(" {name}: ");
            let found = stdout.lines().find(|l| l.contains(&prefix)).map(str::trim);
            found.unwrap_or_else(|| panic!("no {name} in {stdout:?}")).to_owned()
        };
        let url = format!("http://127.0.0.1:{port}/mcp");
        assert_eq!(line("serena"), format!("✓ serena: {url} (http) - Connected"));
        let bridge = line("serena-gw");
        assert!(bridge.starts_with("✓ serena-gw: "), "{bridge:?}");
        assert!(bridge.contains(" bridge gateway-port-forward "), "{bridge:?}");
        assert!(bridge.ends_with(" (stdio) - Connected"), "{bridge:?}");
        let wrong = format!("✗ wrong: http://127.0.0.1:{port}/ (http) - Disconnected");
        assert_eq!(line("wrong"), wrong);

        let show =
            connect(&home, kubeconfig, &["config", "show", "--client", "gemini", "--dir", dir_arg]);
        eprintln!("config show:\n{show}");
        assert!(status(&show, "serena").contains("mcp-connect's, matches profile serena-direct"));
        assert!(status(&show, "serena-gw").contains("matches profile gateway-port-forward"));
        assert!(
            status(&show, "wrong").contains("not written by mcp-connect; its URL ends in \"/\"")
        );

        for name in ["serena", "serena-gw"] {
            let remove = ["config", "remove", name, "--client", "gemini", "--scope", "project"];
            connect(&home, kubeconfig, &[&remove[..], &["--dir", dir_arg]].concat());
        }
        assert_eq!(std::fs::read_to_string(&settings).unwrap(), theirs);
        assert_eq!(crate::support::stop(&mut child), 0, "up exits 0 on SIGTERM");
        drop(output);
    });
}

/// Codex's app server on stdio: `initialize`, then `mcpServerStatus/list`; each server's
/// status by name.
fn codex_status(home: &Home) -> Vec<Value> {
    let mut cmd = client(codex_bin(), home);
    cmd.args(["app-server", "--disable", "plugins"]).current_dir(home.path());
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null());
    let mut child = cmd.spawn().expect("run codex app-server");
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(message) = serde_json::from_str::<Value>(&line)
                && send.send(message).is_err()
            {
                return;
            }
        }
    });
    let mut answer = |id: u64| loop {
        match receive.recv_timeout(RUN_TIMEOUT) {
            Ok(message) if message["id"] == id => return message,
            Ok(_) => continue,
            Err(why) => {
                let _ = child.kill();
                panic!("codex app-server sent no answer {id}: {why}");
            }
        }
    };
    let mut send = |message: Value| writeln!(stdin, "{message}").expect("write to codex");
    let client_info = json!({"name": "mcp-connect-tests", "version": "1"});
    send(json!({"id": 1, "method": "initialize", "params": {"clientInfo": client_info}}));
    assert!(answer(1).get("result").is_some(), "codex initialized");
    send(json!({"method": "initialized"}));
    let list = json!({"detail": "toolsAndAuthOnly"});
    send(json!({"id": 2, "method": "mcpServerStatus/list", "params": list}));
    let status = answer(2);
    let _ = child.kill();
    let _ = child.wait();
    status["result"]["data"].as_array().cloned().unwrap_or_else(|| panic!("{status}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_starts_both_routes_and_reports_the_wrong_entry_beside_them() {
    let lab = lab_with_real_serena().await;
    tokio::task::block_in_place(|| {
        let home = Home::new();
        let kubeconfig = lab.kubeconfig().to_str().unwrap();
        let port = free_port();
        let (mut child, _ready, output) = up(&home, lab.kubeconfig(), port);

        // The user's Codex settings: comments, a profile table and a wrong server of theirs.
        let theirs = format!(
            "# my Codex\nmodel = \"o3\"  # the fast one\n\n# Serena, as I first tried it\n\
             [mcp_servers.wrong]\nurl = \"http://127.0.0.1:{port}/\"\n\n[profiles.slow]\n\
             model = \"o3-pro\"\n"
        );
        let config = home.write(".codex/config.toml", &theirs);
        write_both(&home, kubeconfig, "codex", &["--scope", "user"], port);
        let written = std::fs::read_to_string(&config).unwrap();
        eprintln!("{}:\n{written}", config.display());
        assert!(written.contains("[mcp_servers.serena]\nurl = "), "{written}");

        let servers = codex_status(&home);
        let server = |name: &str| {
            let found = servers.iter().find(|s| s["name"] == name);
            found.unwrap_or_else(|| panic!("no {name} in {servers:#?}")).clone()
        };
        for name in ["serena", "serena-gw"] {
            let status = server(name);
            let tools = status["tools"].as_object().map(|t| t.keys().cloned().collect::<Vec<_>>());
            eprintln!("codex: {name}: tools {tools:?}, error {}", status["toolsError"]);
            assert_eq!(status["toolsError"], Value::Null, "{name}: {status}");
            assert!(
                tools.unwrap_or_default().iter().any(|t| t == "initial_instructions"),
                "{status}"
            );
        }
        let wrong = server("wrong");
        let error = wrong["toolsError"].as_str().unwrap_or_default();
        eprintln!("codex: wrong: {error}");
        assert!(error.starts_with("MCP startup failed") && error.contains("404"), "{wrong}");
        assert!(wrong["tools"].as_object().is_none_or(|t| t.is_empty()), "{wrong}");

        let show = connect(&home, kubeconfig, &["config", "show", "--client", "codex"]);
        eprintln!("config show:\n{show}");
        assert!(status(&show, "serena").contains("mcp-connect's, matches profile serena-direct"));
        assert!(status(&show, "serena-gw").contains("matches profile gateway-port-forward"));
        assert!(
            status(&show, "wrong").contains("not written by mcp-connect; its URL ends in \"/\"")
        );

        for name in ["serena", "serena-gw"] {
            let remove = ["config", "remove", name, "--client", "codex", "--scope", "user"];
            connect(&home, kubeconfig, &remove);
        }
        assert_eq!(std::fs::read_to_string(&config).unwrap(), theirs);
        assert_eq!(crate::support::stop(&mut child), 0, "up exits 0 on SIGTERM");
        drop(output);
    });
}

//! Issue #6 end to end, with the real Claude Code CLI: the lab runs real Serena behind
//! `svc/serena-mcp`, `mcp-connect up serena-direct` forwards a free local port to it, and
//! `mcp-connect config write` puts that URL into Claude Code's project scope (`.mcp.json`,
//! approved by `enableAllProjectMcpServers` in `~/.claude/settings.json`) and local scope
//! (`~/.claude.json` → `projects[DIR]`). `claude mcp list`, run in that project with the same
//! throwaway HOME, then connects to both entries, while the seed document's own entry (`npx -y
//! @modelcontextprotocol/server-http-client …`, a package that does not exist) fails beside
//! them in the same run. `config show` tells the entries apart, and `up` stops on SIGTERM.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::support::peers::{Claude, lab_with_real_serena};
use crate::support::{Home, free_port};

/// How long `up` may take to print its ready line.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The seed's entry, as its Option 1 writes it (its quick start has the very same entry under
/// the name `serena`, which is the name mcp-connect's own entry takes here).
const SEED_MCP_JSON: &str = r#"{
  "mcpServers": {
    "serena-staging": {
      "command": "npx",
      "args": [
        "-y",
        "@modelcontextprotocol/server-http-client",
        "http://localhost:8080"
      ]
    }
  }
}
"#;

/// `mcp-connect up serena-direct --local-port PORT`, once it printed its ready line: the child,
/// that line, and the thread that keeps reading its output (so that `log [POD] …` lines never
/// block it) and returns all of it at the end. No ready line in time fails the test.
pub(crate) fn up(
    home: &Home,
    kubeconfig: &Path,
    port: u16,
) -> (Child, String, JoinHandle<Vec<String>>) {
    let mut child = home
        .command()
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["up", "serena-direct", "--local-port", &port.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .expect("run mcp-connect up");
    let stdout = child.stdout.take().expect("up's stdout");
    let (send, ready) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("serving: ") {
                let _ = send.send(line.clone());
            }
            lines.push(line);
        }
        lines
    });
    match ready.recv_timeout(READY_TIMEOUT) {
        Ok(line) => (child, line, reader),
        Err(why) => {
            let _ = child.kill();
            panic!("up printed no serving line ({why}):\n{:#?}", reader.join());
        }
    }
}

/// Fails, showing all of `output`, unless one of its lines is exactly `expected`.
pub(crate) fn assert_line(output: &str, expected: &str) {
    let found = output.lines().any(|line| line.trim_end() == expected);
    assert!(found, "no line {expected:?} in:\n{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_connects_to_what_config_write_wrote_and_the_seeds_entry_fails_beside_it() {
    let lab = lab_with_real_serena().await;
    // Everything below blocks (child processes); the lab keeps serving on the other worker.
    tokio::task::block_in_place(|| {
        let home = Home::new();
        let claude = Claude::new(home.path()); // runs in HOME/project, our project here
        let dir = claude.cwd().canonicalize().unwrap();
        let dir_arg = dir.to_str().unwrap();
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}/mcp");

        let (mut child, ready, output) = up(&home, lab.kubeconfig(), port);
        let serving = format!("serving: {url} (pod {}) — ", lab.seeded.serena_pod);
        assert!(ready.starts_with(&serving), "{ready}");

        // The project as the seed's guide left it, and project servers approved.
        std::fs::write(dir.join(".mcp.json"), SEED_MCP_JSON).unwrap();
        home.write(".claude/settings.json", r#"{"enableAllProjectMcpServers": true}"#);

        let port_arg = port.to_string();
        let common = ["config", "write", "serena-direct", "--dir", dir_arg];
        let project_args = ["--scope", "project", "--local-port", &port_arg];
        let project = home.run(&[&common[..], &project_args].concat());
        assert_eq!(project.code(), 0, "{}", project.stderr());
        let mcp_json = dir.join(".mcp.json");
        assert_line(
            &project.stdout(),
            &format!("added serena to {} (project scope)", mcp_json.display()),
        );
        assert_line(
            &project.stdout(),
            &format!(
                "equivalent: cd {dir_arg} && claude mcp add --scope project --transport http serena {url}"
            ),
        );
        let local_args = ["--scope", "local", "--name", "serena-local", "--local-port", &port_arg];
        let local = home.run(&[&common[..], &local_args].concat());
        assert_eq!(local.code(), 0, "{}", local.stderr());
        let claude_json = home.path().join(".claude.json");
        assert_line(
            &local.stdout(),
            &format!("added serena-local to {} (local scope)", claude_json.display()),
        );

        // What the user sees: ours connect through the forward, the seed's entry does not.
        // Both Claude Codes: the pinned one (initialize) and the newest (server/discover first).
        for claude in Claude::both(home.path()) {
            let started = Instant::now();
            let list = claude.run_ok(&["mcp", "list"]);
            let took = started.elapsed();
            eprintln!("claude {} mcp list took {took:.1?}:\n{list}", claude.version());
            assert_line(&list, &format!("serena: {url} (HTTP) - ✔ Connected"));
            assert_line(&list, &format!("serena-local: {url} (HTTP) - ✔ Connected"));
            // The newest adds why after a dash.
            let seed = "serena-staging: npx -y @modelcontextprotocol/server-http-client \
                        http://localhost:8080 - ✘ Failed to connect";
            assert!(list.lines().any(|l| l.starts_with(seed)), "no {seed:?} in:\n{list}");
        }
        // Route 1 carries a real tool call from each.
        crate::support::messages::both_call_serena(home.path(), "serena");

        let get = claude.run_ok(&["mcp", "get", "serena"]);
        eprintln!("claude mcp get serena:\n{get}");
        assert_line(&get, "  Scope: Project config (shared via .mcp.json)");
        assert_line(&get, "  Status: ✔ Connected");
        assert_line(&get, &format!("  URL: {url}"));
        let get = claude.run_ok(&["mcp", "get", "serena-local"]);
        eprintln!("claude mcp get serena-local:\n{get}");
        assert_line(&get, "  Scope: Local config (private to you in this project)");
        assert_line(&get, "  Status: ✔ Connected");
        assert_line(&get, &format!("  URL: {url}"));

        // Claude Code has rewritten ~/.claude.json; mcp-connect still knows its entries there.
        let rewritten = std::fs::read_to_string(&claude_json).unwrap();
        assert!(rewritten.contains("\"firstStartTime\""), "Claude Code's keys:\n{rewritten}");
        let show = home.run(&["config", "show", "--dir", dir_arg]);
        assert_eq!(show.code(), 0, "{}", show.stderr());
        let show = show.stdout();
        eprintln!("config show:\n{show}");
        let status = |name: &str| {
            let prefix = format!("  {name} ");
            let line = show.lines().find(|l| l.starts_with(&prefix));
            line.unwrap_or_else(|| panic!("no {name} in config show:\n{show}")).to_owned()
        };
        // Written with --local-port: still the profile's entry, at another port.
        let ours = format!("mcp-connect's, matches profile serena-direct (local port {port})");
        assert!(status("serena").contains(&ours), "{show}");
        assert!(status("serena-local").contains(&ours), "{show}");
        let seed = "not written by mcp-connect; it runs @modelcontextprotocol/server-http-client, \
                    which does not exist on npm";
        assert!(status("serena-staging").contains(seed), "{show}");

        assert_eq!(crate::support::stop(&mut child), 0, "up exits 0 on SIGTERM");
        let output = output.join().unwrap();
        assert_eq!(output.last().map(String::as_str), Some("stopped"), "{output:#?}");

        // Without the forward the same entries fail: the ✔ above came through `up`.
        for claude in Claude::both(home.path()) {
            let list = claude.run_ok(&["mcp", "list"]);
            for name in ["serena", "serena-local"] {
                let failed = format!("{name}: {url} (HTTP) - ✘ Failed to connect");
                assert!(list.lines().any(|l| l.starts_with(&failed)), "{failed:?}:\n{list}");
            }
        }
    });
}

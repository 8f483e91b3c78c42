//! The TUI end to end in a real terminal: `mcp-connect demo` runs in tmux, and the test reads
//! the screen as a user would (`capture-pane`) while it presses keys. Route 1 is activated and
//! goes healthy with a latency, its Claude Code entry is copied (tmux receives it as OSC 52)
//! and written (and the written URL answers MCP), one key switches to another route, `q`
//! quits, and the terminal is given back as it was: main screen, visible cursor.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::Home;
use crate::support::mcp::{McpSession, http_client};

const COLS: u16 = 120;
const ROWS: u16 = 40;
const POLL: Duration = Duration::from_millis(50);

/// A private tmux server (its own socket) with one session of a fixed size; killed on drop,
/// which also ends whatever still runs in it.
struct Tmux {
    socket: String,
    target: String,
    /// The socket file, which the server leaves behind when killed.
    socket_path: Option<std::path::PathBuf>,
}

impl Tmux {
    /// Starts `shell_command` (run by `sh -c`) in a new detached session of the usual size.
    fn start(shell_command: &str) -> Tmux {
        Tmux::start_sized(shell_command, COLS, ROWS)
    }

    /// Starts `shell_command` in a new detached session `cols` × `rows`.
    fn start_sized(shell_command: &str, cols: u16, rows: u16) -> Tmux {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let socket = format!("mcp-connect-test-{}-{nanos}", std::process::id());
        let mut tmux = Tmux { socket, target: "demo".to_owned(), socket_path: None };
        let (cols, rows) = (cols.to_string(), rows.to_string());
        let out = tmux.run(&[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "demo",
            "-x",
            &cols,
            "-y",
            &rows,
            shell_command,
        ]);
        assert!(out.status.success(), "tmux new-session: {}", String::from_utf8_lossy(&out.stderr));
        tmux.socket_path =
            Some(tmux.display("#{socket_path}").into()).filter(|p| p != Path::new(""));
        tmux
    }

    fn run(&self, args: &[&str]) -> Output {
        // The server runs the session's command with $SHELL: make that a POSIX shell.
        Command::new("tmux")
            .env_remove("TMUX")
            .env("SHELL", "/bin/sh")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux")
    }

    /// Presses `key` (a tmux key name such as `Enter`, or one character).
    fn press(&self, key: &str) {
        let out = self.run(&["send-keys", "-t", &self.target, key]);
        assert!(
            out.status.success(),
            "tmux send-keys {key}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The visible screen as text; with `join`, lines the terminal wrapped are joined again.
    fn capture(&self, join: bool) -> String {
        let mut args = vec!["capture-pane", "-p", "-t", &self.target];
        if join {
            args.push("-J");
        }
        let out = self.run(&args);
        assert!(
            out.status.success(),
            "tmux capture-pane: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("UTF-8 screen")
    }

    fn screen(&self) -> String {
        self.capture(false)
    }

    /// The newest paste buffer: with `set-clipboard on`, what the pane last copied (OSC 52).
    fn buffer(&self) -> Option<String> {
        let out = self.run(&["show-buffer"]);
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// A tmux format about the pane, e.g. `#{alternate_on}`.
    fn display(&self, format: &str) -> String {
        let out = self.run(&["display-message", "-p", "-t", &self.target, format]);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Polls the screen until `ready` holds and answers that screen; fails after `within`,
    /// printing the last screen.
    fn wait_for(&self, what: &str, within: Duration, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + within;
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "waited {within:?} for {what}; the screen was:\n{screen}"
            );
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
        if let Some(path) = &self.socket_path {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// `text` as one single-quoted shell word.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The text of a pane row whose content (after the pane's left border) starts with `prefix`,
/// up to the pane's right border, without trailing blanks.
fn pane_row<'s>(screen: &'s str, prefix: &str) -> Option<&'s str> {
    screen.lines().find_map(|line| {
        let (_, rest) = line.split_once('│')?;
        let cell = rest.split('│').next()?;
        cell.starts_with(prefix).then(|| cell.trim_end())
    })
}

/// The first cell of any pane (left or right) that starts with `prefix`, trimmed at the end.
fn cell<'s>(screen: &'s str, prefix: &str) -> Option<&'s str> {
    screen
        .lines()
        .find_map(|line| line.split('│').find(|c| c.starts_with(prefix)).map(str::trim_end))
}

/// The inside of the popup titled `title`, one line per screen row (blanks trimmed at the
/// end), or None when no such popup is open.
fn popup(screen: &str, title: &str) -> Option<Vec<String>> {
    let lines: Vec<Vec<char>> = screen.lines().map(|l| l.chars().collect()).collect();
    let marker: Vec<char> = format!("┌ {title}").chars().collect();
    let (top, left) = lines.iter().enumerate().find_map(|(i, line)| {
        line.windows(marker.len()).position(|w| w == marker.as_slice()).map(|col| (i, col))
    })?;
    let right = left + 1 + lines[top][left + 1..].iter().position(|&c| c == '┐')?;
    let mut inside = Vec::new();
    for line in &lines[top + 1..] {
        if line.get(left) != Some(&'│') {
            break;
        }
        let text: String = line[left + 1..right.min(line.len())].iter().collect();
        inside.push(text.trim_end().to_owned());
    }
    Some(inside)
}

/// Popup text with its lines joined and every run of blanks made one space, so a sentence
/// the popup wrapped reads whole again.
fn flowed(lines: &[String]) -> String {
    lines.join(" ").split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether `text` is a latency as the screen writes it: `0.42ms`, `6.2ms`, `340ms`, `1.25s`.
fn is_latency(text: &str) -> bool {
    let number = text.strip_suffix("ms").or_else(|| text.strip_suffix('s'));
    number.is_some_and(|n| !n.is_empty() && n.parse::<f64>().is_ok_and(|v| v > 0.0))
}

/// The local port in the detail pane's `Local    http://127.0.0.1:PORT/mcp` line.
fn local_port(screen: &str) -> Option<u16> {
    screen.lines().find_map(|line| {
        let (_, rest) = line.split_once("Local    http://127.0.0.1:")?;
        rest.split_once("/mcp")?.0.parse().ok()
    })
}

/// The glyph at the start of a route row (`○ serena-direct …` → `○`).
fn glyph(screen: &str, route: &str) -> Option<char> {
    screen.lines().find_map(|line| {
        let (_, rest) = line.split_once('│')?;
        let mut chars = rest.chars();
        let glyph = chars.next()?;
        chars.as_str().strip_prefix(' ')?.starts_with(&format!("{route} ")).then_some(glyph)
    })
}

/// Box drawing the TUI draws with; none of it belongs on the shell's screen.
fn has_box_drawing(screen: &str) -> bool {
    screen.chars().any(|c| ('\u{2500}'..='\u{257f}').contains(&c))
}

/// Runs `tools/list` against `url`, as Claude Code would connect with the written entry.
fn tools_at(url: &str) -> Vec<String> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let mut session = McpSession::connect(&http_client(), url).await.expect("MCP initialize");
        let tools = session.tools_list().await.expect("tools/list");
        let _ = session.close().await;
        tools
    })
}

/// The shell command that runs `mcp-connect demo` in `home`: a clean environment (no NO_COLOR,
/// KUBECONFIG or log settings from outside), the terminal type tmux gives the pane, the
/// throwaway home (its `tmp` as TMPDIR). The shell stays after the demo ends, so the screen it
/// leaves behind can be read.
fn demo_shell(home: &Home) -> String {
    let var = |name: &str, value: &Path| format!("{name}={}", quote(&value.to_string_lossy()));
    let tmp = home.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    format!(
        "exec env -i TERM=\"$TERM\" PATH={path} {home} {config} {state} {tmp} \
         sh -c '\"$0\" demo; echo EXITED:$?; exec sleep 120' {bin}",
        path = quote(&std::env::var("PATH").unwrap_or_default()),
        home = var("HOME", home.path()),
        config = var("XDG_CONFIG_HOME", &home.path().join("config")),
        state = var("XDG_STATE_HOME", &home.path().join("state")),
        tmp = var("TMPDIR", &tmp),
        bin = quote(env!("CARGO_BIN_EXE_mcp-connect")),
    )
}

#[test]
fn demo_in_a_real_terminal_activates_copies_writes_switches_and_quits_cleanly() {
    crate::support::ensure_tool("tmux", "tmux");
    let home = Home::new();
    let state = home.path().join("state");
    let demo = state.join("mcp-connect/demo");
    let project = demo.join("project");
    let shell = demo_shell(&home);
    let started = Instant::now();
    let tmux = Tmux::start(&shell);
    let mut timings = Vec::new();
    let mut lap = |step: &str| timings.push(format!("{step}: {:?}", started.elapsed()));

    // The route list, every route stopped, the first one selected.
    let routes = ["serena-direct", "gateway-port-forward", "gateway-loadbalancer", "router"];
    let screen = tmux.wait_for("the route list", Duration::from_secs(60), |s| {
        s.contains("┌ Routes 1/4 ") && routes.iter().all(|r| glyph(s, r) == Some('○'))
    });
    lap("route list shown");
    assert!(screen.lines().next().unwrap().starts_with(" mcp-connect  kubeconfig "), "{screen}");
    assert!(screen.lines().next().unwrap().ends_with("  context lab"), "{screen}");
    assert_eq!(
        pane_row(&screen, "○ stopped"),
        Some("○ stopped — enter starts it, d probes it"),
        "{screen}"
    );
    // The demo runs its forwards on free ports, and the screen shows the port they will use.
    let planned = local_port(&screen).expect("the detail pane shows the local endpoint");
    assert_ne!(planned, 8080, "the demo's own port, not the profile's:\n{screen}");
    assert_eq!(tmux.display("#{alternate_on}"), "1", "the TUI draws on the alternate screen");
    assert_eq!(tmux.display("#{cursor_flag}"), "0", "the TUI hides the cursor");

    // Enter: route 1 starts, goes healthy, and its row shows a latency.
    tmux.press("Enter");
    let screen =
        tmux.wait_for("serena-direct healthy with a latency", Duration::from_secs(30), |s| {
            pane_row(s, "● serena-direct")
                .and_then(|r| r.split_whitespace().last())
                .is_some_and(is_latency)
                && pane_row(s, "● serving").is_some()
                && pane_row(s, "last ").is_some()
        });
    lap("serena-direct healthy");
    let row = pane_row(&screen, "● serena-direct").unwrap();
    let words: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(words[..3], ["●", "serena-direct", "port-forward"], "{screen}");
    assert_eq!(pane_row(&screen, "server "), Some("server mcp-connect-lab 0.1.0"), "{screen}");
    // The lab's server (rmcp 3.11) serves 2026-07-28 too: the route's check speaks that.
    assert_eq!(
        pane_row(&screen, "proto "),
        Some("proto  2026-07-28 · streamable-http"),
        "{screen}"
    );
    assert_eq!(pane_row(&screen, "tools "), Some("tools  3"), "{screen}");
    let stats: Vec<&str> = pane_row(&screen, "last ").unwrap().split_whitespace().collect();
    assert_eq!([stats[0], stats[2], stats[4]], ["last", "p50", "p95"], "{screen}");
    assert!([stats[1], stats[3], stats[5]].into_iter().all(is_latency), "{screen}");
    let port = local_port(&screen).expect("the detail pane shows the local endpoint");
    assert_eq!(port, planned, "the route runs where the screen said it would");
    let url = format!("http://127.0.0.1:{port}/mcp");
    assert!(screen.contains(&format!("\"url\": \"{url}\"")), "the entry it would write:\n{screen}");
    assert!(
        screen.contains(&format!("engine  serena-direct: serving: mcp-connect-lab 0.1.0 at {url}")),
        "the log pane says where it runs:\n{screen}"
    );

    // y: the Claude Code entry the Route pane shows goes to the clipboard as OSC 52, which
    // tmux (set-clipboard on) keeps as a paste buffer; the status bar says it was copied.
    assert_eq!(tmux.run(&["set", "-s", "set-clipboard", "on"]).status.code(), Some(0));
    assert_eq!(tmux.buffer(), None, "nothing copied yet");
    let entry = format!("{{\n  \"type\": \"http\",\n  \"url\": \"{url}\"\n}}");
    tmux.press("y");
    let note = format!("copied serena-direct's Claude Code entry ({} characters)", entry.len());
    tmux.wait_for("the copy's note", Duration::from_secs(10), |s| s.contains(&note));
    assert_eq!(tmux.buffer().as_deref(), Some(entry.as_str()), "what the terminal was given");
    // c: the `claude mcp add` command, and y in its popup copies it.
    tmux.press("c");
    let title = "claude mcp add: serena-direct";
    let screen = tmux.wait_for("the claude popup", Duration::from_secs(10), |s| {
        popup(s, title).is_some_and(|p| flowed(&p).contains("y copies it"))
    });
    tmux.press("y");
    tmux.wait_for("the command's note", Duration::from_secs(10), |s| {
        s.contains("copied the claude mcp add command (")
    });
    let command = tmux.buffer().unwrap_or_default();
    assert!(
        command.starts_with(&format!("cd {} && claude mcp add ", project.display())),
        "{command}"
    );
    assert!(command.ends_with(&format!(" serena {url}")), "{command}");
    assert!(flowed(&popup(&screen, title).unwrap()).contains(&command), "{screen}");
    tmux.press("q");
    // The logs: shift-tab; enter opens the selected line whole, y copies it.
    tmux.press("BTab");
    tmux.wait_for("the logs focused", Duration::from_secs(10), |s| {
        s.contains(" enter open · y copy")
    });
    tmux.press("Enter");
    let screen = tmux
        .wait_for("a log line whole", Duration::from_secs(10), |s| popup(s, "Log line").is_some());
    tmux.press("y");
    tmux.wait_for("the line's note", Duration::from_secs(10), |s| {
        s.contains("copied the log line (")
    });
    let line = tmux.buffer().unwrap_or_default();
    let words = line.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        !line.is_empty() && flowed(&popup(&screen, "Log line").unwrap()).contains(&words),
        "{line}\n{screen}"
    );
    tmux.press("q");
    tmux.press("Tab");
    tmux.wait_for("the routes focused", Duration::from_secs(10), |s| {
        !s.contains(" enter open · y copy")
    });
    lap("copied");

    // w: the write-config popup, Claude Code (first among the clients), project scope, a
    // preview, then the write.
    tmux.press("w");
    let clients = "Write serena-direct's entry: which client?";
    let screen =
        tmux.wait_for("the client list", Duration::from_secs(10), |s| popup(s, clients).is_some());
    let inside = popup(&screen, clients).unwrap();
    assert!(inside.first().is_some_and(|l| l.starts_with("› Claude Code")), "{screen}");
    let title = "Write serena-direct's Claude Code entry";
    tmux.press("Enter");
    let screen = tmux
        .wait_for("the write-config popup", Duration::from_secs(10), |s| popup(s, title).is_some());
    let inside = popup(&screen, title).unwrap();
    let file = project.join(".mcp.json");
    // Each scope names the file it really writes (the demo's home, not ~), wrapped whole.
    let text = flowed(&inside);
    let claude = demo.join("home/.claude.json");
    let scopes = [
        format!("› project {} (shared with the project)", file.display()),
        format!("local {}, projects[\"{}\"] (you, here)", claude.display(), project.display()),
        format!("user {} (you, every project)", claude.display()),
    ];
    for scope in scopes {
        assert!(text.contains(&scope), "{scope}\n{screen}");
    }
    assert!(
        flowed(&inside).contains("p/l/u or j/k choose · enter previews the change"),
        "{screen}"
    );
    tmux.press("p");
    tmux.press("Enter");
    let preview_head =
        format!("{}: added (preview) · enter writes it · esc cancels", file.display());
    let screen = tmux.wait_for("the preview", Duration::from_secs(10), |s| {
        popup(s, title).is_some_and(|p| flowed(&p).contains(&preview_head))
    });
    let inside = popup(&screen, title).unwrap();
    assert!(inside.iter().any(|l| l == "+      \"type\": \"http\","), "{screen}");
    assert!(inside.iter().any(|l| *l == format!("+      \"url\": \"{url}\"")), "{screen}");
    assert!(!file.exists(), "a preview writes nothing");
    lap("preview shown");
    tmux.press("Enter");
    let written_head = format!("{}: added · written", file.display());
    let screen = tmux.wait_for("the written answer", Duration::from_secs(10), |s| {
        popup(s, title).is_some_and(|p| flowed(&p).contains(&written_head))
    });
    lap("config written");
    let text = flowed(&popup(&screen, title).unwrap());
    let claude = format!(
        "the same with Claude Code's CLI: cd {} && claude mcp add --scope project --transport http serena {url} enter closes",
        project.display()
    );
    assert!(text.contains(&claude), "{text}");
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("the project's .mcp.json"))
            .expect("JSON");
    assert_eq!(written, json!({"mcpServers": {"serena": {"type": "http", "url": url}}}));
    let on_disk = std::fs::read_to_string(&file).unwrap();
    assert!(on_disk.contains("\"type\": \"http\""), "{on_disk}");
    // The entry really connects while the route runs.
    assert!(tools_at(&url).contains(&"echo".to_owned()), "MCP through {url}");
    tmux.press("Enter");
    tmux.wait_for("the popup to close", Duration::from_secs(10), |s| {
        popup(s, title).is_none() && s.contains(" enter start ")
    });

    // j, Enter: one key switches, so route 1 stops and route 2 (through the lab's gateway, its
    // certificate pinned by the demo, a JWT minted from the lab's Secret) goes healthy.
    tmux.press("j");
    tmux.wait_for("route 2 selected", Duration::from_secs(10), |s| s.contains("┌ Routes 2/4 "));
    tmux.press("Enter");
    let screen = tmux.wait_for("the switch", Duration::from_secs(20), |s| {
        glyph(s, "serena-direct") == Some('○') && glyph(s, "gateway-port-forward") == Some('●')
    });
    lap("switched");
    assert_eq!(
        pane_row(&screen, "○ serena-direct").map(|r| r.split_whitespace().collect::<Vec<_>>()),
        Some(vec!["○", "serena-direct", "port-forward"]),
        "a stopped route shows no latency:\n{screen}"
    );
    let row = pane_row(&screen, "● gateway-port-forward").unwrap_or_default();
    assert!(row.trim_end().ends_with("ms"), "route 2 shows its latency:\n{screen}");
    assert!(screen.contains("│● serving "), "{screen}");
    assert!(screen.contains("TLS      verified, pinned to sha256 "), "{screen}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
        assert!(Instant::now() < deadline, "serena-direct's port {port} still listens");
        std::thread::sleep(POLL);
    }

    // j j, Enter: route 4, the router run as a child process over the lab's gateway, goes
    // healthy with its gateway's row; route 2 stops.
    tmux.press("j");
    tmux.press("j");
    tmux.wait_for("route 4 selected", Duration::from_secs(10), |s| s.contains("┌ Routes 4/4 "));
    tmux.press("Enter");
    let screen = tmux.wait_for("the router healthy", Duration::from_secs(30), |s| {
        glyph(s, "router") == Some('●')
            && glyph(s, "gateway-port-forward") == Some('○')
            && cell(s, "Gateways ● healthy").is_some()
    });
    lap("router healthy");
    let gateway = cell(&screen, "Gateways ● healthy").unwrap();
    assert!(gateway.contains(" w100 ") && gateway.contains(" 127.0.0.1:"), "{screen}");
    assert!(screen.contains("router  router: started (pid "), "its start is logged:\n{screen}");
    assert!(
        screen.contains("router  router: router: serving http://127.0.0.1:"),
        "its own stderr is in the log pane:\n{screen}"
    );

    // q: every route stops, the demo ends with 0, and the shell's screen is back.
    tmux.press("q");
    tmux.wait_for("the demo to exit", Duration::from_secs(20), |s| s.contains("EXITED:"));
    lap("exited");
    let after = tmux.capture(true);
    let lines: Vec<&str> = after.lines().map(str::trim_end).filter(|l| !l.is_empty()).collect();
    let printed = format!(
        "demo: Claude Code configs were written under {} (project) and {} (home); edited \
         profiles under {}",
        project.display(),
        demo.join("home").display(),
        demo.join("profiles").display()
    );
    assert_eq!(lines, [printed.as_str(), "EXITED:0"], "the screen after quitting:\n{after}");
    assert!(!has_box_drawing(&after), "the TUI's frame is gone:\n{after}");
    assert_eq!(tmux.display("#{alternate_on}"), "0", "the alternate screen was left");
    assert_eq!(tmux.display("#{cursor_flag}"), "1", "the cursor is visible again");
    eprintln!("timings since start:\n  {}", timings.join("\n  "));
}

/// The Health pane's text, its wrapped lines joined.
fn health(screen: &str) -> String {
    popup(screen, "Health ").map(|lines| flowed(&lines)).unwrap_or_default()
}

/// Presses `g`, then `j` until the Route pane shows `title` (the route is selected).
fn select(tmux: &Tmux, title: &str) {
    tmux.press("g");
    std::thread::sleep(POLL * 2);
    for _ in 0..8 {
        if tmux.screen().contains(title) {
            return;
        }
        tmux.press("j");
        std::thread::sleep(POLL * 2);
    }
    tmux.wait_for(title, Duration::from_secs(5), |s| s.contains(title));
}

#[test]
fn at_80x24_the_health_pane_says_cause_and_fix_of_a_link_fault_and_a_router_fault() {
    use mcp_connect::lab::world::{Lab, LabOptions};
    crate::support::ensure_tool("tmux", "tmux");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let lab = runtime.block_on(Lab::start(LabOptions::default())).unwrap();
    let home = Home::new();
    let profiles = home.user_profiles();
    // Serena forwarded while the API server is down (a link fault), and a router whose
    // gateway needs JWT_SECRET_KEY, which the TUI's environment lacks (a router fault).
    let serena = include_str!("../../profiles/serena-direct.yaml")
        .replace("name: serena-direct", "name: lab-serena")
        .replace("title: ", "title: Lab Serena, API down. ")
        .replace("local_port: 8080", &format!("local_port: {}", crate::support::free_port()));
    std::fs::write(profiles.join("lab-serena.yaml"), serena).unwrap();
    let link = format!(
        "link:\n  router:\n    local_port: {}\n    gateway_pools:\n      - name: lab\n        \
         gateways:\n          - url: {}\n",
        crate::support::free_port(),
        lab.gateway.url
    );
    let pin = &lab.gateway.fingerprint_sha256;
    let router =
        crate::support::bridge::profile("lab-router", &link, "{env: JWT_SECRET_KEY}", "1h", pin)
            .replacen("title: ", "title: Lab router, no secret. ", 1);
    std::fs::write(profiles.join("lab-router.yaml"), router).unwrap();
    lab.api.stop();

    let bin = env!("CARGO_BIN_EXE_mcp-connect");
    let var = |name: &str, value: &Path| format!("{name}={}", quote(&value.to_string_lossy()));
    let shell = format!(
        "exec env -i TERM=\"$TERM\" PATH={path} {home} {config} {state} {bin} --kubeconfig \
         {kubeconfig} tui",
        path = quote(&std::env::var("PATH").unwrap_or_default()),
        home = var("HOME", home.path()),
        config = var("XDG_CONFIG_HOME", &home.path().join("config")),
        state = var("XDG_STATE_HOME", &home.path().join("state")),
        bin = quote(bin),
        kubeconfig = quote(&lab.kubeconfig().to_string_lossy()),
    );
    let tmux = Tmux::start_sized(&shell, 80, 24);
    tmux.wait_for("the route list", Duration::from_secs(30), |s| s.contains("┌ Routes 1/6 "));

    // The link fault: down, with the API server's address and context, and what to check.
    select(&tmux, "Lab Serena, API down.");
    tmux.press("Enter");
    let cause = format!("cause cannot reach the API server {} (context lab)", lab.api.url());
    let screen = tmux.wait_for("the link fault in the Health pane", Duration::from_secs(30), |s| {
        health(s).contains(&cause)
    });
    let text = health(&screen);
    assert!(text.starts_with("▼ down "), "{screen}");
    assert!(text.contains("fix check your network or VPN and that the cluster is up"), "{screen}");
    assert!(text.contains("(`kubectl --context lab cluster-info`)"), "{screen}");

    // The router fault: the router's own words for its gateway, and the export to run.
    select(&tmux, "Lab router, no secret.");
    tmux.press("Enter");
    let screen =
        tmux.wait_for("the router fault in the Health pane", Duration::from_secs(30), |s| {
            health(s).contains("cause no gateway is healthy:")
        });
    let text = health(&screen);
    assert!(text.starts_with("▼ down "), "{screen}");
    assert!(text.contains("environment variable JWT_SECRET_KEY is not set"), "{screen}");
    assert!(text.contains("fix export JWT_SECRET_KEY="), "{screen}");
    // q: it stops every route and exits, which ends the session (its only pane).
    tmux.press("q");
    let deadline = Instant::now() + Duration::from_secs(20);
    while tmux.run(&["has-session", "-t", &tmux.target]).status.success() {
        assert!(Instant::now() < deadline, "the TUI did not exit on q");
        std::thread::sleep(POLL);
    }
    drop(runtime);
}

#[test]
fn a_sigint_from_outside_quits_the_demo_cleanly_and_removes_its_lab() {
    crate::support::ensure_tool("tmux", "tmux");
    let home = Home::new();
    let tmux = Tmux::start(&demo_shell(&home));
    tmux.wait_for("the route list", Duration::from_secs(60), |s| s.contains("┌ Routes 1/4 "));
    assert_eq!(labs(&home), 1, "the demo's lab keeps its files under TMPDIR");

    let killed = Command::new("kill").args(["-INT", &demo_pid(&tmux)]).status().unwrap();
    assert!(killed.success());

    let after =
        tmux.wait_for("the demo to exit", Duration::from_secs(20), |s| s.contains("EXITED:"));
    assert!(after.contains("EXITED:0"), "{after}");
    assert!(!has_box_drawing(&after), "the TUI's frame is gone:\n{after}");
    assert_eq!(tmux.display("#{alternate_on}"), "0", "the alternate screen was left");
    assert_eq!(tmux.display("#{cursor_flag}"), "1", "the cursor is visible again");
    assert_eq!(labs(&home), 0, "the lab's files are removed");
}

#[test]
fn closing_the_terminal_ends_the_demo_and_removes_its_lab() {
    crate::support::ensure_tool("tmux", "tmux");
    let home = Home::new();
    let tmux = Tmux::start(&demo_shell(&home));
    tmux.wait_for("the route list", Duration::from_secs(60), |s| s.contains("┌ Routes 1/4 "));
    assert_eq!(labs(&home), 1, "the demo's lab keeps its files under TMPDIR");
    let demo = demo_pid(&tmux);

    // The window closes: the pty hangs up (SIGHUP) and every later write to it fails.
    drop(tmux);
    let deadline = Instant::now() + Duration::from_secs(30);
    while running(&demo) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!running(&demo), "the demo outlived its terminal");
    assert_eq!(labs(&home), 0, "the lab's files are removed");
    let log = std::fs::read_dir(home.path().join("state/mcp-connect")).unwrap();
    let log =
        log.filter_map(|e| e.ok()).find(|e| e.file_name().to_string_lossy().ends_with(".log"));
    let log = std::fs::read_to_string(log.expect("the demo logs").path()).unwrap();
    assert!(log.contains("the terminal closed; stopped"), "{log}");
}

/// How many labs the demo under `home` keeps under its TMPDIR.
fn labs(home: &Home) -> usize {
    let entries = std::fs::read_dir(home.path().join("tmp")).unwrap();
    let names = entries.filter_map(|e| e.ok()?.file_name().into_string().ok());
    names.filter(|n| n.starts_with("mcp-connect-lab-")).count()
}

/// The pane's shell runs the demo as its child.
fn demo_pid(tmux: &Tmux) -> String {
    let shell = tmux.display("#{pane_pid}");
    let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children"));
    let demo = children.unwrap_or_default().split_whitespace().next().map(str::to_owned);
    demo.expect("the demo runs as the shell's child")
}

/// Whether `pid` still runs: an exited process no one reaped is a zombie (`Z`), not running.
fn running(pid: &str) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = status.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next());
    state.is_some_and(|state| state != "Z" && state != "X")
}

/// At 80×24 the Health pane takes focus and scrolls to a diagnosis below its fold; when the
/// route's pod is replaced, that diagnosis (of the old pod) is gone from the screen.
#[test]
fn at_80x24_health_scrolls_and_a_diagnosis_goes_with_its_pod() {
    crate::support::ensure_tool("tmux", "tmux");
    crate::support::ensure_tool("kubectl", "kubernetes-client");
    let home = Home::new();
    let tmux = Tmux::start_sized(&demo_shell(&home), 80, 24);
    tmux.wait_for("the route list", Duration::from_secs(60), |s| s.contains("┌ Routes 1/4 "));
    tmux.press("Enter");
    tmux.wait_for("serena-direct serving", Duration::from_secs(30), |s| {
        pane_row(s, "● serving").is_some() && glyph(s, "serena-direct") == Some('●')
    });
    tmux.press("d");
    tmux.wait_for("the diagnosis, in the log", Duration::from_secs(30), |s| {
        s.contains("diagnose: healthy")
    });
    // Tab: the Health pane has the focus; G: its last line, the diagnosis below its fold.
    tmux.press("Tab");
    tmux.press("G");
    let screen = tmux.wait_for("the diagnosis in Health", Duration::from_secs(10), |s| {
        health_rows(s).iter().any(|r| r.contains("diagnose healthy"))
    });
    let rows = health_rows(&screen);
    assert!(rows.len() < 6, "the pane is short at 80×24:\n{screen}");
    assert!(!rows.iter().any(|r| r.contains("● serving")), "scrolled past its top:\n{screen}");

    let labs = std::fs::read_dir(home.path().join("tmp")).unwrap().filter_map(|e| e.ok());
    let lab = labs.map(|e| e.path()).find(|p| p.join("kubeconfig").exists()).expect("the lab");
    let kubectl = |args: &[&str]| {
        let out = Command::new("kubectl")
            .env("HOME", home.path())
            .arg("--kubeconfig")
            .arg(lab.join("kubeconfig"))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let pod = kubectl(&["get", "pods", "-n", "mcp", "-l", "app=serena-mcp", "-o", "name"]);
    let pod = pod.trim().to_owned();
    kubectl(&["delete", "-n", "mcp", &pod, "--wait=false"]);
    let new = || kubectl(&["get", "pods", "-n", "mcp", "-l", "app=serena-mcp", "-o", "name"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let replacement = loop {
        let listed = new();
        if let Some(other) = listed.lines().map(str::trim).find(|p| !p.is_empty() && *p != pod) {
            break other.trim_start_matches("pod/").to_owned();
        }
        assert!(Instant::now() < deadline, "no replacement pod");
        std::thread::sleep(POLL);
    };
    // The route follows: the new pod's log comes in.
    tmux.wait_for("the replacement's log", Duration::from_secs(30), |s| {
        s.contains(&format!("[{replacement}]"))
    });
    // At its end, the pane would show the old pod's diagnosis if it were kept.
    tmux.press("G");
    let screen = tmux.wait_for("the pane at its end", Duration::from_secs(10), |s| {
        health_rows(s).iter().any(|r| r.starts_with("│last "))
    });
    let rows = health_rows(&screen);
    assert!(!rows.iter().any(|r| r.contains("diagnose")), "the old diagnosis:\n{screen}");
}

/// The Health pane's rows, borders included.
fn health_rows(screen: &str) -> Vec<&str> {
    let below = screen.lines().skip_while(|l| !l.starts_with("┌ Health ")).skip(1);
    below.take_while(|l| !l.starts_with('└')).collect()
}

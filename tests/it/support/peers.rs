//! The real peers mcp-connect sits between, for tests: Serena (PyPI `serena-agent`), the
//! Claude Code CLI (npm `@anthropic-ai/claude-code`), the MCP reference server
//! "everything" (npm `@modelcontextprotocol/server-everything`, for its legacy SSE mode) and
//! the Python MCP SDK (PyPI `mcp`, a client of either era).
//!
//! All are installed on first use into `<cargo target dir>/peers/<package>-<version>/` (the
//! parent of `CARGO_TARGET_TMPDIR`, so `CARGO_TARGET_DIR` is honoured), under a per-package
//! file lock so parallel tests (and test runs) install only once. A `.installed` marker
//! is written last; a directory without it is a half install and is redone. Needs `python3`
//! (3.11–3.14, with venv) and `npm`, and network access to PyPI and npm the first time.
//!
//! Serena and Claude run with a throwaway HOME and telemetry, usage reporting and auto-update off, so they
//! touch neither the real home nor the internet (Serena's usage ping is off via
//! `SERENA_USAGE_REPORTING=false`; Claude's via `CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC`).

use std::fs::{self, File};
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mcp_connect::lab::world::{Lab, LabOptions, SerenaBackend};
use tempfile::TempDir;

use super::free_port;

/// The pinned `serena-agent` version (PyPI).
pub const SERENA_VERSION: &str = "2.1.0";
/// The pinned `@anthropic-ai/claude-code` version (npm): it speaks only the 2025 handshake.
pub const CLAUDE_VERSION: &str = "2.1.197";
/// The newest Claude Code: it asks `server/discover` (MCP 2026-07-28) first and falls back to
/// `initialize`. It installs and runs on Node 20, its engines field (22) notwithstanding.
pub const CLAUDE_NEWEST: &str = "2.1.332";
/// The pinned Python MCP SDK `mcp` version (PyPI): serves and speaks both eras.
pub const PYTHON_MCP_VERSION: &str = "2.3.0";
/// The pinned official Python Kubernetes client (PyPI `kubernetes`), whose port-forward speaks
/// the WebSocket channel protocol.
pub const PYTHON_KUBERNETES_VERSION: &str = "37.0.2";
/// The pinned `@modelcontextprotocol/server-everything` version (npm); needs Node 18+.
pub const EVERYTHING_VERSION: &str = "2026.8.31";

/// The pinned MCP Inspector (npm `@modelcontextprotocol/inspector`), whose CLI is an
/// independent client of either era.
pub const INSPECTOR_VERSION: &str = "2.12.0";
/// The pinned `@modelcontextprotocol/server` version (npm): the TypeScript SDK v2, which serves
/// MCP 2026-07-28 (`createMcpHandler`); needs Node 20+.
pub const TS_SERVER_VERSION: &str = "2.4.0";

/// How long one `claude` command may take (`mcp list` checks every server).
const CLAUDE_RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// `<cargo target dir>/peers`, where the peers are installed.
pub fn peers_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR lies inside the target directory")
        .join("peers")
}

/// The installed `serena` entry point, installing it first if needed.
pub fn serena_bin() -> &'static Path {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let bin = BIN.get_or_init(|| {
        installed("serena-agent", SERENA_VERSION, "venv/bin/serena", install_serena)
    });
    bin.as_deref().unwrap_or_else(|error| panic!("{error}"))
}

/// The lab with real Serena behind its `svc/serena-mcp`, installing Serena first if needed.
pub async fn lab_with_real_serena() -> Lab {
    let program = serena_bin().to_path_buf();
    let options =
        LabOptions { serena: SerenaBackend::RealSerena { program }, ..LabOptions::default() };
    Lab::start(options).await.expect("the lab starts with real Serena")
}

/// The Python of a venv holding the MCP SDK `mcp` (PyPI), installing it first if needed.
pub fn python_mcp_bin() -> &'static Path {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let bin = BIN.get_or_init(|| {
        installed("python-mcp", PYTHON_MCP_VERSION, "venv/bin/python", install_python_mcp)
    });
    bin.as_deref().unwrap_or_else(|error| panic!("{error}"))
}

/// The Python of a venv holding the official Kubernetes client, installing it first if needed.
pub fn python_kubernetes_bin() -> &'static Path {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let bin = BIN.get_or_init(|| {
        let install = |dir: &Path| {
            let venv = dir.join("venv");
            pip_install(&venv, &format!("kubernetes=={PYTHON_KUBERNETES_VERSION}"))?;
            let print = "import importlib.metadata as m; print(m.version('kubernetes'))";
            let python = venv.join("bin/python");
            let version = run_step(Command::new(python).args(["-c", print]), "", "")?;
            expect_version(&version, PYTHON_KUBERNETES_VERSION)
        };
        installed("python-kubernetes", PYTHON_KUBERNETES_VERSION, "venv/bin/python", install)
    });
    bin.as_deref().unwrap_or_else(|error| panic!("{error}"))
}

/// The installed `claude` CLI (the pinned version), installing it first if needed.
pub fn claude_bin() -> &'static Path {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let bin = BIN.get_or_init(|| {
        installed("claude-code", CLAUDE_VERSION, "node_modules/.bin/claude", install_pinned)
    });
    bin.as_deref().unwrap_or_else(|error| panic!("{error}"))
}

/// The installed newest `claude` CLI, installing it first if needed.
pub fn claude_newest_bin() -> &'static Path {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let bin = BIN.get_or_init(|| {
        installed("claude-code", CLAUDE_NEWEST, "node_modules/.bin/claude", install_newest)
    });
    bin.as_deref().unwrap_or_else(|error| panic!("{error}"))
}

/// The installed everything server's entry point (a Node script), installing it first if
/// needed.
pub fn everything_bin() -> &'static Path {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let bin = BIN.get_or_init(|| {
        let bin = "node_modules/@modelcontextprotocol/server-everything/dist/index.js";
        installed("server-everything", EVERYTHING_VERSION, bin, install_everything)
    });
    bin.as_deref().unwrap_or_else(|error| panic!("{error}"))
}

/// The installed MCP Inspector's entry point, installing it first if needed.
pub fn inspector_bin() -> &'static Path {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let bin = BIN.get_or_init(|| {
        let bin = "node_modules/.bin/mcp-inspector";
        installed("inspector", INSPECTOR_VERSION, bin, install_inspector)
    });
    bin.as_deref().unwrap_or_else(|error| panic!("{error}"))
}

/// The installed TypeScript SDK v2 server package's ESM entry, installing it first if needed.
pub fn ts_server_entry() -> &'static Path {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let bin = BIN.get_or_init(|| {
        let entry = "node_modules/@modelcontextprotocol/server/dist/index.mjs";
        installed("ts-server", TS_SERVER_VERSION, entry, install_ts_server)
    });
    bin.as_deref().unwrap_or_else(|error| panic!("{error}"))
}

/// `bin` inside `peers/<name>-<version>`, after running `install` there unless a previous
/// run finished it. Holds `peers/<name>.lock` meanwhile.
fn installed(
    name: &str,
    version: &str,
    bin: &str,
    install: fn(&Path) -> Result<(), String>,
) -> Result<PathBuf, String> {
    let root = peers_dir();
    fs::create_dir_all(&root).map_err(|e| format!("create {}: {e}", root.display()))?;
    let lock_path = root.join(format!("{name}.lock"));
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| format!("open {}: {e}", lock_path.display()))?;
    lock.lock().map_err(|e| format!("lock {}: {e}", lock_path.display()))?;

    let dir = root.join(format!("{name}-{version}"));
    let marker = dir.join(".installed");
    if !marker.exists() {
        if dir.exists() {
            eprintln!("peers: {} is a half install; redoing it", dir.display());
            fs::remove_dir_all(&dir).map_err(|e| format!("remove {}: {e}", dir.display()))?;
        }
        fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        eprintln!("peers: installing {name} {version} into {} (once)", dir.display());
        let started = Instant::now();
        install(&dir).map_err(|e| format!("installing {name} {version} failed: {e}"))?;
        fs::write(&marker, format!("{name} {version}\n"))
            .map_err(|e| format!("write {}: {e}", marker.display()))?;
        eprintln!("peers: installed {name} {version} in {:.1?}", started.elapsed());
    }
    Ok(dir.join(bin))
}

/// `python3 -m venv venv`, then `pip install serena-agent==SERENA_VERSION` into it.
fn install_serena(dir: &Path) -> Result<(), String> {
    let venv = dir.join("venv");
    pip_install(&venv, &format!("serena-agent=={SERENA_VERSION}"))?;
    let version = run_step(Command::new(venv.join("bin/serena")).arg("--version"), "", "")?;
    expect_version(&version, SERENA_VERSION)
}

/// `python3 -m venv venv`, then `pip install mcp==PYTHON_MCP_VERSION` into it.
fn install_python_mcp(dir: &Path) -> Result<(), String> {
    let venv = dir.join("venv");
    pip_install(&venv, &format!("mcp=={PYTHON_MCP_VERSION}"))?;
    let python = venv.join("bin/python");
    let print = "import importlib.metadata as m; print(m.version('mcp'))";
    let version = run_step(Command::new(python).args(["-c", print]), "", "")?;
    expect_version(&version, PYTHON_MCP_VERSION)
}

/// Makes the venv `venv` and installs `requirement` into it from PyPI.
fn pip_install(venv: &Path, requirement: &str) -> Result<(), String> {
    let python = find_python()?;
    run_step(
        Command::new(&python).arg("-m").arg("venv").arg(venv),
        "",
        "is venv installed? (Debian/Ubuntu: apt-get install python3-venv)",
    )?;
    run_step(
        Command::new(venv.join("bin/python"))
            .args(["-m", "pip", "install", "--disable-pip-version-check", "--no-input"])
            .arg(requirement)
            .env("PIP_ROOT_USER_ACTION", "ignore"),
        "",
        "is PyPI reachable? (pip honours PIP_INDEX_URL and HTTPS_PROXY)",
    )?;
    Ok(())
}

/// The first of `python3`, `python3.14` … `python3.11` that is Python 3.11–3.14, which
/// `serena-agent` requires.
fn find_python() -> Result<String, String> {
    const VERSION: &str = "import sys; print('%d.%d' % sys.version_info[:2])";
    let mut seen = Vec::new();
    for candidate in ["python3", "python3.14", "python3.13", "python3.12", "python3.11"] {
        let Ok(out) = Command::new(candidate).args(["-c", VERSION]).output() else { continue };
        let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let minor = version.strip_prefix("3.").and_then(|m| m.parse::<u32>().ok());
        if out.status.success() && matches!(minor, Some(11..=14)) {
            return Ok(candidate.to_owned());
        }
        seen.push(format!("{candidate} is {version}"));
    }
    let seen = if seen.is_empty() { "python3 not found".to_owned() } else { seen.join(", ") };
    Err(format!(
        "{seen}; serena-agent needs Python 3.11–3.14 with venv \
         (Debian/Ubuntu: apt-get install python3 python3-venv)"
    ))
}

fn install_pinned(dir: &Path) -> Result<(), String> {
    install_claude(dir, CLAUDE_VERSION)
}

fn install_newest(dir: &Path) -> Result<(), String> {
    install_claude(dir, CLAUDE_NEWEST)
}

/// `npm install --prefix DIR @anthropic-ai/claude-code@VERSION`. Its postinstall puts the
/// native binary in place; when npm skipped it (`ignore-scripts`), it is run by hand.
fn install_claude(dir: &Path, version: &str) -> Result<(), String> {
    run_step(
        Command::new("npm")
            .args(["install", "--no-fund", "--no-audit", "--include=optional"])
            .args(["--loglevel=error", "--engine-strict=false", "--prefix"])
            .arg(dir)
            .arg(format!("@anthropic-ai/claude-code@{version}")),
        "install Node.js 18+ and npm (Debian/Ubuntu: apt-get install nodejs npm)",
        "is the npm registry reachable? (npm honours npm_config_registry and HTTPS_PROXY)",
    )?;
    let claude_version = || {
        let home = tempfile::tempdir().map_err(|e| format!("a temporary HOME: {e}"))?;
        let mut cmd = Command::new(dir.join("node_modules/.bin/claude"));
        cmd.arg("--version").env("HOME", home.path()).env("DISABLE_AUTOUPDATER", "1");
        run_step(&mut cmd, "", "")
    };
    if claude_version().is_err() {
        eprintln!("peers: claude's postinstall did not run; running it");
        run_step(
            Command::new("node")
                .arg("install.cjs")
                .current_dir(dir.join("node_modules/@anthropic-ai/claude-code")),
            "install Node.js 18+",
            "is npm's optional platform package @anthropic-ai/claude-code-<os>-<arch> there?",
        )?;
    }
    expect_version(&claude_version()?, version)
}

/// `npm install --prefix DIR @modelcontextprotocol/server-everything@EVERYTHING_VERSION`.
fn install_everything(dir: &Path) -> Result<(), String> {
    npm_install(dir, "@modelcontextprotocol/server-everything", EVERYTHING_VERSION)
}

/// `npm install --prefix DIR @modelcontextprotocol/inspector@INSPECTOR_VERSION`.
fn install_inspector(dir: &Path) -> Result<(), String> {
    npm_install(dir, "@modelcontextprotocol/inspector", INSPECTOR_VERSION)
}

/// `npm install --prefix DIR PACKAGE@VERSION`, checked by the `package.json` that landed (not
/// every package has a `--version`).
fn npm_install(dir: &Path, package: &str, version: &str) -> Result<(), String> {
    run_step(
        Command::new("npm")
            .args(["install", "--no-fund", "--no-audit", "--loglevel=error", "--prefix"])
            .arg(dir)
            .arg(format!("{package}@{version}")),
        "install Node.js 18+ and npm (Debian/Ubuntu: apt-get install nodejs npm)",
        "is the npm registry reachable? (npm honours npm_config_registry and HTTPS_PROXY)",
    )?;
    let manifest = dir.join("node_modules").join(package).join("package.json");
    let manifest = fs::read_to_string(&manifest)
        .map_err(|e| format!("read {}: {e}; npm installed nothing?", manifest.display()))?;
    expect_version(&manifest, &format!("\"version\": \"{version}\""))
}

/// `mcp-inspector --cli ARGS` with a throwaway HOME (its catalog lives there): its exit code and
/// stdout and stderr.
pub fn inspector(home: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(inspector_bin())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .arg("--cli")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run mcp-inspector");
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

/// `npm install --prefix DIR @modelcontextprotocol/server@TS_SERVER_VERSION` (needs Node 20+).
fn install_ts_server(dir: &Path) -> Result<(), String> {
    npm_install(dir, "@modelcontextprotocol/server", TS_SERVER_VERSION)
}

fn expect_version(output: &str, version: &str) -> Result<(), String> {
    match output.contains(version) {
        true => Ok(()),
        false => Err(format!("--version printed {output:?}, expected {version}")),
    }
}

/// Runs `cmd` to the end; its stdout, or an error that says how to fix it: `missing` when
/// the program is not found, else `failed` with the end of its output.
fn run_step(cmd: &mut Command, missing: &str, failed: &str) -> Result<String, String> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    eprintln!("peers: running {cmd:?}");
    let out = cmd.stdin(Stdio::null()).output().map_err(|e| match e.kind() {
        ErrorKind::NotFound => format!("{program} not found: {missing}"),
        _ => format!("cannot run {program}: {e}"),
    })?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        return Ok(stdout);
    }
    Err(format!(
        "{cmd:?} failed ({}); {failed}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        tail(&stdout, 40),
        tail(&String::from_utf8_lossy(&out.stderr), 40)
    ))
}

/// The last `lines` lines of `text`.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A peer server run for a test: a child process in its own process group, on a free port of
/// 127.0.0.1, with a throwaway HOME that also holds its log (its stdout and stderr). Started,
/// it is ready (see [`Ready`]); killed, with its process group, on drop.
pub struct Peer {
    child: Child,
    port: u16,
    /// HOME, and the log file.
    home: TempDir,
    kind: &'static Kind,
}

/// What sets one peer apart from another.
struct Kind {
    /// How messages name it.
    name: &'static str,
    /// Its log file, in its HOME.
    log: &'static str,
    /// Its endpoint's path.
    path: &'static str,
    ready: Ready,
    /// How long it may take to be ready.
    timeout: Duration,
    /// What to do when its program is not found; empty: say only what failed.
    missing: &'static str,
}

/// When a peer is ready.
enum Ready {
    /// Its port accepts connections.
    Listening,
    /// `GET /` gets an HTTP answer (whatever its status).
    AnswersHttp,
}

/// Real Serena over streamable HTTP: its `~/.serena` config and logs go to the HOME.
const SERENA: Kind = Kind {
    name: "Serena",
    log: "serena.log",
    path: "/mcp",
    ready: Ready::Listening,
    timeout: Duration::from_secs(60),
    missing: "",
};

/// The MCP reference server "everything" in legacy HTTP+SSE mode.
const EVERYTHING: Kind = Kind {
    name: "the everything server",
    log: "everything.log",
    path: "/sse",
    ready: Ready::AnswersHttp,
    timeout: Duration::from_secs(30),
    missing: "install Node.js 18+",
};

/// The MCP reference server "everything" over streamable HTTP (2025 only).
const EVERYTHING_STREAMABLE: Kind = Kind {
    name: "the everything server",
    log: "everything.log",
    path: "/mcp",
    ready: Ready::AnswersHttp,
    timeout: Duration::from_secs(30),
    missing: "install Node.js 18+",
};

/// A 2026-07-28-only server on the TypeScript SDK v2 (`createMcpHandler` with
/// `legacy: 'reject'`), served by [`MODERN_ONLY_JS`].
const MODERN_ONLY: Kind = Kind {
    name: "the TypeScript SDK v2 server",
    log: "modern-only.log",
    path: "/mcp",
    ready: Ready::Listening,
    timeout: Duration::from_secs(30),
    missing: "install Node.js 20+",
};

impl Peer {
    /// A server that speaks only MCP 2026-07-28: the TypeScript SDK v2's `createMcpHandler`
    /// with `legacy: 'reject'` (an `initialize` gets 400 -32022), named "era-2026-only" 1.0.0,
    /// with two tools (`echo`, `add`), `url()` its `/mcp`.
    pub fn modern_only() -> Peer {
        let entry = ts_server_entry();
        Peer::start(&MODERN_ONLY, Path::new("node"), |cmd, home, port| {
            let script = home.join("modern-only.mjs");
            let url = format!("file://{}", entry.display());
            fs::write(&script, MODERN_ONLY_JS.replace("SDK_ENTRY", &url))
                .expect("write the server script");
            cmd.arg(&script).env("PORT", port.to_string());
        })
    }

    /// A real Serena MCP server over streamable HTTP, `url()` its `/mcp`. With `project`,
    /// Serena activates that directory: it writes `.serena/` into it and tries to start a
    /// language server (which downloads one when `uv` is on PATH), so tests normally pass
    /// `None`.
    pub fn serena(project: Option<&Path>) -> Peer {
        let bin = serena_bin();
        Peer::start(&SERENA, bin, |cmd, _, port| {
            cmd.args(["start-mcp-server", "--transport", "streamable-http", "--host", "127.0.0.1"])
                .args(["--port", &port.to_string()])
                .args(["--enable-web-dashboard", "false", "--open-web-dashboard", "false"])
                .args(["--enable-gui-log-window", "false"]);
            if let Some(project) = project {
                cmd.arg("--project").arg(project);
            }
            cmd.env("CI", "true")
                .env("SERENA_USAGE_REPORTING", "false")
                // Serena runs `git` in its own package directory to decorate its version; stop
                // git from finding the repository that holds the target directory.
                .env("GIT_CEILING_DIRECTORIES", peers_dir());
        })
    }

    /// The MCP reference server "everything" in legacy HTTP+SSE mode (2024-11-05), `url()` its
    /// `/sse`: `GET /sse` answers `event: endpoint` / `data: /message?sessionId=UUID`, and
    /// messages are POSTed there (202, answers come as `event: message` on the stream). Its
    /// quirk: a POST for an unknown session id gets no answer at all (the request hangs).
    pub fn everything_sse() -> Peer {
        let bin = everything_bin();
        Peer::start(&EVERYTHING, Path::new("node"), |cmd, home, port| {
            let preload = home.join("loopback-only.cjs");
            fs::write(&preload, LOOPBACK_ONLY_JS).expect("write the loopback preload");
            cmd.arg("--require").arg(&preload).arg(bin).arg("sse");
            // Only PATH and HOME from outside: its `get-env` tool shows its environment to
            // clients.
            cmd.env("PORT", port.to_string());
        })
    }

    /// The MCP reference server "everything" over streamable HTTP, `url()` its `/mcp`: it
    /// speaks only the 2025 era (TS SDK 1.32) and answers `server/discover` with 400 -32000
    /// "Server not initialized".
    pub fn everything_streamable() -> Peer {
        let bin = everything_bin();
        Peer::start(&EVERYTHING_STREAMABLE, Path::new("node"), |cmd, home, port| {
            let preload = home.join("loopback-only.cjs");
            fs::write(&preload, LOOPBACK_ONLY_JS).expect("write the loopback preload");
            cmd.arg("--require").arg(&preload).arg(bin).arg("streamableHttp");
            cmd.env("PORT", port.to_string());
        })
    }

    /// Starts `program` as `kind` on a free port, `configure` adding its arguments and
    /// environment (given HOME and the port), and waits until it is ready.
    fn start(
        kind: &'static Kind,
        program: &Path,
        configure: impl Fn(&mut Command, &Path, u16),
    ) -> Peer {
        // A free port can be taken between choosing and binding it: try a few.
        let mut last_error = String::new();
        for _ in 0..3 {
            match Peer::try_start(kind, program, &configure, free_port()) {
                Ok(peer) => return peer,
                Err(error) => last_error = error,
            }
        }
        panic!("{last_error}")
    }

    fn try_start(
        kind: &'static Kind,
        program: &Path,
        configure: &impl Fn(&mut Command, &Path, u16),
        port: u16,
    ) -> Result<Peer, String> {
        let home = tempfile::tempdir()
            .unwrap_or_else(|e| panic!("a temporary HOME for {}: {e}", kind.name));
        let log = File::create(home.path().join(kind.log)).expect("create its log");
        let mut cmd = Command::new(program);
        // Only PATH from the environment, and the throwaway HOME.
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home.path());
        configure(&mut cmd, home.path(), port);
        cmd.current_dir(home.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone the log file"))
            .stderr(log)
            .process_group(0);
        eprintln!("peers: starting {cmd:?}");
        let child = cmd.spawn().map_err(|e| match e.kind() {
            ErrorKind::NotFound if !kind.missing.is_empty() => {
                format!("{} not found: {}", program.display(), kind.missing)
            }
            _ => format!("cannot run {}: {e}", program.display()),
        })?;
        let mut peer = Peer { child, port, home, kind };
        peer.wait_until_ready()?;
        Ok(peer)
    }

    fn wait_until_ready(&mut self) -> Result<(), String> {
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let (name, timeout) = (self.kind.name, self.kind.timeout);
        let (before, not_yet) = match self.kind.ready {
            Ready::Listening => ("listening", "accept connections"),
            Ready::AnswersHttp => ("answering", "answer HTTP"),
        };
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("{name} exited ({status}) before {before}:\n{}", self.log()));
            }
            let ready = match self.kind.ready {
                Ready::Listening => {
                    TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok()
                }
                Ready::AnswersHttp => answers_http(address),
            };
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{name} did not {not_yet} on {address} within {timeout:?}:\n{}",
                    tail(&self.log(), 40)
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its endpoint: `http://127.0.0.1:PORT/mcp` for Serena, `…/sse` for the everything server.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}{}", self.port, self.kind.path)
    }

    /// What it printed so far (its log).
    pub fn log(&self) -> String {
        fs::read_to_string(self.home.path().join(self.kind.log)).unwrap_or_default()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        // Its process group: the peer and anything it started (Serena's language servers).
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Loaded into the everything server's Node before its code (`node --require`): it calls
/// `app.listen(process.env.PORT || 3001)` with no host, which listens on every interface
/// (`*:PORT`, IPv4 and IPv6), and has no setting for the host. This makes every TCP server in
/// the process listen on 127.0.0.1 instead.
const LOOPBACK_ONLY_JS: &str = r#"const net = require("node:net");
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const [first, second] = args;
  if (first !== null && typeof first === "object" && first.path === undefined) {
    args[0] = { ...first, host: "127.0.0.1" };
  } else if (typeof first === "number" || /^[0-9]+$/.test(String(first))) {
    if (typeof second === "string") args[1] = "127.0.0.1";
    else args.splice(1, 0, "127.0.0.1");
  }
  return listen.apply(this, args);
};
"#;

/// The 2026-only server: the SDK's web-standard `fetch` handler behind `node:http` (the SDK
/// leaves the Node adapter to `@modelcontextprotocol/node`), on 127.0.0.1:$PORT.
const MODERN_ONLY_JS: &str = r#"import http from "node:http";
import { McpServer, createMcpHandler } from "SDK_ENTRY";
const factory = () => {
  const server = new McpServer({ name: "era-2026-only", version: "1.0.0" });
  const text = (t) => ({ content: [{ type: "text", text: t }] });
  server.registerTool("echo", { description: "Says hello" }, async () => text("hello"));
  server.registerTool("add", { description: "Says 2" }, async () => text("2"));
  return server;
};
const handler = createMcpHandler(factory, { legacy: "reject" });
http.createServer(async (req, res) => {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) headers.set(k, [].concat(v).join(", "));
  const bodyless = req.method === "GET" || req.method === "HEAD";
  const request = new Request(`http://${req.headers.host}${req.url}`, {
    method: req.method, headers, body: bodyless ? undefined : Buffer.concat(chunks),
  });
  const response = await handler.fetch(request);
  res.writeHead(response.status, Object.fromEntries(response.headers));
  if (response.body) for await (const chunk of response.body) res.write(chunk);
  res.end();
}).listen(Number(process.env.PORT), "127.0.0.1");
"#;

/// Whether `GET /` on `address` gets an HTTP status line back within a second.
fn answers_http(address: SocketAddr) -> bool {
    let Ok(mut tcp) = TcpStream::connect_timeout(&address, Duration::from_millis(200)) else {
        return false;
    };
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(1)));
    let request = format!("GET / HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    let mut head = [0u8; 5];
    tcp.write_all(request.as_bytes()).is_ok()
        && tcp.read_exact(&mut head).is_ok()
        && &head == b"HTTP/"
}

/// The real `claude` CLI with HOME set to a throwaway home. It runs in `HOME/project`, a
/// directory without `.mcp.json`, so `--scope local` entries land in
/// `~/.claude.json` → `projects["HOME/project"]`. No login is needed for `claude mcp …`.
pub struct Claude {
    bin: &'static Path,
    version: &'static str,
    home: PathBuf,
    cwd: PathBuf,
}

impl Claude {
    /// The pinned Claude Code (2025 handshake only).
    pub fn new(home: &Path) -> Claude {
        Claude::with(claude_bin(), CLAUDE_VERSION, home)
    }

    /// The newest Claude Code (`server/discover` first), in the same home and project.
    pub fn newest(home: &Path) -> Claude {
        Claude::with(claude_newest_bin(), CLAUDE_NEWEST, home)
    }

    /// Both, the pinned one first: what every end-to-end check runs with.
    pub fn both(home: &Path) -> [Claude; 2] {
        [Claude::new(home), Claude::newest(home)]
    }

    fn with(bin: &'static Path, version: &'static str, home: &Path) -> Claude {
        let cwd = home.join("project");
        fs::create_dir_all(&cwd).expect("create the project directory");
        Claude { bin, version, home: home.to_owned(), cwd }
    }

    /// Which Claude Code this is: `2.1.197`.
    pub fn version(&self) -> &'static str {
        self.version
    }

    /// The directory `claude` runs in.
    pub fn cwd(&self) -> &Path {
        &self.cwd
    }

    /// `claude` with only PATH from the environment, this home, no prompts (stdin is null,
    /// `CI=true`), no auto-update, telemetry or other non-essential traffic.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(self.bin);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join("config"))
            .env("XDG_STATE_HOME", self.home.join("state"))
            .env("CI", "true")
            .env("DISABLE_AUTOUPDATER", "1")
            .env("DISABLE_TELEMETRY", "1")
            .env("DISABLE_ERROR_REPORTING", "1")
            .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
            .current_dir(&self.cwd)
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `claude ARGS` to the end (killed after two minutes).
    pub fn run(&self, args: &[&str]) -> Output {
        let mut cmd = self.command();
        cmd.args(args);
        self.run_command(cmd)
    }

    /// Runs `cmd` (made by [`Claude::command`]) to the end (killed after two minutes).
    pub fn run_command(&self, mut cmd: Command) -> Output {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
        let pid = child.id();
        let (send, receive) = mpsc::channel();
        std::thread::spawn(move || send.send(child.wait_with_output()));
        match receive.recv_timeout(CLAUDE_RUN_TIMEOUT) {
            Ok(output) => output.unwrap_or_else(|e| panic!("waiting for {cmd:?}: {e}")),
            Err(_) => {
                let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
                panic!("{cmd:?} did not finish within {CLAUDE_RUN_TIMEOUT:?}")
            }
        }
    }

    /// Runs `claude ARGS`, which must succeed; its stdout.
    pub fn run_ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "claude {args:?}: {}\n{stdout}\n{stderr}", out.status);
        stdout
    }
}

/// The pinned Gemini CLI (npm `@google/gemini-cli`): `gemini mcp list` connects to each server.
pub const GEMINI_VERSION: &str = "0.61.0";
/// The pinned Codex CLI (npm `@openai/codex`, a native binary inside the package): its
/// `app-server` reports each MCP server's tools or startup error.
pub const CODEX_VERSION: &str = "0.171.0";

/// The installed `gemini` CLI, installing it first if needed.
pub fn gemini_bin() -> &'static Path {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let bin = BIN.get_or_init(|| {
        installed("gemini-cli", GEMINI_VERSION, "node_modules/.bin/gemini", install_gemini)
    });
    bin.as_deref().unwrap_or_else(|error| panic!("{error}"))
}

/// The installed `codex` CLI, installing it first if needed.
pub fn codex_bin() -> &'static Path {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let bin = BIN.get_or_init(|| {
        installed("codex", CODEX_VERSION, "node_modules/.bin/codex", install_codex)
    });
    bin.as_deref().unwrap_or_else(|error| panic!("{error}"))
}

/// `npm install --prefix DIR @google/gemini-cli@GEMINI_VERSION`.
fn install_gemini(dir: &Path) -> Result<(), String> {
    npm_install(dir, "@google/gemini-cli", GEMINI_VERSION)
}

/// `npm install --prefix DIR @openai/codex@CODEX_VERSION`.
fn install_codex(dir: &Path) -> Result<(), String> {
    npm_install(dir, "@openai/codex", CODEX_VERSION)
}

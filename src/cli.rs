//! The command line, as clap reads it.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::clientconfig::Client;

#[derive(Debug, Parser)]
#[command(
    name = "mcp-connect",
    version,
    about = "Connects Claude Code to a remote Serena MCP server in Kubernetes, and keeps it connected",
    arg_required_else_help = true
)]
pub struct Cli {
    /// Kubeconfig file to use (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// Kubeconfig context to use instead of the profile's or the current one.
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,

    /// Directory of user profiles (default: $XDG_CONFIG_HOME/mcp-connect/profiles).
    #[arg(long = "profiles", global = true, value_name = "DIR", env = "MCP_CONNECT_PROFILES")]
    pub profiles_dir: Option<PathBuf>,

    /// How much to write to the log file in $XDG_STATE_HOME/mcp-connect.
    #[arg(long, global = true, value_name = "LEVEL", default_value = "info")]
    pub log_level: LogLevel,

    /// The log file's size before it is rolled (bytes, or with K, M or G: 64K, 10M).
    #[arg(long, global = true, value_name = "SIZE", default_value = "10M", value_parser = bytes,
          env = "MCP_CONNECT_LOG_FILE_SIZE")]
    pub log_file_size: u64,

    /// How many rolled log files are kept beside the one written.
    #[arg(
        long,
        global = true,
        value_name = "N",
        default_value = "4",
        env = "MCP_CONNECT_LOG_FILES"
    )]
    pub log_files: usize,

    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// How much log is kept.
    pub fn log_retention(&self) -> crate::logging::Retention {
        crate::logging::Retention { file_bytes: self.log_file_size, files: self.log_files }
    }

    /// The kubeconfig and context chosen on the command line, and `local_port`.
    pub fn run_options(&self, local_port: Option<u16>) -> crate::supervisor::RunOptions {
        crate::supervisor::RunOptions {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            local_port,
        }
    }

    /// The global flags that find the same kubeconfig, context and profiles, for a command line
    /// Claude Code runs later from another directory (paths made absolute).
    pub fn global_args(&self) -> Vec<String> {
        let path = |p: &PathBuf| std::path::absolute(p).unwrap_or_else(|_| p.clone());
        let mut args = Vec::new();
        if let Some(file) = &self.kubeconfig {
            args.extend(["--kubeconfig".to_owned(), path(file).display().to_string()]);
        }
        if let Some(context) = &self.context {
            args.extend(["--context".to_owned(), context.clone()]);
        }
        if let Some(dir) = &self.profiles_dir {
            args.extend(["--profiles".to_owned(), path(dir).display().to_string()]);
        }
        args
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The terminal UI over your kubeconfig: the routes, their health and logs, one key to
    /// switch, config writing. `q` quits and stops every route.
    Tui,
    /// The terminal UI over the lab (a fake cluster with a reference MCP server): no cluster
    /// needed. Configs go into a demo directory it prints, never into your Claude Code config.
    Demo {
        /// Back `serena-mcp` with real Serena (`serena` on PATH) instead of the reference server.
        #[arg(long)]
        serena: bool,
        /// The MCP eras the reference server speaks: `2026-only` shows every route on a server
        /// that refuses the 2025 handshake.
        #[arg(long, value_enum, default_value_t = ErasArg::Both, conflicts_with = "serena")]
        eras: ErasArg,
    },
    /// List the route profiles: built-in and your own, with any errors in them.
    Profiles {
        /// One JSON document instead of a table.
        #[arg(long)]
        json: bool,
        /// Every cell whole, however wide the terminal (else the table fits its width, long
        /// cells cut in the middle with `…`).
        #[arg(long)]
        wide: bool,
    },
    /// Run a profile's link headless (a port-forward to its Service's Ready pod), printing one
    /// line per event; `ready: URL (pod NAME)` is the line to wait for. Ctrl-C stops it.
    Up {
        /// The profile to run (see `mcp-connect profiles`).
        profile: String,
        /// Listen on this local port instead of the profile's.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
        local_port: Option<u16>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
        /// How often to ping the route's MCP endpoint once it listens; `off` to not watch it.
        #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = health_interval)]
        health_interval: HealthInterval,
    },
    /// Check that a URL, or a profile's endpoint, is a working MCP server: a full handshake,
    /// tools/list and ping, with latency. When it is not, says why and how to fix it.
    /// Exit 0 when healthy, 1 when not, 2 when the probe cannot start.
    Probe(ProbeArgs),
    /// Write, show or remove a route's MCP entry for Claude Code or another client (Cursor,
    /// VS Code, Windsurf, Zed, Codex, Gemini CLI, Claude Desktop), keeping everything else in
    /// the file as it was (a backup of the old file is kept).
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print PROFILE's bearer token (a JWT minted from the gateway's secret) on stdout, for
    /// scripts and Claude Code's `headersHelper`. Nothing is written to any file.
    Token {
        /// The profile whose token to print (its auth must be jwt or bearer).
        profile: String,
        /// Print `{"Authorization":"Bearer …"}` (one line of JSON) instead of the bare token.
        #[arg(long)]
        headers: bool,
    },
    /// Show the certificate PROFILE's endpoint presents and pin it (`tls.pin_sha256` in the
    /// profile, the PEM under the config directory). Asks on a terminal; refuses without one
    /// unless --yes. Verification stays on: the pin is how the certificate is verified.
    Trust {
        profile: String,
        /// Pin without asking (after checking the fingerprint some other way).
        #[arg(long)]
        yes: bool,
    },
    /// A stdio MCP server for Claude Code to launch (a `stdio` entry): relays each message to
    /// PROFILE's endpoint with a fresh token and its TLS settings, bringing up the port-forward
    /// when nothing listens. Stdout carries JSON-RPC only; notes go to stderr. Never writes a
    /// token anywhere.
    Bridge {
        /// The profile whose endpoint to relay to (a port_forward or direct route).
        profile: String,
        /// The forward's local port, instead of the profile's.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
        local_port: Option<u16>,
    },
    /// Run the lab: a fake Kubernetes API server with Serena's and the gateway's Services,
    /// backed by local MCP servers, until Ctrl-C. Prints the kubeconfig to point tools at.
    Lab {
        /// Back `serena-mcp` with real Serena (`serena` on PATH) instead of the reference server.
        #[arg(long)]
        serena: bool,
        /// The MCP eras the reference server speaks.
        #[arg(long, value_enum, default_value_t = ErasArg::Both, conflicts_with = "serena")]
        eras: ErasArg,
        /// Write the gateway routes' profiles for this lab into DIR (its address, its pinned
        /// certificate), as the demo does, for `mcp-connect --profiles DIR tui`.
        #[arg(long = "write-profiles", value_name = "DIR")]
        write_profiles: Option<PathBuf>,
    },
    /// Run the local router in front of pools of MCP gateways: standard MCP at
    /// http://127.0.0.1:PORT/mcp (with /health and /metrics), a JWT and TLS pin per gateway,
    /// weighted sessions, health checks and failover. Settings from a `router` profile or from
    /// the seed's router-config.yaml. Ctrl-C stops it.
    #[command(group(clap::ArgGroup::new("settings").required(true).args(["profile", "config"])))]
    Router {
        /// The profile whose `link: router` to run (e.g. router).
        profile: Option<String>,
        /// A router config file in the seed's shape (server, gateway_pools, auth.jwt), with an
        /// optional `tls: {verify, pin_sha256, ca_file}` per gateway.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Listen on this local port instead of the profile's or file's.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
        local_port: Option<u16>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Add or update the entry for PROFILE, pointing at its local endpoint.
    Write {
        /// The profile whose endpoint the entry names.
        profile: String,
        #[command(flatten)]
        target: ScopeArgs,
        /// The server name in the client (default: the profile's `client.server_name`).
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// The local port the route listens on, when not the profile's.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
        local_port: Option<u16>,
        /// Show the change as a diff; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Replace an entry of the same name that mcp-connect did not write, and write the
        /// file even if it is read-only (its mode is kept).
        #[arg(long)]
        force: bool,
    },
    /// List the MCP entries of a scope (default: all), which are mcp-connect's, whether they
    /// still match their profile, and what is wrong with the others.
    Show {
        #[arg(long, value_enum)]
        scope: Option<ScopeArg>,
        /// The project directory (default: the current one).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// The client whose files to read.
        #[arg(long, value_name = "CLIENT", default_value = "claude-code", value_parser = client_arg(), conflicts_with = "all")]
        client: Client,
        /// Every client's files that exist.
        #[arg(long)]
        all: bool,
    },
    /// List the MCP clients: which are installed (their config directory exists) and which
    /// file each scope of each is written to.
    Clients {
        /// The project directory (default: the current one).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Remove the entry NAME.
    Remove {
        name: String,
        #[command(flatten)]
        target: ScopeArgs,
        /// Show the change as a diff; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Remove it even though mcp-connect did not write it, and write the file even if it
        /// is read-only (its mode is kept).
        #[arg(long)]
        force: bool,
    },
}

/// `probe`'s flags: what to probe and how.
#[derive(Debug, clap::Args)]
pub struct ProbeArgs {
    /// The MCP endpoint, e.g. http://127.0.0.1:8080/mcp.
    #[arg(required_unless_present = "profile", conflicts_with = "profile")]
    pub url: Option<url::Url>,
    /// Probe this profile's local endpoint, with its credentials and TLS settings.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// With --profile: the local port used instead of the profile's.
    #[arg(long, value_name = "N", requires = "profile", value_parser = clap::value_parser!(u16).range(1..))]
    pub local_port: Option<u16>,
    /// A header sent with every request, e.g. 'Authorization: Bearer TOKEN'. Repeatable.
    #[arg(long = "header", short = 'H', value_name = "'NAME: VALUE'")]
    pub headers: Vec<String>,
    /// Also trust the CA certificates in this PEM file. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub ca: Vec<PathBuf>,
    /// Accept any TLS certificate. Dangerous: anyone on the path can read the traffic.
    #[arg(long)]
    pub insecure: bool,
    /// Which MCP transport to speak (default: the profile's, else auto).
    #[arg(long, value_enum)]
    pub transport: Option<TransportArg>,
    /// How long each HTTP exchange may take.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    pub timeout: std::time::Duration,
    /// One JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ScopeArgs {
    /// The client whose file to write (`config clients` lists them and their files).
    #[arg(long, value_name = "CLIENT", default_value = "claude-code", value_parser = client_arg())]
    pub client: Client,
    /// project: the client's file in DIR (Claude Code: DIR/.mcp.json); local (Claude Code
    /// only): ~/.claude.json for DIR only; user: the client's file for every project.
    #[arg(long, value_enum)]
    pub scope: ScopeArg,
    /// The project directory (default: the current one).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScopeArg {
    Project,
    Local,
    User,
}

/// `--client`: one of the clients' ids (claude-code, cursor, vscode, …).
fn client_arg() -> impl clap::builder::TypedValueParser<Value = Client> {
    let ids = Client::ALL.map(Client::id);
    let parser = clap::builder::PossibleValuesParser::new(ids);
    clap::builder::TypedValueParser::map(parser, |id: String| {
        Client::from_id(&id).unwrap_or(Client::ClaudeCode)
    })
}

/// How often `up` checks health: `None` when off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthInterval(pub Option<std::time::Duration>);

/// A positive duration ("2s", "500ms"), or `off`.
fn health_interval(raw: &str) -> Result<HealthInterval, String> {
    if raw == "off" {
        return Ok(HealthInterval(None));
    }
    match humantime::parse_duration(raw) {
        Ok(d) if !d.is_zero() => Ok(HealthInterval(Some(d))),
        _ => Err(format!("{raw:?} is not a positive duration such as 2s or 500ms, or off")),
    }
}

/// The MCP eras a lab server speaks, as the command line names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ErasArg {
    /// The 2025 `initialize` handshake and 2026-07-28, as Serena and today's SDKs serve.
    Both,
    /// Only the handshake, as server-everything 2026.8.31.
    #[value(name = "2025-only")]
    Only2025,
    /// Only 2026-07-28 (`server/discover`, no sessions): an `initialize` is refused.
    #[value(name = "2026-only")]
    Only2026,
}

impl From<ErasArg> for crate::lab::mcp::Eras {
    fn from(arg: ErasArg) -> Self {
        use crate::lab::mcp::Eras;
        match arg {
            ErasArg::Both => Eras::Both,
            ErasArg::Only2025 => Eras::Only2025,
            ErasArg::Only2026 => Eras::Only2026,
        }
    }
}

/// The MCP transports, as the command line names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TransportArg {
    /// Streamable HTTP, then legacy SSE.
    Auto,
    StreamableHttp,
    /// The legacy HTTP+SSE transport (2024-11-05).
    Sse,
}

impl From<TransportArg> for crate::profile::Transport {
    fn from(arg: TransportArg) -> Self {
        use crate::profile::Transport;
        match arg {
            TransportArg::Auto => Transport::Auto,
            TransportArg::StreamableHttp => Transport::StreamableHttp,
            TransportArg::Sse => Transport::Sse,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    Off,
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl From<LogLevel> for tracing::level_filters::LevelFilter {
    fn from(level: LogLevel) -> Self {
        use tracing::level_filters::LevelFilter;
        match level {
            LogLevel::Off => LevelFilter::OFF,
            LogLevel::Error => LevelFilter::ERROR,
            LogLevel::Warn => LevelFilter::WARN,
            LogLevel::Info => LevelFilter::INFO,
            LogLevel::Debug => LevelFilter::DEBUG,
            LogLevel::Trace => LevelFilter::TRACE,
        }
    }
}

/// `4096`, `64K`, `10M`, `1G` (binary multiples): a size in bytes, at least 1 KiB.
fn bytes(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, shift) = match text.char_indices().last() {
        Some((at, 'k' | 'K')) => (&text[..at], 10),
        Some((at, 'm' | 'M')) => (&text[..at], 20),
        Some((at, 'g' | 'G')) => (&text[..at], 30),
        _ => (text, 0),
    };
    let number: u64 =
        digits.parse().map_err(|_| format!("`{text}` is not a size: try 64K or 10M"))?;
    let size = number.checked_shl(shift).filter(|s| s >> shift == number);
    match size {
        Some(size) if size >= 1024 => Ok(size),
        _ => Err(format!("`{text}` is out of range: give at least 1K")),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }

    #[test]
    fn sizes_read_with_binary_multiples_and_refuse_nonsense() {
        assert_eq!(super::bytes("64K"), Ok(64 << 10));
        assert_eq!(super::bytes("10m"), Ok(10 << 20));
        assert_eq!(super::bytes("4096"), Ok(4096));
        assert!(super::bytes("12").unwrap_err().contains("at least 1K"));
        assert!(super::bytes("ten").unwrap_err().contains("try 64K"));
        assert!(super::bytes("99999999999G").unwrap_err().contains("out of range"));
    }
}

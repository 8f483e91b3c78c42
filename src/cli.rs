//! The command line, as clap reads it.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

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

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the route profiles: built-in and your own, with any errors in them.
    Profiles {
        /// One JSON document instead of a table.
        #[arg(long)]
        json: bool,
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
    },
    /// Run the lab: a fake Kubernetes API server with Serena's and the gateway's Services,
    /// backed by local MCP servers, until Ctrl-C. Prints the kubeconfig to point tools at.
    Lab {
        /// Back `serena-mcp` with real Serena (`serena` on PATH) instead of the reference server.
        #[arg(long)]
        serena: bool,
    },
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}

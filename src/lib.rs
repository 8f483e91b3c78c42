//! mcp-connect: connects Claude Code to a remote Serena MCP server in Kubernetes, and keeps it
//! connected.
//!
//! The engine (profiles, kubeconfig resolution, and the modules later issues add) knows
//! nothing of the terminal; the command-line faces live in `cli` and `commands`.

pub mod auth;
pub mod backoff;
pub mod bridge;
pub mod cli;
pub mod clientconfig;
pub mod commands;
pub mod files;
pub mod forward;
pub mod kubeconfig;
pub mod lab;
pub mod logging;
pub mod mcpbridge;
pub mod net;
pub mod paths;
pub mod probe;
pub mod profile;
pub mod router;
pub mod supervisor;
pub mod trouble;
pub mod trust;
pub mod tui;

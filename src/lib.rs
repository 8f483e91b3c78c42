//! mcp-connect: connects Claude Code to a remote Serena MCP server in Kubernetes, and keeps it
//! connected.
//!
//! # The data path
//!
//! A route goes from a profile to every face in one direction:
//!
//! 1. [`profile`]: the four built-in routes and the user's own, read and validated (errors at
//!    `file:line:col`); [`kubeconfig`] and [`auth`] resolve the cluster and the credentials a
//!    profile names.
//! 2. The link that makes the route reachable on this machine: [`forward`] (a native kube-rs
//!    port-forward that follows the Service's Ready pods), a direct URL, or [`router`] (the
//!    local router over a pool of gateways; [`mcpbridge`] is the gateway's envelope protocol).
//! 3. [`probe`]: MCP spoken to the link's endpoint: health, latency, and a diagnosis of what is
//!    wrong.
//! 4. [`supervisor`]: runs a route's link and watches its health, and reports what happens as
//!    plain-data events on channels; each failure is explained once, as a [`trouble::Trouble`].
//! 5. The faces render those events and decide nothing of their own: [`tui`] (the terminal UI),
//!    [`commands`] (`up`, `probe` and the other headless commands, parsed by [`cli`]) and
//!    [`bridge`] (stdio for MCP clients, failures as JSON-RPC errors).
//!
//! Below steps 2 to 5, [`net`] is the wire every MCP client here shares: the HTTP client and
//! target, TLS with the certificate it was shown, the Streamable HTTP framing and JSON-RPC
//! error answers. [`backoff`], [`files`] (atomic writes), [`paths`] and [`logging`] serve all.
//!
//! At the edge, [`clientconfig`] writes a route's entry into Claude Code's configuration, and
//! [`trust`] pins a route's certificate into its profile. Apart from it all, [`lab`] is a fake
//! cluster (API server, MCP servers, the gateway double) for `demo` and the tests only.
//!
//! The engine knows nothing of the terminal: ratatui and crossterm are used in [`tui`] alone.

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

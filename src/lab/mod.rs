//! The lab: the world the tests and `demo` run in when there is no cluster.
//!
//! A fake Kubernetes API server that speaks the real wire protocol (`kube`), MCP backends
//! (`mcp`), each Serena pod's own (`pods`), and the MCP gateway in front of them (`gateway`).
//! The engine never depends on this module.

pub mod gateway;
pub mod kube;
pub mod mcp;
pub mod pods;
pub mod tls;
pub mod world;

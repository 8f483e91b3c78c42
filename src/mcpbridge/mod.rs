//! The mcp-bridge gateway's own client protocol (actual-software/mcp-bridge, as its code
//! behaves): JSON-RPC wrapped in its [`envelope`], over a WebSocket ([`ws`]) or POSTed to its
//! HTTP frontend ([`frontend`]). Standard MCP clients cannot talk to that gateway directly;
//! the bridge and the router reach it through this.

pub mod envelope;
pub mod frontend;
pub mod ws;

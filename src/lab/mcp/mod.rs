//! Placeholder: the reference MCP server (being written).

//! The lab server's MCP handler: three tools (`echo`, `sleep`, `blob`), served by rmcp's tool
//! macros. One value per session (or per session-less 2026 request); both transports build
//! theirs from the same [`LabTools::new`]. Its name and version are the same in both eras:
//! `serverInfo` of `initialize`, `_meta["io.modelcontextprotocol/serverInfo"]` of
//! `server/discover`.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{Implementation, ProtocolVersion, ServerCapabilities, ServerConfig};
use rmcp::{ServerHandler, schemars, tool, tool_handler, tool_router};
use serde::Deserialize;

use super::eras::Eras;

/// What it tells clients about itself (`instructions`).
pub const INSTRUCTIONS: &str =
    "The mcp-connect lab's reference server: test tools echo, sleep and blob.";

/// The largest text `blob` returns: 16 MiB.
pub const BLOB_MAX_BYTES: u64 = 16 * 1024 * 1024;

/// Arguments of `echo`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct EchoArgs {
    /// The text to send back.
    pub text: String,
}

/// Arguments of `sleep`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct SleepArgs {
    /// How long to wait, in milliseconds.
    pub ms: u64,
}

/// Arguments of `blob`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct BlobArgs {
    /// The exact size of the returned text, in bytes (at most 16 MiB).
    pub bytes: u64,
}

/// The MCP handler of the lab server.
#[derive(Debug, Clone)]
pub struct LabTools {
    name: Arc<str>,
    eras: Eras,
    tool_router: ToolRouter<Self>,
}

impl LabTools {
    /// A handler that introduces itself (`serverInfo.name`) as `name` and serves the
    /// protocol versions of `eras`.
    pub fn new(name: Arc<str>, eras: Eras) -> LabTools {
        LabTools { name, eras, tool_router: Self::tool_router() }
    }
}

#[tool_router]
impl LabTools {
    /// Sends the text back.
    #[tool(description = "Returns the given text unchanged")]
    async fn echo(&self, Parameters(EchoArgs { text }): Parameters<EchoArgs>) -> String {
        text
    }

    /// Waits, then says how long.
    #[tool(description = "Waits the given number of milliseconds, then answers")]
    async fn sleep(&self, Parameters(SleepArgs { ms }): Parameters<SleepArgs>) -> String {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        format!("slept {ms} ms")
    }

    /// A text of exactly `bytes` bytes, or a tool error (`isError: true`) beyond 16 MiB.
    #[tool(description = "Returns a text of exactly the given number of bytes (at most 16 MiB)")]
    async fn blob(
        &self,
        Parameters(BlobArgs { bytes }): Parameters<BlobArgs>,
    ) -> Result<String, String> {
        if bytes > BLOB_MAX_BYTES {
            return Err(format!("blob: {bytes} bytes is more than the limit of {BLOB_MAX_BYTES}"));
        }
        Ok("x".repeat(bytes as usize))
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for LabTools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(&*self.name, env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        Cow::Borrowed(self.eras.supported_versions())
    }
}

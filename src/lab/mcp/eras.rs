//! Which MCP eras the lab server speaks: the `initialize` handshake with sessions (2024-11-05
//! to 2025-11-25), the session-less 2026-07-28 (`server/discover`, per-request `_meta`), or
//! both, as the real servers of December 2026 do (see FACTS.md, "MCP 2026-07-28").

use rmcp::model::ProtocolVersion;

/// The one 2026 version.
const ONLY_2026: &[ProtocolVersion] = &[ProtocolVersion::V_2026_07_28];

/// The eras a lab server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Eras {
    /// Both, as Python `mcp` 2.3, fastmcp 4.2 and the TypeScript SDK v2 serve by default.
    #[default]
    Both,
    /// The handshake only, as `@modelcontextprotocol/server-everything` 2026.8.31 (TS SDK
    /// 1.32): a 2026 request gets 400 -32000 "Server not initialized".
    Only2025,
    /// 2026-07-28 only, as the TS SDK v2 with `legacy: 'reject'`: an `initialize` gets 400
    /// -32022, and there are no sessions.
    Only2026,
}

impl Eras {
    /// The protocol versions it serves, oldest first: what `server/discover` lists, what
    /// `initialize` may agree to and what a 2026 request's version is checked against.
    pub fn supported_versions(self) -> &'static [ProtocolVersion] {
        match self {
            Eras::Both => ProtocolVersion::KNOWN_VERSIONS,
            Eras::Only2025 => {
                ProtocolVersion::known_up_to(&ProtocolVersion::LATEST_WITH_INITIALIZE)
            }
            Eras::Only2026 => ONLY_2026,
        }
    }

    /// Whether it speaks the `initialize` handshake (with sessions).
    pub fn handshake(self) -> bool {
        self != Eras::Only2026
    }

    /// Whether it speaks 2026-07-28.
    pub fn modern(self) -> bool {
        self != Eras::Only2025
    }
}

#[cfg(test)]
mod tests {
    use super::Eras;

    fn versions(eras: Eras) -> Vec<&'static str> {
        eras.supported_versions().iter().map(|v| v.as_str()).collect()
    }

    #[test]
    fn both_lists_every_version_up_to_2026() {
        let both = versions(Eras::Both);
        assert_eq!(both.first(), Some(&"2024-11-05"));
        assert!(both.contains(&"2025-06-18"));
        assert_eq!(both.last(), Some(&"2026-07-28"));
    }

    #[test]
    fn each_single_era_lists_only_its_own_versions() {
        assert_eq!(versions(Eras::Only2026), ["2026-07-28"]);
        let old = versions(Eras::Only2025);
        assert_eq!(old.last(), Some(&"2025-11-25"));
        assert!(!old.contains(&"2026-07-28"));
    }
}

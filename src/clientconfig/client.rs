//! The MCP clients whose files mcp-connect writes: where each keeps its servers, per scope and
//! per OS, in which syntax, and whether it looks installed (its config directory exists).
//! Each client's entry shape is in [`super::shape`].

use std::path::{Path, PathBuf};

use super::syntax::Syntax;

/// An MCP client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Client {
    ClaudeCode,
    ClaudeDesktop,
    Cursor,
    VsCode,
    Windsurf,
    Zed,
    Codex,
    Gemini,
}

/// The directories a client's user file lives under: the home, and the OS's per-user
/// configuration directory (`$XDG_CONFIG_HOME` or `~/.config` on Linux, `~/Library/Application
/// Support` on macOS, `%APPDATA%` on Windows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Homes {
    pub home: PathBuf,
    pub config: PathBuf,
}

impl Homes {
    /// The user's own home with the configuration directory the OS names for it (honouring
    /// `$XDG_CONFIG_HOME`); any other home (the demo's, a test's) with the default under it.
    pub fn for_home(home: &Path) -> Homes {
        use etcetera::BaseStrategy;
        let own = etcetera::home_dir().ok();
        let native = etcetera::base_strategy::choose_native_strategy().ok();
        match native {
            Some(native) if own.as_deref() == Some(home) => {
                Homes { home: home.to_path_buf(), config: native.config_dir() }
            }
            _ => Homes::under(home),
        }
    }

    /// `home` with this OS's default configuration directory under it.
    pub fn under(home: &Path) -> Homes {
        let config = if cfg!(target_os = "macos") {
            home.join("Library").join("Application Support")
        } else if cfg!(windows) {
            home.join("AppData").join("Roaming")
        } else {
            home.join(".config")
        };
        Homes { home: home.to_path_buf(), config }
    }
}

impl Client {
    /// Every client, Claude Code first.
    pub const ALL: [Client; 8] = [
        Client::ClaudeCode,
        Client::ClaudeDesktop,
        Client::Cursor,
        Client::VsCode,
        Client::Windsurf,
        Client::Zed,
        Client::Codex,
        Client::Gemini,
    ];

    /// The name `--client` takes.
    pub fn id(self) -> &'static str {
        match self {
            Client::ClaudeCode => "claude-code",
            Client::ClaudeDesktop => "claude-desktop",
            Client::Cursor => "cursor",
            Client::VsCode => "vscode",
            Client::Windsurf => "windsurf",
            Client::Zed => "zed",
            Client::Codex => "codex",
            Client::Gemini => "gemini",
        }
    }

    /// The name people know it by.
    pub fn title(self) -> &'static str {
        match self {
            Client::ClaudeCode => "Claude Code",
            Client::ClaudeDesktop => "Claude Desktop",
            Client::Cursor => "Cursor",
            Client::VsCode => "VS Code",
            Client::Windsurf => "Windsurf",
            Client::Zed => "Zed",
            Client::Codex => "Codex CLI",
            Client::Gemini => "Gemini CLI",
        }
    }

    pub fn from_id(id: &str) -> Option<Client> {
        Client::ALL.into_iter().find(|c| c.id() == id)
    }

    /// How its file is read: VS Code and Zed take comments and trailing commas, Gemini CLI
    /// comments only (0.61.0 refuses a trailing comma), Codex TOML; the others strict JSON (a
    /// file they could not read is not ours to rewrite).
    pub fn syntax(self) -> Syntax {
        match self {
            Client::VsCode | Client::Zed => Syntax::Jsonc,
            Client::Gemini => Syntax::JsonComments,
            Client::Codex => Syntax::Toml,
            _ => Syntax::Json,
        }
    }

    /// Whether it has a per-project file (Claude Desktop and Windsurf have one file per user).
    pub fn has_project(self) -> bool {
        !matches!(self, Client::ClaudeDesktop | Client::Windsurf)
    }

    /// Whether it can only launch servers (stdio), so that every route is its stdio bridge.
    pub fn stdio_only(self) -> bool {
        self == Client::ClaudeDesktop
    }

    /// The key of the object (or TOML table) holding its servers.
    pub fn servers_key(self) -> &'static str {
        match self {
            Client::VsCode => "servers",
            Client::Zed => "context_servers",
            Client::Codex => "mcp_servers",
            _ => "mcpServers",
        }
    }

    /// Its per-user configuration directory: when it exists, the client is taken as installed.
    pub fn dir(self, homes: &Homes) -> PathBuf {
        let (home, config) = (&homes.home, &homes.config);
        match self {
            Client::ClaudeCode => home.join(".claude"),
            Client::ClaudeDesktop => config.join("Claude"),
            Client::Cursor => home.join(".cursor"),
            Client::VsCode => config.join("Code").join("User"),
            Client::Windsurf => home.join(".codeium").join("windsurf"),
            // Zed keeps ~/.config/zed on macOS too.
            Client::Zed if cfg!(target_os = "macos") => home.join(".config").join("zed"),
            Client::Zed if cfg!(windows) => config.join("Zed"),
            Client::Zed => config.join("zed"),
            Client::Codex => home.join(".codex"),
            Client::Gemini => home.join(".gemini"),
        }
    }

    /// Whether it looks installed for this user.
    pub fn installed(self, homes: &Homes) -> bool {
        self.dir(homes).is_dir()
            || (self == Client::ClaudeCode && homes.home.join(".claude.json").is_file())
    }

    /// Its user-wide file.
    pub fn user_file(self, homes: &Homes) -> PathBuf {
        let dir = self.dir(homes);
        match self {
            Client::ClaudeCode => homes.home.join(".claude.json"),
            Client::ClaudeDesktop => dir.join("claude_desktop_config.json"),
            Client::Cursor | Client::VsCode => dir.join("mcp.json"),
            Client::Windsurf => dir.join("mcp_config.json"),
            Client::Zed | Client::Gemini => dir.join("settings.json"),
            Client::Codex => dir.join("config.toml"),
        }
    }

    /// Its file in project `dir`; `None` when it has no project file.
    pub fn project_file(self, dir: &Path) -> Option<PathBuf> {
        Some(match self {
            Client::ClaudeCode => dir.join(".mcp.json"),
            Client::ClaudeDesktop | Client::Windsurf => return None,
            Client::Cursor => dir.join(".cursor").join("mcp.json"),
            Client::VsCode => dir.join(".vscode").join("mcp.json"),
            Client::Zed => dir.join(".zed").join("settings.json"),
            Client::Codex => dir.join(".codex").join("config.toml"),
            Client::Gemini => dir.join(".gemini").join("settings.json"),
        })
    }

    /// What the user must know for `client` to use an entry just written in `scope_name`.
    pub fn note(self, scope_name: &str) -> Option<&'static str> {
        match (self, scope_name) {
            (Client::ClaudeCode, "project") => Some(
                "Claude Code asks before it runs a project's servers (or set \
                 enableAllProjectMcpServers in ~/.claude/settings.json)",
            ),
            (Client::Gemini, "project") => Some(
                "Gemini CLI runs a project's servers only in a trusted folder (/permissions, or \
                 ~/.gemini/trustedFolders.json)",
            ),
            (Client::Codex, "project") => Some(
                "Codex CLI reads a project's .codex/config.toml only once it trusts the project",
            ),
            (Client::ClaudeDesktop, _) => {
                Some("Claude Desktop reads its file when it starts: restart it")
            }
            _ => None,
        }
    }

    /// The command that lists its servers, where it has one (Claude Code's and Gemini CLI's
    /// connect to each; Codex's does not).
    pub fn list_command(self) -> Option<&'static str> {
        match self {
            Client::ClaudeCode => Some("claude mcp list"),
            Client::Gemini => Some("gemini mcp list"),
            Client::Codex => Some("codex mcp list"),
            _ => None,
        }
    }
}

impl std::fmt::Display for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.title())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_client_has_an_id_that_names_it_back() {
        for client in Client::ALL {
            assert_eq!(Client::from_id(client.id()), Some(client));
        }
        assert_eq!(Client::from_id("emacs"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn linux_files_are_where_each_client_reads_them() {
        let homes = Homes::under(Path::new("/h"));
        let user = |c: Client| c.user_file(&homes).display().to_string();
        assert_eq!(user(Client::ClaudeCode), "/h/.claude.json");
        assert_eq!(user(Client::ClaudeDesktop), "/h/.config/Claude/claude_desktop_config.json");
        assert_eq!(user(Client::Cursor), "/h/.cursor/mcp.json");
        assert_eq!(user(Client::VsCode), "/h/.config/Code/User/mcp.json");
        assert_eq!(user(Client::Windsurf), "/h/.codeium/windsurf/mcp_config.json");
        assert_eq!(user(Client::Zed), "/h/.config/zed/settings.json");
        assert_eq!(user(Client::Codex), "/h/.codex/config.toml");
        assert_eq!(user(Client::Gemini), "/h/.gemini/settings.json");
        let project = |c: Client| c.project_file(Path::new("/p")).map(|p| p.display().to_string());
        assert_eq!(project(Client::VsCode).as_deref(), Some("/p/.vscode/mcp.json"));
        assert_eq!(project(Client::Zed).as_deref(), Some("/p/.zed/settings.json"));
        assert_eq!(project(Client::Windsurf), None);
    }
}

//! Where an entry goes: Claude Code's three scopes, or another client's project or user file;
//! which file that is, and where in it the servers live.

use std::path::{Path, PathBuf};

use super::client::{Client, Homes};

/// Where an entry goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// `DIR/.mcp.json` → `mcpServers`: shared with the project (checked in).
    Project { dir: PathBuf },
    /// `~/.claude.json` → `projects["DIR"].mcpServers`: this project, this user only.
    Local { dir: PathBuf },
    /// `~/.claude.json` → `mcpServers`: every project of this user.
    User,
    /// Another client's file: its file in project `dir`, or with `None` its user file.
    Client { client: Client, dir: Option<PathBuf> },
}

impl Scope {
    /// `client`'s scope `name` (project, local or user); `None` when it has no such scope.
    pub fn of(client: Client, name: &str, dir: &Path) -> Option<Scope> {
        let dir = dir.to_path_buf();
        Some(match (client, name) {
            (Client::ClaudeCode, "project") => Scope::Project { dir },
            (Client::ClaudeCode, "local") => Scope::Local { dir },
            (Client::ClaudeCode, "user") => Scope::User,
            (client, "project") if client.has_project() => Scope::Client { client, dir: Some(dir) },
            (client, "user") => Scope::Client { client, dir: None },
            _ => return None,
        })
    }

    /// The scopes `client` has, narrowest first.
    pub fn all(client: Client, dir: &Path) -> Vec<Scope> {
        ["project", "local", "user"].into_iter().filter_map(|n| Scope::of(client, n, dir)).collect()
    }

    pub fn client(&self) -> Client {
        match self {
            Scope::Client { client, .. } => *client,
            _ => Client::ClaudeCode,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Scope::Project { .. } | Scope::Client { dir: Some(_), .. } => "project",
            Scope::Local { .. } => "local",
            Scope::User | Scope::Client { dir: None, .. } => "user",
        }
    }

    /// The file the client reads this scope from, for the user whose home is `home` (with the
    /// OS's default configuration directory under it).
    pub fn file(&self, home: &Path) -> PathBuf {
        self.file_in(&Homes::under(home))
    }

    pub fn file_in(&self, homes: &Homes) -> PathBuf {
        match self {
            Scope::Project { dir } => dir.join(".mcp.json"),
            Scope::Local { .. } | Scope::User => homes.home.join(".claude.json"),
            Scope::Client { client, dir: Some(dir) } => {
                client.project_file(dir).unwrap_or_else(|| client.user_file(homes))
            }
            Scope::Client { client, dir: None } => client.user_file(homes),
        }
    }

    /// The keys leading to the servers' object (or table), from the document's root.
    pub fn key_path(&self) -> Vec<String> {
        match self {
            Scope::Project { .. } | Scope::User => vec!["mcpServers".to_owned()],
            Scope::Local { dir } => vec![
                "projects".to_owned(),
                dir.to_string_lossy().into_owned(),
                "mcpServers".to_owned(),
            ],
            Scope::Client { client, .. } => vec![client.servers_key().to_owned()],
        }
    }

    /// `command` as run from the project's directory, as `claude mcp` takes its project from
    /// the current one.
    pub fn in_project(&self, command: &str) -> String {
        match self {
            Scope::Project { dir }
            | Scope::Local { dir }
            | Scope::Client { dir: Some(dir), .. } => {
                format!("cd {} && {command}", shell_words::quote(&dir.to_string_lossy()))
            }
            Scope::User | Scope::Client { dir: None, .. } => command.to_owned(),
        }
    }

    /// Whether the file is one of the user's own (`~/.claude.json`, `~/.codex/config.toml`…),
    /// which hold far more than MCP servers, credentials among them: a new one is private.
    pub fn is_user_file(&self) -> bool {
        !matches!(self, Scope::Project { .. } | Scope::Client { dir: Some(_), .. })
    }
}

//! Claude Code's configuration scopes: which file, and where in it the servers live.

use std::path::{Path, PathBuf};

/// Where an entry goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// `DIR/.mcp.json` → `mcpServers`: shared with the project (checked in).
    Project { dir: PathBuf },
    /// `~/.claude.json` → `projects["DIR"].mcpServers`: this project, this user only.
    Local { dir: PathBuf },
    /// `~/.claude.json` → `mcpServers`: every project of this user.
    User,
}

impl Scope {
    pub fn name(&self) -> &'static str {
        match self {
            Scope::Project { .. } => "project",
            Scope::Local { .. } => "local",
            Scope::User => "user",
        }
    }

    /// The file Claude Code reads this scope from.
    pub fn file(&self, home: &Path) -> PathBuf {
        match self {
            Scope::Project { dir } => dir.join(".mcp.json"),
            Scope::Local { .. } | Scope::User => home.join(".claude.json"),
        }
    }

    /// The keys leading to the `mcpServers` object, from the document's root.
    pub fn key_path(&self) -> Vec<String> {
        match self {
            Scope::Project { .. } | Scope::User => vec!["mcpServers".to_owned()],
            Scope::Local { dir } => vec![
                "projects".to_owned(),
                dir.to_string_lossy().into_owned(),
                "mcpServers".to_owned(),
            ],
        }
    }

    /// `command` as run from the project's directory, as `claude mcp` takes its project from
    /// the current one.
    pub fn in_project(&self, command: &str) -> String {
        match self {
            Scope::Project { dir } | Scope::Local { dir } => {
                format!("cd {} && {command}", shell_words::quote(&dir.to_string_lossy()))
            }
            Scope::User => command.to_owned(),
        }
    }

    /// Whether the file is the user's own `~/.claude.json`, which holds far more than MCP
    /// servers (and credentials): it is kept private.
    pub fn is_user_file(&self) -> bool {
        !matches!(self, Scope::Project { .. })
    }
}

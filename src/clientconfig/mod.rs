//! Claude Code's MCP configuration, written so that it connects and loses nothing.
//!
//! - [`Entry`]: a server entry in the client's own shape, from a profile.
//! - [`Scope`]: project (`.mcp.json`), local and user (`~/.claude.json`).
//! - [`Writer`]: previews a change as a diff, or commits it: under a lock, with a backup, by
//!   atomic replace, keeping the mode; only entries mcp-connect wrote are replaced unless
//!   forced; a file that is not strict JSON is refused untouched.

mod document;
pub mod entry;
mod ledger;
pub mod lint;
pub mod scope;
mod store;

use std::io;
use std::path::{Path, PathBuf};

use serde_json::Value;

pub use document::DocError;
pub use entry::{Entry, Launcher};
pub use scope::Scope;
use store::Store;

/// What to do to one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Put(Entry),
    Remove,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub scope: Scope,
    pub name: String,
    pub op: Op,
    /// Replace or remove an entry mcp-connect did not write.
    pub force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Added,
    Replaced,
    /// Already exactly so: nothing written.
    Unchanged,
    Removed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Added => "added",
            Outcome::Replaced => "replaced",
            Outcome::Unchanged => "unchanged",
            Outcome::Removed => "removed",
        }
    }
}

/// A change, previewed or made.
#[derive(Debug, Clone)]
pub struct Change {
    pub file: PathBuf,
    pub outcome: Outcome,
    pub before: String,
    pub after: String,
    /// Where the previous file was copied (commits that wrote over a file).
    pub backup: Option<PathBuf>,
}

impl Change {
    /// The change as a unified diff (empty when unchanged).
    pub fn diff(&self) -> String {
        let name = self.file.display().to_string();
        similar::TextDiff::from_lines(&self.before, &self.after)
            .unified_diff()
            .context_radius(3)
            .header(&name, &name)
            .to_string()
    }
}

/// An entry as found in a scope.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub name: String,
    pub entry: Value,
    /// Written by mcp-connect and unchanged since.
    pub ours: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}:{source}", path.display())]
    Malformed { path: PathBuf, source: DocError },
    #[error("{} already has an entry {name:?} that mcp-connect did not write{}", path.display(), problem.as_ref().map(|p| format!("; {p}")).unwrap_or_default())]
    NotOurs { path: PathBuf, name: String, problem: Option<String> },
    #[error("{} has no entry {name:?} in the {scope} scope", path.display())]
    NotFound { path: PathBuf, name: String, scope: &'static str },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
}

impl From<&ConfigError> for crate::trouble::Trouble {
    fn from(error: &ConfigError) -> crate::trouble::Trouble {
        crate::trouble::Trouble::new(error.to_string(), error.fix())
    }
}

impl ConfigError {
    pub fn fix(&self) -> String {
        match self {
            ConfigError::Malformed { .. } => "fix the file at that position (Claude Code cannot \
                read it either); mcp-connect left it untouched"
                .to_owned(),
            ConfigError::NotOurs { problem: Some(_), .. } => {
                "pass --force to replace it (the old file is backed up)".to_owned()
            }
            ConfigError::NotOurs { .. } => "choose another name with --name, or pass --force to \
                replace it (the old file is backed up)"
                .to_owned(),
            ConfigError::NotFound { .. } => {
                "`mcp-connect config show --scope …` lists the entries there".to_owned()
            }
            ConfigError::Io { .. } => {
                "check that the file and its directory are writable".to_owned()
            }
        }
    }
}

/// Reads and writes client configs for the user whose home is `home`.
#[derive(Debug, Clone)]
pub struct Writer {
    home: PathBuf,
    store: Store,
}

impl Writer {
    /// `state`: mcp-connect's state directory (backups, locks, what it wrote).
    pub fn new(home: &Path, state: &Path) -> Writer {
        Writer { home: home.to_path_buf(), store: Store::new(state) }
    }

    pub fn file(&self, scope: &Scope) -> PathBuf {
        store::resolve(&scope.file(&self.home))
    }

    /// What `edit` would change, without changing anything.
    pub fn preview(&self, edit: &Edit) -> Result<Change, ConfigError> {
        let file = self.file(&edit.scope);
        let found =
            store::read(&file).map_err(|source| ConfigError::Io { path: file.clone(), source })?;
        self.compute(edit, &file, found.as_ref().map(|f| f.text.as_str()))
    }

    /// Makes `edit`: reads, changes and replaces the file under the lock.
    pub fn commit(&self, edit: &Edit) -> Result<Change, ConfigError> {
        let file = self.file(&edit.scope);
        let io = |source| ConfigError::Io { path: file.clone(), source };
        let _lock = self.store.lock(&file).map_err(io)?;
        let found = store::read(&file).map_err(io)?;
        let mut change = self.compute(edit, &file, found.as_ref().map(|f| f.text.as_str()))?;
        if change.outcome == Outcome::Unchanged {
            return Ok(change);
        }
        if let Some(found) = &found {
            change.backup = Some(self.store.backup(&file, &found.text).map_err(io)?);
        }
        let default_mode = if edit.scope.is_user_file() { 0o600 } else { 0o644 };
        let mut mode = found.as_ref().map_or(default_mode, |f| f.mode);
        if let Op::Put(entry) = &edit.op
            && entry.holds_secret()
        {
            mode &= 0o700;
        }
        store::write_atomic(&file, &change.after, mode).map_err(io)?;
        let servers = edit.scope.key_path();
        let written = match &edit.op {
            Op::Put(entry) => Some(entry.to_json()),
            Op::Remove => None,
        };
        ledger::record(&self.store, &file, &servers, &edit.name, written.as_ref()).map_err(io)?;
        Ok(change)
    }

    /// The entries of `scope`, in file order, and which are mcp-connect's.
    pub fn list(&self, scope: &Scope) -> Result<Vec<Listed>, ConfigError> {
        let file = self.file(scope);
        let io = |source| ConfigError::Io { path: file.clone(), source };
        let Some(found) = store::read(&file).map_err(io)? else { return Ok(Vec::new()) };
        let malformed = |source| ConfigError::Malformed { path: file.clone(), source };
        let doc = document::Document::parse(&found.text).map_err(malformed)?;
        let servers = scope.key_path();
        let mut listed = Vec::new();
        for (name, entry) in doc.entries(&servers).map_err(malformed)? {
            let ours = ledger::is_ours(&self.store, &file, &servers, &name, &entry).map_err(io)?;
            listed.push(Listed { name, entry, ours });
        }
        Ok(listed)
    }

    fn compute(&self, edit: &Edit, file: &Path, text: Option<&str>) -> Result<Change, ConfigError> {
        let malformed = |source| ConfigError::Malformed { path: file.to_path_buf(), source };
        let before = text.unwrap_or_default().to_owned();
        let doc = document::Document::parse(&before).map_err(malformed)?;
        let servers = edit.scope.key_path();
        let existing = doc.get(&servers, &edit.name).map_err(malformed)?;
        let owned = |entry: &Value| -> Result<bool, ConfigError> {
            let ours = ledger::is_ours(&self.store, file, &servers, &edit.name, entry)
                .map_err(|source| ConfigError::Io { path: file.to_path_buf(), source })?;
            Ok(ours || edit.force)
        };
        let not_ours = || ConfigError::NotOurs {
            path: file.to_path_buf(),
            name: edit.name.clone(),
            problem: existing.as_ref().and_then(lint::problem),
        };
        let outcome = match (&edit.op, &existing) {
            (Op::Put(entry), Some(old)) if *old == entry.to_json() => Outcome::Unchanged,
            (Op::Put(_), Some(old)) if !owned(old)? => return Err(not_ours()),
            (Op::Put(entry), existing) => {
                doc.put(&servers, &edit.name, &entry.to_json()).map_err(malformed)?;
                if existing.is_some() { Outcome::Replaced } else { Outcome::Added }
            }
            (Op::Remove, None) => {
                let scope = edit.scope.name();
                return Err(ConfigError::NotFound {
                    path: file.to_path_buf(),
                    name: edit.name.clone(),
                    scope,
                });
            }
            (Op::Remove, Some(old)) if !owned(old)? => return Err(not_ours()),
            (Op::Remove, Some(_)) => {
                doc.remove(&servers, &edit.name).map_err(malformed)?;
                Outcome::Removed
            }
        };
        let after = if outcome == Outcome::Unchanged {
            before.clone()
        } else {
            finish(&before, doc.text())
        };
        Ok(Change { file: file.to_path_buf(), outcome, before, after, backup: None })
    }
}

/// A file made from nothing ends with a newline, as editors and `JSON.stringify` users expect.
fn finish(before: &str, after: String) -> String {
    if before.trim().is_empty() && !after.ends_with('\n') { after + "\n" } else { after }
}

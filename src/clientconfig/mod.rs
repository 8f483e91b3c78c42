//! MCP clients' configuration (Claude Code's, and every other client's in [`Client`]),
//! written so that it connects and loses nothing.
//!
//! - [`Entry`]: a server entry from a profile, in Claude Code's shape; [`shape`] gives every
//!   other client's (or the stdio bridge, where a client cannot say what a route needs).
//! - [`Scope`]: Claude Code's project (`.mcp.json`), local and user (`~/.claude.json`), or
//!   another client's project or user file ([`Client`] knows where, per OS).
//! - [`Syntax`]: strict JSON, JSONC (VS Code, Zed: comments and trailing commas kept) or TOML
//!   (Codex, through toml_edit), each edited in place.
//! - [`Writer`]: previews a change as a diff, or commits it: under a lock, with a backup, by
//!   atomic replace, keeping the mode; only entries mcp-connect wrote are replaced unless
//!   forced; a file that is not strict JSON, that has a key we go through twice, or that is
//!   read-only (unless forced) is refused untouched. Claude Code rewrites `~/.claude.json` on
//!   its own: a version of it that lands while we edit is never written over, the edit is redone
//!   on it (see [`replace`]).

pub mod client;
mod document;
pub mod entry;
mod ledger;
pub mod lint;
mod replace;
pub mod scope;
pub mod shape;
mod store;
pub mod syntax;
mod toml_doc;

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

pub use client::{Client, Homes};
pub use document::{DocError, Position};
pub use entry::{Entry, Launcher};
use replace::{Fate, Install, Snapshot};
pub use scope::Scope;
use store::Store;
use syntax::Doc;
pub use syntax::Syntax;

/// Attempts at an edit while other programs keep replacing the file, before giving up, and
/// for how long at the least (a loaded machine can make a few attempts in a row too slow for a
/// program that writes every few milliseconds).
pub const TRIES: usize = 8;
pub const PATIENCE: Duration = Duration::from_secs(3);
/// How long a commit watches the file after writing it, for a writer (Claude Code) that read
/// it before and writes it back without our change.
pub const SETTLE: Duration = Duration::from_millis(250);

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
    /// How many times the edit was redone because another program replaced the file meanwhile.
    pub redone: usize,
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
    #[error("{}:{}", path.display(), in_client(source, *client))]
    Malformed { path: PathBuf, source: DocError, client: Client },
    /// An entry the client cannot read as meant (a token helper for any client but Claude
    /// Code, a remote URL for Claude Desktop): [`Entry::for_client`] gives one it can.
    #[error("{client} cannot express this entry in {}: {entry}", path.display())]
    Inexpressible { path: PathBuf, client: Client, entry: String },
    #[error("{} already has an entry {name:?} that mcp-connect did not write{}", path.display(), problem.as_ref().map(|p| format!("; {p}")).unwrap_or_default())]
    NotOurs { path: PathBuf, name: String, problem: Option<String> },
    #[error("{} has no entry {name:?} in the {scope} scope", path.display())]
    NotFound { path: PathBuf, name: String, scope: &'static str },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{} is read-only (mode {mode:04o}); mcp-connect left it untouched", path.display())]
    ReadOnly { path: PathBuf, mode: u32 },
    #[error(
        "{} was replaced by another program {tries} times in a row (in {took:.1?}) while \
         mcp-connect edited it (Claude Code rewrites it often); nothing of it was written over, \
         and the edit is not made",
        path.display()
    )]
    Busy { path: PathBuf, tries: usize, took: Duration },
}

/// `source` as said of `client`'s file: a key twice is read by that client (the last one).
fn in_client(source: &DocError, client: Client) -> String {
    let text = source.to_string();
    match source {
        DocError::DuplicateKey { .. } if client != Client::ClaudeCode => {
            text.replace("Claude Code (JSON.parse)", client.title())
        }
        _ => text,
    }
}

impl From<&ConfigError> for crate::trouble::Trouble {
    fn from(error: &ConfigError) -> crate::trouble::Trouble {
        crate::trouble::Trouble::new(error.to_string(), error.fix())
    }
}

impl ConfigError {
    pub fn fix(&self) -> String {
        match self {
            ConfigError::Malformed { source: DocError::DuplicateKey { .. }, client, .. } => {
                format!("keep one of them ({client} uses the last one) and run this again")
            }
            ConfigError::Malformed { client, .. } => format!(
                "fix the file at that position ({client} cannot read it either); mcp-connect \
                 left it untouched"
            ),
            ConfigError::Inexpressible { .. } => "write the route's entry with `mcp-connect \
                config write PROFILE --client …`, which uses the stdio bridge where the client \
                cannot say what the route needs"
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
            ConfigError::ReadOnly { path, .. } => format!(
                "make it writable with `chmod u+w {}` and run this again, or pass --force to \
                 write it anyway (its mode is kept)",
                shell_words::quote(&path.to_string_lossy())
            ),
            ConfigError::Busy { path, .. } => {
                format!("close the program that keeps rewriting {} or retry", path.display())
            }
        }
    }
}

/// Reads and writes client configs for the user whose home is `home`.
#[derive(Debug, Clone)]
pub struct Writer {
    homes: Homes,
    store: Store,
    settle: Duration,
}

impl Writer {
    /// The home whose `~/.claude.json` the user and local scopes write.
    pub fn home(&self) -> &Path {
        &self.homes.home
    }

    /// The home, and the configuration directory other clients' user files are under.
    pub fn homes(&self) -> &Homes {
        &self.homes
    }

    /// `state`: mcp-connect's state directory (backups, locks, what it wrote). Other clients'
    /// user files are under the configuration directory of [`Homes::for_home`].
    pub fn new(home: &Path, state: &Path) -> Writer {
        Writer { homes: Homes::for_home(home), store: Store::new(state), settle: SETTLE }
    }

    /// Takes other clients' user files from under `config` (`$XDG_CONFIG_HOME`, …).
    pub fn with_config_dir(self, config: &Path) -> Writer {
        let homes = Homes { config: config.to_path_buf(), ..self.homes };
        Writer { homes, ..self }
    }

    /// Watches the file for `settle` after each write instead of [`SETTLE`] (zero: for callers
    /// that know no other program writes the file).
    pub fn with_settle(self, settle: Duration) -> Writer {
        Writer { settle, ..self }
    }

    pub fn file(&self, scope: &Scope) -> PathBuf {
        store::resolve(&scope.file_in(&self.homes))
    }

    /// What `edit` would change, without changing anything.
    pub fn preview(&self, edit: &Edit) -> Result<Change, ConfigError> {
        let file = self.file(&edit.scope);
        let found =
            store::read(&file).map_err(|source| ConfigError::Io { path: file.clone(), source })?;
        self.compute(edit, &file, found.as_ref())
    }

    /// Makes `edit`: reads, changes and replaces the file under the lock. When another program
    /// replaced the file in the meantime (before ours went in, or after, from what it had read
    /// before), the edit is redone on its version: [`TRIES`] times, and for [`PATIENCE`] at
    /// the least, before giving up.
    pub fn commit(&self, edit: &Edit) -> Result<Change, ConfigError> {
        let file = self.file(&edit.scope);
        let io = |source| ConfigError::Io { path: file.clone(), source };
        let _lock = self.store.lock(&file).map_err(io)?;
        let mut backup = None;
        let (mut redone, started) = (0, Instant::now());
        while redone < TRIES || started.elapsed() < PATIENCE {
            let read = Snapshot::take(&file).map_err(io)?;
            let mut change = self.compute(edit, &file, read.found.as_ref())?;
            change.redone = redone;
            if change.outcome == Outcome::Unchanged {
                return Ok(change);
            }
            // The file as first found: what the user would go back to. Writing it takes time,
            // in which the file may change: the edit starts again from a fresh read.
            if backup.is_none()
                && let Some(found) = &read.found
            {
                let extension = edit.scope.client().syntax().extension();
                backup = Some(self.store.backup(&file, &found.text, extension).map_err(io)?);
                continue;
            }
            change.backup.clone_from(&backup);
            let staged = replace::stage(&file, &change.after, mode(edit, read.found.as_ref()))
                .map_err(io)?;
            let ours = staged.version().clone();
            if replace::install(staged, &file, &read).map_err(io)? == Install::Changed {
                redone += 1;
                continue;
            }
            let keeps = |text: &str| keeps(edit, text);
            if replace::watch(&file, &ours, self.settle, keeps).map_err(io)? == Fate::Lost {
                redone += 1;
                continue;
            }
            let servers = edit.scope.key_path();
            let written = match &edit.op {
                Op::Put(entry) => render(&edit.scope, entry),
                Op::Remove => None,
            };
            ledger::record(&self.store, &file, &servers, &edit.name, written.as_ref())
                .map_err(io)?;
            return Ok(change);
        }
        Err(ConfigError::Busy { path: file, tries: redone, took: started.elapsed() })
    }

    /// The entries of `scope`, in file order, and which are mcp-connect's.
    pub fn list(&self, scope: &Scope) -> Result<Vec<Listed>, ConfigError> {
        let file = self.file(scope);
        let io = |source| ConfigError::Io { path: file.clone(), source };
        let Some(found) = store::read(&file).map_err(io)? else { return Ok(Vec::new()) };
        let client = scope.client();
        let malformed = |source| ConfigError::Malformed { path: file.clone(), source, client };
        let doc = Doc::parse(&found.text, client.syntax()).map_err(malformed)?;
        let servers = scope.key_path();
        let mut listed = Vec::new();
        for (name, entry) in doc.entries(&servers).map_err(malformed)? {
            let ours = ledger::is_ours(&self.store, &file, &servers, &name, &entry).map_err(io)?;
            listed.push(Listed { name, entry, ours });
        }
        Ok(listed)
    }

    fn compute(
        &self,
        edit: &Edit,
        file: &Path,
        found: Option<&store::Found>,
    ) -> Result<Change, ConfigError> {
        let client = edit.scope.client();
        let malformed =
            |source| ConfigError::Malformed { path: file.to_path_buf(), source, client };
        let before = found.map(|f| f.text.clone()).unwrap_or_default();
        let doc = Doc::parse(&before, client.syntax()).map_err(malformed)?;
        let wanted = match &edit.op {
            Op::Put(entry) => {
                Some(render(&edit.scope, entry).ok_or_else(|| ConfigError::Inexpressible {
                    path: file.to_path_buf(),
                    client,
                    entry: entry.to_json().to_string(),
                })?)
            }
            Op::Remove => None,
        };
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
        let outcome = match (&wanted, &existing) {
            (Some(entry), Some(old)) if old == entry => Outcome::Unchanged,
            (Some(_), Some(old)) if !owned(old)? => return Err(not_ours()),
            (Some(entry), existing) => {
                doc.put(&servers, &edit.name, entry).map_err(malformed)?;
                if existing.is_some() { Outcome::Replaced } else { Outcome::Added }
            }
            (None, None) => {
                let scope = edit.scope.name();
                return Err(ConfigError::NotFound {
                    path: file.to_path_buf(),
                    name: edit.name.clone(),
                    scope,
                });
            }
            (None, Some(old)) if !owned(old)? => return Err(not_ours()),
            (None, Some(_)) => {
                doc.remove(&servers, &edit.name).map_err(malformed)?;
                Outcome::Removed
            }
        };
        let after = if outcome == Outcome::Unchanged {
            before.clone()
        } else {
            finish(&before, doc.text())
        };
        // Made read-only by someone, on purpose: not replaced unless forced.
        if let Some(found) = found
            && outcome != Outcome::Unchanged
            && found.mode & 0o200 == 0
            && !edit.force
        {
            return Err(ConfigError::ReadOnly { path: file.to_path_buf(), mode: found.mode });
        }
        Ok(Change { file: file.to_path_buf(), outcome, before, after, backup: None, redone: 0 })
    }
}

/// The new file's mode: the old one's (a new `~/.claude.json` is private), and never readable
/// by others when the entry holds a credential.
fn mode(edit: &Edit, found: Option<&store::Found>) -> u32 {
    let default_mode = if edit.scope.is_user_file() { 0o600 } else { 0o644 };
    let mut mode = found.map_or(default_mode, |f| f.mode);
    if let Op::Put(entry) = &edit.op
        && entry.holds_secret()
    {
        mode &= 0o700;
    }
    mode
}

/// `entry` in the shape of the client whose file `scope` is; `None` when it cannot express it.
fn render(scope: &Scope, entry: &Entry) -> Option<Value> {
    shape::render(scope.client(), entry)
}

/// Whether `text`, a version of the file, has `edit` made.
fn keeps(edit: &Edit, text: &str) -> bool {
    let Ok(doc) = Doc::parse(text, edit.scope.client().syntax()) else { return false };
    match (doc.get(&edit.scope.key_path(), &edit.name), &edit.op) {
        (Ok(found), Op::Put(entry)) => found.is_some() && found == render(&edit.scope, entry),
        (Ok(found), Op::Remove) => found.is_none(),
        (Err(_), _) => false,
    }
}

/// A file made from nothing ends with a newline, as editors and `JSON.stringify` users expect.
fn finish(before: &str, after: String) -> String {
    if before.trim().is_empty() && !after.ends_with('\n') { after + "\n" } else { after }
}

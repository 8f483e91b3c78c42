//! What mcp-connect wrote where: a hash per entry, so that an entry of the same name it did
//! not write (or that the user changed since) is never replaced without `--force`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::store::{self, Store};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Record {
    file: PathBuf,
    servers: Vec<String>,
    name: String,
    sha256: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Ledger {
    written: Vec<Record>,
}

/// The SHA-256 of an entry's compact JSON with its keys sorted: reordering keys does not make
/// an entry someone else's.
pub fn hash(entry: &Value) -> String {
    let text = sorted(entry).to_string();
    let digest = ::aws_lc_rs::digest::digest(&::aws_lc_rs::digest::SHA256, text.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut pairs: Vec<(&String, &Value)> = map.iter().collect();
            pairs.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(pairs.into_iter().map(|(k, v)| (k.clone(), sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

fn path(store: &Store) -> PathBuf {
    store.dir.join("written.json")
}

fn load(store: &Store) -> io::Result<Ledger> {
    match store::read(&path(store))? {
        // A damaged ledger only forgets ownership: refusing later is the safe side.
        Some(found) => Ok(serde_json::from_str(&found.text).unwrap_or_default()),
        None => Ok(Ledger::default()),
    }
}

/// Whether `entry`, found at `file` / `servers` / `name`, is exactly what mcp-connect wrote.
pub fn is_ours(
    store: &Store,
    file: &Path,
    servers: &[String],
    name: &str,
    entry: &Value,
) -> io::Result<bool> {
    let sha = hash(entry);
    Ok(load(store)?
        .written
        .iter()
        .any(|r| r.file == file && r.servers == servers && r.name == name && r.sha256 == sha))
}

/// Records that `entry` was written (`Some`) or removed (`None`).
pub fn record(
    store: &Store,
    file: &Path,
    servers: &[String],
    name: &str,
    entry: Option<&Value>,
) -> io::Result<()> {
    let _guard = store.lock(Path::new("ledger"))?;
    let mut ledger = load(store)?;
    ledger.written.retain(|r| !(r.file == file && r.servers == servers && r.name == name));
    if let Some(entry) = entry {
        ledger.written.push(Record {
            file: file.to_path_buf(),
            servers: servers.to_vec(),
            name: name.to_owned(),
            sha256: hash(entry),
        });
    }
    fs::create_dir_all(&store.dir)?;
    let text = serde_json::to_string_pretty(&ledger).map_err(io::Error::other)?;
    store::write_atomic(&path(store), &format!("{text}\n"), 0o600)
}

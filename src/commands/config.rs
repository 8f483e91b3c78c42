//! `mcp-connect config write | show | remove`: Claude Code entries, with the equivalent
//! `claude mcp …` command for those who prefer it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::{ConfigCommand, ScopeArg, ScopeArgs};
use crate::clientconfig::{Change, Edit, Entry, Launcher, Op, Outcome, Scope, Writer, lint};
use crate::profile::{Catalog, Profile};

use super::{fail, report};

pub fn run(
    command: ConfigCommand,
    catalog: &Catalog,
    state: &Path,
    launcher: &Launcher,
) -> ExitCode {
    let Some(home) = etcetera::home_dir().ok() else {
        return report(&"cannot find the home directory", "set HOME");
    };
    let writer = Writer::new(&home, state);
    match command {
        ConfigCommand::Write { profile, target, name, local_port, dry_run, force } => {
            let profile = match super::find_profile(catalog, &profile) {
                Ok(profile) => profile,
                Err(code) => return code,
            };
            let entry = match Entry::for_profile(profile, local_port, launcher) {
                Ok(entry) => entry,
                Err(why) => return fail(&why),
            };
            let scope = match scope(&target.scope, target.dir.as_deref()) {
                Ok(scope) => scope,
                Err(code) => return code,
            };
            let name = name.unwrap_or_else(|| profile.client.server_name.to_string());
            let command = entry.claude_add_command(&name, &scope);
            let edit = Edit { scope, name, op: Op::Put(entry), force };
            apply(&writer, &edit, dry_run, &command)
        }
        ConfigCommand::Remove { name, target: ScopeArgs { scope: arg, dir }, dry_run, force } => {
            let scope = match scope(&arg, dir.as_deref()) {
                Ok(scope) => scope,
                Err(code) => return code,
            };
            let command = scope.in_project(&shell_words::join([
                "claude",
                "mcp",
                "remove",
                "--scope",
                scope.name(),
                &name,
            ]));
            let edit = Edit { scope, name, op: Op::Remove, force };
            apply(&writer, &edit, dry_run, &command)
        }
        ConfigCommand::Show { scope: arg, dir } => {
            let args = match arg {
                Some(arg) => vec![arg],
                None => vec![ScopeArg::Project, ScopeArg::Local, ScopeArg::User],
            };
            let (mut first, mut code) = (None, ExitCode::SUCCESS);
            for arg in args {
                let scope = match scope(&arg, dir.as_deref()) {
                    Ok(scope) => scope,
                    Err(code) => return code,
                };
                // One unreadable file does not hide the other scopes.
                if let Err(failed) = show(&writer, &scope, catalog, launcher) {
                    code = failed;
                }
                first.get_or_insert(scope);
            }
            if let Some(scope) = first {
                println!("equivalent: {}", scope.in_project("claude mcp list"));
            }
            code
        }
    }
}

/// The scope, with its directory made absolute and real (Claude Code keys projects by it).
fn scope(arg: &ScopeArg, dir: Option<&Path>) -> Result<Scope, ExitCode> {
    let dir = dir.map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    let dir = std::fs::canonicalize(&dir).map_err(|e| {
        report(
            &format!("project directory {}: {e}", dir.display()),
            "give --dir an existing directory",
        )
    });
    Ok(match arg {
        ScopeArg::Project => Scope::Project { dir: dir? },
        ScopeArg::Local => Scope::Local { dir: dir? },
        ScopeArg::User => Scope::User,
    })
}

fn apply(writer: &Writer, edit: &Edit, dry_run: bool, command: &str) -> ExitCode {
    let result = if dry_run { writer.preview(edit) } else { writer.commit(edit) };
    let change = match result {
        Ok(change) => change,
        Err(err) => return report(&err, &err.fix()),
    };
    println!("{}", summary(edit, &change, dry_run));
    if dry_run {
        print!("{}", change.diff());
    } else if let Some(backup) = &change.backup {
        println!("  backup: {}", backup.display());
    }
    if change.redone > 0 {
        println!(
            "  another program replaced the file meanwhile: the edit was redone on its version \
             ({} time{}), nothing of it was written over",
            change.redone,
            if change.redone == 1 { "" } else { "s" }
        );
    }
    println!("equivalent: {command}");
    ExitCode::SUCCESS
}

fn summary(edit: &Edit, change: &Change, dry_run: bool) -> String {
    let (verb, preposition) = match (change.outcome, dry_run) {
        (Outcome::Unchanged, _) => ("already up to date:", "in"),
        (Outcome::Removed, true) => ("would remove", "from"),
        (Outcome::Removed, false) => ("removed", "from"),
        (Outcome::Added, true) => ("would add", "to"),
        (Outcome::Added, false) => ("added", "to"),
        (Outcome::Replaced, true) => ("would replace", "in"),
        (Outcome::Replaced, false) => ("replaced", "in"),
    };
    let nothing = if dry_run { "; nothing written" } else { "" };
    format!(
        "{verb} {} {preposition} {} ({} scope){nothing}",
        edit.name,
        change.file.display(),
        edit.scope.name()
    )
}

fn show(
    writer: &Writer,
    scope: &Scope,
    catalog: &Catalog,
    launcher: &Launcher,
) -> Result<(), ExitCode> {
    let file = writer.file(scope);
    let listed = match writer.list(scope) {
        Ok(listed) => listed,
        Err(err) => return Err(report(&err, &err.fix())),
    };
    let place = match scope {
        Scope::Local { dir } => format!("{} → projects[{:?}]", file.display(), dir.display()),
        _ => file.display().to_string(),
    };
    println!("{} ({place}):", scope.name());
    if listed.is_empty() {
        println!("  (no MCP servers)");
    }
    let rows: Vec<(String, String, String)> = listed
        .into_iter()
        .map(|item| {
            let status = if item.ours {
                match matching_profile(catalog, &item.name, &item.entry, launcher) {
                    Some(matched) => format!("mcp-connect's, matches profile {matched}"),
                    None => {
                        "mcp-connect's, matches no profile now (rewrite it with `config write`)"
                            .into()
                    }
                }
            } else {
                match lint::problem(&item.entry) {
                    Some(problem) => format!("not written by mcp-connect; {problem}"),
                    None => "not written by mcp-connect".to_owned(),
                }
            };
            (item.name, status, item.entry.to_string())
        })
        .collect();
    let name_width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let status_width = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);
    for (name, status, entry) in rows {
        println!("  {name:name_width$}  {status:status_width$}  {entry}");
    }
    Ok(())
}

/// The profile whose entry `entry` is, at whatever local port it was written for: its name,
/// and the port when it is not the profile's own.
fn matching_profile(
    catalog: &Catalog,
    name: &str,
    entry: &serde_json::Value,
    launcher: &Launcher,
) -> Option<String> {
    let url_port = entry
        .get("url")
        .and_then(|u| u.as_str())
        .and_then(|u| url::Url::parse(u).ok())
        .and_then(|u| u.port_or_known_default());
    // A bridge entry names its port as `--local-port N` when it is not the profile's.
    let args: Vec<&str> = entry
        .get("args")
        .and_then(|a| a.as_array())
        .map(|a| a.iter().filter_map(|w| w.as_str()).collect())
        .unwrap_or_default();
    let arg_port =
        args.iter().position(|w| *w == "--local-port").and_then(|i| args.get(i + 1)?.parse().ok());
    let port = url_port.or(arg_port);
    let matches = |p: &Profile| {
        Entry::for_profile(p, port, launcher).is_ok_and(|e| e.to_json() == *entry)
            || Entry::for_profile(p, None, launcher).is_ok_and(|e| e.to_json() == *entry)
    };
    let profiles: Vec<&Profile> =
        catalog.entries().iter().filter_map(|e| e.profile.as_ref().ok()).collect();
    let found = profiles
        .iter()
        .find(|p| matches(p) && p.client.server_name.as_str() == name)
        .or_else(|| profiles.iter().find(|p| matches(p)))?;
    let own = found.local_endpoint().port_or_known_default();
    Some(match port {
        Some(port) if Some(port) != own => format!("{} (local port {port})", found.name),
        _ => found.name.to_string(),
    })
}

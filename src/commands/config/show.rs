//! `mcp-connect config show`: a client's entries per scope (or every client's, `--all`), which
//! are mcp-connect's and which profile each matches, and what is wrong with the others.

use std::path::Path;
use std::process::ExitCode;

use crate::cli::ScopeArg;
use crate::clientconfig::{Client, Entry, Launcher, Scope, Writer, lint, shape};
use crate::profile::{Catalog, Profile};

use super::report;

pub fn run(
    writer: &Writer,
    catalog: &Catalog,
    launcher: &Launcher,
    arg: Option<ScopeArg>,
    dir: Option<&Path>,
    client: Client,
    all: bool,
) -> ExitCode {
    let asked = arg.is_some();
    let args = match arg {
        Some(arg) => vec![arg],
        None => vec![ScopeArg::Project, ScopeArg::Local, ScopeArg::User],
    };
    let clients = if all { Client::ALL.to_vec() } else { vec![client] };
    let (mut listed, mut code) = (Vec::new(), ExitCode::SUCCESS);
    for client in clients {
        let mut first = None;
        for arg in &args {
            // A scope the client does not have: refused when asked for by name, else skipped.
            if !has(client, *arg) && (all || !asked) {
                continue;
            }
            let scope = match super::scope(client, arg, dir) {
                Ok(scope) => scope,
                Err(code) => return code,
            };
            // Every client: only the files there are.
            if all && !writer.file(&scope).exists() {
                continue;
            }
            // One unreadable file does not hide the other scopes.
            if let Err(failed) = show(writer, &scope, catalog, launcher, all) {
                code = failed;
            }
            first.get_or_insert(scope);
        }
        // The client's own listing, where it has one (Claude Code's and Gemini CLI's connect).
        if let (Some(scope), Some(command)) = (first, client.list_command()) {
            listed.push(scope.in_project(command));
        }
    }
    for command in listed {
        println!("equivalent: {command}");
    }
    code
}

fn has(client: Client, arg: ScopeArg) -> bool {
    match arg {
        ScopeArg::Project => client.has_project(),
        ScopeArg::Local => client == Client::ClaudeCode,
        ScopeArg::User => true,
    }
}

fn show(
    writer: &Writer,
    scope: &Scope,
    catalog: &Catalog,
    launcher: &Launcher,
    titled: bool,
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
    let client = scope.client();
    let title =
        if titled || client != Client::ClaudeCode { format!("{client} ") } else { String::new() };
    println!("{title}{} ({place}):", scope.name());
    if listed.is_empty() {
        println!("  (no MCP servers)");
    }
    let rows: Vec<(String, String, String)> = listed
        .into_iter()
        .map(|item| {
            let status = if item.ours {
                let launcher = super::launcher_for(launcher, client);
                match matching_profile(catalog, client, &item.name, &item.entry, &launcher) {
                    Some(matched) => format!("mcp-connect's, matches profile {matched}"),
                    None => {
                        "mcp-connect's, matches no profile now (rewrite it with `config write`)"
                            .into()
                    }
                }
            } else {
                match lint::problem_in(client, &item.entry) {
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

/// The profile whose entry (in `client`'s shape) `entry` is, at whatever local port it was
/// written for: its name, and the port when it is not the profile's own.
fn matching_profile(
    catalog: &Catalog,
    client: Client,
    name: &str,
    entry: &serde_json::Value,
    launcher: &Launcher,
) -> Option<String> {
    let url_port = lint::url_of(entry)
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
    let is = |p: &Profile, port: Option<u16>| {
        Entry::for_client(p, port, launcher, client)
            .is_ok_and(|e| shape::render(client, &e).as_ref() == Some(entry))
    };
    let matches = |p: &Profile| is(p, port) || is(p, None);
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

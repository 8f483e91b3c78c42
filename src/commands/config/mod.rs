//! `mcp-connect config write | show | remove | clients`: a route's entry in Claude Code's files
//! (the default) or another client's, with the equivalent `claude mcp …` command for those who
//! prefer it.

mod clients;
mod show;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::{ConfigCommand, ScopeArg, ScopeArgs};
use crate::clientconfig::{Change, Client, Edit, Entry, Launcher, Op, Outcome, Scope, Writer};
use crate::profile::Catalog;

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
    // Other clients' user files: under $XDG_CONFIG_HOME, ~/Library/Application Support or
    // %APPDATA% (see `Homes::for_home`).
    let writer = Writer::new(&home, state);
    match command {
        ConfigCommand::Write { profile, target, name, local_port, dry_run, force } => {
            let profile = match super::find_profile(catalog, &profile) {
                Ok(profile) => profile,
                Err(code) => return code,
            };
            let client = target.client;
            let launcher = launcher_for(launcher, client);
            let entry = match Entry::for_client(profile, local_port, &launcher, client) {
                Ok(entry) => entry,
                Err(why) => return fail(&why),
            };
            let scope = match scope(client, &target.scope, target.dir.as_deref()) {
                Ok(scope) => scope,
                Err(code) => return code,
            };
            let name = name.unwrap_or_else(|| profile.client.server_name.to_string());
            let command =
                (client == Client::ClaudeCode).then(|| entry.claude_add_command(&name, &scope));
            let edit = Edit { scope, name, op: Op::Put(entry), force };
            apply(&writer, &edit, dry_run, command.as_deref())
        }
        ConfigCommand::Remove {
            name,
            target: ScopeArgs { client, scope: arg, dir },
            dry_run,
            force,
        } => {
            let scope = match scope(client, &arg, dir.as_deref()) {
                Ok(scope) => scope,
                Err(code) => return code,
            };
            let command = (client == Client::ClaudeCode).then(|| {
                let words = ["claude", "mcp", "remove", "--scope", scope.name(), &name];
                scope.in_project(&shell_words::join(words))
            });
            let edit = Edit { scope, name, op: Op::Remove, force };
            apply(&writer, &edit, dry_run, command.as_deref())
        }
        ConfigCommand::Show { scope: arg, dir, client, all } => {
            show::run(&writer, catalog, launcher, arg, dir.as_deref(), client, all)
        }
        ConfigCommand::Clients { dir } => match project_dir(dir.as_deref()) {
            Ok(dir) => clients::run(&writer, &dir),
            Err(code) => code,
        },
    }
}

/// `launcher` for `client`: with the profiles directory and kubeconfig in effect named, for a
/// client that may start the bridge without this environment (see [`Launcher::for_client`]).
fn launcher_for(launcher: &Launcher, client: Client) -> Launcher {
    let profiles = crate::paths::Dirs::discover().map(|d| d.profiles()).unwrap_or_default();
    let kubeconfig = Launcher::kubeconfig_from_env();
    launcher.for_client(client, &profiles, kubeconfig.as_deref())
}

/// The directory given (default: the current one), made absolute and real (Claude Code keys
/// projects by it).
fn project_dir(dir: Option<&Path>) -> Result<PathBuf, ExitCode> {
    let dir = dir.map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    std::fs::canonicalize(&dir).map_err(|e| {
        report(
            &format!("project directory {}: {e}", dir.display()),
            "give --dir an existing directory",
        )
    })
}

/// `client`'s scope `arg`; refused, naming the scopes it has, when it has no such scope.
fn scope(client: Client, arg: &ScopeArg, dir: Option<&Path>) -> Result<Scope, ExitCode> {
    let name = match arg {
        ScopeArg::Project => "project",
        ScopeArg::Local => "local",
        ScopeArg::User => "user",
    };
    let dir = if *arg == ScopeArg::User { PathBuf::new() } else { project_dir(dir)? };
    Scope::of(client, name, &dir).ok_or_else(|| {
        let names: Vec<&str> = Scope::all(client, &dir).iter().map(Scope::name).collect();
        report(
            &format!("{client} has no {name} scope"),
            &format!("use --scope {}", names.join(" or --scope ")),
        )
    })
}

fn apply(writer: &Writer, edit: &Edit, dry_run: bool, command: Option<&str>) -> ExitCode {
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
    if let Some(command) = command {
        println!("equivalent: {command}");
    }
    let client = edit.scope.client();
    if let (Some(note), false) =
        (client.note(edit.scope.name()), change.outcome == Outcome::Removed)
    {
        println!("note: {note}");
    }
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
    let client = match edit.scope.client() {
        Client::ClaudeCode => String::new(),
        other => format!("{other} "),
    };
    format!(
        "{verb} {} {preposition} {} ({client}{} scope){nothing}",
        edit.name,
        change.file.display(),
        edit.scope.name()
    )
}

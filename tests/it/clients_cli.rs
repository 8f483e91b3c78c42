//! Issue #21 through the binary: `config clients` tells installed clients (their config
//! directory exists) from the others and names each scope's file; `config write --client` keeps
//! a VS Code file's comments and trailing commas, `--dry-run` only shows the diff, `config show
//! --all` finds the entry, `config remove` gives the file back byte for byte; a file a client
//! could not read (JSONC, TOML) is refused with file:line:col and left as it was; a scope a
//! client does not have is refused with the ones it has.

use crate::support::{Home, Run};

fn ok(run: &Run) -> String {
    assert_eq!(run.code(), 0, "stdout:\n{}\nstderr:\n{}", run.stdout(), run.stderr());
    run.stdout()
}

/// Fails unless `run` was refused with exactly `error` and `fix` on stderr.
fn assert_refused(run: &Run, error: &str, fix: &str) {
    assert_eq!(run.code(), 2, "stdout:\n{}\nstderr:\n{}", run.stdout(), run.stderr());
    assert_eq!(run.stderr(), format!("error: {error}\n  fix: {fix}\n"));
}

#[test]
fn config_clients_names_the_installed_ones_and_every_file() {
    let home = Home::new();
    std::fs::create_dir_all(home.path().join(".cursor")).unwrap();
    std::fs::create_dir_all(home.path().join("config/zed")).unwrap();
    let dir = home.path().canonicalize().unwrap();
    let out = ok(&home.run(&["config", "clients", "--dir", dir.to_str().unwrap()]));
    eprintln!("{out}");
    let row = |id: &str| {
        let found = out.lines().find(|l| l.starts_with(&format!("{id} ")));
        found.unwrap_or_else(|| panic!("no {id} in:\n{out}")).split_whitespace().collect::<Vec<_>>()
    };
    let (h, d) = (home.path().display().to_string(), dir.display().to_string());
    assert_eq!(row("cursor")[2], "yes");
    assert_eq!(row("zed")[2], "yes");
    assert_eq!(row("codex")[3], "no");
    assert_eq!(row("claude-code")[3], "no");
    assert!(out.contains(&format!("user: {h}/config/zed/settings.json")), "{out}");
    assert!(out.contains(&format!("project: {d}/.vscode/mcp.json")), "{out}");
    assert!(out.contains(&format!("user: {h}/config/Code/User/mcp.json")), "{out}");
    assert!(out.contains(&format!("user: {h}/config/Claude/claude_desktop_config.json")), "{out}");
    assert!(out.contains(&format!("user: {h}/.codeium/windsurf/mcp_config.json")), "{out}");
    assert!(!row("windsurf").contains(&"project:"), "Windsurf has no project file");
}

#[test]
fn a_vscode_file_keeps_its_comments_and_trailing_commas_and_comes_back_whole() {
    let home = Home::new();
    let dir = home.path().join("app");
    let theirs = "{\n  // the team's servers\n  \"servers\": {\n    \"github\": {\"type\": \"http\", \"url\": \"https://api.githubcopilot.com/mcp/\"}, // shared\n  },\n  /* inputs come later */\n}\n";
    let file = home.write("app/.vscode/mcp.json", theirs);
    let dir = dir.canonicalize().unwrap();
    let dir_arg = dir.to_str().unwrap();
    let write = ["config", "write", "serena-direct", "--client", "vscode", "--scope", "project"];
    let write = [&write[..], &["--dir", dir_arg]].concat();

    let preview = ok(&home.run(&[&write[..], &["--dry-run"]].concat()));
    assert!(preview.starts_with(&format!(
        "would add serena to {} (VS Code project scope); nothing written\n",
        file.display()
    )));
    assert!(preview.contains("+    \"serena\": {\n+      \"type\": \"http\",\n"), "{preview}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), theirs, "a dry run writes nothing");

    let out = ok(&home.run(&write));
    assert!(
        out.starts_with(&format!("added serena to {} (VS Code project scope)\n", file.display()))
    );
    assert!(!out.contains("equivalent: claude"), "no Claude Code command for VS Code:\n{out}");
    let written = std::fs::read_to_string(&file).unwrap();
    let expected = theirs.replace(
        "// shared\n  },",
        "// shared\n    \"serena\": {\n      \"type\": \"http\",\n      \"url\": \"http://127.0.0.1:8080/mcp\",\n    },\n  },",
    );
    assert_eq!(written, expected);

    let show = ok(&home.run(&["config", "show", "--all", "--dir", dir_arg]));
    eprintln!("{show}");
    assert!(show.contains(&format!("VS Code project ({}):", file.display())), "{show}");
    let line = show.lines().find(|l| l.starts_with("  serena ")).expect("our entry");
    assert!(line.contains("mcp-connect's, matches profile serena-direct"), "{line}");
    let line = show.lines().find(|l| l.starts_with("  github ")).expect("theirs");
    assert!(line.contains("not written by mcp-connect"), "{line}");

    let remove = ["config", "remove", "serena", "--client", "vscode", "--scope", "project"];
    ok(&home.run(&[&remove[..], &["--dir", dir_arg]].concat()));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), theirs);
}

#[test]
fn files_a_client_could_not_read_are_refused_with_where_and_left_as_they_were() {
    let home = Home::new();
    let zed = "{\n  \"theme\": \"One Dark\",\n  \"context_servers\": {\n    \"a\": {\"url\": 'x'}\n  }\n}\n";
    let zed_file = home.write("config/zed/settings.json", zed);
    let write = ["config", "write", "serena-direct", "--scope", "user", "--client"];
    let fix = |client: &str| {
        format!(
            "fix the file at that position ({client} cannot read it either); mcp-connect left it untouched"
        )
    };
    let error = format!("{}:4:18: Single-quoted strings are not allowed", zed_file.display());
    assert_refused(&home.run(&[&write[..], &["zed"]].concat()), &error, &fix("Zed"));
    assert_eq!(std::fs::read_to_string(&zed_file).unwrap(), zed);

    let toml =
        "model = \"o3\"\n\n[mcp_servers.a]\nurl = \"http://h/mcp\"\nurl = \"http://h/mcp\"\n";
    let toml_file = home.write(".codex/config.toml", toml);
    let run = home.run(&[&write[..], &["codex"]].concat());
    let prefix = format!("error: {}:5:1: ", toml_file.display());
    assert!(run.stderr().starts_with(&prefix), "{}", run.stderr());
    assert!(run.stderr().contains("duplicate key"), "{}", run.stderr());
    assert!(run.stderr().ends_with(&format!("  fix: {}\n", fix("Codex CLI"))), "{}", run.stderr());
    assert_eq!(std::fs::read_to_string(&toml_file).unwrap(), toml);

    // Strict JSON for Cursor: a comment is not JSON.
    let cursor = "{\n  // mine\n  \"mcpServers\": {}\n}\n";
    let cursor_file = home.write(".cursor/mcp.json", cursor);
    let run = home.run(&[&write[..], &["cursor"]].concat());
    assert!(
        run.stderr().starts_with(&format!("error: {}:2:3: ", cursor_file.display())),
        "{}",
        run.stderr()
    );
    assert_eq!(std::fs::read_to_string(&cursor_file).unwrap(), cursor);
    assert!(!home.path().join("state/mcp-connect/clientconfig/backups").exists(), "no backups");
}

#[test]
fn a_scope_a_client_does_not_have_is_refused_with_the_ones_it_has() {
    let home = Home::new();
    let dir = home.path().canonicalize().unwrap();
    let args = |client: &str, scope: &str| {
        let d = dir.to_str().unwrap().to_owned();
        let words =
            ["config", "write", "serena-direct", "--client", client, "--scope", scope, "--dir", &d];
        home.run(&words)
    };
    assert_refused(
        &args("windsurf", "project"),
        "Windsurf has no project scope",
        "use --scope user",
    );
    assert_refused(
        &args("claude-desktop", "local"),
        "Claude Desktop has no local scope",
        "use --scope user",
    );
    assert_refused(
        &args("codex", "local"),
        "Codex CLI has no local scope",
        "use --scope project or --scope user",
    );
    let codex = ok(&args("codex", "project"));
    assert!(
        codex.ends_with(
            "note: Codex CLI reads a project's .codex/config.toml only once it trusts the project\n"
        ),
        "{codex}"
    );
    let unknown =
        home.run(&["config", "write", "serena-direct", "--client", "emacs", "--scope", "user"]);
    assert_eq!(unknown.code(), 2);
    assert!(unknown.stderr().contains("[possible values: claude-code, claude-desktop, cursor, vscode, windsurf, zed, codex, gemini]"), "{}", unknown.stderr());
}

#[test]
fn a_server_named_twice_in_a_clients_file_names_that_client() {
    let home = Home::new();
    let gemini = "{\"mcpServers\": {\n  \"serena\": {\"httpUrl\": \"a\"},\n  \"serena\": {\"httpUrl\": \"b\"}\n}}\n";
    let file = home.write(".gemini/settings.json", gemini);
    let run =
        home.run(&["config", "write", "serena-direct", "--client", "gemini", "--scope", "user"]);
    let error = format!(
        "{}:2:3: `mcpServers.serena` appears twice in one object, at 2:3 and 3:3; Gemini CLI \
         reads only the last one",
        file.display()
    );
    let fix = "keep one of them (Gemini CLI uses the last one) and run this again";
    assert_refused(&run, &error, fix);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), gemini);
}

#[test]
fn gemini_settings_keep_their_comments_and_a_trailing_comma_is_refused_as_gemini_refuses_it() {
    let home = Home::new();
    let theirs = "{\n  // mine\n  \"ui\": {\"theme\": \"GitHub\"}\n}\n";
    let file = home.write(".gemini/settings.json", theirs);
    let write = ["config", "write", "serena-direct", "--client", "gemini", "--scope", "user"];
    ok(&home.run(&write));
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.starts_with("{\n  // mine\n  \"ui\": {\"theme\": \"GitHub\"},\n"), "{written}");
    let remove = ["config", "remove", "serena", "--client", "gemini", "--scope", "user"];
    ok(&home.run(&remove));
    let emptied = std::fs::read_to_string(&file).unwrap();
    assert!(emptied.starts_with("{\n  // mine\n"), "{emptied}");

    let trailing = "{\n  \"ui\": {\"theme\": \"GitHub\"},\n}\n";
    std::fs::write(&file, trailing).unwrap();
    let run = home.run(&write);
    assert!(
        run.stderr().starts_with(&format!(
            "error: {}:2:28: Trailing commas are not allowed",
            file.display()
        )),
        "{}",
        run.stderr()
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), trailing);
}

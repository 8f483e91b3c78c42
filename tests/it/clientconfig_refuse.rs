//! Issue #18, item 4: config files that lie, through the real binary. A key we go through that
//! appears twice (JSON.parse, which Claude Code reads with, keeps only the last one) is refused
//! with both positions, at the top level, among the servers, and in `~/.claude.json`'s
//! `projects.<dir>.mcpServers`; a file the user made read-only is refused with the fix
//! (`chmod u+w`) unless `--force`, which writes it and keeps its mode. `config remove` and
//! `config show` go by the same rules. A refused file is left byte for byte, and not backed up.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::support::{Home, Run, files_under};

/// A home with a project directory: the home, and the project's canonical path.
fn home_with_project() -> (Home, String) {
    let home = Home::new();
    let dir = home.path().join("project");
    fs::create_dir_all(&dir).unwrap();
    let dir = dir.canonicalize().unwrap().to_str().unwrap().to_owned();
    (home, dir)
}

fn write(home: &Home, scope: &str, dir: &str, extra: &[&str]) -> Run {
    let args = ["config", "write", "serena-direct", "--scope", scope, "--dir", dir];
    home.run(&[&args[..], extra].concat())
}

fn remove(home: &Home, scope: &str, dir: &str, extra: &[&str]) -> Run {
    let args = ["config", "remove", "serena", "--scope", scope, "--dir", dir];
    home.run(&[&args[..], extra].concat())
}

/// Fails unless `run` was refused with exactly `error` and `fix` on stderr.
fn assert_refused(run: &Run, error: &str, fix: &str) {
    assert_eq!(run.code(), 2, "stdout:\n{}\nstderr:\n{}", run.stdout(), run.stderr());
    assert_eq!(run.stderr(), format!("error: {error}\n  fix: {fix}\n"));
}

/// The backups mcp-connect made, of any file.
fn backups(home: &Home) -> Vec<PathBuf> {
    files_under(&home.path().join("state"))
        .into_iter()
        .filter(|p| p.components().any(|c| c.as_os_str() == "backups"))
        .collect()
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

const DUPLICATE_FIX: &str = "keep one of them (Claude Code uses the last one) and run this again";

#[test]
fn a_key_we_go_through_twice_is_refused_with_both_positions_and_the_file_left_as_it_was() {
    let (home, dir) = home_with_project();
    let reads_last = "Claude Code (JSON.parse) reads only the last one";

    // Top level: the entry would go into the first `mcpServers`, which Claude Code never sees.
    let mcp_json = format!("{dir}/.mcp.json");
    let top = "{\n  \"mcpServers\": {\n    \"a\": {\"type\": \"http\", \"url\": \"http://127.0.0.1:1/mcp\"}\n  },\n  \"mcpServers\": {}\n}\n";
    fs::write(&mcp_json, top).unwrap();
    let error = format!(
        "{mcp_json}:2:3: `mcpServers` appears twice in one object, at 2:3 and 5:3; {reads_last}"
    );
    assert_refused(&write(&home, "project", &dir, &[]), &error, DUPLICATE_FIX);
    assert_refused(&write(&home, "project", &dir, &["--dry-run"]), &error, DUPLICATE_FIX);
    assert_refused(&write(&home, "project", &dir, &["--force"]), &error, DUPLICATE_FIX);
    assert_refused(&remove(&home, "project", &dir, &["--force"]), &error, DUPLICATE_FIX);
    let show = home.run(&["config", "show", "--scope", "project", "--dir", &dir]);
    assert_refused(&show, &error, DUPLICATE_FIX);
    assert_eq!(fs::read_to_string(&mcp_json).unwrap(), top);

    // Among the servers: a second `serena`, which is the one Claude Code runs.
    let claude_json = home.path().join(".claude.json");
    let claude_json_name = claude_json.display();
    let servers = "{\"numStartups\": 3, \"mcpServers\": {\n  \"serena\": {\"type\": \"stdio\", \"command\": \"a\"},\n  \"serena\": {\"type\": \"stdio\", \"command\": \"b\"}\n}}\n";
    fs::write(&claude_json, servers).unwrap();
    let error = format!(
        "{claude_json_name}:2:3: `mcpServers.serena` appears twice in one object, at 2:3 and \
         3:3; {reads_last}"
    );
    assert_refused(&write(&home, "user", &dir, &["--force"]), &error, DUPLICATE_FIX);
    assert_refused(&remove(&home, "user", &dir, &["--force"]), &error, DUPLICATE_FIX);
    assert_eq!(fs::read_to_string(&claude_json).unwrap(), servers);

    // `~/.claude.json` → projects.<dir>.mcpServers twice (local scope); the user scope, whose
    // `mcpServers` is there once, is still written.
    let dir_json = serde_json::to_string(&dir).unwrap();
    let local = format!(
        "{{\n  \"projects\": {{\n    {dir_json}: {{\n      \"mcpServers\": {{}},\n      \"allowedTools\": [],\n      \"mcpServers\": {{}}\n    }}\n  }}\n}}\n"
    );
    fs::write(&claude_json, &local).unwrap();
    let error = format!(
        "{claude_json_name}:4:7: `projects.{dir}.mcpServers` appears twice in one object, at \
         4:7 and 6:7; {reads_last}"
    );
    assert_refused(&write(&home, "local", &dir, &[]), &error, DUPLICATE_FIX);
    assert_refused(&remove(&home, "local", &dir, &[]), &error, DUPLICATE_FIX);
    assert_eq!(fs::read_to_string(&claude_json).unwrap(), local);
    assert_eq!(backups(&home), Vec::<PathBuf>::new(), "a refused file is not backed up");
    let user = write(&home, "user", &dir, &[]);
    assert_eq!(user.code(), 0, "{}", user.stderr());
    let written: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&claude_json).unwrap()).unwrap();
    assert_eq!(written["mcpServers"]["serena"]["type"], "http");
}

#[test]
fn a_read_only_file_is_refused_with_the_fix_and_written_with_force_keeping_its_mode() {
    for read_only in [0o444, 0o400] {
        let (home, dir) = home_with_project();
        for (scope, file) in [
            ("project", Path::new(&dir).join(".mcp.json")),
            ("user", home.path().join(".claude.json")),
        ] {
            let text = "{\n  \"mcpServers\": {}\n}\n";
            fs::write(&file, text).unwrap();
            fs::set_permissions(&file, fs::Permissions::from_mode(read_only)).unwrap();
            let backed_up = backups(&home);
            let error = format!(
                "{} is read-only (mode 0{read_only:o}); mcp-connect left it untouched",
                file.display()
            );
            let fix = format!(
                "make it writable with `chmod u+w {}` and run this again, or pass --force to \
                 write it anyway (its mode is kept)",
                file.display()
            );
            assert_refused(&write(&home, scope, &dir, &[]), &error, &fix);
            assert_refused(&write(&home, scope, &dir, &["--dry-run"]), &error, &fix);
            assert_eq!(fs::read_to_string(&file).unwrap(), text, "{scope}: untouched");
            assert_eq!(mode(&file), read_only);
            assert_eq!(backups(&home), backed_up, "a refused file is not backed up");

            let forced = write(&home, scope, &dir, &["--force"]);
            assert_eq!(forced.code(), 0, "{scope}: {}", forced.stderr());
            assert!(forced.stdout().starts_with("added serena to "), "{}", forced.stdout());
            assert_eq!(mode(&file), read_only, "{scope}: the mode is kept");
            let written: serde_json::Value =
                serde_json::from_str(&fs::read_to_string(&file).unwrap()).unwrap();
            assert_eq!(written["mcpServers"]["serena"]["type"], "http");

            // Already so: nothing to write, nothing refused.
            let again = write(&home, scope, &dir, &[]);
            assert_eq!(again.code(), 0, "{}", again.stderr());
            assert!(again.stdout().starts_with("already up to date: serena"));

            // `config remove` goes by the same rules.
            let before = fs::read_to_string(&file).unwrap();
            assert_refused(&remove(&home, scope, &dir, &[]), &error, &fix);
            assert_eq!(fs::read_to_string(&file).unwrap(), before);
            let removed = remove(&home, scope, &dir, &["--force"]);
            assert_eq!(removed.code(), 0, "{}", removed.stderr());
            assert!(removed.stdout().starts_with("removed serena from "));
            let after: serde_json::Value =
                serde_json::from_str(&fs::read_to_string(&file).unwrap()).unwrap();
            assert_eq!(after, serde_json::json!({"mcpServers": {}}), "{scope}: back as it was");
            assert_eq!(mode(&file), read_only, "{scope}: the mode is kept");
        }
    }
}

//! The config writer never loses a user's data: over generated configs (nested keys, other
//! servers, unicode, numbers of every shape, large files), writing or removing our entry
//! changes nothing else, keeps key order and 2-space style; malformed files are refused and
//! left byte for byte; concurrent writers leave valid JSON with both entries.

use std::path::Path;
use std::time::Duration;

use mcp_connect::clientconfig::{ConfigError, Edit, Entry, Op, Outcome, Scope, Writer};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// A writer for files no other program writes: it does not watch them after writing.
fn writer(home: &Path, state: &Path) -> Writer {
    Writer::new(home, state).with_settle(Duration::ZERO)
}

fn entry(port: u16) -> Entry {
    Entry::Http {
        url: format!("http://127.0.0.1:{port}/mcp"),
        headers: vec![],
        headers_helper: None,
    }
}

fn put(scope: &Scope, name: &str, port: u16) -> Edit {
    Edit { scope: scope.clone(), name: name.to_owned(), op: Op::Put(entry(port)), force: false }
}

/// JSON leaves as a client might have written them.
fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(|f| json!(f)),
        "\\PC{0,12}".prop_map(Value::String),
        "[a-zé☃\"\\\\/\n\t😀]{0,8}".prop_map(Value::String),
    ]
}

fn tree() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec(("[a-zA-Z_ü]{1,10}", inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A `~/.claude.json`-like document: other top-level keys, maybe other MCP servers, maybe
/// projects with their own.
fn config() -> impl Strategy<Value = Value> {
    let servers = prop::collection::vec(("[a-z-]{1,8}", tree()), 0..4);
    (prop::collection::vec(("[a-zA-Z]{1,12}", tree()), 0..6), prop::option::of(servers), any::<bool>())
        .prop_map(|(top, servers, projects)| {
            let mut root: Map<String, Value> = top.into_iter().filter(|(k, _)| k != "mcpServers" && k != "projects").collect();
            if let Some(servers) = servers {
                let servers: Map<_, _> = servers.into_iter().filter(|(k, _)| k != "serena").collect();
                root.insert("mcpServers".into(), Value::Object(servers));
            }
            if projects {
                root.insert("projects".into(), json!({"/elsewhere": {"allowedTools": [], "mcpServers": {"x": {"type": "sse", "url": "http://h/sse"}}}}));
            }
            Value::Object(root)
        })
}

/// Order-sensitive equality: serde_json's Map (preserve_order) compares as a set of keys.
fn same(a: &Value, b: &Value) -> bool {
    serde_json::to_string(a).unwrap() == serde_json::to_string(b).unwrap()
}

/// `value` without our entry at `path`/`name`, and without objects we created for it.
fn without_ours(mut value: Value, original: &Value, path: &[String], name: &str) -> Value {
    let mut node = &mut value;
    let mut seen = Some(original);
    for key in path {
        seen = seen.and_then(|s| s.get(key));
        node = node.get_mut(key).expect("the path exists after a write");
    }
    node.as_object_mut().unwrap().shift_remove(name);
    // Drop the containers the write created, innermost first.
    for depth in (0..path.len()).rev() {
        let existed = path[..=depth].iter().try_fold(original, |v, k| v.get(k)).is_some();
        if !existed {
            let parent = path[..depth].iter().fold(&mut value, |v, k| v.get_mut(k).unwrap());
            parent.as_object_mut().unwrap().shift_remove(&path[depth]);
        }
    }
    value
}

fn scopes(project: &Path) -> [Scope; 3] {
    [
        Scope::Project { dir: project.to_path_buf() },
        Scope::Local { dir: project.to_path_buf() },
        Scope::User,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn writing_and_removing_our_entry_changes_nothing_else(original in config(), compact in any::<bool>(), which in 0usize..3) {
        let home = tempfile::tempdir().unwrap();
        let project = home.path().join("proj");
        std::fs::create_dir_all(&project).unwrap();
        let writer = writer(home.path(), &home.path().join("state"));
        let scope = scopes(&project)[which].clone();
        let file = scope.file(home.path());
        let text = if compact { original.to_string() } else { serde_json::to_string_pretty(&original).unwrap() + "\n" };
        std::fs::write(&file, &text).unwrap();
        // Compared as parsed from the file: serde_json's float parsing is not exact.
        let original: Value = serde_json::from_str(&text).unwrap();

        let change = writer.commit(&put(&scope, "serena", 8080)).unwrap();
        prop_assert_eq!(change.outcome, Outcome::Added);
        let written: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let path = scope.key_path();
        let ours = path.iter().fold(&written, |v, k| &v[k])["serena"].clone();
        prop_assert_eq!(ours, json!({"type": "http", "url": "http://127.0.0.1:8080/mcp"}));
        prop_assert!(same(&without_ours(written, &original, &path, "serena"), &original));
        // The backup is the file as it was.
        prop_assert_eq!(std::fs::read_to_string(change.backup.unwrap()).unwrap(), text.clone());

        // Rewriting at another port replaces ours in place; removing it leaves the rest.
        writer.commit(&put(&scope, "serena", 9090)).unwrap();
        let remove = Edit { op: Op::Remove, ..put(&scope, "serena", 0) };
        prop_assert_eq!(writer.commit(&remove).unwrap().outcome, Outcome::Removed);
        let after: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let path_existed = path.iter().try_fold(&original, |v, k| v.get(k)).is_some();
        if path_existed {
            prop_assert!(same(&after, &original), "{} vs {}", after, original);
        } else {
            let emptied = path.iter().fold(&after, |v, k| &v[k]);
            prop_assert_eq!(emptied, &json!({}));
        }
    }

    #[test]
    fn a_malformed_file_is_refused_and_left_as_it_was(original in config(), cut in 1usize..200, which in 0usize..3) {
        let home = tempfile::tempdir().unwrap();
        let project = home.path().join("proj");
        std::fs::create_dir_all(&project).unwrap();
        let state = home.path().join("state");
        let writer = writer(home.path(), &state);
        let scope = scopes(&project)[which].clone();
        let file = scope.file(home.path());
        let valid = serde_json::to_string_pretty(&original).unwrap();
        // Cut short, or a trailing comma before the last brace: both invalid JSON.
        let bounds: Vec<usize> = valid.char_indices().map(|(i, _)| i).filter(|i| *i > 0).collect();
        let broken = if cut % 2 == 0 {
            valid[..bounds[cut % bounds.len()]].to_owned()
        } else {
            format!("{},\n}}", valid.trim_end().trim_end_matches('}'))
        };
        prop_assume!(serde_json::from_str::<Value>(&broken).is_err());
        std::fs::write(&file, &broken).unwrap();
        match writer.commit(&put(&scope, "serena", 8080)) {
            Err(ConfigError::Malformed { path, source, .. }) => {
                prop_assert_eq!(path, file.clone());
                let message = format!("{}:{source}", file.display());
                let position = message.split(':').nth(1).unwrap_or_default().to_owned();
                prop_assert!(position.parse::<usize>().is_ok(), "no line in {}", message);
            }
            other => prop_assert!(false, "expected a refusal, got {:?}", other),
        }
        prop_assert_eq!(std::fs::read_to_string(&file).unwrap(), broken);
        prop_assert!(!state.join("clientconfig/backups").exists(), "nothing was backed up");
    }
}

#[test]
fn an_entry_we_did_not_write_is_kept_unless_forced() {
    let home = tempfile::tempdir().unwrap();
    let writer = writer(home.path(), &home.path().join("state"));
    let file = home.path().join(".claude.json");
    let theirs = "{\n  \"mcpServers\": {\n    \"serena\": {\"type\": \"stdio\", \"command\": \"uvx\"}\n  }\n}\n";
    std::fs::write(&file, theirs).unwrap();
    let err = writer.commit(&put(&Scope::User, "serena", 8080)).unwrap_err();
    assert!(matches!(err, ConfigError::NotOurs { .. }), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), theirs);
    let forced = Edit { force: true, ..put(&Scope::User, "serena", 8080) };
    assert_eq!(writer.commit(&forced).unwrap().outcome, Outcome::Replaced);
    // Ours now: replaced again without force; a user's edit makes it theirs again.
    assert_eq!(
        writer.commit(&put(&Scope::User, "serena", 9090)).unwrap().outcome,
        Outcome::Replaced
    );
    let edited = std::fs::read_to_string(&file).unwrap().replace("9090", "7070");
    std::fs::write(&file, edited).unwrap();
    assert!(writer.commit(&put(&Scope::User, "serena", 8080)).is_err());
}

#[test]
fn modes_are_kept_and_a_new_claude_json_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let home = tempfile::tempdir().unwrap();
    let writer = writer(home.path(), &home.path().join("state"));
    writer.commit(&put(&Scope::User, "serena", 8080)).unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&home.path().join(".claude.json")), 0o600);
    let project = home.path().join("p");
    std::fs::create_dir_all(&project).unwrap();
    let mcp = project.join(".mcp.json");
    std::fs::write(&mcp, "{}").unwrap();
    std::fs::set_permissions(&mcp, std::fs::Permissions::from_mode(0o640)).unwrap();
    writer.commit(&put(&Scope::Project { dir: project }, "serena", 8080)).unwrap();
    assert_eq!(mode(&mcp), 0o640);
}

#[test]
fn a_large_config_keeps_every_project() {
    let home = tempfile::tempdir().unwrap();
    let writer = writer(home.path(), &home.path().join("state"));
    let projects: Map<String, Value> = (0..4000)
        .map(|i| {
            (
                format!("/home/me/src/p{i}"),
                json!({"history": [{"display": format!("run ✓ {i}"), "n": i}], "mcpServers": {}}),
            )
        })
        .collect();
    let original = json!({"numStartups": 912, "projects": projects});
    let file = home.path().join(".claude.json");
    std::fs::write(&file, serde_json::to_string_pretty(&original).unwrap()).unwrap();
    let scope = Scope::Local { dir: "/home/me/src/p1234".into() };
    writer.commit(&put(&scope, "serena", 8080)).unwrap();
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert!(same(&without_ours(written, &original, &scope.key_path(), "serena"), &original));
}

#[test]
fn concurrent_writers_leave_valid_json_with_both_entries() {
    let home = tempfile::tempdir().unwrap();
    let (root, state) = (home.path().to_path_buf(), home.path().join("state"));
    std::fs::write(root.join(".claude.json"), "{\n  \"keep\": true\n}\n").unwrap();
    let writers: Vec<_> = ["one", "two"]
        .into_iter()
        .map(|name| {
            let (root, state) = (root.clone(), state.clone());
            std::thread::spawn(move || {
                let writer = writer(&root, &state);
                for round in 0..40u16 {
                    writer.commit(&put(&Scope::User, name, 8000 + round)).unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    let value: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join(".claude.json")).unwrap()).unwrap();
    assert_eq!(value["keep"], true);
    assert_eq!(value["mcpServers"]["one"]["url"], "http://127.0.0.1:8039/mcp");
    assert_eq!(value["mcpServers"]["two"]["url"], "http://127.0.0.1:8039/mcp");
}

#[test]
fn the_seeds_broken_entry_is_named_when_it_blocks_ours() {
    let home = tempfile::tempdir().unwrap();
    let writer = writer(home.path(), &home.path().join("state"));
    let seed = r#"{"mcpServers": {"serena": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-http-client", "http://localhost:8080"]}}}"#;
    std::fs::write(home.path().join(".claude.json"), seed).unwrap();
    let err = writer.commit(&put(&Scope::User, "serena", 8080)).unwrap_err();
    assert!(
        err.to_string().ends_with(
            "which does not exist on npm (the seed document's entry): it can never connect"
        ),
        "{err}"
    );
    assert_eq!(err.fix(), "pass --force to replace it (the old file is backed up)");
}

#[test]
fn a_symlinked_config_is_written_through_and_a_literal_credential_makes_it_private() {
    use std::os::unix::fs::PermissionsExt;
    let home = tempfile::tempdir().unwrap();
    let writer = writer(home.path(), &home.path().join("state"));
    let dotfiles = home.path().join("dotfiles");
    std::fs::create_dir_all(&dotfiles).unwrap();
    std::fs::write(dotfiles.join("claude.json"), "{\"keep\": 1}").unwrap();
    let link = home.path().join(".claude.json");
    std::os::unix::fs::symlink(dotfiles.join("claude.json"), &link).unwrap();
    writer.commit(&put(&Scope::User, "serena", 8080)).unwrap();
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "still a link");
    let target: Value =
        serde_json::from_str(&std::fs::read_to_string(dotfiles.join("claude.json")).unwrap())
            .unwrap();
    assert_eq!(target["keep"], 1);
    assert_eq!(target["mcpServers"]["serena"]["type"], "http");

    let project = home.path().join("p");
    std::fs::create_dir_all(&project).unwrap();
    let secret = Entry::Http {
        url: "https://gw:8443/mcp".into(),
        headers: vec![("Authorization".into(), "Bearer literal-token".into())],
        headers_helper: None,
    };
    let edit = Edit {
        scope: Scope::Project { dir: project.clone() },
        name: "gw".into(),
        op: Op::Put(secret),
        force: false,
    };
    writer.commit(&edit).unwrap();
    let mode = std::fs::metadata(project.join(".mcp.json")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

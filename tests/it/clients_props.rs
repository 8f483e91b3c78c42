//! Issue #21: every client's file keeps everything but our entry. Over generated files in each
//! client's syntax (strict JSON, JSONC with comments and trailing commas, TOML with comments and
//! odd spacing), with other servers and other settings: writing our entry only inserts bytes,
//! rewriting it changes it alone, removing it gives the file back byte for byte (when the
//! servers' object was there before); a malformed file is refused with file:line:col and left
//! untouched, unbacked-up.

use std::path::Path;
use std::time::Duration;

use mcp_connect::clientconfig::shape::render;
use mcp_connect::clientconfig::{
    Client, ConfigError, Edit, Entry, Op, Outcome, Scope, Syntax, Writer,
};
use proptest::prelude::*;

fn writer(home: &Path) -> Writer {
    Writer::new(home, &home.join("state")).with_settle(Duration::ZERO)
}

/// An entry every client can take: a URL, or for Claude Desktop the bridge.
fn entry(client: Client, port: u16) -> Entry {
    if client.stdio_only() {
        let args = ["bridge", "serena-direct", "--local-port", &port.to_string()].map(String::from);
        return Entry::Stdio {
            command: "/usr/local/bin/mcp-connect".into(),
            args: args.to_vec(),
            env: vec![],
        };
    }
    Entry::Http {
        url: format!("http://127.0.0.1:{port}/mcp"),
        headers: vec![],
        headers_helper: None,
    }
}

fn put(scope: &Scope, port: u16) -> Edit {
    let op = Op::Put(entry(scope.client(), port));
    Edit { scope: scope.clone(), name: "serena".into(), op, force: false }
}

/// The clients other than Claude Code (whose files `clientconfig_props` covers).
fn others() -> Vec<Client> {
    Client::ALL.into_iter().filter(|c| *c != Client::ClaudeCode).collect()
}

/// A value a user may have in a setting.
#[derive(Debug, Clone)]
enum Leaf {
    Text(String),
    Int(i64),
    Bool(bool),
    List(Vec<String>),
}

/// A file's content, before it is written in a syntax: top-level settings, maybe the servers'
/// object with other servers (each a command and its args), and whether to comment it, leave
/// trailing commas (JSONC) or space it oddly.
#[derive(Debug, Clone)]
struct Content {
    settings: Vec<(String, Leaf)>,
    servers: Option<Vec<(String, String, Vec<String>)>>,
    comments: bool,
    trailing: bool,
    odd: bool,
}

fn leaf() -> impl Strategy<Value = Leaf> {
    prop_oneof![
        "[a-zé☃ \"\\\\/😀]{0,10}".prop_map(Leaf::Text),
        any::<i64>().prop_map(Leaf::Int),
        any::<bool>().prop_map(Leaf::Bool),
        prop::collection::vec("[a-z]{0,5}", 0..3).prop_map(Leaf::List),
    ]
}

fn content() -> impl Strategy<Value = Content> {
    let settings = prop::collection::vec(("[a-z][a-zA-Z_]{0,10}", leaf()), 0..6);
    let server = ("[a-z][a-z-]{0,7}", "[a-z/]{1,12}", prop::collection::vec("[a-z-]{0,6}", 0..3));
    let servers = prop::option::weighted(0.7, prop::collection::vec(server, 0..4));
    (settings, servers, any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(settings, servers, comments, trailing, odd)| {
            let mut seen = std::collections::HashSet::new();
            let settings = settings.into_iter().filter(|(k, _)| seen.insert(k.clone())).collect();
            let servers = servers.map(|s| {
                let mut seen = std::collections::HashSet::from(["serena".to_owned()]);
                s.into_iter().filter(|(k, _, _)| seen.insert(k.clone())).collect()
            });
            Content { settings, servers, comments, trailing, odd }
        },
    )
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

fn json_leaf(leaf: &Leaf) -> String {
    match leaf {
        Leaf::Text(s) => json_string(s),
        Leaf::Int(i) => i.to_string(),
        Leaf::Bool(b) => b.to_string(),
        Leaf::List(items) => {
            format!("[{}]", items.iter().map(|s| json_string(s)).collect::<Vec<_>>().join(", "))
        }
    }
}

fn toml_leaf(leaf: &Leaf) -> String {
    match leaf {
        Leaf::List(items) => {
            format!("[{}]", items.iter().map(|s| json_string(s)).collect::<Vec<_>>().join(", "))
        }
        other => json_leaf(other),
    }
}

/// `content` as a JSON file, with comments (`comments`) and trailing commas (`commas`) where
/// the client takes them and the content asks for them.
fn json_text(content: &Content, key: &str, comments: bool, commas: bool) -> String {
    let comment = |what: &str| {
        if comments && content.comments { format!("  // about {what}\n") } else { String::new() }
    };
    let sep = if content.odd { " :  " } else { ": " };
    let mut members: Vec<String> = content
        .settings
        .iter()
        .map(|(k, v)| format!("{}  {}{sep}{}", comment(k), json_string(k), json_leaf(v)))
        .collect();
    if let Some(servers) = &content.servers {
        let inner: Vec<String> = servers
            .iter()
            .map(|(name, command, args)| {
                let args: Vec<String> = args.iter().map(|a| json_string(a)).collect();
                format!(
                    "    {}: {{\"command\": {}, \"args\": [{}]}}",
                    json_string(name),
                    json_string(command),
                    args.join(", ")
                )
            })
            .collect();
        let body = if inner.is_empty() {
            "{}".to_owned()
        } else {
            let end = if commas && content.trailing { "," } else { "" };
            format!("{{\n{}{end}\n  }}", inner.join(",\n"))
        };
        members.push(format!("{}  {}{sep}{body}", comment(key), json_string(key)));
    }
    if members.is_empty() {
        return if content.odd { "{ }\n".to_owned() } else { "{}\n".to_owned() };
    }
    let end = if commas && content.trailing { "," } else { "" };
    let tail = if comments && content.comments { "\n/* the end */\n" } else { "\n" };
    format!("{{\n{}{end}\n}}{tail}", members.join(",\n"))
}

/// `content` as Codex's TOML: settings at the top, each server a `[mcp_servers.NAME]` table.
fn toml_text(content: &Content) -> String {
    let mut text = String::new();
    if content.comments {
        text.push_str("# Codex settings\n");
    }
    let sep = if content.odd { "   =  " } else { " = " };
    for (k, v) in &content.settings {
        text.push_str(&format!("{k}{sep}{}\n", toml_leaf(v)));
    }
    for (name, command, args) in content.servers.iter().flatten() {
        if content.comments {
            text.push_str(&format!("\n# {name}, for the team\n"));
        } else {
            text.push('\n');
        }
        text.push_str(&format!(
            "[mcp_servers.{}]\ncommand{sep}{}\n",
            json_string(name),
            json_string(command)
        ));
        let args: Vec<String> = args.iter().map(|a| json_string(a)).collect();
        text.push_str(&format!(
            "args = [{}]{}\n",
            args.join(", "),
            if content.odd { "  # args" } else { "" }
        ));
    }
    if content.comments {
        text.push_str("\n[profiles.slow]\nmodel = \"o3\" # kept\n");
    }
    text
}

fn text_for(client: Client, content: &Content) -> String {
    match client.syntax() {
        Syntax::Json => json_text(content, client.servers_key(), false, false),
        Syntax::JsonComments => json_text(content, client.servers_key(), true, false),
        Syntax::Jsonc => json_text(content, client.servers_key(), true, true),
        Syntax::Toml => toml_text(content),
    }
}

/// Whether `after` is `before` with characters inserted only (nothing deleted or changed).
fn only_inserted(before: &str, after: &str) -> bool {
    similar::TextDiff::from_chars(before, after)
        .ops()
        .iter()
        .all(|op| matches!(op.tag(), similar::DiffTag::Equal | similar::DiffTag::Insert))
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 48,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_clients_file_keeps_everything_but_our_entry(
        content in content(),
        which in 0usize..7,
        project in any::<bool>(),
    ) {
        let client = others()[which];
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join("proj");
        std::fs::create_dir_all(&dir).unwrap();
        let writer = writer(home.path());
        let scope = if project && client.has_project() {
            Scope::of(client, "project", &dir).unwrap()
        } else {
            Scope::of(client, "user", &dir).unwrap()
        };
        let file = scope.file(home.path());
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        let text = text_for(client, &content);
        std::fs::write(&file, &text).unwrap();
        let theirs = writer.list(&scope).unwrap();
        prop_assert_eq!(theirs.len(), content.servers.as_ref().map_or(0, Vec::len), "{}", text);

        let change = writer.commit(&put(&scope, 8080)).unwrap();
        prop_assert_eq!(change.outcome, Outcome::Added);
        let written = std::fs::read_to_string(&file).unwrap();
        prop_assert!(only_inserted(&text, &written), "{} became {}", text, written);
        prop_assert_eq!(std::fs::read_to_string(change.backup.unwrap()).unwrap(), text.clone());
        let listed = writer.list(&scope).unwrap();
        let (ours, rest): (Vec<_>, Vec<_>) = listed.into_iter().partition(|l| l.name == "serena");
        prop_assert_eq!(&rest, &theirs);
        prop_assert_eq!(ours.len(), 1);
        prop_assert!(ours[0].ours);
        prop_assert_eq!(Some(ours[0].entry.clone()), render(client, &entry(client, 8080)));

        // Rewritten at another port: ours alone changes; removed: the file as it was.
        prop_assert_eq!(writer.commit(&put(&scope, 9090)).unwrap().outcome, Outcome::Replaced);
        let rewritten = writer.list(&scope).unwrap();
        prop_assert_eq!(rewritten.iter().filter(|l| l.name != "serena").cloned().collect::<Vec<_>>(), theirs.clone());
        let remove = Edit { op: Op::Remove, ..put(&scope, 0) };
        prop_assert_eq!(writer.commit(&remove).unwrap().outcome, Outcome::Removed);
        let after = std::fs::read_to_string(&file).unwrap();
        if content.servers.is_some() || client.syntax() == Syntax::Toml {
            prop_assert_eq!(&after, &text);
        } else {
            prop_assert!(only_inserted(&text, &after), "{} became {}", text, after);
        }
    }

    #[test]
    fn a_malformed_file_of_any_client_is_refused_where_it_breaks(
        content in content(),
        which in 0usize..7,
        cut in 1usize..400,
    ) {
        let client = others()[which];
        let home = tempfile::tempdir().unwrap();
        let writer = writer(home.path());
        let scope = Scope::of(client, "user", home.path()).unwrap();
        let file = scope.file(home.path());
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        let valid = text_for(client, &content);
        // Cut short in the middle of it (after the first character).
        let bounds: Vec<usize> = valid.char_indices().map(|(i, _)| i).filter(|i| *i > 0).collect();
        // An empty file (or one of one character) has nowhere to be cut.
        prop_assume!(!bounds.is_empty());
        let broken = valid[..bounds[cut % bounds.len()]].to_owned();
        std::fs::write(&file, &broken).unwrap();
        match writer.commit(&put(&scope, 8080)) {
            Err(ConfigError::Malformed { path, source, .. }) => {
                prop_assert_eq!(&path, &file);
                let message = source.to_string();
                let mut at = message.splitn(3, ':');
                let line = at.next().unwrap_or_default();
                let column = at.next().unwrap_or_default();
                prop_assert!(line.parse::<usize>().is_ok() && column.parse::<usize>().is_ok(), "{}", message);
            }
            // A cut that leaves a valid file (TOML cut after a whole line) is written as usual.
            Ok(_) => prop_assume!(false),
            Err(other) => prop_assert!(false, "expected a refusal, got {:?}", other),
        }
        prop_assert_eq!(std::fs::read_to_string(&file).unwrap(), broken);
        prop_assert!(!home.path().join("state/clientconfig/backups").exists(), "no backup");
    }
}

#[test]
fn another_clients_entry_we_did_not_write_is_kept_unless_forced() {
    let home = tempfile::tempdir().unwrap();
    let writer = writer(home.path());
    let scope = Scope::of(Client::Codex, "user", home.path()).unwrap();
    let theirs = "[mcp_servers.serena]\ncommand = \"uvx\"\nargs = [\"serena\"]\n";
    let file = scope.file(home.path());
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, theirs).unwrap();
    let err = writer.commit(&put(&scope, 8080)).unwrap_err();
    assert!(matches!(err, ConfigError::NotOurs { .. }), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), theirs);
    let remove = Edit { op: Op::Remove, ..put(&scope, 0) };
    assert!(matches!(writer.commit(&remove), Err(ConfigError::NotOurs { .. })));
    let forced = Edit { force: true, ..put(&scope, 8080) };
    assert_eq!(writer.commit(&forced).unwrap().outcome, Outcome::Replaced);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "[mcp_servers.serena]\nurl = \"http://127.0.0.1:8080/mcp\"\n"
    );
    // Ours now; a user's edit makes it theirs again.
    assert_eq!(writer.commit(&put(&scope, 9090)).unwrap().outcome, Outcome::Replaced);
    let edited = std::fs::read_to_string(&file).unwrap().replace("9090", "7070");
    std::fs::write(&file, edited).unwrap();
    assert!(matches!(writer.commit(&put(&scope, 8080)), Err(ConfigError::NotOurs { .. })));
}

#[test]
fn modes_are_kept_new_user_files_are_private_and_read_only_ones_refused() {
    use std::os::unix::fs::PermissionsExt;
    let home = tempfile::tempdir().unwrap();
    let writer = writer(home.path());
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    for client in others() {
        let scope = Scope::of(client, "user", home.path()).unwrap();
        writer.commit(&put(&scope, 8080)).unwrap();
        assert_eq!(mode(&scope.file(home.path())), 0o600, "{client}: a new user file");
    }
    let dir = home.path().join("p");
    let scope = Scope::of(Client::VsCode, "project", &dir).unwrap();
    let file = scope.file(home.path());
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, "{}").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    writer.commit(&put(&scope, 8080)).unwrap();
    assert_eq!(mode(&file), 0o640, "the mode is kept");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o440)).unwrap();
    let before = std::fs::read_to_string(&file).unwrap();
    let err = writer.commit(&put(&scope, 9090)).unwrap_err();
    assert!(matches!(err, ConfigError::ReadOnly { mode: 0o440, .. }), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);
}

#[test]
fn an_entry_a_client_cannot_read_as_meant_is_refused_untouched() {
    let home = tempfile::tempdir().unwrap();
    let writer = writer(home.path());
    // A token helper is Claude Code's alone; a remote URL is ignored by Claude Desktop.
    let helper = Entry::Http {
        url: "https://gw/mcp".into(),
        headers: vec![],
        headers_helper: Some("mcp-connect token gw --headers".into()),
    };
    for (client, entry) in
        [(Client::Cursor, helper), (Client::ClaudeDesktop, entry(Client::Cursor, 1))]
    {
        let scope = Scope::of(client, "user", home.path()).unwrap();
        let edit =
            Edit { scope: scope.clone(), name: "serena".into(), op: Op::Put(entry), force: true };
        let err = writer.commit(&edit).unwrap_err();
        assert!(matches!(err, ConfigError::Inexpressible { .. }), "{client}: {err}");
        assert!(!scope.file(home.path()).exists(), "{client}: nothing written");
    }
}

//! Each client's shape of one server entry, from the [`Entry`] mcp-connect computes for a
//! route (Claude Code's own shape). A client that cannot say what a route needs (a token
//! minted per connection, an SSE endpoint, a credential by reference) gets mcp-connect's stdio
//! bridge instead, as Claude Code does for a pinned certificate: see [`Entry::for_client`].
//!
//! | client         | remote entry                                   | credential reference |
//! |----------------|------------------------------------------------|----------------------|
//! | Claude Code    | `{type: "http", url, headers, headersHelper}`  | `${VAR}`             |
//! | Claude Desktop | none: stdio `{command, args, env}` only         |                      |
//! | Cursor         | `{url, headers}`                               | `${env:VAR}`         |
//! | VS Code        | `{type: "http", url, headers}`                 | `${env:VAR}`         |
//! | Windsurf       | `{serverUrl, headers}`                         | `${env:VAR}`         |
//! | Zed            | `{url, headers}` (streamable HTTP only)         | none                 |
//! | Codex CLI      | `url`, `http_headers` (streamable HTTP only)    | `bearer_token_env_var`, `env_http_headers` |
//! | Gemini CLI     | `{httpUrl, headers}` or SSE `{url, headers}`   | `${VAR}`             |

use serde_json::{Map, Value, json};

use super::client::Client;
use super::entry::Entry;

/// `client`'s JSON for `entry` (for Codex, the JSON of its TOML table); `None` when the client
/// cannot express it.
pub fn render(client: Client, entry: &Entry) -> Option<Value> {
    if client == Client::ClaudeCode {
        return Some(entry.to_json());
    }
    match entry {
        Entry::Stdio { command, args, env } => Some(stdio(client, command, args, env)),
        _ if client.stdio_only() => None,
        Entry::Http { headers_helper: Some(_), .. } => None,
        Entry::Http { url, headers, .. } => remote(client, url, headers, false),
        Entry::Sse { url, headers } => remote(client, url, headers, true),
    }
}

fn stdio(client: Client, command: &str, args: &[String], env: &[(String, String)]) -> Value {
    let mut entry = Map::new();
    if client == Client::VsCode {
        entry.insert("type".into(), "stdio".into());
    }
    entry.insert("command".into(), command.into());
    entry.insert("args".into(), json!(args));
    if !env.is_empty() {
        entry.insert("env".into(), object(env));
    }
    Value::Object(entry)
}

fn remote(client: Client, url: &str, headers: &[(String, String)], sse: bool) -> Option<Value> {
    let mut entry = Map::new();
    match client {
        Client::Codex => return codex(url, headers, sse),
        Client::Zed if sse => return None,
        Client::Cursor | Client::Zed => {
            entry.insert("url".into(), url.into());
        }
        Client::VsCode => {
            entry.insert("type".into(), if sse { "sse" } else { "http" }.into());
            entry.insert("url".into(), url.into());
        }
        Client::Windsurf => {
            entry.insert("serverUrl".into(), url.into());
        }
        Client::Gemini => {
            entry.insert(if sse { "url" } else { "httpUrl" }.into(), url.into());
        }
        Client::ClaudeCode | Client::ClaudeDesktop => return None,
    }
    let headers: Option<Vec<(String, String)>> =
        headers.iter().map(|(k, v)| Some((k.clone(), reference(client, v)?))).collect();
    let headers = headers?;
    if !headers.is_empty() {
        entry.insert("headers".into(), object(&headers));
    }
    Some(Value::Object(entry))
}

/// Codex's table: `url`, then `bearer_token_env_var` for `Authorization: Bearer ${VAR}`,
/// `env_http_headers` for a header that is a whole `${VAR}`, `http_headers` for the rest.
fn codex(url: &str, headers: &[(String, String)], sse: bool) -> Option<Value> {
    if sse {
        return None;
    }
    let mut entry = Map::new();
    entry.insert("url".into(), url.into());
    let (mut plain, mut from_env) = (Vec::new(), Vec::new());
    for (name, value) in headers {
        let bearer = value.strip_prefix("Bearer ").and_then(whole_reference);
        match (bearer, whole_reference(value)) {
            (Some(var), _) if name.eq_ignore_ascii_case("authorization") => {
                entry.insert("bearer_token_env_var".into(), var.into());
            }
            (_, Some(var)) => from_env.push((name.clone(), var.to_owned())),
            _ if value.contains("${") => return None,
            _ => plain.push((name.clone(), value.clone())),
        }
    }
    if !plain.is_empty() {
        entry.insert("http_headers".into(), object(&plain));
    }
    if !from_env.is_empty() {
        entry.insert("env_http_headers".into(), object(&from_env));
    }
    Some(Value::Object(entry))
}

/// `VAR` when `value` is exactly `${VAR}`.
fn whole_reference(value: &str) -> Option<&str> {
    let var = value.strip_prefix("${")?.strip_suffix('}')?;
    is_var(var).then_some(var)
}

fn is_var(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `value` with each `${VAR}` in `client`'s own form; `None` when it has none.
fn reference(client: Client, value: &str) -> Option<String> {
    if !value.contains("${") {
        return Some(value.to_owned());
    }
    let form = match client {
        Client::Cursor | Client::VsCode | Client::Windsurf => "env:",
        Client::Gemini | Client::ClaudeCode => "",
        _ => return None,
    };
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        let end = rest[start..].find('}')? + start;
        let var = &rest[start + 2..end];
        if !is_var(var) {
            return None;
        }
        out.push_str(&rest[..start]);
        out.push_str(&format!("${{{form}{var}}}"));
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

fn object(pairs: &[(String, String)]) -> Value {
    Value::Object(pairs.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer() -> Entry {
        Entry::Http {
            url: "https://mcp.example.com/mcp".into(),
            headers: vec![
                ("Authorization".into(), "Bearer ${SERENA_TOKEN}".into()),
                ("X-Team".into(), "blue".into()),
            ],
            headers_helper: None,
        }
    }

    #[test]
    fn a_credential_is_written_in_each_clients_own_reference_form() {
        let auth = |c| render(c, &bearer()).map(|v| v["headers"]["Authorization"].clone());
        assert_eq!(auth(Client::Cursor), Some(json!("Bearer ${env:SERENA_TOKEN}")));
        assert_eq!(auth(Client::VsCode), Some(json!("Bearer ${env:SERENA_TOKEN}")));
        assert_eq!(auth(Client::Windsurf), Some(json!("Bearer ${env:SERENA_TOKEN}")));
        assert_eq!(auth(Client::Gemini), Some(json!("Bearer ${SERENA_TOKEN}")));
        assert_eq!(render(Client::Zed, &bearer()), None, "Zed has no reference form");
        assert_eq!(
            render(Client::Codex, &bearer()),
            Some(json!({"url": "https://mcp.example.com/mcp",
                        "bearer_token_env_var": "SERENA_TOKEN",
                        "http_headers": {"X-Team": "blue"}}))
        );
    }

    #[test]
    fn what_a_client_cannot_say_is_refused_here() {
        let helper = Entry::Http {
            url: "https://g/mcp".into(),
            headers: vec![],
            headers_helper: Some("mcp-connect token g --headers".into()),
        };
        let sse = Entry::Sse { url: "http://h/sse".into(), headers: vec![] };
        for client in Client::ALL.into_iter().filter(|c| *c != Client::ClaudeCode) {
            assert_eq!(render(client, &helper), None, "{client}");
        }
        assert_eq!(render(Client::Codex, &sse), None);
        assert_eq!(render(Client::Zed, &sse), None);
        assert_eq!(render(Client::ClaudeDesktop, &sse), None);
        assert_eq!(render(Client::Gemini, &sse), Some(json!({"url": "http://h/sse"})));
        assert_eq!(reference(Client::Cursor, "${not a var}"), None);
    }
}

//! The seed document's mistakes, recognised in entries that mcp-connect did not write, so that
//! `config show` and a refused write can say what is wrong with them.

use serde_json::Value;

use super::client::Client;

/// The URL of a remote entry, under whichever key its client reads it (`url`, Gemini CLI's
/// `httpUrl`, Windsurf's `serverUrl`).
pub fn url_of(entry: &Value) -> Option<&str> {
    ["url", "httpUrl", "serverUrl"].iter().find_map(|k| entry.get(*k).and_then(Value::as_str))
}

/// What is wrong with `entry`, found in `client`'s file: [`problem`], and what that client
/// would make of it.
pub fn problem_in(client: Client, entry: &Value) -> Option<String> {
    if client == Client::ClaudeDesktop && url_of(entry).is_some() {
        return Some(
            "Claude Desktop ignores a remote URL in this file (it launches stdio servers only); \
             `mcp-connect config write PROFILE --client claude-desktop --scope user` writes the \
             stdio bridge"
                .to_owned(),
        );
    }
    problem(entry)
}

/// What is wrong with `entry`, if it is one of the known broken shapes.
pub fn problem(entry: &Value) -> Option<String> {
    let text = |key: &str| entry.get(key).and_then(Value::as_str).unwrap_or_default();
    let args: Vec<&str> = entry
        .get("args")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if args
        .iter()
        .chain([&text("command")])
        .any(|a| a.contains("@modelcontextprotocol/server-http-client"))
    {
        return Some(
            "it runs @modelcontextprotocol/server-http-client, which does not exist on npm (the \
             seed document's entry): it can never connect"
                .to_owned(),
        );
    }
    let tls_off = entry
        .get("env")
        .and_then(|env| env.get("NODE_TLS_REJECT_UNAUTHORIZED"))
        .is_some_and(|v| v.as_str() == Some("0"));
    if tls_off {
        return Some(
            "it sets NODE_TLS_REJECT_UNAUTHORIZED=0, which turns TLS verification off for the \
             whole process"
                .to_owned(),
        );
    }
    let url = url_of(entry).unwrap_or_default();
    if matches!(text("type"), "http" | "") && !url.is_empty() {
        let path = url::Url::parse(url).map(|u| u.path().to_owned()).unwrap_or_default();
        if matches!(path.as_str(), "" | "/" | "/sse" | "/message") {
            return Some(format!(
                "its URL ends in {path:?}; Serena serves streamable HTTP at /mcp (`mcp-connect \
                 probe {url}` shows it)"
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_seeds_entries_are_recognised_and_good_ones_pass() {
        let seed = json!({"command": "npx", "args": ["-y", "@modelcontextprotocol/server-http-client", "http://localhost:8080"]});
        assert!(problem(&seed).unwrap().contains("does not exist on npm"));
        let insecure =
            json!({"command": "npx", "args": ["x"], "env": {"NODE_TLS_REJECT_UNAUTHORIZED": "0"}});
        assert!(problem(&insecure).unwrap().contains("TLS verification off"));
        let root = json!({"type": "http", "url": "http://127.0.0.1:8080/"});
        assert!(problem(&root).unwrap().contains("serves streamable HTTP at /mcp"));
        assert_eq!(problem(&json!({"type": "http", "url": "http://127.0.0.1:8080/mcp"})), None);
        assert_eq!(problem(&json!({"type": "stdio", "command": "uvx", "args": ["serena"]})), None);
        let gemini = json!({"httpUrl": "http://127.0.0.1:8080/"});
        assert!(problem_in(Client::Gemini, &gemini).unwrap().contains("at /mcp"));
        let remote = json!({"url": "http://127.0.0.1:8080/mcp"});
        assert!(problem_in(Client::ClaudeDesktop, &remote).unwrap().contains("ignores a remote"));
        assert_eq!(problem_in(Client::Cursor, &remote), None);
    }
}

//! A Claude Code MCP server entry, in the client's own shape:
//! `{"type":"http","url":…,"headers":{…}}`, `{"type":"sse",…}`, or
//! `{"type":"stdio","command":…,"args":[…],"env":{…}}`, plus `headersHelper` for http.

use serde_json::{Map, Value, json};

use crate::profile::{Auth, Profile};

use super::scope::Scope;

/// One entry of `mcpServers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Http { url: String, headers: Vec<(String, String)>, headers_helper: Option<String> },
    Sse { url: String, headers: Vec<(String, String)> },
    Stdio { command: String, args: Vec<String>, env: Vec<(String, String)> },
}

/// Why a profile has no entry this version can write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoEntry {
    pub cause: String,
    pub fix: String,
}

impl Entry {
    /// The entry for `profile`, pointing at its local endpoint (`local_port` overriding the
    /// profile's). Credentials are written as `${VAR}` references, never as values.
    pub fn for_profile(profile: &Profile, local_port: Option<u16>) -> Result<Entry, NoEntry> {
        let mut url = profile.local_endpoint();
        if let Some(port) = local_port {
            let _ = url.set_port(Some(port));
        }
        let mut headers = Vec::new();
        match &profile.auth {
            Auth::None => {}
            Auth::Bearer(bearer) => {
                headers.push(("Authorization".to_owned(), format!("Bearer ${{{}}}", bearer.env)));
            }
            Auth::Jwt(_) => {
                return Err(NoEntry {
                    cause: format!(
                        "profile {} needs a JWT minted from the gateway's secret, which this \
                         version cannot mint for Claude Code yet",
                        profile.name
                    ),
                    fix: "use the serena-direct route for now".to_owned(),
                });
            }
        }
        let url = url.to_string();
        Ok(match profile.endpoint.transport {
            crate::profile::Transport::Sse => Entry::Sse { url, headers },
            _ => Entry::Http { url, headers, headers_helper: None },
        })
    }

    /// The JSON Claude Code reads, keys in the order `claude mcp add` writes them.
    pub fn to_json(&self) -> Value {
        let pairs = |pairs: &[(String, String)]| {
            Value::Object(
                pairs.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect(),
            )
        };
        match self {
            Entry::Http { url, headers, headers_helper } => {
                let mut entry = Map::new();
                entry.insert("type".into(), "http".into());
                entry.insert("url".into(), url.as_str().into());
                if !headers.is_empty() {
                    entry.insert("headers".into(), pairs(headers));
                }
                if let Some(helper) = headers_helper {
                    entry.insert("headersHelper".into(), helper.as_str().into());
                }
                Value::Object(entry)
            }
            Entry::Sse { url, headers } if headers.is_empty() => json!({"type": "sse", "url": url}),
            Entry::Sse { url, headers } => {
                json!({"type": "sse", "url": url, "headers": pairs(headers)})
            }
            Entry::Stdio { command, args, env } => {
                json!({"type": "stdio", "command": command, "args": args, "env": pairs(env)})
            }
        }
    }

    /// Whether the entry carries a credential in the clear (not a `${VAR}` reference), so that
    /// the file holding it must not be readable by others.
    pub fn holds_secret(&self) -> bool {
        let literal = |v: &str| !v.trim_start_matches("Bearer ").trim().starts_with("${");
        match self {
            Entry::Http { headers, .. } | Entry::Sse { headers, .. } => {
                headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("authorization") && literal(v))
            }
            Entry::Stdio { env, .. } => env.iter().any(|(k, v)| {
                let k = k.to_ascii_uppercase();
                (k.contains("TOKEN") || k.contains("SECRET")) && !v.starts_with("${")
            }),
        }
    }

    /// The `claude mcp add …` command that makes the same entry.
    pub fn claude_add_command(&self, name: &str, scope: &Scope) -> String {
        let mut words: Vec<String> =
            ["claude", "mcp", "add", "--scope", scope.name()].map(String::from).to_vec();
        let header_flags = |words: &mut Vec<String>, headers: &[(String, String)]| {
            for (k, v) in headers {
                words.extend(["--header".to_owned(), format!("{k}: {v}")]);
            }
        };
        match self {
            // `mcp add` has no flag for it: the JSON form says everything.
            Entry::Http { headers_helper: Some(_), .. } => {
                words[2] = "add-json".to_owned();
                words.extend([name.to_owned(), self.to_json().to_string()]);
            }
            Entry::Http { url, headers, .. } | Entry::Sse { url, headers } => {
                let transport = if matches!(self, Entry::Sse { .. }) { "sse" } else { "http" };
                words.extend(["--transport".to_owned(), transport.to_owned()]);
                header_flags(&mut words, headers);
                words.extend([name.to_owned(), url.clone()]);
            }
            Entry::Stdio { command, args, env } => {
                for (k, v) in env {
                    words.extend(["-e".to_owned(), format!("{k}={v}")]);
                }
                words.extend([name.to_owned(), "--".to_owned(), command.clone()]);
                words.extend(args.iter().cloned());
            }
        }
        scope.in_project(&shell_words::join(&words))
    }
}

//! A Claude Code MCP server entry, in the client's own shape:
//! `{"type":"http","url":…,"headers":{…}}`, `{"type":"sse",…}`, or
//! `{"type":"stdio","command":…,"args":[…],"env":{…}}`, plus `headersHelper` for http.

use std::path::Path;

use serde_json::{Map, Value, json};

use crate::profile::{Auth, Link, Profile};

use super::client::Client;
use super::scope::Scope;
use crate::trouble::Trouble;

/// One entry of `mcpServers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Http { url: String, headers: Vec<(String, String)>, headers_helper: Option<String> },
    Sse { url: String, headers: Vec<(String, String)> },
    Stdio { command: String, args: Vec<String>, env: Vec<(String, String)> },
}

/// How Claude Code starts mcp-connect itself (the stdio bridge, the token helper): the program
/// by absolute path, and the global flags that find the same profiles and cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launcher {
    pub program: String,
    pub args: Vec<String>,
}

impl Default for Launcher {
    fn default() -> Self {
        Launcher { program: "mcp-connect".to_owned(), args: Vec::new() }
    }
}

impl Launcher {
    /// This very program, with `args` (e.g. `--profiles DIR`) before every command.
    pub fn current(args: Vec<String>) -> Launcher {
        let program = std::env::current_exe()
            .ok()
            .and_then(|p| p.to_str().map(str::to_owned))
            .unwrap_or_else(|| "mcp-connect".to_owned());
        Launcher { program, args }
    }

    /// This launcher for a client that may start the bridge without the user's environment
    /// (Codex passes a server only HOME, PATH and a few more; Claude Desktop is started by the
    /// desktop, not a shell): the profiles directory and kubeconfig in effect named on the
    /// command line, unless they already are. Claude Code keeps the environment: as is.
    pub fn for_client(&self, client: Client, profiles: &Path, kubeconfig: Option<&Path>) -> Self {
        if client == Client::ClaudeCode {
            return self.clone();
        }
        let mut args = Vec::new();
        let has = |flag: &str| self.args.iter().any(|a| a == flag);
        if let Some(kubeconfig) = kubeconfig.filter(|_| !has("--kubeconfig")) {
            args.extend(["--kubeconfig".to_owned(), kubeconfig.display().to_string()]);
        }
        if !has("--profiles") {
            args.extend(["--profiles".to_owned(), profiles.display().to_string()]);
        }
        args.extend(self.args.iter().cloned());
        Launcher { program: self.program.clone(), args }
    }

    /// `$KUBECONFIG` when it names one file (`--kubeconfig` takes one, where the variable may
    /// list several), made absolute: what [`Launcher::for_client`] names for the bridge.
    pub fn kubeconfig_from_env() -> Option<std::path::PathBuf> {
        let value = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty())?;
        let mut files = std::env::split_paths(&value);
        let (Some(file), None) = (files.next(), files.next()) else { return None };
        std::path::absolute(file).ok()
    }

    fn with(&self, command: &[&str]) -> Vec<String> {
        self.args.iter().cloned().chain(command.iter().map(|w| (*w).to_owned())).collect()
    }

    /// The whole command line, quoted for a shell (`headersHelper` is run by one).
    fn shell(&self, command: &[&str]) -> String {
        let words: Vec<String> =
            std::iter::once(self.program.clone()).chain(self.with(command)).collect();
        shell_words::join(words)
    }
}

impl Entry {
    /// The entry for `profile`, pointing at its local endpoint (`local_port` overriding the
    /// profile's). Credentials are written as `${VAR}` references, never as values. A route
    /// whose certificate is pinned (or signed by a private CA) goes through mcp-connect's stdio
    /// bridge, which verifies it; a JWT route whose certificate is publicly trusted gets the
    /// token from `headersHelper` at each connection. No token is ever written.
    pub fn for_profile(
        profile: &Profile,
        local_port: Option<u16>,
        launcher: &Launcher,
    ) -> Result<Entry, Trouble> {
        let name = profile.name.as_str();
        if matches!(profile.link, Link::Router(_)) {
            // The router holds the gateways' credentials and TLS: the entry names its face only.
            let mut url = profile.local_endpoint();
            if let Some(port) = local_port {
                let _ = url.set_port(Some(port));
            }
            return Ok(Entry::Http {
                url: url.to_string(),
                headers: Vec::new(),
                headers_helper: None,
            });
        }
        let private_tls =
            profile.tls.as_ref().is_some_and(|t| t.pin_sha256.is_some() || t.ca_file.is_some());
        if private_tls {
            return Ok(Entry::bridge(profile, local_port, launcher));
        }
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
                let helper = launcher.shell(&["token", name, "--headers"]);
                return Ok(Entry::Http {
                    url: url.to_string(),
                    headers,
                    headers_helper: Some(helper),
                });
            }
        }
        let url = url.to_string();
        Ok(match profile.endpoint.transport {
            crate::profile::Transport::Sse => Entry::Sse { url, headers },
            _ => Entry::Http { url, headers, headers_helper: None },
        })
    }

    /// mcp-connect's stdio bridge to `profile`'s endpoint (`local_port`: the forward's port,
    /// when not the profile's).
    pub fn bridge(profile: &Profile, local_port: Option<u16>, launcher: &Launcher) -> Entry {
        let mut args = launcher.with(&["bridge", profile.name.as_str()]);
        if let Some(port) = local_port.filter(|_| matches!(profile.link, Link::PortForward(_))) {
            args.extend(["--local-port".to_owned(), port.to_string()]);
        }
        Entry::Stdio { command: launcher.program.clone(), args, env: Vec::new() }
    }

    /// The entry for `profile` in `client`'s file: [`Entry::for_profile`]'s when the client can
    /// express it (see [`super::shape`]), else the stdio bridge.
    pub fn for_client(
        profile: &Profile,
        local_port: Option<u16>,
        launcher: &Launcher,
        client: Client,
    ) -> Result<Entry, Trouble> {
        let entry = Entry::for_profile(profile, local_port, launcher)?;
        Ok(match super::shape::render(client, &entry) {
            Some(_) => entry,
            None => Entry::bridge(profile, local_port, launcher),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Catalog, Sha256Pin};

    fn builtin(name: &str) -> Profile {
        Catalog::builtin().get(name).and_then(|e| e.profile.clone().ok()).expect("a built-in")
    }

    fn launcher() -> Launcher {
        Launcher {
            program: "/opt/my tools/mcp-connect".to_owned(),
            args: vec!["--profiles".to_owned(), "/p".to_owned()],
        }
    }

    fn pinned(name: &str) -> Profile {
        let mut profile = builtin(name);
        let pin = Sha256Pin::try_from("ab".repeat(32).as_str()).unwrap();
        profile.tls.as_mut().expect("gateway routes have tls").pin_sha256 = Some(pin);
        profile
    }

    #[test]
    fn a_jwt_route_with_a_public_certificate_gets_its_token_from_headers_helper() {
        let entry =
            Entry::for_profile(&builtin("gateway-loadbalancer"), None, &launcher()).unwrap();
        let json = entry.to_json();
        assert_eq!(json["type"], "http");
        assert_eq!(
            json["headersHelper"],
            "'/opt/my tools/mcp-connect' --profiles /p token gateway-loadbalancer --headers"
        );
        assert!(json.get("headers").is_none(), "no token is written: {json}");
    }

    #[test]
    fn a_pinned_route_goes_through_the_stdio_bridge_with_the_port_it_runs_on() {
        let entry = Entry::for_profile(&pinned("gateway-port-forward"), None, &launcher()).unwrap();
        assert_eq!(
            entry.to_json(),
            json!({"type": "stdio", "command": "/opt/my tools/mcp-connect",
                   "args": ["--profiles", "/p", "bridge", "gateway-port-forward"], "env": {}})
        );
        let moved = Entry::for_profile(&pinned("gateway-port-forward"), Some(18443), &launcher());
        let args = moved.unwrap().to_json()["args"].clone();
        assert_eq!(
            args,
            json!(["--profiles", "/p", "bridge", "gateway-port-forward", "--local-port", "18443"])
        );
        let direct = Entry::for_profile(&pinned("gateway-loadbalancer"), Some(1), &launcher());
        let args = direct.unwrap().to_json()["args"].clone();
        assert_eq!(args, json!(["--profiles", "/p", "bridge", "gateway-loadbalancer"]));
        assert!(!entry.holds_secret());
    }

    #[test]
    fn a_client_that_drops_the_environment_gets_the_profiles_and_kubeconfig_named() {
        let plain = Launcher { program: "/bin/mcp-connect".into(), args: vec![] };
        let (profiles, kube) = (Path::new("/c/profiles"), Some(Path::new("/k/config")));
        let codex = plain.for_client(Client::Codex, profiles, kube);
        assert_eq!(codex.args, ["--kubeconfig", "/k/config", "--profiles", "/c/profiles"]);
        assert_eq!(plain.for_client(Client::ClaudeCode, profiles, kube), plain);
        let given = launcher().for_client(Client::ClaudeDesktop, profiles, None);
        assert_eq!(given.args, ["--profiles", "/p"], "what was given stays");
    }

    #[test]
    fn the_router_route_names_its_face_only_the_router_holding_the_credentials() {
        let router = builtin("router");
        let entry = Entry::for_profile(&router, None, &launcher()).unwrap();
        assert_eq!(entry.to_json(), json!({"type": "http", "url": "http://127.0.0.1:8080/mcp"}));
        let moved = Entry::for_profile(&router, Some(18080), &launcher()).unwrap();
        assert_eq!(moved.to_json()["url"], "http://127.0.0.1:18080/mcp");
    }
}

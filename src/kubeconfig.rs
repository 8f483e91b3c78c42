//! Which kubeconfig and context a command uses, resolved as kubectl resolves them.
//!
//! `--kubeconfig FILE` wins, then `KUBECONFIG` (a list of files, merged, missing ones skipped),
//! then `~/.kube/config`. A leading `~` is expanded everywhere, which kubectl users expect and
//! some port-forward tools forget.

pub mod plugin;

use std::env;
use std::path::{Path, PathBuf};

use kube::config::{ExecConfig, KubeConfigOptions, Kubeconfig};

use crate::trouble::Trouble;

/// Where the kubeconfig files came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    Flag,
    Env,
    Default,
}

/// A kubeconfig that was found and read.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The files that were read, in merge order.
    pub files: Vec<PathBuf>,
    pub origin: Origin,
    pub config: Kubeconfig,
}

impl Loaded {
    pub fn current_context(&self) -> Option<&str> {
        self.config.current_context.as_deref().filter(|c| !c.is_empty())
    }

    pub fn contexts(&self) -> impl Iterator<Item = &str> {
        self.config.contexts.iter().map(|c| c.name.as_str())
    }

    /// A client for `context` (the current context when `None`).
    pub async fn client(&self, context: Option<&str>) -> Result<kube::Client, KubeconfigError> {
        let files = self.files.clone();
        let Some(context) = context.or_else(|| self.current_context()) else {
            return Err(KubeconfigError::NoContext { files });
        };
        if !self.contexts().any(|c| c == context) {
            let available = self.contexts().map(str::to_owned).collect();
            return Err(KubeconfigError::UnknownContext {
                context: context.into(),
                files,
                available,
            });
        }
        let options = KubeConfigOptions { context: Some(context.into()), ..Default::default() };
        let path = std::env::join_paths(&files).map(PathBuf::from).unwrap_or_default();
        let invalid = |cause: String| KubeconfigError::Invalid { path: path.clone(), cause };
        let config = kube::Config::from_custom_kubeconfig(quiet_plugins(&self.config), &options)
            .await
            .map_err(|e| invalid(e.to_string()))?;
        // kube-rs runs the user's credential plugin while it builds the client.
        client_for(config).map_err(|e| {
            plugin::cause_in(&e)
                .and_then(|auth| plugin::explain(auth, self.exec(context)))
                .map_or_else(|| invalid(e.to_string()), KubeconfigError::Plugin)
        })
    }

    /// The API server `context` (the current context when `None`) talks to, for naming it when
    /// it cannot be reached. Its URL is empty when the context or its cluster is not found.
    pub fn api_server(&self, context: Option<&str>) -> ApiServer {
        let context = context.or_else(|| self.current_context()).unwrap_or_default();
        let cluster = self
            .config
            .contexts
            .iter()
            .find(|c| c.name == context)
            .and_then(|c| c.context.as_ref())
            .map(|c| c.cluster.as_str());
        let url = self
            .config
            .clusters
            .iter()
            .find(|c| Some(c.name.as_str()) == cluster)
            .and_then(|c| c.cluster.as_ref()?.server.clone())
            .unwrap_or_default();
        ApiServer { url, context: context.to_owned() }
    }

    /// The credential plugin of `context`'s user, if it has one.
    fn exec(&self, context: &str) -> Option<&ExecConfig> {
        let named = self.config.contexts.iter().find(|c| c.name == context)?;
        let user = named.context.as_ref()?.user.as_deref()?;
        let info = self.config.auth_infos.iter().find(|a| a.name == user)?;
        info.auth_info.as_ref()?.exec.as_ref()
    }
}

/// The API server a kubeconfig context talks to: what a failure to reach it is named with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiServer {
    /// The cluster's `server` URL, as the kubeconfig writes it: `https://127.0.0.1:6443`.
    pub url: String,
    /// The context's name: `lab`.
    pub context: String,
}

impl ApiServer {
    /// The command that checks the same API server the way the user would.
    pub fn cluster_info(&self) -> String {
        match self.context.as_str() {
            "" => "kubectl cluster-info".to_owned(),
            context => format!("kubectl --context {context} cluster-info"),
        }
    }
}

/// `https://127.0.0.1:6443 (context lab)`.
impl std::fmt::Display for ApiServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.url.as_str(), self.context.as_str()) {
            ("", "") => f.write_str("(unknown)"),
            (url, "") => f.write_str(url),
            ("", context) => write!(f, "of context {context}"),
            (url, context) => write!(f, "{url} (context {context})"),
        }
    }
}

/// The kubeconfig with its credential plugins' stderr captured rather than passed through:
/// mcp-connect owns the terminal (the TUI draws on it), and what a failing plugin says goes
/// into the route's cause instead. A plugin that demands a terminal (`interactiveMode:
/// Always`) is left as it is.
fn quiet_plugins(config: &Kubeconfig) -> Kubeconfig {
    use kube::config::ExecInteractiveMode;
    let mut config = config.clone();
    let plugins = config.auth_infos.iter_mut().filter_map(|a| a.auth_info.as_mut()?.exec.as_mut());
    for exec in plugins {
        if exec.interactive_mode != Some(ExecInteractiveMode::Always) {
            exec.interactive_mode = Some(ExecInteractiveMode::Never);
        }
    }
    config
}

/// The context a profile runs in: `--context`, else the profile's own, else the current one.
pub fn effective_context<'a>(
    flag: Option<&'a str>,
    profile: Option<&'a str>,
    current: Option<&'a str>,
) -> Option<&'a str> {
    flag.or(profile).or(current)
}

#[derive(Debug, thiserror::Error)]
pub enum KubeconfigError {
    #[error("no kubeconfig found (tried {})", display_paths(.tried))]
    NotFound { tried: Vec<PathBuf> },
    #[error("cannot read kubeconfig {}: {cause}", .path.display())]
    Invalid { path: PathBuf, cause: String },
    #[error("no home directory to find ~/.kube/config in")]
    NoHome,
    #[error("context {context:?} is not in the kubeconfig ({})", display_paths(.files))]
    UnknownContext { context: String, files: Vec<PathBuf>, available: Vec<String> },
    #[error("no context given and no current-context in the kubeconfig ({})", display_paths(.files))]
    NoContext { files: Vec<PathBuf> },
    /// The user's credential plugin is missing or failed.
    #[error("{}", .0.cause)]
    Plugin(Trouble),
}

impl From<KubeconfigError> for Trouble {
    fn from(error: KubeconfigError) -> Trouble {
        match error {
            KubeconfigError::Plugin(trouble) => trouble,
            other => Trouble::new(other.to_string(), other.fix()),
        }
    }
}

impl KubeconfigError {
    pub fn fix(&self) -> String {
        match self {
            KubeconfigError::NotFound { .. } | KubeconfigError::NoHome => {
                "pass --kubeconfig FILE or set KUBECONFIG; to try mcp-connect without a cluster, \
                 run `mcp-connect demo`"
                    .to_owned()
            }
            KubeconfigError::UnknownContext { available, .. } if available.is_empty() => {
                "the kubeconfig has no contexts: pass another with --kubeconfig".into()
            }
            KubeconfigError::UnknownContext { available, .. } => format!(
                "use one of its contexts ({}) with --context or in the profile",
                available.join(", ")
            ),
            KubeconfigError::NoContext { .. } => {
                "pass --context NAME, set one in the profile, or run `kubectl config use-context NAME`"
                    .into()
            }
            KubeconfigError::Plugin(trouble) => trouble.fix.clone(),
            KubeconfigError::Invalid { path, .. } => format!(
                "check {} with `kubectl --kubeconfig {} config view`",
                path.display(),
                path.display()
            ),
        }
    }
}

fn display_paths(paths: &[PathBuf]) -> String {
    paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
}

/// A client whose connections to the API server set TCP_NODELAY.
///
/// `kube::Client::try_from` leaves Nagle's algorithm on, and a port-forward writes a request
/// as several WebSocket frames (headers, then body); with Nagle on, the second waits for the
/// API server's delayed ACK, adding ~40 ms to a round trip. The layers are kube's own public
/// ones, as its custom-client example assembles them.
fn client_for(config: kube::Config) -> Result<kube::Client, kube::Error> {
    use hyper_util::client::legacy::Client as HttpClient;
    use hyper_util::client::legacy::connect::HttpConnector;
    use hyper_util::rt::TokioExecutor;
    use kube::client::ConfigExt;

    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(config.connect_timeout);
    let https = config.rustls_https_connector_with_connector(http)?;
    let service = tower::ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)
        .service(HttpClient::builder(TokioExecutor::new()).build(https));
    Ok(kube::Client::new(service, config.default_namespace))
}

/// Finds and reads the kubeconfig the way kubectl would.
pub fn load(flag: Option<&Path>) -> Result<Loaded, KubeconfigError> {
    let home = env::home_dir();
    let (candidates, origin) = candidates(flag, env::var_os("KUBECONFIG"), home.as_deref())?;
    // Like kubectl: an explicit file must exist; files listed in KUBECONFIG may be missing.
    let files: Vec<PathBuf> = match origin {
        Origin::Env => candidates.iter().filter(|p| p.exists()).cloned().collect(),
        Origin::Flag | Origin::Default => candidates.clone(),
    };
    if files.is_empty() || !files.iter().all(|p| p.exists()) {
        return Err(KubeconfigError::NotFound { tried: candidates });
    }
    let mut merged = Kubeconfig::default();
    for path in &files {
        let next = Kubeconfig::read_from(path)
            .map_err(|e| KubeconfigError::Invalid { path: path.clone(), cause: e.to_string() })?;
        merged = merged
            .merge(next)
            .map_err(|e| KubeconfigError::Invalid { path: path.clone(), cause: e.to_string() })?;
    }
    Ok(Loaded { files, origin, config: merged })
}

fn candidates(
    flag: Option<&Path>,
    kubeconfig_env: Option<std::ffi::OsString>,
    home: Option<&Path>,
) -> Result<(Vec<PathBuf>, Origin), KubeconfigError> {
    if let Some(path) = flag {
        return Ok((vec![expand_tilde(path, home)], Origin::Flag));
    }
    if let Some(value) = kubeconfig_env.filter(|v| !v.is_empty()) {
        let paths: Vec<PathBuf> = env::split_paths(&value)
            .filter(|p| !p.as_os_str().is_empty())
            .map(|p| expand_tilde(&p, home))
            .collect();
        if !paths.is_empty() {
            return Ok((paths, Origin::Env));
        }
    }
    let home = home.ok_or(KubeconfigError::NoHome)?;
    Ok((vec![home.join(".kube").join("config")], Origin::Default))
}

/// Expands a leading `~` or `~/` to the home directory.
pub fn expand_tilde(path: &Path, home: Option<&Path>) -> PathBuf {
    match (path.strip_prefix("~"), home) {
        (Ok(rest), Some(home)) => home.join(rest),
        _ => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tilde_is_expanded_in_flag_and_env() {
        let home = Path::new("/home/dev");
        let (paths, origin) = candidates(Some(Path::new("~/k/config")), None, Some(home)).unwrap();
        assert_eq!((paths, origin), (vec![PathBuf::from("/home/dev/k/config")], Origin::Flag));

        let env = Some("~/a:/b/c::~".into());
        let (paths, origin) = candidates(None, env, Some(home)).unwrap();
        assert_eq!(origin, Origin::Env);
        assert_eq!(
            paths,
            vec![PathBuf::from("/home/dev/a"), PathBuf::from("/b/c"), PathBuf::from("/home/dev")]
        );
    }

    #[test]
    fn default_is_home_kube_config() {
        let (paths, origin) = candidates(None, Some("".into()), Some(Path::new("/h"))).unwrap();
        assert_eq!((paths, origin), (vec![PathBuf::from("/h/.kube/config")], Origin::Default));
        assert!(matches!(candidates(None, None, None), Err(KubeconfigError::NoHome)));
    }

    #[test]
    fn the_api_server_is_the_context_s_cluster_s_server() {
        let yaml = r#"
apiVersion: v1
kind: Config
clusters:
- {name: a, cluster: {server: "https://a:6443"}}
- {name: b, cluster: {server: "https://b:6443"}}
contexts:
- {name: one, context: {cluster: a, user: u}}
- {name: two, context: {cluster: b, user: u}}
current-context: two
users:
- {name: u, user: {}}
"#;
        let config = Kubeconfig::from_yaml(yaml).unwrap();
        let loaded = Loaded { files: vec![], origin: Origin::Flag, config };
        let one = loaded.api_server(Some("one"));
        assert_eq!(one.to_string(), "https://a:6443 (context one)");
        assert_eq!(one.cluster_info(), "kubectl --context one cluster-info");
        assert_eq!(loaded.api_server(None).to_string(), "https://b:6443 (context two)");
        assert_eq!(loaded.api_server(Some("none")).to_string(), "of context none");
    }

    #[test]
    fn a_tilde_inside_a_name_is_left_alone() {
        assert_eq!(
            expand_tilde(Path::new("~user/x"), Some(Path::new("/h"))),
            PathBuf::from("~user/x")
        );
    }
}

//! A whole lab: MCP backends, the MCP gateway in front of Serena's, the fake API server
//! seeded with the seed document's objects, and a kubeconfig that points at it. Dropping it
//! stops everything and removes its files.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::gateway::{Gateway, GatewayOptions};
use super::kube::seed::{self, Backends, NAMESPACE, SERENA, Seeded};
use super::kube::store::Cluster;
use super::kube::{FakeApiServer, random_token};
use super::mcp::{Eras, McpServer, McpServerOptions};

/// What serves Serena's Service in the lab.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SerenaBackend {
    /// The lab's reference MCP server.
    #[default]
    Reference,
    /// Real Serena, as the cluster runs it: `program` is its `serena` command.
    RealSerena { program: PathBuf },
    /// An MCP server the caller runs, serving `/mcp` at `addr` (a real SDK's server, say): the
    /// lab only points Serena's pod at it.
    Running { addr: SocketAddr },
}

#[derive(Debug, Clone)]
pub struct LabOptions {
    pub serena: SerenaBackend,
    /// How long a replacement pod takes to turn Ready.
    pub ready_delay: Duration,
    /// The MCP eras the reference server speaks (real Serena speaks both).
    pub eras: Eras,
}

impl Default for LabOptions {
    fn default() -> Self {
        LabOptions {
            serena: SerenaBackend::Reference,
            ready_delay: Duration::from_millis(500),
            eras: Eras::Both,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("cannot start the lab's {what}: {cause}")]
    Start { what: &'static str, cause: io::Error },
    #[error("real Serena did not start: {0}")]
    Serena(String),
}

impl LabError {
    pub fn fix(&self) -> String {
        match self {
            LabError::Start { .. } => {
                "check that 127.0.0.1 has free ports and /tmp is writable".into()
            }
            LabError::Serena(_) => {
                "install Serena (`pip install serena-agent`) so that `serena` is \
                                    on PATH, or run the lab without --serena"
                    .into()
            }
        }
    }
}

/// What serves Serena's pod; held so that it keeps serving until the lab is dropped.
enum Backend {
    /// The reference server, at `addr`; `None` while it is stopped (its pod stays Ready).
    Reference {
        server: Option<McpServer>,
        addr: SocketAddr,
        eras: Eras,
    },
    Serena(Child),
    /// Someone else's server.
    Running,
}

/// A running lab.
pub struct Lab {
    pub api: FakeApiServer,
    pub seeded: Seeded,
    /// The MCP URL Serena's pod serves, as seen from this machine.
    pub serena_url: String,
    /// The gateway's pod: Serena behind a JWT check, with the Secret's key. Its URL stands for
    /// the gateway's LoadBalancer.
    pub gateway: Gateway,
    kubeconfig: PathBuf,
    backend: Backend,
    _dir: tempfile::TempDir,
}

impl Lab {
    pub async fn start(options: LabOptions) -> Result<Lab, LabError> {
        let start = |what| move |cause| LabError::Start { what, cause };
        let dir = tempfile::Builder::new()
            .prefix("mcp-connect-lab-")
            .tempdir()
            .map_err(start("directory"))?;
        let (backend, serena_addr) = match options.serena {
            SerenaBackend::Reference => {
                let eras = options.eras;
                let options = McpServerOptions { eras, ..McpServerOptions::default() };
                let server = McpServer::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), options)
                    .await
                    .map_err(start("reference MCP server"))?;
                let addr = server.addr();
                (Backend::Reference { server: Some(server), addr, eras }, addr)
            }
            SerenaBackend::RealSerena { program } => {
                let (child, addr) = start_serena(&program, dir.path()).await?;
                (Backend::Serena(child), addr)
            }
            SerenaBackend::Running { addr } => (Backend::Running, addr),
        };
        let serena_url = format!("http://{serena_addr}/mcp");
        let jwt_secret = random_token();
        let gateway = Gateway::start(GatewayOptions {
            backend: serena_url.clone(),
            secret: jwt_secret.clone(),
            ..GatewayOptions::default()
        })
        .await
        .map_err(start("MCP gateway"))?;
        let cluster = Cluster::default();
        let backends = Backends {
            serena: Some(serena_addr),
            gateway: Some(gateway.addr),
            gateway_health: Some(gateway.health_addr),
        };
        let seeded = seed::seed_with_secret(&cluster, &backends, options.ready_delay, jwt_secret);
        let api = FakeApiServer::start(cluster).await.map_err(start("API server"))?;
        let kubeconfig = dir.path().join("kubeconfig");
        api.write_kubeconfig(&kubeconfig, NAMESPACE).map_err(start("kubeconfig"))?;
        let mut lab = Lab { api, seeded, serena_url, gateway, kubeconfig, backend, _dir: dir };
        lab.pipe_serena_output();
        Ok(lab)
    }

    /// The kubeconfig that points at the lab (context `lab`, namespace `mcp`).
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    pub fn cluster(&self) -> &Cluster {
        self.api.cluster()
    }

    /// The name of Serena's pod now (a replacement has another name).
    pub fn serena_pod(&self) -> Option<String> {
        let (pods, _) = self.cluster().pods(Some(NAMESPACE));
        let live = pods.into_iter().filter(|p| p.metadata.deletion_timestamp.is_none());
        live.filter_map(|p| p.metadata.name).find(|name| name.starts_with(SERENA))
    }

    /// Stops the process behind Serena's pod, which stays Ready (as before a liveness probe
    /// notices): connections to it are refused. The reference server only.
    pub async fn stop_backend(&mut self) {
        if let Backend::Reference { server, .. } = &mut self.backend
            && let Some(server) = server.take()
        {
            server.shutdown().await;
        }
    }

    /// Starts the reference server behind Serena's pod again, on the same address.
    pub async fn start_backend(&mut self) -> io::Result<()> {
        if let Backend::Reference { server: slot @ None, addr, eras } = &mut self.backend {
            let options = McpServerOptions { eras: *eras, ..McpServerOptions::default() };
            *slot = Some(McpServer::start(*addr, options).await?);
        }
        Ok(())
    }

    /// What serves Serena's pod, in a few words.
    pub fn serena_backend(&self) -> &'static str {
        match self.backend {
            Backend::Reference { eras: Eras::Both, .. } => "reference MCP server",
            Backend::Reference { eras: Eras::Only2025, .. } => {
                "reference MCP server, the 2025 handshake only"
            }
            Backend::Reference { eras: Eras::Only2026, .. } => {
                "reference MCP server, MCP 2026-07-28 only"
            }
            Backend::Serena(_) => "real Serena",
            Backend::Running => "an MCP server of the caller's",
        }
    }

    /// Real Serena's output becomes the log of Serena's live pods, as in a cluster.
    fn pipe_serena_output(&mut self) {
        let Backend::Serena(child) = &mut self.backend else { return };
        let streams: Vec<Box<dyn tokio::io::AsyncRead + Send + Unpin>> = [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
        ]
        .into_iter()
        .flatten()
        .collect();
        for stream in streams {
            let cluster = self.cluster().clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stream).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let (pods, _) = cluster.pods(Some(NAMESPACE));
                    for pod in pods.iter().filter(|p| p.metadata.deletion_timestamp.is_none()) {
                        let name = pod.metadata.name.as_deref().unwrap_or_default();
                        if name.starts_with(SERENA) {
                            cluster.append_log(NAMESPACE, name, line.clone());
                        }
                    }
                }
            });
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Serena and whatever it started (language servers) share its process group. It can
        // ignore SIGTERM while a session is open, and holds nothing worth saving here.
        if let Backend::Serena(child) = &self.backend
            && let Some(pid) = child.id()
        {
            let group = format!("-{pid}");
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &group])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// A free port on 127.0.0.1 (free when asked; the caller binds it soon after).
fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port())
}

/// Starts `serena start-mcp-server` over streamable HTTP on a free port, in its own process
/// group with the lab's directory as its home, and waits until it accepts connections.
async fn start_serena(program: &Path, home: &Path) -> Result<(Child, SocketAddr), LabError> {
    let port = free_port().map_err(|e| LabError::Serena(e.to_string()))?;
    let mut child = Command::new(program)
        .args(["start-mcp-server", "--transport", "streamable-http", "--host", "127.0.0.1"])
        .args(["--port", &port.to_string()])
        .args(["--enable-web-dashboard", "false", "--open-web-dashboard", "false"])
        .args(["--enable-gui-log-window", "false"])
        .env("HOME", home)
        // Serena reports usage to its vendor on every start unless told not to.
        .env("SERENA_USAGE_REPORTING", "false")
        .current_dir(home)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| LabError::Serena(format!("cannot run `{}`: {e}", program.display())))?;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok((child, addr));
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(LabError::Serena(format!(
                "`serena start-mcp-server` exited with {status}"
            )));
        }
        if tokio::time::Instant::now() > deadline {
            return Err(LabError::Serena(format!("nothing listened on {addr} within 60 s")));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

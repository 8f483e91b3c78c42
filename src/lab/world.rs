//! A whole lab: MCP backends, the MCP gateway in front of Serena's, the fake API server
//! seeded with the seed document's objects, and a kubeconfig that points at it. Each Serena
//! pod has its own backend (see [`super::pods`]), so a replacement pod knows no session.
//! Dropping it stops everything and removes its files.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::gateway::{Gateway, GatewayOptions};
use super::kube::cluster_ip::ClusterIp;
use super::kube::seed::{self, Backends, NAMESPACE, SERENA, Seeded};
use super::kube::store::{Cluster, PodInstances};
use super::kube::{FakeApiServer, random_token};
use super::mcp::{Eras, McpServer};
use super::pods;

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

/// What serves Serena's pods.
enum Backend {
    /// Each pod its own reference server, speaking `eras`.
    Reference { eras: Eras },
    /// Each pod its own Serena process.
    Serena,
    /// Someone else's server, behind every pod.
    Running,
}

/// A running lab.
pub struct Lab {
    pub api: FakeApiServer,
    pub seeded: Seeded,
    /// The MCP URL Serena's first pod serves, as seen from this machine. A replacement pod has
    /// its own server at another address (but for a [`SerenaBackend::Running`] server).
    pub serena_url: String,
    /// The gateway's pod: Serena behind a JWT check, with the Secret's key, reaching Serena's
    /// Service as pods in the cluster do. Its URL stands for the gateway's LoadBalancer.
    pub gateway: Gateway,
    kubeconfig: PathBuf,
    backend: Backend,
    /// Each Serena pod's own server, when it has one.
    instances: Option<PodInstances>,
    /// The pod whose server [`Lab::stop_backend`] stopped, and where it served.
    stopped: Option<(String, SocketAddr)>,
    _serena_service: ClusterIp,
    _dir: tempfile::TempDir,
}

impl Lab {
    pub async fn start(options: LabOptions) -> Result<Lab, LabError> {
        let start = |what| move |cause| LabError::Start { what, cause };
        let dir = tempfile::Builder::new()
            .prefix("mcp-connect-lab-")
            .tempdir()
            .map_err(start("directory"))?;
        let cluster = Cluster::default();
        let (backend, instances, shared) = match options.serena {
            SerenaBackend::Reference => {
                let eras = options.eras;
                (Backend::Reference { eras }, Some(pods::reference(eras)), None)
            }
            SerenaBackend::RealSerena { program } => {
                let home = dir.path().join("pods");
                (Backend::Serena, Some(pods::serena(program, home, cluster.clone())), None)
            }
            SerenaBackend::Running { addr } => (Backend::Running, None, Some(addr)),
        };
        let service = ClusterIp::start(cluster.clone(), NAMESPACE, SERENA, 8080)
            .await
            .map_err(start("Service address"))?;
        let jwt_secret = random_token();
        let gateway = Gateway::start(GatewayOptions {
            backend: format!("http://{}/mcp", service.addr),
            secret: jwt_secret.clone(),
            ..GatewayOptions::default()
        })
        .await
        .map_err(start("MCP gateway"))?;
        let backends = Backends {
            serena: shared,
            serena_instances: instances.clone(),
            gateway: Some(gateway.addr),
            gateway_health: Some(gateway.health_addr),
        };
        let seeded = seed::seed_with_secret(&cluster, &backends, options.ready_delay, jwt_secret);
        let serena_addr = match &instances {
            Some(instances) => {
                let first = (instances.start)(seeded.serena_pod.clone(), None).await;
                let first = first.map_err(|cause| match backend {
                    Backend::Serena => LabError::Serena(cause),
                    _ => LabError::Start {
                        what: "reference MCP server",
                        cause: io::Error::other(cause),
                    },
                })?;
                let addr = first.addr;
                cluster.attach_instance(NAMESPACE, &seeded.serena_pod, instances.port, first);
                addr
            }
            None => shared.unwrap_or(service.addr),
        };
        let serena_url = format!("http://{serena_addr}/mcp");
        let api = FakeApiServer::start(cluster).await.map_err(start("API server"))?;
        let kubeconfig = dir.path().join("kubeconfig");
        api.write_kubeconfig(&kubeconfig, NAMESPACE).map_err(start("kubeconfig"))?;
        Ok(Lab {
            api,
            seeded,
            serena_url,
            gateway,
            kubeconfig,
            backend,
            instances,
            stopped: None,
            _serena_service: service,
            _dir: dir,
        })
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

    /// Stops the process behind Serena's pod of the moment, which stays Ready (as before a
    /// liveness probe notices): connections to it are refused. The reference server only.
    pub async fn stop_backend(&mut self) {
        let Backend::Reference { .. } = self.backend else { return };
        let Some(pod) = self.serena_pod() else { return };
        let Some(instance) = self.cluster().take_instance(NAMESPACE, &pod) else { return };
        self.stopped = Some((pod, instance.addr));
        if let Ok(server) = instance.held.downcast::<McpServer>() {
            server.shutdown().await;
        }
    }

    /// Starts the reference server behind the pod [`Lab::stop_backend`] stopped, on the same
    /// address, with no sessions.
    pub async fn start_backend(&mut self) -> io::Result<()> {
        let (Some((pod, addr)), Some(instances)) = (self.stopped.take(), &self.instances) else {
            return Ok(());
        };
        let instance =
            (instances.start)(pod.clone(), Some(addr)).await.map_err(io::Error::other)?;
        self.cluster().attach_instance(NAMESPACE, &pod, instances.port, instance);
        Ok(())
    }

    /// Whether each Serena pod has its own server (not so for someone else's server).
    pub fn server_per_pod(&self) -> bool {
        self.instances.is_some()
    }

    /// What serves Serena's pods, in a few words.
    pub fn serena_backend(&self) -> &'static str {
        match self.backend {
            Backend::Reference { eras: Eras::Both } => "reference MCP server",
            Backend::Reference { eras: Eras::Only2025 } => {
                "reference MCP server, the 2025 handshake only"
            }
            Backend::Reference { eras: Eras::Only2026 } => {
                "reference MCP server, MCP 2026-07-28 only"
            }
            Backend::Serena => "real Serena",
            Backend::Running => "an MCP server of the caller's",
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Each pod's server (a Serena process group, say) stops with the lab, even while a
        // connection still holds the cluster.
        self.cluster().stop_instances();
    }
}

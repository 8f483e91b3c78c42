//! A fake Kubernetes API server that speaks the real wire protocol: HTTPS with its own CA,
//! bearer-token auth, JSON objects and `Status` errors, pod watches, logs and
//! `pods/portforward` over WebSocket. kube-rs and `kubectl get` accept it unchanged.

pub mod api;
pub mod cluster_ip;
pub mod faults;
pub mod objects;
pub mod portforward;
pub mod seed;
pub mod selector;
mod spdy;
pub mod status;
pub mod store;
mod streams;
pub mod table;

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use super::tls::LabTls;
use api::ApiState;
use faults::Faults;
use store::Cluster;

/// A running fake API server. Stops when dropped.
pub struct FakeApiServer {
    addr: SocketAddr,
    cluster: Cluster,
    faults: Arc<Faults>,
    token: Arc<str>,
    tls: LabTls,
    stopping: CancellationToken,
}

impl FakeApiServer {
    /// Serves `cluster` on 127.0.0.1 at a random port.
    pub async fn start(cluster: Cluster) -> io::Result<FakeApiServer> {
        let tls = LabTls::issue("mcp-connect lab cluster CA").map_err(io::Error::other)?;
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let mut server = FakeApiServer {
            addr: listener.local_addr()?,
            cluster,
            faults: Arc::default(),
            token: random_token().into(),
            tls,
            stopping: CancellationToken::new(),
        };
        server.serve(listener);
        Ok(server)
    }

    fn serve(&mut self, listener: TcpListener) {
        self.stopping = CancellationToken::new();
        let state = ApiState {
            cluster: self.cluster.clone(),
            token: self.token.clone(),
            faults: self.faults.clone(),
            stopping: self.stopping.clone(),
            address: self.addr.to_string(),
        };
        let router = api::router(state);
        let acceptor = TlsAcceptor::from(self.tls.server.clone());
        let stopping = self.stopping.clone();
        tokio::spawn(async move {
            loop {
                let tcp = tokio::select! {
                    _ = stopping.cancelled() => return,
                    accepted = listener.accept() => match accepted {
                        // As Go's net package does for the real API server.
                        Ok((tcp, _)) => {
                            let _ = tcp.set_nodelay(true);
                            tcp
                        }
                        Err(_) => continue,
                    },
                };
                let (acceptor, router, stopping) =
                    (acceptor.clone(), router.clone(), stopping.clone());
                tokio::spawn(async move {
                    let Ok(stream) = acceptor.accept(tcp).await else { return };
                    let service = TowerToHyperService::new(router);
                    let connection = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .with_upgrades();
                    tokio::select! {
                        _ = connection => {}
                        _ = stopping.cancelled() => {}
                    }
                });
            }
        });
    }

    /// Stops serving: ends every connection, watch, log follow and forward.
    pub fn stop(&self) {
        self.stopping.cancel();
    }

    /// Stops, stays down for `down_for`, and serves again on the same port with the same
    /// objects, CA and token, as an API server restart looks to clients.
    pub async fn restart(&mut self, down_for: Duration) -> io::Result<()> {
        self.stop();
        tokio::time::sleep(down_for).await;
        let listener = TcpListener::bind(self.addr).await?;
        self.serve(listener);
        Ok(())
    }

    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn ca_pem(&self) -> &str {
        &self.tls.ca_pem
    }

    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// A kubeconfig with one context, `lab`, whose default namespace is `namespace`.
    pub fn kubeconfig(&self, namespace: &str) -> String {
        let ca = base64::engine::general_purpose::STANDARD.encode(self.ca_pem());
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: lab\n  cluster:\n    server: {url}\n    \
             certificate-authority-data: {ca}\ncontexts:\n- name: lab\n  context:\n    cluster: lab\n    \
             user: lab\n    namespace: {namespace}\ncurrent-context: lab\nusers:\n- name: lab\n  user:\n    \
             token: {token}\n",
            url = self.url(),
            token = self.token,
        )
    }

    /// Writes the kubeconfig readable by its owner only (it holds the token).
    pub fn write_kubeconfig(&self, path: &Path, namespace: &str) -> io::Result<()> {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)?;
        file.write_all(self.kubeconfig(namespace).as_bytes())
    }
}

impl Drop for FakeApiServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A random token for the lab's single user.
pub fn random_token() -> String {
    use rand::Rng;
    let bytes: [u8; 24] = rand::rng().random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

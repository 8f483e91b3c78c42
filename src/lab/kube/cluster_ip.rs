//! A Service's cluster IP as pods inside the cluster reach it: a local address whose every
//! connection goes to a Ready pod of the Service's workload, the pod of the moment.

use std::io;
use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use super::store::Cluster;

/// Serves until dropped.
pub struct ClusterIp {
    pub addr: SocketAddr,
    stopping: CancellationToken,
}

impl ClusterIp {
    /// Listens on 127.0.0.1 for `port` of the workload `ns/name`'s Service.
    pub async fn start(cluster: Cluster, ns: &str, name: &str, port: u16) -> io::Result<ClusterIp> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let stopping = CancellationToken::new();
        let (ns, name, stop) = (ns.to_owned(), name.to_owned(), stopping.clone());
        tokio::spawn(async move {
            loop {
                let mut client = tokio::select! {
                    _ = stop.cancelled() => return,
                    accepted = listener.accept() => match accepted {
                        Ok((client, _)) => client,
                        Err(_) => continue,
                    },
                };
                // No Ready pod: the connection is refused, as by kube-proxy's reject rule.
                let Some(backend) = cluster.ready_backend(&ns, &name, port) else { continue };
                let stop = stop.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(backend).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = stop.cancelled() => {}
                    }
                });
            }
        });
        Ok(ClusterIp { addr, stopping })
    }
}

impl Drop for ClusterIp {
    fn drop(&mut self) {
        self.stopping.cancel();
    }
}

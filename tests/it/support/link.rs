//! A TCP link that breaks the way a port-forward does while it switches pods: the first
//! connections are cut once their request has arrived (reset, or closed), the later ones relayed.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// How a connection is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// A TCP reset (RST), as a dying pod's connection gives.
    Reset,
    /// A plain close before any answer.
    Close,
}

/// A link on 127.0.0.1 to `to`. Stops when dropped.
pub struct FaultyLink {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for FaultyLink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultyLink {
    /// Cuts the first `breaks` connections as `cut` says, and relays the rest to `to`.
    pub async fn start(to: SocketAddr, cut: Cut, breaks: usize) -> FaultyLink {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("bind");
        let addr = listener.local_addr().expect("its address");
        let seen = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let n = seen.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(async move {
                    if n < breaks { cut_off(client, cut).await } else { relay(client, to).await }
                });
            }
        });
        FaultyLink { addr, task }
    }
}

/// Waits for the request to arrive, then cuts the connection.
async fn cut_off(mut client: TcpStream, cut: Cut) {
    let mut head = [0u8; 1024];
    let _ = tokio::time::timeout(Duration::from_secs(5), client.read(&mut head)).await;
    if cut == Cut::Reset {
        let _ = client.set_zero_linger();
    }
    drop(client);
}

async fn relay(mut client: TcpStream, to: SocketAddr) {
    if let Ok(mut server) = TcpStream::connect(to).await {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
    }
}

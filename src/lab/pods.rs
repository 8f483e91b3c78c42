//! Each Serena pod's own server, as each pod of a Deployment runs its own container: the
//! reference MCP server, or a real Serena process whose output is that pod's log. A pod's
//! server starts with the pod and stops when it is gone, so a replacement knows no session.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt as _;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

use super::kube::seed::NAMESPACE;
use super::kube::store::{Cluster, Instance, PodInstances};
use super::mcp::{Eras, McpServer, McpServerOptions};

/// Starts the reference server speaking `eras` for each pod on port 8080.
pub fn reference(eras: Eras) -> PodInstances {
    let start = move |_pod: String, addr: Option<SocketAddr>| {
        async move { start_reference(eras, addr).await.map_err(|e| e.to_string()) }.boxed()
    };
    PodInstances { port: 8080, start: Arc::new(start) }
}

/// The reference server at `addr` (a free port when `None`).
pub async fn start_reference(eras: Eras, addr: Option<SocketAddr>) -> io::Result<Instance> {
    let addr = addr.unwrap_or(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
    let options = McpServerOptions { eras, ..McpServerOptions::default() };
    let server = McpServer::start(addr, options).await?;
    Ok(Instance { addr: server.addr(), held: Box::new(server) })
}

/// Starts `program` (Serena) for each pod on port 8080, its home a directory of its own under
/// `home`, its output the pod's log in `cluster`.
pub fn serena(program: PathBuf, home: PathBuf, cluster: Cluster) -> PodInstances {
    let start = move |pod: String, addr: Option<SocketAddr>| {
        let (program, home, cluster) = (program.clone(), home.clone(), cluster.clone());
        async move { start_serena(&program, &home, &cluster, &pod, addr).await }.boxed()
    };
    PodInstances { port: 8080, start: Arc::new(start) }
}

/// Real Serena, with everything it started (language servers): killed with its process group
/// when dropped. It can ignore SIGTERM while a session is open, and holds nothing worth saving.
struct SerenaProcess(Child);

impl Drop for SerenaProcess {
    fn drop(&mut self) {
        if let Some(pid) = self.0.id() {
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

/// Starts `serena start-mcp-server` over streamable HTTP for `pod` (at `addr`, or on a free
/// port), in its own process group with its own home, pipes its output into the pod's log,
/// and waits until it accepts connections.
pub async fn start_serena(
    program: &Path,
    home: &Path,
    cluster: &Cluster,
    pod: &str,
    addr: Option<SocketAddr>,
) -> Result<Instance, String> {
    let port = match addr {
        Some(addr) => addr.port(),
        None => free_port().map_err(|e| e.to_string())?,
    };
    let home = home.join(pod);
    std::fs::create_dir_all(&home).map_err(|e| format!("cannot make {}: {e}", home.display()))?;
    let mut child = Command::new(program)
        .args(["start-mcp-server", "--transport", "streamable-http", "--host", "127.0.0.1"])
        .args(["--port", &port.to_string()])
        .args(["--enable-web-dashboard", "false", "--open-web-dashboard", "false"])
        .args(["--enable-gui-log-window", "false"])
        .env("HOME", &home)
        // Serena reports usage to its vendor on every start unless told not to.
        .env("SERENA_USAGE_REPORTING", "false")
        .current_dir(&home)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run `{}`: {e}", program.display()))?;
    pipe_to_log(child.stdout.take(), cluster, pod);
    pipe_to_log(child.stderr.take(), cluster, pod);
    let mut process = SerenaProcess(child);
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok(Instance { addr, held: Box::new(process) });
        }
        if let Ok(Some(status)) = process.0.try_wait() {
            return Err(format!("`serena start-mcp-server` exited with {status}"));
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!("nothing listened on {addr} within 60 s"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Each line of `stream` becomes a line of the pod's log, as in a cluster.
fn pipe_to_log(
    stream: Option<impl AsyncRead + Send + Unpin + 'static>,
    cluster: &Cluster,
    pod: &str,
) {
    let Some(stream) = stream else { return };
    let (cluster, pod) = (cluster.clone(), pod.to_owned());
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            cluster.append_log(NAMESPACE, &pod, line);
        }
    });
}

//! The baselines users run today, for the forward benchmark: `kubectl port-forward` (the
//! machine's kubectl, against the lab) and the seed's loop around it, and the CPU a process
//! spends while idle.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `kubectl port-forward` (or the seed's loop around it), killed on drop.
pub struct Kubectl {
    child: Child,
    pub url: String,
}

impl Drop for Kubectl {
    fn drop(&mut self) {
        // The loop runs in its own process group: kubectl with it.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-s", "KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

impl Kubectl {
    /// Its process group (kubectl, and the loop around it).
    pub fn group(&self) -> u32 {
        self.child.id()
    }
}

/// Whether `kubectl` is on PATH.
pub fn available() -> bool {
    Command::new("kubectl")
        .args(["version", "--client"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `kubectl port-forward svc/serena-mcp PORT:8080` against `kubeconfig`, once it says it
/// forwards; `None` when it does not within 30 s.
pub fn port_forward(kubeconfig: &Path, port: u16) -> Option<Kubectl> {
    let forward = format!(
        "exec kubectl --kubeconfig '{}' port-forward --address 127.0.0.1 svc/serena-mcp {port}:8080",
        kubeconfig.display()
    );
    start(&forward, port)
}

/// The seed's route 1 as its users run it: `while true; do kubectl port-forward …; sleep 2;
/// done`, so that a forward that died with its pod comes back.
pub fn seed_loop(kubeconfig: &Path, port: u16) -> Option<Kubectl> {
    let forward = format!(
        "while true; do kubectl --kubeconfig '{}' port-forward --address 127.0.0.1 \
         svc/serena-mcp {port}:8080; sleep 2; done",
        kubeconfig.display()
    );
    start(&forward, port)
}

fn start(script: &str, port: u16) -> Option<Kubectl> {
    use std::os::unix::process::CommandExt;
    let mut child = Command::new("sh")
        .args(["-c", script])
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let stdout = child.stdout.take()?;
    let (send, ready) = std::sync::mpsc::channel();
    let expected = format!("Forwarding from 127.0.0.1:{port} -> 8080");
    std::thread::spawn(move || {
        // Read to the end, so that kubectl never blocks on a full pipe.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line == expected {
                let _ = send.send(());
            }
        }
    });
    let kubectl = Kubectl { child, url: format!("http://127.0.0.1:{port}/mcp") };
    ready.recv_timeout(Duration::from_secs(30)).ok().map(|()| kubectl)
}

/// CPU time of the processes of group `group` (utime + stime from /proc): kubectl may be a
/// dispatcher that runs the real one as its child.
pub fn cpu_of(group: u32) -> Option<Duration> {
    let mut ticks = 0u64;
    let mut found = false;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // The fields after the command (which may hold spaces) start after the last ')'.
        let Some((_, rest)) = stat.rsplit_once(')') else { continue };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.get(2).and_then(|g| g.parse::<u32>().ok()) != Some(group) {
            continue;
        }
        let field = |i: usize| fields.get(i).and_then(|t| t.parse::<u64>().ok()).unwrap_or(0);
        ticks += field(11) + field(12);
        found = true;
    }
    // USER_HZ is 100 on Linux.
    found.then(|| Duration::from_millis(ticks * 10))
}

/// The share of one core process group `group` used over `window`.
pub async fn idle_share(group: u32, window: Duration) -> Option<f64> {
    let before = cpu_of(group)?;
    let started = Instant::now();
    tokio::time::sleep(window).await;
    let used = cpu_of(group)?.saturating_sub(before);
    Some(used.as_secs_f64() / started.elapsed().as_secs_f64())
}

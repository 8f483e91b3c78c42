//! Binding the local end of a forward.
//!
//! A busy local port fails here, before anything else starts, and the error says who holds
//! the port (found through `/proc` on Linux, without external commands) and which port is
//! free instead.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use tokio::net::TcpListener;

/// Why the local end of a forward could not be bound.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// The port is in use.
    #[error(
        "local port {} on {} is already in use{}",
        .addr.port(), .addr.ip(), busy_by(.addr, .holder)
    )]
    Busy { addr: SocketAddr, holder: Option<Holder>, next_free: Option<u16> },
    /// Not allowed (privileged port < 1024 without the capability, or an address not on this
    /// machine).
    #[error("not allowed to listen on local port {} on {}: {cause}", .addr.port(), .addr.ip())]
    Denied { addr: SocketAddr, cause: String },
    /// The address cannot be used here (`EADDRNOTAVAIL` and the like).
    #[error("cannot listen on {}: the address is not available: {cause}", .addr.ip())]
    Unavailable { addr: SocketAddr, cause: String },
    /// Anything else the operating system refused.
    #[error("cannot listen on local port {} on {}: {cause}", .addr.port(), .addr.ip())]
    Other { addr: SocketAddr, cause: std::io::Error },
}

/// The process holding a port: its pid and command line (trimmed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub pid: u32,
    pub command: String,
}

fn busy_by(addr: &SocketAddr, holder: &Option<Holder>) -> String {
    match holder {
        Some(h) => format!(" by pid {} ({})", h.pid, h.command),
        None => format!(
            " (the holder could not be identified; try `ss -ltnp 'sport = :{}'`)",
            addr.port()
        ),
    }
}

impl From<BindError> for crate::trouble::Trouble {
    fn from(error: BindError) -> crate::trouble::Trouble {
        crate::trouble::Trouble::new(error.to_string(), error.fix())
    }
}

impl BindError {
    /// What the user can do about it.
    pub fn fix(&self) -> String {
        match self {
            BindError::Busy { holder, next_free, .. } => {
                let stop = if holder.is_some() { "stop that process" } else { "stop its holder" };
                match next_free {
                    Some(p) => format!("{stop}, or use --local-port {p} (the next free port)"),
                    None => format!("{stop}, or choose another --local-port"),
                }
            }
            BindError::Denied { addr, .. } if addr.port() < 1024 => format!(
                "use a --local-port of 1024 or above (port {} needs root or \
                 CAP_NET_BIND_SERVICE)",
                addr.port()
            ),
            BindError::Denied { addr, .. } | BindError::Unavailable { addr, .. } => format!(
                "check that {} is an address of this machine (`ip addr`), or set local_address \
                 to 127.0.0.1",
                addr.ip()
            ),
            BindError::Other { .. } => {
                "check the forward's local_address and --local-port".to_owned()
            }
        }
    }

    /// The address that could not be bound.
    pub fn addr(&self) -> SocketAddr {
        match self {
            BindError::Busy { addr, .. }
            | BindError::Denied { addr, .. }
            | BindError::Unavailable { addr, .. }
            | BindError::Other { addr, .. } => *addr,
        }
    }
}

/// Binds `addr` for a forward's listener (TCP, SO_REUSEADDR as std/tokio do by default; no
/// SO_REUSEPORT). When the port is busy, looks up its holder and the next free port.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, BindError> {
    use std::io::ErrorKind;
    let cause = match TcpListener::bind(addr).await {
        Ok(listener) => return Ok(listener),
        Err(e) => e,
    };
    Err(match cause.kind() {
        ErrorKind::AddrInUse => {
            let (holder, next_free) =
                tokio::task::spawn_blocking(move || (find_holder(addr), next_free(addr)))
                    .await
                    .unwrap_or((None, None));
            BindError::Busy { addr, holder, next_free }
        }
        ErrorKind::PermissionDenied => BindError::Denied { addr, cause: cause.to_string() },
        ErrorKind::AddrNotAvailable => BindError::Unavailable { addr, cause: cause.to_string() },
        _ => BindError::Other { addr, cause },
    })
}

/// The first port after `addr`'s (up to +100, at most 65535) that binds on the same address
/// right now.
fn next_free(addr: SocketAddr) -> Option<u16> {
    let last = addr.port().saturating_add(100);
    (addr.port().checked_add(1)?..=last)
        .find(|&p| std::net::TcpListener::bind(SocketAddr::new(addr.ip(), p)).is_ok())
}

/// One socket line of `/proc/net/tcp` or `/proc/net/tcp6`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ProcSocket {
    local: SocketAddr,
    /// The kernel's TCP state; `0x0A` is LISTEN.
    state: u8,
    inode: u64,
}

const TCP_LISTEN: u8 = 0x0A;

/// Parses one line of `/proc/net/tcp{,6}`; `None` for the header or anything malformed.
/// Addresses are 32-bit words in host byte order, the port is plain hex.
fn parse_proc_net_tcp_line(line: &str) -> Option<ProcSocket> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let (ip_hex, port_hex) = fields.get(1)?.split_once(':')?;
    let word = |i: usize| -> Option<[u8; 4]> {
        Some(u32::from_str_radix(ip_hex.get(i * 8..i * 8 + 8)?, 16).ok()?.to_ne_bytes())
    };
    let ip = match ip_hex.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(0)?)),
        32 => {
            let mut bytes = [0u8; 16];
            for i in 0..4 {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(ProcSocket {
        local: SocketAddr::new(ip, u16::from_str_radix(port_hex, 16).ok()?),
        state: u8::from_str_radix(fields.get(3)?, 16).ok()?,
        inode: fields.get(9)?.parse().ok()?,
    })
}

/// Whether a listener on `listener` stops a bind to `wanted` on the same port: the same
/// address, or either side a wildcard (an IPv6 wildcard covers IPv4 too, as dual-stack does).
fn blocks(listener: IpAddr, wanted: IpAddr) -> bool {
    let (l, w) = (listener.to_canonical(), wanted.to_canonical());
    let same_family = l.is_ipv4() == w.is_ipv4();
    l == w
        || (l.is_unspecified() && (same_family || l.is_ipv6()))
        || (w.is_unspecified() && (same_family || w.is_ipv6()))
}

/// The process listening where `addr` would, from `/proc`; `None` when it cannot be told
/// (another user's process, no `/proc`, not Linux).
fn find_holder(addr: SocketAddr) -> Option<Holder> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let inodes: HashSet<u64> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .flat_map(|text| text.lines().filter_map(parse_proc_net_tcp_line).collect::<Vec<_>>())
        .filter(|s| s.state == TCP_LISTEN && s.local.port() == addr.port())
        .filter(|s| blocks(s.local.ip(), addr.ip()) && s.inode != 0)
        .map(|s| s.inode)
        .collect();
    if inodes.is_empty() {
        return None;
    }
    let mut pids: Vec<u32> = std::fs::read_dir("/proc")
        .ok()?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable(); // the lowest pid first: usually the parent of forked holders
    let pid = pids.into_iter().find(|&pid| holds_any(pid, &inodes))?;
    Some(Holder { pid, command: command_line(pid) })
}

/// Whether one of `pid`'s file descriptors is `socket:[INODE]` for one of `inodes`.
fn holds_any(pid: u32, inodes: &HashSet<u64>) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { return false };
    fds.filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok()).any(|target| {
        let target = target.to_string_lossy();
        let inode = target.strip_prefix("socket:[").and_then(|t| t.strip_suffix(']'));
        inode.and_then(|i| i.parse().ok()).is_some_and(|i: u64| inodes.contains(&i))
    })
}

/// `pid`'s command line with spaces for NULs, trimmed to 80 characters; its `comm` when the
/// command line is empty (kernel threads, zombies).
fn command_line(pid: u32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let mut command = String::from_utf8_lossy(&raw).replace('\0', " ").trim().to_owned();
    if command.is_empty() {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        command = format!("[{}]", comm.trim());
    }
    match command.char_indices().nth(80) {
        Some((cut, _)) => format!("{}…", &command[..cut]),
        None => command,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V4_LINE: &str = "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 \
                           00000000     0        0 123456 1 0000000000000000 100 0 0 10 0";
    const V6_LINE: &str = "   1: 00000000000000000000000001000000:0050 \
                           00000000000000000000000000000000:0000 01 00000000:00000000 \
                           00:00000000 00000000  1000        0 654321 1 0000000000000000 20 4 30";

    fn busy(result: Result<TcpListener, BindError>) -> (SocketAddr, Option<Holder>, Option<u16>) {
        match result {
            Err(BindError::Busy { addr, holder, next_free }) => (addr, holder, next_free),
            other => panic!("expected Busy, got {other:?}"),
        }
    }

    fn assert_holder_is_us(holder: Option<Holder>) {
        let holder = holder.expect("the holder is this test process");
        assert_eq!(holder.pid, std::process::id());
        let exe = std::env::current_exe().unwrap();
        let name = exe.file_name().unwrap().to_string_lossy();
        assert!(holder.command.contains(&*name), "{:?} should mention {name}", holder.command);
    }

    #[cfg(target_endian = "little")] // the samples come from a little-endian kernel
    #[test]
    fn parses_an_ipv4_listen_line() {
        let socket = parse_proc_net_tcp_line(V4_LINE).unwrap();
        assert_eq!(
            socket,
            ProcSocket { local: "127.0.0.1:8080".parse().unwrap(), state: 0x0A, inode: 123456 }
        );
    }

    #[cfg(target_endian = "little")] // the samples come from a little-endian kernel
    #[test]
    fn parses_an_ipv6_line() {
        let socket = parse_proc_net_tcp_line(V6_LINE).unwrap();
        assert_eq!(
            socket,
            ProcSocket { local: "[::1]:80".parse().unwrap(), state: 0x01, inode: 654321 }
        );
    }

    #[test]
    fn rejects_the_header_and_garbage() {
        let header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when \
                      retrnsmt   uid  timeout inode";
        assert_eq!(parse_proc_net_tcp_line(header), None);
        assert_eq!(parse_proc_net_tcp_line("   0: 0100007F:1F90"), None);
        assert_eq!(parse_proc_net_tcp_line(""), None);
    }

    #[test]
    fn wildcards_block_specific_addresses() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(blocks(ip("0.0.0.0"), ip("127.0.0.1")));
        assert!(blocks(ip("127.0.0.1"), ip("0.0.0.0")));
        assert!(blocks(ip("::"), ip("127.0.0.1")));
        assert!(blocks(ip("::ffff:127.0.0.1"), ip("127.0.0.1")));
        assert!(!blocks(ip("127.0.0.2"), ip("127.0.0.1")));
        assert!(!blocks(ip("0.0.0.0"), ip("::1")));
    }

    #[tokio::test]
    async fn binds_a_free_port() {
        let listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        assert_ne!(listener.local_addr().unwrap().port(), 0);
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn a_held_port_is_busy_and_names_us_and_the_next_free_port() {
        let held = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = held.local_addr().unwrap();
        let err = bind(addr).await.unwrap_err();
        println!("{err}\nfix: {}", err.fix());
        assert_eq!(err.addr(), addr);
        let (_, holder, next_free) = busy(Err(err));
        assert_holder_is_us(holder);
        let next = next_free.expect("a free port after the busy one");
        assert!(next > addr.port() && next <= addr.port().saturating_add(100));
        bind(SocketAddr::new(addr.ip(), next)).await.expect("next_free is bindable");
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn a_wildcard_listener_makes_loopback_busy() {
        let held = TcpListener::bind("0.0.0.0:0").await.unwrap();
        let port = held.local_addr().unwrap().port();
        let (addr, holder, _) = busy(bind(SocketAddr::from(([127, 0, 0, 1], port))).await);
        assert_eq!(addr.port(), port);
        assert_holder_is_us(holder);
    }

    #[tokio::test]
    async fn an_address_not_on_this_machine_is_unavailable() {
        let addr: SocketAddr = "192.0.2.1:0".parse().unwrap(); // TEST-NET-1, never local
        match bind(addr).await {
            Err(err @ BindError::Unavailable { .. }) => assert!(err.fix().contains("192.0.2.1")),
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }

    #[test]
    fn messages_and_fix_name_the_holder_and_next_free_port() {
        let addr: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let holder = Holder { pid: 1234, command: "python3 -m http.server 8080".to_owned() };
        let err = BindError::Busy { addr, holder: Some(holder), next_free: Some(8081) };
        assert_eq!(
            err.to_string(),
            "local port 8080 on 127.0.0.1 is already in use \
             by pid 1234 (python3 -m http.server 8080)"
        );
        assert_eq!(err.fix(), "stop that process, or use --local-port 8081 (the next free port)");
        let err = BindError::Busy { addr, holder: None, next_free: None };
        assert!(err.to_string().ends_with("try `ss -ltnp 'sport = :8080'`)"), "{err}");
        assert_eq!(err.fix(), "stop its holder, or choose another --local-port");
    }
}

//! What a profile means, in the words the profile list and the TUI show.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use url::Url;

use super::model::{Link, Profile, Scheme};
use super::types::{Port, UrlPath};

/// The kind of route a profile takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RouteKind {
    PortForward,
    Direct,
    Router,
}

impl RouteKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RouteKind::PortForward => "port-forward",
            RouteKind::Direct => "direct",
            RouteKind::Router => "router",
        }
    }
}

impl fmt::Display for RouteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Profile {
    pub fn route_kind(&self) -> RouteKind {
        match self.link {
            Link::PortForward(_) => RouteKind::PortForward,
            Link::Direct(_) => RouteKind::Direct,
            Link::Router(_) => RouteKind::Router,
        }
    }

    /// The kubeconfig context the profile names, if it names one.
    pub fn context(&self) -> Option<&str> {
        match &self.link {
            Link::PortForward(pf) => pf.context.as_deref(),
            Link::Direct(_) | Link::Router(_) => None,
        }
    }

    /// What the route reaches: `mcp/svc/serena-mcp:8080`, a gateway's `host:port`, or a pool.
    pub fn target(&self) -> String {
        match &self.link {
            Link::PortForward(pf) => {
                format!("{}/svc/{}:{}", pf.namespace, pf.service, pf.remote_port)
            }
            Link::Direct(direct) => direct.url.authority(),
            Link::Router(router) if router.command.is_some() => {
                let program = router.command.iter().flatten().next().map(String::as_str);
                format!("the router `{}`", program.unwrap_or_default())
            }
            Link::Router(router) => {
                let pools = router.gateway_pools.len();
                let gateways: usize = router.gateway_pools.iter().map(|p| p.gateways.len()).sum();
                format!("{gateways} gateway{} in {pools} pool{}", plural(gateways), plural(pools))
            }
        }
    }

    /// The URL Claude Code is given: the local end of a forward or router, or the direct URL.
    pub fn local_endpoint(&self) -> Url {
        match &self.link {
            Link::PortForward(pf) => {
                local_url(pf.scheme, pf.local_address, pf.local_port, &self.endpoint.path)
            }
            Link::Direct(direct) => direct.url.with_path(&self.endpoint.path),
            // The router serves standard MCP at /mcp whatever its gateways' path is.
            Link::Router(router) => local_url(
                Scheme::Http,
                router.local_address,
                router.local_port,
                &UrlPath::default(),
            ),
        }
    }
}

fn local_url(scheme: Scheme, address: IpAddr, port: Port, path: &UrlPath) -> Url {
    let text = format!("{}://{}{}", scheme.as_str(), SocketAddr::new(address, port.get()), path);
    Url::parse(&text).expect("a socket address and a checked path form a valid URL")
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

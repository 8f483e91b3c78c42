//! Runs a profile's link and reports what happens, for any face (TUI or headless).

pub mod burst;
pub mod hub;
pub mod router;
pub mod runner;
pub mod status;

pub use runner::{RouteEvent, Runner};
pub use status::{Phase, RouteStatus};

use std::net::SocketAddr;
use std::path::PathBuf;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::forward::{self, ForwardEvent, ForwardSpec, ForwardState};
use crate::kubeconfig;
use crate::profile::{Link, Profile};

/// What the user chose on the command line or in the TUI, over the profile.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub kubeconfig: Option<PathBuf>,
    /// Overrides the profile's context.
    pub context: Option<String>,
    /// Overrides the profile's local port.
    pub local_port: Option<u16>,
}

impl RunOptions {
    /// Where credentials are read from: the same kubeconfig and context as the link.
    pub fn kube(&self) -> crate::auth::KubeAccess {
        crate::auth::KubeAccess {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
        }
    }
}

/// What a profile's link needs to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// A native port-forward, in this kubeconfig context (`None`: the current one).
    Forward { spec: ForwardSpec, context: Option<String> },
    /// A URL reachable as it is: nothing runs locally.
    Direct { url: String },
    /// A local router, run as a child process.
    Router,
}

pub fn plan(profile: &Profile, options: &RunOptions) -> Plan {
    match &profile.link {
        Link::PortForward(pf) => {
            let port = options.local_port.unwrap_or(pf.local_port.get());
            Plan::Forward {
                spec: ForwardSpec {
                    namespace: pf.namespace.to_string(),
                    service: pf.service.to_string(),
                    remote_port: pf.remote_port.get(),
                    local: SocketAddr::new(pf.local_address, port),
                    scheme: pf.scheme.as_str(),
                    path: profile.endpoint.path.to_string(),
                    multiplexed: crate::forward::multiplexed(),
                },
                context: options.context.clone().or_else(|| pf.context.clone()),
            }
        }
        Link::Direct(_) => Plan::Direct { url: profile.local_endpoint().to_string() },
        Link::Router(_) => Plan::Router,
    }
}

/// Runs a port-forward plan until `cancel`; every outcome arrives as events.
pub async fn run_forward(
    spec: ForwardSpec,
    context: Option<String>,
    kubeconfig: Option<PathBuf>,
    events: mpsc::Sender<ForwardEvent>,
    cancel: CancellationToken,
) {
    let client = match kubeconfig::load(kubeconfig.as_deref()) {
        Ok(loaded) => {
            let api = loaded.api_server(context.as_deref());
            loaded.client(context.as_deref()).await.map(|client| (client, api))
        }
        Err(err) => Err(err),
    };
    match client {
        Ok((client, api)) => forward::run(spec, client, api, events, cancel).await,
        Err(err) => {
            let _ = events.send(ForwardEvent::State(ForwardState::Failed(err.into()))).await;
        }
    }
}

//! Trusting a server's certificate by pinning it: see what the route's endpoint presents (the
//! link brought up for the moment when it is a port-forward), then record its SHA-256 in the
//! profile as `tls.pin_sha256` and keep the PEM under the config directory. Verification stays
//! on: the pin is how the certificate is verified.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::forward::{ForwardEvent, ForwardState};
use crate::net::tls::Refusal;
use crate::net::{CertInfo, Http, Target};
use crate::profile::{Profile, ProfileStore, Sha256Pin, Tls};
use crate::supervisor::{self, Plan, RunOptions};
use crate::trouble::Trouble;

/// How long a port-forward may take to listen before the fetch gives up.
const LISTEN: Duration = Duration::from_secs(20);

/// What the endpoint presented.
#[derive(Debug, Clone)]
pub struct Presented {
    pub url: String,
    pub cert: CertInfo,
    pub der: Vec<u8>,
    /// Why this machine's trust store refuses it; `None`: it is trusted as it is.
    pub refusal: Option<Refusal>,
}

/// Whether two SHA-256 fingerprints are the same, however written (`AB:CD:…` or `abcd…`).
pub fn same_fingerprint(a: &str, b: &str) -> bool {
    a.replace(':', "").eq_ignore_ascii_case(&b.replace(':', ""))
}

impl Presented {
    /// Whether `profile` pins this very certificate already.
    pub fn pinned_in(&self, profile: &Profile) -> bool {
        let pin = profile.tls.as_ref().and_then(|t| t.pin_sha256.as_ref());
        pin.is_some_and(|pin| same_fingerprint(pin.as_str(), &self.cert.sha256))
    }

    pub fn pem(&self) -> String {
        let lf = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
        pem::encode_config(&pem::Pem::new("CERTIFICATE", self.der.clone()), lf)
    }
}

/// Connects to the profile's endpoint and reads the certificate it presents, with the system's
/// trust store (and the profile's CA file) deciding whether it is trusted already.
pub async fn fetch(profile: &Profile, options: &RunOptions) -> Result<Presented, Trouble> {
    let link = CancellationToken::new();
    let _stop = link.clone().drop_guard();
    let url = match supervisor::plan(profile, options) {
        Plan::Direct { url } => url,
        Plan::Forward { mut spec, context } => {
            // A port of its own, so a forward the TUI already runs is not in the way.
            spec.local.set_port(0);
            let (tx, rx) = mpsc::channel(64);
            let kubeconfig = options.kubeconfig.clone();
            tokio::spawn(supervisor::run_forward(spec, context, kubeconfig, tx, link.clone()));
            listening(rx).await?
        }
        Plan::Router => {
            return Err(Trouble::new(
                format!(
                    "profile {} is a router route: its gateways are trusted one by one",
                    profile.name
                ),
                "pin each gateway in the router's own settings",
            ));
        }
    };
    let url = Url::parse(&url)
        .map_err(|e| Trouble::new(format!("{url} is not a URL: {e}"), "fix the profile"))?;
    if url.scheme() != "https" {
        return Err(Trouble::new(
            format!("{url} is plain HTTP: there is no certificate to trust"),
            "nothing to do; TLS applies to https:// endpoints only",
        ));
    }
    let mut target = Target::new(url.clone());
    if let Some(ca) = profile.tls.as_ref().and_then(|t| t.ca_file.as_ref()) {
        target.tls.add_ca_file(ca).map_err(|cause| Trouble::new(cause, "fix `tls.ca_file`"))?;
    }
    let http =
        Http::new(&target).map_err(|cause| Trouble::new(cause, "check the system's TLS setup"))?;
    let answer = http.client.get(url.clone()).timeout(target.timeout).send().await;
    let Some(seen) = http.seen.last() else {
        let why = answer.err().map(|e| e.to_string()).unwrap_or_default();
        return Err(Trouble::new(
            format!("{url} presented no certificate ({why})"),
            "check that the endpoint speaks HTTPS and is reachable (mcp-connect probe)",
        ));
    };
    Ok(Presented { url: url.to_string(), cert: seen.cert, der: seen.der, refusal: seen.refusal })
}

/// Waits for the forward to listen: its URL, or why it could not.
async fn listening(mut rx: mpsc::Receiver<ForwardEvent>) -> Result<String, Trouble> {
    let wait = async {
        while let Some(event) = rx.recv().await {
            match event {
                ForwardEvent::State(ForwardState::Listening { url, .. }) => return Ok(url),
                ForwardEvent::State(ForwardState::Failed(trouble)) => return Err(trouble),
                _ => {}
            }
        }
        Err(Trouble::new("the port-forward stopped before it listened", "see the log file"))
    };
    tokio::time::timeout(LISTEN, wait).await.unwrap_or_else(|_| {
        Err(Trouble::new(
            format!("the port-forward did not listen within {} s", LISTEN.as_secs()),
            "check the pods behind the Service (mcp-connect up PROFILE shows why)",
        ))
    })
}

/// Where a pin went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pinned {
    pub profile: Profile,
    pub file: PathBuf,
    pub backup: Option<PathBuf>,
    pub pem: PathBuf,
}

/// Records `presented` as the profile's pin (saved as a user profile over `from`) and keeps
/// its PEM as `CERTS/NAME.pem`.
pub fn pin(
    profile: &Profile,
    from: Option<&Path>,
    presented: &Presented,
    store: &ProfileStore,
    certs: &Path,
) -> Result<Pinned, Trouble> {
    let pin = Sha256Pin::try_from(presented.cert.sha256.as_str())
        .map_err(|why| Trouble::new(why, "report this as a bug in mcp-connect"))?;
    let mut pinned = profile.clone();
    let tls = pinned.tls.get_or_insert(Tls { verify: true, ca_file: None, pin_sha256: None });
    tls.verify = true;
    tls.pin_sha256 = Some(pin);
    let pem = certs.join(format!("{}.pem", profile.name));
    crate::files::write_atomic(&pem, &presented.pem(), 0o644).map_err(|e| {
        Trouble::new(
            format!("cannot write {}: {e}", pem.display()),
            "check that the directory is writable",
        )
    })?;
    let saved = store.save(&pinned, from)?;
    Ok(Pinned { profile: pinned, file: saved.file, backup: saved.backup, pem })
}

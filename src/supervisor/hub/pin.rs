//! The engine's side of pinning a route's certificate: show what the endpoint presents, then
//! pin exactly that certificate (refused when the endpoint now presents another).

use std::path::PathBuf;

use super::{Event, Hub, Refused, SavedProfile};
use crate::net::CertInfo;
use crate::trouble::Trouble;
use crate::trust;

/// What a route's endpoint presented, for the user to decide on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    pub url: String,
    pub cert: CertInfo,
    /// Why this machine does not trust it; `None`: trusted as it is.
    pub refusal: Option<String>,
    /// The profile pins it already.
    pub pinned: bool,
}

impl Hub {
    pub(super) fn inspect(&self, name: &str) {
        let Some(profile) = self.profile(name).cloned() else {
            self.unknown(name);
            return;
        };
        let (options, events) = (self.run_options(name), self.events.clone());
        tokio::spawn(async move {
            let result =
                trust::fetch(&profile, &options).await.map_err(Refused::from).map(|seen| {
                    Certificate {
                        pinned: seen.pinned_in(&profile),
                        refusal: seen.refusal.as_ref().map(|r| r.describe()),
                        url: seen.url,
                        cert: seen.cert,
                    }
                });
            let profile = profile.name.to_string();
            let _ = events.send(Event::Certificate { profile, result }).await;
        });
    }

    pub(super) fn pin(&self, name: &str, sha256: String, from: Option<PathBuf>) {
        let Some(profile) = self.profile(name).cloned() else {
            self.unknown(name);
            return;
        };
        let (options, saved) = (self.run_options(name), self.saved.clone());
        let places = self.options.profiles.clone().zip(self.options.certs.clone());
        let name = name.to_owned();
        tokio::spawn(async move {
            let result = async {
                let Some((store, certs)) = places else {
                    return Err(Refused { trouble: Trouble::new("no profiles directory is set".to_owned(), "set HOME or XDG_CONFIG_HOME, or pass --profiles DIR".to_owned()), forcible: false });
                };
                let seen = trust::fetch(&profile, &options).await.map_err(Refused::from)?;
                if !trust::same_fingerprint(&seen.cert.sha256, &sha256) {
                    return Err(Refused { trouble: Trouble::new(format!(
                            "the endpoint now presents another certificate (SHA-256 {}) than the \
                             one shown ({sha256})",
                            seen.cert.sha256
                        ), "look at the new certificate (p again) before pinning it".to_owned()), forcible: false });
                }
                let pinned = tokio::task::spawn_blocking(move || {
                    trust::pin(&profile, from.as_deref(), &seen, &store, &certs)
                })
                .await
                .map_err(|e| Refused { trouble: Trouble::new(format!("pinning stopped: {e}"), "see the log file".to_owned()), forcible: false })?
                .map_err(Refused::from)?;
                Ok(SavedProfile {
                    profile: Box::new(pinned.profile),
                    file: pinned.file,
                    backup: pinned.backup,
                    replaces_overrides: false,
                })
            }
            .await;
            let _ = saved.send((name, result)).await;
        });
    }
}

//! One row of the profile list: the profile (or why it does not load), what the user changed
//! for this session, and its live view.

use std::path::PathBuf;

use crate::clientconfig::{Entry, Launcher};
use crate::profile::{Link, Profile};
use crate::trouble::Trouble;

use super::{RouteView, Status};

/// What `e` and `x` changed for this session (sent to the engine as `Command::Override`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    pub context: Option<String>,
    pub local_port: Option<u16>,
}

/// A profile and its state.
#[derive(Debug, Clone)]
pub struct Row {
    pub name: String,
    /// The profile, or the text of the error that keeps it from loading.
    pub profile: Result<Profile, String>,
    pub view: RouteView,
    pub overrides: Overrides,
    /// The user file the profile was loaded from or saved to; `None` for a built-in.
    pub file: Option<PathBuf>,
}

impl Row {
    pub fn new(profile: Profile) -> Row {
        let name = profile.name.to_string();
        Row {
            name,
            profile: Ok(profile),
            view: RouteView::default(),
            overrides: Overrides::default(),
            file: None,
        }
    }

    pub fn broken(name: String, error: String) -> Row {
        Row {
            name,
            profile: Err(error),
            view: RouteView::default(),
            overrides: Overrides::default(),
            file: None,
        }
    }

    pub fn status(&self) -> Status {
        if self.profile.is_err() { Status::Invalid } else { self.view.status.phase.into() }
    }

    /// Whether the route takes a kubeconfig context (a port-forward).
    pub fn takes_context(&self) -> bool {
        matches!(&self.profile, Ok(p) if matches!(p.link, Link::PortForward(_)))
    }

    /// The context a forward would use, and why: `("lab", "current")`.
    pub fn context(&self, current: Option<&str>) -> Option<(String, &'static str)> {
        let profile = self.profile.as_ref().ok().filter(|_| self.takes_context())?;
        if let Some(context) = &self.overrides.context {
            return Some((context.clone(), "changed here"));
        }
        if let Some(context) = profile.context() {
            return Some((context.to_owned(), "from the profile"));
        }
        Some((current.unwrap_or("none").to_owned(), "current"))
    }

    /// The local port the route serves on, the override first.
    pub fn local_port(&self) -> Option<u16> {
        let profile = self.profile.as_ref().ok()?;
        if !matches!(profile.link, Link::PortForward(_) | Link::Router(_)) {
            return None;
        }
        self.overrides.local_port.or_else(|| profile.local_endpoint().port())
    }

    /// The URL Claude Code is given: where the route serves once running, else where it will.
    pub fn endpoint(&self) -> Option<String> {
        if let Some(url) = &self.view.status.url {
            return Some(url.clone());
        }
        let mut url = self.profile.as_ref().ok()?.local_endpoint();
        if let (Some(port), true) = (self.overrides.local_port, self.local_port().is_some()) {
            let _ = url.set_port(Some(port));
        }
        Some(url.to_string())
    }

    /// The Claude Code entry the route would write.
    pub fn entry(&self, launcher: &Launcher) -> Option<Result<Entry, Trouble>> {
        let profile = self.profile.as_ref().ok()?;
        Some(Entry::for_profile(profile, self.overrides.local_port, launcher))
    }
}

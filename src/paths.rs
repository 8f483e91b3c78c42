//! Where mcp-connect keeps its files, by the XDG base directory rules.

use std::path::PathBuf;

use etcetera::BaseStrategy;

const APP: &str = "mcp-connect";

/// The directories mcp-connect reads and writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dirs {
    /// `$XDG_CONFIG_HOME/mcp-connect` (user profiles).
    pub config: PathBuf,
    /// `$XDG_STATE_HOME/mcp-connect` (logs, what we wrote into client configs).
    pub state: PathBuf,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot find the home directory to keep mcp-connect's files in")]
pub struct NoHome;

impl NoHome {
    pub fn fix(&self) -> &'static str {
        "set HOME, or XDG_CONFIG_HOME and XDG_STATE_HOME"
    }
}

impl Dirs {
    pub fn discover() -> Result<Dirs, NoHome> {
        let base = etcetera::choose_base_strategy().map_err(|_| NoHome)?;
        let state = base.state_dir().unwrap_or_else(|| base.data_dir());
        Ok(Dirs { config: base.config_dir().join(APP), state: state.join(APP) })
    }

    /// The default directory of user profiles.
    pub fn profiles(&self) -> PathBuf {
        self.config.join("profiles")
    }

    /// Pinned server certificates, as PEM (`NAME.pem`).
    pub fn certs(&self) -> PathBuf {
        self.config.join("certs")
    }

    /// The directory of the rolling log files.
    pub fn logs(&self) -> PathBuf {
        self.state.clone()
    }
}

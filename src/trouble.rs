//! The one shape of an explained failure: what went wrong and what to do about it. It is made
//! where the failure is found and carried unchanged to every face, so one fault reads the same
//! in the TUI, in `up`, in the bridge's JSON-RPC errors and in a command's exit message.

/// A failure explained: its cause and its fix.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, thiserror::Error)]
#[error("{cause}; fix: {fix}")]
pub struct Trouble {
    /// What went wrong, in the user's terms: "the API server at … refused the connection".
    pub cause: String,
    /// What to do about it: a command to run, a setting to change.
    pub fix: String,
}

impl Trouble {
    pub fn new(cause: impl Into<String>, fix: impl Into<String>) -> Trouble {
        Trouble { cause: cause.into(), fix: fix.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_reads_as_cause_then_fix() {
        let trouble = Trouble::new("the port is taken", "choose another with --local-port");
        assert_eq!(trouble.to_string(), "the port is taken; fix: choose another with --local-port");
    }
}

//! The headless commands: each turns engine results into lines on stdout.
//!
//! A command that runs async comes in two halves: `start`, which checks what it was given (a
//! profile's name, a probe's flags) and reports what is wrong before anything runs, and the
//! `run` it hands back for the runtime.

pub mod bridge;
pub mod config;
pub mod demo;
pub mod lab;
pub mod probe;
pub mod profiles;
pub mod router;
pub mod token;
pub mod trust;
pub mod tui;
pub mod up;

use std::process::ExitCode;

use crate::profile::{Catalog, Position, Profile};
use crate::trouble::Trouble;

/// The one place an error reaches the user: what went wrong, then what to do about it.
pub fn report(cause: &dyn std::fmt::Display, fix: &str) -> ExitCode {
    eprintln!("error: {cause}");
    eprintln!("  fix: {fix}");
    ExitCode::from(2)
}

/// [`report`] of an explained failure.
pub fn fail(trouble: &Trouble) -> ExitCode {
    report(&trouble.cause, &trouble.fix)
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM.
pub async fn wait_for_shutdown() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// The valid profile named `name`, or the exit code of the error reported.
pub fn find_profile<'c>(catalog: &'c Catalog, name: &str) -> Result<&'c Profile, ExitCode> {
    let Some(entry) = catalog.get(name) else {
        let cause = format!("no profile named {name:?}");
        return Err(report(&cause, &unknown_fix(catalog)));
    };
    entry.profile.as_ref().map_err(|err| {
        let fix = if err.position == Position::WHOLE_FILE {
            "make it a readable profile file, as the error says, or remove it"
        } else {
            "fix the profile file at the position shown"
        };
        report(err, fix)
    })
}

/// What to do about a name no profile has: the names that load, then every file that does not,
/// with its path and why (the name meant may be one of them).
fn unknown_fix(catalog: &Catalog) -> String {
    let valid: Vec<&str> = catalog.valid_names().collect();
    let mut fix = if valid.is_empty() {
        "fix one of the profiles below; none loads".to_owned()
    } else {
        format!("use one of: {}", valid.join(", "))
    };
    for error in catalog.errors() {
        fix.push_str(&format!("\n  not loaded: {error}"));
    }
    fix
}

//! The headless commands: each turns engine results into lines on stdout.

pub mod health;
pub mod lab;
pub mod probe;
pub mod profiles;
pub mod up;

use std::process::ExitCode;

/// The one place an error reaches the user: what went wrong, then what to do about it.
pub fn report(cause: &dyn std::fmt::Display, fix: &str) -> ExitCode {
    eprintln!("error: {cause}");
    eprintln!("  fix: {fix}");
    ExitCode::from(2)
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

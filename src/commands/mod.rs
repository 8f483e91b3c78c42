//! The headless commands: each turns engine results into lines on stdout.

pub mod lab;
pub mod profiles;
pub mod up;

use std::process::ExitCode;

/// The one place an error reaches the user: what went wrong, then what to do about it.
pub fn report(cause: &dyn std::fmt::Display, fix: &str) -> ExitCode {
    eprintln!("error: {cause}");
    eprintln!("  fix: {fix}");
    ExitCode::from(2)
}

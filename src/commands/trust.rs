//! `mcp-connect trust PROFILE [--yes]`: shows the certificate the route's endpoint presents and
//! pins it in the profile — after asking on a terminal, at once with `--yes`, never silently.

use std::io::{self, BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use crate::profile::{Catalog, Profile, ProfileStore, Source};
use crate::supervisor::RunOptions;
use crate::trust::{self, Presented};

use super::{fail, find_profile, report};

/// Finds the profile named `name`, and the user file it came from, and gives the trusting of
/// its certificate; a name that finds none is reported here, before anything runs.
pub fn start<'a>(
    catalog: &'a Catalog,
    name: &str,
    options: RunOptions,
    yes: bool,
    store: ProfileStore,
    certs: &'a Path,
) -> Result<impl Future<Output = ExitCode>, ExitCode> {
    let from = catalog.get(name).and_then(|entry| match &entry.source {
        Source::User(file) => Some(file.as_path()),
        Source::BuiltIn { .. } => None,
    });
    let profile = find_profile(catalog, name)?;
    Ok(run(TrustArgs { profile, from, options, yes, store, certs }))
}

pub struct TrustArgs<'a> {
    pub profile: &'a Profile,
    /// The user file the profile came from (`None`: a built-in).
    pub from: Option<&'a Path>,
    pub options: RunOptions,
    pub yes: bool,
    pub store: ProfileStore,
    pub certs: &'a Path,
}

pub async fn run(args: TrustArgs<'_>) -> ExitCode {
    let name = args.profile.name.to_string();
    let presented = match trust::fetch(args.profile, &args.options).await {
        Ok(presented) => presented,
        Err(err) => return fail(&err),
    };
    println!("{}", describe(&name, &presented));
    if presented.pinned_in(args.profile) {
        println!("{name}: this certificate is pinned already; nothing to change");
        return ExitCode::SUCCESS;
    }
    if presented.refusal.is_none() {
        println!("{name}: this machine trusts the certificate already; nothing to pin");
        return ExitCode::SUCCESS;
    }
    if !args.yes {
        if !io::stdin().is_terminal() {
            return report(
                &"not pinning without asking, and there is no terminal to ask on",
                &format!("check the fingerprint above, then run `mcp-connect trust {name} --yes`"),
            );
        }
        eprint!(
            "Pin this certificate for {name}? Only if the SHA-256 above is the server's. [y/N] "
        );
        let _ = io::stderr().flush();
        let mut answer = String::new();
        let _ = io::stdin().lock().read_line(&mut answer);
        if !matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
            println!("{name}: not pinned");
            return ExitCode::from(1);
        }
    }
    match trust::pin(args.profile, args.from, &presented, &args.store, args.certs) {
        Ok(pinned) => {
            println!(
                "{name}: pinned SHA-256 {} in {}; the certificate is kept as {}",
                presented.cert.sha256,
                pinned.file.display(),
                pinned.pem.display()
            );
            if let Some(backup) = pinned.backup {
                println!("{name}: the profile before is kept as {}", backup.display());
            }
            ExitCode::SUCCESS
        }
        Err(err) => fail(&err),
    }
}

/// The certificate in the words a user checks it by.
fn describe(name: &str, presented: &Presented) -> String {
    let cert = &presented.cert;
    let verdict = match &presented.refusal {
        None => "trusted by this machine".to_owned(),
        Some(refusal) => format!("NOT trusted by this machine: {}", refusal.describe()),
    };
    let signed = if cert.self_signed { " (self-signed)" } else { "" };
    [
        format!("{name}: {} presented a certificate {verdict}", presented.url),
        format!("  subject  {}", cert.subject),
        format!("  issuer   {}{signed}", cert.issuer),
        format!("  valid    {} to {}", cert.not_before, cert.not_after),
        format!("  names    {}", cert.names.join(", ")),
        format!("  SHA-256  {}", cert.sha256),
    ]
    .join("\n")
}

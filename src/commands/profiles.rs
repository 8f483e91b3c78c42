//! `mcp-connect profiles`: one row per profile, valid or not.

use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use serde::Serialize;

use crate::kubeconfig::{self, KubeconfigError, Loaded, Origin, effective_context};
use crate::profile::{Catalog, Entry, Profile, RouteKind};

use super::report;

mod table;

/// The listing on stdout, over the kubeconfig `kubeconfig` names (else the usual places) and
/// `--context`. Exit 0 when every profile is valid, 1 when one is not; a closed stdout
/// (`mcp-connect profiles | head`) is not an error.
pub fn print(
    catalog: &Catalog,
    kubeconfig: Option<&Path>,
    context_flag: Option<&str>,
    json: bool,
    wide: bool,
) -> ExitCode {
    let kube = kubeconfig::load(kubeconfig);
    let mut out = io::stdout().lock();
    let width = if wide { None } else { width(&out) };
    let result = run(catalog, &kube, context_flag, json, width, &mut out)
        .and_then(|valid| out.flush().map(|()| valid));
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(err) => report(&err, "check that stdout is writable"),
    }
}

/// The width the table fits: the terminal's, else `$COLUMNS`; none for a pipe without it.
fn width(out: &impl IsTerminal) -> Option<usize> {
    let columns = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok());
    let terminal = out.is_terminal().then(crossterm::terminal::size).and_then(Result::ok);
    terminal.map(|(columns, _)| usize::from(columns)).or(columns).filter(|c| *c > 0)
}

/// The kubeconfig as the listing reports it.
#[derive(Debug, Serialize)]
pub struct KubeconfigReport {
    pub files: Vec<String>,
    pub origin: Option<Origin>,
    pub current_context: Option<String>,
    pub error: Option<String>,
}

impl KubeconfigReport {
    pub fn new(kube: &Result<Loaded, KubeconfigError>) -> Self {
        match kube {
            Ok(loaded) => KubeconfigReport {
                files: loaded.files.iter().map(|p| p.display().to_string()).collect(),
                origin: Some(loaded.origin),
                current_context: loaded.current_context().map(str::to_owned),
                error: None,
            },
            Err(err) => KubeconfigReport {
                files: Vec::new(),
                origin: None,
                current_context: None,
                error: Some(err.to_string()),
            },
        }
    }
}

/// One profile as the listing shows it.
#[derive(Debug, Serialize)]
pub struct Row<'a> {
    pub name: &'a str,
    pub route: Option<RouteKind>,
    pub target: Option<String>,
    /// The kubeconfig context a port-forward runs in, when it is known.
    pub context: Option<String>,
    pub local_endpoint: Option<String>,
    /// `built-in` or the file's path.
    pub source: String,
    pub replaces_builtin: bool,
    /// `path:line:col: what is wrong, what was expected`.
    pub error: Option<String>,
    pub profile: Option<&'a Profile>,
}

impl<'a> Row<'a> {
    pub fn new(entry: &'a Entry, kube: Option<&Loaded>, context_flag: Option<&str>) -> Self {
        let profile = entry.profile.as_ref().ok();
        let context = profile.filter(|p| p.route_kind() == RouteKind::PortForward).and_then(|p| {
            let current = kube.and_then(Loaded::current_context);
            effective_context(context_flag, p.context(), current).map(str::to_owned)
        });
        Row {
            name: &entry.name,
            route: profile.map(Profile::route_kind),
            target: profile.map(Profile::target),
            context,
            local_endpoint: profile.map(|p| p.local_endpoint().to_string()),
            source: entry.source.to_string(),
            replaces_builtin: entry.replaces_builtin,
            error: entry.profile.as_ref().err().map(ToString::to_string),
            profile,
        }
    }
}

#[derive(Debug, Serialize)]
struct Listing<'a> {
    kubeconfig: KubeconfigReport,
    profiles: Vec<Row<'a>>,
}

/// Writes the listing, the table fitted to `width` columns when one is given; answers whether
/// every profile is valid.
pub fn run(
    catalog: &Catalog,
    kube: &Result<Loaded, KubeconfigError>,
    context_flag: Option<&str>,
    json: bool,
    width: Option<usize>,
    out: &mut impl Write,
) -> io::Result<bool> {
    let rows: Vec<Row> =
        catalog.entries().iter().map(|e| Row::new(e, kube.as_ref().ok(), context_flag)).collect();
    let valid = rows.iter().all(|r| r.error.is_none());
    let listing = Listing { kubeconfig: KubeconfigReport::new(kube), profiles: rows };
    if json {
        serde_json::to_writer_pretty(&mut *out, &listing)?;
        writeln!(out)?;
    } else {
        write_table(&listing, width, out)?;
    }
    Ok(valid)
}

fn write_table(listing: &Listing, width: Option<usize>, out: &mut impl Write) -> io::Result<()> {
    let kube = &listing.kubeconfig;
    match &kube.error {
        None => writeln!(
            out,
            "kubeconfig: {} (current context: {})",
            kube.files.join(":"),
            kube.current_context.as_deref().unwrap_or("none")
        )?,
        Some(error) => writeln!(out, "kubeconfig: {error}")?,
    }
    writeln!(out)?;

    let dash = || "-".to_owned();
    let cells: Vec<[String; 5]> = listing
        .profiles
        .iter()
        .map(|row| {
            let target = match (&row.target, &row.context) {
                (Some(target), Some(context)) => format!("{target} @{context}"),
                (Some(target), None) => target.clone(),
                (None, _) => dash(),
            };
            let source = if row.replaces_builtin {
                format!("{} (replaces built-in)", row.source)
            } else {
                row.source.clone()
            };
            [
                row.name.to_owned(),
                row.route.map_or_else(dash, |r| r.to_string()),
                target,
                row.local_endpoint.clone().unwrap_or_else(dash),
                source,
            ]
        })
        .collect();
    let header = ["NAME", "ROUTE", "TARGET", "LOCAL ENDPOINT", "SOURCE"];
    let lines = table::lines(header, &cells);
    let fits = |width: usize| lines.iter().all(|l| l.chars().count() <= width);
    match width {
        Some(width) if !fits(width) => stacked(listing, &cells, width, out)?,
        _ => {
            let mut lines = lines.iter();
            writeln!(out, "{}", lines.next().map_or("", String::as_str))?;
            for (row, line) in listing.profiles.iter().zip(lines) {
                writeln!(out, "{line}")?;
                if let Some(error) = &row.error {
                    writeln!(out, "{}", table::wrapped("  error: ", error, width))?;
                }
            }
        }
    }
    let invalid = listing.profiles.iter().filter(|r| r.error.is_some()).count();
    writeln!(out)?;
    write!(out, "{} profiles", listing.profiles.len())?;
    match invalid {
        0 => writeln!(out),
        n => writeln!(out, ", {n} invalid: fix each file as its error says"),
    }
}

/// The listing for a terminal too narrow for the table: one block per profile, its name with
/// route and source, then its target, endpoint and error each on a line of its own.
fn stacked(
    listing: &Listing,
    cells: &[[String; 5]],
    width: usize,
    out: &mut impl Write,
) -> io::Result<()> {
    for (row, [name, route, target, local, source]) in listing.profiles.iter().zip(cells) {
        writeln!(out, "{}", table::cut(&format!("{name}  {route}  {source}"), width))?;
        for (label, value) in [("target", target), ("local", local)] {
            if value != "-" {
                let room = width.saturating_sub(10);
                writeln!(out, "  {label:<6}  {}", table::cut(value, room))?;
            }
        }
        if let Some(error) = &row.error {
            writeln!(out, "{}", table::wrapped("  error   ", error, Some(width)))?;
        }
    }
    Ok(())
}

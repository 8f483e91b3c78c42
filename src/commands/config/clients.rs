//! `mcp-connect config clients`: which MCP clients are installed (their config directory
//! exists) and where each scope of each would be written.

use std::path::Path;
use std::process::ExitCode;

use crate::clientconfig::{Client, Scope, Writer};

pub fn run(writer: &Writer, dir: &Path) -> ExitCode {
    let rows: Vec<[String; 4]> = Client::ALL
        .into_iter()
        .map(|client| {
            let installed = if client.installed(writer.homes()) { "yes" } else { "no" };
            let files: Vec<String> = Scope::all(client, dir)
                .iter()
                .map(|scope| format!("{}: {}", scope.name(), writer.file(scope).display()))
                .collect();
            [
                client.id().to_owned(),
                client.title().to_owned(),
                installed.to_owned(),
                files.join("  "),
            ]
        })
        .collect();
    let header = ["CLIENT", "NAME", "INSTALLED", "FILES"].map(String::from);
    let width =
        |i: usize| rows.iter().chain([&header]).map(|r| r[i].chars().count()).max().unwrap_or(0);
    let widths = [width(0), width(1), width(2)];
    for row in [&header].into_iter().chain(&rows) {
        let [id, title, installed, files] = row;
        println!(
            "{id:w0$}  {title:w1$}  {installed:w2$}  {files}",
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
    }
    ExitCode::SUCCESS
}

//! `mcp-connect lab`: prints where to point tools, serves until SIGTERM, then cleans up.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::Home;

#[test]
fn lab_prints_its_kubeconfig_serves_kubectl_and_cleans_up_on_sigterm() {
    crate::support::ensure_tool("kubectl", "kubernetes-client");
    let home = Home::new();
    let mut child = home
        .command()
        .arg("lab")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mcp-connect lab starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let done = line == "lab ready";
        printed.push(line);
        if done {
            break;
        }
    }
    assert_eq!(printed.last().map(String::as_str), Some("lab ready"), "{printed:?}");
    let kubeconfig =
        PathBuf::from(printed[0].strip_prefix("kubeconfig: ").expect("kubeconfig first"));
    assert!(printed[1].starts_with("api-server: https://127.0.0.1:"), "{printed:?}");
    assert!(
        printed.iter().any(|l| l.starts_with("service mcp/serena-mcp:8080 -> pod serena-mcp-"))
    );
    assert!(
        printed.iter().any(|l| l.starts_with("service mcp/mcp-gateway-mcp-bridge-gateway:8443"))
    );
    let all = printed.join("\n");
    assert!(!all.contains("token"), "no secret on the screen: {all}");

    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&kubeconfig).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "the kubeconfig holds a token: owner only");

    let out = Command::new("kubectl")
        .env("HOME", home.path())
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["get", "pods", "-l", "app=serena-mcp"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("serena-mcp-") && stdout.contains("Running"), "{stdout}");

    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the lab did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
    assert!(!kubeconfig.exists(), "the lab removes its files");
}

#[test]
fn lab_eras_2026_only_serves_a_server_that_the_probe_finds_2026_only() {
    let home = Home::new();
    let mut child = home
        .command()
        .args(["lab", "--eras", "2026-only"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("mcp-connect lab starts");
    let lines = BufReader::new(child.stdout.take().unwrap()).lines().map_while(Result::ok);
    // Read to the end of what it prints: a pipe closed before makes the lab fail to print.
    let printed: Vec<String> = lines.take_while(|l| l != "lab ready").collect();
    let service = printed
        .into_iter()
        .find(|l| l.starts_with("service mcp/serena-mcp:8080"))
        .expect("the Service line");
    assert!(service.contains("(reference MCP server, MCP 2026-07-28 only, http://"), "{service}");
    let url = service.rsplit(", ").next().unwrap().trim_end_matches(')').to_owned();

    let probe = home.run(&["probe", "--json", &url]);
    assert_eq!(probe.code(), 0, "{}{}", probe.stdout(), probe.stderr());
    let report: serde_json::Value = serde_json::from_str(probe.stdout().trim()).unwrap();
    assert_eq!(report["era"], "2026-07-28", "{report}");
    assert_eq!(report["supported_versions"], serde_json::json!(["2026-07-28"]), "{report}");
    assert_eq!(crate::support::stop(&mut child), 0);

    // Real Serena speaks both eras: the two options together are refused before anything starts.
    let both = home.run(&["lab", "--serena", "--eras", "2026-only"]);
    assert_eq!(both.code(), 2, "{}", both.stderr());
    assert!(both.stderr().contains("cannot be used with"), "{}", both.stderr());
}

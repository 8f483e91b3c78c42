//! The probe over HTTPS: verification stays on, and every refusal names the certificate
//! (subject, issuer, validity, SHA-256) and how to trust it.

use mcp_connect::lab::mcp::{McpServer, McpServerOptions};
use mcp_connect::lab::tls::{LOOPBACK, LabCa, LabTls};
use mcp_connect::net::Target;
use mcp_connect::net::tls::fingerprint;
use mcp_connect::probe::{self, Hints, Outcome};
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::pki_types::pem::PemObject;

use crate::support::{Home, mcp_server};

async fn https(tls: &LabTls) -> McpServer {
    let options = McpServerOptions { tls: Some(tls.server.clone()), ..Default::default() };
    mcp_server(options).await
}

fn trusting(url: &str, pem: &str) -> Target {
    let mut target = Target::new(url.parse().unwrap());
    target.tls.extra_roots =
        CertificateDer::pem_slice_iter(pem.as_bytes()).map(Result::unwrap).collect();
    target
}

async fn diagnosis(target: &Target) -> (String, String) {
    match probe::check(target, &Hints::default()).await.unwrap() {
        Outcome::Unhealthy { diagnosis, .. } => (diagnosis.cause, diagnosis.fix),
        Outcome::Healthy(report) => panic!("expected a refusal, got {report:?}"),
    }
}

#[tokio::test]
async fn a_self_signed_certificate_is_refused_with_its_fingerprint_and_trusted_once_pinned() {
    let tls = LabTls::self_signed("serena-lab").unwrap();
    let server = https(&tls).await;
    let sha = fingerprint(&tls.leaf_der);

    let (cause, fix) = diagnosis(&Target::new(server.url().parse().unwrap())).await;
    assert!(cause.contains("presented a self-signed certificate no trusted CA signed"), "{cause}");
    assert!(cause.contains("subject CN=serena-lab"), "{cause}");
    assert!(cause.contains(&format!("SHA-256 {sha}")), "{cause}");
    assert!(fix.contains(&format!("pin SHA-256 {sha}")), "{fix}");

    // Pinned: trusted without any CA.
    let mut pinned = Target::new(server.url().parse().unwrap());
    pinned.tls.pin_sha256 = Some(sha.replace(':', "").to_lowercase());
    let Outcome::Healthy(report) = probe::check(&pinned, &Hints::default()).await.unwrap() else {
        panic!("the pinned certificate is refused")
    };
    assert_eq!(report.certificate.unwrap().sha256, sha);
    assert_eq!(report.tools, 3);

    // A pin of another certificate: refused as such.
    let other = LabTls::self_signed("impostor").unwrap();
    pinned.tls.pin_sha256 = Some(fingerprint(&other.leaf_der).replace(':', "").to_lowercase());
    let (cause, fix) = diagnosis(&pinned).await;
    assert!(cause.contains("presented a certificate other than the pinned one"), "{cause}");
    assert!(fix.contains("intercepting"), "{fix}");
}

#[tokio::test]
async fn a_trusted_ca_makes_it_healthy_and_a_wrong_name_or_expiry_is_named() {
    let ca = LabCa::new("lab-ca").unwrap();
    let good = https(&ca.issue(&LOOPBACK).unwrap()).await;
    let Outcome::Healthy(report) =
        probe::check(&trusting(&good.url(), ca.pem()), &Hints::default()).await.unwrap()
    else {
        panic!("a certificate of a trusted CA is refused")
    };
    assert_eq!(report.certificate.unwrap().issuer, "CN=lab-ca");

    let misnamed = https(&ca.issue(&["gateway.example.internal"]).unwrap()).await;
    let (cause, fix) = diagnosis(&trusting(&misnamed.url(), ca.pem())).await;
    assert!(
        cause.contains("certificate for gateway.example.internal, not for 127.0.0.1"),
        "{cause}"
    );
    assert!(fix.contains("127.0.0.1 in subjectAltName"), "{fix}");

    let expired = https(&ca.issue_expired(&LOOPBACK).unwrap()).await;
    let (cause, fix) = diagnosis(&trusting(&expired.url(), ca.pem())).await;
    assert!(cause.contains("a certificate that expired on Jan  1 00:00:00 2021"), "{cause}");
    assert!(fix.starts_with("renew the server's certificate"), "{fix}");
}

#[tokio::test]
async fn the_command_trusts_a_ca_file_and_insecure_is_loud() {
    let tls = LabTls::self_signed("serena-lab").unwrap();
    let server = https(&tls).await;
    let home = Home::new();
    let ca = home.write("ca.pem", &tls.ca_pem);
    let url = server.url();
    let run = tokio::task::spawn_blocking(move || {
        let refused = home.run(&["probe", &url]);
        let trusted = home.run(&["probe", &url, "--ca", ca.to_str().unwrap()]);
        let insecure = home.run(&["probe", &url, "--insecure"]);
        let missing = home.run(&["probe", &url, "--ca", "/nonexistent/ca.pem"]);
        (refused, trusted, insecure, missing)
    });
    let (refused, trusted, insecure, missing) = run.await.unwrap();
    let sha = fingerprint(&tls.leaf_der);

    assert_eq!(refused.code(), 1);
    assert!(refused.stdout().contains(&sha), "{}", refused.stdout());

    assert_eq!(trusted.code(), 0, "{}", trusted.stdout());
    assert!(trusted.stdout().contains(&format!("  sha-256    {sha}\n")), "{}", trusted.stdout());
    assert!(trusted.stderr().is_empty(), "{}", trusted.stderr());

    assert_eq!(insecure.code(), 0, "{}", insecure.stdout());
    assert!(insecure.stderr().contains("warning: TLS verification is OFF (--insecure)"));

    assert_eq!(missing.code(), 2);
    assert!(missing.stderr().contains("cannot read CA certificates from /nonexistent/ca.pem"));
}

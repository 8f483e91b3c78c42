//! Certificates for the lab's HTTPS servers, made fresh each time: a CA of their own
//! ([`LabCa`]) and the server certificates it signs, good or broken on purpose (a name other
//! than the one dialled, or a validity that has ended), and self-signed ones.
//!
//! Every [`LabTls`] carries what a TLS test needs: the rustls server configuration (ALPN
//! `http/1.1`), the PEM a client must trust to accept it, and the server certificate's DER.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The names a loopback server is dialled by.
pub const LOOPBACK: [&str; 3] = ["127.0.0.1", "::1", "localhost"];

/// A server certificate, ready to serve, and what a client trusts to accept it.
#[derive(Clone)]
pub struct LabTls {
    /// What clients trust, PEM: the CA's certificate, or for a self-signed certificate the
    /// certificate itself.
    pub ca_pem: String,
    /// Presents the server certificate (and the CA's, when there is one); ALPN `http/1.1`.
    pub server: Arc<ServerConfig>,
    /// The server certificate, DER (what a pin is taken of).
    pub leaf_der: CertificateDer<'static>,
}

impl LabTls {
    /// A fresh CA named `ca_name`, and a certificate for 127.0.0.1, ::1 and localhost.
    pub fn issue(ca_name: &str) -> Result<LabTls, String> {
        LabCa::new(ca_name)?.issue(&LOOPBACK)
    }

    /// A self-signed certificate (no CA) for 127.0.0.1, ::1 and localhost, named `name`. A
    /// client trusting only the system roots rejects it ("unknown issuer").
    pub fn self_signed(name: &str) -> Result<LabTls, String> {
        let key = KeyPair::generate().map_err(cannot_make)?;
        let params = leaf_params(name, &LOOPBACK)?;
        let cert = params.self_signed(&key).map_err(cannot_make)?;
        let leaf = cert.der().clone();
        serving(cert.pem(), vec![leaf], key)
    }
}

/// A certificate authority of the lab's own, which signs server certificates.
pub struct LabCa {
    pem: String,
    der: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

impl LabCa {
    /// A fresh CA named `name` (its common name).
    pub fn new(name: &str) -> Result<LabCa, String> {
        let key = KeyPair::generate().map_err(cannot_make)?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(cannot_make)?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.self_signed(&key).map_err(cannot_make)?;
        Ok(LabCa { pem: cert.pem(), der: cert.der().clone(), issuer: Issuer::new(params, key) })
    }

    /// Its certificate, PEM: what clients trust.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// A certificate for exactly `hosts` (DNS names or IP addresses), valid now. For a name
    /// other than the one a client dials (`gateway.example.internal` served on 127.0.0.1),
    /// a client trusting this CA rejects it as a name mismatch.
    pub fn issue(&self, hosts: &[&str]) -> Result<LabTls, String> {
        self.sign(leaf_params(hosts.first().copied().unwrap_or("lab"), hosts)?)
    }

    /// A certificate for `hosts` whose validity ended on 2021-01-01 (it began on
    /// 2020-01-01): a client trusting this CA rejects it as expired.
    pub fn issue_expired(&self, hosts: &[&str]) -> Result<LabTls, String> {
        let mut params = leaf_params(hosts.first().copied().unwrap_or("lab"), hosts)?;
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        self.sign(params)
    }

    fn sign(&self, params: CertificateParams) -> Result<LabTls, String> {
        let key = KeyPair::generate().map_err(cannot_make)?;
        let cert = params.signed_by(&key, &self.issuer).map_err(cannot_make)?;
        serving(self.pem.clone(), vec![cert.der().clone(), self.der.clone()], key)
    }
}

/// A server certificate's parameters: common name `name`, subject alternative names `hosts`.
fn leaf_params(name: &str, hosts: &[&str]) -> Result<CertificateParams, String> {
    let names: Vec<String> = hosts.iter().map(|&host| host.to_owned()).collect();
    let mut params = CertificateParams::new(names).map_err(cannot_make)?;
    params.distinguished_name.push(DnType::CommonName, name);
    Ok(params)
}

/// The server configuration presenting `chain` (leaf first) with `key`.
fn serving(
    ca_pem: String,
    chain: Vec<CertificateDer<'static>>,
    key: KeyPair,
) -> Result<LabTls, String> {
    let leaf_der = chain[0].clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let mut server = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("cannot use the lab's certificate: {e}"))?;
    // Upgrades (port-forward, exec) need HTTP/1.1, as on a real API server's clients.
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(LabTls { ca_pem, server: Arc::new(server), leaf_der })
}

fn cannot_make(e: rcgen::Error) -> String {
    format!("cannot make the lab's certificates: {e}")
}

//! Certificates for the lab's HTTPS servers: a CA of their own, and a server certificate for
//! 127.0.0.1 and localhost signed by it.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A CA and the server configuration that presents a certificate it signed.
#[derive(Clone)]
pub struct LabTls {
    /// The CA certificate, PEM: what clients trust.
    pub ca_pem: String,
    pub server: Arc<ServerConfig>,
}

impl LabTls {
    /// A fresh CA named `ca_name`, and a certificate for 127.0.0.1, ::1 and localhost.
    pub fn issue(ca_name: &str) -> Result<LabTls, String> {
        let fail = |e: rcgen::Error| format!("cannot make the lab's certificates: {e}");
        let ca_key = KeyPair::generate().map_err(fail)?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(fail)?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(DnType::CommonName, ca_name);
        let ca_cert = ca_params.self_signed(&ca_key).map_err(fail)?;
        let issuer = Issuer::new(ca_params, ca_key);

        let key = KeyPair::generate().map_err(fail)?;
        let names = ["127.0.0.1", "::1", "localhost"].map(String::from).to_vec();
        let mut params = CertificateParams::new(names).map_err(fail)?;
        params.distinguished_name.push(DnType::CommonName, "localhost");
        let cert = params.signed_by(&key, &issuer).map_err(fail)?;

        let chain = vec![cert.der().clone(), CertificateDer::from(ca_cert.der().to_vec())];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let mut server = ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| format!("cannot use the lab's certificate: {e}"))?;
        // Upgrades (port-forward, exec) need HTTP/1.1, as on a real API server's clients.
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(LabTls { ca_pem: ca_cert.pem(), server: Arc::new(server) })
    }
}

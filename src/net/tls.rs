//! TLS for the probe. Verification stays on unless the user turns it off out loud; the
//! certificate the server presented is kept either way, so that a failure can name it (subject,
//! issuer, validity, SHA-256) and say how to trust it.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use rustls_platform_verifier::Verifier;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::{CryptoProvider, aws_lc_rs};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, Error, SignatureScheme,
};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use crate::trouble::Trouble;

/// How the server's certificate is judged.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// CA certificates trusted on top of the system's.
    pub extra_roots: Vec<CertificateDer<'static>>,
    /// Trust exactly the certificate with this SHA-256 (64 lowercase hex digits), whoever
    /// signed it and whatever names it holds.
    pub pin_sha256: Option<String>,
    /// Accept any certificate. Only ever an explicit choice of the user.
    pub insecure: bool,
}

impl TlsOptions {
    /// Reads the CA certificates of a PEM file into [`TlsOptions::extra_roots`].
    pub fn add_ca_file(&mut self, path: &std::path::Path) -> Result<(), String> {
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("cannot read CA certificates from {}: {e}", path.display()))?;
        if certs.is_empty() {
            return Err(format!("{} holds no PEM certificate", path.display()));
        }
        self.extra_roots.extend(certs);
        Ok(())
    }
}

/// What a server presented, in the words `openssl x509 -text` would use.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    pub not_before: String,
    pub not_after: String,
    /// Names the certificate is valid for (subjectAltName DNS and IP entries).
    pub names: Vec<String>,
    /// SHA-256 of the DER, as colon-separated uppercase hex.
    pub sha256: String,
    pub self_signed: bool,
}

impl CertInfo {
    pub fn from_der(der: &[u8]) -> CertInfo {
        let sha256 = fingerprint(der);
        let Ok((_, cert)) = X509Certificate::from_der(der) else {
            return CertInfo {
                subject: "(unparsable certificate)".into(),
                issuer: String::new(),
                not_before: String::new(),
                not_after: String::new(),
                names: Vec::new(),
                sha256,
                self_signed: false,
            };
        };
        let names = match cert.subject_alternative_name() {
            Ok(Some(san)) => san
                .value
                .general_names
                .iter()
                .filter_map(|name| match name {
                    GeneralName::DNSName(dns) => Some((*dns).to_owned()),
                    GeneralName::IPAddress(ip) => ip_text(ip),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        let validity = cert.validity();
        CertInfo {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            not_before: validity.not_before.to_string(),
            not_after: validity.not_after.to_string(),
            names,
            sha256,
            self_signed: cert.subject() == cert.issuer(),
        }
    }
}

fn ip_text(bytes: &[u8]) -> Option<String> {
    match bytes.len() {
        4 => Some(std::net::Ipv4Addr::from(<[u8; 4]>::try_from(bytes).ok()?).to_string()),
        16 => Some(std::net::Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?).to_string()),
        _ => None,
    }
}

/// SHA-256 of `der` as `AB:CD:…`.
pub fn fingerprint(der: &[u8]) -> String {
    let digest = ::aws_lc_rs::digest::digest(&::aws_lc_rs::digest::SHA256, der);
    let mut out = String::with_capacity(95);
    for (i, byte) in digest.as_ref().iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        let _ = write!(out, "{byte:02X}");
    }
    out
}

/// Why the certificate was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not signed by a trusted CA (self-signed, or a private CA the client does not know).
    UnknownIssuer,
    /// Valid, but not for the host connected to.
    WrongName {
        host: String,
    },
    Expired,
    NotYetValid,
    /// The pinned fingerprint does not match.
    PinMismatch {
        pinned: String,
    },
    Other(String),
}

impl Refusal {
    /// In a few words, for a user deciding whether to trust the certificate.
    pub fn describe(&self) -> String {
        match self {
            Refusal::UnknownIssuer => "no CA this machine trusts signed it".to_owned(),
            Refusal::WrongName { host } => format!("it is not valid for {host}"),
            Refusal::Expired => "it has expired".to_owned(),
            Refusal::NotYetValid => "it is not valid yet".to_owned(),
            Refusal::PinMismatch { pinned } => format!("it is not the pinned one ({pinned})"),
            Refusal::Other(detail) => detail.clone(),
        }
    }
}

/// The certificate a handshake saw, and why it was refused if it was.
#[derive(Debug, Clone)]
pub struct Seen {
    pub cert: CertInfo,
    /// The certificate itself (DER), for pinning it.
    pub der: Vec<u8>,
    pub refusal: Option<Refusal>,
}

/// Why `url`'s certificate was refused, naming it (subject, issuer, validity, SHA-256, whether
/// it is self-signed or for another host), and the fix; `pin` says how to trust it where the
/// refusal is one a pin cures (the wording of the place it goes: a profile, the router's
/// config).
pub fn refused(url: &str, seen: &Seen, pin: &str) -> Trouble {
    let c = &seen.cert;
    let who = format!(
        "subject {}, issuer {}, valid {} to {}, SHA-256 {}",
        c.subject, c.issuer, c.not_before, c.not_after, c.sha256
    );
    let (cause, fix) = match seen.refusal.as_ref() {
        Some(Refusal::UnknownIssuer) => (
            format!(
                "{url} presented a {} certificate no trusted CA signed ({who})",
                if c.self_signed { "self-signed" } else { "privately issued" }
            ),
            format!("if that fingerprint is the server's, trust it: {pin}"),
        ),
        Some(Refusal::WrongName { host }) => (
            format!(
                "{url} presented a certificate for {}, not for {host} ({who})",
                if c.names.is_empty() { "no names".to_owned() } else { c.names.join(", ") }
            ),
            format!(
                "connect by one of its names, reissue it with {host} in subjectAltName, or {pin}"
            ),
        ),
        Some(Refusal::Expired) => (
            format!("{url} presented a certificate that expired on {} ({who})", c.not_after),
            "renew the server's certificate (or correct this machine's clock)".to_owned(),
        ),
        Some(Refusal::NotYetValid) => (
            format!("{url} presented a certificate not valid before {} ({who})", c.not_before),
            "correct the clock of this machine or of the server that issued it".to_owned(),
        ),
        Some(Refusal::PinMismatch { pinned }) => (
            format!(
                "{url} presented a certificate other than the pinned one ({who}; pinned {pinned})"
            ),
            "if the server's certificate was renewed on purpose, pin the new fingerprint; \
             otherwise something is intercepting the connection"
                .to_owned(),
        ),
        Some(Refusal::Other(detail)) => (
            format!("{url} presented a certificate that was refused: {detail} ({who})"),
            pin.to_owned(),
        ),
        None => (format!("the TLS handshake with {url} failed ({who})"), pin.to_owned()),
    };
    Trouble { cause, fix }
}

/// A rustls client configuration that verifies as [`TlsOptions`] say and records what it saw.
pub struct Recorder {
    pub config: ClientConfig,
    seen: Arc<Mutex<Option<Seen>>>,
}

impl Recorder {
    pub fn new(options: &TlsOptions) -> Result<Recorder, String> {
        let provider = Arc::new(aws_lc_rs::default_provider());
        let platform =
            Verifier::new_with_extra_roots(options.extra_roots.clone(), provider.clone())
                .map_err(|e| format!("cannot load the system's trusted certificates: {e}"))?;
        let seen = Arc::new(Mutex::new(None));
        let verifier = Recording {
            inner: Arc::new(platform),
            provider: provider.clone(),
            pin: options.pin_sha256.clone(),
            insecure: options.insecure,
            seen: seen.clone(),
        };
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("cannot set up TLS: {e}"))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Recorder { config, seen })
    }

    /// A handle on what the handshakes saw; the last handshake wins.
    pub fn seen(&self) -> SeenHandle {
        SeenHandle(self.seen.clone())
    }
}

/// Shared view of the last certificate seen.
#[derive(Debug, Clone, Default)]
pub struct SeenHandle(Arc<Mutex<Option<Seen>>>);

impl SeenHandle {
    pub fn last(&self) -> Option<Seen> {
        self.0.lock().map(|seen| seen.clone()).unwrap_or_default()
    }
}

#[derive(Debug)]
struct Recording {
    inner: Arc<dyn ServerCertVerifier>,
    provider: Arc<CryptoProvider>,
    pin: Option<String>,
    insecure: bool,
    seen: Arc<Mutex<Option<Seen>>>,
}

impl Recording {
    fn judge(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<(), Refusal> {
        if let Some(pin) = &self.pin {
            let actual = fingerprint(end_entity).replace(':', "").to_ascii_lowercase();
            return if &actual == pin {
                Ok(())
            } else {
                Err(Refusal::PinMismatch { pinned: pin.clone() })
            };
        }
        match self.inner.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Ok(_) => Ok(()),
            Err(Error::InvalidCertificate(e)) => Err(match e {
                CertificateError::UnknownIssuer | CertificateError::BadSignature => {
                    Refusal::UnknownIssuer
                }
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => {
                    Refusal::WrongName { host: server_name.to_str().into_owned() }
                }
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    Refusal::Expired
                }
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    Refusal::NotYetValid
                }
                other => Refusal::Other(format!("{other:?}")),
            }),
            Err(other) => Err(Refusal::Other(other.to_string())),
        }
    }
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let verdict = self.judge(end_entity, intermediates, server_name, ocsp, now);
        let refusal = verdict.err();
        let failed = refusal.is_some() && !self.insecure;
        if let Ok(mut seen) = self.seen.lock() {
            let (cert, der) = (CertInfo::from_der(end_entity), end_entity.to_vec());
            *seen = Some(Seen { cert, der, refusal });
        }
        if failed {
            Err(Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure))
        } else {
            Ok(ServerCertVerified::assertion())
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        tokio_rustls::rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        tokio_rustls::rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

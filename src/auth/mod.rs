//! A profile's credentials: the JWT the MCP gateway expects, minted from its signing secret
//! (read from the cluster or the environment), or a ready-made bearer token.
//!
//! Neither the secret nor a token is ever logged, printed or written to a file by this module;
//! tracing names a token by its fingerprint and expiry only. The secret is fetched for each
//! mint and dropped as soon as the token is signed.

mod claims;
mod secret;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use tokio::sync::Mutex;

pub use claims::{Claims, default_subject, mint, needs_refresh, ready_token_times};

use crate::profile::{Auth, EnvVar, Jwt, Link, Profile, SecretSource};
use crate::trouble::Trouble;

/// Where a signing secret is fetched from: kubeconfig path + context override (like
/// `RunOptions`).
#[derive(Debug, Clone, Default)]
pub struct KubeAccess {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
}

/// A token to send as `Authorization: Bearer …`. Debug and Display show its fingerprint and
/// expiry, never the token.
#[derive(Clone)]
pub struct Bearer {
    token: Arc<str>,
    issued_at: SystemTime,
    expires_at: SystemTime,
}

impl Bearer {
    fn new(token: String, issued_at: SystemTime, expires_at: SystemTime) -> Bearer {
        Bearer { token: token.into(), issued_at, expires_at }
    }

    /// `Bearer eyJ…`, the value of the `Authorization` header.
    pub fn header_value(&self) -> String {
        format!("Bearer {}", self.token)
    }

    /// The raw token (a JWT when minted). Keep it out of logs and files.
    pub fn token(&self) -> &str {
        &self.token
    }

    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }

    /// A short name for the token that does not reveal it: `sha256:` and the first 8 hex
    /// digits of the SHA-256 of the token.
    pub fn fingerprint(&self) -> String {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, self.token.as_bytes());
        let hex: String = digest.as_ref()[..4].iter().map(|b| format!("{b:02x}")).collect();
        format!("sha256:{hex}")
    }

    fn expiry(&self) -> String {
        match self.expires_at >= claims::far_future() {
            true => "never".to_owned(),
            false => humantime::format_rfc3339_seconds(self.expires_at).to_string(),
        }
    }
}

impl fmt::Debug for Bearer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bearer")
            .field("fingerprint", &self.fingerprint())
            .field("expires_at", &self.expiry())
            .finish()
    }
}

impl fmt::Display for Bearer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "token {} (expires {})", self.fingerprint(), self.expiry())
    }
}

/// Where a profile's token comes from (see [`Tokens::origin`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenOrigin {
    /// Minted here with these claims, signed with the secret in `secret`.
    Minted { secret: String, issuer: String, audience: String },
    /// A ready token, read from the environment variable `env`.
    Ready { env: String },
}

/// A profile's credentials: cheap to clone (the clones share one token), safe to share between
/// tasks.
#[derive(Clone)]
pub struct Tokens {
    inner: Arc<Inner>,
}

struct Inner {
    profile: String,
    source: Source,
    kube: KubeAccess,
    /// The profile's own kubeconfig context (port-forward links), under `kube.context`.
    profile_context: Option<String>,
    current: Mutex<Current>,
    obtained: AtomicU64,
}

#[derive(Default)]
struct Current {
    bearer: Option<Bearer>,
    /// `sub` when the profile names none, found once.
    subject: Option<String>,
}

enum Source {
    Mint(Jwt),
    Ready(EnvVar),
}

impl Tokens {
    /// `None` when the profile has `auth: none`. Does no I/O.
    pub fn for_profile(profile: &Profile, kube: KubeAccess) -> Option<Tokens> {
        let source = match &profile.auth {
            Auth::None => return None,
            Auth::Jwt(jwt) => Source::Mint(jwt.clone()),
            Auth::Bearer(bearer) => Source::Ready(bearer.env.clone()),
        };
        let profile_context = match &profile.link {
            Link::PortForward(pf) => pf.context.clone(),
            Link::Direct(_) | Link::Router(_) => None,
        };
        let inner = Inner {
            profile: profile.name.to_string(),
            source,
            kube,
            profile_context,
            current: Mutex::default(),
            obtained: AtomicU64::new(0),
        };
        Some(Tokens { inner: Arc::new(inner) })
    }

    /// The current token, minted (and the secret fetched) on first use and again when less
    /// than a fifth of its lifetime (at most 5 min) is left. Concurrent callers share one mint.
    /// Should a renewal fail while the old token is still valid, the old one is answered.
    pub async fn bearer(&self) -> Result<Bearer, Trouble> {
        let mut current = self.inner.current.lock().await;
        let now = SystemTime::now();
        if let Some(bearer) = &current.bearer
            && !needs_refresh(bearer.issued_at, bearer.expires_at, now)
        {
            return Ok(bearer.clone());
        }
        match self.inner.obtain(&mut current).await {
            Ok(bearer) => Ok(bearer),
            Err(err) => match &current.bearer {
                Some(old) if old.expires_at > SystemTime::now() => {
                    tracing::warn!(
                        profile = %self.inner.profile,
                        token = %old.fingerprint(),
                        error = %err.cause,
                        "cannot renew the token; using the current one until it expires"
                    );
                    Ok(old.clone())
                }
                _ => Err(err),
            },
        }
    }

    /// A new token now, e.g. after the server answered 401 (re-reads the secret too).
    pub async fn refresh(&self) -> Result<Bearer, Trouble> {
        let mut current = self.inner.current.lock().await;
        self.inner.obtain(&mut current).await
    }

    /// Where the token comes from, for a fix to name: `Minted` from the secret in `secret`'s
    /// words (`environment variable JWT_SECRET_KEY`, `secret mcp/NAME key KEY`), or `Ready`
    /// in environment variable `env`.
    pub fn origin(&self) -> TokenOrigin {
        match &self.inner.source {
            Source::Mint(jwt) => TokenOrigin::Minted {
                secret: match &jwt.secret {
                    SecretSource::Env(var) => format!("environment variable {var}"),
                    SecretSource::Kubernetes(r) => {
                        format!("secret {}/{} key {}", r.namespace, r.name, r.key)
                    }
                },
                issuer: jwt.issuer.to_string(),
                audience: jwt.audience.to_string(),
            },
            Source::Ready(var) => TokenOrigin::Ready { env: var.to_string() },
        }
    }

    /// How many tokens these credentials have minted (or read from the environment) so far.
    pub fn minted(&self) -> u64 {
        self.inner.obtained.load(Ordering::Relaxed)
    }
}

impl Inner {
    /// A fresh token, stored as the current one.
    async fn obtain(&self, current: &mut Current) -> Result<Bearer, Trouble> {
        let bearer = match &self.source {
            Source::Mint(jwt) => {
                let subject = match (&jwt.subject, &current.subject) {
                    (Some(subject), _) => subject.to_string(),
                    (None, Some(found)) => found.clone(),
                    (None, None) => {
                        let found = tokio::task::spawn_blocking(default_subject)
                            .await
                            .unwrap_or_else(|_| "mcp-connect".to_owned());
                        current.subject = Some(found.clone());
                        found
                    }
                };
                let secret = self.secret(&jwt.secret).await?;
                let claims = Claims::new(jwt, subject, SystemTime::now());
                let token = mint(&secret, &claims)?;
                drop(secret);
                Bearer::new(token, claims.issued_at(), claims.expires_at())
            }
            Source::Ready(var) => {
                let token = std::env::var(var.as_str()).unwrap_or_default().trim().to_owned();
                if token.is_empty() {
                    return Err(Trouble::new(
                        format!("environment variable {var} is not set"),
                        format!("export {var}=… (a bearer token the server accepts)"),
                    ));
                }
                let (issued, expires) = ready_token_times(&token, SystemTime::now());
                Bearer::new(token, issued, expires)
            }
        };
        self.obtained.fetch_add(1, Ordering::Relaxed);
        let how = match self.source {
            Source::Mint(_) => "minted a token",
            Source::Ready(_) => "read the bearer token from the environment",
        };
        tracing::info!(
            profile = %self.profile,
            token = %bearer.fingerprint(),
            expires = %bearer.expiry(),
            "{how}"
        );
        current.bearer = Some(bearer.clone());
        Ok(bearer)
    }

    async fn secret(&self, source: &SecretSource) -> Result<Vec<u8>, Trouble> {
        match source {
            SecretSource::Env(var) => secret::from_env(var),
            SecretSource::Kubernetes(reference) => {
                let context = self.kube.context.as_deref().or(self.profile_context.as_deref());
                secret::from_kubernetes(reference, &self.kube, context).await
            }
        }
    }

    fn describe_source(&self) -> String {
        match &self.source {
            Source::Mint(jwt) => match &jwt.secret {
                SecretSource::Env(var) => format!("jwt signed with ${var}"),
                SecretSource::Kubernetes(r) => {
                    format!("jwt signed with secret {}/{} key {}", r.namespace, r.name, r.key)
                }
            },
            Source::Ready(var) => format!("bearer token from ${var}"),
        }
    }
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let current = match self.inner.current.try_lock() {
            Ok(current) => current.bearer.as_ref().map(Bearer::fingerprint),
            Err(_) => Some("(being renewed)".to_owned()),
        };
        f.debug_struct("Tokens")
            .field("profile", &self.inner.profile)
            .field("source", &self.inner.describe_source())
            .field("current", &current)
            .field("minted", &self.minted())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Catalog;

    fn profile(name: &str) -> Profile {
        Catalog::builtin().get(name).unwrap().profile.clone().unwrap()
    }

    #[test]
    fn auth_none_has_no_tokens() {
        assert!(Tokens::for_profile(&profile("serena-direct"), KubeAccess::default()).is_none());
        assert!(
            Tokens::for_profile(&profile("gateway-port-forward"), KubeAccess::default()).is_some()
        );
    }

    #[test]
    fn a_bearer_shows_its_fingerprint_never_itself() {
        let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2VjcmV0LXNpZ25hdHVyZQ";
        let bearer = Bearer::new(token.into(), SystemTime::UNIX_EPOCH, claims::far_future());
        assert_eq!(bearer.header_value(), format!("Bearer {token}"));
        assert_eq!(bearer.token(), token);
        let fingerprint = bearer.fingerprint();
        assert!(fingerprint.starts_with("sha256:") && fingerprint.len() == 15, "{fingerprint}");
        assert!(fingerprint[7..].chars().all(|c| c.is_ascii_hexdigit()), "{fingerprint}");
        // SHA-256("abc") starts ba7816bf.
        let abc = Bearer::new("abc".into(), SystemTime::UNIX_EPOCH, SystemTime::UNIX_EPOCH);
        assert_eq!(abc.fingerprint(), "sha256:ba7816bf");

        for shown in [format!("{bearer:?}"), format!("{bearer}"), format!("{bearer:#?}")] {
            assert!(!shown.contains(token) && !shown.contains("c2VjcmV0"), "{shown}");
            assert!(shown.contains(&fingerprint), "{shown}");
        }
    }

    #[test]
    fn tokens_debug_shows_where_the_secret_is_and_the_fingerprint_only() {
        let tokens =
            Tokens::for_profile(&profile("gateway-port-forward"), KubeAccess::default()).unwrap();
        let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
        let bearer = Bearer::new(token.into(), SystemTime::now(), claims::far_future());
        tokens.inner.current.try_lock().unwrap().bearer = Some(bearer.clone());
        let shown = format!("{tokens:?} {tokens:#?}");
        assert!(!shown.contains(token) && !shown.contains("c2lnbmF0dXJl"), "{shown}");
        assert!(shown.contains(&bearer.fingerprint()), "{shown}");
        assert!(
            shown.contains(
                "jwt signed with secret mcp/mcp-gateway-mcp-bridge-secrets key jwt-secret-key"
            ),
            "{shown}"
        );
    }
}

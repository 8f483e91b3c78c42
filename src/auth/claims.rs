//! The pure part of the credentials: the claims the gateway expects, signing them, when a
//! token is due for renewal, and what a ready-made token says about its own expiry.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};

use crate::profile::Jwt;
use crate::trouble::Trouble;

/// The renewal margin never exceeds this, however long a token lives.
const MAX_MARGIN: Duration = Duration::from_secs(5 * 60);

/// The claims of a token for the MCP gateway: `iss` and `aud` as it checks them (both
/// `mcp-gateway` by default), `iat`/`exp` in seconds since the epoch, and the gateway's own
/// `scopes` claim (a JSON array of strings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub iss: String,
    pub aud: String,
    pub iat: u64,
    pub exp: u64,
    pub scopes: Vec<String>,
}

impl Claims {
    /// The claims of a token minted at `now` for `subject`, living the profile's `ttl`
    /// (at least a second).
    pub fn new(jwt: &Jwt, subject: String, now: SystemTime) -> Claims {
        let iat = unix_seconds(now);
        let ttl = jwt.ttl.as_secs().max(1);
        Claims {
            sub: subject,
            iss: jwt.issuer.to_string(),
            aud: jwt.audience.to_string(),
            iat,
            exp: iat.saturating_add(ttl),
            scopes: jwt.scopes.clone(),
        }
    }

    pub fn issued_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.iat)
    }

    pub fn expires_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.exp)
    }
}

/// Signs `claims` with HS256 (the gateway accepts any HMAC; HS256 is its own tool's choice).
pub fn mint(secret: &[u8], claims: &Claims) -> Result<String, Trouble> {
    if secret.is_empty() {
        return Err(Trouble::new(
            "the JWT signing secret is empty",
            "give the gateway's jwt-secret-key: it must not be empty",
        ));
    }
    let key = EncodingKey::from_secret(secret);
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &key).map_err(|e| {
        Trouble::new(
            format!("cannot sign the JWT: {e}"),
            "report this as a bug in mcp-connect, with the profile's auth section",
        )
    })
}

/// Whether a token issued at `issued` and expiring at `expires` should be replaced at `now`:
/// when less than a fifth of its lifetime, and never more than five minutes, is left.
pub fn needs_refresh(issued: SystemTime, expires: SystemTime, now: SystemTime) -> bool {
    let Ok(left) = expires.duration_since(now) else {
        return true; // expired already
    };
    let lifetime = expires.duration_since(issued).unwrap_or_default();
    left < (lifetime / 5).min(MAX_MARGIN)
}

/// Who the token is for when the profile does not say: git's `user.email`, else `$USER`,
/// else `mcp-connect`. Runs `git config user.email` (blocking).
pub fn default_subject() -> String {
    let from_git = std::process::Command::new("git")
        .args(["config", "user.email"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|email| email.trim().to_owned());
    let from_env = || std::env::var("USER").ok().map(|user| user.trim().to_owned());
    [from_git, from_env()]
        .into_iter()
        .flatten()
        .find(|s| !s.is_empty())
        .unwrap_or_else(|| "mcp-connect".to_owned())
}

/// When a ready-made token (from `auth: bearer`) was issued and expires: its `iat` and `exp`
/// when it is a JWT that has them (read without verifying), else `read_at` and the far future.
pub fn ready_token_times(token: &str, read_at: SystemTime) -> (SystemTime, SystemTime) {
    #[derive(Deserialize)]
    struct Times {
        iat: Option<serde_json::Value>,
        exp: Option<serde_json::Value>,
    }
    let seconds = |v: Option<serde_json::Value>| {
        v.and_then(|v| v.as_f64()).filter(|s| s.is_finite() && *s >= 0.0).map(|s| s as u64)
    };
    let (iat, exp) = match jsonwebtoken::dangerous::insecure_decode_claims::<Times>(token) {
        Ok(times) => (seconds(times.iat), seconds(times.exp)),
        Err(_) => (None, None),
    };
    let at = |s: u64| UNIX_EPOCH + Duration::from_secs(s);
    (iat.map_or(read_at, at), exp.map_or_else(far_future, at))
}

/// 9999-12-31T23:59:59Z: how long a token without `exp` lasts.
pub(super) fn far_future() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(253_402_300_799)
}

fn unix_seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Catalog, Jwt};
    use jsonwebtoken::{DecodingKey, Validation};
    use serde_json::{Value, json};

    fn gateway_jwt() -> Jwt {
        let catalog = Catalog::builtin();
        let profile = catalog.get("gateway-port-forward").unwrap().profile.as_ref().unwrap();
        match &profile.auth {
            crate::profile::Auth::Jwt(jwt) => jwt.clone(),
            other => panic!("gateway-port-forward has {other:?}"),
        }
    }

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn claims_have_the_shape_the_gateway_checks() {
        let now = at(1_700_000_000);
        let claims = Claims::new(&gateway_jwt(), "dev@example.com".into(), now);
        let value = serde_json::to_value(&claims).unwrap();
        assert_eq!(
            value,
            json!({
                "sub": "dev@example.com",
                "iss": "mcp-gateway",
                "aud": "mcp-gateway",
                "iat": 1_700_000_000u64,
                "exp": 1_700_003_600u64,
                "scopes": ["mcp:*:read", "mcp:*:write"],
            })
        );
        assert_eq!(claims.issued_at(), now);
        assert_eq!(claims.expires_at(), now + Duration::from_secs(3600));
    }

    #[test]
    fn a_minted_token_passes_the_gateways_validation() {
        let now = SystemTime::now();
        let claims = Claims::new(&gateway_jwt(), "dev".into(), now);
        let token = mint(b"s3cret", &claims).unwrap();

        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&["mcp-gateway"]);
        validation.set_audience(&["mcp-gateway"]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let key = DecodingKey::from_secret(b"s3cret");
        let decoded = jsonwebtoken::decode::<Claims>(&token, &key, &validation).unwrap();
        assert_eq!(decoded.claims, claims);
        assert_eq!(decoded.header.alg, Algorithm::HS256);

        // Another secret, issuer or audience is refused.
        let wrong = DecodingKey::from_secret(b"other");
        assert!(jsonwebtoken::decode::<Claims>(&token, &wrong, &validation).is_err());
        let mut other_issuer = validation.clone();
        other_issuer.set_issuer(&["someone-else"]);
        assert!(jsonwebtoken::decode::<Claims>(&token, &key, &other_issuer).is_err());
        let mut other_audience = validation.clone();
        other_audience.set_audience(&["someone-else"]);
        assert!(jsonwebtoken::decode::<Claims>(&token, &key, &other_audience).is_err());
    }

    #[test]
    fn an_empty_secret_is_refused() {
        let claims = Claims::new(&gateway_jwt(), "dev".into(), SystemTime::now());
        let err = mint(b"", &claims).unwrap_err();
        assert_eq!(err.cause, "the JWT signing secret is empty");
    }

    #[test]
    fn a_token_is_renewed_in_the_last_fifth_of_its_life_at_most_five_minutes() {
        // One hour: the margin is capped at five minutes.
        let (issued, expires) = (at(0), at(3600));
        assert!(!needs_refresh(issued, expires, at(0)));
        assert!(!needs_refresh(issued, expires, at(3300)), "exactly 5 min left");
        assert!(needs_refresh(issued, expires, at(3301)));
        assert!(needs_refresh(issued, expires, at(3600)), "expired");
        assert!(needs_refresh(issued, expires, at(9000)), "long expired");

        // Ten minutes: a fifth is two minutes.
        let (issued, expires) = (at(0), at(600));
        assert!(!needs_refresh(issued, expires, at(480)));
        assert!(needs_refresh(issued, expires, at(481)));

        // A clock that went back before `issued` does not force a renewal.
        assert!(!needs_refresh(at(100), at(700), at(50)));
        // Nor does a token that never expires.
        assert!(!needs_refresh(at(0), far_future(), SystemTime::now()));
    }

    #[test]
    fn a_ready_token_tells_its_own_times_and_other_tokens_last() {
        let claims = Claims::new(&gateway_jwt(), "dev".into(), at(1000));
        let token = mint(b"k", &claims).unwrap();
        assert_eq!(ready_token_times(&token, at(5)), (at(1000), at(4600)));

        let read_at = at(42);
        assert_eq!(ready_token_times("opaque-api-token", read_at), (read_at, far_future()));
        let no_exp = {
            use base64::Engine;
            let part =
                |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
            format!("{}.{}.sig", part(json!({"alg": "HS256"})), part(json!({"sub": "x"})))
        };
        assert_eq!(ready_token_times(&no_exp, read_at), (read_at, far_future()));
    }

    #[test]
    fn the_default_subject_is_never_empty() {
        assert!(!default_subject().trim().is_empty());
    }
}

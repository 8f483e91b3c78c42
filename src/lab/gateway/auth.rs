//! The bearer check, as mcp-bridge's JWT provider makes it: an HMAC signature (HS256, HS384,
//! HS512) with the shared secret, then `exp` and `nbf` when present (no leeway), `iss`, `aud`,
//! in that order, so that a token wrong in several ways is refused for the reason the real
//! gateway gives. An empty expected issuer or audience is not checked, as there.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

/// What a token must be to pass.
pub struct Policy {
    key: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    /// Seconds added to this machine's clock before `exp` and `nbf` are judged.
    clock_skew: i64,
}

/// Why a request was refused. Its `Display` is the 401's body; [`Refusal::summary`] is the
/// `error_description` of its `WWW-Authenticate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Missing,
    NotBearer,
    Malformed(String),
    Algorithm(String),
    Signature,
    Expired { exp: i64, now: i64 },
    NotYetValid { nbf: i64, now: i64 },
    Issuer { found: Option<String>, want: String },
    Audience { found: Vec<String>, want: String },
}

impl Policy {
    pub fn new(secret: &str, issuer: String, audience: String, clock_skew: i64) -> Policy {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256, Algorithm::HS384, Algorithm::HS512];
        // Claims are judged in `judge`, against the gateway's own (possibly skewed) clock.
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_aud = false;
        let key = DecodingKey::from_secret(secret.as_bytes());
        Policy { key, validation, issuer, audience, clock_skew }
    }

    /// The token's subject (`sub`, empty when it has none) when the request may pass.
    pub fn admit(&self, headers: &HeaderMap) -> Result<String, Refusal> {
        let value = headers.get(header::AUTHORIZATION).ok_or(Refusal::Missing)?;
        let token = value.to_str().ok().and_then(|v| v.strip_prefix("Bearer "));
        let token = token.ok_or(Refusal::NotBearer)?.trim();
        let claims = jsonwebtoken::decode::<Value>(token, &self.key, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::InvalidSignature => Refusal::Signature,
                ErrorKind::InvalidAlgorithm => Refusal::Algorithm(
                    jsonwebtoken::decode_header(token)
                        .map(|h| format!("{:?}", h.alg))
                        .unwrap_or_default(),
                ),
                _ => Refusal::Malformed(e.to_string()),
            })?
            .claims;
        self.judge(&claims)?;
        Ok(claims.get("sub").and_then(Value::as_str).unwrap_or_default().to_owned())
    }

    fn judge(&self, claims: &Value) -> Result<(), Refusal> {
        let now = unix_now() + self.clock_skew;
        if let Some(exp) = time(claims, "exp")?
            && now > exp
        {
            return Err(Refusal::Expired { exp, now });
        }
        if let Some(nbf) = time(claims, "nbf")?
            && now < nbf
        {
            return Err(Refusal::NotYetValid { nbf, now });
        }
        let iss = claims.get("iss").and_then(Value::as_str);
        if !self.issuer.is_empty() && iss != Some(self.issuer.as_str()) {
            let found = iss.map(str::to_owned);
            return Err(Refusal::Issuer { found, want: self.issuer.clone() });
        }
        let found = audiences(claims)?;
        if !self.audience.is_empty() && !found.contains(&self.audience) {
            return Err(Refusal::Audience { found, want: self.audience.clone() });
        }
        Ok(())
    }
}

/// A time claim in seconds since the epoch; fractions are allowed, as in Go's `NumericDate`.
fn time(claims: &Value, name: &str) -> Result<Option<i64>, Refusal> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => match value.as_f64() {
            Some(seconds) => Ok(Some(seconds.floor() as i64)),
            None => Err(Refusal::Malformed(format!("`{name}` is not a number: {value}"))),
        },
    }
}

/// `aud`: one string or an array of strings.
fn audiences(claims: &Value) -> Result<Vec<String>, Refusal> {
    let malformed = || Refusal::Malformed("`aud` is neither a string nor strings".to_owned());
    match claims.get("aud") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(one)) => Ok(vec![one.clone()]),
        Some(Value::Array(many)) => {
            many.iter().map(|a| a.as_str().map(str::to_owned).ok_or_else(malformed)).collect()
        }
        Some(_) => Err(malformed()),
    }
}

fn unix_now() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.map(|d| d.as_secs() as i64).unwrap_or_default()
}

impl Refusal {
    /// The reason in a few words, as the real gateway words it.
    pub fn summary(&self) -> &'static str {
        match self {
            Refusal::Missing => "missing bearer token",
            Refusal::NotBearer => "invalid Authorization header format",
            Refusal::Malformed(_) => "malformed token",
            Refusal::Algorithm(_) => "unexpected signing method",
            Refusal::Signature => "invalid signature",
            Refusal::Expired { .. } => "token expired",
            Refusal::NotYetValid { .. } => "token not yet valid",
            Refusal::Issuer { .. } => "invalid issuer",
            Refusal::Audience { .. } => "invalid audience",
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let summary = self.summary();
        match self {
            Refusal::Missing => write!(f, "{summary}: send `Authorization: Bearer <jwt>`"),
            Refusal::NotBearer => write!(f, "{summary}: want `Bearer <jwt>`"),
            Refusal::Malformed(why) => write!(f, "{summary}: {why}"),
            Refusal::Algorithm(alg) => write!(f, "{summary} {alg}: want HS256, HS384 or HS512"),
            Refusal::Signature => write!(f, "{summary}: not signed with the gateway's secret"),
            Refusal::Expired { exp, now } => {
                write!(f, "{summary}: exp {exp} is before the gateway's clock, {now}")
            }
            Refusal::NotYetValid { nbf, now } => {
                write!(f, "{summary}: nbf {nbf} is after the gateway's clock, {now}")
            }
            Refusal::Issuer { found: None, want } => write!(f, "{summary}: no iss; want {want:?}"),
            Refusal::Issuer { found: Some(iss), want } => {
                write!(f, "{summary}: iss {iss:?}; want {want:?}")
            }
            Refusal::Audience { found, want } => {
                write!(f, "{summary}: aud {found:?}; want it to contain {want:?}")
            }
        }
    }
}

impl IntoResponse for Refusal {
    /// 401 with the reason in the body and an RFC 6750 challenge.
    fn into_response(self) -> Response {
        let error = if self == Refusal::Missing { "invalid_request" } else { "invalid_token" };
        let challenge =
            format!("Bearer error=\"{error}\", error_description=\"{}\"", self.summary());
        let headers = [(header::WWW_AUTHENTICATE, challenge)];
        (StatusCode::UNAUTHORIZED, headers, self.to_string()).into_response()
    }
}

//! Reads a bearer JWT without its secret, to say which claim a server refused. The token
//! itself is never repeated; only claim names and values that carry no secret.

use serde_json::Value;

/// What the gateway expects of `iss` and `aud`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub issuer: String,
    pub audience: String,
}

impl Default for Expected {
    fn default() -> Self {
        Expected { issuer: "mcp-gateway".to_owned(), audience: "mcp-gateway".to_owned() }
    }
}

/// The problems found in `token`'s claims at `now` (seconds since the epoch). Empty when the
/// claims look right, which points at the signature (wrong secret) instead.
pub fn problems(token: &str, expected: &Expected, now: i64) -> Result<Vec<String>, String> {
    let claims: Value = jsonwebtoken::dangerous::insecure_decode_claims(token)
        .map_err(|e| format!("the bearer token is not a readable JWT ({e})"))?;
    let mut found = Vec::new();
    match claims.get("iss").and_then(Value::as_str) {
        None => found.push(format!("`iss` is missing; it must be {:?}", expected.issuer)),
        Some(iss) if iss != expected.issuer => {
            found.push(format!("`iss` is {iss:?}; it must be {:?}", expected.issuer))
        }
        Some(_) => {}
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if claims.get("aud").is_none() {
        found.push(format!("`aud` is missing; it must contain {:?}", expected.audience));
    } else if !audiences.contains(&expected.audience.as_str()) {
        found.push(format!("`aud` is {audiences:?}; it must contain {:?}", expected.audience));
    }
    if let Some(exp) = claims.get("exp").and_then(Value::as_i64)
        && exp <= now
    {
        found.push(format!("`exp` passed {} ago; mint a fresh token", ago(now - exp)));
    }
    if let Some(nbf) = claims.get("nbf").and_then(Value::as_i64)
        && nbf > now
    {
        found.push(format!(
            "`nbf` is {} in the future; the clocks disagree or the token was minted ahead",
            ago(nbf - now)
        ));
    }
    Ok(found)
}

fn ago(seconds: i64) -> String {
    humantime::format_duration(std::time::Duration::from_secs(seconds.unsigned_abs())).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::json;

    fn token(claims: Value) -> String {
        let part = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
        format!("{}.{}.sig", part(&json!({"alg": "HS256", "typ": "JWT"})), part(&claims))
    }

    #[test]
    fn the_seeds_token_lacks_iss_and_aud() {
        let found = problems(&token(json!({"sub": "me", "exp": 2000})), &Expected::default(), 1000)
            .unwrap();
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].starts_with("`iss` is missing"), "{found:?}");
        assert!(found[1].starts_with("`aud` is missing"), "{found:?}");
    }

    #[test]
    fn wrong_audience_expired_and_early_tokens_are_named() {
        let claims = json!({"iss": "mcp-gateway", "aud": ["other"], "exp": 900, "nbf": 1600});
        let found = problems(&token(claims), &Expected::default(), 1000).unwrap();
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].contains("`aud` is [\"other\"]"), "{found:?}");
        assert!(found[1].contains("`exp` passed 1m 40s ago"), "{found:?}");
        assert!(found[2].contains("`nbf` is 10m in the future"), "{found:?}");
    }

    #[test]
    fn right_claims_have_no_problems_and_garbage_is_not_a_jwt() {
        let claims = json!({"iss": "mcp-gateway", "aud": "mcp-gateway", "exp": 2000});
        assert!(problems(&token(claims), &Expected::default(), 1000).unwrap().is_empty());
        assert!(problems("not-a-jwt", &Expected::default(), 1000).is_err());
    }
}

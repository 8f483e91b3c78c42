//! What the client is told when a message cannot be relayed: the probe's diagnosis where it
//! fits (connection, TLS, a refused token), plain words for the rest.

use reqwest::header::{AUTHORIZATION, HeaderValue};

use super::rpc::{BAD_ANSWER, HTTP_STATUS, Problem, UNAUTHORIZED, UNREACHABLE};
use crate::auth::Bearer;
use crate::net::tls::SeenHandle;
use crate::net::{Target, snippet};
use crate::probe::diagnose::{self, Hints};
use crate::probe::failure::Failure;
use crate::trouble::Trouble;

/// The endpoint as the probe's diagnosis sees it.
pub struct Explainer {
    pub target: Target,
    pub hints: Hints,
    pub seen: SeenHandle,
}

impl Explainer {
    /// A request that did not get an HTTP answer.
    pub fn transport(&self, error: reqwest::Error) -> Problem {
        let url = self.target.url.as_str();
        let failure = Failure::from_reqwest(error, url, &self.seen, self.target.timeout);
        let d = diagnose::explain(&self.target, &failure, &self.hints);
        Problem { code: UNREACHABLE, trouble: d }
    }

    /// An HTTP status other than the one wanted; `bearer` is the token that was sent.
    pub fn status(&self, what: &str, status: u16, body: &str, bearer: Option<&Bearer>) -> Problem {
        let url = self.target.url.to_string();
        let failure = Failure::status("POST", url.clone(), status, body, "200 with the answer");
        if let Failure::Status { said: Some(said), .. } = &failure
            && said.fix.is_some()
        {
            // An error that says its own fix (another mcp-connect, e.g. the router): as it is.
            return Problem {
                code: HTTP_STATUS,
                trouble: diagnose::explain(&self.target, &failure, &self.hints),
            };
        }
        let body = snippet(body);
        if matches!(status, 401 | 403 | 406 | 415 | 421) {
            let mut target = self.target.clone();
            if let Some(bearer) = bearer
                && let Ok(mut value) = HeaderValue::from_str(&bearer.header_value())
            {
                value.set_sensitive(true);
                target.headers.insert(AUTHORIZATION, value);
            }
            let d = diagnose::explain(&target, &failure, &self.hints);
            let code = if matches!(status, 401 | 403) { UNAUTHORIZED } else { HTTP_STATUS };
            return Problem { code, trouble: d };
        }
        let said = if body.is_empty() { String::new() } else { format!(": {body}") };
        let (cause, fix) = match status {
            429 => (
                format!("{url} is rate-limiting requests ({status}{said})"),
                "wait a moment and retry; ask the gateway's operators for a higher limit if it \
                 keeps happening"
                    .to_owned(),
            ),
            500..=599 => (
                format!("{url} failed to answer {what} ({status}{said})"),
                "check the server's log (for the gateway: whether its MCP backend is up)"
                    .to_owned(),
            ),
            _ => (
                format!("{url} refused {what} with {status}{said}"),
                "check that the profile's `endpoint.path` is the server's MCP endpoint (Serena \
                 serves /mcp)"
                    .to_owned(),
            ),
        };
        Problem::new(HTTP_STATUS, cause, fix)
    }

    /// An answer that is not MCP, or that ended too early.
    pub fn bad_answer(&self, what: &str, detail: &str) -> Problem {
        Problem::new(
            BAD_ANSWER,
            format!("{} answered {what}, but not as MCP: {detail}", self.target.url),
            "retry; if it keeps happening, check the server's log",
        )
    }
}

/// No token could be had.
pub fn auth(error: Trouble) -> Problem {
    Problem::new(UNAUTHORIZED, format!("no token for the server: {}", error.cause), error.fix)
}

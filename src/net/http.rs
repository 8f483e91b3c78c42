//! The endpoint a probe talks to, and the HTTP client it talks with.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

use super::tls::{Recorder, SeenHandle, TlsOptions};
use crate::auth::Tokens;
use crate::profile::Transport;
use crate::trouble::Trouble;

/// An MCP endpoint and how to reach it.
#[derive(Debug, Clone)]
pub struct Target {
    pub url: Url,
    /// Sent on every request (e.g. `Authorization`). May override `Host`.
    pub headers: HeaderMap,
    pub tls: TlsOptions,
    pub transport: Transport,
    /// For each HTTP exchange.
    pub timeout: Duration,
    /// Credentials minted on demand: [`Target::authorize`] puts the current token into
    /// `Authorization`.
    pub auth: Option<Tokens>,
}

impl Target {
    pub fn new(url: Url) -> Target {
        Target {
            url,
            headers: HeaderMap::new(),
            tls: TlsOptions::default(),
            transport: Transport::Auto,
            timeout: Duration::from_secs(10),
            auth: None,
        }
    }

    /// Adds a header given as `Name: value`.
    pub fn add_header(&mut self, raw: &str) -> Result<(), String> {
        let (name, value) = raw
            .split_once(':')
            .ok_or_else(|| format!("header {raw:?} has no colon; write it as 'Name: value'"))?;
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| format!("{:?} is not a valid header name", name.trim()))?;
        let mut value = HeaderValue::from_str(value.trim()).map_err(|_| {
            format!("the value of header {name} holds characters HTTP does not allow")
        })?;
        if name == reqwest::header::AUTHORIZATION {
            value.set_sensitive(true);
        }
        self.headers.append(name, value);
        Ok(())
    }

    /// Puts the current token of [`Target::auth`] into `Authorization`, minting one when it is
    /// due. Answers whether the header changed (an [`Http`] built before must be built again).
    pub async fn authorize(&mut self) -> Result<bool, Trouble> {
        let Some(tokens) = &self.auth else { return Ok(false) };
        let bearer = tokens.bearer().await?;
        let mut value = HeaderValue::from_str(&bearer.header_value()).map_err(|_| {
            Trouble::new(
                "the token holds characters a header cannot carry",
                "check the token's source (a ready token must be the bare JWT)",
            )
        })?;
        value.set_sensitive(true);
        let header = reqwest::header::AUTHORIZATION;
        if self.headers.get(&header) == Some(&value) {
            return Ok(false);
        }
        self.headers.insert(header, value);
        Ok(true)
    }

    /// The same endpoint at another path of the same origin.
    pub fn at_path(&self, path: &str) -> Target {
        let mut url = self.url.clone();
        url.set_path(path);
        url.set_query(None);
        Target { url, ..self.clone() }
    }

    /// The `Host` the server sees: the header when given, else the URL's authority.
    pub fn host_header(&self) -> String {
        if let Some(host) = self.headers.get(reqwest::header::HOST).and_then(|h| h.to_str().ok()) {
            return host.to_owned();
        }
        let host = self.url.host_str().unwrap_or_default();
        match self.url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    }

    /// The bearer token sent, if any.
    pub fn bearer(&self) -> Option<&str> {
        let value = self.headers.get(reqwest::header::AUTHORIZATION)?.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
    }
}

/// A client for one target: its TLS settings, and a view of the certificate it was shown.
#[derive(Clone)]
pub struct Http {
    pub client: reqwest::Client,
    pub seen: SeenHandle,
    pub timeout: Duration,
}

impl Http {
    pub fn new(target: &Target) -> Result<Http, String> {
        Http::build(target, true)
    }

    /// A client that opens a new connection for every request: what a check of a route's
    /// health needs, since a connection kept from before says nothing of the next one (a
    /// port-forward whose API server has gone still carries the streams it opened).
    pub fn fresh(target: &Target) -> Result<Http, String> {
        Http::build(target, false)
    }

    fn build(target: &Target, pooled: bool) -> Result<Http, String> {
        let recorder = Recorder::new(&target.tls)?;
        let seen = recorder.seen();
        let mut builder = reqwest::Client::builder()
            .tls_backend_preconfigured(recorder.config)
            .tcp_nodelay(true)
            .connect_timeout(Duration::from_secs(5).min(target.timeout))
            .default_headers(target.headers.clone());
        if !pooled {
            builder = builder.pool_max_idle_per_host(0);
        }
        // A proxy from the environment must not capture a local port-forward.
        if target.url.host().is_some_and(|h| is_loopback(&h)) {
            builder = builder.no_proxy();
        }
        let client = builder.build().map_err(|e| format!("cannot set up the HTTP client: {e}"))?;
        Ok(Http { client, seen, timeout: target.timeout })
    }
}

fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

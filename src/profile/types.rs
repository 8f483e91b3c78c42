//! Validated value types used by the profile model.
//!
//! Each type checks itself while it is deserialized, so that serde_yaml reports a bad value
//! with the line and column where it stands. Every message says what was expected.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use std::marker::PhantomData;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use url::Url;

/// Implements `Deserialize` (through the type's `parse`) and transparent `Serialize` for a
/// string newtype.
macro_rules! string_newtype {
    ($ty:ident, $expecting:literal) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                parse_str(d, $expecting, $ty::parse)
            }
        }
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl $ty {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl TryFrom<&str> for $ty {
            type Error = String;
            fn try_from(raw: &str) -> Result<Self, String> {
                $ty::parse(raw)
            }
        }
    };
}

/// A profile's name: what `up NAME` and the profile list use.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProfileName(String);
string_newtype!(ProfileName, "a profile name");

impl ProfileName {
    fn parse(raw: &str) -> Result<Self, String> {
        let ok = !raw.is_empty()
            && raw.len() <= 63
            && raw.starts_with(|c: char| c.is_ascii_lowercase())
            && raw.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !raw.ends_with('-');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(format!(
                "invalid profile name {raw:?}, expected 1-63 lowercase letters, digits and '-', \
                 starting with a letter (e.g. \"serena-staging\")"
            ))
        }
    }
}

/// A Kubernetes object name or namespace (an RFC 1123 DNS label).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KubeName(String);
string_newtype!(KubeName, "a Kubernetes name");

impl KubeName {
    fn parse(raw: &str) -> Result<Self, String> {
        let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
        let ok = !raw.is_empty()
            && raw.len() <= 63
            && raw.starts_with(alnum)
            && raw.ends_with(alnum)
            && raw.chars().all(|c| alnum(c) || c == '-');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(format!(
                "invalid Kubernetes name {raw:?}, expected an RFC 1123 label: 1-63 lowercase \
                 letters, digits and '-', starting and ending with a letter or digit"
            ))
        }
    }
}

/// A non-empty line of text (titles, issuers, audiences).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Text(String);
string_newtype!(Text, "a non-empty string");

impl Text {
    fn parse(raw: &str) -> Result<Self, String> {
        if raw.trim().is_empty() {
            Err("empty text, expected a non-empty string".to_owned())
        } else {
            Ok(Self(raw.to_owned()))
        }
    }
}

/// The name of an environment variable.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EnvVar(String);
string_newtype!(EnvVar, "an environment variable name");

impl EnvVar {
    fn parse(raw: &str) -> Result<Self, String> {
        let ok = raw.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(format!(
                "invalid environment variable name {raw:?}, expected letters, digits and '_', \
                 not starting with a digit (e.g. JWT_SECRET_KEY)"
            ))
        }
    }
}

/// The name Claude Code shows for the server (`claude mcp add NAME …`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerName(String);
string_newtype!(ServerName, "a server name");

impl ServerName {
    fn parse(raw: &str) -> Result<Self, String> {
        let ok = !raw.is_empty()
            && raw.len() <= 64
            && raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(format!(
                "invalid server name {raw:?}, expected 1-64 letters, digits, '-' or '_' \
                 (the name Claude Code lists, e.g. \"serena\")"
            ))
        }
    }
}

impl Default for ServerName {
    fn default() -> Self {
        Self("serena".to_owned())
    }
}

/// The path of an MCP endpoint on a server, such as `/mcp`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UrlPath(String);
string_newtype!(UrlPath, "an endpoint path such as /mcp");

impl UrlPath {
    fn parse(raw: &str) -> Result<Self, String> {
        let ok = raw.starts_with('/')
            && !raw.contains(['?', '#', ' '])
            && Url::parse("http://localhost").and_then(|base| base.join(raw)).is_ok();
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(format!(
                "invalid endpoint path {raw:?}, expected an absolute path without query or \
                 fragment (Serena serves \"/mcp\")"
            ))
        }
    }
}

impl Default for UrlPath {
    fn default() -> Self {
        Self("/mcp".to_owned())
    }
}

/// The base URL of a server reached directly: `http(s)://host[:port]`, no path.
///
/// The MCP path lives in `endpoint.path`, so that every route states it the same way.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BaseUrl(Url);

impl BaseUrl {
    fn parse(raw: &str) -> Result<Self, String> {
        let expected = "expected an http:// or https:// URL with a host and no path, \
                        e.g. \"https://gateway.example.com:8443\"";
        let url = Url::parse(raw).map_err(|e| format!("invalid URL {raw:?} ({e}), {expected}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("URL scheme {:?} is not supported, {expected}", url.scheme()));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(format!("URL {raw:?} has no host, {expected}"));
        }
        if url.path() != "/" {
            return Err(format!(
                "URL {raw:?} has the path {:?}; expected no path here: put it in \
                 `endpoint.path` instead",
                url.path()
            ));
        }
        if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
            return Err(format!("URL {raw:?} carries a query, fragment or user name, {expected}"));
        }
        Ok(Self(url))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str().trim_end_matches('/')
    }

    pub fn url(&self) -> &Url {
        &self.0
    }

    pub fn is_https(&self) -> bool {
        self.0.scheme() == "https"
    }

    /// `host:port` with the scheme's default port filled in.
    pub fn authority(&self) -> String {
        let host = self.0.host_str().unwrap_or_default();
        match self.0.port_or_known_default() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    }

    /// The URL of `path` on this server.
    pub fn with_path(&self, path: &UrlPath) -> Url {
        let mut url = self.0.clone();
        url.set_path(path.as_str());
        url
    }
}

impl TryFrom<&str> for BaseUrl {
    type Error = String;
    fn try_from(raw: &str) -> Result<Self, String> {
        BaseUrl::parse(raw)
    }
}

impl<'de> Deserialize<'de> for BaseUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        parse_str(d, "an http:// or https:// URL", BaseUrl::parse)
    }
}

impl Serialize for BaseUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A TCP port, 1-65535.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Port(u16);

impl Port {
    pub fn new(port: u16) -> Option<Self> {
        (port != 0).then_some(Self(port))
    }

    pub fn get(self) -> u16 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Port {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct PortVisitor;
        impl Visitor<'_> for PortVisitor {
            type Value = Port;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a port number from 1 to 65535")
            }
            fn visit_i64<E: de::Error>(self, raw: i64) -> Result<Port, E> {
                u16::try_from(raw).ok().and_then(Port::new).ok_or_else(|| {
                    E::custom(format!("invalid port {raw}, expected a port number from 1 to 65535"))
                })
            }
            fn visit_u64<E: de::Error>(self, raw: u64) -> Result<Port, E> {
                self.visit_i64(i64::try_from(raw).unwrap_or(i64::MAX))
            }
        }
        d.deserialize_u16(PortVisitor)
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A SHA-256 certificate fingerprint: 64 hex digits, colons allowed between bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sha256Pin(String);
string_newtype!(Sha256Pin, "a SHA-256 fingerprint");

impl Sha256Pin {
    fn parse(raw: &str) -> Result<Self, String> {
        let hex: String = raw.chars().filter(|c| *c != ':').collect();
        if hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            Ok(Self(hex.to_ascii_lowercase()))
        } else {
            Err(format!(
                "invalid SHA-256 fingerprint {raw:?}, expected 64 hex digits (colons between \
                 bytes allowed), as `mcp-connect trust` prints"
            ))
        }
    }
}

/// Deserializes an IP address with a message that says what is expected.
pub(crate) fn ip_addr<'de, D: Deserializer<'de>>(d: D) -> Result<IpAddr, D::Error> {
    parse_str(d, "an IP address", |raw| {
        raw.parse().map_err(|_| {
            format!("invalid IP address {raw:?}, expected an address such as 127.0.0.1 or ::1")
        })
    })
}

/// Deserializes a human duration ("30s", "1h") that must be above zero.
pub(crate) fn positive_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    parse_str(d, "a duration such as \"30s\"", |raw| match humantime::parse_duration(raw) {
        Ok(duration) if !duration.is_zero() => Ok(duration),
        _ => Err(format!(
            "invalid duration {raw:?}, expected a positive duration such as \"30s\", \"5m\" or \"1h\""
        )),
    })
}

/// Serializes a duration the way `positive_duration` reads it.
pub(crate) fn serialize_duration<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&humantime::format_duration(*d))
}

/// Deserializes a list that must hold at least one element.
pub(crate) fn non_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct NonEmpty<T>(PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for NonEmpty<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list with at least one entry")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut items = Vec::new();
            while let Some(item) = seq.next_element()? {
                items.push(item);
            }
            if items.is_empty() {
                return Err(de::Error::custom("empty list, expected at least one entry"));
            }
            Ok(items)
        }
    }
    d.deserialize_seq(NonEmpty(PhantomData))
}

/// Deserializes an optional list that, when given, holds at least one element.
pub(crate) fn some_non_empty<'de, D, T>(d: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    non_empty(d).map(Some)
}

/// Deserializes a string through `parse`. The check runs inside the deserializer's visit of
/// the scalar, so that serde_yaml gives an error the scalar's own line and column.
pub(crate) fn parse_str<'de, D, T>(
    d: D,
    expecting: &'static str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    struct StrVisitor<F> {
        expecting: &'static str,
        parse: F,
    }
    impl<T, F: FnOnce(&str) -> Result<T, String>> Visitor<'_> for StrVisitor<F> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.expecting)
        }
        fn visit_str<E: de::Error>(self, raw: &str) -> Result<T, E> {
            (self.parse)(raw).map_err(E::custom)
        }
    }
    d.deserialize_str(StrVisitor { expecting, parse })
}

//! Route profiles: the model, its validation, and loading built-in and user files.

mod check;
mod describe;
mod load;
mod locate;
mod model;
mod read;
mod save;
mod types;

pub use describe::RouteKind;
pub use load::{Catalog, Entry, LoadError, ProfileError, Source, UserDir, parse};
pub use locate::{Position, locate};
pub use model::*;
pub use read::MAX_BYTES;
pub use save::{ProfileStore, Saved};
pub use types::{
    BaseUrl, EnvVar, KubeName, Port, ProfileName, ServerName, Sha256Pin, Text, UrlPath,
};

// For other files in the same YAML style (the router's config): the same checks and messages.
pub(crate) use check::{Failed, check_gateway_tls};
pub(crate) use load::explain;
pub(crate) use types::{ip_addr, non_empty, parse_str, positive_duration};

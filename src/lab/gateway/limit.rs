//! A limit on requests per second, as a gateway in front of a shared backend sets one: past it
//! within the current second, `429 Too Many Requests` with `Retry-After`, and the request
//! goes no further. A fixed one-second window: simple, and enough to show a client's retry.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

pub struct Limiter {
    per_second: u32,
    window: Mutex<Window>,
}

struct Window {
    began: Instant,
    seen: u32,
}

/// A request over the limit; answers 429.
pub struct Limited {
    per_second: u32,
}

impl Limiter {
    pub fn new(per_second: u32) -> Limiter {
        Limiter { per_second, window: Mutex::new(Window { began: Instant::now(), seen: 0 }) }
    }

    /// Counts a request; `Err` when it is one too many for this second.
    pub fn admit(&self) -> Result<(), Limited> {
        let mut window = self.window.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if now.duration_since(window.began) >= Duration::from_secs(1) {
            *window = Window { began: now, seen: 0 };
        }
        window.seen = window.seen.saturating_add(1);
        if window.seen <= self.per_second {
            Ok(())
        } else {
            Err(Limited { per_second: self.per_second })
        }
    }
}

impl IntoResponse for Limited {
    fn into_response(self) -> Response {
        let body = format!(
            "rate limit exceeded: at most {} requests per second; retry after 1 s",
            self.per_second
        );
        (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "1")], body).into_response()
    }
}

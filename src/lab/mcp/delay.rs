//! Distance, as an axum middleware: every request waits a fixed time before it is served, so
//! every answer (its status and headers, and a JSON body) arrives that much later, as from a
//! server far away. Events a stream sends later are not held back again.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

/// The middleware: sleeps `delay`, then serves the request.
pub async fn hold_back(State(delay): State<Duration>, request: Request, next: Next) -> Response {
    tokio::time::sleep(delay).await;
    next.run(request).await
}

//! API errors as the real server sends them: a `Status` object with the HTTP code.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// An API error, rendered as a `metav1.Status`.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: StatusCode,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

impl ApiError {
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code.as_u16(),
        });
        if let Some(details) = &self.details {
            status["details"] = details.clone();
        }
        status
    }

    pub fn unauthorized() -> ApiError {
        ApiError {
            code: StatusCode::UNAUTHORIZED,
            reason: "Unauthorized",
            message: "Unauthorized".into(),
            details: None,
        }
    }

    /// `pods "x" is forbidden: User "u" cannot create resource "pods/portforward" in API
    /// group "" in the namespace "mcp"`, word for word as the RBAC authorizer says it.
    pub fn forbidden(user: &str, verb: &str, resource: &str, name: Option<&str>, ns: &str) -> Self {
        let (kind, sub) = resource.split_once('/').map_or((resource, None), |(k, s)| (k, Some(s)));
        let subject = match name {
            Some(name) => format!("{kind} \"{name}\""),
            None => kind.to_owned(),
        };
        let full = sub.map_or_else(|| kind.to_owned(), |s| format!("{kind}/{s}"));
        ApiError {
            code: StatusCode::FORBIDDEN,
            reason: "Forbidden",
            message: format!(
                "{subject} is forbidden: User \"{user}\" cannot {verb} resource \"{full}\" in API \
                 group \"\" in the namespace \"{ns}\""
            ),
            details: Some(json!({ "name": name.unwrap_or_default(), "kind": kind })),
        }
    }

    pub fn not_found(kind: &str, name: &str) -> ApiError {
        ApiError {
            code: StatusCode::NOT_FOUND,
            reason: "NotFound",
            message: format!("{kind} \"{name}\" not found"),
            details: Some(json!({ "name": name, "kind": kind })),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError {
            code: StatusCode::BAD_REQUEST,
            reason: "BadRequest",
            message: message.into(),
            details: None,
        }
    }

    pub fn gone(rv: u64) -> ApiError {
        ApiError {
            code: StatusCode::GONE,
            reason: "Expired",
            message: format!("too old resource version: {rv}"),
            details: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.code, Json(self.to_status())).into_response()
    }
}

//! Middleware: the request log, authentication, the `X-Requested-By` check,
//! and the AR shape for errors made outside the handlers.

use std::any::Any;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cookie::Cookie;

use crate::AppState;
use crate::error::{ApiError, ErrorCode, LogDetail, code_of_status};

/// The cookie and the `Authorization` scheme that carry the token.
const TOKEN_NAME: &str = "AR-JWT";

/// Logs each request once: method, path (no query), status, latency, and for
/// a failure the detail the handler left for the log. Never a header or body.
pub(crate) async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = Instant::now();

    let response = next.run(request).await;

    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let detail = response
        .extensions()
        .get::<LogDetail>()
        .map(|d| d.0.as_str());
    tracing::info!(
        target: "hyok_http::request",
        %method, %path, status, latency_ms = format_args!("{latency_ms:.2}"), error = detail,
        "request"
    );
    response
}

/// Lets a request through only with a valid token, from the
/// `Authorization: AR-JWT <token>` header or the `AR-JWT` cookie; the token's
/// claims go into the request extensions.
pub(crate) async fn require_token(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(token) = token_of(request.headers()) else {
        return ApiError::new(ErrorCode::Unauthenticated).into_response();
    };
    let Some(claims) = state.auth().verify(&token) else {
        let error = ApiError::new(ErrorCode::Unauthenticated);
        let text = "The AR-JWT token is not valid, has expired or was logged out; log in again";
        return error.appended(text).into_response();
    };

    request.extensions_mut().insert(claims);
    next.run(request).await
}

/// Refuses a state-changing request without a non-empty `X-Requested-By`
/// header, which a cross-site form cannot send.
pub(crate) async fn require_requested_by(request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let present = request
        .headers()
        .get("x-requested-by")
        .is_some_and(|value| !value.as_bytes().trim_ascii().is_empty());
    if !safe && !present {
        return ApiError::new(ErrorCode::MissingRequestedBy).into_response();
    }
    next.run(request).await
}

/// Gives an error response made by a layer or by the router (404, 405, 413,
/// timeout) the AR shape. Responses that are already JSON pass unchanged.
pub(crate) async fn shape_bare_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }

    let allow = response.headers().get(header::ALLOW).cloned();
    let mut shaped = ApiError::new(code_of_status(status)).into_response();
    if let Some(allow) = allow {
        shaped.headers_mut().insert(header::ALLOW, allow);
    }
    shaped
}

/// Turns a panic in a handler into an AR 500; the panic text goes only to
/// the log.
pub(crate) fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_owned());
    ApiError::new(ErrorCode::Internal)
        .log_detail(format!("handler panicked: {text}"))
        .into_response()
}

fn token_of(headers: &HeaderMap) -> Option<String> {
    let from_header = headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .find_map(|value| {
            let text = value.to_str().ok()?;
            let (scheme, token) = text.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case(TOKEN_NAME)
                .then(|| token.trim().to_owned())
        });
    from_header.or_else(|| {
        headers.get_all(header::COOKIE).iter().find_map(|value| {
            let text = value.to_str().ok()?;
            Cookie::split_parse(text)
                .filter_map(Result::ok)
                .find(|cookie| cookie.name() == TOKEN_NAME)
                .map(|cookie| cookie.value().to_owned())
        })
    })
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn token_from_cookie_among_others() {
        let map = headers(&[(
            header::COOKIE,
            "_cacheId=abc; route=1700000000.1.2.3; AR-JWT=tok.en.value; onbmc_pool=x",
        )]);
        assert_eq!(token_of(&map).as_deref(), Some("tok.en.value"));
    }

    #[test]
    fn token_from_header_wins() {
        let map = headers(&[
            (header::AUTHORIZATION, "AR-JWT from.the.header"),
            (header::COOKIE, "AR-JWT=from.the.cookie"),
        ]);
        assert_eq!(token_of(&map).as_deref(), Some("from.the.header"));
    }

    #[test]
    fn other_schemes_are_not_tokens() {
        let map = headers(&[
            (header::AUTHORIZATION, "Bearer abc"),
            (header::COOKIE, "route=1"),
        ]);
        assert_eq!(token_of(&map), None);
    }
}

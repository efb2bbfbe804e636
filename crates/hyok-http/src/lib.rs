//! The REST facade of hyok: the AR System HYOK endpoints over an [`Engine`].
//!
//! [`router`] builds an [`axum::Router`] that an application mounts in its
//! own server, or that the `hyok serve` binary runs standalone. It answers:
//!
//! | method | path | what |
//! | --- | --- | --- |
//! | POST | `/api/jwt/login` | form `username`, `password`; the AR-JWT token as text |
//! | POST | `/api/jwt/logout` | revokes the token |
//! | GET | `/api/arsys/v1.0/dek/check` | whether HYOK is on, the provider, its health |
//! | POST | `/api/arsys/v1.0/kmsconfig/create` | multipart form; turns HYOK on |
//! | POST | `/api/arsys/v1.0/kmsconfig/update` | multipart form; moves to a new configuration |
//! | POST | `/api/arsys/v1.0/dek/rotate` | a new primary data key |
//! | GET | `/api/arsys/v1.0/kmsconfig/get` (also `…/kmsconfig`) | the configuration, no secrets |
//!
//! Every endpoint but login needs a token (cookie `AR-JWT=<token>` or header
//! `Authorization: AR-JWT <token>`), and every POST but login needs the
//! header `X-Requested-By`. Errors have the AR message shape
//! (`messageType`, `messageText`, `messageAppendedText`, `messageNumber`);
//! [`ErrorCode`] lists them.
//!
//! ```no_run
//! use hyok_core::{Engine, EngineOptions, ProviderRegistry};
//! use hyok_http::{AppState, Authenticator, router};
//! use secrecy::SecretString;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let registry = ProviderRegistry::new();
//! let engine = Engine::open(EngineOptions::new("hyok-data").registry(registry.clone())).await?;
//! let auth = Authenticator::in_memory("admin", &SecretString::from("change me"))?;
//! let app = router(AppState::new(engine, registry, auth));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8008").await?;
//! axum::serve(listener, app).await?;
//! # Ok(())
//! # }
//! ```
//!
//! # Guarantees and limits
//!
//! - No response carries a secret, an internal error text or a panic; the
//!   request log names method, path, status and latency, never a header or a
//!   body.
//! - Request bodies are wiped by nobody: the form's secret values are moved
//!   into secret types at once, but the buffers the HTTP stack read them
//!   into are freed without zeroizing.
//! - Logged-out tokens are remembered in memory only: after a restart a
//!   logged-out token is valid again until it expires (one hour).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, header};
use axum::middleware::{from_fn, from_fn_with_state, map_response};
use axum::routing::{get, post};
use hyok_core::{Engine, ProviderRegistry};
use tokio::sync::Semaphore;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::TimeoutLayer;

mod auth;
mod error;
mod form;
mod middleware;
mod routes;

pub use auth::{
    AuthSetupError, Authenticator, Claims, DEFAULT_TOKEN_TTL, GeneratedPassword,
    PASSWORD_HASH_FILE, SIGNING_KEY_FILE,
};
pub use error::{ApiError, ErrorCode};

/// Base path of the HYOK endpoints.
pub const API_BASE: &str = "/api/arsys/v1.0";

/// Largest request body accepted: a form with a 4096-bit PEM key is ~5 KiB.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Longest time one request may take, KMS calls included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Most requests served at once; more wait their turn.
pub const CONCURRENCY_LIMIT: usize = 512;

/// Most password checks at once: each argon2 check takes 19 MiB and tens of
/// milliseconds, so a flood of logins must queue rather than exhaust memory.
pub const LOGIN_CONCURRENCY: usize = 2;

/// What the handlers share: the engine, the provider registry (for the form
/// fields of each provider) and the authenticator.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    engine: Engine,
    registry: ProviderRegistry,
    auth: Authenticator,
    login_slots: Semaphore,
}

impl AppState {
    /// State over `engine`; `registry` must be the one the engine was opened
    /// with.
    pub fn new(engine: Engine, registry: ProviderRegistry, auth: Authenticator) -> AppState {
        let login_slots = Semaphore::new(LOGIN_CONCURRENCY);
        let inner = Inner {
            engine,
            registry,
            auth,
            login_slots,
        };
        AppState {
            inner: Arc::new(inner),
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    fn registry(&self) -> &ProviderRegistry {
        &self.inner.registry
    }

    fn auth(&self) -> &Authenticator {
        &self.inner.auth
    }

    fn login_slots(&self) -> &Semaphore {
        &self.inner.login_slots
    }
}

/// Builds the router with every endpoint and layer.
pub fn router(state: AppState) -> Router {
    let hyok = Router::new()
        .route("/dek/check", get(routes::dek_check))
        .route("/dek/rotate", post(routes::dek_rotate))
        .route("/kmsconfig/create", post(routes::kmsconfig_create))
        .route("/kmsconfig/update", post(routes::kmsconfig_update))
        .route("/kmsconfig/get", get(routes::kmsconfig_get))
        .route("/kmsconfig", get(routes::kmsconfig_get));

    let protected = Router::new()
        .nest(API_BASE, hyok)
        .route("/api/jwt/logout", post(routes::logout))
        .route_layer(from_fn(middleware::require_requested_by))
        .route_layer(from_fn_with_state(state.clone(), middleware::require_token));

    Router::new()
        .route("/api/jwt/login", post(routes::login))
        .merge(protected)
        .with_state(state)
        // Layers, innermost first; the last one sees every request first.
        // The extractors (form, multipart) refuse bodies over BODY_LIMIT.
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // Bodies over BODY_LIMIT are refused with 413 (by Content-Length, or while read).
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        // At most CONCURRENCY_LIMIT requests in flight across all routes; more wait.
        .layer(GlobalConcurrencyLimitLayer::new(CONCURRENCY_LIMIT))
        // A request may take REQUEST_TIMEOUT at most, waiting for a slot included.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            REQUEST_TIMEOUT,
        ))
        // A panic becomes an AR 500 instead of a dropped connection.
        .layer(CatchPanicLayer::custom(middleware::panic_response))
        // Errors made outside the handlers (404, 405, 413, timeout) get the AR shape.
        .layer(map_response(middleware::shape_bare_errors))
        // Authorization and Cookie values are marked sensitive for any layer that prints them.
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
        ]))
        // One log line per request, outermost so it sees the final status.
        .layer(from_fn(middleware::log_request))
}

//! A counting, fault-injecting HTTP proxy in front of a KMS, and an
//! endpoint that accepts connections and never answers.

use std::collections::{BTreeMap, HashMap};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Header that names the KMS operation: `TrentService.<Operation>`.
const TARGET_HEADER: &str = "x-amz-target";
const TARGET_PREFIX: &str = "TrentService.";

/// Largest request body relayed; KMS requests are a few kilobytes.
const BODY_LIMIT: usize = 1 << 20;

/// Headers that belong to one hop and are not relayed.
const HOP_HEADERS: [header::HeaderName; 4] = [
    header::HOST,
    header::CONTENT_LENGTH,
    header::CONNECTION,
    header::TRANSFER_ENCODING,
];

/// An HTTP proxy on loopback in front of a KMS endpoint (moto).
///
/// It counts every KMS call by operation, and answers the calls chosen with
/// [`fail_next`](KmsProxy::fail_next) itself with AWS's error shape: HTTP
/// 400 (500 or 503 for `KMSInternalException`, `KeyUnavailableException`
/// and `DependencyTimeoutException`), header `X-Amzn-ErrorType: <code>`,
/// JSON body `{"__type": "<code>", "message": "…"}`. Injected answers count
/// as calls.
/// Stops when dropped.
#[derive(Debug)]
pub struct KmsProxy {
    endpoint: String,
    state: Arc<ProxyState>,
    server: JoinHandle<()>,
}

impl KmsProxy {
    /// Starts a proxy on a free loopback port that relays to `upstream`
    /// (an `http://` URL). Must run inside a Tokio runtime.
    pub async fn start(upstream: &str) -> KmsProxy {
        let state = Arc::new(ProxyState {
            upstream: upstream.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
            calls: Mutex::default(),
            faults: Mutex::default(),
        });
        let router = axum::Router::new()
            .fallback(relay)
            .with_state(Arc::clone(&state));

        let (listener, endpoint) = bind_loopback().await;
        let server = tokio::spawn(async move {
            axum::serve(listener, router)
                .await
                .expect("the test proxy stopped");
        });
        KmsProxy {
            endpoint,
            state,
            server,
        }
    }

    /// The proxy's URL, to give as the provider's `endpoint`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Answers the next `times` calls of `operation` (`Decrypt`,
    /// `DescribeKey`, …) with the AWS error `code`, replacing any fault set
    /// before for it. `u32::MAX` stands for always.
    pub fn fail_next(&self, operation: &str, code: &str, times: u32) {
        let fault = Fault {
            code: code.to_owned(),
            remaining: times,
        };
        lock(&self.state.faults).insert(operation.to_owned(), fault);
    }

    /// Stops injecting faults.
    pub fn clear_faults(&self) {
        lock(&self.state.faults).clear();
    }

    /// How many calls of `operation` reached the proxy.
    pub fn calls(&self, operation: &str) -> u64 {
        lock(&self.state.calls).get(operation).copied().unwrap_or(0)
    }

    /// How many KMS calls reached the proxy in all.
    pub fn total_calls(&self) -> u64 {
        lock(&self.state.calls).values().sum()
    }

    /// Calls so far, by operation.
    pub fn call_counts(&self) -> BTreeMap<String, u64> {
        lock(&self.state.calls).clone()
    }

    /// Sets every count back to zero.
    pub fn reset_counts(&self) {
        lock(&self.state.calls).clear();
    }
}

impl Drop for KmsProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A loopback endpoint that accepts connections and never answers a byte:
/// a KMS that has stalled. Stops when dropped.
#[derive(Debug)]
pub struct StalledServer {
    endpoint: String,
    server: JoinHandle<()>,
}

impl StalledServer {
    /// Starts listening on a free loopback port. Must run inside a Tokio
    /// runtime.
    pub async fn start() -> StalledServer {
        let (listener, endpoint) = bind_loopback().await;
        let server = tokio::spawn(async move {
            let mut held: Vec<TcpStream> = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        StalledServer { endpoint, server }
    }

    /// The endpoint's URL, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

impl Drop for StalledServer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

#[derive(Debug)]
struct ProxyState {
    upstream: String,
    http: reqwest::Client,
    calls: Mutex<BTreeMap<String, u64>>,
    faults: Mutex<HashMap<String, Fault>>,
}

impl ProxyState {
    /// Counts the call and takes one injected fault for it, if any is due.
    fn record(&self, operation: &str) -> Option<String> {
        *lock(&self.calls).entry(operation.to_owned()).or_default() += 1;

        let mut faults = lock(&self.faults);
        let fault = faults
            .get_mut(operation)
            .filter(|fault| fault.remaining > 0)?;
        if fault.remaining != u32::MAX {
            fault.remaining -= 1;
        }
        Some(fault.code.clone())
    }
}

#[derive(Debug)]
struct Fault {
    code: String,
    remaining: u32,
}

async fn relay(State(state): State<Arc<ProxyState>>, request: Request) -> Response {
    let operation = operation_of(request.headers());
    if let Some(code) = state.record(&operation) {
        return aws_error(&code);
    }

    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let mut headers = request.headers().clone();
    for name in &HOP_HEADERS {
        headers.remove(name);
    }
    let body = match axum::body::to_bytes(request.into_body(), BODY_LIMIT).await {
        Ok(body) => body,
        Err(_) => return status_only(StatusCode::PAYLOAD_TOO_LARGE),
    };

    let url = format!("{}{path}", state.upstream);
    let sent = state
        .http
        .post(&url)
        .headers(headers)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(answer) => relay_answer(answer).await,
        Err(err) => {
            eprintln!("test proxy: relay to {url} failed: {err}");
            status_only(StatusCode::BAD_GATEWAY)
        }
    }
}

async fn relay_answer(answer: reqwest::Response) -> Response {
    let status = answer.status();
    let mut headers = answer.headers().clone();
    for name in &HOP_HEADERS {
        headers.remove(name);
    }
    let body = answer.bytes().await.unwrap_or_default();

    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// AWS's JSON-protocol error shape for `code`, with the HTTP status KMS
/// gives it: 500 or 503 for its own faults, 400 for the rest.
fn aws_error(code: &str) -> Response {
    let status = match code {
        "KMSInternalException" | "KeyUnavailableException" => StatusCode::INTERNAL_SERVER_ERROR,
        "DependencyTimeoutException" => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    };
    let body = serde_json::json!({ "__type": code, "message": "injected by the test proxy" });
    let mut response = Response::new(Body::from(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    let code = HeaderValue::from_str(code).expect("an error code is a header value");
    headers.insert("x-amzn-errortype", code);
    response
}

fn status_only(status: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

/// The KMS operation a request calls, from its `X-Amz-Target` header.
fn operation_of(headers: &HeaderMap) -> String {
    let target = headers
        .get(TARGET_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    target
        .strip_prefix(TARGET_PREFIX)
        .unwrap_or(target)
        .to_owned()
}

async fn bind_loopback() -> (TcpListener, String) {
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .expect("bind a loopback port");
    let port = listener.local_addr().expect("local address").port();
    (listener, format!("http://127.0.0.1:{port}"))
}

/// Locks a test counter; a panic elsewhere does not spoil the counts.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

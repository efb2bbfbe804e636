//! An OCI Vault test server on loopback (feature `testing`).
//!
//! [`TestServer`] answers the KMS crypto endpoint (`encrypt`, `decrypt`,
//! `generateDataEncryptionKey`) and the management endpoint (`GET
//! keys/{id}`) on two loopback ports, as OCI does on two hosts. It is strict
//! where OCI is strict: every request must carry a valid OCI signature by a
//! registered API key, a body hash that matches, and a `date` within five
//! minutes; errors come back in OCI's shape, `{"code": "...", "message":
//! "..."}`. Data keys are wrapped with real AES-256-GCM under a per-key
//! secret, with the `associatedData` as AAD, so a wrong context fails as it
//! would on OCI.
//!
//! ```
//! use hyok_core::ProviderFactory;
//! use hyok_oci::OciFactory;
//! use hyok_oci::testing::TestServer;
//!
//! let server = TestServer::start();
//! let key = server.create_key();
//! let provider = OciFactory::new().build(&server.provider_config(&key))?;
//! # Ok::<(), hyok_core::ProviderError>(())
//! ```
//!
//! The server runs on its own thread with its own runtime, so it works from
//! synchronous tests and under any runtime; dropping it stops it.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, KeyInit, Nonce, Payload};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hyok_core::ProviderConfig;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use secrecy::SecretString;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::oneshot;
use zeroize::Zeroizing;

use crate::signer::{content_sha256, parse_authorization, signed_headers, signing_string};

/// The public test API key the server knows from the start. **Test material
/// only: registered nowhere, published in this repository.**
pub mod test_key {
    /// Tenancy OCID of the test key id.
    pub const TENANCY_OCID: &str =
        "ocid1.tenancy.oc1..aaaaaaaatesttenancy0000000000000000000000000000000000000000";
    /// User OCID of the test key id.
    pub const USER_OCID: &str =
        "ocid1.user.oc1..aaaaaaaatestuser000000000000000000000000000000000000000000000";
    /// MD5 fingerprint of the test key, as the `fingerprint` field wants it.
    pub const FINGERPRINT: &str = "98:fb:c2:72:f6:c3:75:56:71:c9:44:04:ca:7f:70:4c";
    /// The key id `tenancy/user/fingerprint` the server registers at start.
    pub const KEY_ID: &str = concat!(
        "ocid1.tenancy.oc1..aaaaaaaatesttenancy0000000000000000000000000000000000000000/",
        "ocid1.user.oc1..aaaaaaaatestuser000000000000000000000000000000000000000000000/",
        "98:fb:c2:72:f6:c3:75:56:71:c9:44:04:ca:7f:70:4c"
    );
    /// The private key, PKCS#8 PEM as the OCI console makes it.
    pub const PRIVATE_KEY_PEM: &str =
        include_str!("../tests/data/oci-signing/test_key_2048_pkcs8.pem");
    /// The same key as a PKCS#1 (`RSA PRIVATE KEY`) PEM.
    pub const PKCS1_PRIVATE_KEY_PEM: &str =
        include_str!("../tests/data/oci-signing/test_key_2048_pkcs1.pem");
    /// The same key as an encrypted PKCS#8 PEM; see [`PASSPHRASE`].
    pub const ENCRYPTED_PRIVATE_KEY_PEM: &str =
        include_str!("../tests/data/oci-signing/test_key_2048_pkcs8_encrypted.pem");
    /// Passphrase of [`ENCRYPTED_PRIVATE_KEY_PEM`].
    pub const PASSPHRASE: &str = "hyok-test-passphrase";
    /// The public key, as uploaded to OCI.
    pub const PUBLIC_KEY_PEM: &str =
        include_str!("../tests/data/oci-signing/test_key_2048_public.pem");
}

/// Largest difference between a request's `date` and the server's clock
/// that the server accepts, as OCI does.
const MAX_SKEW: Duration = Duration::from_secs(300);

/// Largest request body the server reads.
const MAX_BODY: usize = 64 * 1024;

/// An OCI Vault test server on two loopback ports. Stops when dropped.
pub struct TestServer {
    shared: Arc<Shared>,
    crypto: SocketAddr,
    management: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server on free loopback ports, with the [`test_key`] API key
    /// registered and no master keys.
    ///
    /// # Panics
    ///
    /// Panics if no loopback port can be bound.
    pub fn start() -> TestServer {
        let shared = Arc::new(Shared::default());
        let crypto = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let management = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addrs = (
            crypto.local_addr().unwrap(),
            management.local_addr().unwrap(),
        );
        let (shutdown, stopped) = oneshot::channel();

        let apps = (
            crypto_router(shared.clone()),
            management_router(shared.clone()),
        );
        let thread = std::thread::spawn(move || serve(crypto, management, apps, stopped));

        let server = TestServer {
            shared,
            crypto: addrs.0,
            management: addrs.1,
            shutdown: Some(shutdown),
            thread: Some(thread),
        };
        server.register_user(test_key::KEY_ID, test_key::PUBLIC_KEY_PEM);
        server
    }

    /// Base URL of the crypto endpoint, for the `cryptoEndpoint` field.
    pub fn crypto_endpoint(&self) -> String {
        format!("http://{}", self.crypto)
    }

    /// Base URL of the management endpoint, for the `mgmtEndpoint` field.
    pub fn management_endpoint(&self) -> String {
        format!("http://{}", self.management)
    }

    /// Accepts requests signed with the private half of `public_key_pem`
    /// under `key_id` (`tenancy/user/fingerprint`), replacing any key
    /// registered for that id.
    ///
    /// # Panics
    ///
    /// Panics if `public_key_pem` is not a `PUBLIC KEY` PEM of an RSA key.
    pub fn register_user(&self, key_id: &str, public_key_pem: &str) {
        let key = VerifyingKey::<Sha256>::from_public_key_pem(public_key_pem)
            .expect("an RSA PUBLIC KEY PEM");
        self.shared.lock().users.insert(key_id.to_owned(), key);
    }

    /// Creates an enabled AES-256 master key and returns its OCID.
    pub fn create_key(&self) -> String {
        self.create_key_with_algorithm("AES")
    }

    /// Creates an enabled master key whose `keyShape.algorithm` is
    /// `algorithm` (`AES`, `RSA`, `ECDSA`). Only AES keys encrypt.
    pub fn create_key_with_algorithm(&self, algorithm: &str) -> String {
        let mut inner = self.shared.lock();
        inner.next_key += 1;
        let id = format!("ocid1.key.oc1.test.hyok.{:06}", inner.next_key);
        inner.keys.insert(id.clone(), MasterKey::new(algorithm));
        id
    }

    /// Sets the lifecycle state of master key `key_id`.
    ///
    /// # Panics
    ///
    /// Panics if the server has no such key.
    pub fn set_key_state(&self, key_id: &str, state: KeyState) {
        let mut inner = self.shared.lock();
        inner
            .keys
            .get_mut(key_id)
            .expect("a key of this server")
            .state = state;
    }

    /// Makes the next `count` requests fail with `fault`, after their
    /// signature has been checked.
    pub fn fail_next(&self, count: usize, fault: Fault) {
        let mut inner = self.shared.lock();
        inner.faults.extend(std::iter::repeat_n(fault, count));
    }

    /// How many requests the server has received, refused ones included.
    pub fn calls(&self) -> usize {
        self.shared.calls.load(Ordering::SeqCst)
    }

    /// A complete `oci` provider configuration for this server, the
    /// [`test_key`] credentials and master key `master_key_id`.
    pub fn provider_config(&self, master_key_id: &str) -> ProviderConfig {
        ProviderConfig::new("oci")
            .setting("tenantId", test_key::TENANCY_OCID)
            .setting("userId", test_key::USER_OCID)
            .setting("fingerprint", test_key::FINGERPRINT)
            .setting("cryptoEndpoint", self.crypto_endpoint())
            .setting("mgmtEndpoint", self.management_endpoint())
            .setting("masterKeyId", master_key_id)
            .secret("privateKey", SecretString::from(test_key::PRIVATE_KEY_PEM))
    }
}

impl fmt::Debug for TestServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestServer")
            .field("crypto", &self.crypto)
            .field("management", &self.management)
            .finish_non_exhaustive()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Lifecycle state of a test master key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyState {
    /// Usable: `ENABLED`.
    Enabled,
    /// `DISABLED`: crypto calls answer 409 `IncorrectState`.
    Disabled,
    /// `PENDING_DELETION`: crypto calls answer 409 `IncorrectState`.
    PendingDeletion,
}

impl KeyState {
    fn as_str(self) -> &'static str {
        match self {
            KeyState::Enabled => "ENABLED",
            KeyState::Disabled => "DISABLED",
            KeyState::PendingDeletion => "PENDING_DELETION",
        }
    }
}

/// A failure the server can be told to answer with; see
/// [`TestServer::fail_next`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// 429 `TooManyRequests`.
    TooManyRequests,
    /// 500 `InternalServerError`.
    InternalServerError,
    /// 409 `IncorrectState`.
    IncorrectState,
    /// Answers normally, but only after this delay (to test timeouts).
    Stall(Duration),
    /// `generateDataEncryptionKey` answers a 16-byte plaintext key.
    ShortDataKey,
}

#[derive(Default)]
struct Shared {
    inner: Mutex<Inner>,
    calls: AtomicUsize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts the request, checks its signature, body hash and date, then
    /// applies the next fault, if any. Returns a fault the handler acts on.
    fn admit(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Option<Fault>, OciError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let mut inner = self.lock();
        verify(&inner.users, method, uri, headers, body)?;
        match inner.faults.pop_front() {
            Some(Fault::TooManyRequests) => Err(OciError::throttled()),
            Some(Fault::InternalServerError) => Err(OciError::internal()),
            Some(Fault::IncorrectState) => Err(OciError::incorrect_state()),
            other => Ok(other),
        }
    }
}

#[derive(Default)]
struct Inner {
    users: HashMap<String, VerifyingKey<Sha256>>,
    keys: HashMap<String, MasterKey>,
    faults: VecDeque<Fault>,
    next_key: u32,
}

impl Inner {
    /// The key `key_id`, usable for encryption, or OCI's answer why not.
    fn usable_key(&self, key_id: &str) -> Result<&MasterKey, OciError> {
        let key = self.keys.get(key_id).ok_or_else(OciError::not_found)?;
        if key.state != KeyState::Enabled {
            return Err(OciError::incorrect_state());
        }
        if key.algorithm != "AES" {
            return Err(OciError::invalid("the key cannot encrypt data"));
        }
        Ok(key)
    }
}

struct MasterKey {
    state: KeyState,
    algorithm: String,
    cipher: Box<Aes256Gcm>,
}

impl MasterKey {
    fn new(algorithm: &str) -> MasterKey {
        let mut secret = Zeroizing::new([0u8; 32]);
        getrandom::fill(secret.as_mut()).expect("OS randomness");
        let cipher = Box::new(Aes256Gcm::new((&*secret).into()));
        MasterKey {
            state: KeyState::Enabled,
            algorithm: algorithm.to_owned(),
            cipher,
        }
    }

    /// base64(nonce ‖ AES-GCM(plaintext, aad)).
    fn seal(&self, plaintext: &[u8], aad: &[u8]) -> String {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).expect("OS randomness");
        let sealed = self
            .cipher
            .encrypt(
                &Nonce::<Aes256Gcm>::from(nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .expect("AES-GCM encryption of a short message");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        BASE64.encode(out)
    }

    fn open(&self, ciphertext: &str, aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, OciError> {
        let refused = || OciError::invalid("the ciphertext or associated data is not valid");
        let bytes = BASE64.decode(ciphertext).map_err(|_| refused())?;
        if bytes.len() < 12 + 16 {
            return Err(refused());
        }
        let (nonce, sealed) = bytes.split_at(12);
        let nonce = Nonce::<Aes256Gcm>::try_from(nonce).map_err(|_| refused())?;
        let plain = self
            .cipher
            .decrypt(&nonce, Payload { msg: sealed, aad })
            .map_err(|_| refused())?;
        Ok(Zeroizing::new(plain))
    }
}

fn serve(
    crypto: TcpListener,
    management: TcpListener,
    apps: (Router, Router),
    stopped: oneshot::Receiver<()>,
) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime for the test server");
    runtime.block_on(async move {
        let crypto = listener(crypto);
        let management = listener(management);
        tokio::select! {
            _ = axum::serve(crypto, apps.0) => {}
            _ = axum::serve(management, apps.1) => {}
            _ = stopped => {}
        }
    });
}

fn listener(std: TcpListener) -> tokio::net::TcpListener {
    std.set_nonblocking(true).expect("a non-blocking listener");
    tokio::net::TcpListener::from_std(std).expect("a tokio listener")
}

fn crypto_router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/20180608/encrypt", post(encrypt))
        .route("/20180608/decrypt", post(decrypt))
        .route("/20180608/generateDataEncryptionKey", post(generate))
        .fallback(unknown)
        .with_state(shared)
}

fn management_router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/20180608/keys/{key_id}", get(get_key))
        .fallback(unknown)
        .with_state(shared)
}

type Answer = Result<Json<Value>, OciError>;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CryptoBody {
    key_id: String,
    #[serde(default)]
    plaintext: Option<String>,
    #[serde(default)]
    ciphertext: Option<String>,
    #[serde(default)]
    associated_data: BTreeMap<String, String>,
    #[serde(default)]
    key_shape: Option<Value>,
    #[serde(default)]
    include_plaintext_key: bool,
}

async fn encrypt(State(shared): State<Arc<Shared>>, request: Admitted) -> Answer {
    let request: CryptoBody = request.json()?;
    let plaintext = request
        .plaintext
        .as_deref()
        .ok_or_else(|| OciError::invalid("plaintext"))?;
    let plaintext = BASE64
        .decode(plaintext)
        .map_err(|_| OciError::invalid("plaintext"))?;
    let plaintext = Zeroizing::new(plaintext);

    let inner = shared.lock();
    let key = inner.usable_key(&request.key_id)?;
    let ciphertext = key.seal(&plaintext, &aad(&request.associated_data));
    Ok(Json(
        json!({ "ciphertext": ciphertext, "keyId": request.key_id }),
    ))
}

async fn decrypt(State(shared): State<Arc<Shared>>, request: Admitted) -> Answer {
    let request: CryptoBody = request.json()?;
    let ciphertext = request
        .ciphertext
        .as_deref()
        .ok_or_else(|| OciError::invalid("ciphertext"))?;

    let inner = shared.lock();
    let key = inner.usable_key(&request.key_id)?;
    let plaintext = key.open(ciphertext, &aad(&request.associated_data))?;
    Ok(Json(
        json!({ "plaintext": BASE64.encode(plaintext.as_slice()), "keyId": request.key_id }),
    ))
}

async fn generate(State(shared): State<Arc<Shared>>, admitted: Admitted) -> Answer {
    let request: CryptoBody = admitted.json()?;
    let length = match request.key_shape {
        Some(ref shape) if shape["algorithm"] == "AES" => shape["length"].as_u64().unwrap_or(0),
        _ => 0,
    };
    if ![16, 24, 32].contains(&length) {
        return Err(OciError::invalid(
            "keyShape must be AES with length 16, 24 or 32",
        ));
    }
    let length = if admitted.fault == Some(Fault::ShortDataKey) {
        16
    } else {
        length as usize
    };
    let mut data_key = Zeroizing::new(vec![0u8; length]);
    getrandom::fill(&mut data_key).expect("OS randomness");

    let inner = shared.lock();
    let key = inner.usable_key(&request.key_id)?;
    let ciphertext = key.seal(&data_key, &aad(&request.associated_data));
    let mut answer = json!({ "ciphertext": ciphertext });
    if request.include_plaintext_key {
        answer["plaintext"] = json!(BASE64.encode(data_key.as_slice()));
    }
    Ok(Json(answer))
}

async fn get_key(
    State(shared): State<Arc<Shared>>,
    Path(key_id): Path<String>,
    _: Admitted,
) -> Answer {
    let inner = shared.lock();
    let key = inner.keys.get(&key_id).ok_or_else(OciError::not_found)?;
    Ok(Json(json!({
        "id": key_id,
        "compartmentId": "ocid1.compartment.oc1..test",
        "displayName": "hyok test key",
        "lifecycleState": key.state.as_str(),
        "keyShape": { "algorithm": key.algorithm, "length": 32 },
        "protectionMode": "SOFTWARE",
    })))
}

/// Paths OCI does not serve on this endpoint: 404, as OCI answers, once the
/// request is authenticated.
async fn unknown(_: Admitted) -> OciError {
    OciError::not_found()
}

/// A request whose signature, body hash and date passed [`Shared::admit`],
/// with its body and the fault, if any, it should suffer. Stalls happen
/// during extraction.
struct Admitted {
    body: Bytes,
    fault: Option<Fault>,
}

impl Admitted {
    fn json<T: DeserializeOwned>(&self) -> Result<T, OciError> {
        serde_json::from_slice(&self.body).map_err(|_| OciError::invalid("request body"))
    }
}

impl FromRequest<Arc<Shared>> for Admitted {
    type Rejection = OciError;

    async fn from_request(request: Request, shared: &Arc<Shared>) -> Result<Self, OciError> {
        let (parts, body) = request.into_parts();
        let body = axum::body::to_bytes(body, MAX_BODY)
            .await
            .map_err(|_| OciError::invalid("request body"))?;
        let fault = shared.admit(&parts.method, &parts.uri, &parts.headers, &body)?;
        if let Some(Fault::Stall(delay)) = fault {
            tokio::time::sleep(delay).await;
        }
        Ok(Admitted { body, fault })
    }
}

/// The AAD a context binds: its canonical (sorted) JSON.
fn aad(context: &BTreeMap<String, String>) -> Vec<u8> {
    serde_json::to_vec(context).expect("a string map encodes")
}

/// Checks an OCI request signature the way OCI does: a known key id, the
/// required headers signed, a valid signature, a fresh date, and a body that
/// matches its signed length and hash.
fn verify(
    users: &HashMap<String, VerifyingKey<Sha256>>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), OciError> {
    let authorization = header(headers, "authorization")
        .ok_or_else(|| OciError::unauthenticated("no Authorization header"))?;
    let params = parse_authorization(authorization)
        .ok_or_else(|| OciError::unauthenticated("malformed Authorization"))?;
    let param = |name: &str| params.get(name).map_or("", String::as_str);
    if param("version") != "1" || param("algorithm") != "rsa-sha256" {
        return Err(OciError::unauthenticated("unsupported signature scheme"));
    }
    let key = users
        .get(param("keyId"))
        .ok_or_else(|| OciError::unauthenticated("unknown keyId"))?;

    let names: Vec<&str> = param("headers").split(' ').collect();
    if signed_headers(method)
        .iter()
        .any(|name| !names.contains(name))
    {
        return Err(OciError::unauthenticated("a required header is not signed"));
    }

    check_signature(key, &names, param("signature"), method, uri, headers)?;
    check_date(header(headers, "date"))?;
    check_body(headers, body)
}

fn check_signature(
    key: &VerifyingKey<Sha256>,
    names: &[&str],
    signature: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<(), OciError> {
    let path_and_query = uri.path_and_query().map_or("/", |pq| pq.as_str());
    let target = format!("{} {path_and_query}", method.as_str().to_ascii_lowercase());
    let signing_string = signing_string(names, |name| match name {
        "(request-target)" => Some(target.clone()),
        _ => header(headers, name).map(str::to_owned),
    })
    .ok_or_else(|| OciError::unauthenticated("a signed header is missing"))?;

    let signature = BASE64
        .decode(signature)
        .ok()
        .and_then(|bytes| Signature::try_from(bytes.as_slice()).ok())
        .ok_or_else(|| OciError::unauthenticated("malformed signature"))?;
    key.verify(signing_string.as_bytes(), &signature)
        .map_err(|_| OciError::unauthenticated("the signature does not verify"))
}

/// A signed body hash and length must match the body received.
fn check_body(headers: &HeaderMap, body: &[u8]) -> Result<(), OciError> {
    let Some(hash) = header(headers, "x-content-sha256") else {
        return Ok(());
    };
    let length = header(headers, "content-length");
    if hash != content_sha256(body) || length != Some(body.len().to_string().as_str()) {
        return Err(OciError::unauthenticated(
            "the body does not match its signed hash",
        ));
    }
    Ok(())
}

fn check_date(date: Option<&str>) -> Result<(), OciError> {
    let date = date
        .and_then(|text| httpdate::parse_http_date(text).ok())
        .ok_or_else(|| OciError::unauthenticated("no valid date header"))?;
    let now = SystemTime::now();
    let skew = now
        .duration_since(date)
        .or_else(|_| date.duration_since(now))
        .unwrap_or_default();
    if skew > MAX_SKEW {
        return Err(OciError::unauthenticated(
            "the date is more than 5 minutes off (clock skew)",
        ));
    }
    Ok(())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// An error answer in OCI's shape.
#[derive(Debug)]
struct OciError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl OciError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> OciError {
        OciError {
            status,
            code,
            message: message.into(),
        }
    }

    fn unauthenticated(reason: &str) -> OciError {
        let message = format!("request not authenticated: {reason}");
        OciError::new(StatusCode::UNAUTHORIZED, "NotAuthenticated", message)
    }

    fn not_found() -> OciError {
        let message = "no such resource, or not authorised";
        OciError::new(StatusCode::NOT_FOUND, "NotAuthorizedOrNotFound", message)
    }

    fn invalid(what: &str) -> OciError {
        OciError::new(
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            format!("Invalid {what}"),
        )
    }

    fn incorrect_state() -> OciError {
        let message = "The key is not in a state that allows this operation.";
        OciError::new(StatusCode::CONFLICT, "IncorrectState", message)
    }

    fn throttled() -> OciError {
        OciError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "Too many requests.",
        )
    }

    fn internal() -> OciError {
        OciError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "Internal error.",
        )
    }
}

impl IntoResponse for OciError {
    fn into_response(self) -> Response {
        let body = Json(json!({ "code": self.code, "message": self.message }));
        let mut response = (self.status, body).into_response();
        let request_id = axum::http::HeaderValue::from_static("hyok-test-server");
        response.headers_mut().insert("opc-request-id", request_id);
        response
    }
}

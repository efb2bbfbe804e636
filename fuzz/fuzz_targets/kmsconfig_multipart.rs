//! Arbitrary multipart bodies and headers sent to `kmsconfig/create` and
//! `kmsconfig/update` through the router, without a socket.
//!
//! Input: one flag byte, a `Content-Type` value up to the first newline,
//! then the body. Every answer must be JSON, every error in the AR shape,
//! and none a 500 (a panic caught by the router, or a fault inside it).

#![no_main]

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, StatusCode, header};
use http_body_util::BodyExt;
use hyok_core::testing::MemoryFactory;
use hyok_core::{Engine, EngineOptions, FieldSpec, ProviderConfig, ProviderRegistry};
use hyok_http::{AppState, Authenticator, router};
use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;
use tower::ServiceExt;

/// The configured master key of the in-memory KMS.
const KEY_ID: &str = "k1";

static AWS_FIELDS: &[FieldSpec] = &[
    FieldSpec::required("accessKey"),
    FieldSpec::secret("secretKey"),
    FieldSpec::required("masterKeyId"),
    FieldSpec::required("region"),
    FieldSpec::optional("endpoint"),
];

static OCI_FIELDS: &[FieldSpec] = &[
    FieldSpec::required("tenantId"),
    FieldSpec::required("userId"),
    FieldSpec::required("fingerprint"),
    FieldSpec::required("cryptoEndpoint"),
    FieldSpec::required("mgmtEndpoint"),
    FieldSpec::required("masterKeyId"),
    FieldSpec::secret("privateKey"),
    FieldSpec::optional_secret("passphrase"),
];

/// Two routers (HYOK off, HYOK on) over engines in temporary directories.
struct Fixture {
    runtime: tokio::runtime::Runtime,
    off: Side,
    on: Side,
}

/// A router, a token it accepts, and the directory of its engine.
struct Side {
    app: Router,
    token: String,
    _dir: tempfile::TempDir,
}

static FIXTURE: OnceLock<Fixture> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let fixture = FIXTURE.get_or_init(Fixture::new);
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let (content_type, body) = match rest.iter().position(|&b| b == b'\n') {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (&rest[..0], rest),
    };

    let side = if flags & 1 == 0 {
        &fixture.off
    } else {
        &fixture.on
    };
    let request = side.request(flags, content_type, body);
    let (status, answer) = fixture.runtime.block_on(async {
        let response = side.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        (
            status,
            response.into_body().collect().await.unwrap().to_bytes(),
        )
    });
    check(status, &answer);
});

impl Fixture {
    fn new() -> Fixture {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let off = runtime.block_on(Side::new(false));
        let on = runtime.block_on(Side::new(true));
        Fixture { runtime, off, on }
    }
}

impl Side {
    /// A router over a fresh engine; with `on`, HYOK is configured with the
    /// in-memory `aws` provider.
    async fn new(on: bool) -> Side {
        let dir = tempfile::tempdir().unwrap();
        let aws = MemoryFactory::new("aws", AWS_FIELDS);
        let oci = MemoryFactory::new("oci", OCI_FIELDS);
        aws.add_key(KEY_ID);
        oci.add_key(KEY_ID);
        let registry = ProviderRegistry::new()
            .with(Arc::new(aws))
            .with(Arc::new(oci));
        let options = EngineOptions::new(dir.path()).registry(registry.clone());
        let engine = Engine::open(options).await.unwrap();
        if on {
            let config = ProviderConfig::new("aws")
                .setting("accessKey", "AKIA")
                .secret("secretKey", SecretString::from("s"))
                .setting("masterKeyId", KEY_ID)
                .setting("region", "r");
            engine.create_provider(config).await.unwrap();
        }
        let auth = Authenticator::in_memory("admin", &SecretString::from("pw")).unwrap();
        let token = auth.issue();
        let app = router(AppState::new(engine, registry, auth));
        Side {
            app,
            token,
            _dir: dir,
        }
    }

    /// Flag bits: 1 HYOK on; 2 `update` instead of `create`; 4 no
    /// `X-Requested-By`; 8 token as a cookie; 16 no token; 32 no
    /// `Content-Type`.
    fn request(&self, flags: u8, content_type: &[u8], body: &[u8]) -> Request<Body> {
        let path = if flags & 2 == 0 { "create" } else { "update" };
        let mut request = Request::post(format!("/api/arsys/v1.0/kmsconfig/{path}"))
            .body(Body::from(body.to_vec()))
            .unwrap();
        let headers = request.headers_mut();
        if flags & 4 == 0 {
            headers.insert("x-requested-by", HeaderValue::from_static("XMLHttpRequest"));
        }
        match (flags & 8 != 0, flags & 16 != 0) {
            (_, true) => {}
            (true, false) => {
                let cookie = format!("_cacheId=1; AR-JWT={}; route=r", self.token);
                headers.insert(header::COOKIE, cookie.parse().unwrap());
            }
            (false, false) => {
                let value = format!("AR-JWT {}", self.token);
                headers.insert(header::AUTHORIZATION, value.parse().unwrap());
            }
        }
        if flags & 32 == 0 {
            if let Ok(value) = HeaderValue::from_bytes(content_type) {
                headers.insert(header::CONTENT_TYPE, value);
            }
        }
        request
    }
}

fn check(status: StatusCode, answer: &[u8]) {
    assert_ne!(
        status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        String::from_utf8_lossy(answer)
    );
    let json: serde_json::Value = serde_json::from_slice(answer).expect("every answer is JSON");
    if status.is_success() {
        assert_eq!(json["status"], "success");
        return;
    }
    assert_eq!(json["messageType"], "ERROR");
    assert!(json["messageNumber"].is_u64() && json["messageAppendedText"].is_string());
}

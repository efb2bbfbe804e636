//! Every endpoint and every error of the router, without a socket: the
//! engine runs on a temporary directory with in-memory KMS providers.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use hyok_core::testing::MemoryFactory;
use hyok_core::{Engine, EngineOptions, FieldSpec, ProviderFactory, ProviderRegistry};
use hyok_http::{AppState, Authenticator, BODY_LIMIT, router};
use secrecy::SecretString;
use serde_json::{Value, json};
use tempfile::TempDir;
use tower::ServiceExt;

const BASE: &str = "/api/arsys/v1.0";
const PASSWORD: &str = "router-test-password";
const SECRET_CANARY: &str = "CANARY-aws-secret-3f9a";
const PEM_CANARY: &str = "CANARYpemBODY";
const BOUNDARY: &str = "hyok-test-boundary";

/// The real providers' field lists, so the in-memory KMS takes exactly the
/// forms that `aws` and `oci` take.
fn aws_fields() -> &'static [FieldSpec] {
    hyok_aws::AwsFactory::new().fields()
}

fn oci_fields() -> &'static [FieldSpec] {
    hyok_oci::OciFactory::new().fields()
}

/// The router over a fresh engine, with a logged-in token.
struct Harness {
    app: Router,
    engine: Engine,
    aws: MemoryFactory,
    oci: MemoryFactory,
    token: String,
    _dir: TempDir,
}

impl Harness {
    async fn new() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let aws = MemoryFactory::new("aws", aws_fields());
        let oci = MemoryFactory::new("oci", oci_fields());
        aws.add_key("alias/hyok-1");
        aws.add_key("alias/hyok-2");
        oci.add_key("ocid1.key.oc1..one");
        let registry = ProviderRegistry::new()
            .with(Arc::new(aws.clone()))
            .with(Arc::new(oci.clone()));
        let options = EngineOptions::new(dir.path()).registry(registry.clone());
        let engine = Engine::open(options).await.unwrap();
        let auth = Authenticator::in_memory("admin", &SecretString::from(PASSWORD)).unwrap();
        let app = router(AppState::new(engine.clone(), registry, auth));

        let mut harness = Harness {
            app,
            engine,
            aws,
            oci,
            token: String::new(),
            _dir: dir,
        };
        harness.token = harness.login("admin", PASSWORD).await.1;
        harness
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, String) {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = String::from_utf8(bytes.to_vec()).unwrap();
        assert!(
            !body.contains(SECRET_CANARY) && !body.contains(PEM_CANARY),
            "{body}"
        );
        (status, body)
    }

    async fn login(&self, user: &str, password: &str) -> (StatusCode, String) {
        let form = format!("username={user}&password={password}");
        self.send(login_request(URLENCODED, &form)).await
    }

    fn get(&self, path: &str) -> Request<Body> {
        Request::get(format!("{BASE}{path}"))
            .header(header::AUTHORIZATION, format!("AR-JWT {}", self.token))
            .body(Body::empty())
            .unwrap()
    }

    fn post(&self, path: &str, body: Body) -> Request<Body> {
        Request::post(format!("{BASE}{path}"))
            .header(header::AUTHORIZATION, format!("AR-JWT {}", self.token))
            .header("X-Requested-By", "XMLHttpRequest")
            .body(body)
            .unwrap()
    }

    fn form(&self, path: &str, parts: &[FormPart]) -> Request<Body> {
        let mut request = self.post(path, Body::from(multipart(parts)));
        let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
        request
            .headers_mut()
            .insert(header::CONTENT_TYPE, content_type.parse().unwrap());
        request
    }

    async fn json(&self, request: Request<Body>) -> (StatusCode, Value) {
        let (status, body) = self.send(request).await;
        (
            status,
            serde_json::from_str(&body).unwrap_or_else(|_| panic!("not JSON: {body}")),
        )
    }

    /// Sends a request that must fail with AR message `number` and `status`.
    async fn expect_error(&self, request: Request<Body>, status: StatusCode, number: u32) -> Value {
        let (got, body) = self.json(request).await;
        assert_eq!(
            (got, body["messageNumber"].as_u64()),
            (status, Some(number.into())),
            "{body}"
        );
        assert_eq!(body["messageType"], "ERROR");
        assert!(body["messageText"].is_string() && body["messageAppendedText"].is_string());
        body
    }

    async fn check(&self) -> Value {
        let (status, body) = self.json(self.get("/dek/check")).await;
        assert_eq!(status, StatusCode::OK);
        body
    }
}

/// One part of a test form: a name, a value, and a file name for file parts.
#[derive(Clone)]
struct FormPart {
    name: &'static str,
    value: String,
    file: Option<&'static str>,
}

const URLENCODED: &str = "application/x-www-form-urlencoded";

fn login_request(content_type: &str, body: &str) -> Request<Body> {
    Request::post("/api/jwt/login")
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body.to_owned()))
        .unwrap()
}

fn text(name: &'static str, value: &str) -> FormPart {
    FormPart {
        name,
        value: value.to_owned(),
        file: None,
    }
}

fn file(name: &'static str, value: &str) -> FormPart {
    FormPart {
        name,
        value: value.to_owned(),
        file: Some("upload.txt"),
    }
}

fn multipart(parts: &[FormPart]) -> String {
    let mut body = String::new();
    for part in parts {
        body.push_str(&format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{}\"",
            part.name
        ));
        if let Some(file) = part.file {
            body.push_str(&format!(
                "; filename=\"{file}\"\r\nContent-Type: application/octet-stream"
            ));
        }
        body.push_str(&format!("\r\n\r\n{}\r\n", part.value));
    }
    body.push_str(&format!("--{BOUNDARY}--\r\n"));
    body
}

fn aws_form(master_key_id: &str) -> Vec<FormPart> {
    vec![
        text("provider", "aws"),
        text("accessKey", "AKIAEXAMPLE"),
        text("secretKey", SECRET_CANARY),
        text("masterKeyId", master_key_id),
        text("region", "eu-west-1"),
    ]
}

fn oci_form() -> Vec<FormPart> {
    let pem = format!("-----BEGIN PRIVATE KEY-----\n{PEM_CANARY}AAA\n-----END PRIVATE KEY-----\n");
    vec![
        text("provider", "oci"),
        text("tenantId", "ocid1.tenancy.oc1..t"),
        text("userId", "ocid1.user.oc1..u"),
        text(
            "fingerprint",
            "20:3b:97:13:55:1c:1a:2b:3c:4d:5e:6f:70:81:92:a3",
        ),
        text("cryptoEndpoint", "https://crypto.example"),
        text("mgmtEndpoint", "https://management.example"),
        text("masterKeyId", "ocid1.key.oc1..one"),
        FormPart {
            name: "privateKey",
            value: pem,
            file: Some("key.pem"),
        },
    ]
}

fn without(parts: &[FormPart], name: &str) -> Vec<FormPart> {
    parts
        .iter()
        .filter(|part| part.name != name)
        .cloned()
        .collect()
}

fn replaced(parts: &[FormPart], part: FormPart) -> Vec<FormPart> {
    let mut parts = without(parts, part.name);
    parts.push(part);
    parts
}

#[tokio::test]
async fn fresh_install_reports_hyok_off() {
    let h = Harness::new().await;
    let body = h.check().await;
    assert_eq!(body["hyokenabled"], false);
    assert_eq!(body["isHYOKEnabled"], false);
    assert_eq!(body["hyokprovider"], "No-Provider-Configured");
    assert_eq!(body["HYOKProvider"], "No-Provider-Configured");
    assert_eq!(body["keysAvailable"], true);

    let (status, body) = h.json(h.get("/kmsconfig/get")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"provider": "No-Provider-Configured", "hyokenabled": false})
    );
}

#[tokio::test]
async fn aws_lifecycle_keeps_records_readable() {
    let h = Harness::new().await;
    let before = h.engine.encrypt(b"row 1", b"t.c.1").unwrap();

    let (status, body) = h
        .json(h.form("/kmsconfig/create", &aws_form("alias/hyok-1")))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"status": "success", "message": "KMS Configuration created Successfully"})
    );
    let check = h.check().await;
    assert_eq!(
        (check["hyokenabled"].clone(), check["hyokprovider"].clone()),
        (json!(true), json!("aws"))
    );
    assert_eq!(
        (
            check["isHYOKEnabled"].clone(),
            check["HYOKProvider"].clone()
        ),
        (json!(true), json!("aws"))
    );
    let after_create = h.engine.encrypt(b"row 2", b"t.c.2").unwrap();

    let (status, body) = h.json(h.post("/dek/rotate", Body::empty())).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::OK,
            json!({"message": "Kek rotated successfully"})
        )
    );
    assert_eq!(h.check().await["primaryVersion"], 2);

    let (status, body) = h
        .json(h.form("/kmsconfig/update", &aws_form("alias/hyok-2")))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"status": "success", "message": "KMS Configuration updated Successfully"})
    );

    assert_eq!(h.engine.decrypt(&before, b"t.c.1").unwrap(), b"row 1");
    assert_eq!(h.engine.decrypt(&after_create, b"t.c.2").unwrap(), b"row 2");
}

#[tokio::test]
async fn get_shows_settings_and_hides_secrets() {
    let h = Harness::new().await;
    h.json(h.form("/kmsconfig/create", &aws_form("alias/hyok-1")))
        .await;

    for path in ["/kmsconfig/get", "/kmsconfig"] {
        let (status, body) = h.json(h.get(path)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["provider"], "aws");
        assert_eq!(body["masterKeyId"], "alias/hyok-1");
        assert_eq!(body["region"], "eu-west-1");
        assert_eq!(body["secretKey"], "[REDACTED]");
    }
}

#[tokio::test]
async fn oci_create_takes_the_key_as_a_file_part() {
    let h = Harness::new().await;
    let (status, _) = h.json(h.form("/kmsconfig/create", &oci_form())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h.check().await["hyokprovider"], "oci");
    let (_, body) = h.json(h.get("/kmsconfig/get")).await;
    assert_eq!(body["privateKey"], "[REDACTED]");
    assert_eq!(body["tenantId"], "ocid1.tenancy.oc1..t");
}

#[tokio::test]
async fn region_may_be_a_file_part() {
    let h = Harness::new().await;
    let form = replaced(&aws_form("alias/hyok-1"), file("region", "eu-west-1\n"));
    let (status, _) = h.json(h.form("/kmsconfig/create", &form)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        h.json(h.get("/kmsconfig/get")).await.1["region"],
        "eu-west-1"
    );
}

#[tokio::test]
async fn lifecycle_order_errors() {
    let h = Harness::new().await;
    let body = h
        .expect_error(
            h.form("/kmsconfig/update", &aws_form("alias/hyok-1")),
            StatusCode::CONFLICT,
            9036,
        )
        .await;
    assert_eq!(body["messageText"], "Cannot update KMS configuration");
    assert_eq!(
        body["messageAppendedText"],
        "HYOK is not configured, create KMS configuration first"
    );

    let body = h
        .expect_error(
            h.post("/dek/rotate", Body::empty()),
            StatusCode::CONFLICT,
            9039,
        )
        .await;
    assert_eq!(body["messageText"], "HYOK is not enabled");
    assert_eq!(body["messageAppendedText"], "HYOK is not Enabled");

    h.json(h.form("/kmsconfig/create", &aws_form("alias/hyok-1")))
        .await;
    let body = h
        .expect_error(
            h.form("/kmsconfig/create", &oci_form()),
            StatusCode::CONFLICT,
            9035,
        )
        .await;
    assert_eq!(body["messageText"], "Cannot create KMS configuration");
    assert_eq!(
        body["messageAppendedText"],
        "HYOK is already enabled and provider is configured"
    );
}

#[tokio::test]
async fn invalid_master_key_id_changes_nothing() {
    let h = Harness::new().await;
    let body = h
        .expect_error(
            h.form("/kmsconfig/create", &aws_form("alias/nope")),
            StatusCode::BAD_REQUEST,
            9640,
        )
        .await;
    assert!(
        body["messageText"]
            .as_str()
            .unwrap()
            .contains("key id is not valid")
    );
    assert_eq!(h.check().await["hyokenabled"], false);
}

#[tokio::test]
async fn kms_failures_have_their_own_numbers() {
    let h = Harness::new().await;
    h.aws.set_disabled("alias/hyok-1", true);
    let create = || h.form("/kmsconfig/create", &aws_form("alias/hyok-1"));
    h.expect_error(create(), StatusCode::BAD_REQUEST, 9641)
        .await;
    h.aws.set_disabled("alias/hyok-1", false);

    h.aws.set_down(true);
    let body = h
        .expect_error(create(), StatusCode::BAD_GATEWAY, 9645)
        .await;
    let appended = body["messageAppendedText"].as_str().unwrap();
    assert!(appended.contains("can reach the KMS"), "{appended}");
    assert_eq!(h.check().await["hyokenabled"], false);
    h.aws.set_down(false);

    h.json(create()).await;
    h.aws.set_down(true);
    h.expect_error(
        h.post("/dek/rotate", Body::empty()),
        StatusCode::BAD_GATEWAY,
        9645,
    )
    .await;
    let check = h.check().await;
    assert_eq!(
        (check["hyokenabled"].clone(), check["hyokprovider"].clone()),
        (json!(true), json!("aws"))
    );
}

#[tokio::test]
async fn form_errors() {
    let h = Harness::new().await;
    let aws = aws_form("alias/hyok-1");
    let cases: Vec<(Vec<FormPart>, u32)> = vec![
        (without(&aws, "masterKeyId"), 9620),
        (without(&aws, "provider"), 9620),
        ([aws.clone(), vec![text("colour", "blue")]].concat(), 9621),
        (replaced(&aws, text("region", "")), 9622),
        (replaced(&aws, text("provider", "")), 9622),
        (
            [aws.clone(), vec![text("region", "us-east-1")]].concat(),
            9623,
        ),
        ([aws.clone(), vec![text("provider", "aws")]].concat(), 9623),
        (replaced(&aws, file("masterKeyId", "alias/hyok-1")), 9624),
        (replaced(&aws, text("provider", "gcp")), 9625),
        (replaced(&oci_form(), file("privateKey", "not a pem")), 9626),
        (
            replaced(
                &oci_form(),
                text("privateKey", "-----BEGIN PRIVATE KEY-----\n!!\n"),
            ),
            9626,
        ),
    ];
    for (form, number) in cases {
        h.expect_error(
            h.form("/kmsconfig/create", &form),
            StatusCode::BAD_REQUEST,
            number,
        )
        .await;
    }
    assert_eq!(h.check().await["hyokenabled"], false);
    assert_eq!(
        h.aws.calls() + h.oci.calls(),
        0,
        "bad forms never reach the KMS"
    );
}

#[tokio::test]
async fn body_errors() {
    let h = Harness::new().await;
    let json_body = h.post("/kmsconfig/create", Body::from(r#"{"provider":"aws"}"#));
    h.expect_error(json_body, StatusCode::UNSUPPORTED_MEDIA_TYPE, 9604)
        .await;

    let mut garbage = h.post("/kmsconfig/create", Body::from("no boundary here"));
    let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
    garbage
        .headers_mut()
        .insert(header::CONTENT_TYPE, content_type.parse().unwrap());
    h.expect_error(garbage, StatusCode::BAD_REQUEST, 9606).await;

    let big = replaced(
        &aws_form("alias/hyok-1"),
        text("region", &"x".repeat(BODY_LIMIT)),
    );
    h.expect_error(
        h.form("/kmsconfig/create", &big),
        StatusCode::PAYLOAD_TOO_LARGE,
        9605,
    )
    .await;

    let mut declared = h.form("/kmsconfig/create", &big);
    let length = multipart(&big).len().to_string();
    declared
        .headers_mut()
        .insert(header::CONTENT_LENGTH, length.parse().unwrap());
    h.expect_error(declared, StatusCode::PAYLOAD_TOO_LARGE, 9605)
        .await;
}

#[tokio::test]
async fn authentication_errors() {
    let h = Harness::new().await;
    let (status, _) = h.login("admin", "wrong").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = h.login("root", PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let bare = Request::get(format!("{BASE}/dek/check"))
        .body(Body::empty())
        .unwrap();
    h.expect_error(bare, StatusCode::UNAUTHORIZED, 9601).await;
    let forged = Request::get(format!("{BASE}/dek/check"))
        .header(
            header::AUTHORIZATION,
            "AR-JWT eyJhbGciOiJIUzI1NiJ9.e30.AAAA",
        )
        .body(Body::empty())
        .unwrap();
    h.expect_error(forged, StatusCode::UNAUTHORIZED, 9601).await;
    let unauthenticated_create = Request::post(format!("{BASE}/kmsconfig/create"))
        .header("X-Requested-By", "XMLHttpRequest")
        .body(Body::from(multipart(&aws_form("alias/hyok-1"))))
        .unwrap();
    h.expect_error(unauthenticated_create, StatusCode::UNAUTHORIZED, 9601)
        .await;
}

#[tokio::test]
async fn login_errors() {
    let h = Harness::new().await;
    let json_login = login_request("application/json", r#"{"username":"admin"}"#);
    h.expect_error(json_login, StatusCode::UNSUPPORTED_MEDIA_TYPE, 9604)
        .await;
    let missing = login_request(URLENCODED, "username=admin");
    h.expect_error(missing, StatusCode::BAD_REQUEST, 9606).await;
    let big = login_request(URLENCODED, &"a".repeat(BODY_LIMIT + 1));
    h.expect_error(big, StatusCode::PAYLOAD_TOO_LARGE, 9605)
        .await;
    let wrong = login_request(URLENCODED, "username=admin&password=nope");
    h.expect_error(wrong, StatusCode::UNAUTHORIZED, 9602).await;
}

#[tokio::test]
async fn token_as_cookie_among_others() {
    let h = Harness::new().await;
    let cookie = format!(
        "_cacheId=123; route=abc.def; AR-JWT={}; onbmc_pool=p1",
        h.token
    );
    let request = Request::get(format!("{BASE}/dek/check"))
        .header(header::COOKIE, cookie)
        .header("X-Requested-By", "XMLHttpRequest")
        .body(Body::empty())
        .unwrap();
    let (status, _) = h.send(request).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn login_returns_text_and_logout_revokes() {
    let h = Harness::new().await;
    let request = login_request(URLENCODED, &format!("username=admin&password={PASSWORD}"));
    let response = h.app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");

    let logout = Request::post("/api/jwt/logout")
        .header(header::AUTHORIZATION, format!("AR-JWT {}", h.token))
        .body(Body::empty())
        .unwrap();
    h.expect_error(logout, StatusCode::FORBIDDEN, 9603).await;

    let logout = Request::post("/api/jwt/logout")
        .header(header::AUTHORIZATION, format!("AR-JWT {}", h.token))
        .header("X-Requested-By", "XMLHttpRequest")
        .body(Body::empty())
        .unwrap();
    assert_eq!(h.send(logout).await.0, StatusCode::NO_CONTENT);
    h.expect_error(h.get("/dek/check"), StatusCode::UNAUTHORIZED, 9601)
        .await;
}

#[tokio::test]
async fn state_changes_need_x_requested_by() {
    let h = Harness::new().await;
    for path in ["/kmsconfig/create", "/kmsconfig/update", "/dek/rotate"] {
        let mut request = h.form(path, &aws_form("alias/hyok-1"));
        request.headers_mut().remove("X-Requested-By");
        h.expect_error(request, StatusCode::FORBIDDEN, 9603).await;
    }
    assert_eq!(h.check().await["hyokenabled"], false);
}

#[tokio::test]
async fn routing_errors() {
    let h = Harness::new().await;
    h.expect_error(h.get("/no/such/thing"), StatusCode::NOT_FOUND, 9607)
        .await;
    let request = Request::get("/").body(Body::empty()).unwrap();
    h.expect_error(request, StatusCode::NOT_FOUND, 9607).await;
    h.expect_error(h.get("/dek/rotate"), StatusCode::METHOD_NOT_ALLOWED, 9608)
        .await;
}

#[tokio::test]
async fn check_reports_provider_health_when_the_kms_is_down() {
    let h = Harness::new().await;
    h.json(h.form("/kmsconfig/create", &aws_form("alias/hyok-1")))
        .await;
    h.aws.set_down(true);
    let _ = h.engine.refresh().await;

    let check = h.check().await;
    assert_eq!(
        (check["hyokenabled"].clone(), check["hyokprovider"].clone()),
        (json!(true), json!("aws"))
    );
    assert!(check["keysAvailable"].is_boolean());
}

#[tokio::test]
async fn a_refusing_configured_key_is_not_blamed_on_the_new_one() {
    let h = Harness::new().await;
    h.json(h.form("/kmsconfig/create", &aws_form("alias/hyok-1")))
        .await;
    h.aws.set_disabled("alias/hyok-1", true);

    let update = h.form("/kmsconfig/update", &aws_form("alias/hyok-2"));
    let body = h
        .expect_error(update, StatusCode::SERVICE_UNAVAILABLE, 9648)
        .await;
    let appended = body["messageAppendedText"].as_str().unwrap();
    assert!(appended.contains("configured master key"), "{appended}");
    h.expect_error(
        h.post("/dek/rotate", Body::empty()),
        StatusCode::SERVICE_UNAVAILABLE,
        9648,
    )
    .await;
    assert_eq!(h.check().await["lastErrorKind"], "key_disabled");
}

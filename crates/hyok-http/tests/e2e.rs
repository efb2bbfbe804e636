//! End to end: the `hyok` binary on a loopback port, driven with curl,
//! against moto (AWS KMS) and the in-repo OCI test server. Records made
//! with `hyok encrypt` before each step must decrypt after it, across
//! restarts; the server's log must hold no secret.

mod support;

use hyok_aws::testing::{MotoServer, TEST_REGION};
use hyok_oci::testing::{TestServer, test_key};
use serde_json::json;
use support::{Reply, Server, assert_no_secret, curl};

const AWS_SECRET_1: &str = "CANARY-aws-secret-one-7d1c";
const AWS_SECRET_2: &str = "CANARY-aws-secret-two-52e8";

/// Records made so far: (record, aad, plaintext).
#[derive(Default)]
struct Records(Vec<(String, String, String)>);

impl Records {
    /// Makes a record for `step` and checks that every earlier one still
    /// decrypts.
    fn step(&mut self, server: &Server, step: &str) {
        for (record, aad, plaintext) in &self.0 {
            assert_eq!(
                server.decrypt(record, aad).as_deref(),
                Ok(plaintext.as_str()),
                "{step}"
            );
        }
        let (aad, plaintext) = (
            format!("table/col/{}", self.0.len()),
            format!("value at {step}"),
        );
        let record = server.encrypt(&plaintext, &aad);
        assert_eq!(
            server.decrypt(&record, &aad).as_deref(),
            Ok(plaintext.as_str())
        );
        assert!(server.decrypt(&record, "another/place").is_err());
        self.0.push((record, aad, plaintext));
    }
}

/// A request as the AR documentation writes it: the token as a cookie
/// among others, and `X-Requested-By`.
fn call(server: &Server, token: &str, method: &str, path: &str, form: &[String]) -> Reply {
    let url = format!("{}/api/arsys/v1.0{path}", server.url());
    let cookie = format!("Cookie: _cacheId=4711; route=r.1; AR-JWT={token}; onbmc_pool=p");
    let mut args = vec![
        "-X",
        method,
        url.as_str(),
        "-H",
        "X-Requested-By: XMLHttpRequest",
    ];
    args.extend(["-H", cookie.as_str()]);
    for field in form {
        args.extend(["-F", field.as_str()]);
    }
    curl(&args)
}

fn check(server: &Server, token: &str) -> serde_json::Value {
    let reply = call(server, token, "GET", "/dek/check", &[]);
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()
}

fn assert_on(server: &Server, token: &str, provider: &str) {
    let body = check(server, token);
    assert_eq!(
        (
            &body["hyokenabled"],
            &body["hyokprovider"],
            &body["isHYOKEnabled"],
            &body["HYOKProvider"]
        ),
        (
            &json!(true),
            &json!(provider),
            &json!(true),
            &json!(provider)
        ),
        "{body}"
    );
}

fn aws_form(access_key: &str, secret: &str, master_key_id: &str) -> Vec<String> {
    vec![
        "provider=aws".to_owned(),
        format!("accessKey={access_key}"),
        format!("secretKey={secret}"),
        format!("masterKeyId={master_key_id}"),
        format!("region={TEST_REGION}"),
    ]
}

fn oci_form(oci: &TestServer, master_key_id: &str, key_file: &str) -> Vec<String> {
    vec![
        "provider=oci".to_owned(),
        format!("tenantId={}", test_key::TENANCY_OCID),
        format!("userId={}", test_key::USER_OCID),
        format!("fingerprint={}", test_key::FINGERPRINT),
        format!("cryptoEndpoint={}", oci.crypto_endpoint()),
        format!("mgmtEndpoint={}", oci.management_endpoint()),
        format!("masterKeyId={master_key_id}"),
        format!("privateKey=@{key_file}"),
    ]
}

/// The line between the PEM armour of the test key: secret, must not leak.
fn pem_canary() -> &'static str {
    test_key::PRIVATE_KEY_PEM.lines().nth(3).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_lifecycle_against_moto() {
    let moto = MotoServer::start().await;
    let key_1 = moto.create_key(Some("alias/hyok-e2e-1")).await;
    let key_2 = moto.create_key(Some("alias/hyok-e2e-2")).await;
    let dir = tempfile::tempdir().unwrap();
    let env = [("AWS_ENDPOINT_URL_KMS", moto.endpoint())];
    let mut server = Server::start(&dir.path().join("data"), &env);
    let token = server.login();
    let mut records = Records::default();
    records.step(&server, "fresh install");

    let body = check(&server, &token);
    assert_eq!(
        (&body["hyokenabled"], &body["hyokprovider"]),
        (&json!(false), &json!("No-Provider-Configured"))
    );
    let form_1 = aws_form("AKIAHYOKE2E000000001", AWS_SECRET_1, "alias/hyok-e2e-1");
    call(&server, &token, "POST", "/kmsconfig/update", &form_1).assert_error(409, 9036);
    call(&server, &token, "POST", "/dek/rotate", &[]).assert_error(409, 9039);
    let bad_key = aws_form("AKIAHYOKE2E000000001", AWS_SECRET_1, "alias/no-such-key");
    let body = call(&server, &token, "POST", "/kmsconfig/create", &bad_key).assert_error(400, 9640);
    assert!(
        body["messageText"]
            .as_str()
            .unwrap()
            .contains("key id is not valid")
    );
    records.step(&server, "refused create");

    let created = call(&server, &token, "POST", "/kmsconfig/create", &form_1);
    assert_eq!(
        (created.status, created.json()),
        (
            200,
            json!({"status": "success", "message": "KMS Configuration created Successfully"})
        )
    );
    assert_on(&server, &token, "aws");
    records.step(&server, "create");

    let config = call(&server, &token, "GET", "/kmsconfig/get", &[]);
    assert_eq!(config.status, 200);
    assert_eq!(config.json()["masterKeyId"], "alias/hyok-e2e-1");
    assert_eq!(config.json()["secretKey"], "[REDACTED]");
    assert!(!config.body.contains(AWS_SECRET_1));

    let rotated = call(&server, &token, "POST", "/dek/rotate", &[]);
    assert_eq!(
        (rotated.status, rotated.json()),
        (200, json!({"message": "Kek rotated successfully"}))
    );
    records.step(&server, "rotate");

    let form_2 = aws_form("AKIAHYOKE2E000000002", AWS_SECRET_2, &key_2.arn);
    let updated = call(&server, &token, "POST", "/kmsconfig/update", &form_2);
    assert_eq!(
        (updated.status, updated.json()),
        (
            200,
            json!({"status": "success", "message": "KMS Configuration updated Successfully"})
        )
    );
    assert_eq!(
        call(&server, &token, "GET", "/kmsconfig", &[]).json()["masterKeyId"],
        key_2.arn
    );
    records.step(&server, "update");

    call(&server, &token, "POST", "/kmsconfig/create", &form_1).assert_error(409, 9035);

    server.restart();
    let token = server.login();
    assert_on(&server, &token, "aws");
    records.step(&server, "restart");
    assert_eq!(key_1.alias.as_deref(), Some("alias/hyok-e2e-1"));

    // The KMS goes away: the server still starts and answers, HYOK closed.
    drop(moto);
    server.restart();
    let token = server.login();
    let body = check(&server, &token);
    assert_eq!(
        (&body["hyokenabled"], &body["keysAvailable"]),
        (&json!(true), &json!(false))
    );
    assert!(body["lastErrorKind"].is_string(), "{body}");
    let (record, aad, _) = &records.0[0];
    let refused = server.decrypt(record, aad).unwrap_err();
    assert!(refused.contains("not available"), "{refused}");
    call(&server, &token, "POST", "/dek/rotate", &[]).assert_error(502, 9645);

    server.stop();
    assert_no_secret(
        &server.log(),
        &[AWS_SECRET_1, AWS_SECRET_2, support::ADMIN_PASSWORD],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn oci_lifecycle_against_the_test_server() {
    let oci = TestServer::start();
    let key_1 = oci.create_key();
    let key_2 = oci.create_key();
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("oci_api_key.pem");
    std::fs::write(&key_file, test_key::PRIVATE_KEY_PEM).unwrap();
    let key_file = key_file.to_str().unwrap();
    let mut server = Server::start(&dir.path().join("data"), &[]);
    let token = server.login();
    let mut records = Records::default();
    records.step(&server, "fresh install");

    call(
        &server,
        &token,
        "POST",
        "/kmsconfig/update",
        &oci_form(&oci, &key_1, key_file),
    )
    .assert_error(409, 9036);
    call(&server, &token, "POST", "/dek/rotate", &[]).assert_error(409, 9039);
    let bad = oci_form(&oci, "ocid1.key.oc1.test.hyok.999999", key_file);
    call(&server, &token, "POST", "/kmsconfig/create", &bad).assert_error(400, 9640);
    let not_pem = dir.path().join("not.pem");
    std::fs::write(&not_pem, "this is not a key").unwrap();
    let garbled = oci_form(&oci, &key_1, not_pem.to_str().unwrap());
    call(&server, &token, "POST", "/kmsconfig/create", &garbled).assert_error(400, 9626);

    let created = call(
        &server,
        &token,
        "POST",
        "/kmsconfig/create",
        &oci_form(&oci, &key_1, key_file),
    );
    assert_eq!(created.status, 200, "{}", created.body);
    assert_on(&server, &token, "oci");
    records.step(&server, "create");

    let config = call(&server, &token, "GET", "/kmsconfig/get", &[]);
    assert_eq!(config.json()["privateKey"], "[REDACTED]");
    assert_eq!(config.json()["masterKeyId"], key_1.as_str());
    assert!(!config.body.contains(pem_canary()));

    assert_eq!(
        call(&server, &token, "POST", "/dek/rotate", &[]).status,
        200
    );
    records.step(&server, "rotate");

    let updated = call(
        &server,
        &token,
        "POST",
        "/kmsconfig/update",
        &oci_form(&oci, &key_2, key_file),
    );
    assert_eq!(updated.status, 200, "{}", updated.body);
    records.step(&server, "update");

    call(
        &server,
        &token,
        "POST",
        "/kmsconfig/create",
        &oci_form(&oci, &key_1, key_file),
    )
    .assert_error(409, 9035);

    server.restart();
    let token = server.login();
    assert_on(&server, &token, "oci");
    assert_eq!(
        call(&server, &token, "GET", "/kmsconfig", &[]).json()["masterKeyId"],
        key_2.as_str()
    );
    records.step(&server, "restart");

    server.stop();
    assert_no_secret(&server.log(), &[pem_canary(), support::ADMIN_PASSWORD]);
}

#[test]
fn serves_tls_from_a_certificate_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ])
        .args([
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl is installed");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let tls = ["--tls-cert", cert, "--tls-key", key];
    let mut server = Server::start_with(&dir.path().join("data"), &[], &tls);

    let url = format!("https://localhost:{}/api/jwt/login", server.port);
    let form = format!("username=admin&password={}", support::ADMIN_PASSWORD);
    let reply = curl(&["--cacert", cert, "-X", "POST", &url, "-d", &form]);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(server.log().contains("listening on https://"));
    server.stop();
}

//! The OCI test server is as strict as OCI: unsigned, stale, tampered or
//! unknown-key requests are refused with OCI's error shape.

use std::time::{Duration, SystemTime};

use hyok_oci::signer::{RequestSigner, SigningKey};
use hyok_oci::testing::{TestServer, test_key};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use secrecy::SecretString;
use serde_json::Value;

fn signer(key_id: &str) -> RequestSigner {
    let pem = SecretString::from(test_key::PRIVATE_KEY_PEM);
    RequestSigner::new(key_id, SigningKey::from_pem(&pem, None).unwrap())
}

/// Signs `body` but sends `sent`, with the given request headers.
async fn send(
    signer: &RequestSigner,
    method: Method,
    url: &str,
    headers: HeaderMap,
    body: &[u8],
    sent: &[u8],
) -> (StatusCode, Value) {
    let url = Url::parse(url).unwrap();
    let signed = signer.sign(&method, &url, &headers, body).unwrap();
    let request = reqwest::Client::new()
        .request(method, url)
        .headers(signed.into_headers());
    let response = request.body(sent.to_vec()).send().await.unwrap();
    let status = response.status();
    (status, json(response).await)
}

async fn json(response: reqwest::Response) -> Value {
    let bytes = response.bytes().await.unwrap();
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

fn key_url(server: &TestServer, key: &str) -> String {
    format!("{}/20180608/keys/{key}", server.management_endpoint())
}

#[tokio::test]
async fn a_well_signed_request_passes_with_a_raw_query() {
    let server = TestServer::start();
    let key = server.create_key();
    let url = format!("{}?note=a%20b%3Ac", key_url(&server, &key));
    let (status, body) = send(
        &signer(test_key::KEY_ID),
        Method::GET,
        &url,
        HeaderMap::new(),
        b"",
        b"",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["lifecycleState"], "ENABLED");
    assert_eq!(body["keyShape"]["algorithm"], "AES");
}

#[tokio::test]
async fn an_unsigned_request_is_401() {
    let server = TestServer::start();
    let url = key_url(&server, &server.create_key());
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body = json(response).await;
    assert_eq!(body["code"], "NotAuthenticated");
    assert!(body["message"].is_string());
}

#[tokio::test]
async fn an_unknown_key_id_is_401() {
    let server = TestServer::start();
    let url = key_url(&server, &server.create_key());
    let stranger = signer("ocid1.tenancy.oc1..x/ocid1.user.oc1..y/00:11");
    let (status, body) = send(&stranger, Method::GET, &url, HeaderMap::new(), b"", b"").await;
    assert_eq!(
        (status, &body["code"]),
        (StatusCode::UNAUTHORIZED, &Value::from("NotAuthenticated"))
    );
}

#[tokio::test]
async fn a_stale_date_is_401() {
    let server = TestServer::start();
    let url = key_url(&server, &server.create_key());
    let stale = SystemTime::now() - Duration::from_secs(600);
    let mut headers = HeaderMap::new();
    let date = HeaderValue::from_str(&httpdate::fmt_http_date(stale)).unwrap();
    headers.insert("date", date);
    let (status, body) = send(
        &signer(test_key::KEY_ID),
        Method::GET,
        &url,
        headers,
        b"",
        b"",
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["message"].as_str().unwrap().contains("clock skew"),
        "{body}"
    );
}

#[tokio::test]
async fn a_body_changed_after_signing_is_401() {
    let server = TestServer::start();
    let key = server.create_key();
    let url = format!("{}/20180608/encrypt", server.crypto_endpoint());
    let signed = format!(r#"{{"keyId":"{key}","plaintext":"AAAA"}}"#);
    let sent = format!(r#"{{"keyId":"{key}","plaintext":"BBBB"}}"#);
    let signer = signer(test_key::KEY_ID);
    let headers = HeaderMap::new();
    let (status, _) = send(
        &signer,
        Method::POST,
        &url,
        headers.clone(),
        signed.as_bytes(),
        sent.as_bytes(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, body) = send(
        &signer,
        Method::POST,
        &url,
        headers,
        sent.as_bytes(),
        sent.as_bytes(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["ciphertext"].is_string());
}

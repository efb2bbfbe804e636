//! The request signer against the published OCI signing vectors: signing
//! strings and signatures byte for byte, `Authorization` parameters compared
//! parsed (the official SDKs order them differently).

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hyok_oci::signer::{RequestSigner, SigningKey, parse_authorization};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, Url};
use secrecy::SecretString;
use serde_json::Value;

const PASSPHRASE: &str = "hyok-test-passphrase";

#[test]
fn every_vector_matches() {
    let vectors = load_vectors();
    let list = vectors["vectors"].as_array().unwrap();
    assert_eq!(list.len(), 10, "vectors.json changed size");
    for vector in list {
        let key = key_file(vector["key"].as_str().unwrap(), None);
        check(vector, key);
    }
}

#[test]
fn every_form_of_the_test_key_signs_alike() {
    let vectors = load_vectors();
    let kms = vectors["vectors"].as_array().unwrap().iter();
    for vector in kms.filter(|v| v["key"] == "test_key_2048_pkcs8.pem") {
        check(vector, key_file("test_key_2048_pkcs1.pem", None));
        check(
            vector,
            key_file("test_key_2048_pkcs8_encrypted.pem", Some(PASSPHRASE)),
        );
    }
}

#[test]
fn fingerprint_is_the_md5_of_the_public_key() {
    let key = key_file("test_key_2048_pkcs8.pem", None);
    assert_eq!(
        key.fingerprint(),
        "98:fb:c2:72:f6:c3:75:56:71:c9:44:04:ca:7f:70:4c"
    );
    assert_eq!(
        key.public_key_pem(),
        fs::read_to_string(data("test_key_2048_public.pem")).unwrap()
    );
    assert_eq!(key.bits(), 2048);

    let doc = key_file("doc_sample_key_1024.pem", None);
    assert_eq!(
        doc.fingerprint(),
        "73:61:a2:21:67:e0:df:be:7e:4b:93:1e:15:98:a5:b7"
    );
}

fn check(vector: &Value, key: SigningKey) {
    let id = vector["id"].as_str().unwrap();
    let expected = &vector["expected"];
    let signer = RequestSigner::new(vector["keyId"].as_str().unwrap(), key);

    let method = Method::from_bytes(vector["method"].as_str().unwrap().as_bytes()).unwrap();
    let url = Url::parse(vector["url"].as_str().unwrap()).unwrap();
    let body = match vector["body_b64"].as_str() {
        Some(b64) => BASE64.decode(b64).unwrap(),
        None => Vec::new(),
    };
    let mut headers = HeaderMap::new();
    for (name, value) in vector["request_headers_in"].as_object().unwrap() {
        let value = HeaderValue::from_str(value.as_str().unwrap()).unwrap();
        headers.insert(
            reqwest::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value,
        );
    }

    let signed = signer.sign(&method, &url, &headers, &body).unwrap();

    assert_eq!(
        signed.signing_string(),
        expected["signing_string"],
        "{id}: signing string"
    );
    assert_eq!(signed.signature(), expected["signature"], "{id}: signature");
    let authorization = signed.headers()["authorization"].to_str().unwrap();
    let params = parse_authorization(authorization).unwrap();
    assert_eq!(
        params,
        string_map(&expected["authorization_params"]),
        "{id}: Authorization"
    );
    if let Some(go) = expected["authorization_go_sdk"].as_str() {
        assert_eq!(
            params,
            parse_authorization(go).unwrap(),
            "{id}: Go SDK Authorization"
        );
    }
    for name in ["content-length", "x-content-sha256"] {
        if let Some(want) = expected[name].as_str() {
            assert_eq!(signed.headers()[name], want, "{id}: {name}");
        }
    }
    assert_eq!(
        signed.headers()["host"],
        vector["host"].as_str().unwrap(),
        "{id}: host"
    );
}

fn load_vectors() -> Value {
    serde_json::from_str(&fs::read_to_string(data("vectors.json")).unwrap()).unwrap()
}

fn key_file(name: &str, passphrase: Option<&str>) -> SigningKey {
    let pem = SecretString::from(fs::read_to_string(data(name)).unwrap());
    let passphrase = passphrase.map(SecretString::from);
    SigningKey::from_pem(&pem, passphrase.as_ref()).unwrap()
}

fn string_map(value: &Value) -> BTreeMap<String, String> {
    let object = value.as_object().unwrap();
    object
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/oci-signing")
        .join(name)
}

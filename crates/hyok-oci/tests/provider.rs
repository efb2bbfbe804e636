//! The OCI provider against the in-repo OCI test server: the core's
//! conformance suite, error classes, retries and key formats.

use std::sync::Arc;
use std::time::Duration;

use hyok_core::testing::{conformance, context_of};
use hyok_core::{Dek, Provider, ProviderConfig, ProviderErrorKind, ProviderFactory, WrappedDek};
use hyok_oci::testing::{Fault, KeyState, TestServer, test_key};
use hyok_oci::{Limits, OciFactory};
use secrecy::SecretString;

fn build(config: &ProviderConfig) -> Arc<dyn Provider> {
    OciFactory::new()
        .build(config)
        .expect("a valid configuration")
}

fn quick_limits() -> Limits {
    let mut limits = Limits::default();
    limits.base_delay = Duration::from_millis(5);
    limits.max_delay = Duration::from_millis(20);
    limits
}

#[tokio::test]
async fn passes_the_conformance_suite() {
    let server = TestServer::start();
    let key = server.create_key();
    conformance(build(&server.provider_config(&key)).as_ref()).await;
}

#[tokio::test]
async fn pkcs1_and_encrypted_keys_work_too() {
    let server = TestServer::start();
    let key = server.create_key();
    let pkcs1 = server.provider_config(&key).secret(
        "privateKey",
        SecretString::from(test_key::PKCS1_PRIVATE_KEY_PEM),
    );
    build(&pkcs1).validate().await.unwrap();

    let encrypted = server
        .provider_config(&key)
        .secret(
            "privateKey",
            SecretString::from(test_key::ENCRYPTED_PRIVATE_KEY_PEM),
        )
        .secret("passphrase", SecretString::from(test_key::PASSPHRASE));
    conformance(build(&encrypted).as_ref()).await;
}

#[test]
fn encrypted_key_without_passphrase_is_a_clear_error() {
    let server = TestServer::start();
    let config = server.provider_config("ocid1.key.oc1.test.hyok.x").secret(
        "privateKey",
        SecretString::from(test_key::ENCRYPTED_PRIVATE_KEY_PEM),
    );
    let err = OciFactory::new().build(&config).unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::InvalidField);
    assert_eq!(
        err.to_string(),
        "privateKey: the private key is encrypted; a passphrase is required"
    );

    let wrong = config.secret("passphrase", SecretString::from("not it"));
    let err = OciFactory::new().build(&wrong).unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::InvalidField);
    assert!(err.to_string().contains("could not be decrypted"), "{err}");
}

#[test]
fn malformed_fields_are_refused_before_any_call() {
    let server = TestServer::start();
    let good = server.provider_config("ocid1.key.oc1.test.hyok.x");
    let cases = [
        good.clone().setting(
            "fingerprint",
            "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff",
        ),
        good.clone()
            .setting("cryptoEndpoint", "http://kms.example.com"),
        good.clone()
            .secret("privateKey", SecretString::from(test_key::PUBLIC_KEY_PEM)),
        good.clone()
            .secret("privateKey", SecretString::from("not a key")),
        good.clone()
            .secret("privateKey", SecretString::from(DOC_SAMPLE_1024_BIT_KEY)),
    ];
    for config in cases {
        let err = OciFactory::new().build(&config).unwrap_err();
        assert_eq!(err.kind(), ProviderErrorKind::InvalidField, "{err}");
    }
    let missing = ProviderConfig::new("oci").setting("tenantId", test_key::TENANCY_OCID);
    let err = OciFactory::new().build(&missing).unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::MissingField);
    assert_eq!(server.calls(), 0);
}

#[tokio::test]
async fn a_wrong_api_key_is_401_invalid_credentials() {
    let server = TestServer::start();
    let key = server.create_key();
    server.register_user(test_key::KEY_ID, OTHER_PUBLIC_KEY);
    let provider = build(&server.provider_config(&key));

    let err = provider.validate().await.unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::InvalidCredentials);
    assert!(err.to_string().contains("clock skew"), "{err}");
    assert!(err.to_string().contains("NotAuthenticated"), "{err}");
    assert_eq!(server.calls(), 1, "401 is not retried");
}

#[tokio::test]
async fn an_unknown_key_ocid_is_404_invalid_key_id() {
    let server = TestServer::start();
    let provider = build(&server.provider_config("ocid1.key.oc1.test.hyok.missing"));

    let err = provider.validate().await.unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::InvalidKeyId);
    assert!(
        err.to_string().starts_with(
            "key not found or not authorised; check the key OCID, the endpoint kind and the policy"
        ),
        "{err}"
    );
    let err = provider
        .wrap(&Dek::generate(), &context_of(&[]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::InvalidKeyId);
}

#[tokio::test]
async fn swapped_endpoints_are_404() {
    let server = TestServer::start();
    let key = server.create_key();
    let swapped = server
        .provider_config(&key)
        .setting("mgmtEndpoint", server.crypto_endpoint());
    let err = build(&swapped).validate().await.unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::InvalidKeyId);
}

#[tokio::test]
async fn disabled_and_non_aes_keys_are_refused_by_validate() {
    let server = TestServer::start();
    let key = server.create_key();
    server.set_key_state(&key, KeyState::Disabled);
    let err = build(&server.provider_config(&key))
        .validate()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::KeyDisabled);
    assert_eq!(err.to_string(), "the master key is DISABLED, not ENABLED");

    let rsa = server.create_key_with_algorithm("RSA");
    let err = build(&server.provider_config(&rsa))
        .validate()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::WrongKeyUsage);
}

#[tokio::test]
async fn a_disabled_key_stops_unwrapping() {
    let server = TestServer::start();
    let key = server.create_key();
    let factory = OciFactory::with_limits(quick_limits());
    let provider = factory.build(&server.provider_config(&key)).unwrap();
    let context = context_of(&[("k", "v")]);
    let (_, wrapped) = provider.generate(&context).await.unwrap();

    server.set_key_state(&key, KeyState::Disabled);
    let err = provider.unwrap(&wrapped, &context).await.unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::KeyDisabled);
}

#[tokio::test]
async fn throttling_is_retried_with_backoff() {
    let server = TestServer::start();
    let key = server.create_key();
    let provider = build(&server.provider_config(&key));

    server.fail_next(2, Fault::TooManyRequests);
    let (dek, wrapped) = provider.generate(&context_of(&[])).await.unwrap();
    assert_eq!(server.calls(), 3, "two 429s, then success");

    server.fail_next(1, Fault::InternalServerError);
    server.fail_next(1, Fault::IncorrectState);
    let back = provider.unwrap(&wrapped, &context_of(&[])).await.unwrap();
    assert_eq!(back.expose_secret(), dek.expose_secret());
    assert_eq!(server.calls(), 6, "a 500 and a 409, then success");
}

#[tokio::test]
async fn retries_stop_at_the_bound() {
    let server = TestServer::start();
    let key = server.create_key();
    let mut limits = quick_limits();
    limits.max_attempts = 3;
    let provider = OciFactory::with_limits(limits)
        .build(&server.provider_config(&key))
        .unwrap();

    server.fail_next(10, Fault::TooManyRequests);
    let err = provider
        .wrap(&Dek::generate(), &context_of(&[]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::Throttled);
    assert_eq!(server.calls(), 3);
}

#[tokio::test]
async fn bad_requests_are_not_retried() {
    let server = TestServer::start();
    let key = server.create_key();
    let provider = build(&server.provider_config(&key));
    let garbage = WrappedDek::new(b"bm90IGEgY2lwaGVydGV4dA==".to_vec());
    let err = provider
        .unwrap(&garbage, &context_of(&[]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::UnwrapFailed);
    assert_eq!(server.calls(), 1);
}

#[tokio::test]
async fn a_stalled_call_times_out() {
    let server = TestServer::start();
    let key = server.create_key();
    let mut limits = quick_limits();
    limits.request_timeout = Duration::from_millis(300);
    let provider = OciFactory::with_limits(limits)
        .build(&server.provider_config(&key))
        .unwrap();

    server.fail_next(1, Fault::Stall(Duration::from_secs(3)));
    let err = provider.validate().await.unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::TimedOut);
}

#[tokio::test]
async fn a_data_key_of_the_wrong_length_is_refused() {
    let server = TestServer::start();
    let key = server.create_key();
    let provider = build(&server.provider_config(&key));
    server.fail_next(1, Fault::ShortDataKey);
    let err = provider.generate(&context_of(&[])).await.unwrap_err();
    assert_eq!(err.kind(), ProviderErrorKind::Unexpected);
    assert_eq!(
        err.to_string(),
        "OCI returned a data key of 16 bytes; a data key must be 32"
    );
}

#[test]
fn the_factory_lists_its_fields() {
    let factory = OciFactory::new();
    assert_eq!(factory.name(), "oci");
    let names: Vec<_> = factory
        .fields()
        .iter()
        .map(|f| (f.name, f.required, f.secret))
        .collect();
    assert_eq!(
        names,
        [
            ("tenantId", true, false),
            ("userId", true, false),
            ("fingerprint", true, false),
            ("cryptoEndpoint", true, false),
            ("mgmtEndpoint", true, false),
            ("masterKeyId", true, false),
            ("privateKey", true, true),
            ("passphrase", false, true),
        ]
    );
}

/// The 1024-bit sample key of OCI's signing documentation: too short.
const DOC_SAMPLE_1024_BIT_KEY: &str = include_str!("data/oci-signing/doc_sample_key_1024.pem");

/// Public half of another 2048-bit key (a Wycheproof test key), registered
/// in place of the real one to make the server refuse the signature.
const OTHER_PUBLIC_KEY: &str = include_str!("data/wycheproof/other_public_key.pem");

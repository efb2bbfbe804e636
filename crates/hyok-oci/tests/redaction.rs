//! Canary tests: the private key, its passphrase and data keys never show in
//! `Debug` output, error messages or logs.

use std::io;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hyok_core::testing::context_of;
use hyok_core::{ProviderErrorKind, ProviderFactory};
use hyok_oci::OciFactory;
use hyok_oci::signer::{RequestSigner, SigningKey};
use hyok_oci::testing::{TestServer, test_key};
use secrecy::SecretString;

/// A log sink the test can read back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Every base64 line of every form of the test key, and the passphrase.
fn canaries() -> Vec<String> {
    let pems = [
        test_key::PRIVATE_KEY_PEM,
        test_key::PKCS1_PRIVATE_KEY_PEM,
        test_key::ENCRYPTED_PRIVATE_KEY_PEM,
    ];
    let lines = pems
        .iter()
        .flat_map(|pem| pem.lines())
        .filter(|l| !l.starts_with("-----"));
    let mut canaries: Vec<String> = lines.map(str::to_owned).collect();
    canaries.push(test_key::PASSPHRASE.to_owned());
    canaries
}

fn assert_clean(text: &str, secrets: &[String]) {
    for secret in secrets {
        assert!(!text.contains(secret.as_str()), "a secret leaked: {secret}");
    }
}

#[tokio::test]
async fn secrets_never_reach_logs_or_debug() {
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = TestServer::start();
    let key = server.create_key();
    let config = server
        .provider_config(&key)
        .secret(
            "privateKey",
            SecretString::from(test_key::ENCRYPTED_PRIVATE_KEY_PEM),
        )
        .secret("passphrase", SecretString::from(test_key::PASSPHRASE));
    let provider = OciFactory::new().build(&config).unwrap();
    let context = context_of(&[("hyok:keyring", "canary")]);

    provider.validate().await.unwrap();
    let (dek, wrapped) = provider.generate(&context).await.unwrap();
    let again = provider.unwrap(&wrapped, &context).await.unwrap();
    let rewrapped = provider.wrap(&again, &context).await.unwrap();
    let refused = provider
        .unwrap(&rewrapped, &context_of(&[]))
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), ProviderErrorKind::UnwrapFailed);

    let mut secrets = canaries();
    secrets.push(BASE64.encode(dek.expose_secret()));
    let shown = format!("{provider:?} {config:?} {refused:?} {refused} {dek:?} {wrapped:?}");
    assert_clean(&shown, &secrets);

    let logs = captured.text();
    assert!(
        logs.contains("oci call answered"),
        "the capture saw no provider event:\n{logs}"
    );
    assert_clean(&logs, &secrets);
}

#[test]
fn debug_output_is_pinned() {
    let pem = SecretString::from(test_key::PRIVATE_KEY_PEM);
    let key = SigningKey::from_pem(&pem, None).unwrap();
    assert_eq!(format!("{key:?}"), "SigningKey(RSA 2048 bits, [REDACTED])");

    let signer = RequestSigner::new("t/u/f", key);
    assert_eq!(
        format!("{signer:?}"),
        "RequestSigner { key_id: \"t/u/f\", key: SigningKey(RSA 2048 bits, [REDACTED]) }"
    );

    let server = TestServer::start();
    let provider = OciFactory::new()
        .build(&server.provider_config("ocid1.key.oc1.x"))
        .unwrap();
    assert_eq!(
        format!("{provider:?}"),
        format!(
            "OciProvider {{ crypto_endpoint: \"{}/\", mgmt_endpoint: \"{}/\", \
             master_key_id: \"ocid1.key.oc1.x\", client: Client {{ signer: RequestSigner {{ \
             key_id: \"{}\", key: SigningKey(RSA 2048 bits, [REDACTED]) }}, .. }} }}",
            server.crypto_endpoint(),
            server.management_endpoint(),
            test_key::KEY_ID,
        )
    );
}

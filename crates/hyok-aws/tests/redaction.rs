//! The secret key never shows in errors or in any log event of this crate
//! or of the SDK beneath it (`Debug` is pinned by the unit tests).

use std::io::{self, Write};
use std::sync::{Arc, Mutex, PoisonError};

use hyok_aws::AwsFactory;
use hyok_aws::testing::{self, KmsProxy, MotoServer};
use hyok_core::testing::context_of;
use hyok_core::{Dek, ProviderConfig, ProviderFactory};
use secrecy::SecretString;

const CANARY: &str = "canary-SECRET-KEY-must-never-show";

fn with_canary(config: ProviderConfig) -> ProviderConfig {
    config.secret("secretKey", SecretString::from(CANARY))
}

#[tokio::test]
async fn logs_never_hold_the_secret_key_or_a_data_key() {
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(logs.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let moto = MotoServer::start().await;
    let key = moto.create_key(None).await;
    let proxy = KmsProxy::start(moto.endpoint()).await;
    let config = with_canary(testing::config(proxy.endpoint(), &key.key_id));
    let provider = AwsFactory::with_limits(testing::test_limits())
        .build(&config)
        .expect("build");
    let context = context_of(&[("hyok:keyring", "logs")]);

    provider.validate().await.expect("validate");
    let (generated, _) = provider.generate(&context).await.expect("generate");
    let own = Dek::generate();
    let wrapped = provider.wrap(&own, &context).await.expect("wrap");
    provider.unwrap(&wrapped, &context).await.expect("unwrap");
    proxy.fail_next("Decrypt", "AccessDeniedException", 1);
    let err = provider
        .unwrap(&wrapped, &context)
        .await
        .expect_err("denied");

    let text = logs.text();
    assert!(
        text.contains("AWS KMS provider built"),
        "no events were captured: {text}"
    );
    assert!(
        text.contains("AWS KMS call failed"),
        "the failure was not logged"
    );
    assert!(!text.contains(CANARY), "the secret key is in the logs");
    assert!(!format!("{err:?} {err}").contains(CANARY));
    for dek in [&generated, &own] {
        for shown in encodings(dek) {
            assert!(!text.contains(&shown), "a data key is in the logs");
        }
    }
}

/// The forms in which a data key could appear in a log line.
fn encodings(dek: &Dek) -> Vec<String> {
    use base64::Engine as _;
    let bytes = dek.expose_secret();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let base64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    vec![hex, base64, format!("{bytes:?}")]
}

/// A log sink the test can read back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

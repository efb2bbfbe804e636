//! No secret reaches a log line or a `Debug` string: a full lifecycle runs
//! with a recognisable canary data key and canary credentials while every
//! log event (down to TRACE) is captured, and the capture is searched for
//! the canaries in clear, hex and base64.

use std::io::Write;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use base64::Engine as _;
use hyok_core::testing::MemoryFactory;
use hyok_core::{
    Dek, EncryptionContext, Engine, EngineOptions, FieldSpec, Provider, ProviderConfig,
    ProviderError, ProviderFactory, ProviderInfo, ProviderRegistry, WrappedDek,
};
use secrecy::SecretString;

const CANARY_DEK: &[u8; 32] = b"CANARY-DEK-0123456789-CANARY-DEK";
const CANARY_SECRET: &str = "CANARY-SECRET-kq7Rz1";
const FIELDS: &[FieldSpec] = &[
    FieldSpec::required("masterKeyId"),
    FieldSpec::secret("secretKey"),
];

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn lifecycle_logs_and_debug_hold_no_secret() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let memory = MemoryFactory::new("aws", FIELDS);
    memory.add_key("key-a");
    memory.add_key("key-b");
    let registry = ProviderRegistry::new().with(Arc::new(CanaryFactory(memory.clone())));
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(EngineOptions::new(dir.path()).registry(registry))
        .await
        .unwrap();

    let config = |key: &str| {
        ProviderConfig::new("aws")
            .setting("masterKeyId", key)
            .secret("secretKey", SecretString::from(CANARY_SECRET))
    };
    engine.create_provider(config("key-a")).await.unwrap();
    engine.rotate().await.unwrap();
    engine.update_provider(config("key-b")).await.unwrap();
    let record = engine.encrypt(b"row", b"aad").unwrap();
    engine.decrypt(&record, b"aad").unwrap();
    memory.set_down(true);
    let failed = engine.rotate().await.unwrap_err();
    memory.set_down(false);
    engine.refresh().await.unwrap();

    tracing::info!(?engine, status = ?engine.status(), summary = ?engine.provider_summary());
    tracing::info!(config = ?config("key-a"), error = ?failed, error_text = %failed);
    let dek = Dek::from_slice(CANARY_DEK).unwrap();
    tracing::info!(?dek);

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("rotated"), "the capture works: {logs}");
    let hex: String = CANARY_DEK.iter().map(|b| format!("{b:02x}")).collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(CANARY_DEK);
    for needle in [
        "CANARY-DEK",
        "CANARY-SECRET",
        &hex,
        &hex.to_uppercase(),
        &b64,
    ] {
        assert!(
            !logs.contains(needle),
            "{needle:?} leaked into the logs:\n{logs}"
        );
    }
    let state = std::fs::read_to_string(dir.path().join("state.json")).unwrap();
    assert!(!state.contains("CANARY"), "secrets are sealed at rest");
}

/// Hands out the canary as every new data key.
#[derive(Debug)]
struct CanaryFactory(MemoryFactory);

impl ProviderFactory for CanaryFactory {
    fn name(&self) -> &'static str {
        "aws"
    }

    fn fields(&self) -> &'static [FieldSpec] {
        FIELDS
    }

    fn build(&self, config: &ProviderConfig) -> Result<Arc<dyn Provider>, ProviderError> {
        Ok(Arc::new(Canary(self.0.build(config)?)))
    }
}

#[derive(Debug)]
struct Canary(Arc<dyn Provider>);

#[async_trait]
impl Provider for Canary {
    fn describe(&self) -> ProviderInfo {
        self.0.describe()
    }

    async fn validate(&self) -> Result<(), ProviderError> {
        self.0.validate().await
    }

    async fn wrap(&self, dek: &Dek, cx: &EncryptionContext) -> Result<WrappedDek, ProviderError> {
        self.0.wrap(dek, cx).await
    }

    async fn unwrap(&self, w: &WrappedDek, cx: &EncryptionContext) -> Result<Dek, ProviderError> {
        self.0.unwrap(w, cx).await
    }

    async fn generate(&self, cx: &EncryptionContext) -> Result<(Dek, WrappedDek), ProviderError> {
        let dek = Dek::from_slice(CANARY_DEK).unwrap();
        let wrapped = self.0.wrap(&dek, cx).await?;
        Ok((dek, wrapped))
    }
}

//! Test support for provider crates (feature `testing`): one conformance
//! suite that every provider passes, and a wrapper that injects faults.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use zeroize::Zeroizing;

use crate::dek::{Dek, WrappedDek};
use crate::local::{aead_open, aead_seal, context_bytes};
use crate::provider::{
    EncryptionContext, FieldSpec, Provider, ProviderConfig, ProviderError, ProviderErrorKind,
    ProviderFactory, ProviderInfo,
};

/// Runs the provider conformance suite against `provider`, panicking with a
/// description of the first broken promise.
///
/// The provider must be configured with a valid, enabled master key.
pub async fn conformance(provider: &dyn Provider) {
    let info = provider.describe();
    assert!(!info.name.is_empty(), "describe() must name the provider");
    provider
        .validate()
        .await
        .expect("validate() of a good configuration");

    let context = context_of(&[("hyok:keyring", "conformance"), ("hyok:version", "1")]);
    let (dek, wrapped) = provider.generate(&context).await.expect("generate()");
    let unwrapped = provider
        .unwrap(&wrapped, &context)
        .await
        .expect("unwrap(generate())");
    assert_eq!(
        unwrapped.expose_secret(),
        dek.expose_secret(),
        "generate/unwrap round trip"
    );
    assert!(
        !contains(wrapped.as_bytes(), dek.expose_secret()),
        "the wrapped key must not contain the key in clear"
    );

    let own = Dek::generate();
    let wrapped_own = provider.wrap(&own, &context).await.expect("wrap()");
    let back = provider
        .unwrap(&wrapped_own, &context)
        .await
        .expect("unwrap(wrap())");
    assert_eq!(
        back.expose_secret(),
        own.expose_secret(),
        "wrap/unwrap round trip"
    );

    let again = provider.wrap(&own, &context).await.expect("second wrap()");
    let back = provider
        .unwrap(&again, &context)
        .await
        .expect("unwrap of a second wrap");
    assert_eq!(
        back.expose_secret(),
        own.expose_secret(),
        "every wrap must unwrap"
    );

    let other = context_of(&[("hyok:keyring", "conformance"), ("hyok:version", "2")]);
    assert_refused(
        provider.unwrap(&wrapped_own, &other).await,
        "another context",
    );
    assert_refused(
        provider
            .unwrap(&wrapped_own, &EncryptionContext::new())
            .await,
        "no context",
    );

    let mut altered = wrapped_own.as_bytes().to_vec();
    let last = altered.len() - 1;
    altered[last] ^= 0x01;
    assert_refused(
        provider.unwrap(&WrappedDek::new(altered), &context).await,
        "altered bytes",
    );
    assert_refused(
        provider
            .unwrap(&WrappedDek::new(Vec::new()), &context)
            .await,
        "empty input",
    );
}

/// Builds an encryption context from pairs.
pub fn context_of(pairs: &[(&str, &str)]) -> EncryptionContext {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn assert_refused(result: Result<Dek, ProviderError>, case: &str) {
    match result {
        Ok(_) => panic!("unwrap with {case} must fail"),
        Err(err) => assert!(
            !err.kind().is_transient(),
            "unwrap with {case} must fail for good, not as {:?}",
            err.kind()
        ),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Wraps a provider and fails chosen calls, to test that a failure in the
/// middle of a key operation leaves the previous state whole.
pub struct FaultyProvider {
    inner: Arc<dyn Provider>,
    calls: AtomicU64,
    fail_from: AtomicU64,
    down: AtomicBool,
}

impl FaultyProvider {
    /// A wrapper that passes every call through until told otherwise.
    pub fn new(inner: Arc<dyn Provider>) -> FaultyProvider {
        FaultyProvider {
            inner,
            calls: AtomicU64::new(0),
            fail_from: AtomicU64::new(u64::MAX),
            down: AtomicBool::new(false),
        }
    }

    /// Fails every call after the next `n` calls succeed.
    pub fn fail_after(&self, n: u64) {
        let now = self.calls.load(Ordering::SeqCst);
        self.fail_from
            .store(now.saturating_add(n), Ordering::SeqCst);
    }

    /// Fails every call from now on (`true`) or none (`false`).
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
        if !down {
            self.fail_from.store(u64::MAX, Ordering::SeqCst);
        }
    }

    /// How many calls reached the wrapper.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    fn check(&self) -> Result<(), ProviderError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) || n >= self.fail_from.load(Ordering::SeqCst) {
            return Err(ProviderError::new(
                ProviderErrorKind::Unavailable,
                "injected fault: KMS unavailable",
            ));
        }
        Ok(())
    }
}

impl fmt::Debug for FaultyProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultyProvider")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Provider for FaultyProvider {
    fn describe(&self) -> ProviderInfo {
        self.inner.describe()
    }

    async fn validate(&self) -> Result<(), ProviderError> {
        self.check()?;
        self.inner.validate().await
    }

    async fn wrap(
        &self,
        dek: &Dek,
        context: &EncryptionContext,
    ) -> Result<WrappedDek, ProviderError> {
        self.check()?;
        self.inner.wrap(dek, context).await
    }

    async fn unwrap(
        &self,
        wrapped: &WrappedDek,
        context: &EncryptionContext,
    ) -> Result<Dek, ProviderError> {
        self.check()?;
        self.inner.unwrap(wrapped, context).await
    }

    async fn generate(
        &self,
        context: &EncryptionContext,
    ) -> Result<(Dek, WrappedDek), ProviderError> {
        self.check()?;
        self.inner.generate(context).await
    }
}

/// An in-memory KMS behind a provider factory of any name, for tests of
/// front ends that must not need a real KMS.
///
/// Master keys exist only once added with [`add_key`](MemoryFactory::add_key);
/// validating a configuration whose `masterKeyId` was not added fails with
/// [`ProviderErrorKind::InvalidKeyId`], and [`set_down`](MemoryFactory::set_down)
/// makes every call fail as [`ProviderErrorKind::Unavailable`].
#[derive(Debug, Clone)]
pub struct MemoryFactory {
    name: &'static str,
    fields: &'static [FieldSpec],
    kms: Arc<MemoryKms>,
}

#[derive(Default)]
struct MemoryKms {
    keys: Mutex<BTreeMap<String, Zeroizing<[u8; 32]>>>,
    disabled: Mutex<BTreeMap<String, bool>>,
    down: AtomicBool,
    calls: AtomicU64,
    fail_from: AtomicU64,
}

impl fmt::Debug for MemoryKms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryKms").finish_non_exhaustive()
    }
}

impl MemoryFactory {
    /// A factory answering to `name`, taking `fields` (one of which must be
    /// `masterKeyId`).
    pub fn new(name: &'static str, fields: &'static [FieldSpec]) -> MemoryFactory {
        let kms = MemoryKms {
            fail_from: AtomicU64::new(u64::MAX),
            ..MemoryKms::default()
        };
        MemoryFactory {
            name,
            fields,
            kms: Arc::new(kms),
        }
    }

    /// Creates master key `id` in the in-memory KMS.
    pub fn add_key(&self, id: &str) {
        let mut key = Zeroizing::new([0u8; 32]);
        getrandom::fill(key.as_mut()).expect("the OS random number generator failed");
        lock(&self.kms.keys).insert(id.to_string(), key);
    }

    /// Disables (or enables again) master key `id`.
    pub fn set_disabled(&self, id: &str, disabled: bool) {
        lock(&self.kms.disabled).insert(id.to_string(), disabled);
    }

    /// Makes every call fail as unavailable (`true`) or work again.
    pub fn set_down(&self, down: bool) {
        self.kms.down.store(down, Ordering::SeqCst);
        if !down {
            self.kms.fail_from.store(u64::MAX, Ordering::SeqCst);
        }
    }

    /// Fails every call after the next `n` calls (as unavailable), until
    /// [`set_down`](MemoryFactory::set_down)`(false)`.
    pub fn fail_after(&self, n: u64) {
        let now = self.kms.calls.load(Ordering::SeqCst);
        self.kms
            .fail_from
            .store(now.saturating_add(n), Ordering::SeqCst);
    }

    /// How many calls the in-memory KMS has answered or refused.
    pub fn calls(&self) -> u64 {
        self.kms.calls.load(Ordering::SeqCst)
    }
}

impl ProviderFactory for MemoryFactory {
    fn name(&self) -> &'static str {
        self.name
    }

    fn fields(&self) -> &'static [FieldSpec] {
        self.fields
    }

    fn build(&self, config: &ProviderConfig) -> Result<Arc<dyn Provider>, ProviderError> {
        for field in self.fields.iter().filter(|f| f.required) {
            if field.secret {
                config.require_secret(field.name)?;
            } else {
                config.require(field.name)?;
            }
        }
        let master_key_id = config.require("masterKeyId")?.to_string();
        Ok(Arc::new(MemoryProvider {
            name: self.name,
            master_key_id,
            kms: self.kms.clone(),
        }))
    }
}

#[derive(Debug)]
struct MemoryProvider {
    name: &'static str,
    master_key_id: String,
    kms: Arc<MemoryKms>,
}

impl MemoryProvider {
    fn key(&self) -> Result<Zeroizing<[u8; 32]>, ProviderError> {
        let call = self.kms.calls.fetch_add(1, Ordering::SeqCst);
        if self.kms.down.load(Ordering::SeqCst) || call >= self.kms.fail_from.load(Ordering::SeqCst)
        {
            return Err(ProviderError::new(
                ProviderErrorKind::Unavailable,
                "KMS is unreachable",
            ));
        }
        if lock(&self.kms.disabled)
            .get(&self.master_key_id)
            .copied()
            .unwrap_or(false)
        {
            return Err(ProviderError::new(
                ProviderErrorKind::KeyDisabled,
                "the key is disabled",
            ));
        }
        lock(&self.kms.keys)
            .get(&self.master_key_id)
            .cloned()
            .ok_or_else(|| {
                ProviderError::new(
                    ProviderErrorKind::InvalidKeyId,
                    "the master key id is not valid",
                )
            })
    }
}

#[async_trait]
impl Provider for MemoryProvider {
    fn describe(&self) -> ProviderInfo {
        ProviderInfo {
            name: self.name.to_string(),
            master_key_id: self.master_key_id.clone(),
        }
    }

    async fn validate(&self) -> Result<(), ProviderError> {
        self.key().map(|_| ())
    }

    async fn wrap(
        &self,
        dek: &Dek,
        context: &EncryptionContext,
    ) -> Result<WrappedDek, ProviderError> {
        let key = self.key()?;
        Ok(WrappedDek::new(aead_seal(
            &key,
            dek.expose_secret(),
            &context_bytes(context),
        )))
    }

    async fn unwrap(
        &self,
        wrapped: &WrappedDek,
        context: &EncryptionContext,
    ) -> Result<Dek, ProviderError> {
        let key = self.key()?;
        let refused = || ProviderError::new(ProviderErrorKind::UnwrapFailed, "unwrap refused");
        let clear =
            aead_open(&key, wrapped.as_bytes(), &context_bytes(context)).ok_or_else(refused)?;
        Dek::from_slice(&clear).map_err(|_| refused())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

//! Test support for provider crates (feature `testing`): one conformance
//! suite that every provider passes, and a wrapper that injects faults.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use async_trait::async_trait;

use crate::dek::{Dek, WrappedDek};
use crate::provider::{
    EncryptionContext, Provider, ProviderError, ProviderErrorKind, ProviderInfo,
};

/// Runs the provider conformance suite against `provider`, panicking with a
/// description of the first broken promise.
///
/// The provider must be configured with a valid, enabled master key.
pub async fn conformance(provider: &dyn Provider) {
    let info = provider.describe();
    assert!(!info.name.is_empty(), "describe() must name the provider");
    provider.validate().await.expect("validate() of a good configuration");

    let context = context_of(&[("hyok:keyring", "conformance"), ("hyok:version", "1")]);
    let (dek, wrapped) = provider.generate(&context).await.expect("generate()");
    let unwrapped = provider.unwrap(&wrapped, &context).await.expect("unwrap(generate())");
    assert_eq!(unwrapped.expose_secret(), dek.expose_secret(), "generate/unwrap round trip");
    assert!(
        !contains(wrapped.as_bytes(), dek.expose_secret()),
        "the wrapped key must not contain the key in clear"
    );

    let own = Dek::generate();
    let wrapped_own = provider.wrap(&own, &context).await.expect("wrap()");
    let back = provider.unwrap(&wrapped_own, &context).await.expect("unwrap(wrap())");
    assert_eq!(back.expose_secret(), own.expose_secret(), "wrap/unwrap round trip");

    let again = provider.wrap(&own, &context).await.expect("second wrap()");
    let back = provider.unwrap(&again, &context).await.expect("unwrap of a second wrap");
    assert_eq!(back.expose_secret(), own.expose_secret(), "every wrap must unwrap");

    let other = context_of(&[("hyok:keyring", "conformance"), ("hyok:version", "2")]);
    assert_refused(provider.unwrap(&wrapped_own, &other).await, "another context");
    assert_refused(provider.unwrap(&wrapped_own, &EncryptionContext::new()).await, "no context");

    let mut altered = wrapped_own.as_bytes().to_vec();
    let last = altered.len() - 1;
    altered[last] ^= 0x01;
    assert_refused(provider.unwrap(&WrappedDek::new(altered), &context).await, "altered bytes");
    assert_refused(provider.unwrap(&WrappedDek::new(Vec::new()), &context).await, "empty input");
}

/// Builds an encryption context from pairs.
pub fn context_of(pairs: &[(&str, &str)]) -> EncryptionContext {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
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
        self.fail_from.store(now.saturating_add(n), Ordering::SeqCst);
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
        f.debug_struct("FaultyProvider").field("inner", &self.inner).finish_non_exhaustive()
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

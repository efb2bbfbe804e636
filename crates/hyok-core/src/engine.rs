//! The engine: one handle for the hot path and the key lifecycle.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::{LifecycleError, RecordError, StoreError};
use crate::provider::{ProviderConfig, ProviderErrorKind, ProviderInfo, ProviderRegistry};

/// Record algorithm for new records. Decryption accepts both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Algorithm {
    /// AES-256-GCM (algorithm id 1), the default.
    #[default]
    Aes256Gcm,
    /// XChaCha20-Poly1305 (algorithm id 2).
    XChaCha20Poly1305,
}

/// What the engine does when an instance subkey reaches its message limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LimitPolicy {
    /// Derive a fresh instance subkey (new random salt) and go on. No KMS
    /// call is needed. The default.
    #[default]
    Rederive,
    /// Refuse to encrypt with [`RecordError::LimitReached`] until the key is
    /// refreshed or rotated.
    Refuse,
}

/// How to open an engine.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub(crate) data_dir: PathBuf,
    pub(crate) registry: ProviderRegistry,
    pub(crate) algorithm: Algorithm,
    pub(crate) key_max_age: Duration,
    pub(crate) key_max_uses: u64,
    pub(crate) subkey_limit: u64,
    pub(crate) limit_policy: LimitPolicy,
}

impl EngineOptions {
    /// Default age bound of an unwrapped DEK in memory: 5 minutes.
    pub const DEFAULT_KEY_MAX_AGE: Duration = Duration::from_secs(300);
    /// Default use bound of an unwrapped DEK in memory.
    pub const DEFAULT_KEY_MAX_USES: u64 = 1 << 40;
    /// Default and largest message limit of one instance subkey: 2^32.
    pub const MAX_SUBKEY_LIMIT: u64 = 1 << 32;

    /// Options for the state in `data_dir`, with every default.
    pub fn new(data_dir: impl Into<PathBuf>) -> EngineOptions {
        EngineOptions {
            data_dir: data_dir.into(),
            registry: ProviderRegistry::new(),
            algorithm: Algorithm::default(),
            key_max_age: Self::DEFAULT_KEY_MAX_AGE,
            key_max_uses: Self::DEFAULT_KEY_MAX_USES,
            subkey_limit: Self::MAX_SUBKEY_LIMIT,
            limit_policy: LimitPolicy::default(),
        }
    }

    /// The customer providers that may be configured (`aws`, `oci`).
    pub fn registry(mut self, registry: ProviderRegistry) -> Self {
        self.registry = registry;
        self
    }

    /// The algorithm of new records.
    pub fn algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// How long an unwrapped DEK may serve before it is unwrapped again by
    /// the provider. A revoked master key takes effect within this bound.
    pub fn key_max_age(mut self, age: Duration) -> Self {
        self.key_max_age = age;
        self
    }

    /// How many records an unwrapped DEK may serve before it is unwrapped
    /// again by the provider.
    pub fn key_max_uses(mut self, uses: u64) -> Self {
        self.key_max_uses = uses.max(1);
        self
    }

    /// Message limit of one instance subkey (at most 2^32) and what to do
    /// when it is reached.
    pub fn subkey_limit(mut self, limit: u64, policy: LimitPolicy) -> Self {
        self.subkey_limit = limit.clamp(1, Self::MAX_SUBKEY_LIMIT);
        self.limit_policy = policy;
        self
    }
}

/// A snapshot of the engine's key state, safe to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// Whether a customer provider (AWS, OCI) holds the master key.
    pub hyok_enabled: bool,
    /// The provider that wraps the keyring: `local` when HYOK is off.
    pub provider: ProviderInfo,
    /// The version new records are encrypted under.
    pub primary_version: u32,
    /// Every version in the keyring, oldest first.
    pub versions: Vec<VersionInfo>,
    /// Whether the primary DEK is unwrapped in memory and usable now.
    pub keys_available: bool,
    /// The last provider failure while unwrapping, if the keys are not
    /// available.
    pub last_error: Option<(ProviderErrorKind, String)>,
}

/// One version of the keyring, without key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    /// Version number, from 1.
    pub version: u32,
    /// Whether new records use it.
    pub primary: bool,
    /// Creation time, seconds since the Unix epoch.
    pub created_at: u64,
    /// Provider that wraps it.
    pub provider: String,
    /// Master key that wraps it.
    pub master_key_id: String,
}

/// The configured customer provider, without secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderSummary {
    /// Provider name.
    pub provider: String,
    /// Public settings as configured.
    pub settings: BTreeMap<String, String>,
    /// Names of the secrets held (values are never returned).
    pub secret_names: Vec<String>,
}

/// Opening the engine failed.
pub type OpenError = StoreError;

/// The engine handle. Cheap to clone; every clone shares the same keys.
#[derive(Debug, Clone)]
pub struct Engine {}

#[allow(unused_variables, clippy::unused_async)]
impl Engine {
    /// Opens (or on first use creates) the state in the options' data
    /// directory and unwraps the keyring's keys.
    ///
    /// A provider that cannot unwrap does not stop the engine from opening:
    /// HYOK fails closed, so [`status`](Engine::status) answers and records
    /// fail with [`RecordError::KeyUnavailable`] until the provider answers.
    pub async fn open(options: EngineOptions) -> Result<Engine, OpenError> {
        todo!()
    }

    /// Encrypts `plaintext` under the primary DEK, bound to `aad`.
    pub fn encrypt(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, RecordError> {
        todo!()
    }

    /// Decrypts a record made by [`encrypt`](Engine::encrypt) with the same `aad`.
    pub fn decrypt(&self, record: &[u8], aad: &[u8]) -> Result<Vec<u8>, RecordError> {
        todo!()
    }

    /// The key state now.
    pub fn status(&self) -> Status {
        todo!()
    }

    /// The configured customer provider, without secrets; `None` when HYOK is off.
    pub fn provider_summary(&self) -> Option<ProviderSummary> {
        todo!()
    }

    /// Turns HYOK on: validates `config` against its KMS, rewraps every DEK
    /// version under the customer master key and commits, all or nothing.
    pub async fn create_provider(&self, config: ProviderConfig) -> Result<(), LifecycleError> {
        todo!()
    }

    /// Moves the keyring to another customer configuration (new master key,
    /// new credentials, or another provider): validates, unwraps every
    /// version with the old, wraps with the new, commits all or nothing.
    pub async fn update_provider(&self, config: ProviderConfig) -> Result<(), LifecycleError> {
        todo!()
    }

    /// Makes a new DEK through the provider and makes it primary; older
    /// versions stay for decryption. Returns the new version.
    pub async fn rotate(&self) -> Result<u32, LifecycleError> {
        todo!()
    }

    /// Reloads the state from the store and unwraps keys that are missing or
    /// near their bound. Returns the provider error if the primary key could
    /// not be unwrapped.
    pub async fn refresh(&self) -> Result<(), LifecycleError> {
        todo!()
    }
}

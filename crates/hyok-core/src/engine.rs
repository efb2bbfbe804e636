//! The engine: one handle for the hot path and the key lifecycle.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;

use crate::aead::TAG_LEN;
use crate::clock;
use crate::dek::Dek;
use crate::error::{LifecycleError, RecordError, StoreError};
use crate::keyring::{KeyState, KeyVersion, Keyring};
use crate::keys::{Bounds, Exhausted, KeySet, LiveKey, Subkey};
use crate::local::{LocalMasterKey, LocalProvider};
use crate::provider::{
    Provider, ProviderConfig, ProviderError, ProviderErrorKind, ProviderInfo, ProviderRegistry,
};
use crate::record::{Algorithm, HEADER_LEN, Header, OVERHEAD};
use crate::store::{FileStore, State, StateStore, StoreGuard};

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
    pub(crate) create_if_missing: bool,
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
            create_if_missing: true,
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

    /// Whether [`Engine::open`] creates a new keyring when the data
    /// directory holds none (the default). Tools that must use existing keys
    /// set `false`, so that a wrong directory is an error
    /// ([`StoreError::NotFound`]) rather than a fresh keyring whose records
    /// nobody else can read.
    pub fn create_if_missing(mut self, create: bool) -> Self {
        self.create_if_missing = create;
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
    /// The last failure of the configured provider (unwrapping keys,
    /// making a new one), cleared by its next success.
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
///
/// Records are encrypted and decrypted synchronously from keys held in
/// memory ([`encrypt`](Engine::encrypt), [`decrypt`](Engine::decrypt) and
/// their in-place and batch forms); the key lifecycle is async and is the
/// only place the provider is called.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    options: EngineOptions,
    bounds: Bounds,
    store: Arc<dyn StateStore>,
    local: Arc<LocalProvider>,
    /// The committed state this instance last saw, and its provider.
    current: ArcSwap<Current>,
    /// What the hot path reads.
    keys: ArcSwap<KeySet>,
    /// Unwrapped keys by (version, wrapped bytes); one provider call per
    /// concurrent miss, entries expire with the age bound.
    cache: moka::future::Cache<(u32, Vec<u8>), Arc<LiveKey>>,
    /// One lifecycle operation or refresh at a time in this process; the
    /// store's lock orders processes.
    lifecycle: tokio::sync::Mutex<()>,
    last_error: Mutex<Option<(ProviderErrorKind, String)>>,
}

struct Current {
    state: State,
    provider: Arc<dyn Provider>,
}

impl Engine {
    /// Opens (or on first use creates) the state in the options' data
    /// directory and unwraps the keyring's keys.
    ///
    /// A provider that cannot unwrap does not stop the engine from opening:
    /// HYOK fails closed, so [`status`](Engine::status) answers and records
    /// fail with [`RecordError::KeyUnavailable`] until the provider answers.
    /// A configuration that no registered factory can build is an error.
    pub async fn open(options: EngineOptions) -> Result<Engine, OpenError> {
        let state_file = options.data_dir.join(crate::store::STATE_FILE);
        if !options.create_if_missing && !state_file.exists() {
            return Err(StoreError::NotFound { path: state_file });
        }
        let dir = options.data_dir.clone();
        let master = tokio::task::spawn_blocking(move || LocalMasterKey::load_or_create(&dir))
            .await
            .expect("the key loader does not panic")?;
        let master = Arc::new(master);
        let store: Arc<dyn StateStore> =
            Arc::new(FileStore::new(options.data_dir.clone(), master.clone()));
        Self::open_with_store(options, master, store).await
    }

    /// Opens the engine on another [`StateStore`] (a shared database, say),
    /// with `master` as the local master key.
    pub async fn open_with_store(
        options: EngineOptions,
        master: Arc<LocalMasterKey>,
        store: Arc<dyn StateStore>,
    ) -> Result<Engine, OpenError> {
        clock::start();
        let local = Arc::new(LocalProvider::new(master));
        let state = match blocking_load(&store).await? {
            Some(state) => state,
            None => initialise(&store, &local).await?,
        };
        let provider =
            provider_for(&options.registry, &local, &state).map_err(|err| StoreError::Corrupt {
                path: options.data_dir.clone(),
                reason: format!("the stored provider configuration is not usable: {err}"),
            })?;
        let bounds = Bounds {
            max_uses: options.key_max_uses,
            subkey_limit: options.subkey_limit,
        };
        let cache = moka::future::Cache::builder()
            .max_capacity(4096)
            .time_to_live(options.key_max_age)
            .build();
        let engine = Engine {
            inner: Arc::new(Inner {
                options,
                bounds,
                store,
                local,
                current: ArcSwap::from_pointee(Current { state, provider }),
                keys: ArcSwap::from_pointee(KeySet::default()),
                cache,
                lifecycle: tokio::sync::Mutex::new(()),
                last_error: Mutex::new(None),
            }),
        };
        if let Err(err) = engine.load_keys().await {
            tracing::warn!(error = %err, "keys not available at open; HYOK fails closed");
        }
        Ok(engine)
    }

    /// Encrypts `plaintext` under the primary DEK, bound to `aad`.
    pub fn encrypt(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, RecordError> {
        let mut out = Vec::with_capacity(plaintext.len() + OVERHEAD);
        self.encrypt_into(plaintext, aad, &mut out)?;
        Ok(out)
    }

    /// Appends the record of `plaintext` to `out`: no allocation when `out`
    /// has room for `plaintext.len() + OVERHEAD` more bytes.
    pub fn encrypt_into(
        &self,
        plaintext: &[u8],
        aad: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), RecordError> {
        let start = out.len();
        out.reserve(plaintext.len() + OVERHEAD);
        out.extend_from_slice(&[0u8; HEADER_LEN]);
        out.extend_from_slice(plaintext);
        match self.seal_record(&mut out[start..], aad) {
            Ok(tag) => {
                out.extend_from_slice(&tag);
                Ok(())
            }
            Err(err) => {
                out.truncate(start);
                Err(err)
            }
        }
    }

    /// Encrypts the plaintext in `buf` in place: `buf` becomes the record.
    pub fn encrypt_in_place(&self, buf: &mut Vec<u8>, aad: &[u8]) -> Result<(), RecordError> {
        let len = buf.len();
        buf.reserve(OVERHEAD);
        buf.resize(len + HEADER_LEN, 0);
        buf.copy_within(..len, HEADER_LEN);
        match self.seal_record(buf, aad) {
            Ok(tag) => {
                buf.extend_from_slice(&tag);
                Ok(())
            }
            Err(err) => {
                buf.copy_within(HEADER_LEN.., 0);
                buf.truncate(len);
                Err(err)
            }
        }
    }

    /// Encrypts in a caller-laid frame, without copying: `frame` is
    /// [`HEADER_LEN`](crate::record::HEADER_LEN) spare bytes, then the
    /// plaintext, then [`TAG_LEN`](crate::record::TAG_LEN) spare bytes. On
    /// success the whole frame is the record. On error it is left with the
    /// plaintext where it was.
    pub fn encrypt_framed(&self, frame: &mut [u8], aad: &[u8]) -> Result<(), RecordError> {
        let Some(tag_at) = frame
            .len()
            .checked_sub(TAG_LEN)
            .filter(|&at| at >= HEADER_LEN)
        else {
            return Err(RecordError::TooShort);
        };
        let (record, tag) = frame.split_at_mut(tag_at);
        tag.copy_from_slice(&self.seal_record(record, aad)?);
        Ok(())
    }

    /// Encrypts many records.
    pub fn encrypt_batch(&self, items: &[(&[u8], &[u8])]) -> Result<Vec<Vec<u8>>, RecordError> {
        items
            .iter()
            .map(|(plaintext, aad)| self.encrypt(plaintext, aad))
            .collect()
    }

    /// Decrypts a record made by [`encrypt`](Engine::encrypt) with the same `aad`.
    pub fn decrypt(&self, record: &[u8], aad: &[u8]) -> Result<Vec<u8>, RecordError> {
        let header = Header::parse(record)?;
        let keys = self.inner.keys.load();
        let key = self.key_for(&keys, header.version)?;
        key.take_use(clock::now())?;
        open_to_vec(&keys, key, &header, record, aad)
    }

    /// Decrypts `record` in the caller's buffer and returns the plaintext,
    /// a sub-slice of it. No allocation. On error the buffer's contents are
    /// unspecified (never partial plaintext: it is wiped).
    pub fn decrypt_in_place<'a>(
        &self,
        record: &'a mut [u8],
        aad: &[u8],
    ) -> Result<&'a mut [u8], RecordError> {
        let header = Header::parse(record)?;
        let keys = self.inner.keys.load();
        let key = self.key_for(&keys, header.version)?;
        key.take_use(clock::now())?;
        let len = record.len() - OVERHEAD;
        let (body, tag) = record[HEADER_LEN..].split_at_mut(len);
        let tag: &[u8; TAG_LEN] = (&*tag).try_into().expect("16 bytes");
        key.open(keys.sealer_for(header.version), &header, aad, body, tag)?;
        Ok(body)
    }

    /// Decrypts many records under one key-set lookup.
    pub fn decrypt_batch(&self, items: &[(&[u8], &[u8])]) -> Result<Vec<Vec<u8>>, RecordError> {
        let keys = self.inner.keys.load();
        let now = clock::now();
        items
            .iter()
            .map(|(record, aad)| {
                let header = Header::parse(record)?;
                let key = self.key_for(&keys, header.version)?;
                key.take_use(now)?;
                open_to_vec(&keys, key, &header, record, aad)
            })
            .collect()
    }

    /// The key state now.
    pub fn status(&self) -> Status {
        let current = self.inner.current.load();
        let keys = self.inner.keys.load();
        let keyring = &current.state.keyring;
        let primary = keyring.primary().map_or(0, |v| v.version);
        let keys_available = keys
            .get(primary)
            .is_some_and(|key| clock::now() < key.expires_at);
        Status {
            hyok_enabled: current.state.provider.is_some(),
            provider: current.provider.describe(),
            primary_version: primary,
            versions: keyring.versions.iter().map(version_info).collect(),
            keys_available,
            last_error: self.last_error(),
        }
    }

    /// The configured customer provider, without secrets; `None` when HYOK is off.
    pub fn provider_summary(&self) -> Option<ProviderSummary> {
        let current = self.inner.current.load();
        current
            .state
            .provider
            .as_ref()
            .map(|config| ProviderSummary {
                provider: config.provider().to_string(),
                settings: config.settings().clone(),
                secret_names: config.secrets().keys().cloned().collect(),
            })
    }

    /// Turns HYOK on: validates `config` against its KMS, rewraps every DEK
    /// version under the customer master key and commits, all or nothing.
    ///
    /// Refused with [`LifecycleError::AlreadyConfigured`] when a customer
    /// provider is configured.
    pub async fn create_provider(&self, config: ProviderConfig) -> Result<(), LifecycleError> {
        self.change_provider(config, false).await
    }

    /// Moves the keyring to another customer configuration (new master key,
    /// new credentials, or another provider): validates, unwraps every
    /// version with the old, wraps with the new, commits all or nothing.
    ///
    /// Refused with [`LifecycleError::NotConfigured`] when HYOK is off.
    pub async fn update_provider(&self, config: ProviderConfig) -> Result<(), LifecycleError> {
        self.change_provider(config, true).await
    }

    /// Makes a new DEK through the provider and makes it primary; older
    /// versions stay for decryption. Returns the new version.
    ///
    /// Refused with [`LifecycleError::HyokNotEnabled`] when HYOK is off.
    pub async fn rotate(&self) -> Result<u32, LifecycleError> {
        let _one = self.inner.lifecycle.lock().await;
        let mut guard = self.lock_store().await?;
        let (mut state, provider) = self.under_lock(guard.as_ref())?;
        if state.provider.is_none() {
            return Err(LifecycleError::HyokNotEnabled);
        }

        let version = state.keyring.next_version();
        let context = state.keyring.context(version);
        let (dek, wrapped) = self.current_call(provider.generate(&context).await)?;
        let check = self.current_call(provider.unwrap(&wrapped, &context).await)?;
        if check.expose_secret() != dek.expose_secret() {
            return Err(unexpected("the new data key does not unwrap to itself").into());
        }
        let info = provider.describe();
        state.keyring.push_primary(KeyVersion {
            version,
            created_at: unix_now(),
            provider: info.name,
            master_key_id: info.master_key_id,
            state: KeyState::Primary,
            wrapped,
        });
        state.generation += 1;
        commit(&mut guard, &state).await?;
        drop(guard);

        tracing::debug!(version, "rotated; new primary data key version");
        let mut fresh = vec![(version, dek)];
        self.publish(state, provider, &mut fresh).await;
        Ok(version)
    }

    /// Removes a decrypt-only version from the keyring. Records under it no
    /// longer decrypt. Refused for the primary version.
    pub async fn retire(&self, version: u32) -> Result<(), LifecycleError> {
        let _one = self.inner.lifecycle.lock().await;
        let mut guard = self.lock_store().await?;
        let (mut state, provider) = self.under_lock(guard.as_ref())?;
        state.keyring.retire(version)?;
        state.generation += 1;
        commit(&mut guard, &state).await?;
        drop(guard);
        self.publish(state, provider, &mut Vec::new()).await;
        Ok(())
    }

    /// Reloads the state from the store (another process may have changed
    /// it) and unwraps keys that are missing or near their bounds.
    ///
    /// Returns the provider's error if some version could not be unwrapped;
    /// keys that did unwrap are in use all the same.
    pub async fn refresh(&self) -> Result<(), LifecycleError> {
        let _one = self.inner.lifecycle.lock().await;
        let state = blocking_load(&self.inner.store).await?.ok_or_else(|| {
            LifecycleError::Store(StoreError::corrupt(
                &self.inner.options.data_dir,
                "state file vanished",
            ))
        })?;
        let seen = self.inner.current.load().state.generation;
        if state.generation != seen {
            let provider = provider_for(&self.inner.options.registry, &self.inner.local, &state)?;
            self.inner
                .current
                .store(Arc::new(Current { state, provider }));
        }
        self.load_keys().await
    }

    /// Spawns a task on the current Tokio runtime that refreshes the keys
    /// before they reach their bounds (every quarter of the age bound, at
    /// most every 30 s), so the hot path never meets an expired key while
    /// the provider answers.
    pub fn spawn_refresher(&self) -> tokio::task::JoinHandle<()> {
        let engine = self.clone();
        let period = (self.inner.options.key_max_age / 4)
            .clamp(Duration::from_millis(50), Duration::from_secs(30));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(period).await;
                if let Err(err) = engine.refresh().await {
                    tracing::warn!(error = %err, "key refresh failed");
                }
            }
        })
    }

    /// Seals `record[HEADER_LEN..]` under the primary key and this
    /// instance's subkey, writing the header; returns the tag. At the subkey
    /// limit, derives a fresh subkey or refuses, as configured.
    fn seal_record(&self, record: &mut [u8], aad: &[u8]) -> Result<[u8; TAG_LEN], RecordError> {
        loop {
            let keys = self.inner.keys.load();
            let (key, sealer) = keys.sealing()?;
            key.take_use(clock::now())?;
            match sealer.seal(key, record, aad) {
                Ok(sealed) => return sealed,
                Err(Exhausted) if self.inner.options.limit_policy == LimitPolicy::Refuse => {
                    return Err(RecordError::LimitReached);
                }
                Err(Exhausted) => self.replace_sealer(sealer),
            }
        }
    }

    /// Publishes a fresh subkey in place of `exhausted`, unless another
    /// thread already did. Records under the old one stay readable: their
    /// salt derives the old subkey again from the DEK.
    #[cold]
    fn replace_sealer(&self, exhausted: &Arc<Subkey>) {
        self.inner
            .keys
            .rcu(|current| match current.with_fresh_sealer(exhausted) {
                Some(fresh) => Arc::new(fresh),
                None => Arc::clone(current),
            });
        tracing::debug!("instance subkey limit reached; derived a new one");
    }

    fn key_for<'k>(&self, keys: &'k KeySet, version: u32) -> Result<&'k Arc<LiveKey>, RecordError> {
        if let Some(key) = keys.get(version) {
            return Ok(key);
        }
        let current = self.inner.current.load();
        if current.state.keyring.get(version).is_some() {
            Err(RecordError::KeyUnavailable(version))
        } else {
            Err(RecordError::UnknownKeyVersion(version))
        }
    }

    /// Passes on the result of a call to the configured provider, noting a
    /// failure as its last error.
    fn current_call<T>(&self, result: Result<T, ProviderError>) -> Result<T, LifecycleError> {
        result.map_err(|err| {
            self.set_last_error(Some(&err));
            LifecycleError::CurrentProvider(err)
        })
    }

    fn last_error(&self) -> Option<(ProviderErrorKind, String)> {
        self.inner
            .last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn set_last_error(&self, error: Option<&ProviderError>) {
        let value = error.map(|e| (e.kind(), e.message().to_string()));
        *self
            .inner
            .last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = value;
    }

    async fn lock_store(&self) -> Result<Box<dyn StoreGuard>, LifecycleError> {
        let store = self.inner.store.clone();
        let guard = tokio::task::spawn_blocking(move || store.lock())
            .await
            .expect("the store lock does not panic")?;
        Ok(guard)
    }

    /// The state under the writers' lock and its provider.
    fn under_lock(
        &self,
        guard: &dyn StoreGuard,
    ) -> Result<(State, Arc<dyn Provider>), LifecycleError> {
        let state = guard.load()?.ok_or_else(|| {
            StoreError::corrupt(&self.inner.options.data_dir, "state file vanished")
        })?;
        let provider = provider_for(&self.inner.options.registry, &self.inner.local, &state)?;
        Ok((state, provider))
    }

    async fn change_provider(
        &self,
        config: ProviderConfig,
        update: bool,
    ) -> Result<(), LifecycleError> {
        let _one = self.inner.lifecycle.lock().await;
        let configured = self.inner.current.load().state.provider.is_some();
        check_configured(configured, update)?;
        let new_provider = self.inner.options.registry.build(&config)?;
        new_provider.validate().await?;

        let mut guard = self.lock_store().await?;
        let (mut state, old_provider) = self.under_lock(guard.as_ref())?;
        check_configured(state.provider.is_some(), update)?;

        let mut deks = Vec::with_capacity(state.keyring.versions.len());
        let keyring = rewrap(
            &state.keyring,
            old_provider.as_ref(),
            new_provider.as_ref(),
            &mut deks,
        )
        .await?;
        state.keyring = keyring;
        state.provider = Some(config);
        state.generation += 1;
        commit(&mut guard, &state).await?;
        drop(guard);

        let info = new_provider.describe();
        tracing::debug!(provider = %info.name, master_key_id = %info.master_key_id, versions = deks.len(), "keyring rewrapped");
        self.publish(state, new_provider, &mut deks).await;
        Ok(())
    }

    /// Makes `state` current and puts the DEKs already in hand into the
    /// cache, so no provider call is needed for them.
    async fn publish(
        &self,
        state: State,
        provider: Arc<dyn Provider>,
        fresh: &mut Vec<(u32, Dek)>,
    ) {
        for (version, dek) in fresh.drain(..) {
            if let Some(stored) = state.keyring.get(version) {
                let key = (version, stored.wrapped.as_bytes().to_vec());
                let live = Arc::new(self.live_key(version, dek));
                self.inner.cache.insert(key, live).await;
            }
        }
        self.inner
            .current
            .store(Arc::new(Current { state, provider }));
        if let Err(err) = self.load_keys().await {
            tracing::warn!(error = %err, "some keys could not be unwrapped after the change");
        }
    }

    fn live_key(&self, version: u32, dek: Dek) -> LiveKey {
        let expires_at = clock::now() + self.inner.options.key_max_age;
        LiveKey::new(version, dek, expires_at, self.inner.bounds)
    }

    /// Unwraps one stored version through the current provider.
    async fn unwrap_live(
        &self,
        current: &Current,
        stored: &KeyVersion,
    ) -> Result<Arc<LiveKey>, ProviderError> {
        let provider = &current.provider;
        let context = current.state.keyring.context(stored.version);
        let dek = provider.unwrap(&stored.wrapped, &context).await?;
        Ok(Arc::new(self.live_key(stored.version, dek)))
    }

    /// Unwraps every version of the current keyring that is missing or near
    /// its bounds, and publishes the new key set.
    async fn load_keys(&self) -> Result<(), LifecycleError> {
        let current = self.inner.current.load_full();
        let keyring = &current.state.keyring;
        let margin = self.inner.options.key_max_age / 4;
        let now = clock::now();
        let mut first_error = None;
        let mut live = Vec::with_capacity(keyring.versions.len());

        for stored in &keyring.versions {
            let key = (stored.version, stored.wrapped.as_bytes().to_vec());
            let cached = self.inner.cache.get(&key).await;
            let loaded = match cached {
                Some(cached) if !cached.is_stale(now, margin) => Ok(cached),
                // Near its bound: unwrap again ahead of time. If the provider
                // does not answer, the old key serves on until it expires.
                Some(cached) => match self.unwrap_live(&current, stored).await {
                    Ok(fresh) => {
                        self.inner.cache.insert(key, fresh.clone()).await;
                        Ok(fresh)
                    }
                    Err(err) => {
                        live.extend(Some(cached).filter(|k| now < k.expires_at));
                        Err(Arc::new(err))
                    }
                },
                None => {
                    self.inner
                        .cache
                        .try_get_with(key, self.unwrap_live(&current, stored))
                        .await
                }
            };
            match loaded {
                Ok(key) => live.push(key),
                Err(err) => {
                    tracing::debug!(version = stored.version, kind = ?err.kind(), "unwrap failed");
                    first_error.get_or_insert(err);
                }
            }
        }

        let primary = keyring.primary().map_or(0, |v| v.version);
        let previous = self.inner.keys.load();
        let set = KeySet::new(primary, live, &previous, self.inner.options.algorithm);
        self.inner.keys.store(Arc::new(set));
        self.set_last_error(first_error.as_deref());
        match first_error {
            None => Ok(()),
            Some(err) => Err(LifecycleError::Provider(ProviderError::new(
                err.kind(),
                err.message(),
            ))),
        }
    }
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let current = self.inner.current.load();
        f.debug_struct("Engine")
            .field("data_dir", &self.inner.options.data_dir)
            .field("provider", &current.provider.describe())
            .field("generation", &current.state.generation)
            .finish_non_exhaustive()
    }
}

fn check_configured(configured: bool, update: bool) -> Result<(), LifecycleError> {
    match (configured, update) {
        (true, false) => Err(LifecycleError::AlreadyConfigured),
        (false, true) => Err(LifecycleError::NotConfigured),
        _ => Ok(()),
    }
}

/// Rewraps every version: unwrap with `old`, wrap with `new`, and unwrap
/// again with `new` to prove the new wrap before anything is committed.
async fn rewrap(
    keyring: &Keyring,
    old: &dyn Provider,
    new: &dyn Provider,
    deks: &mut Vec<(u32, Dek)>,
) -> Result<Keyring, LifecycleError> {
    let info = new.describe();
    let mut out = Keyring {
        id: keyring.id.clone(),
        versions: Vec::with_capacity(keyring.versions.len()),
    };
    for stored in &keyring.versions {
        let context = keyring.context(stored.version);
        let dek = old
            .unwrap(&stored.wrapped, &context)
            .await
            .map_err(LifecycleError::CurrentProvider)?;
        let wrapped = new.wrap(&dek, &context).await?;
        let check = new.unwrap(&wrapped, &context).await?;
        if check.expose_secret() != dek.expose_secret() {
            return Err(unexpected("a rewrapped data key does not unwrap to itself").into());
        }
        out.versions.push(KeyVersion {
            provider: info.name.clone(),
            master_key_id: info.master_key_id.clone(),
            wrapped,
            ..stored.clone()
        });
        deks.push((stored.version, dek));
    }
    Ok(out)
}

/// Opens a record into a new vector holding just the plaintext.
fn open_to_vec(
    keys: &KeySet,
    key: &LiveKey,
    header: &Header,
    record: &[u8],
    aad: &[u8],
) -> Result<Vec<u8>, RecordError> {
    let tag_at = record.len() - TAG_LEN;
    let mut body = record[HEADER_LEN..tag_at].to_vec();
    let tag: &[u8; TAG_LEN] = record[tag_at..].try_into().expect("16 bytes");
    key.open(keys.sealer_for(header.version), header, aad, &mut body, tag)?;
    Ok(body)
}

/// The provider that wraps `state`'s keyring.
fn provider_for(
    registry: &ProviderRegistry,
    local: &Arc<LocalProvider>,
    state: &State,
) -> Result<Arc<dyn Provider>, ProviderError> {
    match &state.provider {
        None => Ok(local.clone()),
        Some(config) => registry.build(config),
    }
}

/// First start: a keyring with one DEK wrapped by the local provider.
async fn initialise(
    store: &Arc<dyn StateStore>,
    local: &Arc<LocalProvider>,
) -> Result<State, StoreError> {
    let lock_store = store.clone();
    let mut guard = tokio::task::spawn_blocking(move || lock_store.lock())
        .await
        .expect("the store lock does not panic")?;
    if let Some(state) = guard.load()? {
        return Ok(state);
    }
    let mut keyring = Keyring::new();
    let context = keyring.context(1);
    let (_dek, wrapped) = local
        .generate(&context)
        .await
        .expect("the local provider cannot fail");
    let info = local.describe();
    keyring.push_primary(KeyVersion {
        version: 1,
        created_at: unix_now(),
        provider: info.name,
        master_key_id: info.master_key_id,
        state: KeyState::Primary,
        wrapped,
    });
    let state = State {
        generation: 1,
        keyring,
        provider: None,
    };
    commit(&mut guard, &state).await?;
    tracing::debug!("created a new keyring with the local provider");
    Ok(state)
}

async fn blocking_load(store: &Arc<dyn StateStore>) -> Result<Option<State>, StoreError> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || store.load())
        .await
        .expect("the store does not panic")
}

/// Commits under the lock. The write and its fsyncs block this thread for a
/// few milliseconds; lifecycle operations are rare.
async fn commit(guard: &mut Box<dyn StoreGuard>, state: &State) -> Result<(), StoreError> {
    guard.commit(state)
}

fn version_info(stored: &KeyVersion) -> VersionInfo {
    VersionInfo {
        version: stored.version,
        primary: stored.state == KeyState::Primary,
        created_at: stored.created_at,
        provider: stored.provider.clone(),
        master_key_id: stored.master_key_id.clone(),
    }
}

fn unexpected(message: &str) -> ProviderError {
    ProviderError::new(ProviderErrorKind::Unexpected, message)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

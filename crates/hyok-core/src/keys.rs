//! Unwrapped keys in memory, as the hot path sees them.
//!
//! A [`LiveKey`] is one DEK version unwrapped, with its age and use bounds
//! and the engine instance's current subkey. A [`KeySet`] is the immutable
//! set of live keys the hot path reads through an `ArcSwap`: readers never
//! lock, and a rotation or refresh publishes a whole new set at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;

use crate::aead::{Cipher, TAG_LEN};
use crate::clock::Instant;
use crate::dek::Dek;
use crate::engine::LimitPolicy;
use crate::error::RecordError;
use crate::record::{Algorithm, HEADER_LEN, Header, SALT_LEN, fresh_salt, subkey_cipher};

/// Bounds that apply to every live key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bounds {
    pub(crate) max_uses: u64,
    pub(crate) subkey_limit: u64,
    pub(crate) policy: LimitPolicy,
}

/// One unwrapped DEK version.
pub(crate) struct LiveKey {
    pub(crate) version: u32,
    dek: Dek,
    pub(crate) expires_at: Instant,
    uses: AtomicU64,
    bounds: Bounds,
    subkey: ArcSwap<Subkey>,
    /// Ciphers for records made by other instances (other salts), derived
    /// once and kept while this key lives.
    foreign: moka::sync::Cache<([u8; SALT_LEN], Algorithm), Arc<Cipher>>,
}

/// This instance's subkey under one DEK version.
pub(crate) struct Subkey {
    salt: [u8; SALT_LEN],
    algorithm: Algorithm,
    cipher: Arc<Cipher>,
    counter: AtomicU64,
}

impl LiveKey {
    pub(crate) fn new(
        version: u32,
        dek: Dek,
        algorithm: Algorithm,
        expires_at: Instant,
        bounds: Bounds,
    ) -> LiveKey {
        let subkey = Subkey::derive(&dek, algorithm, version);
        LiveKey {
            version,
            dek,
            expires_at,
            uses: AtomicU64::new(0),
            bounds,
            subkey: ArcSwap::from_pointee(subkey),
            foreign: moka::sync::Cache::new(1024),
        }
    }

    /// Counts one use; refuses past the age or use bound.
    pub(crate) fn take_use(&self, now: Instant) -> Result<(), RecordError> {
        let uses = self.uses.fetch_add(1, Ordering::Relaxed);
        if now >= self.expires_at || uses >= self.bounds.max_uses {
            return Err(RecordError::KeyUnavailable(self.version));
        }
        Ok(())
    }

    /// Whether the key is past, or within `margin` of, its bounds.
    pub(crate) fn is_stale(&self, now: Instant, margin: Duration) -> bool {
        let uses = self.uses.load(Ordering::Relaxed);
        now + margin >= self.expires_at || uses >= self.bounds.max_uses - self.bounds.max_uses / 4
    }

    /// Seals `record[HEADER_LEN..]` in place under this instance's subkey,
    /// writes the header into `record[..HEADER_LEN]`, and returns the tag.
    /// Derives a fresh subkey when the current one reaches its limit.
    pub(crate) fn seal(&self, record: &mut [u8], aad: &[u8]) -> Result<[u8; TAG_LEN], RecordError> {
        loop {
            let subkey = self.subkey.load();
            let counter = subkey.counter.fetch_add(1, Ordering::Relaxed);
            if counter < self.bounds.subkey_limit {
                let header = Header {
                    algorithm: subkey.algorithm,
                    version: self.version,
                    salt: subkey.salt,
                    counter,
                };
                let (head, body) = record.split_at_mut(HEADER_LEN);
                head.copy_from_slice(&header.to_bytes());
                return subkey
                    .cipher
                    .seal(counter, aad, body)
                    .map_err(|_| RecordError::TooLong);
            }
            if self.bounds.policy == LimitPolicy::Refuse {
                return Err(RecordError::LimitReached);
            }
            self.replace_subkey(&subkey);
        }
    }

    /// Opens `body` in place, checking `tag`, for a record with `header`.
    pub(crate) fn open(
        &self,
        header: &Header,
        aad: &[u8],
        body: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), RecordError> {
        let current = self.subkey.load();
        let opened = if current.salt == header.salt && current.algorithm == header.algorithm {
            current.cipher.open(header.counter, aad, body, tag)
        } else {
            let cipher = self.foreign.get_with((header.salt, header.algorithm), || {
                Arc::new(subkey_cipher(
                    &self.dek,
                    header.algorithm,
                    self.version,
                    &header.salt,
                ))
            });
            cipher.open(header.counter, aad, body, tag)
        };
        opened.map_err(|_| {
            body.fill(0);
            RecordError::Authentication
        })
    }

    /// Swaps in a fresh subkey unless another thread already did; the old
    /// one stays available for opening.
    #[cold]
    fn replace_subkey(&self, exhausted: &Arc<Subkey>) {
        let fresh = Arc::new(Subkey::derive(&self.dek, exhausted.algorithm, self.version));
        let previous = self.subkey.compare_and_swap(exhausted, fresh);
        if Arc::ptr_eq(&previous, exhausted) {
            tracing::debug!(
                version = self.version,
                "instance subkey limit reached; derived a new one"
            );
            self.foreign.insert(
                (exhausted.salt, exhausted.algorithm),
                exhausted.cipher.clone(),
            );
        }
    }
}

impl Subkey {
    fn derive(dek: &Dek, algorithm: Algorithm, version: u32) -> Subkey {
        let salt = fresh_salt();
        Subkey {
            salt,
            algorithm,
            cipher: Arc::new(subkey_cipher(dek, algorithm, version, &salt)),
            counter: AtomicU64::new(0),
        }
    }
}

/// The live keys the hot path reads.
#[derive(Default)]
pub(crate) struct KeySet {
    pub(crate) primary: u32,
    /// Sorted by version.
    pub(crate) keys: Vec<Arc<LiveKey>>,
}

impl KeySet {
    pub(crate) fn get(&self, version: u32) -> Option<&Arc<LiveKey>> {
        self.keys
            .binary_search_by_key(&version, |k| k.version)
            .ok()
            .map(|i| &self.keys[i])
    }

    pub(crate) fn primary(&self) -> Result<&Arc<LiveKey>, RecordError> {
        self.get(self.primary)
            .ok_or(RecordError::KeyUnavailable(self.primary))
    }
}

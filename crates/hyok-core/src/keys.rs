//! Unwrapped keys in memory, as the hot path sees them.
//!
//! A [`LiveKey`] is one DEK version unwrapped, with its age and use bounds.
//! A [`KeySet`] is the immutable set of live keys the hot path reads through
//! one `ArcSwap` load, together with this instance's subkey under the
//! primary version (the "sealer"): readers never lock, and a rotation, a
//! refresh or a fresh subkey publishes a whole new set at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::aead::{Cipher, TAG_LEN};
use crate::clock::Instant;
use crate::dek::Dek;
use crate::error::RecordError;
use crate::record::{Algorithm, HEADER_LEN, Header, SALT_LEN, fresh_salt, subkey_cipher};

/// Bounds that apply to every live key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bounds {
    pub(crate) max_uses: u64,
    pub(crate) subkey_limit: u64,
}

/// One unwrapped DEK version.
pub(crate) struct LiveKey {
    pub(crate) version: u32,
    dek: Dek,
    pub(crate) expires_at: Instant,
    uses: AtomicU64,
    bounds: Bounds,
    /// Ciphers for records under other salts (other instances, earlier
    /// subkeys of this one), derived once and kept while this key lives.
    others: moka::sync::Cache<([u8; SALT_LEN], Algorithm), Arc<Cipher>>,
}

/// This instance's subkey under the primary DEK version.
pub(crate) struct Subkey {
    salt: [u8; SALT_LEN],
    algorithm: Algorithm,
    cipher: Cipher,
    counter: AtomicU64,
}

impl LiveKey {
    pub(crate) fn new(version: u32, dek: Dek, expires_at: Instant, bounds: Bounds) -> LiveKey {
        LiveKey {
            version,
            dek,
            expires_at,
            uses: AtomicU64::new(0),
            bounds,
            others: moka::sync::Cache::new(1024),
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

    /// Opens `body` in place, checking `tag`, for a record with `header`;
    /// `sealer` is this instance's current subkey if this key is primary.
    pub(crate) fn open(
        &self,
        sealer: Option<&Subkey>,
        header: &Header,
        aad: &[u8],
        body: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), RecordError> {
        let opened = match sealer {
            Some(own) if own.salt == header.salt && own.algorithm == header.algorithm => {
                own.cipher.open(header.counter, aad, body, tag)
            }
            _ => {
                let cipher = self.others.get_with((header.salt, header.algorithm), || {
                    Arc::new(subkey_cipher(
                        &self.dek,
                        header.algorithm,
                        self.version,
                        &header.salt,
                    ))
                });
                cipher.open(header.counter, aad, body, tag)
            }
        };
        opened.map_err(|_| {
            body.fill(0);
            RecordError::Authentication
        })
    }

    fn derive_subkey(&self, algorithm: Algorithm) -> Subkey {
        let salt = fresh_salt();
        Subkey {
            salt,
            algorithm,
            cipher: subkey_cipher(&self.dek, algorithm, self.version, &salt),
            counter: AtomicU64::new(0),
        }
    }
}

/// Sealing stopped: the subkey reached its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Exhausted;

impl Subkey {
    /// Seals `record[HEADER_LEN..]` in place under this subkey, writes the
    /// header into `record[..HEADER_LEN]`, and returns the tag.
    pub(crate) fn seal(
        &self,
        key: &LiveKey,
        record: &mut [u8],
        aad: &[u8],
    ) -> Result<Result<[u8; TAG_LEN], RecordError>, Exhausted> {
        let counter = self.counter.fetch_add(1, Ordering::Relaxed);
        if counter >= key.bounds.subkey_limit {
            return Err(Exhausted);
        }
        let header = Header {
            algorithm: self.algorithm,
            version: key.version,
            salt: self.salt,
            counter,
        };
        let (head, body) = record.split_at_mut(HEADER_LEN);
        head.copy_from_slice(&header.to_bytes());
        Ok(self
            .cipher
            .seal(counter, aad, body)
            .map_err(|_| RecordError::TooLong))
    }
}

/// The live keys the hot path reads.
#[derive(Default)]
pub(crate) struct KeySet {
    pub(crate) primary: u32,
    /// Sorted by version.
    pub(crate) keys: Vec<Arc<LiveKey>>,
    /// This instance's subkey under the primary version, when it is loaded.
    sealer: Option<Arc<Subkey>>,
}

impl KeySet {
    /// A set of `keys` with `primary`; keeps `previous`'s sealer when the
    /// primary key is the same, so a refresh does not change the subkey.
    pub(crate) fn new(
        primary: u32,
        keys: Vec<Arc<LiveKey>>,
        previous: &KeySet,
        algorithm: Algorithm,
    ) -> KeySet {
        let mut set = KeySet {
            primary,
            keys,
            sealer: None,
        };
        let same_primary = match (set.get(primary), previous.get(previous.primary)) {
            (Some(new), Some(old)) => Arc::ptr_eq(new, old),
            _ => false,
        };
        set.sealer = match &previous.sealer {
            Some(sealer) if same_primary && sealer.algorithm == algorithm => Some(sealer.clone()),
            _ => set
                .get(primary)
                .map(|key| Arc::new(key.derive_subkey(algorithm))),
        };
        set
    }

    pub(crate) fn get(&self, version: u32) -> Option<&Arc<LiveKey>> {
        self.keys
            .binary_search_by_key(&version, |k| k.version)
            .ok()
            .map(|i| &self.keys[i])
    }

    /// The primary key and this instance's subkey under it.
    pub(crate) fn sealing(&self) -> Result<(&Arc<LiveKey>, &Arc<Subkey>), RecordError> {
        match (self.get(self.primary), &self.sealer) {
            (Some(key), Some(sealer)) => Ok((key, sealer)),
            _ => Err(RecordError::KeyUnavailable(self.primary)),
        }
    }

    /// The sealer, if `version` is the primary one.
    pub(crate) fn sealer_for(&self, version: u32) -> Option<&Subkey> {
        if version == self.primary {
            self.sealer.as_deref()
        } else {
            None
        }
    }

    /// The same set with a fresh sealer, unless `exhausted` was already
    /// replaced by another thread.
    pub(crate) fn with_fresh_sealer(&self, exhausted: &Arc<Subkey>) -> Option<KeySet> {
        let current = self.sealer.as_ref()?;
        if !Arc::ptr_eq(current, exhausted) {
            return None;
        }
        let key = self.get(self.primary)?;
        Some(KeySet {
            primary: self.primary,
            keys: self.keys.clone(),
            sealer: Some(Arc::new(key.derive_subkey(current.algorithm))),
        })
    }
}

//! The keyring: every DEK version, stored wrapped, with exactly one primary.

use serde::{Deserialize, Serialize};

use crate::dek::WrappedDek;
use crate::error::LifecycleError;
use crate::provider::EncryptionContext;

/// Context key naming the keyring a wrapped DEK belongs to.
pub const CONTEXT_KEYRING: &str = "hyok:keyring";
/// Context key naming the version a wrapped DEK belongs to.
pub const CONTEXT_VERSION: &str = "hyok:version";

/// The ordered list of DEK versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keyring {
    /// Random id of this keyring, bound into every wrap.
    pub id: String,
    /// Versions, oldest first; version numbers increase and are never reused.
    pub versions: Vec<KeyVersion>,
}

/// One DEK version, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyVersion {
    /// Version number, from 1.
    pub version: u32,
    /// Creation time, seconds since the Unix epoch.
    pub created_at: u64,
    /// Provider that wraps it (`local`, `aws`, `oci`).
    pub provider: String,
    /// Master key that wraps it.
    pub master_key_id: String,
    /// Primary or decrypt-only.
    pub state: KeyState,
    /// The DEK wrapped under that master key, bound to [`Keyring::context`].
    pub wrapped: WrappedDek,
}

/// Whether a version encrypts new records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    /// New records use it. Exactly one version is primary.
    Primary,
    /// Kept to decrypt older records.
    DecryptOnly,
}

impl Keyring {
    /// A keyring with a fresh random id and no versions.
    pub fn new() -> Keyring {
        let mut id = [0u8; 16];
        getrandom::fill(&mut id).expect("the OS random number generator failed");
        Keyring {
            id: id.iter().map(|b| format!("{b:02x}")).collect(),
            versions: Vec::new(),
        }
    }

    /// The encryption context that binds `version`'s wrap to this keyring
    /// and slot.
    pub fn context(&self, version: u32) -> EncryptionContext {
        EncryptionContext::from([
            (CONTEXT_KEYRING.to_string(), self.id.clone()),
            (CONTEXT_VERSION.to_string(), version.to_string()),
        ])
    }

    /// The primary version, if any.
    pub fn primary(&self) -> Option<&KeyVersion> {
        self.versions.iter().find(|v| v.state == KeyState::Primary)
    }

    /// The version numbered `version`.
    pub fn get(&self, version: u32) -> Option<&KeyVersion> {
        self.versions.iter().find(|v| v.version == version)
    }

    /// The number the next version gets.
    pub fn next_version(&self) -> u32 {
        self.versions.iter().map(|v| v.version).max().unwrap_or(0) + 1
    }

    /// Adds `version` as the new primary; the old primary becomes decrypt-only.
    pub fn push_primary(&mut self, mut version: KeyVersion) {
        for old in &mut self.versions {
            old.state = KeyState::DecryptOnly;
        }
        version.state = KeyState::Primary;
        self.versions.push(version);
    }

    /// Removes a decrypt-only version. Records under it no longer decrypt.
    pub fn retire(&mut self, version: u32) -> Result<(), LifecycleError> {
        let index = self
            .versions
            .iter()
            .position(|v| v.version == version)
            .ok_or(LifecycleError::UnknownVersion(version))?;
        if self.versions[index].state == KeyState::Primary {
            return Err(LifecycleError::RetirePrimary(version));
        }
        self.versions.remove(index);
        Ok(())
    }

    /// Checks the invariants a loaded keyring must hold.
    pub(crate) fn check(&self) -> Result<(), String> {
        let primaries = self
            .versions
            .iter()
            .filter(|v| v.state == KeyState::Primary)
            .count();
        if primaries != 1 {
            return Err(format!(
                "keyring has {primaries} primary versions, expected 1"
            ));
        }
        let ascending = self
            .versions
            .windows(2)
            .all(|w| w[0].version < w[1].version);
        if !ascending || self.versions.iter().any(|v| v.version == 0) {
            return Err("keyring versions are not strictly increasing from 1".to_string());
        }
        Ok(())
    }
}

impl Default for Keyring {
    fn default() -> Self {
        Keyring::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(n: u32) -> KeyVersion {
        KeyVersion {
            version: n,
            created_at: 0,
            provider: "local".into(),
            master_key_id: "k".into(),
            state: KeyState::Primary,
            wrapped: WrappedDek::new(vec![n as u8]),
        }
    }

    #[test]
    fn one_primary_after_pushes() {
        let mut ring = Keyring::new();
        ring.push_primary(version(1));
        ring.push_primary(version(2));
        assert_eq!(ring.primary().unwrap().version, 2);
        assert_eq!(ring.get(1).unwrap().state, KeyState::DecryptOnly);
        assert_eq!(ring.next_version(), 3);
        ring.check().unwrap();
    }

    #[test]
    fn retire_refuses_primary_and_unknown() {
        let mut ring = Keyring::new();
        ring.push_primary(version(1));
        ring.push_primary(version(2));
        assert!(matches!(
            ring.retire(2),
            Err(LifecycleError::RetirePrimary(2))
        ));
        assert!(matches!(
            ring.retire(9),
            Err(LifecycleError::UnknownVersion(9))
        ));
        ring.retire(1).unwrap();
        assert_eq!(ring.versions.len(), 1);
        assert_eq!(ring.next_version(), 3, "numbers are never reused");
    }

    #[test]
    fn debug_shows_no_key_bytes() {
        let shown = format!("{:?}", version(7));
        assert_eq!(
            shown,
            "KeyVersion { version: 7, created_at: 0, provider: \"local\", \
             master_key_id: \"k\", state: Primary, wrapped: WrappedDek(1 bytes) }"
        );
    }

    #[test]
    fn context_binds_keyring_and_version() {
        let ring = Keyring::new();
        assert_ne!(ring.context(1), ring.context(2));
        assert_ne!(ring.context(1), Keyring::new().context(1));
    }
}

//! Data encryption keys, in clear (in memory only) and wrapped.

use std::fmt;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Length in bytes of every data encryption key.
pub const DEK_LEN: usize = 32;

/// A 256-bit data encryption key, in clear.
///
/// The bytes live only in memory and are wiped when the value drops. The type
/// has no `Clone`, no `Serialize`, and its `Debug` shows nothing of the key.
/// Key material unwrapped by any provider goes straight into this type.
pub struct Dek(Zeroizing<[u8; DEK_LEN]>);

impl Dek {
    /// Draws a fresh key from the operating system's random number generator.
    ///
    /// # Panics
    ///
    /// Panics if the operating system cannot provide randomness; an engine
    /// that cannot draw keys must not go on.
    pub fn generate() -> Dek {
        let mut bytes = Zeroizing::new([0u8; DEK_LEN]);
        getrandom::fill(bytes.as_mut()).expect("the OS random number generator failed");
        Dek(bytes)
    }

    /// Takes key bytes handed back by a provider.
    ///
    /// Returns [`WrongLength`] unless `bytes` is exactly [`DEK_LEN`] long. The
    /// caller keeps ownership of `bytes` and should wipe it.
    pub fn from_slice(bytes: &[u8]) -> Result<Dek, WrongLength> {
        let array: [u8; DEK_LEN] = bytes.try_into().map_err(|_| WrongLength(bytes.len()))?;
        Ok(Dek(Zeroizing::new(array)))
    }

    /// The key bytes. Whatever they are copied into must be wiped after use.
    pub fn expose_secret(&self) -> &[u8; DEK_LEN] {
        &self.0
    }
}

impl fmt::Debug for Dek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Dek([REDACTED])")
    }
}

/// Key material of the wrong length was offered as a data key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a data key must be 32 bytes, got {0}")]
pub struct WrongLength(pub usize);

/// A data key wrapped under a master key: opaque bytes that only the provider
/// that made them can turn back into a [`Dek`].
///
/// Wrapped keys are not secret and are stored as they are.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrappedDek(#[serde(with = "crate::b64")] Vec<u8>);

impl WrappedDek {
    /// Wraps provider output.
    pub fn new(bytes: Vec<u8>) -> WrappedDek {
        WrappedDek(bytes)
    }

    /// The opaque bytes, as the provider returned them.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for WrappedDek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WrappedDek({} bytes)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let dek = Dek::from_slice(&[0xAB; 32]).unwrap();
        assert_eq!(format!("{dek:?}"), "Dek([REDACTED])");
        let wrapped = WrappedDek::new(vec![1, 2, 3]);
        assert_eq!(format!("{wrapped:?}"), "WrappedDek(3 bytes)");
    }

    #[test]
    fn wrong_length_is_refused() {
        assert_eq!(Dek::from_slice(&[0; 31]).unwrap_err(), WrongLength(31));
        assert_eq!(Dek::from_slice(&[0; 33]).unwrap_err(), WrongLength(33));
    }

    #[test]
    fn generated_keys_differ() {
        let a = Dek::generate();
        let b = Dek::generate();
        assert_ne!(a.expose_secret(), b.expose_secret());
    }
}

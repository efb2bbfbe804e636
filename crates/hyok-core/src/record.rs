//! The record format (version 1) and the instance subkeys behind it.
//!
//! ```text
//! offset  length  field
//!      0       1  format version, 0x01
//!      1       1  algorithm id: 0x01 AES-256-GCM, 0x02 XChaCha20-Poly1305
//!      2       4  DEK version, big endian
//!      6      16  instance salt (random per engine instance and subkey)
//!     22       8  message counter under that subkey, big endian
//!     30       n  ciphertext (as long as the plaintext)
//!   30+n      16  tag
//! ```
//!
//! Overhead: 46 bytes. The AEAD key is the instance subkey
//! `HKDF-SHA256(salt = instance salt, ikm = DEK, info = "hyok/record/v1" ||
//! algorithm id || DEK version)`, the nonce is the counter (zeros, then the
//! counter), and the associated data is the caller's. Every header field is
//! thereby authenticated without being copied into the associated data: a
//! changed version, algorithm or salt selects another key, a changed counter
//! another nonce, and the tag fails.

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::aead::Cipher;
use crate::dek::Dek;
use crate::error::RecordError;

/// Record format version written by this engine.
pub const FORMAT_VERSION: u8 = 1;
/// Length of the record header.
pub const HEADER_LEN: usize = 30;
/// Length of the tag at the end of a record.
pub const TAG_LEN: usize = crate::aead::TAG_LEN;
/// Bytes a record adds to its plaintext: header and tag.
pub const OVERHEAD: usize = HEADER_LEN + TAG_LEN;
/// Length of the instance salt.
pub(crate) const SALT_LEN: usize = 16;

/// Record algorithm for new records. Decryption accepts both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Algorithm {
    /// AES-256-GCM (algorithm id 1), the default.
    #[default]
    Aes256Gcm,
    /// XChaCha20-Poly1305 (algorithm id 2).
    XChaCha20Poly1305,
}

impl Algorithm {
    /// The id written into records.
    pub fn id(self) -> u8 {
        match self {
            Algorithm::Aes256Gcm => 1,
            Algorithm::XChaCha20Poly1305 => 2,
        }
    }

    /// The algorithm with record id `id`.
    pub fn from_id(id: u8) -> Option<Algorithm> {
        match id {
            1 => Some(Algorithm::Aes256Gcm),
            2 => Some(Algorithm::XChaCha20Poly1305),
            _ => None,
        }
    }
}

/// A parsed record header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) algorithm: Algorithm,
    pub(crate) version: u32,
    pub(crate) salt: [u8; SALT_LEN],
    pub(crate) counter: u64,
}

impl Header {
    /// Reads the header of `record`, checking only what is in clear.
    pub(crate) fn parse(record: &[u8]) -> Result<Header, RecordError> {
        if let Some(&format) = record.first()
            && format != FORMAT_VERSION
        {
            return Err(RecordError::UnknownFormat(format));
        }
        if record.len() < OVERHEAD {
            return Err(RecordError::TooShort);
        }
        let algorithm =
            Algorithm::from_id(record[1]).ok_or(RecordError::UnknownAlgorithm(record[1]))?;
        Ok(Header {
            algorithm,
            version: u32::from_be_bytes(record[2..6].try_into().expect("4 bytes")),
            salt: record[6..22].try_into().expect("16 bytes"),
            counter: u64::from_be_bytes(record[22..30].try_into().expect("8 bytes")),
        })
    }

    /// The header's bytes.
    pub(crate) fn to_bytes(self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0] = FORMAT_VERSION;
        out[1] = self.algorithm.id();
        out[2..6].copy_from_slice(&self.version.to_be_bytes());
        out[6..22].copy_from_slice(&self.salt);
        out[22..30].copy_from_slice(&self.counter.to_be_bytes());
        out
    }
}

/// Derives the cipher of one instance subkey.
pub(crate) fn subkey_cipher(
    dek: &Dek,
    algorithm: Algorithm,
    version: u32,
    salt: &[u8; SALT_LEN],
) -> Cipher {
    let mut info = [0u8; 19];
    info[..14].copy_from_slice(b"hyok/record/v1");
    info[14] = algorithm.id();
    info[15..].copy_from_slice(&version.to_be_bytes());

    let mut key = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(salt), dek.expose_secret())
        .expand(&info, key.as_mut())
        .expect("32 bytes is a valid HKDF-SHA256 output length");

    match algorithm {
        Algorithm::Aes256Gcm => Cipher::aes256gcm(&key),
        Algorithm::XChaCha20Poly1305 => Cipher::xchacha20poly1305(&key),
    }
}

/// A fresh random instance salt.
pub(crate) fn fresh_salt() -> [u8; SALT_LEN] {
    let mut salt = [0u8; SALT_LEN];
    getrandom::fill(&mut salt).expect("the OS random number generator failed");
    salt
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip() {
        let header = Header {
            algorithm: Algorithm::XChaCha20Poly1305,
            version: 0x01020304,
            salt: [7; 16],
            counter: 0x1122334455667788,
        };
        let mut record = header.to_bytes().to_vec();
        record.extend_from_slice(&[0; TAG_LEN]);
        assert_eq!(Header::parse(&record).unwrap(), header);
        assert_eq!(&record[..6], &[1, 2, 1, 2, 3, 4]);
    }

    #[test]
    fn structural_errors_are_specific() {
        assert_eq!(Header::parse(&[]), Err(RecordError::TooShort));
        assert_eq!(Header::parse(&[1; 45]), Err(RecordError::TooShort));
        assert_eq!(Header::parse(&[9; 60]), Err(RecordError::UnknownFormat(9)));
        let mut record = [0u8; 46];
        record[0] = 1;
        record[1] = 3;
        assert_eq!(
            Header::parse(&record),
            Err(RecordError::UnknownAlgorithm(3))
        );
    }
}

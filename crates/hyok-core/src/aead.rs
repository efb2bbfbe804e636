//! The seam between the record format and the AEAD libraries.
//!
//! One [`Cipher`] per (DEK version, instance subkey) holds the expanded key
//! schedule, so no record pays for key setup. AES-256-GCM comes from
//! RustCrypto `aes-gcm` (default; wipes its key schedule on drop) or from
//! `ring` (feature `ring`; faster, does not wipe). XChaCha20-Poly1305 always
//! comes from RustCrypto `chacha20poly1305` (wipes on drop).

use aes_gcm::aead::{AeadInOut, KeyInit};
use chacha20poly1305::XChaCha20Poly1305;

/// Length of every tag.
pub(crate) const TAG_LEN: usize = 16;

/// A keyed AEAD. Nonces are built from a 64-bit counter by [`nonce_of`].
#[allow(
    clippy::large_enum_variant,
    reason = "ciphers always live behind an Arc; boxing ring's key would add a pointer chase per record"
)]
pub(crate) enum Cipher {
    Aes(AesBackend),
    XChaCha(Box<XChaCha20Poly1305>),
}

/// The AEAD failed to authenticate (or the input was too long).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AeadFailure;

impl Cipher {
    /// AES-256-GCM under `key`.
    pub(crate) fn aes256gcm(key: &[u8; 32]) -> Cipher {
        Cipher::Aes(AesBackend::new(key))
    }

    /// XChaCha20-Poly1305 under `key`.
    pub(crate) fn xchacha20poly1305(key: &[u8; 32]) -> Cipher {
        Cipher::XChaCha(Box::new(XChaCha20Poly1305::new(key.into())))
    }

    /// Encrypts `buf` in place under the nonce made from `counter`; returns the tag.
    pub(crate) fn seal(
        &self,
        counter: u64,
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; TAG_LEN], AeadFailure> {
        match self {
            Cipher::Aes(aes) => aes.seal(&nonce_of::<12>(counter), aad, buf),
            Cipher::XChaCha(cipher) => {
                let nonce = nonce_of::<24>(counter);
                let tag = cipher
                    .encrypt_inout_detached((&nonce).into(), aad, buf.into())
                    .map_err(|_| AeadFailure)?;
                Ok(tag.into())
            }
        }
    }

    /// Decrypts `buf` in place under the nonce made from `counter`, checking `tag`.
    ///
    /// On failure the contents of `buf` are unspecified; callers discard it.
    pub(crate) fn open(
        &self,
        counter: u64,
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), AeadFailure> {
        match self {
            Cipher::Aes(aes) => aes.open(&nonce_of::<12>(counter), aad, buf, tag),
            Cipher::XChaCha(cipher) => {
                let nonce = nonce_of::<24>(counter);
                cipher
                    .decrypt_inout_detached((&nonce).into(), aad, buf.into(), tag.into())
                    .map_err(|_| AeadFailure)
            }
        }
    }
}

/// The nonce for message number `counter`: zeros, then the counter in big
/// endian. This is the deterministic construction of NIST SP 800-38D §8.2.1
/// (fixed field all zero, invocation field the counter); uniqueness holds as
/// long as one subkey never sees the same counter twice.
pub(crate) fn nonce_of<const N: usize>(counter: u64) -> [u8; N] {
    let mut nonce = [0u8; N];
    nonce[N - 8..].copy_from_slice(&counter.to_be_bytes());
    nonce
}

#[cfg(not(feature = "ring"))]
pub(crate) use rustcrypto_backend::AesBackend;

#[cfg(feature = "ring")]
pub(crate) use ring_backend::AesBackend;

/// AES-256-GCM from RustCrypto: pure Rust (AES-NI and CLMUL where present),
/// key schedule wiped on drop.
#[cfg(not(feature = "ring"))]
mod rustcrypto_backend {
    use aes_gcm::Aes256Gcm;
    use aes_gcm::aead::{AeadInOut, KeyInit};

    use super::{AeadFailure, TAG_LEN};

    pub(crate) struct AesBackend(Box<Aes256Gcm>);

    impl AesBackend {
        pub(crate) fn new(key: &[u8; 32]) -> AesBackend {
            AesBackend(Box::new(Aes256Gcm::new(key.into())))
        }

        pub(crate) fn seal(
            &self,
            nonce: &[u8; 12],
            aad: &[u8],
            buf: &mut [u8],
        ) -> Result<[u8; TAG_LEN], AeadFailure> {
            let tag = self
                .0
                .encrypt_inout_detached(nonce.into(), aad, buf.into())
                .map_err(|_| AeadFailure)?;
            Ok(tag.into())
        }

        pub(crate) fn open(
            &self,
            nonce: &[u8; 12],
            aad: &[u8],
            buf: &mut [u8],
            tag: &[u8; TAG_LEN],
        ) -> Result<(), AeadFailure> {
            self.0
                .decrypt_inout_detached(nonce.into(), aad, buf.into(), tag.into())
                .map_err(|_| AeadFailure)
        }
    }
}

/// AES-256-GCM from ring: VAES/AVX2 assembly, faster from a few hundred
/// bytes up. ring keeps the expanded key in its own type and does not wipe
/// it on drop.
#[cfg(feature = "ring")]
mod ring_backend {
    use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, Tag, UnboundKey};

    use super::{AeadFailure, TAG_LEN};

    pub(crate) struct AesBackend(LessSafeKey);

    impl AesBackend {
        pub(crate) fn new(key: &[u8; 32]) -> AesBackend {
            let key = UnboundKey::new(&AES_256_GCM, key).expect("a 32-byte AES-256 key");
            AesBackend(LessSafeKey::new(key))
        }

        pub(crate) fn seal(
            &self,
            nonce: &[u8; 12],
            aad: &[u8],
            buf: &mut [u8],
        ) -> Result<[u8; TAG_LEN], AeadFailure> {
            let nonce = Nonce::assume_unique_for_key(*nonce);
            let tag = self
                .0
                .seal_in_place_separate_tag(nonce, Aad::from(aad), buf)
                .map_err(|_| AeadFailure)?;
            Ok(tag.as_ref().try_into().expect("a 16-byte tag"))
        }

        pub(crate) fn open(
            &self,
            nonce: &[u8; 12],
            aad: &[u8],
            buf: &mut [u8],
            tag: &[u8; TAG_LEN],
        ) -> Result<(), AeadFailure> {
            let nonce = Nonce::assume_unique_for_key(*nonce);
            let tag = Tag::from(*tag);
            self.0
                .open_in_place_separate_tag(nonce, Aad::from(aad), tag, buf, 0..)
                .map(|_| ())
                .map_err(|_| AeadFailure)
        }
    }
}

#[cfg(test)]
mod tests {
    //! Wycheproof known-answer tests through the calls the engine uses.
    //! Vectors: C2SP Wycheproof, Apache-2.0 (tests/data/wycheproof/LICENSE).

    use serde::Deserialize;

    use super::*;

    #[derive(Deserialize)]
    struct File {
        #[serde(rename = "testGroups")]
        groups: Vec<Group>,
    }

    #[derive(Deserialize)]
    struct Group {
        #[serde(rename = "keySize")]
        key_size: usize,
        #[serde(rename = "ivSize")]
        iv_size: usize,
        #[serde(rename = "tagSize")]
        tag_size: usize,
        tests: Vec<Case>,
    }

    #[derive(Deserialize)]
    struct Case {
        #[serde(rename = "tcId")]
        id: u32,
        key: String,
        iv: String,
        aad: String,
        msg: String,
        ct: String,
        tag: String,
        result: String,
    }

    fn load(name: &str) -> File {
        let path = format!(
            "{}/tests/data/wycheproof/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap()
    }

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Runs every case of `name` with a 256-bit key, 128-bit tag and
    /// `iv_bits` nonce through `open`/`seal`, where the nonce's last 8 bytes
    /// are the counter and the rest must be zero; other nonces go through
    /// the same backend objects directly. Returns how many cases ran.
    fn run(name: &str, iv_bits: usize, make: fn(&[u8; 32]) -> Cipher) -> usize {
        let mut ran = 0;
        for group in load(name).groups {
            if group.key_size != 256 || group.iv_size != iv_bits || group.tag_size != 128 {
                continue;
            }
            for case in group.tests {
                let key: [u8; 32] = hex(&case.key).try_into().unwrap();
                let cipher = make(&key);
                let (iv, aad, msg) = (hex(&case.iv), hex(&case.aad), hex(&case.msg));
                let (ct, tag) = (hex(&case.ct), hex(&case.tag));
                let tag: [u8; 16] = tag.try_into().unwrap();
                let valid = case.result == "valid";

                let mut buf = ct.clone();
                let opened = open_with_iv(&cipher, &iv, &aad, &mut buf, &tag);
                assert_eq!(opened.is_ok(), valid, "{name} case {} open", case.id);
                if valid {
                    assert_eq!(buf, msg, "{name} case {} plaintext", case.id);
                    let mut buf = msg.clone();
                    let sealed = seal_with_iv(&cipher, &iv, &aad, &mut buf).unwrap();
                    assert_eq!((buf, sealed), (ct, tag), "{name} case {} seal", case.id);
                }
                ran += 1;
            }
        }
        ran
    }

    fn open_with_iv(
        cipher: &Cipher,
        iv: &[u8],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; 16],
    ) -> Result<(), AeadFailure> {
        match counter_of(iv) {
            Some(counter) => cipher.open(counter, aad, buf, tag),
            None => match cipher {
                Cipher::Aes(aes) => aes.open(iv.try_into().unwrap(), aad, buf, tag),
                Cipher::XChaCha(c) => c
                    .decrypt_inout_detached(iv.try_into().unwrap(), aad, buf.into(), tag.into())
                    .map_err(|_| AeadFailure),
            },
        }
    }

    fn seal_with_iv(
        cipher: &Cipher,
        iv: &[u8],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; 16], AeadFailure> {
        match counter_of(iv) {
            Some(counter) => cipher.seal(counter, aad, buf),
            None => match cipher {
                Cipher::Aes(aes) => aes.seal(iv.try_into().unwrap(), aad, buf),
                Cipher::XChaCha(c) => c
                    .encrypt_inout_detached(iv.try_into().unwrap(), aad, buf.into())
                    .map(Into::into)
                    .map_err(|_| AeadFailure),
            },
        }
    }

    /// The counter, when `iv` is of the engine's own shape (zeros, then a counter).
    fn counter_of(iv: &[u8]) -> Option<u64> {
        let (fixed, counter) = iv.split_at(iv.len() - 8);
        fixed
            .iter()
            .all(|&b| b == 0)
            .then(|| u64::from_be_bytes(counter.try_into().unwrap()))
    }

    #[test]
    fn wycheproof_aes_256_gcm() {
        let ran = run("aes_gcm_test.json", 96, Cipher::aes256gcm);
        assert_eq!(ran, 66, "every AES-256-GCM 96-bit-nonce case");
    }

    #[test]
    fn wycheproof_xchacha20_poly1305() {
        let ran = run(
            "xchacha20_poly1305_test.json",
            192,
            Cipher::xchacha20poly1305,
        );
        // The other 9 cases have nonces of other lengths, which the engine's
        // 24-byte nonce type cannot express.
        assert_eq!(ran, 306, "every XChaCha20-Poly1305 192-bit-nonce case");
    }

    #[test]
    fn nonce_is_zeros_then_counter() {
        assert_eq!(nonce_of::<12>(0x0102), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2]);
        assert_eq!(nonce_of::<24>(1)[23], 1);
    }
}

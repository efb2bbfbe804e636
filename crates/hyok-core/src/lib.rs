//! The core of hyok: envelope encryption whose master key the customer holds.
//!
//! Records (fields, rows, blobs) are encrypted in line with data encryption
//! keys ([`Dek`]s) that exist in clear only in memory. Every DEK is stored
//! wrapped under a master key held by a [`Provider`]: the local key file by
//! default, or the customer's AWS KMS or OCI Vault key (crates `hyok-aws`,
//! `hyok-oci`). When the customer revokes the master key, the engine can no
//! longer unwrap, and once the in-memory bound passes the data goes dark.
//!
//! # Which type to reach for
//!
//! - [`Engine`]: the one handle an application opens on a data directory.
//!   Its hot path ([`Engine::encrypt`], [`Engine::decrypt`], the `_in_place`,
//!   `_into` and `_batch` forms, and [`Engine::encrypt_framed`], which seals
//!   a plaintext laid out with room for header and tag without copying it) is synchronous, lock-free for readers and
//!   never calls the KMS. Its lifecycle ([`Engine::create_provider`],
//!   [`Engine::update_provider`], [`Engine::rotate`], [`Engine::retire`],
//!   [`Engine::refresh`]) is async and is where the provider is called.
//! - [`Provider`] and [`ProviderFactory`]: implement these to add a KMS.
//!   Register factories in a [`ProviderRegistry`] passed through
//!   [`EngineOptions::registry`].
//! - [`StateStore`]: where the keyring and the provider configuration live;
//!   [`FileStore`] is the embedded default.
//!
//! ```
//! use hyok_core::{Engine, EngineOptions};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! let engine = Engine::open(EngineOptions::new(dir.path())).await?;
//! let record = engine.encrypt(b"4111 1111 1111 1111", b"payments/card/42")?;
//! assert_eq!(engine.decrypt(&record, b"payments/card/42")?, b"4111 1111 1111 1111");
//! // The same record in another field does not decrypt.
//! assert!(engine.decrypt(&record, b"payments/card/43").is_err());
//! # Ok(())
//! # }
//! ```
//!
//! # Record format
//!
//! See [`record`] for the byte layout (46 bytes of overhead: 30 of header,
//! 16 of tag). Records are frozen by known-answer tests; a change of layout
//! is a new format version.
//!
//! # Nonce safety across processes
//!
//! A DEK is shared by every process and replica that opens the keyring, so
//! no per-process counter can bound how often it is used. The engine never
//! encrypts under the DEK itself. Each engine instance draws a random 128-bit
//! salt and derives its own subkey `HKDF-SHA256(salt, DEK, "hyok/record/v1"
//! || algorithm || version)`; under that subkey, nonces are a 64-bit counter
//! taken with one atomic add (NIST SP 800-38D §8.2.1, deterministic
//! construction). The salt travels in the record.
//!
//! - Within one subkey, a nonce never repeats: the counter only grows, and
//!   the engine stops at the subkey limit (2^32 messages by default and at
//!   most; [`EngineOptions::subkey_limit`]), then either derives a fresh
//!   subkey with a new salt ([`LimitPolicy::Rederive`], the default) or
//!   refuses ([`LimitPolicy::Refuse`]).
//! - Across subkeys, nonces may coincide but keys differ. Two subkeys are
//!   equal only if two salts collide: among `n` subkeys of one DEK that has
//!   probability below `n² / 2^129`, so 2^32 subkeys (a million replicas each
//!   restarting four thousand times) stay below 2^-65.
//! - Each subkey therefore sees at most 2^32 messages, the bound SP 800-38D
//!   sets for one key, whatever the number of processes.
//!
//! # Unwrapped-key cache
//!
//! Unwrapped DEKs are held with an age bound ([`EngineOptions::key_max_age`],
//! 5 minutes by default) and a use bound ([`EngineOptions::key_max_uses`]).
//! Past either bound the hot path refuses with [`RecordError::KeyUnavailable`]
//! until [`Engine::refresh`] unwraps the key again through the provider;
//! [`Engine::spawn_refresher`] does that ahead of the bounds. The hot path
//! reads a coarse clock (`quanta`'s recent time, advanced every 5 ms by one
//! background thread per process) rather than the system clock, so the age
//! bound holds to within 5 ms. So a revoked
//! master key takes effect within the age bound, and nothing ever falls back
//! to another key or to plaintext.
//!
//! # Backends
//!
//! AES-256-GCM comes from RustCrypto `aes-gcm` by default (pure Rust with
//! AES-NI/CLMUL; its expanded key schedule is wiped on drop), or from `ring`
//! with the cargo feature `ring` (VAES/AVX2 assembly, faster; ring does not
//! wipe its expanded key schedule on drop). XChaCha20-Poly1305
//! ([`Algorithm::XChaCha20Poly1305`]) always comes from RustCrypto
//! `chacha20poly1305` and wipes on drop. Both backends pass the same
//! Wycheproof vectors and format tests.
//!
//! # Guarantees and limits
//!
//! - DEKs, subkeys, the local master key and unsealed provider secrets are
//!   wiped on drop (`zeroize`). Copies the OS makes (swap, core dumps) and
//!   copies inside `ring` (feature `ring`) are outside that guarantee; so is
//!   plaintext the caller hands in or gets back.
//! - Every authentication failure is the one [`RecordError::Authentication`].
//! - A lifecycle operation that fails at any provider call or store write
//!   commits nothing: the state file is replaced in one atomic rename.
//! - Rewrap proves every new wrap by unwrapping it before the commit, at the
//!   cost of one more KMS call per version.
//! - The local provider's master key sits in a file readable by the service
//!   user: HYOK is off in that mode by definition.
//! - AES-GCM and XChaCha20-Poly1305 are not key-committing. A record names
//!   its key through the header (version, salt), never by trial decryption.
//! - Not supported: asymmetric master keys, multi-region key failover, a
//!   shared database store (the [`StateStore`] trait is the seam for it).

mod aead;
mod b64;
mod clock;
pub mod dek;
pub mod engine;
pub mod error;
pub mod keyring;
mod keys;
pub mod local;
pub mod provider;
pub mod record;
pub mod store;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use dek::{DEK_LEN, Dek, WrappedDek};
pub use engine::{
    Engine, EngineOptions, LimitPolicy, OpenError, ProviderSummary, Status, VersionInfo,
};
pub use error::{LifecycleError, RecordError, StoreError};
pub use local::{LocalMasterKey, LocalProvider};
pub use provider::{
    EncryptionContext, FieldSpec, Provider, ProviderConfig, ProviderError, ProviderErrorKind,
    ProviderFactory, ProviderInfo, ProviderRegistry,
};
pub use record::{Algorithm, HEADER_LEN, OVERHEAD, TAG_LEN};
pub use store::{FileStore, State, StateStore, StoreGuard};

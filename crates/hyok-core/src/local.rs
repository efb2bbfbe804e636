//! The local provider: a master key in a file beside the state.
//!
//! This is the embedded default and the "system-managed" mode when HYOK is
//! off. The key file `master.key` holds 32 random bytes, mode 0600, created
//! on first use. Two keys are derived from it with HKDF-SHA256: one wraps
//! DEKs (AES-256-GCM, random 96-bit nonce, the encryption context as
//! associated data), one seals provider secrets in the state file.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use async_trait::async_trait;
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::dek::{Dek, WrappedDek};
use crate::error::StoreError;
use crate::provider::{
    EncryptionContext, Provider, ProviderError, ProviderErrorKind, ProviderInfo,
};

/// Name of the master key file in the data directory.
pub const MASTER_KEY_FILE: &str = "master.key";

const WRAP_FORMAT: u8 = 1;
const NONCE_LEN: usize = 12;

/// The local master key, loaded from (or created in) a data directory.
pub struct LocalMasterKey {
    wrap_key: Zeroizing<[u8; 32]>,
    seal_key: Zeroizing<[u8; 32]>,
    id: String,
}

impl LocalMasterKey {
    /// Loads `master.key` from `dir`, creating it (mode 0600) if absent.
    ///
    /// Creation is atomic: the key is written to a temporary file, synced,
    /// and linked into place only if no other process got there first.
    pub fn load_or_create(dir: &Path) -> Result<LocalMasterKey, StoreError> {
        let path = dir.join(MASTER_KEY_FILE);
        match read_key(&path) {
            Ok(key) => return Ok(Self::from_bytes(&key)),
            Err(StoreError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(err),
        }
        create_key(dir, &path)?;
        Ok(Self::from_bytes(&*read_key(&path)?))
    }

    fn from_bytes(master: &[u8; 32]) -> LocalMasterKey {
        let hkdf = Hkdf::<Sha256>::new(None, master);
        let mut wrap_key = Zeroizing::new([0u8; 32]);
        let mut seal_key = Zeroizing::new([0u8; 32]);
        let mut id = [0u8; 8];
        hkdf.expand(b"hyok/local/wrap/v1", wrap_key.as_mut())
            .expect("valid length");
        hkdf.expand(b"hyok/local/seal/v1", seal_key.as_mut())
            .expect("valid length");
        hkdf.expand(b"hyok/local/id/v1", &mut id)
            .expect("valid length");
        let id = format!(
            "local:{}",
            id.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        LocalMasterKey {
            wrap_key,
            seal_key,
            id,
        }
    }

    /// A public identifier of this key (not derived from anything secret
    /// that could be recovered from it).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Seals `plaintext` (provider secrets) bound to `aad`.
    pub(crate) fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        aead_seal(&self.seal_key, plaintext, aad)
    }

    /// Opens what [`seal`](Self::seal) made; `None` if it does not authenticate.
    pub(crate) fn open(&self, sealed: &[u8], aad: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        aead_open(&self.seal_key, sealed, aad)
    }
}

impl fmt::Debug for LocalMasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalMasterKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// The provider over the local master key.
#[derive(Debug, Clone)]
pub struct LocalProvider {
    key: Arc<LocalMasterKey>,
}

impl LocalProvider {
    /// Provider name of the local provider.
    pub const NAME: &'static str = "local";

    /// A provider wrapping under `key`.
    pub fn new(key: Arc<LocalMasterKey>) -> LocalProvider {
        LocalProvider { key }
    }
}

#[async_trait]
impl Provider for LocalProvider {
    fn describe(&self) -> ProviderInfo {
        ProviderInfo {
            name: Self::NAME.to_string(),
            master_key_id: self.key.id.clone(),
        }
    }

    async fn validate(&self) -> Result<(), ProviderError> {
        Ok(())
    }

    async fn wrap(
        &self,
        dek: &Dek,
        context: &EncryptionContext,
    ) -> Result<WrappedDek, ProviderError> {
        let aad = context_bytes(context);
        Ok(WrappedDek::new(aead_seal(
            &self.key.wrap_key,
            dek.expose_secret(),
            &aad,
        )))
    }

    async fn unwrap(
        &self,
        wrapped: &WrappedDek,
        context: &EncryptionContext,
    ) -> Result<Dek, ProviderError> {
        let aad = context_bytes(context);
        let refused = || {
            ProviderError::new(
                ProviderErrorKind::UnwrapFailed,
                "the wrapped key does not open under the local master key and this context",
            )
        };
        let clear = aead_open(&self.key.wrap_key, wrapped.as_bytes(), &aad).ok_or_else(refused)?;
        Dek::from_slice(&clear).map_err(|_| refused())
    }
}

/// The canonical bytes of an encryption context: its JSON (keys sorted).
pub(crate) fn context_bytes(context: &EncryptionContext) -> Vec<u8> {
    serde_json::to_vec(context).expect("a string map always serialises")
}

pub(crate) fn aead_seal(key: &[u8; 32], plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).expect("the OS random number generator failed");
    let cipher = Aes256Gcm::new(key.into());
    let sealed = cipher
        .encrypt(
            (&nonce).into(),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .expect("AES-GCM seals any input below 64 GiB");
    let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
    out.push(WRAP_FORMAT);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    out
}

pub(crate) fn aead_open(key: &[u8; 32], sealed: &[u8], aad: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let (&format, rest) = sealed.split_first()?;
    if format != WRAP_FORMAT || rest.len() < NONCE_LEN + 16 {
        return None;
    }
    let (nonce, body) = rest.split_at(NONCE_LEN);
    let nonce: &[u8; NONCE_LEN] = nonce.try_into().ok()?;
    let cipher = Aes256Gcm::new(key.into());
    cipher
        .decrypt(nonce.into(), Payload { msg: body, aad })
        .ok()
        .map(Zeroizing::new)
}

fn read_key(path: &Path) -> Result<Zeroizing<[u8; 32]>, StoreError> {
    let bytes = Zeroizing::new(fs::read(path).map_err(|e| StoreError::io(path, e))?);
    let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
        StoreError::corrupt(path, format!("expected 32 bytes, found {}", bytes.len()))
    })?;
    Ok(Zeroizing::new(key))
}

fn create_key(dir: &Path, path: &Path) -> Result<(), StoreError> {
    create_private_dir(dir)?;
    let mut key = Zeroizing::new([0u8; 32]);
    getrandom::fill(key.as_mut()).expect("the OS random number generator failed");

    let temp = temp_path(dir, MASTER_KEY_FILE);
    write_private(&temp, key.as_ref())?;
    let linked = fs::hard_link(&temp, path);
    let _ = fs::remove_file(&temp);
    match linked {
        Ok(()) => sync_dir(dir),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::io(path, e)),
    }
}

/// Creates `dir` (and missing parents) with mode 0700 if it does not exist.
/// An existing directory keeps its mode: the operator may have chosen it.
pub(crate) fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| StoreError::io(dir, e))
}

/// A unique temporary name in `dir` for writing `name`.
pub(crate) fn temp_path(dir: &Path, name: &str) -> PathBuf {
    let mut tag = [0u8; 8];
    getrandom::fill(&mut tag).expect("the OS random number generator failed");
    let tag: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    dir.join(format!(".{name}.{}.{tag}.tmp", std::process::id()))
}

/// Writes `bytes` to a new file at `path` with mode 0600 and syncs it.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| StoreError::io(path, e))?;
    // The mode above is filtered by the umask; make sure it is exactly 0600.
    file.set_permissions(fs::Permissions::from_mode(0o600))
        .map_err(|e| StoreError::io(path, e))?;
    file.write_all(bytes).map_err(|e| StoreError::io(path, e))?;
    file.sync_all().map_err(|e| StoreError::io(path, e))
}

/// Syncs a directory so that a rename or link in it is durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{conformance, context_of};

    #[tokio::test]
    async fn passes_conformance() {
        let dir = tempfile::tempdir().unwrap();
        let key = LocalMasterKey::load_or_create(dir.path()).unwrap();
        conformance(&LocalProvider::new(Arc::new(key))).await;
    }

    #[test]
    fn new_data_directory_is_private() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("hyok-data");
        LocalMasterKey::load_or_create(&dir).unwrap();
        let mode = fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[tokio::test]
    async fn key_file_is_private_and_stable() {
        let dir = tempfile::tempdir().unwrap();
        let first = LocalMasterKey::load_or_create(dir.path()).unwrap();
        let mode = fs::metadata(dir.path().join(MASTER_KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);

        let second = LocalMasterKey::load_or_create(dir.path()).unwrap();
        assert_eq!(first.id(), second.id());
        let context = context_of(&[("a", "b")]);
        let dek = Dek::generate();
        let wrapped = LocalProvider::new(Arc::new(first))
            .wrap(&dek, &context)
            .await
            .unwrap();
        let back = LocalProvider::new(Arc::new(second))
            .unwrap(&wrapped, &context)
            .await
            .unwrap();
        assert_eq!(back.expose_secret(), dek.expose_secret());
    }

    #[test]
    fn truncated_key_file_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(MASTER_KEY_FILE), [1u8; 31]).unwrap();
        let err = LocalMasterKey::load_or_create(dir.path()).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    }

    #[test]
    fn debug_shows_only_the_id() {
        let dir = tempfile::tempdir().unwrap();
        let key = LocalMasterKey::load_or_create(dir.path()).unwrap();
        assert_eq!(
            format!("{key:?}"),
            format!("LocalMasterKey {{ id: {:?}, .. }}", key.id())
        );
    }
}

//! The state store: the keyring and the provider configuration, durable.
//!
//! [`FileStore`] is the embedded default: one JSON file `state.json` in the
//! data directory, mode 0600, replaced atomically (temporary file, fsync,
//! rename, fsync of the directory), so a process killed at any instant
//! leaves the old state or the new one. Readers never lock; writers take an
//! exclusive lock on `state.lock` for the whole read-modify-write. Provider
//! secrets are sealed under the local master key inside the file.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::StoreError;
use crate::keyring::Keyring;
use crate::local::{LocalMasterKey, create_private_dir, sync_dir, temp_path, write_private};
use crate::provider::ProviderConfig;

/// Name of the state file in the data directory.
pub const STATE_FILE: &str = "state.json";
/// Name of the writers' lock file in the data directory.
pub const LOCK_FILE: &str = "state.lock";
/// Version of the state file format this engine writes.
pub const STATE_VERSION: u32 = 1;
const STATE_MAGIC: &str = "hyok-state";

/// What the store holds.
#[derive(Debug, Clone)]
pub struct State {
    /// Incremented by every commit.
    pub generation: u64,
    /// Every DEK version, wrapped.
    pub keyring: Keyring,
    /// The customer provider; `None` when HYOK is off (local provider).
    pub provider: Option<ProviderConfig>,
}

/// Durable storage of the [`State`], shared by every process that opens the
/// same keys.
pub trait StateStore: Send + Sync + fmt::Debug {
    /// Reads the latest committed state without taking the writers' lock.
    /// `None` on first use.
    fn load(&self) -> Result<Option<State>, StoreError>;

    /// Takes the writers' lock, waiting for other writers. The lock is held
    /// until the guard drops.
    fn lock(&self) -> Result<Box<dyn StoreGuard>, StoreError>;
}

/// Exclusive access to the store for one read-modify-write.
pub trait StoreGuard: Send + fmt::Debug {
    /// The state as it is under the lock.
    fn load(&self) -> Result<Option<State>, StoreError>;

    /// Replaces the state, all or nothing. `state.generation` must be one
    /// more than the generation loaded under this lock.
    fn commit(&mut self, state: &State) -> Result<(), StoreError>;
}

/// The embedded store: one file in a directory.
#[derive(Clone)]
pub struct FileStore {
    dir: PathBuf,
    key: Arc<LocalMasterKey>,
}

impl FileStore {
    /// A store in `dir`, sealing secrets under `key`.
    pub fn new(dir: impl Into<PathBuf>, key: Arc<LocalMasterKey>) -> FileStore {
        FileStore {
            dir: dir.into(),
            key,
        }
    }

    fn path(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }

    fn read(&self) -> Result<Option<State>, StoreError> {
        let path = self.path();
        match fs::read(&path) {
            Ok(bytes) => decode(&bytes, &path, &self.key).map(Some),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::io(path, e)),
        }
    }

    fn write(&self, state: &State) -> Result<(), StoreError> {
        let bytes = encode(state, &self.key)?;
        let temp = temp_path(&self.dir, STATE_FILE);
        if let Err(err) = write_private(&temp, &bytes) {
            let _ = fs::remove_file(&temp);
            return Err(err);
        }
        fs::rename(&temp, self.path()).map_err(|e| {
            let _ = fs::remove_file(&temp);
            StoreError::io(self.path(), e)
        })?;
        sync_dir(&self.dir)
    }

    /// Removes temporary files that a writer killed mid-write left behind.
    /// Called only under the writers' lock, when no write is in progress.
    fn sweep_temporaries(&self) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        let prefix = format!(".{STATE_FILE}.");
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(&prefix) && name.ends_with(".tmp") {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

impl fmt::Debug for FileStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileStore")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl StateStore for FileStore {
    fn load(&self) -> Result<Option<State>, StoreError> {
        self.read()
    }

    fn lock(&self) -> Result<Box<dyn StoreGuard>, StoreError> {
        create_private_dir(&self.dir)?;
        let path = self.dir.join(LOCK_FILE);
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| StoreError::io(&path, e))?;
        file.lock().map_err(|e| StoreError::io(&path, e))?;
        self.sweep_temporaries();
        let generation = self.read()?.map(|s| s.generation);
        Ok(Box::new(FileGuard {
            store: self.clone(),
            _lock: file,
            generation,
        }))
    }
}

#[derive(Debug)]
struct FileGuard {
    store: FileStore,
    _lock: fs::File,
    generation: Option<u64>,
}

impl StoreGuard for FileGuard {
    fn load(&self) -> Result<Option<State>, StoreError> {
        self.store.read()
    }

    fn commit(&mut self, state: &State) -> Result<(), StoreError> {
        let expected = self.generation.map_or(1, |g| g + 1);
        if state.generation != expected {
            return Err(StoreError::Conflict);
        }
        self.store.write(state)?;
        self.generation = Some(state.generation);
        Ok(())
    }
}

/// The file as stored.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    format: String,
    version: u32,
    generation: u64,
    keyring: Keyring,
    provider: Option<StoredProvider>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredProvider {
    name: String,
    settings: BTreeMap<String, String>,
    #[serde(with = "crate::b64")]
    sealed_secrets: Vec<u8>,
}

/// Only the header, read first so that a newer file gets a clear error.
#[derive(Deserialize)]
struct Header {
    format: String,
    version: u32,
}

fn secrets_aad(keyring_id: &str, provider: &str) -> Vec<u8> {
    format!("hyok/state/secrets/v1\0{keyring_id}\0{provider}").into_bytes()
}

fn encode(state: &State, key: &LocalMasterKey) -> Result<Vec<u8>, StoreError> {
    let provider = state.provider.as_ref().map(|config| {
        let secrets: BTreeMap<&str, &str> = config
            .secrets()
            .iter()
            .map(|(name, value)| (name.as_str(), value.expose_secret()))
            .collect();
        let clear = Zeroizing::new(serde_json::to_vec(&secrets).expect("a string map serialises"));
        StoredProvider {
            name: config.provider().to_string(),
            settings: config.settings().clone(),
            sealed_secrets: key.seal(&clear, &secrets_aad(&state.keyring.id, config.provider())),
        }
    });
    let file = StateFile {
        format: STATE_MAGIC.to_string(),
        version: STATE_VERSION,
        generation: state.generation,
        keyring: state.keyring.clone(),
        provider,
    };
    Ok(serde_json::to_vec_pretty(&file).expect("the state serialises"))
}

/// Parses a state file. Public for the fuzz target.
pub fn decode(bytes: &[u8], path: &Path, key: &LocalMasterKey) -> Result<State, StoreError> {
    let header: Header =
        serde_json::from_slice(bytes).map_err(|e| StoreError::corrupt(path, e.to_string()))?;
    if header.format != STATE_MAGIC {
        return Err(StoreError::corrupt(path, "not a hyok state file"));
    }
    if header.version != STATE_VERSION {
        return Err(StoreError::UnknownVersion {
            path: path.into(),
            version: header.version,
        });
    }
    let file: StateFile =
        serde_json::from_slice(bytes).map_err(|e| StoreError::corrupt(path, e.to_string()))?;
    file.keyring
        .check()
        .map_err(|reason| StoreError::corrupt(path, reason))?;

    let provider = match file.provider {
        None => None,
        Some(stored) => Some(unseal(stored, &file.keyring.id, key)?),
    };
    Ok(State {
        generation: file.generation,
        keyring: file.keyring,
        provider,
    })
}

fn unseal(
    stored: StoredProvider,
    keyring_id: &str,
    key: &LocalMasterKey,
) -> Result<ProviderConfig, StoreError> {
    let aad = secrets_aad(keyring_id, &stored.name);
    let clear = key
        .open(&stored.sealed_secrets, &aad)
        .ok_or(StoreError::Unseal)?;
    let secrets: BTreeMap<String, String> =
        serde_json::from_slice(&clear).map_err(|_| StoreError::Unseal)?;

    let mut config = ProviderConfig::new(stored.name);
    for (name, value) in stored.settings {
        config = config.setting(name, value);
    }
    for (name, value) in secrets {
        config = config.secret(name, SecretString::from(value));
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::dek::WrappedDek;
    use crate::keyring::{KeyState, KeyVersion};

    fn store() -> (tempfile::TempDir, FileStore) {
        let dir = tempfile::tempdir().unwrap();
        let key = Arc::new(LocalMasterKey::load_or_create(dir.path()).unwrap());
        let store = FileStore::new(dir.path(), key);
        (dir, store)
    }

    fn state(generation: u64) -> State {
        let mut keyring = Keyring::new();
        keyring.push_primary(KeyVersion {
            version: 1,
            created_at: 1,
            provider: "aws".into(),
            master_key_id: "alias/x".into(),
            state: KeyState::Primary,
            wrapped: WrappedDek::new(vec![1, 2, 3]),
        });
        let provider = ProviderConfig::new("aws")
            .setting("region", "eu-west-1")
            .secret("secretKey", SecretString::from("canary-SECRET-1234"));
        State {
            generation,
            keyring,
            provider: Some(provider),
        }
    }

    #[test]
    fn round_trip_seals_secrets() {
        let (dir, store) = store();
        assert!(store.load().unwrap().is_none());
        let written = state(1);
        let mut guard = store.lock().unwrap();
        guard.commit(&written).unwrap();
        drop(guard);

        let raw = fs::read_to_string(dir.path().join(STATE_FILE)).unwrap();
        assert!(
            !raw.contains("canary-SECRET-1234"),
            "secrets must be sealed"
        );
        let mode = fs::metadata(dir.path().join(STATE_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);

        let loaded = store.load().unwrap().unwrap();
        let secret = loaded
            .provider
            .as_ref()
            .unwrap()
            .get_secret("secretKey")
            .unwrap();
        assert_eq!(secret.expose_secret(), "canary-SECRET-1234");
        assert_eq!(loaded.keyring, written.keyring);
        assert_eq!(loaded.provider.unwrap().get("region"), Some("eu-west-1"));
    }

    #[test]
    fn stale_generation_is_a_conflict() {
        let (_dir, store) = store();
        let mut guard = store.lock().unwrap();
        guard.commit(&state(1)).unwrap();
        assert!(matches!(guard.commit(&state(1)), Err(StoreError::Conflict)));
        guard.commit(&state(2)).unwrap();
    }

    #[test]
    fn corrupt_and_newer_files_are_errors() {
        let (dir, store) = store();
        let path = dir.path().join(STATE_FILE);
        fs::write(&path, b"{\"format\":\"hyok-state\",\"version\":1,\"gen").unwrap();
        assert!(matches!(store.load(), Err(StoreError::Corrupt { .. })));
        fs::write(&path, b"{\"format\":\"hyok-state\",\"version\":7}").unwrap();
        assert!(matches!(
            store.load(),
            Err(StoreError::UnknownVersion { version: 7, .. })
        ));
    }

    #[test]
    fn secrets_sealed_under_another_key_do_not_open() {
        let (dir, store) = store();
        store.lock().unwrap().commit(&state(1)).unwrap();
        let other_dir = tempfile::tempdir().unwrap();
        let other = Arc::new(LocalMasterKey::load_or_create(other_dir.path()).unwrap());
        let bytes = fs::read(dir.path().join(STATE_FILE)).unwrap();
        let err = decode(&bytes, Path::new("x"), &other).unwrap_err();
        assert!(matches!(err, StoreError::Unseal));
    }
}

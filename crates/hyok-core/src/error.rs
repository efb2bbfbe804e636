//! Error types, split by operation: records (the hot path), the state store,
//! and the key lifecycle.

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::provider::ProviderError;

/// Why a record could not be encrypted or decrypted.
///
/// Every authentication failure (wrong key, wrong associated data, altered
/// or truncated bytes) is the single [`RecordError::Authentication`]: the
/// error says nothing that could serve as an oracle. Structural problems
/// that can be read off the header in clear are specific.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordError {
    /// The record does not decrypt under its key with this associated data.
    Authentication,
    /// The record is shorter than a header and a tag.
    TooShort,
    /// The first byte names a record format this engine does not know.
    UnknownFormat(u8),
    /// The header names an algorithm this engine does not know.
    UnknownAlgorithm(u8),
    /// The header names a DEK version that is not in the keyring (retired,
    /// or from another keyring).
    UnknownKeyVersion(u32),
    /// The DEK is not unwrapped in memory: the provider could not be reached
    /// or refused, or the cached key passed its age or use bound and has not
    /// been unwrapped again yet. Nothing falls back to another key.
    KeyUnavailable(u32),
    /// The per-key message limit was reached and the engine is configured to
    /// refuse rather than derive a fresh subkey.
    LimitReached,
    /// The plaintext is larger than one record may hold.
    TooLong,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Authentication => f.write_str("record authentication failed"),
            Self::TooShort => f.write_str("record too short"),
            Self::UnknownFormat(v) => write!(f, "unknown record format {v}"),
            Self::UnknownAlgorithm(a) => write!(f, "unknown record algorithm {a}"),
            Self::UnknownKeyVersion(v) => write!(f, "unknown data key version {v}"),
            Self::KeyUnavailable(v) => write!(f, "data key version {v} is not available"),
            Self::LimitReached => f.write_str("message limit of the data key reached"),
            Self::TooLong => f.write_str("plaintext too long for one record"),
        }
    }
}

impl StdError for RecordError {}

/// Why the state could not be read or written.
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// A file could not be read, written or locked.
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The state file is not valid (truncated, altered, not JSON). It is
    /// never reset silently.
    Corrupt {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong, without secrets.
        reason: String,
    },
    /// The state file was written by a newer engine.
    UnknownVersion {
        /// The file concerned.
        path: PathBuf,
        /// The version it declares.
        version: u32,
    },
    /// Sealed provider secrets do not open under the local master key.
    Unseal,
    /// Another writer changed the state since it was read.
    Conflict,
    /// There is no state to open and the engine was told not to create one.
    NotFound {
        /// The state file looked for.
        path: PathBuf,
    },
}

impl StoreError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> StoreError {
        StoreError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, reason: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, .. } => write!(f, "cannot access {}", path.display()),
            Self::Corrupt { path, reason } => {
                write!(f, "state file {} is corrupt: {reason}", path.display())
            }
            Self::UnknownVersion { path, version } => {
                write!(
                    f,
                    "state file {} has unknown version {version}",
                    path.display()
                )
            }
            Self::Unseal => f.write_str("sealed provider secrets do not open"),
            Self::Conflict => f.write_str("the state changed under this writer"),
            Self::NotFound { path } => write!(f, "no hyok state at {}", path.display()),
        }
    }
}

impl StdError for StoreError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            Self::Corrupt { .. }
            | Self::UnknownVersion { .. }
            | Self::Unseal
            | Self::Conflict
            | Self::NotFound { .. } => None,
        }
    }
}

/// Why a key lifecycle operation (create, update, rotate, retire) failed.
///
/// Whatever the error, the previous state is whole: nothing was committed.
#[derive(Debug)]
#[non_exhaustive]
pub enum LifecycleError {
    /// `create` while a customer provider is already configured.
    AlreadyConfigured,
    /// `update` while no customer provider is configured.
    NotConfigured,
    /// `rotate` while HYOK is off.
    HyokNotEnabled,
    /// `retire` of the primary version.
    RetirePrimary(u32),
    /// `retire` of a version the keyring does not hold.
    UnknownVersion(u32),
    /// The provider of the configuration being tried (create, update)
    /// refused or failed; see its kind.
    Provider(ProviderError),
    /// The configured provider, the one that wraps the keyring now, refused
    /// or failed: the existing data keys could not be unwrapped (update) or
    /// no new one could be made (rotate).
    CurrentProvider(ProviderError),
    /// The state could not be read or written.
    Store(StoreError),
}

impl fmt::Display for LifecycleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AlreadyConfigured => f.write_str("a KMS provider is already configured"),
            Self::NotConfigured => f.write_str("no KMS provider is configured"),
            Self::HyokNotEnabled => f.write_str("HYOK is not enabled"),
            Self::RetirePrimary(v) => write!(f, "version {v} is primary and cannot be retired"),
            Self::UnknownVersion(v) => write!(f, "no data key version {v}"),
            Self::Provider(err) => write!(f, "provider: {err}"),
            Self::CurrentProvider(err) => write!(f, "configured provider: {err}"),
            Self::Store(err) => write!(f, "state store: {err}"),
        }
    }
}

impl StdError for LifecycleError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Self::Provider(err) | Self::CurrentProvider(err) => Some(err),
            Self::Store(err) => Some(err),
            Self::AlreadyConfigured
            | Self::NotConfigured
            | Self::HyokNotEnabled
            | Self::RetirePrimary(_)
            | Self::UnknownVersion(_) => None,
        }
    }
}

impl From<ProviderError> for LifecycleError {
    fn from(err: ProviderError) -> Self {
        LifecycleError::Provider(err)
    }
}

impl From<StoreError> for LifecycleError {
    fn from(err: StoreError) -> Self {
        LifecycleError::Store(err)
    }
}

//! placeholder

mod aead;
mod b64;
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
pub use engine::{Engine, EngineOptions, LimitPolicy, ProviderSummary, Status, VersionInfo};
pub use error::{LifecycleError, RecordError, StoreError};
pub use local::{LocalMasterKey, LocalProvider};
pub use provider::{
    EncryptionContext, FieldSpec, Provider, ProviderConfig, ProviderError, ProviderErrorKind,
    ProviderFactory, ProviderInfo, ProviderRegistry,
};
pub use record::{Algorithm, OVERHEAD};
pub use store::{FileStore, State, StateStore, StoreGuard};

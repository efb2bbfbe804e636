//! placeholder

mod b64;
pub mod dek;
pub mod engine;
pub mod error;
pub mod provider;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use dek::{DEK_LEN, Dek, WrappedDek};
pub use engine::{
    Algorithm, Engine, EngineOptions, LimitPolicy, ProviderSummary, Status, VersionInfo,
};
pub use error::{LifecycleError, RecordError, StoreError};
pub use provider::{
    EncryptionContext, FieldSpec, Provider, ProviderConfig, ProviderError, ProviderErrorKind,
    ProviderFactory, ProviderInfo, ProviderRegistry,
};

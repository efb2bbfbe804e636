//! OCI Vault provider for hyok.

mod client;
mod config;
mod provider;
pub mod signer;

pub use config::Limits;
pub use provider::OciFactory;
#[cfg(feature = "testing")]
pub mod testing;

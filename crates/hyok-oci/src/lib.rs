//! OCI Vault provider for hyok.
//!
//! [`signer`] signs OCI API requests as the official OCI SDKs do.

pub mod signer;

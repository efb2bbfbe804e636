//! OCI Vault provider for hyok: data keys wrapped by an OCI KMS master
//! encryption key, over the OCI REST API, with requests signed exactly as the
//! official OCI SDKs sign them.
//!
//! # Which type to reach for
//!
//! - [`OciFactory`]: register it with the engine's provider registry; it
//!   builds an OCI provider from the `oci` form fields. Most users need
//!   nothing else.
//! - [`Limits`]: timeouts and retry bounds, for
//!   [`OciFactory::with_limits`].
//! - [`signer`]: the request signer on its own (OCI's "Request
//!   Signatures" scheme, version 1, `rsa-sha256`), for anyone who needs to
//!   sign other OCI calls.
//! - `testing` (feature `testing`): an OCI Vault test server on loopback
//!   that checks signatures like OCI, for end-to-end tests.
//!
//! ```
//! use hyok_core::ProviderFactory;
//! use hyok_core::testing::context_of;
//! use hyok_oci::OciFactory;
//! use hyok_oci::testing::TestServer;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let server = TestServer::start();
//! let config = server.provider_config(&server.create_key());
//!
//! let provider = OciFactory::new().build(&config)?;
//! provider.validate().await?;
//!
//! let context = context_of(&[("hyok:keyring", "main"), ("hyok:version", "1")]);
//! let (dek, wrapped) = provider.generate(&context).await?;
//! let back = provider.unwrap(&wrapped, &context).await?;
//! assert_eq!(back.expose_secret(), dek.expose_secret());
//! # Ok::<(), hyok_core::ProviderError>(())
//! # }).unwrap();
//! ```
//!
//! # Configuration fields
//!
//! | field | kind | meaning |
//! | --- | --- | --- |
//! | `tenantId` | required | tenancy OCID (`ocid1.tenancy…`) |
//! | `userId` | required | OCID of the user who owns the API key |
//! | `fingerprint` | required | the API key's fingerprint (16 hex pairs); checked against `privateKey` |
//! | `cryptoEndpoint` | required | the vault's crypto endpoint, `https://…-crypto.kms.<region>.oraclecloud.com` |
//! | `mgmtEndpoint` | required | the vault's management endpoint, `https://…-management.kms.<region>.oraclecloud.com` |
//! | `masterKeyId` | required | OCID of the AES master encryption key |
//! | `privateKey` | secret, required | PEM of the API signing key: PKCS#8 (`PRIVATE KEY`, as the console makes it), PKCS#1 (`RSA PRIVATE KEY`) or encrypted PKCS#8; at least 2048 bits |
//! | `passphrase` | secret, optional | passphrase of an encrypted PKCS#8 `privateKey` |
//!
//! Endpoints must use `https`; plain `http` is accepted only for loopback
//! hosts, for tests.
//!
//! # Calls
//!
//! | provider method | OCI call |
//! | --- | --- |
//! | `validate` | `GET {mgmtEndpoint}/20180608/keys/{masterKeyId}`: the key exists, is `ENABLED` and `AES` |
//! | `wrap` | `POST {cryptoEndpoint}/20180608/encrypt` |
//! | `unwrap` | `POST {cryptoEndpoint}/20180608/decrypt` |
//! | `generate` | `POST {cryptoEndpoint}/20180608/generateDataEncryptionKey` (AES, 32 bytes, plaintext included) |
//!
//! The encryption context goes to OCI as `associatedData`, so a wrapped key
//! unwraps only with the same context. The wrapped key is OCI's ciphertext,
//! kept verbatim.
//!
//! # Error mapping
//!
//! OCI's answers map to [`hyok_core::ProviderErrorKind`]; the OCI status,
//! code, message and `opc-request-id` are in the message and in the error's
//! `source()`.
//!
//! | OCI answer | kind | retried |
//! | --- | --- | --- |
//! | 400 on `decrypt` | `UnwrapFailed` | no |
//! | 400 otherwise | `Unexpected` | no |
//! | 401 `NotAuthenticated` | `InvalidCredentials` (wrong key, fingerprint or OCIDs, or clock skew) | no |
//! | 403 | `AccessDenied` | no |
//! | 404 `NotAuthorizedOrNotFound` | `InvalidKeyId`: "key not found or not authorised; check the key OCID, the endpoint kind and the policy" | no |
//! | 409 `IncorrectState` | `KeyDisabled` | yes |
//! | 429 `TooManyRequests` | `Throttled` | yes |
//! | 5xx | `Unavailable` | yes |
//! | connection failure | `Unavailable` | yes |
//! | timeout | `TimedOut` | no |
//! | `validate`: key not `ENABLED` / not `AES` | `KeyDisabled` / `WrongKeyUsage` | no |
//! | a data key that is not 32 bytes | `Unexpected` | no |
//!
//! Retries back off exponentially from [`Limits::base_delay`] with jitter,
//! at most [`Limits::max_attempts`] attempts; every attempt is signed anew.
//!
//! # Guarantees and limits
//!
//! - The private key lives in the `rsa` crate's key type, which wipes itself
//!   on drop; PEM scratch copies are wiped too. It is never logged, never in
//!   `Debug` output and never in an error message (tests pin this).
//! - Data keys in clear travel as base64 inside the JSON bodies. This crate
//!   wipes its own copies, but the HTTP and TLS stacks (`reqwest`, `hyper`,
//!   `rustls`) keep buffers it cannot reach, and those are not wiped.
//! - Only API-key (user principal) authentication is supported: no instance
//!   or resource principals, no session tokens, no delegation tokens.
//! - The current key version of the master key is used; key versions,
//!   `loggingContext` and external (HYOK-in-OCI) vaults are not configurable.
//! - OCI limits `associatedData` to under 4096 characters; this crate does
//!   not check it before sending.
//! - `Retry-After` headers are not honoured; the backoff alone paces retries.
//! - The answers to a wrong `associatedData` (400) and to a disabled key on
//!   a crypto call (409 `IncorrectState`) are mapped as OCI documents its
//!   error codes; the test server mirrors them, but they have not been
//!   compared with a live vault here.
//! - Redirects are not followed. The proxy environment variables
//!   (`HTTPS_PROXY`, `NO_PROXY`) apply, as they do for any `reqwest` client.

mod client;
mod config;
mod provider;
pub mod signer;
#[cfg(feature = "testing")]
pub mod testing;

pub use config::Limits;
pub use provider::OciFactory;

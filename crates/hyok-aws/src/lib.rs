//! AWS KMS provider for hyok: data keys wrapped under a customer master key
//! held in AWS KMS, through the official `aws-sdk-kms` client.
//!
//! Register [`AwsFactory`] with the engine's provider registry; the engine
//! builds an [`AwsProvider`] from the `aws` form fields, validates it against
//! KMS, and from then on calls it to wrap, unwrap and generate data keys.
//! Reach for [`AwsProvider::new`] only to use the provider without a
//! registry, and for [`CallLimits`] to change how long calls may take.
//!
//! ```
//! use hyok_aws::AwsFactory;
//! use hyok_core::{ProviderConfig, ProviderFactory};
//! use secrecy::SecretString;
//!
//! let config = ProviderConfig::new("aws")
//!     .setting("accessKey", "AKIAIOSFODNN7EXAMPLE")
//!     .secret("secretKey", SecretString::from("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"))
//!     .setting("masterKeyId", "alias/hyok")
//!     .setting("region", "eu-west-1");
//!
//! // Checks the fields and builds the client; no network call yet.
//! let provider = AwsFactory::new().build(&config)?;
//! assert_eq!(provider.describe().master_key_id, "alias/hyok");
//!
//! // A region that is not an AWS region name is refused before any request.
//! let crafted = config.clone().setting("region", "evil.example/x");
//! assert!(AwsFactory::new().build(&crafted).is_err());
//! # Ok::<(), hyok_core::ProviderError>(())
//! ```
//!
//! # Configuration
//!
//! | field | kind | meaning |
//! | --- | --- | --- |
//! | `accessKey` | required | access key id of the IAM user or role |
//! | `secretKey` | required, secret | its secret access key |
//! | `masterKeyId` | required | key id, key ARN, alias name (`alias/…`) or alias ARN |
//! | `region` | required | AWS region name, such as `eu-west-1` |
//! | `endpoint` | optional | KMS endpoint URL (a VPC endpoint, a local KMS) |
//!
//! Without `endpoint`, the environment variables `AWS_ENDPOINT_URL_KMS` and
//! then `AWS_ENDPOINT_URL` are read when the provider is built; without any,
//! the regional endpoint `https://kms.<region>.amazonaws.com` is used.
//!
//! # What each call does
//!
//! | provider method | KMS calls |
//! | --- | --- |
//! | `validate` | `DescribeKey` (key exists, `Enabled`, `ENCRYPT_DECRYPT`, `SYMMETRIC_DEFAULT`), then `GenerateDataKey`, `Encrypt` and `Decrypt` of one probe key |
//! | `generate` | `GenerateDataKey` with key spec `AES_256` |
//! | `wrap` | `Encrypt` |
//! | `unwrap` | `Decrypt`, naming the master key as `KeyId` |
//!
//! Each call carries the engine's encryption context, which KMS binds to the
//! ciphertext: `Decrypt` succeeds only with the same context (see the KMS
//! developer guide, "Encryption context").
//!
//! # Errors
//!
//! KMS errors are sorted by their error code, never by message text, into
//! [`ProviderErrorKind`](hyok_core::ProviderErrorKind); the SDK error stays
//! reachable through `source()`, and no SDK type appears in this API.
//!
//! | KMS code or failure | kind |
//! | --- | --- |
//! | `NotFoundException`, `InvalidArnException` | `InvalidKeyId` |
//! | `DisabledException`, `KMSInvalidStateException` | `KeyDisabled` |
//! | `InvalidKeyUsageException` | `WrongKeyUsage` |
//! | `UnrecognizedClientException`, `InvalidSignatureException` and other signing codes | `InvalidCredentials` |
//! | `AccessDeniedException` | `AccessDenied` |
//! | `InvalidCiphertextException`, `IncorrectKeyException` | `UnwrapFailed` |
//! | `ThrottlingException`, `LimitExceededException` | `Throttled` |
//! | `KMSInternalException`, `DependencyTimeoutException`, `KeyUnavailableException`, other HTTP 5xx | `Unavailable` |
//! | no answer within the limits | `TimedOut` |
//! | connection refused or reset, DNS or TLS failure | `Unavailable` |
//! | anything else | `Unexpected` |
//!
//! Throttling and transient failures are retried (see [`CallLimits`]);
//! the others fail at once.
//!
//! # Guarantees and limits
//!
//! - The region is checked against the shape of AWS region names before a
//!   client exists, so a crafted region cannot steer signed requests to
//!   another host. The endpoint must be an `http` or `https` URL; plain
//!   `http` is accepted for local test servers and is the operator's choice.
//! - The secret key lives in `SecretString` and then in the SDK's
//!   credentials, both wiped on drop; no `Debug` output, log event or error
//!   message of this crate contains it.
//! - Data keys in clear pass through buffers of the SDK and its HTTP stack
//!   (the JSON request body of `Encrypt`, the response body of `Decrypt` and
//!   `GenerateDataKey`) that are not wiped. This crate wipes the decoded
//!   plaintext it receives when it holds the only copy.
//! - A plaintext key that is not exactly 32 bytes is refused.
//! - Ciphertext blobs are opaque: never parsed, stored as KMS returns them.
//! - Every call is bounded by [`CallLimits`]: by default a 3 s connect
//!   timeout, 5 s per attempt, at most 3 attempts and 20 s per operation.
//! - TLS is rustls (ring) with the system's trust roots. Proxy environment
//!   variables (`HTTPS_PROXY` and kin) are not honoured: requests go straight
//!   to the endpoint.
//! - Not supported: session tokens (temporary credentials), the default
//!   credential chain, asymmetric or HMAC keys, grant tokens, and KMS key
//!   stores other than the default (their `KeyUnavailableException` maps to
//!   `Unavailable`).

mod client;
mod config;
mod error;
mod provider;
#[cfg(feature = "testing")]
pub mod testing;

pub use config::CallLimits;
pub use provider::{AwsFactory, AwsProvider, PROVIDER_NAME};

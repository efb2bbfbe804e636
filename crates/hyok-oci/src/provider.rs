//! The OCI Vault provider: the core's [`Provider`] on the OCI KMS REST API.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hyok_core::{
    Dek, EncryptionContext, FieldSpec, Provider, ProviderConfig, ProviderError, ProviderErrorKind,
    ProviderFactory, ProviderInfo, WrappedDek,
};
use reqwest::{Method, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::client::{Client, Operation};
use crate::config::{FIELDS, Limits, OciSettings};

/// The OCI KMS API version in every path.
const API: &str = "20180608";

/// Builds OCI Vault providers from the `oci` form fields.
///
/// Register it with the engine's provider registry. [`build`] checks every
/// field and parses the private key but makes no network call;
/// [`Provider::validate`] does that.
///
/// [`build`]: ProviderFactory::build
#[derive(Debug, Clone, Default)]
pub struct OciFactory {
    limits: Limits,
}

impl OciFactory {
    /// A factory whose providers use the default [`Limits`].
    pub fn new() -> OciFactory {
        OciFactory::default()
    }

    /// A factory whose providers use `limits` for timeouts and retries.
    pub fn with_limits(limits: Limits) -> OciFactory {
        OciFactory { limits }
    }
}

impl ProviderFactory for OciFactory {
    fn name(&self) -> &'static str {
        "oci"
    }

    fn fields(&self) -> &'static [FieldSpec] {
        FIELDS
    }

    fn build(&self, config: &ProviderConfig) -> Result<Arc<dyn Provider>, ProviderError> {
        let settings = OciSettings::from_config(config)?;
        let client = Client::new(settings.signer, self.limits.clone())?;
        Ok(Arc::new(OciProvider {
            client,
            crypto_endpoint: settings.crypto_endpoint,
            mgmt_endpoint: settings.mgmt_endpoint,
            master_key_id: settings.master_key_id,
        }))
    }
}

/// Wraps data keys with one OCI Vault master encryption key.
struct OciProvider {
    client: Client,
    crypto_endpoint: Url,
    mgmt_endpoint: Url,
    master_key_id: String,
}

impl OciProvider {
    fn crypto_url(&self, operation: &str) -> Url {
        join(&self.crypto_endpoint, &format!("{API}/{operation}"))
    }

    fn key_url(&self) -> Url {
        join(
            &self.mgmt_endpoint,
            &format!("{API}/keys/{}", self.master_key_id),
        )
    }

    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        op: Operation,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, ProviderError> {
        let body = Zeroizing::new(serde_json::to_vec(body).map_err(|err| {
            ProviderError::new(ProviderErrorKind::Unexpected, "cannot encode the request")
                .with_source(err)
        })?);
        self.client
            .call(op, Method::POST, &self.crypto_url(path), &body)
            .await
    }
}

#[async_trait]
impl Provider for OciProvider {
    fn describe(&self) -> ProviderInfo {
        ProviderInfo {
            name: "oci".into(),
            master_key_id: self.master_key_id.clone(),
        }
    }

    async fn validate(&self) -> Result<(), ProviderError> {
        let key: KeyDescription = self
            .client
            .call(Operation::GetKey, Method::GET, &self.key_url(), b"")
            .await?;

        if key.lifecycle_state != "ENABLED" {
            return Err(ProviderError::new(
                ProviderErrorKind::KeyDisabled,
                format!("the master key is {}, not ENABLED", key.lifecycle_state),
            ));
        }
        if key.key_shape.algorithm != "AES" {
            return Err(ProviderError::new(
                ProviderErrorKind::WrongKeyUsage,
                format!(
                    "the master key is an {} key; an AES key is needed",
                    key.key_shape.algorithm
                ),
            ));
        }
        tracing::debug!(key = %self.master_key_id, "oci master key validated");
        Ok(())
    }

    async fn wrap(
        &self,
        dek: &Dek,
        context: &EncryptionContext,
    ) -> Result<WrappedDek, ProviderError> {
        let plaintext = SecretString::from(BASE64.encode(dek.expose_secret()));
        let request = EncryptRequest {
            key_id: &self.master_key_id,
            plaintext: plaintext.expose_secret(),
            associated_data: non_empty(context),
        };
        let answer: Ciphertext = self.post(Operation::Encrypt, "encrypt", &request).await?;
        Ok(WrappedDek::new(answer.ciphertext.into_bytes()))
    }

    async fn unwrap(
        &self,
        wrapped: &WrappedDek,
        context: &EncryptionContext,
    ) -> Result<Dek, ProviderError> {
        let ciphertext = match std::str::from_utf8(wrapped.as_bytes()) {
            Ok(text) if !text.is_empty() => text,
            _ => return Err(unwrap_failed("the wrapped key is not an OCI ciphertext")),
        };
        let request = DecryptRequest {
            key_id: &self.master_key_id,
            ciphertext,
            associated_data: non_empty(context),
        };
        let answer: Plaintext = self.post(Operation::Decrypt, "decrypt", &request).await?;
        data_key(&answer.plaintext)
    }

    async fn generate(
        &self,
        context: &EncryptionContext,
    ) -> Result<(Dek, WrappedDek), ProviderError> {
        let request = GenerateRequest {
            key_id: &self.master_key_id,
            key_shape: KeyShape {
                algorithm: "AES".into(),
                length: 32,
            },
            include_plaintext_key: true,
            associated_data: non_empty(context),
        };
        let path = "generateDataEncryptionKey";
        let answer: GeneratedKey = self.post(Operation::GenerateKey, path, &request).await?;
        let plaintext = answer.plaintext.ok_or_else(|| {
            ProviderError::new(
                ProviderErrorKind::Unexpected,
                "OCI returned no plaintext key",
            )
        })?;
        let dek = data_key(&plaintext)?;
        Ok((dek, WrappedDek::new(answer.ciphertext.into_bytes())))
    }
}

impl fmt::Debug for OciProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OciProvider")
            .field("crypto_endpoint", &self.crypto_endpoint.as_str())
            .field("mgmt_endpoint", &self.mgmt_endpoint.as_str())
            .field("master_key_id", &self.master_key_id)
            .field("client", &self.client)
            .finish()
    }
}

/// Body of `POST /20180608/encrypt`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EncryptRequest<'a> {
    key_id: &'a str,
    plaintext: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    associated_data: Option<&'a EncryptionContext>,
}

/// Body of `POST /20180608/decrypt`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DecryptRequest<'a> {
    key_id: &'a str,
    ciphertext: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    associated_data: Option<&'a EncryptionContext>,
}

/// Body of `POST /20180608/generateDataEncryptionKey`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GenerateRequest<'a> {
    key_id: &'a str,
    key_shape: KeyShape,
    include_plaintext_key: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    associated_data: Option<&'a EncryptionContext>,
}

/// A key's algorithm and length in bytes.
#[derive(Serialize, Deserialize)]
struct KeyShape {
    algorithm: String,
    #[serde(default)]
    length: u32,
}

/// The part of OCI's `Key` that validation reads.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyDescription {
    lifecycle_state: String,
    key_shape: KeyShape,
}

/// Answer of `encrypt`.
#[derive(Deserialize)]
struct Ciphertext {
    ciphertext: String,
}

/// Answer of `decrypt`; the plaintext is the data key in base64.
#[derive(Deserialize)]
struct Plaintext {
    plaintext: SecretString,
}

/// Answer of `generateDataEncryptionKey`.
#[derive(Deserialize)]
struct GeneratedKey {
    ciphertext: String,
    plaintext: Option<SecretString>,
}

/// Decodes a base64 data key from OCI; anything but 32 bytes is refused.
fn data_key(plaintext: &SecretString) -> Result<Dek, ProviderError> {
    let bytes = BASE64
        .decode(plaintext.expose_secret())
        .map(Zeroizing::new)
        .map_err(|_| {
            ProviderError::new(
                ProviderErrorKind::Unexpected,
                "OCI returned a key that is not base64",
            )
        })?;
    Dek::from_slice(&bytes).map_err(|err| {
        ProviderError::new(
            ProviderErrorKind::Unexpected,
            format!(
                "OCI returned a data key of {} bytes; a data key must be 32",
                bytes.len()
            ),
        )
        .with_source(err)
    })
}

/// OCI wants no `associatedData` rather than an empty one.
fn non_empty(context: &EncryptionContext) -> Option<&EncryptionContext> {
    (!context.is_empty()).then_some(context)
}

fn unwrap_failed(message: &str) -> ProviderError {
    ProviderError::new(ProviderErrorKind::UnwrapFailed, message)
}

/// `base` with `path` appended to its own path.
fn join(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let prefix = base.path().trim_end_matches('/');
    url.set_path(&format!("{prefix}/{path}"));
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_keeps_a_base_path() {
        let base = Url::parse("https://h.example/kms").unwrap();
        assert_eq!(
            join(&base, "20180608/encrypt").as_str(),
            "https://h.example/kms/20180608/encrypt"
        );
        let bare = Url::parse("https://h.example").unwrap();
        assert_eq!(
            join(&bare, "20180608/encrypt").as_str(),
            "https://h.example/20180608/encrypt"
        );
    }

    #[test]
    fn short_data_keys_are_refused() {
        let err = data_key(&SecretString::from(BASE64.encode([7u8; 16]))).unwrap_err();
        assert_eq!(err.kind(), ProviderErrorKind::Unexpected);
        assert_eq!(
            err.to_string(),
            "OCI returned a data key of 16 bytes; a data key must be 32"
        );
    }

    #[test]
    fn encrypt_body_uses_the_oci_field_names() {
        let context: EncryptionContext = [("a".to_owned(), "b".to_owned())].into();
        let body = EncryptRequest {
            key_id: "k",
            plaintext: "cA==",
            associated_data: Some(&context),
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"keyId":"k","plaintext":"cA==","associatedData":{"a":"b"}}"#
        );
    }
}

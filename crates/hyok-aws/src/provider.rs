//! The AWS KMS provider and its factory.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{
    DataKeySpec, EncryptionAlgorithmSpec, KeyMetadata, KeySpec, KeyState, KeyUsageType,
};
use hyok_core::{
    Dek, EncryptionContext, FieldSpec, Provider, ProviderConfig, ProviderError, ProviderErrorKind,
    ProviderFactory, ProviderInfo, WrappedDek,
};
use zeroize::Zeroize;

use crate::client;
use crate::config::{CallLimits, FIELDS, Settings};
use crate::error::{Operation, classify};

/// The provider name, as the `provider` form field gives it.
pub const PROVIDER_NAME: &str = "aws";

/// Encryption context of the round trip that [`AwsProvider::validate`] makes.
const VALIDATE_CONTEXT: (&str, &str) = ("hyok:purpose", "validate");

/// Builds [`AwsProvider`]s from the `aws` form fields.
///
/// Register it with the engine's provider registry. [`AwsFactory::default`]
/// uses the default [`CallLimits`]; [`AwsFactory::with_limits`] sets others.
#[derive(Debug, Clone, Copy, Default)]
pub struct AwsFactory {
    limits: CallLimits,
}

impl AwsFactory {
    /// A factory with the default call limits.
    pub fn new() -> AwsFactory {
        AwsFactory::default()
    }

    /// A factory whose providers wait and retry within `limits`.
    pub fn with_limits(limits: CallLimits) -> AwsFactory {
        AwsFactory { limits }
    }
}

impl ProviderFactory for AwsFactory {
    fn name(&self) -> &'static str {
        PROVIDER_NAME
    }

    fn fields(&self) -> &'static [FieldSpec] {
        FIELDS
    }

    fn build(&self, config: &ProviderConfig) -> Result<Arc<dyn Provider>, ProviderError> {
        Ok(Arc::new(AwsProvider::new(config, self.limits)?))
    }
}

/// Wraps data keys under one AWS KMS key.
///
/// Holds a ready SDK client with static credentials; cheap to share behind an
/// `Arc`. Its `Debug` shows the region, endpoint, access key id and master
/// key id, never the secret key.
pub struct AwsProvider {
    client: aws_sdk_kms::Client,
    master_key_id: String,
    region: String,
    endpoint: Option<String>,
    access_key: String,
}

impl AwsProvider {
    /// Checks the shape of `config` (the region above all: it picks the host
    /// that requests are signed for and sent to) and builds the client.
    /// Makes no network call.
    pub fn new(config: &ProviderConfig, limits: CallLimits) -> Result<AwsProvider, ProviderError> {
        let settings = Settings::from_config(config)?;
        let client = client::build(&settings, &limits);
        tracing::debug!(
            region = %settings.region,
            endpoint = settings.endpoint.as_deref().unwrap_or("default"),
            master_key_id = %settings.master_key_id,
            "AWS KMS provider built"
        );
        Ok(AwsProvider {
            client,
            master_key_id: settings.master_key_id,
            region: settings.region,
            endpoint: settings.endpoint,
            access_key: settings.access_key,
        })
    }

    /// `DescribeKey`: the key must be enabled, for `ENCRYPT_DECRYPT`, and
    /// `SYMMETRIC_DEFAULT`.
    async fn check_key(&self) -> Result<(), ProviderError> {
        let output = self
            .client
            .describe_key()
            .key_id(&self.master_key_id)
            .send()
            .await
            .map_err(|err| classify(Operation::DescribeKey, err))?;
        let Some(metadata) = output.key_metadata() else {
            return Err(unexpected("DescribeKey returned no key metadata"));
        };
        check_metadata(metadata)
    }
}

#[async_trait]
impl Provider for AwsProvider {
    fn describe(&self) -> ProviderInfo {
        ProviderInfo {
            name: PROVIDER_NAME.to_owned(),
            master_key_id: self.master_key_id.clone(),
        }
    }

    /// `DescribeKey`, then `GenerateDataKey`, `Encrypt` of that key and
    /// `Decrypt`: four calls that prove the key is usable and that the
    /// credentials hold every permission the engine will need.
    async fn validate(&self) -> Result<(), ProviderError> {
        self.check_key().await?;

        let context: EncryptionContext =
            [(VALIDATE_CONTEXT.0.to_owned(), VALIDATE_CONTEXT.1.to_owned())].into();
        let (dek, _) = self.generate(&context).await?;
        let wrapped = self.wrap(&dek, &context).await?;
        let back = self.unwrap(&wrapped, &context).await?;
        if back.expose_secret() != dek.expose_secret() {
            return Err(unexpected("the validation round trip returned another key"));
        }

        tracing::debug!(master_key_id = %self.master_key_id, "AWS KMS configuration valid");
        Ok(())
    }

    async fn wrap(
        &self,
        dek: &Dek,
        context: &EncryptionContext,
    ) -> Result<WrappedDek, ProviderError> {
        let output = self
            .client
            .encrypt()
            .key_id(&self.master_key_id)
            .plaintext(Blob::new(dek.expose_secret().as_slice()))
            .set_encryption_context(kms_context(context))
            .encryption_algorithm(EncryptionAlgorithmSpec::SymmetricDefault)
            .send()
            .await
            .map_err(|err| classify(Operation::Encrypt, err))?;
        wrapped_of(output.ciphertext_blob, "Encrypt")
    }

    async fn unwrap(
        &self,
        wrapped: &WrappedDek,
        context: &EncryptionContext,
    ) -> Result<Dek, ProviderError> {
        if wrapped.as_bytes().is_empty() {
            return Err(ProviderError::new(
                ProviderErrorKind::UnwrapFailed,
                "the wrapped key is empty",
            ));
        }

        let output = self
            .client
            .decrypt()
            .key_id(&self.master_key_id)
            .ciphertext_blob(Blob::new(wrapped.as_bytes()))
            .set_encryption_context(kms_context(context))
            .encryption_algorithm(EncryptionAlgorithmSpec::SymmetricDefault)
            .send()
            .await
            .map_err(|err| classify(Operation::Decrypt, err))?;
        dek_of(output.plaintext, "Decrypt")
    }

    async fn generate(
        &self,
        context: &EncryptionContext,
    ) -> Result<(Dek, WrappedDek), ProviderError> {
        let output = self
            .client
            .generate_data_key()
            .key_id(&self.master_key_id)
            .key_spec(DataKeySpec::Aes256)
            .set_encryption_context(kms_context(context))
            .send()
            .await
            .map_err(|err| classify(Operation::GenerateDataKey, err))?;
        let dek = dek_of(output.plaintext, "GenerateDataKey")?;
        let wrapped = wrapped_of(output.ciphertext_blob, "GenerateDataKey")?;
        Ok((dek, wrapped))
    }
}

impl fmt::Debug for AwsProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsProvider")
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("access_key", &self.access_key)
            .field("secret_key", &"[REDACTED]")
            .field("master_key_id", &self.master_key_id)
            .finish()
    }
}

/// The key must be enabled, for encryption, and symmetric. A field that is
/// missing counts as wrong: AWS always sends all three.
fn check_metadata(metadata: &KeyMetadata) -> Result<(), ProviderError> {
    if metadata.key_state() != Some(&KeyState::Enabled) || !metadata.enabled() {
        let state = metadata.key_state().map_or("unknown", KeyState::as_str);
        return Err(ProviderError::new(
            ProviderErrorKind::KeyDisabled,
            format!(
                "the key is not usable (state {state}): enable it, or cancel its deletion, \
                 in AWS KMS"
            ),
        ));
    }
    let usage_ok = metadata.key_usage() == Some(&KeyUsageType::EncryptDecrypt);
    let spec_ok = metadata.key_spec() == Some(&KeySpec::SymmetricDefault);
    if !usage_ok || !spec_ok {
        let spec = metadata.key_spec().map_or("unknown", KeySpec::as_str);
        let usage = metadata.key_usage().map_or("unknown", KeyUsageType::as_str);
        return Err(ProviderError::new(
            ProviderErrorKind::WrongKeyUsage,
            format!(
                "the master key has key spec {spec} and usage {usage}; hyok needs a \
                 SYMMETRIC_DEFAULT key with usage ENCRYPT_DECRYPT"
            ),
        ));
    }
    Ok(())
}

/// The engine's context as the SDK takes it; none when empty (KMS treats
/// both alike).
fn kms_context(context: &EncryptionContext) -> Option<HashMap<String, String>> {
    if context.is_empty() {
        return None;
    }
    Some(
        context
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

/// Takes a plaintext data key out of a KMS answer: exactly 32 bytes, and the
/// SDK's copy is wiped when it is the only one.
fn dek_of(plaintext: Option<Blob>, operation: &str) -> Result<Dek, ProviderError> {
    let Some(blob) = plaintext else {
        return Err(unexpected(format!("{operation} returned no plaintext key")));
    };
    let bytes = blob.into_bytes();
    let dek = Dek::from_slice(&bytes).map_err(|err| {
        unexpected(format!("{operation} returned a key of the wrong length")).with_source(err)
    });
    if let Ok(mut owned) = bytes.try_into_mut() {
        owned.as_mut().zeroize();
    }
    dek
}

/// Takes the ciphertext blob out of a KMS answer, as opaque bytes.
fn wrapped_of(ciphertext: Option<Blob>, operation: &str) -> Result<WrappedDek, ProviderError> {
    match ciphertext {
        Some(blob) if !blob.as_ref().is_empty() => Ok(WrappedDek::new(blob.into_inner())),
        _ => Err(unexpected(format!("{operation} returned no ciphertext"))),
    }
}

fn unexpected(message: impl Into<String>) -> ProviderError {
    ProviderError::new(ProviderErrorKind::Unexpected, message)
}

#[cfg(test)]
mod tests {
    use aws_sdk_kms::types::{KeyState, OriginType};
    use secrecy::SecretString;

    use super::*;

    const CANARY: &str = "canary-SECRET-KEY-must-never-show";

    fn config() -> ProviderConfig {
        ProviderConfig::new(PROVIDER_NAME)
            .setting("accessKey", "AKIAEXAMPLE")
            .secret("secretKey", SecretString::from(CANARY))
            .setting("masterKeyId", "alias/hyok")
            .setting("region", "eu-west-1")
            .setting("endpoint", "http://127.0.0.1:4566")
    }

    #[test]
    fn debug_shows_settings_and_hides_the_secret() {
        let provider = AwsProvider::new(&config(), CallLimits::default()).unwrap();
        assert_eq!(
            format!("{provider:?}"),
            "AwsProvider { region: \"eu-west-1\", endpoint: Some(\"http://127.0.0.1:4566\"), \
             access_key: \"AKIAEXAMPLE\", secret_key: \"[REDACTED]\", \
             master_key_id: \"alias/hyok\" }"
        );
        let built = AwsFactory::new().build(&config()).unwrap();
        assert!(!format!("{built:#?}").contains(CANARY));
    }

    #[test]
    fn factory_lists_the_form_fields() {
        let factory = AwsFactory::new();
        let names: Vec<_> = factory
            .fields()
            .iter()
            .map(|f| (f.name, f.required, f.secret))
            .collect();
        assert_eq!(factory.name(), "aws");
        assert_eq!(
            names,
            [
                ("accessKey", true, false),
                ("secretKey", true, true),
                ("masterKeyId", true, false),
                ("region", true, false),
                ("endpoint", false, false),
            ]
        );
    }

    fn metadata(state: KeyState, usage: KeyUsageType, spec: KeySpec) -> KeyMetadata {
        KeyMetadata::builder()
            .key_id("k")
            .enabled(state == KeyState::Enabled)
            .key_state(state)
            .key_usage(usage)
            .key_spec(spec)
            .origin(OriginType::AwsKms)
            .build()
            .unwrap()
    }

    #[test]
    fn metadata_must_show_an_enabled_symmetric_encryption_key() {
        use KeyUsageType::{EncryptDecrypt, SignVerify};
        let kind = |m: KeyMetadata| check_metadata(&m).err().map(|e| e.kind());

        let good = metadata(KeyState::Enabled, EncryptDecrypt, KeySpec::SymmetricDefault);
        assert_eq!(kind(good), None);
        for state in [
            KeyState::Disabled,
            KeyState::PendingDeletion,
            KeyState::PendingImport,
        ] {
            let m = metadata(state, EncryptDecrypt, KeySpec::SymmetricDefault);
            assert_eq!(kind(m), Some(ProviderErrorKind::KeyDisabled));
        }
        let signing = metadata(KeyState::Enabled, SignVerify, KeySpec::Rsa2048);
        assert_eq!(kind(signing), Some(ProviderErrorKind::WrongKeyUsage));
        let hmac = metadata(KeyState::Enabled, EncryptDecrypt, KeySpec::Hmac256);
        assert_eq!(kind(hmac), Some(ProviderErrorKind::WrongKeyUsage));
    }

    #[test]
    fn plaintext_of_the_wrong_length_is_refused() {
        let err = dek_of(Some(Blob::new(vec![7; 16])), "Decrypt").unwrap_err();
        assert_eq!(err.kind(), ProviderErrorKind::Unexpected);
        assert_eq!(err.message(), "Decrypt returned a key of the wrong length");
        assert!(dek_of(None, "Decrypt").is_err());
        assert!(dek_of(Some(Blob::new(vec![7; 32])), "Decrypt").is_ok());
    }
}

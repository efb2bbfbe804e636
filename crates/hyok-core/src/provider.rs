//! The provider seam: where data keys are wrapped under a master key.
//!
//! A [`Provider`] wraps and unwraps [`Dek`]s under a master key that the engine
//! never sees (the local key file, an AWS KMS key, an OCI Vault key). A
//! [`ProviderFactory`] builds a provider from a [`ProviderConfig`]: the form
//! fields an operator sends, split into public settings and secrets. The
//! engine keeps one [`ProviderRegistry`] of factories by provider name.

use std::collections::{BTreeMap, HashMap};
use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

use crate::dek::{Dek, WrappedDek};

/// Encryption context bound to every wrap: the same map must be given to
/// unwrap. The engine binds each wrapped DEK to its keyring and version this
/// way, so a wrapped key moved to another slot fails to unwrap.
///
/// Providers pass it on as the KMS encryption context (AWS) or associated
/// data (OCI, local). Keys and values are not secret.
pub type EncryptionContext = BTreeMap<String, String>;

/// Wraps and unwraps data keys under one master key.
///
/// Implementations are cheap to share (`Arc<dyn Provider>`), hold their
/// credentials in secret types, and never log key material or credentials.
/// Every method is bounded in time: a stalled KMS ends in
/// [`ProviderErrorKind::TimedOut`], never in a wait without end.
#[async_trait]
pub trait Provider: Send + Sync + fmt::Debug {
    /// What this provider is and which master key it uses. No secrets.
    fn describe(&self) -> ProviderInfo;

    /// Checks the configuration against the KMS: the master key exists, is
    /// enabled, may encrypt and decrypt, and the credentials are accepted.
    ///
    /// Changes nothing. The engine calls this before it trusts a new
    /// configuration with any data key.
    async fn validate(&self) -> Result<(), ProviderError>;

    /// Wraps `dek` under the master key, bound to `context`.
    ///
    /// The result must unwrap to the same key only when the same `context` is
    /// given; it is opaque bytes to everyone else.
    async fn wrap(
        &self,
        dek: &Dek,
        context: &EncryptionContext,
    ) -> Result<WrappedDek, ProviderError>;

    /// Unwraps a key made by [`wrap`](Provider::wrap) or
    /// [`generate`](Provider::generate) with the same master key and context.
    ///
    /// A wrong context, a wrong master key or altered bytes must fail
    /// (typically as [`ProviderErrorKind::UnwrapFailed`]); it must never
    /// return some other key.
    async fn unwrap(
        &self,
        wrapped: &WrappedDek,
        context: &EncryptionContext,
    ) -> Result<Dek, ProviderError>;

    /// Makes a fresh data key and returns it in clear and wrapped, as KMS
    /// `GenerateDataKey` does.
    ///
    /// The default draws the key from the OS and calls [`wrap`](Provider::wrap).
    async fn generate(
        &self,
        context: &EncryptionContext,
    ) -> Result<(Dek, WrappedDek), ProviderError> {
        let dek = Dek::generate();
        let wrapped = self.wrap(&dek, context).await?;
        Ok((dek, wrapped))
    }
}

/// A provider's description of itself: safe to log and to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderInfo {
    /// Provider name: `local`, `aws` or `oci`.
    pub name: String,
    /// Master key id as configured (key id, ARN, alias, OCID, or a local id).
    pub master_key_id: String,
}

/// Builds a provider from its configuration.
pub trait ProviderFactory: Send + Sync + fmt::Debug {
    /// The provider name this factory answers to (`aws`, `oci`).
    fn name(&self) -> &'static str;

    /// The configuration fields this provider takes, in the order a form
    /// shows them. Front ends use this to refuse unknown or missing fields
    /// and to know which values are secrets.
    fn fields(&self) -> &'static [FieldSpec];

    /// Checks the shape of `config` (required fields present, well-formed
    /// region or endpoint, parseable key) and builds the provider. Makes no
    /// network call; [`Provider::validate`] does that.
    fn build(&self, config: &ProviderConfig) -> Result<Arc<dyn Provider>, ProviderError>;
}

/// One configuration field of a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    /// Field name as the REST form sends it (`masterKeyId`, `secretKey`).
    pub name: &'static str,
    /// Whether the field must be present and non-empty.
    pub required: bool,
    /// Whether the value is a secret: kept in [`SecretString`], sealed at
    /// rest, never shown.
    pub secret: bool,
}

impl FieldSpec {
    /// A required public field.
    pub const fn required(name: &'static str) -> FieldSpec {
        FieldSpec {
            name,
            required: true,
            secret: false,
        }
    }

    /// An optional public field.
    pub const fn optional(name: &'static str) -> FieldSpec {
        FieldSpec {
            name,
            required: false,
            secret: false,
        }
    }

    /// A required secret field.
    pub const fn secret(name: &'static str) -> FieldSpec {
        FieldSpec {
            name,
            required: true,
            secret: true,
        }
    }

    /// An optional secret field.
    pub const fn optional_secret(name: &'static str) -> FieldSpec {
        FieldSpec {
            name,
            required: false,
            secret: true,
        }
    }
}

/// The providers an engine can configure, by name.
#[derive(Debug, Clone, Default)]
pub struct ProviderRegistry {
    factories: HashMap<&'static str, Arc<dyn ProviderFactory>>,
}

impl ProviderRegistry {
    /// An empty registry (the local provider is always available apart from it).
    pub fn new() -> ProviderRegistry {
        ProviderRegistry::default()
    }

    /// Adds a factory, replacing any with the same name.
    pub fn register(&mut self, factory: Arc<dyn ProviderFactory>) -> &mut Self {
        self.factories.insert(factory.name(), factory);
        self
    }

    /// Adds a factory; builder style.
    pub fn with(mut self, factory: Arc<dyn ProviderFactory>) -> Self {
        self.register(factory);
        self
    }

    /// Builds the provider `config` names.
    ///
    /// Fails with [`ProviderErrorKind::UnknownProvider`] when no factory has
    /// that name.
    pub fn build(&self, config: &ProviderConfig) -> Result<Arc<dyn Provider>, ProviderError> {
        match self.factories.get(config.provider()) {
            Some(factory) => factory.build(config),
            None => Err(ProviderError::new(
                ProviderErrorKind::UnknownProvider,
                format!("unknown provider {:?}", config.provider()),
            )),
        }
    }

    /// The factory registered under `name`.
    pub fn factory(&self, name: &str) -> Option<&Arc<dyn ProviderFactory>> {
        self.factories.get(name)
    }

    /// Names of the registered providers, sorted.
    pub fn names(&self) -> Vec<&'static str> {
        let mut names: Vec<_> = self.factories.keys().copied().collect();
        names.sort_unstable();
        names
    }
}

/// A provider configuration: the provider name, public settings and secrets.
///
/// Settings (`region`, `masterKeyId`, endpoints, OCIDs) are stored and shown
/// as they are. Secrets (`secretKey`, `privateKey`) are held in
/// [`SecretString`], sealed under the local master key in the state file, and
/// never shown: `Debug` lists only their names.
#[derive(Clone)]
pub struct ProviderConfig {
    provider: String,
    settings: BTreeMap<String, String>,
    secrets: BTreeMap<String, SecretString>,
}

impl ProviderConfig {
    /// A configuration for `provider` with no fields yet.
    pub fn new(provider: impl Into<String>) -> ProviderConfig {
        ProviderConfig {
            provider: provider.into(),
            settings: BTreeMap::new(),
            secrets: BTreeMap::new(),
        }
    }

    /// Sets a public setting; builder style.
    pub fn setting(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.settings.insert(name.into(), value.into());
        self
    }

    /// Sets a secret; builder style.
    pub fn secret(mut self, name: impl Into<String>, value: SecretString) -> Self {
        self.secrets.insert(name.into(), value);
        self
    }

    /// The provider name.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// A public setting, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.settings.get(name).map(String::as_str)
    }

    /// A public setting that must be present and non-empty.
    pub fn require(&self, name: &str) -> Result<&str, ProviderError> {
        match self.get(name) {
            Some(value) if !value.trim().is_empty() => Ok(value),
            _ => Err(ProviderError::missing_field(name)),
        }
    }

    /// A secret, if present.
    pub fn get_secret(&self, name: &str) -> Option<&SecretString> {
        self.secrets.get(name)
    }

    /// A secret that must be present and non-empty.
    pub fn require_secret(&self, name: &str) -> Result<&SecretString, ProviderError> {
        match self.get_secret(name) {
            Some(value) if !value.expose_secret().trim().is_empty() => Ok(value),
            _ => Err(ProviderError::missing_field(name)),
        }
    }

    /// All public settings.
    pub fn settings(&self) -> &BTreeMap<String, String> {
        &self.settings
    }

    /// All secrets. Whoever reads them must not log or return them.
    pub fn secrets(&self) -> &BTreeMap<String, SecretString> {
        &self.secrets
    }
}

impl fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted: BTreeMap<&str, &str> = self
            .secrets
            .keys()
            .map(|name| (name.as_str(), "[REDACTED]"))
            .collect();
        f.debug_struct("ProviderConfig")
            .field("provider", &self.provider)
            .field("settings", &self.settings)
            .field("secrets", &redacted)
            .finish()
    }
}

/// What went wrong in a provider, sorted so that callers can branch (retry,
/// HTTP status, message) without reading strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProviderErrorKind {
    /// No provider of that name is known.
    UnknownProvider,
    /// A required configuration field is missing or empty.
    MissingField,
    /// A configuration field is malformed (region, endpoint, PEM, fingerprint).
    InvalidField,
    /// The master key id does not name a key the credentials can see.
    InvalidKeyId,
    /// The master key exists but is disabled, pending deletion or otherwise
    /// not usable.
    KeyDisabled,
    /// The master key exists but is of the wrong kind (not symmetric, not for
    /// encryption).
    WrongKeyUsage,
    /// The KMS rejected the credentials (bad key pair, bad signature, clock skew).
    InvalidCredentials,
    /// The credentials are valid but lack permission for the operation.
    AccessDenied,
    /// The wrapped key does not unwrap under this master key and context.
    UnwrapFailed,
    /// The KMS asked us to slow down.
    Throttled,
    /// The KMS did not answer in time.
    TimedOut,
    /// The KMS could not be reached or answered with a server error.
    Unavailable,
    /// Anything else: a response we do not understand, a bug.
    Unexpected,
}

impl ProviderErrorKind {
    /// Whether trying the same call again later may succeed.
    pub fn is_transient(self) -> bool {
        matches!(self, Self::Throttled | Self::TimedOut | Self::Unavailable)
    }

    /// Whether the fault lies in the configuration the operator supplied.
    pub fn is_configuration(self) -> bool {
        matches!(
            self,
            Self::UnknownProvider
                | Self::MissingField
                | Self::InvalidField
                | Self::InvalidKeyId
                | Self::KeyDisabled
                | Self::WrongKeyUsage
                | Self::InvalidCredentials
                | Self::AccessDenied
        )
    }
}

/// A provider failure: a kind, a message a person can act on, and the
/// underlying error (an SDK or HTTP error) reachable only through `source()`.
///
/// The message never contains key material or credentials.
pub struct ProviderError {
    kind: ProviderErrorKind,
    message: String,
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl ProviderError {
    /// A new error of `kind` with a message safe to show.
    pub fn new(kind: ProviderErrorKind, message: impl Into<String>) -> ProviderError {
        ProviderError {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// The configuration lacks field `name`.
    pub fn missing_field(name: &str) -> ProviderError {
        Self::new(
            ProviderErrorKind::MissingField,
            format!("missing field {name:?}"),
        )
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> ProviderErrorKind {
        self.kind
    }

    /// The message, without the source.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Debug for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderError")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .field("source", &self.source.as_ref().map(|s| s.to_string()))
            .finish()
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for ProviderError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_debug_hides_secrets() {
        let config = ProviderConfig::new("aws")
            .setting("region", "eu-west-1")
            .secret("secretKey", SecretString::from("canary-SECRET-value"));
        let shown = format!("{config:?}");
        assert_eq!(
            shown,
            "ProviderConfig { provider: \"aws\", settings: {\"region\": \"eu-west-1\"}, \
             secrets: {\"secretKey\": \"[REDACTED]\"} }"
        );
    }

    #[test]
    fn require_refuses_blank_values() {
        let config = ProviderConfig::new("aws").setting("region", "  ");
        let err = config.require("region").unwrap_err();
        assert_eq!(err.kind(), ProviderErrorKind::MissingField);
        assert_eq!(err.to_string(), "missing field \"region\"");
    }

    #[test]
    fn registry_refuses_unknown_provider() {
        let registry = ProviderRegistry::new();
        let err = registry.build(&ProviderConfig::new("gcp")).unwrap_err();
        assert_eq!(err.kind(), ProviderErrorKind::UnknownProvider);
    }
}

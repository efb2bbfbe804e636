//! The provider's configuration: form fields checked for shape, and the
//! bounds on every call.

use std::fmt;
use std::time::Duration;

use hyok_core::{FieldSpec, ProviderConfig, ProviderError, ProviderErrorKind};
use secrecy::SecretString;

/// Form field: the access key id (public).
pub(crate) const ACCESS_KEY: &str = "accessKey";
/// Form field: the secret access key (secret).
pub(crate) const SECRET_KEY: &str = "secretKey";
/// Form field: key id, key ARN, alias name or alias ARN of the master key.
pub(crate) const MASTER_KEY_ID: &str = "masterKeyId";
/// Form field: the AWS region, such as `eu-west-1`.
pub(crate) const REGION: &str = "region";
/// Form field: an optional KMS endpoint URL (VPC endpoint, local KMS).
pub(crate) const ENDPOINT: &str = "endpoint";

/// Environment variables that name the endpoint when the field is absent,
/// in the order the AWS SDKs read them.
const ENDPOINT_ENV: [&str; 2] = ["AWS_ENDPOINT_URL_KMS", "AWS_ENDPOINT_URL"];

/// The fields in form order.
pub(crate) const FIELDS: &[FieldSpec] = &[
    FieldSpec::required(ACCESS_KEY),
    FieldSpec::secret(SECRET_KEY),
    FieldSpec::required(MASTER_KEY_ID),
    FieldSpec::required(REGION),
    FieldSpec::optional(ENDPOINT),
];

/// Longest master key id accepted (the KMS `KeyId` limit).
const MAX_KEY_ID_LEN: usize = 2048;

/// Bounds on every call to AWS KMS: how long to wait and how often to retry.
///
/// Retries use the AWS SDK's standard strategy: throttling (recognised from
/// the error code) and transient failures (timeouts, connection errors, HTTP
/// 5xx) are retried with exponential backoff and full jitter, up to
/// `max_attempts` attempts in all, all within `operation_timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallLimits {
    connect_timeout: Duration,
    attempt_timeout: Duration,
    operation_timeout: Duration,
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
}

impl CallLimits {
    /// Time allowed to open a connection (TCP and TLS). Default 3 s.
    pub fn connect_timeout(mut self, value: Duration) -> Self {
        self.connect_timeout = value;
        self
    }

    /// Time allowed for one attempt, from sending to the whole answer.
    /// Default 5 s.
    pub fn attempt_timeout(mut self, value: Duration) -> Self {
        self.attempt_timeout = value;
        self
    }

    /// Time allowed for one operation, all attempts and backoff included.
    /// Default 20 s.
    pub fn operation_timeout(mut self, value: Duration) -> Self {
        self.operation_timeout = value;
        self
    }

    /// Attempts per operation, the first included; at least 1. Default 3.
    pub fn max_attempts(mut self, value: u32) -> Self {
        self.max_attempts = value.max(1);
        self
    }

    /// Base of the exponential backoff between attempts, and its cap.
    /// Defaults 200 ms and 2 s.
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    pub(crate) fn connect(&self) -> Duration {
        self.connect_timeout
    }

    pub(crate) fn attempt(&self) -> Duration {
        self.attempt_timeout
    }

    pub(crate) fn operation(&self) -> Duration {
        self.operation_timeout
    }

    pub(crate) fn attempts(&self) -> u32 {
        self.max_attempts
    }

    pub(crate) fn backoff_bounds(&self) -> (Duration, Duration) {
        (self.initial_backoff, self.max_backoff)
    }
}

impl Default for CallLimits {
    fn default() -> Self {
        CallLimits {
            connect_timeout: Duration::from_secs(3),
            attempt_timeout: Duration::from_secs(5),
            operation_timeout: Duration::from_secs(20),
            max_attempts: 3,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(2),
        }
    }
}

/// A configuration whose every field has been checked for shape.
pub(crate) struct Settings {
    pub(crate) access_key: String,
    pub(crate) secret_key: SecretString,
    pub(crate) master_key_id: String,
    pub(crate) region: String,
    pub(crate) endpoint: Option<String>,
}

impl Settings {
    /// Reads and checks the fields of `config`; makes no network call.
    pub(crate) fn from_config(config: &ProviderConfig) -> Result<Settings, ProviderError> {
        let region = config.require(REGION)?.trim();
        if !is_region_name(region) {
            return Err(invalid(format!(
                "the region {region:?} is not a well-formed AWS region name (like eu-west-1)"
            )));
        }

        let access_key = config.require(ACCESS_KEY)?.trim();
        if !is_access_key_id(access_key) {
            return Err(invalid(
                "the access key is not a well-formed AWS access key id",
            ));
        }
        let secret_key = config.require_secret(SECRET_KEY)?.clone();

        let master_key_id = config.require(MASTER_KEY_ID)?.trim();
        check_key_id(master_key_id)?;

        let endpoint = endpoint_of(config)?;

        Ok(Settings {
            access_key: access_key.to_owned(),
            secret_key,
            master_key_id: master_key_id.to_owned(),
            region: region.to_owned(),
            endpoint,
        })
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("access_key", &self.access_key)
            .field("secret_key", &"[REDACTED]")
            .field("master_key_id", &self.master_key_id)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

/// Whether `name` has the shape of an AWS region name: a partition prefix of
/// two to four letters, one or more words, and a number
/// (`eu-west-1`, `us-gov-west-1`, `us-isob-east-1`, `eusc-de-east-1`).
///
/// The region becomes part of the host name that requests are signed for and
/// sent to, so anything else (dots, slashes, ports, upper case) is refused.
pub(crate) fn is_region_name(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    let [prefix, words @ .., number] = parts.as_slice() else {
        return false;
    };
    let lower = |s: &str| s.bytes().all(|b| b.is_ascii_lowercase());
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());

    (2..=4).contains(&prefix.len())
        && lower(prefix)
        && !words.is_empty()
        && words
            .iter()
            .all(|w| (1..=12).contains(&w.len()) && lower(w))
        && (1..=2).contains(&number.len())
        && digits(number)
}

/// Access key ids are letters and digits (`AKIA…`, 16 to 128 characters on
/// AWS; local servers accept shorter ones).
fn is_access_key_id(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The master key id goes into request bodies only; refuse what no KMS key
/// id, ARN or alias can look like.
fn check_key_id(id: &str) -> Result<(), ProviderError> {
    let printable = id.chars().all(|c| c.is_ascii_graphic());
    if id.len() > MAX_KEY_ID_LEN || !printable {
        return Err(ProviderError::new(
            ProviderErrorKind::InvalidKeyId,
            "the master key id is not valid: expected a key id, key ARN, alias name or alias ARN",
        ));
    }
    Ok(())
}

/// The endpoint from the `endpoint` field, else from the environment.
fn endpoint_of(config: &ProviderConfig) -> Result<Option<String>, ProviderError> {
    let from_field = config
        .get(ENDPOINT)
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let from_env = || {
        ENDPOINT_ENV
            .iter()
            .filter_map(|name| std::env::var(name).ok())
            .map(|value| value.trim().to_owned())
            .find(|value| !value.is_empty())
    };

    let Some(endpoint) = from_field.map(str::to_owned).or_else(from_env) else {
        return Ok(None);
    };
    check_endpoint(&endpoint)?;
    Ok(Some(endpoint))
}

/// An endpoint is an `http` or `https` URL with a host, no user info, and no
/// query.
fn check_endpoint(endpoint: &str) -> Result<(), ProviderError> {
    let refuse = || {
        invalid(format!(
            "the endpoint {endpoint:?} is not an http(s) URL \
             (like https://kms.eu-west-1.amazonaws.com)"
        ))
    };
    let uri: http::Uri = endpoint.parse().map_err(|_| refuse())?;

    let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
    let Some(authority) = uri.authority() else {
        return Err(refuse());
    };
    if !scheme_ok || authority.host().is_empty() || authority.as_str().contains('@') {
        return Err(refuse());
    }
    if uri.query().is_some() {
        return Err(refuse());
    }
    Ok(())
}

fn invalid(message: impl Into<String>) -> ProviderError {
    ProviderError::new(ProviderErrorKind::InvalidField, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(region: &str) -> ProviderConfig {
        ProviderConfig::new("aws")
            .setting(ACCESS_KEY, "AKIAEXAMPLE")
            .secret(SECRET_KEY, SecretString::from("canary-SECRET-value"))
            .setting(MASTER_KEY_ID, "alias/hyok")
            .setting(REGION, region)
            .setting(ENDPOINT, "https://kms.eu-west-1.amazonaws.com")
    }

    #[test]
    fn region_names() {
        for good in [
            "eu-west-1",
            "us-gov-west-1",
            "us-isob-east-1",
            "eusc-de-east-1",
            "il-central-1",
        ] {
            assert!(is_region_name(good), "{good}");
        }
        for bad in [
            "",
            "eu",
            "eu-west",
            "EU-WEST-1",
            "eu-west-1.evil.example",
            "evil.example/eu-west-1",
            "eu-west-1:443",
            "eu--1",
            "eu-west-123",
            "eu-west-1-",
            "euwest1",
        ] {
            assert!(!is_region_name(bad), "{bad}");
        }
    }

    #[test]
    fn malformed_region_is_an_invalid_field() {
        let err = Settings::from_config(&config("kms.evil.example#")).unwrap_err();
        assert_eq!(err.kind(), ProviderErrorKind::InvalidField);
        assert!(err.message().contains("region"), "{err}");
    }

    #[test]
    fn endpoints() {
        for good in [
            "https://kms.eu-west-1.amazonaws.com",
            "http://127.0.0.1:4566",
            "https://h/",
        ] {
            assert!(check_endpoint(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "kms.example",
            "ftp://h",
            "https://user:pw@h",
            "https://h/?a=b",
            "h:443",
        ] {
            assert!(check_endpoint(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn key_ids() {
        assert!(check_key_id("arn:aws:kms:eu-west-1:111122223333:alias/hyok").is_ok());
        let err = check_key_id("alias/with space").unwrap_err();
        assert_eq!(err.kind(), ProviderErrorKind::InvalidKeyId);
        assert!(err.message().starts_with("the master key id is not valid"));
    }

    #[test]
    fn missing_secret_is_a_missing_field() {
        let config = ProviderConfig::new("aws")
            .setting(ACCESS_KEY, "AKIAEXAMPLE")
            .setting(MASTER_KEY_ID, "alias/hyok")
            .setting(REGION, "eu-west-1");
        let err = Settings::from_config(&config).unwrap_err();
        assert_eq!(err.kind(), ProviderErrorKind::MissingField);
        assert_eq!(err.message(), "missing field \"secretKey\"");
    }

    #[test]
    fn settings_debug_is_redacted() {
        let settings = Settings::from_config(&config("eu-west-1")).unwrap();
        assert_eq!(
            format!("{settings:?}"),
            "Settings { access_key: \"AKIAEXAMPLE\", secret_key: \"[REDACTED]\", \
             master_key_id: \"alias/hyok\", region: \"eu-west-1\", \
             endpoint: Some(\"https://kms.eu-west-1.amazonaws.com\") }"
        );
    }
}

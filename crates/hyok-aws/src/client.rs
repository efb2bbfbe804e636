//! Builds the AWS SDK client by hand: static credentials, a checked region,
//! an optional endpoint, hyper + rustls (ring) for HTTPS, and the call limits.
//! No credential chain, no profile files, no instance metadata lookups.

use aws_sdk_kms::config::retry::RetryConfig;
use aws_sdk_kms::config::timeout::TimeoutConfig;
use aws_sdk_kms::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use secrecy::ExposeSecret;

use crate::config::{CallLimits, Settings};

/// Name under which the credentials show in the SDK's own diagnostics.
const CREDENTIALS_SOURCE: &str = "hyok-config";

/// A KMS client for `settings`, bounded by `limits`. Makes no network call.
pub(crate) fn build(settings: &Settings, limits: &CallLimits) -> aws_sdk_kms::Client {
    let credentials = Credentials::new(
        &settings.access_key,
        settings.secret_key.expose_secret(),
        None,
        None,
        CREDENTIALS_SOURCE,
    );
    let http_client = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();

    let mut builder = aws_sdk_kms::Config::builder()
        // Pinned so that an SDK upgrade cannot change defaults unnoticed.
        .behavior_version(BehaviorVersion::v2026_11_17())
        .region(Region::new(settings.region.clone()))
        .credentials_provider(credentials)
        .http_client(http_client)
        .timeout_config(timeouts(limits))
        .retry_config(retries(limits));
    if let Some(endpoint) = &settings.endpoint {
        builder = builder.endpoint_url(endpoint);
    }
    aws_sdk_kms::Client::from_conf(builder.build())
}

fn timeouts(limits: &CallLimits) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(limits.connect())
        .read_timeout(limits.attempt())
        .operation_attempt_timeout(limits.attempt())
        .operation_timeout(limits.operation())
        .build()
}

/// The SDK's standard strategy: it recognises throttling by error code
/// (`ThrottlingException` and kin) and transient failures (timeouts, I/O,
/// HTTP 5xx), and backs off exponentially with full jitter.
fn retries(limits: &CallLimits) -> RetryConfig {
    let (initial, max) = limits.backoff_bounds();
    RetryConfig::standard()
        .with_max_attempts(limits.attempts())
        .with_initial_backoff(initial)
        .with_max_backoff(max)
}

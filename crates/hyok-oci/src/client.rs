//! Signed calls to the OCI KMS REST API, with timeouts, retries and error
//! classification.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use hyok_core::{ProviderError, ProviderErrorKind};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use crate::config::Limits;
use crate::signer::RequestSigner;

/// The text OCI's 404 gets, since OCI does not say which of the three it is.
pub(crate) const NOT_FOUND_TEXT: &str =
    "key not found or not authorised; check the key OCID, the endpoint kind and the policy";

const UNWRAP_TEXT: &str = "the wrapped key does not decrypt under this master key and context";

const UNAUTHENTICATED_TEXT: &str = "OCI did not accept the request signature; check tenantId, \
     userId, fingerprint and privateKey, and that this machine's clock is right (clock skew)";

/// Which provider operation a call serves: it names the call in messages and
/// decides what a 400 means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    GetKey,
    Encrypt,
    Decrypt,
    GenerateKey,
}

impl Operation {
    fn name(self) -> &'static str {
        match self {
            Operation::GetKey => "GetKey",
            Operation::Encrypt => "Encrypt",
            Operation::Decrypt => "Decrypt",
            Operation::GenerateKey => "GenerateDataEncryptionKey",
        }
    }
}

/// An HTTP client that signs every request with one API key.
pub(crate) struct Client {
    http: reqwest::Client,
    signer: RequestSigner,
    limits: Limits,
}

impl Client {
    pub(crate) fn new(signer: RequestSigner, limits: Limits) -> Result<Client, ProviderError> {
        let http = reqwest::Client::builder()
            .connect_timeout(limits.connect_timeout)
            .timeout(limits.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|err| {
                ProviderError::new(
                    ProviderErrorKind::Unexpected,
                    "cannot build the HTTP client",
                )
                .with_source(err)
            })?;
        Ok(Client {
            http,
            signer,
            limits,
        })
    }

    /// Sends a signed request, retrying transient failures within
    /// [`Limits`], and parses the JSON answer.
    ///
    /// The body is wiped after the call; so is the answer's copy that this
    /// crate holds (see the crate docs for what cannot be wiped).
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        op: Operation,
        method: Method,
        url: &Url,
        body: &[u8],
    ) -> Result<T, ProviderError> {
        let answer = self.send_with_retries(op, &method, url, body).await?;
        serde_json::from_slice(&answer).map_err(|err| {
            let message = format!(
                "OCI {} answered JSON this provider does not understand",
                op.name()
            );
            ProviderError::new(ProviderErrorKind::Unexpected, message).with_source(err)
        })
    }

    async fn send_with_retries(
        &self,
        op: Operation,
        method: &Method,
        url: &Url,
        body: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, ProviderError> {
        let mut attempt = 1;
        loop {
            let failure = match self.send_once(op, method, url, body).await {
                Ok(answer) => return Ok(answer),
                Err(failure) => failure,
            };
            if !failure.retry || attempt >= self.limits.max_attempts {
                return Err(failure.error);
            }
            let delay = backoff(&self.limits, attempt);
            tracing::debug!(
                op = op.name(),
                attempt,
                kind = ?failure.error.kind(),
                delay_ms = delay.as_millis() as u64,
                "oci call failed; retrying"
            );
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    async fn send_once(
        &self,
        op: Operation,
        method: &Method,
        url: &Url,
        body: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, Failure> {
        let mut headers = HeaderMap::new();
        if !body.is_empty() || *method == Method::POST {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        let signed = self
            .signer
            .sign(method, url, &headers, body)
            .map_err(|err| {
                let error = ProviderError::new(ProviderErrorKind::InvalidField, err.to_string());
                Failure {
                    error: error.with_source(err),
                    retry: false,
                }
            })?;

        let request = self
            .http
            .request(method.clone(), url.clone())
            .headers(signed.into_headers());
        let request = if *method == Method::POST {
            request.body(body.to_vec())
        } else {
            request
        };
        let response = request
            .send()
            .await
            .map_err(|err| transport_failure(op, err))?;

        let status = response.status();
        let request_id = header_text(response.headers(), "opc-request-id");
        let answer = response
            .bytes()
            .await
            .map_err(|err| transport_failure(op, err))?;
        let answer = Zeroizing::new(answer.to_vec());
        tracing::debug!(
            op = op.name(),
            status = status.as_u16(),
            request_id,
            "oci call answered"
        );

        if status.is_success() {
            return Ok(answer);
        }
        Err(service_failure(op, status, request_id, &answer))
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("signer", &self.signer)
            .finish_non_exhaustive()
    }
}

/// A failed attempt, and whether another attempt may succeed.
struct Failure {
    error: ProviderError,
    retry: bool,
}

/// An error answer of the OCI API, reachable through
/// [`ProviderError::source`].
#[derive(Debug, Clone)]
pub(crate) struct ServiceError {
    status: StatusCode,
    code: String,
    message: String,
    request_id: Option<String>,
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "OCI answered {} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )?;
        if let Some(id) = &self.request_id {
            write!(f, " (opc-request-id {id})")?;
        }
        Ok(())
    }
}

impl StdError for ServiceError {}

/// OCI's error body.
#[derive(Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

fn service_failure(
    op: Operation,
    status: StatusCode,
    request_id: Option<String>,
    answer: &[u8],
) -> Failure {
    let body: ErrorBody = serde_json::from_slice(answer).unwrap_or_default();
    let (kind, text) = classify(op, status);
    let detail = ServiceError {
        status,
        code: body.code,
        message: body.message,
        request_id,
    };

    let error = ProviderError::new(kind, format!("{text} ({detail})")).with_source(detail);
    Failure {
        error,
        retry: is_retryable(status),
    }
}

/// Maps an OCI error answer to a class and a text saying what to check.
///
/// See OCI's "API Errors" page,
/// <https://docs.oracle.com/iaas/Content/API/References/apierrors.htm>.
fn classify(op: Operation, status: StatusCode) -> (ProviderErrorKind, String) {
    use ProviderErrorKind as Kind;
    let call = op.name();
    match status.as_u16() {
        400 if op == Operation::Decrypt => (Kind::UnwrapFailed, UNWRAP_TEXT.into()),
        401 => (Kind::InvalidCredentials, UNAUTHENTICATED_TEXT.into()),
        403 => (
            Kind::AccessDenied,
            format!("OCI refused {call}; check the policy"),
        ),
        404 => (Kind::InvalidKeyId, NOT_FOUND_TEXT.into()),
        409 => (
            Kind::KeyDisabled,
            "the master key is disabled or changing state".into(),
        ),
        429 => (Kind::Throttled, format!("OCI throttled {call}")),
        500..=599 => (Kind::Unavailable, format!("OCI failed {call}")),
        _ => (Kind::Unexpected, format!("OCI refused {call}")),
    }
}

/// 409 `IncorrectState`, 429 `TooManyRequests` and server errors may pass
/// on a later attempt; the rest will not.
fn is_retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 409 | 429 | 500..=599)
}

fn transport_failure(op: Operation, err: reqwest::Error) -> Failure {
    let call = op.name();
    let (kind, message, retry) = if err.is_timeout() {
        (
            ProviderErrorKind::TimedOut,
            format!("OCI did not answer {call} in time"),
            false,
        )
    } else if err.is_connect() {
        (
            ProviderErrorKind::Unavailable,
            format!("cannot reach the OCI endpoint for {call}"),
            true,
        )
    } else {
        (
            ProviderErrorKind::Unavailable,
            format!("OCI {call} failed in transit"),
            true,
        )
    };
    Failure {
        error: ProviderError::new(kind, message).with_source(err),
        retry,
    }
}

/// Exponential backoff with jitter: a random delay between half and all of
/// `base × 2^(attempt-1)`, capped at `max_delay`.
fn backoff(limits: &Limits, attempt: u32) -> Duration {
    let exponential = limits
        .base_delay
        .saturating_mul(1 << attempt.saturating_sub(1).min(16));
    let ceiling = exponential.min(limits.max_delay);
    let mut random = [0u8; 4];
    let fraction = match getrandom::fill(&mut random) {
        Ok(()) => f64::from(u32::from_le_bytes(random)) / f64::from(u32::MAX),
        Err(_) => 1.0,
    };
    ceiling.mul_f64(0.5 + fraction / 2.0)
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_within_bounds() {
        let limits = Limits::default();
        for attempt in 1..40 {
            let delay = backoff(&limits, attempt);
            assert!(delay <= limits.max_delay, "attempt {attempt}: {delay:?}");
        }
        let first = backoff(&limits, 1);
        assert!(first >= limits.base_delay / 2 && first <= limits.base_delay);
    }

    #[test]
    fn classes_follow_the_oci_codes() {
        let cases = [
            (
                Operation::Encrypt,
                401,
                ProviderErrorKind::InvalidCredentials,
                false,
            ),
            (
                Operation::Encrypt,
                404,
                ProviderErrorKind::InvalidKeyId,
                false,
            ),
            (
                Operation::Encrypt,
                409,
                ProviderErrorKind::KeyDisabled,
                true,
            ),
            (Operation::Encrypt, 429, ProviderErrorKind::Throttled, true),
            (
                Operation::Encrypt,
                503,
                ProviderErrorKind::Unavailable,
                true,
            ),
            (
                Operation::Encrypt,
                400,
                ProviderErrorKind::Unexpected,
                false,
            ),
            (
                Operation::Decrypt,
                400,
                ProviderErrorKind::UnwrapFailed,
                false,
            ),
        ];
        for (op, status, kind, retry) in cases {
            let status = StatusCode::from_u16(status).unwrap();
            let (got, _) = classify(op, status);
            assert_eq!(
                (got, is_retryable(status)),
                (kind, retry),
                "{op:?} {status}"
            );
        }
    }

    #[test]
    fn not_found_says_what_to_check() {
        let failure = service_failure(
            Operation::GetKey,
            StatusCode::NOT_FOUND,
            Some("req-1".into()),
            br#"{"code":"NotAuthorizedOrNotFound","message":"Not found."}"#,
        );
        assert_eq!(
            failure.error.to_string(),
            "key not found or not authorised; check the key OCID, the endpoint kind and the \
             policy (OCI answered 404 NotAuthorizedOrNotFound: Not found. (opc-request-id req-1))"
        );
    }
}

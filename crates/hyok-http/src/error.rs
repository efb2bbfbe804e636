//! Errors in the AR System message shape, with one number per cause.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyok_core::{LifecycleError, ProviderError, ProviderErrorKind};
use serde::Serialize;

/// Every error the REST facade answers with, each with its own message
/// number, HTTP status and text.
///
/// The numbers 9035, 9036 and 9039 are AR System's; the others are hyok's
/// own and listed in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `kmsconfig/create` while a provider is configured (AR 9035).
    AlreadyConfigured,
    /// `kmsconfig/update` while no provider is configured (AR 9036).
    NotConfigured,
    /// `dek/rotate` while HYOK is off (AR 9039).
    HyokNotEnabled,
    /// No token, or a token that is invalid, expired or logged out.
    Unauthenticated,
    /// `jwt/login` with a wrong user name or password.
    LoginFailed,
    /// A state-changing request without `X-Requested-By`.
    MissingRequestedBy,
    /// A body of the wrong content type.
    UnsupportedContentType,
    /// A body over the size limit.
    BodyTooLarge,
    /// A body that does not parse as its content type says.
    MalformedBody,
    /// No such endpoint.
    NotFound,
    /// The endpoint exists for another method.
    MethodNotAllowed,
    /// The request did not finish within the server's time limit.
    RequestTimedOut,
    /// A required form field is absent.
    MissingField,
    /// A form field the provider does not take.
    UnknownField,
    /// A form field with an empty value.
    EmptyField,
    /// A form field sent twice.
    DuplicateField,
    /// A file part where a text part is expected, or text that is not UTF-8.
    TextExpected,
    /// A provider name that is not `aws` or `oci`.
    UnknownProvider,
    /// A `privateKey` that is not PEM.
    MalformedPem,
    /// A field the provider finds malformed (region, endpoint, key, OCID).
    InvalidField,
    /// The master key id names no key the credentials can see.
    InvalidKeyId,
    /// The master key is disabled or pending deletion.
    KeyDisabled,
    /// The master key cannot encrypt and decrypt (asymmetric, signing key).
    WrongKeyUsage,
    /// The KMS refused the credentials.
    InvalidCredentials,
    /// The credentials lack permission for the KMS operation.
    AccessDenied,
    /// The KMS could not be reached or failed.
    KmsUnavailable,
    /// The KMS did not answer in time.
    KmsTimedOut,
    /// The KMS asked to slow down.
    KmsThrottled,
    /// The data keys do not unwrap under the configured master key.
    KeysUnavailable,
    /// The KMS answered in a way hyok does not understand.
    KmsUnexpected,
    /// A fault inside the server; the details are in its log.
    Internal,
}

impl ErrorCode {
    /// Every code, in the order of the README's table.
    pub const ALL: [ErrorCode; 31] = [
        Self::AlreadyConfigured,
        Self::NotConfigured,
        Self::HyokNotEnabled,
        Self::Unauthenticated,
        Self::LoginFailed,
        Self::MissingRequestedBy,
        Self::UnsupportedContentType,
        Self::BodyTooLarge,
        Self::MalformedBody,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::RequestTimedOut,
        Self::MissingField,
        Self::UnknownField,
        Self::EmptyField,
        Self::DuplicateField,
        Self::TextExpected,
        Self::UnknownProvider,
        Self::MalformedPem,
        Self::InvalidField,
        Self::InvalidKeyId,
        Self::KeyDisabled,
        Self::WrongKeyUsage,
        Self::InvalidCredentials,
        Self::AccessDenied,
        Self::KmsUnavailable,
        Self::KmsTimedOut,
        Self::KmsThrottled,
        Self::KeysUnavailable,
        Self::KmsUnexpected,
        Self::Internal,
    ];

    /// The AR message number.
    pub fn number(self) -> u32 {
        self.spec().0
    }

    /// The HTTP status.
    pub fn status(self) -> StatusCode {
        self.spec().1
    }

    /// The `messageText`.
    pub fn text(self) -> &'static str {
        self.spec().2
    }

    fn spec(self) -> (u32, StatusCode, &'static str) {
        use StatusCode as S;
        match self {
            Self::AlreadyConfigured => (9035, S::CONFLICT, "Cannot create KMS configuration"),
            Self::NotConfigured => (9036, S::CONFLICT, "Cannot update KMS configuration"),
            Self::HyokNotEnabled => (9039, S::CONFLICT, "HYOK is not enabled"),
            Self::Unauthenticated => (9601, S::UNAUTHORIZED, "Authentication required"),
            Self::LoginFailed => (9602, S::UNAUTHORIZED, "Login failed"),
            Self::MissingRequestedBy => (9603, S::FORBIDDEN, "Missing X-Requested-By header"),
            Self::UnsupportedContentType => {
                (9604, S::UNSUPPORTED_MEDIA_TYPE, "Unsupported content type")
            }
            Self::BodyTooLarge => (9605, S::PAYLOAD_TOO_LARGE, "Request body too large"),
            Self::MalformedBody => (9606, S::BAD_REQUEST, "Malformed request body"),
            Self::NotFound => (9607, S::NOT_FOUND, "No such endpoint"),
            Self::MethodNotAllowed => (9608, S::METHOD_NOT_ALLOWED, "Method not allowed"),
            Self::RequestTimedOut => (9609, S::SERVICE_UNAVAILABLE, "Request timed out"),
            Self::MissingField => (9620, S::BAD_REQUEST, "Missing field"),
            Self::UnknownField => (9621, S::BAD_REQUEST, "Unknown field"),
            Self::EmptyField => (9622, S::BAD_REQUEST, "Empty field"),
            Self::DuplicateField => (9623, S::BAD_REQUEST, "Duplicate field"),
            Self::TextExpected => (9624, S::BAD_REQUEST, "Text field expected"),
            Self::UnknownProvider => (9625, S::BAD_REQUEST, "Unknown provider"),
            Self::MalformedPem => (9626, S::BAD_REQUEST, "Malformed PEM private key"),
            Self::InvalidField => (9627, S::BAD_REQUEST, "Invalid field value"),
            Self::InvalidKeyId => (9640, S::BAD_REQUEST, "The master key id is not valid"),
            Self::KeyDisabled => (9641, S::BAD_REQUEST, "The master key is not enabled"),
            Self::WrongKeyUsage => (9642, S::BAD_REQUEST, "The master key cannot encrypt"),
            Self::InvalidCredentials => (9643, S::BAD_REQUEST, "The KMS rejected the credentials"),
            Self::AccessDenied => (9644, S::BAD_REQUEST, "The KMS denied access"),
            Self::KmsUnavailable => (9645, S::BAD_GATEWAY, "The KMS is unreachable"),
            Self::KmsTimedOut => (9646, S::GATEWAY_TIMEOUT, "The KMS did not answer in time"),
            Self::KmsThrottled => (
                9647,
                S::SERVICE_UNAVAILABLE,
                "The KMS is throttling requests",
            ),
            Self::KeysUnavailable => (9648, S::SERVICE_UNAVAILABLE, "Data keys unavailable"),
            Self::KmsUnexpected => (9649, S::BAD_GATEWAY, "Unexpected answer from the KMS"),
            Self::Internal => (9650, S::INTERNAL_SERVER_ERROR, "Internal server error"),
        }
    }

    /// The `messageAppendedText` when nothing more specific is known.
    fn default_appended(self) -> &'static str {
        match self {
            Self::AlreadyConfigured => "HYOK is already enabled and provider is configured",
            Self::NotConfigured => "HYOK is not configured, create KMS configuration first",
            Self::HyokNotEnabled => "HYOK is not Enabled",
            Self::Unauthenticated => "Log in with POST /api/jwt/login and send the AR-JWT token",
            Self::LoginFailed => "The user name or password is not valid",
            Self::MissingRequestedBy => "Send the header X-Requested-By: XMLHttpRequest",
            Self::BodyTooLarge => "The request body exceeds the server's limit",
            Self::NotFound => "See the README for the endpoints under /api/arsys/v1.0",
            Self::RequestTimedOut => "Try again; the operation may still complete",
            Self::KmsThrottled => "Try again in a few seconds",
            Self::Internal => "The server log has the details",
            _ => "",
        }
    }
}

/// An error response: a code and a text a person can act on.
///
/// The appended text never holds a secret or an internal error text; the
/// detail for the server log travels separately in the response extensions.
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    appended: String,
    log_detail: Option<String>,
}

impl ApiError {
    /// An error with the code's default appended text.
    pub fn new(code: ErrorCode) -> ApiError {
        ApiError {
            code,
            appended: code.default_appended().to_owned(),
            log_detail: None,
        }
    }

    /// Replaces the appended text.
    pub fn appended(mut self, text: impl Into<String>) -> Self {
        self.appended = text.into();
        self
    }

    /// Adds a detail for the server's request log (never sent to the client).
    pub fn log_detail(mut self, detail: impl Into<String>) -> Self {
        self.log_detail = Some(detail.into());
        self
    }

    /// The error's code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }
}

/// What the request log prints beside a failed request.
#[derive(Debug, Clone)]
pub(crate) struct LogDetail(pub(crate) String);

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArMessage<'a> {
    message_type: &'static str,
    message_text: &'static str,
    message_appended_text: &'a str,
    message_number: u32,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ArMessage {
            message_type: "ERROR",
            message_text: self.code.text(),
            message_appended_text: &self.appended,
            message_number: self.code.number(),
        };
        let mut response = (self.code.status(), Json(body)).into_response();
        if self.code == ErrorCode::KmsThrottled {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        if let Some(detail) = self.log_detail {
            response.extensions_mut().insert(LogDetail(detail));
        }
        response
    }
}

impl From<LifecycleError> for ApiError {
    fn from(err: LifecycleError) -> ApiError {
        match err {
            LifecycleError::AlreadyConfigured => ApiError::new(ErrorCode::AlreadyConfigured),
            LifecycleError::NotConfigured => ApiError::new(ErrorCode::NotConfigured),
            LifecycleError::HyokNotEnabled => ApiError::new(ErrorCode::HyokNotEnabled),
            LifecycleError::Provider(err) => ApiError::from(err),
            // The configured KMS failed. Transient failures read as any KMS
            // failure; a refusal means the existing keys cannot be used.
            LifecycleError::CurrentProvider(err) if err.kind().is_transient() => {
                ApiError::from(err)
            }
            LifecycleError::CurrentProvider(err) => ApiError::new(ErrorCode::KeysUnavailable)
                .appended(format!(
                    "The configured master key refused: {}; fix it in the KMS, \
                     then try again",
                    err.message()
                ))
                .log_detail(format!("configured provider: {}", err.message())),
            other => ApiError::new(ErrorCode::Internal).log_detail(other.to_string()),
        }
    }
}

impl From<ProviderError> for ApiError {
    fn from(err: ProviderError) -> ApiError {
        let code = code_of_kind(err.kind());
        let detail = format!(
            "provider error {}: {}",
            kind_name(err.kind()),
            err.message()
        );
        let error = ApiError::new(code).log_detail(detail);
        match (code, hint(code)) {
            // An answer we do not understand may carry anything: keep it in the log.
            (ErrorCode::KmsUnexpected, _) => {
                error.appended("The KMS answered in an unexpected way; the server log has details")
            }
            (_, Some(hint)) => error.appended(format!("{}; {hint}", err.message())),
            (_, None) => error.appended(err.message()),
        }
    }
}

/// What a person can do about a KMS failure, beside the provider's message.
fn hint(code: ErrorCode) -> Option<&'static str> {
    Some(match code {
        ErrorCode::KmsUnavailable => {
            "check the endpoint and that this server can reach the KMS, then try again"
        }
        ErrorCode::KmsTimedOut => "the KMS or the network is slow; try again",
        ErrorCode::KmsThrottled => "try again in a few seconds",
        ErrorCode::AccessDenied => {
            "allow these credentials to describe the master key and to encrypt and decrypt with it"
        }
        ErrorCode::KeysUnavailable => {
            "the configured master key no longer unwraps the data keys; restore access to it"
        }
        _ => return None,
    })
}

fn code_of_kind(kind: ProviderErrorKind) -> ErrorCode {
    match kind {
        ProviderErrorKind::UnknownProvider => ErrorCode::UnknownProvider,
        ProviderErrorKind::MissingField => ErrorCode::MissingField,
        ProviderErrorKind::InvalidField => ErrorCode::InvalidField,
        ProviderErrorKind::InvalidKeyId => ErrorCode::InvalidKeyId,
        ProviderErrorKind::KeyDisabled => ErrorCode::KeyDisabled,
        ProviderErrorKind::WrongKeyUsage => ErrorCode::WrongKeyUsage,
        ProviderErrorKind::InvalidCredentials => ErrorCode::InvalidCredentials,
        ProviderErrorKind::AccessDenied => ErrorCode::AccessDenied,
        ProviderErrorKind::UnwrapFailed => ErrorCode::KeysUnavailable,
        ProviderErrorKind::Throttled => ErrorCode::KmsThrottled,
        ProviderErrorKind::TimedOut => ErrorCode::KmsTimedOut,
        ProviderErrorKind::Unavailable => ErrorCode::KmsUnavailable,
        _ => ErrorCode::KmsUnexpected,
    }
}

/// A stable lowercase name for a provider error kind, as `dek/check` and
/// the log show it.
pub(crate) fn kind_name(kind: ProviderErrorKind) -> &'static str {
    match kind {
        ProviderErrorKind::UnknownProvider => "unknown_provider",
        ProviderErrorKind::MissingField => "missing_field",
        ProviderErrorKind::InvalidField => "invalid_field",
        ProviderErrorKind::InvalidKeyId => "invalid_key_id",
        ProviderErrorKind::KeyDisabled => "key_disabled",
        ProviderErrorKind::WrongKeyUsage => "wrong_key_usage",
        ProviderErrorKind::InvalidCredentials => "invalid_credentials",
        ProviderErrorKind::AccessDenied => "access_denied",
        ProviderErrorKind::UnwrapFailed => "unwrap_failed",
        ProviderErrorKind::Throttled => "throttled",
        ProviderErrorKind::TimedOut => "timed_out",
        ProviderErrorKind::Unavailable => "unavailable",
        _ => "unexpected",
    }
}

/// The AR error for a bare error response made by a layer (404, 405, 413,
/// timeout), so that every error a client sees has the same shape.
pub(crate) fn code_of_status(status: StatusCode) -> ErrorCode {
    match status {
        StatusCode::NOT_FOUND => ErrorCode::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::BodyTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedContentType,
        StatusCode::REQUEST_TIMEOUT | StatusCode::SERVICE_UNAVAILABLE => ErrorCode::RequestTimedOut,
        status if status.is_client_error() => ErrorCode::MalformedBody,
        _ => ErrorCode::Internal,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn numbers_are_unique() {
        let numbers: HashSet<u32> = ErrorCode::ALL.iter().map(|c| c.number()).collect();
        assert_eq!(numbers.len(), ErrorCode::ALL.len());
    }

    #[test]
    fn readme_lists_every_error() {
        let readme = include_str!("../../../README.md");
        for code in ErrorCode::ALL {
            let row = format!(
                "| {} | {} | {} |",
                code.number(),
                code.status().as_u16(),
                code.text()
            );
            assert!(readme.contains(&row), "README lacks the row {row}");
        }
    }

    #[test]
    fn invalid_key_id_says_so() {
        assert!(
            ErrorCode::InvalidKeyId
                .text()
                .contains("key id is not valid")
        );
    }
}

//! Sorting AWS SDK failures into the core's error classes, by error code and
//! failure kind, never by message text.

use std::error::Error as StdError;

use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use hyok_core::{ProviderError, ProviderErrorKind};

/// One KMS API operation, named as in its `kms:` permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    DescribeKey,
    GenerateDataKey,
    Encrypt,
    Decrypt,
}

impl Operation {
    fn name(self) -> &'static str {
        match self {
            Operation::DescribeKey => "DescribeKey",
            Operation::GenerateDataKey => "GenerateDataKey",
            Operation::Encrypt => "Encrypt",
            Operation::Decrypt => "Decrypt",
        }
    }
}

/// Turns an SDK failure of `operation` into a classified provider error that
/// keeps the SDK error as its source.
pub(crate) fn classify<E>(operation: Operation, err: SdkError<E>) -> ProviderError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    let (kind, message) = match &err {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("");
            let server_fault = service.raw().status().is_server_error();
            from_code(operation, code, server_fault)
        }
        SdkError::TimeoutError(_) => (ProviderErrorKind::TimedOut, TIMED_OUT.to_owned()),
        SdkError::DispatchFailure(failure) if failure.is_timeout() => {
            (ProviderErrorKind::TimedOut, TIMED_OUT.to_owned())
        }
        SdkError::DispatchFailure(failure) if !failure.is_user() => (
            ProviderErrorKind::Unavailable,
            "AWS KMS is unreachable".to_owned(),
        ),
        SdkError::ResponseError(_) => (
            ProviderErrorKind::Unexpected,
            format!("the answer to {} was not a KMS response", operation.name()),
        ),
        _ => (
            ProviderErrorKind::Unexpected,
            format!("the {} request could not be sent", operation.name()),
        ),
    };

    tracing::debug!(
        operation = operation.name(),
        code = err.code().unwrap_or(""),
        kind = ?kind,
        "AWS KMS call failed"
    );
    ProviderError::new(kind, message).with_source(err)
}

const TIMED_OUT: &str = "AWS KMS did not answer in time";

/// The class and message for a KMS error code.
///
/// Codes from the KMS API reference; the credential codes are those of the
/// AWS request-signing layer shared by every service.
fn from_code(operation: Operation, code: &str, server_fault: bool) -> (ProviderErrorKind, String) {
    use ProviderErrorKind as Kind;

    let op = operation.name();
    let (kind, message) = match code {
        "NotFoundException" | "InvalidArnException" => (
            Kind::InvalidKeyId,
            "the master key id is not valid: AWS KMS has no such key for these credentials \
             in this region",
        ),
        "DisabledException" => (
            Kind::KeyDisabled,
            "the key is disabled: enable it in AWS KMS",
        ),
        "KMSInvalidStateException" => (
            Kind::KeyDisabled,
            "the key is not usable in its current state (disabled, pending deletion or \
             pending import)",
        ),
        "InvalidKeyUsageException" => (
            Kind::WrongKeyUsage,
            "the master key is not a symmetric encryption key (key usage ENCRYPT_DECRYPT)",
        ),
        "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "IncompleteSignature"
        | "InvalidClientTokenId"
        | "SignatureDoesNotMatch"
        | "MissingAuthenticationToken"
        | "MissingAuthenticationTokenException"
        | "ExpiredTokenException" => (
            Kind::InvalidCredentials,
            "the credentials were rejected by AWS KMS: check the access key and secret key",
        ),
        "AccessDeniedException" => {
            let message = format!("access denied: the credentials may not call kms:{op}");
            return (Kind::AccessDenied, message);
        }
        "InvalidCiphertextException" | "IncorrectKeyException" => (
            Kind::UnwrapFailed,
            "the wrapped key does not unwrap under this master key and encryption context",
        ),
        "ThrottlingException" | "Throttling" | "LimitExceededException" => (
            Kind::Throttled,
            "AWS KMS throttled the request and the retries ran out",
        ),
        "KMSInternalException" | "DependencyTimeoutException" | "KeyUnavailableException" => (
            Kind::Unavailable,
            "AWS KMS could not serve the request now; try again later",
        ),
        _ if server_fault => (Kind::Unavailable, "AWS KMS answered with a server error"),
        _ => {
            let message = format!("unexpected error from AWS KMS {op}: {code:?}");
            return (Kind::Unexpected, message);
        }
    };
    (kind, message.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(code: &str) -> ProviderErrorKind {
        from_code(Operation::Decrypt, code, false).0
    }

    #[test]
    fn codes_map_to_classes() {
        assert_eq!(kind("NotFoundException"), ProviderErrorKind::InvalidKeyId);
        assert_eq!(kind("DisabledException"), ProviderErrorKind::KeyDisabled);
        assert_eq!(
            kind("KMSInvalidStateException"),
            ProviderErrorKind::KeyDisabled
        );
        assert_eq!(
            kind("InvalidKeyUsageException"),
            ProviderErrorKind::WrongKeyUsage
        );
        assert_eq!(
            kind("UnrecognizedClientException"),
            ProviderErrorKind::InvalidCredentials
        );
        assert_eq!(
            kind("InvalidSignatureException"),
            ProviderErrorKind::InvalidCredentials
        );
        assert_eq!(
            kind("AccessDeniedException"),
            ProviderErrorKind::AccessDenied
        );
        assert_eq!(
            kind("InvalidCiphertextException"),
            ProviderErrorKind::UnwrapFailed
        );
        assert_eq!(
            kind("IncorrectKeyException"),
            ProviderErrorKind::UnwrapFailed
        );
        assert_eq!(kind("ThrottlingException"), ProviderErrorKind::Throttled);
        assert_eq!(kind("KMSInternalException"), ProviderErrorKind::Unavailable);
        assert_eq!(kind("SomethingNew"), ProviderErrorKind::Unexpected);
    }

    #[test]
    fn unknown_server_faults_are_transient() {
        let (kind, _) = from_code(Operation::Encrypt, "", true);
        assert_eq!(kind, ProviderErrorKind::Unavailable);
    }

    #[test]
    fn messages_name_the_remedy() {
        let (_, message) = from_code(Operation::DescribeKey, "NotFoundException", false);
        assert!(message.starts_with("the master key id is not valid"));
        let (_, message) = from_code(Operation::Encrypt, "AccessDeniedException", false);
        assert_eq!(
            message,
            "access denied: the credentials may not call kms:Encrypt"
        );
    }
}

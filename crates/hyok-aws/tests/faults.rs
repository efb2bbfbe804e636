//! The failures moto does not model, answered by a proxy in front of it with
//! AWS's own error shape: how each is classified, and which are retried.
//! Also the number of KMS calls each provider operation makes.

use std::sync::Arc;

use hyok_aws::AwsFactory;
use hyok_aws::testing::{self, KmsProxy, MotoServer};
use hyok_core::testing::context_of;
use hyok_core::{Dek, Provider, ProviderErrorKind, ProviderFactory};

/// Attempts per operation in `testing::test_limits()`.
const ATTEMPTS: u64 = 3;

/// moto with a key aliased `alias/hyok-faults`, a proxy in front of it, and
/// a provider that goes through the proxy. Keep the server alive as long as
/// the proxy.
async fn setup() -> (MotoServer, KmsProxy, Arc<dyn Provider>) {
    let moto = MotoServer::start().await;
    moto.create_key(Some("alias/hyok-faults")).await;
    let proxy = KmsProxy::start(moto.endpoint()).await;
    let config = testing::config(proxy.endpoint(), "alias/hyok-faults");
    let provider = AwsFactory::with_limits(testing::test_limits())
        .build(&config)
        .expect("a well-formed configuration");
    (moto, proxy, provider)
}

#[tokio::test]
async fn counts_the_calls_of_each_operation() {
    let (_moto, proxy, provider) = setup().await;
    let context = context_of(&[("hyok:keyring", "count")]);

    provider.validate().await.expect("validate");
    assert_eq!(
        counts(&proxy),
        "Decrypt=1 DescribeKey=1 Encrypt=1 GenerateDataKey=1"
    );

    proxy.reset_counts();
    let (_, wrapped) = provider.generate(&context).await.expect("generate");
    assert_eq!(counts(&proxy), "GenerateDataKey=1");

    proxy.reset_counts();
    provider
        .wrap(&Dek::generate(), &context)
        .await
        .expect("wrap");
    assert_eq!(counts(&proxy), "Encrypt=1");

    proxy.reset_counts();
    provider.unwrap(&wrapped, &context).await.expect("unwrap");
    assert_eq!(counts(&proxy), "Decrypt=1");
}

#[tokio::test]
async fn throttling_is_retried_with_backoff() {
    let (_moto, proxy, provider) = setup().await;
    let context = context_of(&[("hyok:keyring", "throttle")]);
    let (dek, wrapped) = provider.generate(&context).await.expect("generate");

    proxy.fail_next("Decrypt", "ThrottlingException", 2);
    let back = provider
        .unwrap(&wrapped, &context)
        .await
        .expect("the third attempt passes");
    assert_eq!(back.expose_secret(), dek.expose_secret());
    assert_eq!(proxy.calls("Decrypt"), 3);

    proxy.reset_counts();
    proxy.fail_next("Decrypt", "ThrottlingException", u32::MAX);
    let err = provider
        .unwrap(&wrapped, &context)
        .await
        .expect_err("throttled throughout");
    assert_eq!(err.kind(), ProviderErrorKind::Throttled, "{err:?}");
    assert_eq!(proxy.calls("Decrypt"), ATTEMPTS);
}

#[tokio::test]
async fn server_faults_are_retried() {
    let (_moto, proxy, provider) = setup().await;
    let context = context_of(&[("hyok:keyring", "server-fault")]);

    for code in ["KMSInternalException", "DependencyTimeoutException"] {
        proxy.reset_counts();
        proxy.fail_next("GenerateDataKey", code, 1);
        provider
            .generate(&context)
            .await
            .expect("the second attempt passes");
        assert_eq!(proxy.calls("GenerateDataKey"), 2, "{code}");

        proxy.reset_counts();
        proxy.fail_next("GenerateDataKey", code, u32::MAX);
        let err = provider.generate(&context).await.expect_err(code);
        assert_eq!(
            err.kind(),
            ProviderErrorKind::Unavailable,
            "{code}: {err:?}"
        );
        assert_eq!(proxy.calls("GenerateDataKey"), ATTEMPTS, "{code}");
    }
}

#[tokio::test]
async fn refusals_are_classified_and_not_retried() {
    use ProviderErrorKind as Kind;
    let (_moto, proxy, provider) = setup().await;
    let cases = [
        (
            "DisabledException",
            Kind::KeyDisabled,
            "the key is disabled",
        ),
        (
            "KMSInvalidStateException",
            Kind::KeyDisabled,
            "the key is not usable",
        ),
        ("AccessDeniedException", Kind::AccessDenied, "access denied"),
        (
            "UnrecognizedClientException",
            Kind::InvalidCredentials,
            "the credentials were rejected",
        ),
        (
            "InvalidSignatureException",
            Kind::InvalidCredentials,
            "the credentials were rejected",
        ),
        (
            "NotFoundException",
            Kind::InvalidKeyId,
            "the master key id is not valid",
        ),
        (
            "InvalidKeyUsageException",
            Kind::WrongKeyUsage,
            "the master key is not a symmetric",
        ),
    ];

    for operation in ["DescribeKey", "GenerateDataKey", "Encrypt", "Decrypt"] {
        for (code, kind, message) in cases {
            proxy.reset_counts();
            proxy.fail_next(operation, code, u32::MAX);

            let err = provider.validate().await.expect_err(code);
            assert_eq!(err.kind(), kind, "{operation} {code}: {err:?}");
            assert!(
                err.message().starts_with(message),
                "{operation} {code}: {err}"
            );
            assert_eq!(proxy.calls(operation), 1, "{operation} {code} was retried");
        }
        proxy.clear_faults();
    }
}

#[tokio::test]
async fn an_incorrect_key_fails_the_unwrap_for_good() {
    let (_moto, proxy, provider) = setup().await;
    let context = context_of(&[("hyok:keyring", "incorrect")]);
    let (_, wrapped) = provider.generate(&context).await.expect("generate");

    proxy.fail_next("Decrypt", "IncorrectKeyException", 1);
    let err = provider
        .unwrap(&wrapped, &context)
        .await
        .expect_err("incorrect key");
    assert_eq!(err.kind(), ProviderErrorKind::UnwrapFailed, "{err:?}");
    assert_eq!(proxy.calls("Decrypt"), 1);
}

/// The proxy's counts as `Operation=n` pairs in name order.
fn counts(proxy: &KmsProxy) -> String {
    let pairs = proxy
        .call_counts()
        .into_iter()
        .map(|(op, n)| format!("{op}={n}"));
    pairs.collect::<Vec<_>>().join(" ")
}

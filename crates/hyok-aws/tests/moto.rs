//! The provider against moto, a real AWS-compatible KMS on loopback.

use std::sync::Arc;

use hyok_aws::AwsFactory;
use hyok_aws::testing::{self, MotoServer, TestKey};
use hyok_core::testing::{conformance, context_of};
use hyok_core::{Dek, Provider, ProviderErrorKind, ProviderFactory};

fn provider(moto: &MotoServer, master_key_id: &str) -> Arc<dyn Provider> {
    let factory = AwsFactory::with_limits(testing::test_limits());
    factory
        .build(&moto.config(master_key_id))
        .expect("a well-formed configuration")
}

#[tokio::test]
async fn passes_the_provider_conformance_suite() {
    let moto = MotoServer::start().await;
    let key = moto.create_key(None).await;

    conformance(provider(&moto, &key.key_id).as_ref()).await;
}

#[tokio::test]
async fn unwraps_only_with_the_same_context() {
    let moto = MotoServer::start().await;
    let key = moto.create_key(None).await;
    let provider = provider(&moto, &key.key_id);
    let context = context_of(&[("hyok:keyring", "orders"), ("hyok:version", "7")]);

    let (dek, wrapped) = provider.generate(&context).await.expect("generate");
    let back = provider
        .unwrap(&wrapped, &context)
        .await
        .expect("unwrap, same context");
    assert_eq!(back.expose_secret(), dek.expose_secret());

    let moved = context_of(&[("hyok:keyring", "orders"), ("hyok:version", "8")]);
    let err = provider
        .unwrap(&wrapped, &moved)
        .await
        .expect_err("unwrap, other context");
    assert_eq!(err.kind(), ProviderErrorKind::UnwrapFailed, "{err:?}");

    let extra = context_of(&[
        ("hyok:keyring", "orders"),
        ("hyok:version", "7"),
        ("x", "y"),
    ]);
    let err = provider
        .unwrap(&wrapped, &extra)
        .await
        .expect_err("unwrap, extra pair");
    assert_eq!(err.kind(), ProviderErrorKind::UnwrapFailed, "{err:?}");
}

#[tokio::test]
async fn unknown_key_is_an_invalid_master_key_id() {
    let moto = MotoServer::start().await;

    for missing in [
        "0f3c5a8e-4d1b-4b7e-9c2a-6e5f1d3b2a10",
        "alias/no-such-alias",
    ] {
        let err = provider(&moto, missing)
            .validate()
            .await
            .expect_err(missing);
        assert_eq!(
            err.kind(),
            ProviderErrorKind::InvalidKeyId,
            "{missing}: {err:?}"
        );
        assert!(
            err.message().starts_with("the master key id is not valid"),
            "{err}"
        );
    }
}

#[tokio::test]
async fn accepts_every_form_of_key_id() {
    let moto = MotoServer::start().await;
    let key = moto.create_key(Some("alias/hyok-forms")).await;
    let forms = key_id_forms(&key);
    let context = context_of(&[("hyok:keyring", "forms")]);

    let (dek, wrapped) = provider(&moto, &key.key_id)
        .generate(&context)
        .await
        .expect("generate");
    for form in &forms {
        let provider = provider(&moto, form);
        provider
            .validate()
            .await
            .unwrap_or_else(|err| panic!("validate {form}: {err:?}"));

        let back = provider
            .unwrap(&wrapped, &context)
            .await
            .expect("unwrap via another form");
        assert_eq!(back.expose_secret(), dek.expose_secret(), "{form}");

        let own = Dek::generate();
        let rewrapped = provider.wrap(&own, &context).await.expect("wrap");
        let back = provider.unwrap(&rewrapped, &context).await.expect("unwrap");
        assert_eq!(back.expose_secret(), own.expose_secret(), "{form}");
    }
}

#[tokio::test]
async fn refuses_a_disabled_key() {
    let moto = MotoServer::start().await;
    let key = moto.create_key(None).await;
    moto.disable_key(&key.key_id).await;

    let err = provider(&moto, &key.key_id)
        .validate()
        .await
        .expect_err("disabled key");
    assert_eq!(err.kind(), ProviderErrorKind::KeyDisabled, "{err:?}");
    assert!(err.message().contains("(state Disabled)"), "{err}");
}

/// Key id, key ARN, alias name, alias ARN.
fn key_id_forms(key: &TestKey) -> Vec<String> {
    vec![
        key.key_id.clone(),
        key.arn.clone(),
        key.alias.clone().expect("an alias"),
        key.alias_arn().expect("an alias ARN"),
    ]
}

//! The engine's key lifecycle on AWS KMS (moto), with every KMS call counted
//! at a proxy: create, rotate three times, 100,000 records encrypted and
//! decrypted, and a reopen. The hot path must make no KMS call at all.
//!
//! The counts are printed; see them with
//! `cargo test -p hyok-aws --test lifecycle -- --nocapture`.

use std::sync::Arc;

use hyok_aws::AwsFactory;
use hyok_aws::testing::{self, KmsProxy, MotoServer};
use hyok_core::{Engine, EngineOptions, ProviderRegistry};

const RECORDS: usize = 100_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lifecycle_calls_kms_only_for_key_operations() {
    let moto = MotoServer::start().await;
    let key = moto.create_key(Some("alias/hyok-lifecycle")).await;
    let proxy = KmsProxy::start(moto.endpoint()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = open(dir.path()).await;
    let mut report = Vec::new();

    let config = testing::config(proxy.endpoint(), &key.key_id);
    engine.create_provider(config).await.expect("create");
    report.push(("create", take_counts(&proxy)));

    for _ in 0..3 {
        engine.rotate().await.expect("rotate");
        report.push(("rotate", take_counts(&proxy)));
    }

    hot_path(&engine);
    report.push(("100,000 encrypt+decrypt", take_counts(&proxy)));

    drop(engine);
    let reopened = open(dir.path()).await;
    assert!(reopened.status().keys_available, "{:?}", reopened.status());
    report.push(("reopen", take_counts(&proxy)));

    for (phase, counts) in &report {
        println!("{phase:>24}: {counts}");
    }
    let hot = &report[4].1;
    assert_eq!(hot, "none", "the hot path called KMS");
    for (phase, counts) in &report[..4] {
        assert_ne!(counts, "none", "{phase} made no KMS call");
    }
}

async fn open(dir: &std::path::Path) -> Engine {
    let factory = AwsFactory::with_limits(testing::test_limits());
    let registry = ProviderRegistry::new().with(Arc::new(factory));
    Engine::open(EngineOptions::new(dir).registry(registry))
        .await
        .expect("open")
}

fn hot_path(engine: &Engine) {
    let plaintext = [0x5a; 64];
    for i in 0..RECORDS {
        let aad = format!("orders/total/{i}");
        let record = engine.encrypt(&plaintext, aad.as_bytes()).expect("encrypt");
        let back = engine.decrypt(&record, aad.as_bytes()).expect("decrypt");
        assert_eq!(back, plaintext);
    }
}

/// The calls since the last look, as `Operation=n` pairs, and a fresh count.
fn take_counts(proxy: &KmsProxy) -> String {
    let counts = proxy.call_counts();
    proxy.reset_counts();
    if counts.is_empty() {
        return "none".to_owned();
    }
    let pairs: Vec<String> = counts.iter().map(|(op, n)| format!("{op}={n}")).collect();
    format!(
        "{} ({} calls)",
        pairs.join(" "),
        counts.values().sum::<u64>()
    )
}

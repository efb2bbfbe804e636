//! The keyring moves between real providers: local → AWS (moto) → OCI (the
//! in-repo OCI test server) → AWS again, with rotations between; every record
//! made at any step decrypts after every later step and after a reopen.

use std::sync::Arc;

use hyok_aws::testing::MotoServer;
use hyok_core::{Engine, EngineOptions, ProviderRegistry};
use hyok_oci::testing::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyring_moves_from_aws_to_oci_and_back() {
    let moto = MotoServer::start().await;
    moto.create_key(Some("alias/hyok-first")).await;
    let second = moto.create_key(None).await;
    let oci = TestServer::start();
    let oci_key = oci.create_key();

    let dir = tempfile::tempdir().unwrap();
    let registry = ProviderRegistry::new()
        .with(Arc::new(hyok_aws::AwsFactory::with_limits(
            hyok_aws::testing::test_limits(),
        )))
        .with(Arc::new(hyok_oci::OciFactory::new()));
    let options = EngineOptions::new(dir.path()).registry(registry);
    let engine = Engine::open(options.clone()).await.unwrap();

    let mut records = Vec::new();
    let mut step = |engine: &Engine, label: &str| {
        let aad = format!("step/{}", records.len());
        records.push((
            aad.clone(),
            engine.encrypt(label.as_bytes(), aad.as_bytes()).unwrap(),
        ));
        for (aad, record) in &records {
            assert!(
                engine.decrypt(record, aad.as_bytes()).is_ok(),
                "{aad} after {label}"
            );
        }
    };

    step(&engine, "local");
    engine
        .create_provider(moto.config("alias/hyok-first"))
        .await
        .unwrap();
    step(&engine, "aws");
    engine.rotate().await.unwrap();
    step(&engine, "aws rotated");
    engine
        .update_provider(oci.provider_config(&oci_key))
        .await
        .unwrap();
    assert_eq!(engine.status().provider.name, "oci");
    step(&engine, "oci");
    engine.rotate().await.unwrap();
    step(&engine, "oci rotated");
    engine
        .update_provider(moto.config(&second.arn))
        .await
        .unwrap();
    let status = engine.status();
    assert_eq!(
        (status.provider.name.as_str(), status.primary_version),
        ("aws", 3)
    );
    assert!(
        status
            .versions
            .iter()
            .all(|v| v.master_key_id == second.arn)
    );
    step(&engine, "aws again");

    let reopened = Engine::open(options).await.unwrap();
    step(&reopened, "reopened");
}

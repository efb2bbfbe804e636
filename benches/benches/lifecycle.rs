//! Key lifecycle through the engine: rotation and a full rewrap, against
//! the in-memory provider (so the figures are the engine's own cost, not a
//! KMS round trip).

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use hyok_core::testing::MemoryFactory;
use hyok_core::{Engine, EngineOptions, FieldSpec, ProviderConfig, ProviderRegistry};

const FIELDS: &[FieldSpec] = &[FieldSpec::required("masterKeyId")];

fn lifecycle(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kms = MemoryFactory::new("aws", FIELDS);
    kms.add_key("a");
    kms.add_key("b");
    let registry = ProviderRegistry::new().with(Arc::new(kms));
    let engine = runtime
        .block_on(Engine::open(
            EngineOptions::new(dir.path()).registry(registry),
        ))
        .unwrap();
    let config = |key: &str| ProviderConfig::new("aws").setting("masterKeyId", key);
    runtime
        .block_on(engine.create_provider(config("a")))
        .unwrap();
    for _ in 0..9 {
        runtime.block_on(engine.rotate()).unwrap();
    }

    c.bench_function("rewrap_10_versions", |b| {
        let mut flip = false;
        b.iter(|| {
            flip = !flip;
            let key = if flip { "b" } else { "a" };
            runtime
                .block_on(engine.update_provider(config(key)))
                .unwrap()
        })
    });
    c.bench_function("refresh_unchanged", |b| {
        b.iter(|| runtime.block_on(engine.refresh()).unwrap())
    });
}

fn config() -> Criterion {
    Criterion::default()
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
}

criterion_group! { name = benches; config = config(); targets = lifecycle }
criterion_main!(benches);

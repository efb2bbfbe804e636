//! Property tests: round trips, tampering, and random sequences of key
//! operations with injected provider faults.

use std::sync::Arc;

use hyok_core::testing::MemoryFactory;
use hyok_core::{
    Algorithm, Engine, EngineOptions, FieldSpec, ProviderConfig, ProviderRegistry, RecordError,
};
use proptest::prelude::*;
use secrecy::SecretString;

const FIELDS: &[FieldSpec] = &[
    FieldSpec::required("masterKeyId"),
    FieldSpec::secret("secretKey"),
];

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn open(dir: &std::path::Path, kms: &MemoryFactory, algorithm: Algorithm) -> Engine {
    let registry = ProviderRegistry::new().with(Arc::new(kms.clone()));
    let options = EngineOptions::new(dir)
        .registry(registry)
        .algorithm(algorithm);
    runtime().block_on(Engine::open(options)).unwrap()
}

fn config(key: &str) -> ProviderConfig {
    ProviderConfig::new("aws")
        .setting("masterKeyId", key)
        .secret("secretKey", SecretString::from("s"))
}

fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop_oneof![
        Just(Algorithm::Aes256Gcm),
        Just(Algorithm::XChaCha20Poly1305)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn round_trip_and_tamper(
        algorithm in algorithm(),
        plaintext in proptest::collection::vec(any::<u8>(), 0..600),
        aad in proptest::collection::vec(any::<u8>(), 0..64),
        flip in any::<prop::sample::Index>(),
        bit in 0u8..8,
        cut in any::<prop::sample::Index>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path(), &MemoryFactory::new("aws", FIELDS), algorithm);
        let record = engine.encrypt(&plaintext, &aad).unwrap();
        prop_assert_eq!(record[1], algorithm.id());
        prop_assert_eq!(engine.decrypt(&record, &aad).unwrap(), plaintext.clone());

        let mut flipped = record.clone();
        flipped[flip.index(record.len())] ^= 1 << bit;
        prop_assert!(engine.decrypt(&flipped, &aad).is_err());

        let truncated = &record[..cut.index(record.len())];
        prop_assert!(engine.decrypt(truncated, &aad).is_err());

        let mut other_aad = aad.clone();
        other_aad.push(0);
        prop_assert_eq!(engine.decrypt(&record, &other_aad), Err(RecordError::Authentication));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path(), &MemoryFactory::new("aws", FIELDS), Algorithm::default());
        prop_assert!(engine.decrypt(&bytes, b"").is_err());
    }
}

#[derive(Debug, Clone)]
enum Op {
    Encrypt,
    Create,
    Rotate,
    Rewrap(bool),
    RetireOldest,
    Reopen,
    FaultAfter(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::Encrypt),
        1 => Just(Op::Create),
        2 => Just(Op::Rotate),
        2 => any::<bool>().prop_map(Op::Rewrap),
        1 => Just(Op::RetireOldest),
        1 => Just(Op::Reopen),
        2 => (0u64..6).prop_map(Op::FaultAfter),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// After any sequence of operations, with faults injected before some of
    /// them, every record made under a version still in the keyring decrypts,
    /// also after reopening from disk.
    #[test]
    fn key_operations_never_lose_a_record(ops in proptest::collection::vec(op(), 1..16)) {
        let rt = runtime();
        let dir = tempfile::tempdir().unwrap();
        let kms = MemoryFactory::new("aws", FIELDS);
        kms.add_key("key-a");
        kms.add_key("key-b");
        let mut engine = open(dir.path(), &kms, Algorithm::default());
        let mut records: Vec<(u32, Vec<u8>, Vec<u8>)> = Vec::new();

        for op in ops {
            match op {
                Op::Encrypt => {
                    let n = records.len();
                    let aad = format!("row/{n}").into_bytes();
                    let record = engine.encrypt(b"payload", &aad).unwrap();
                    records.push((engine.status().primary_version, aad, record));
                }
                Op::Create => { let _ = rt.block_on(engine.create_provider(config("key-a"))); }
                Op::Rotate => { let _ = rt.block_on(engine.rotate()); }
                Op::Rewrap(b) => {
                    let key = if b { "key-b" } else { "key-a" };
                    let _ = rt.block_on(engine.update_provider(config(key)));
                }
                Op::RetireOldest => {
                    let status = engine.status();
                    if let Some(oldest) = status.versions.iter().find(|v| !v.primary) {
                        rt.block_on(engine.retire(oldest.version)).unwrap();
                        records.retain(|(version, _, _)| *version != oldest.version);
                    }
                }
                Op::Reopen => engine = open(dir.path(), &kms, Algorithm::default()),
                Op::FaultAfter(n) => kms.fail_after(n),
            }
            if !matches!(op, Op::FaultAfter(_)) {
                kms.set_down(false);
                rt.block_on(engine.refresh()).unwrap();
            }
            for (_, aad, record) in &records {
                prop_assert_eq!(engine.decrypt(record, aad).unwrap(), b"payload".to_vec());
            }
        }

        kms.set_down(false);
        let reopened = open(dir.path(), &kms, Algorithm::default());
        for (_, aad, record) in &records {
            prop_assert_eq!(reopened.decrypt(record, aad).unwrap(), b"payload".to_vec());
        }
    }
}

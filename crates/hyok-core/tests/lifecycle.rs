//! The key lifecycle through the engine's public API: create, update,
//! rotate, retire, refresh, with faults injected at every provider call.

use std::sync::Arc;
use std::time::Duration;

use hyok_core::testing::MemoryFactory;
use hyok_core::{
    Engine, EngineOptions, FieldSpec, LifecycleError, LimitPolicy, ProviderConfig,
    ProviderErrorKind, ProviderRegistry, RecordError,
};
use secrecy::SecretString;

const FIELDS: &[FieldSpec] = &[
    FieldSpec::required("accessKey"),
    FieldSpec::secret("secretKey"),
    FieldSpec::required("masterKeyId"),
    FieldSpec::required("region"),
];

struct Fixture {
    dir: tempfile::TempDir,
    kms: MemoryFactory,
}

impl Fixture {
    fn new() -> Fixture {
        let kms = MemoryFactory::new("aws", FIELDS);
        kms.add_key("key-a");
        kms.add_key("key-b");
        Fixture {
            dir: tempfile::tempdir().unwrap(),
            kms,
        }
    }

    fn options(&self) -> EngineOptions {
        let registry = ProviderRegistry::new().with(Arc::new(self.kms.clone()));
        EngineOptions::new(self.dir.path()).registry(registry)
    }

    async fn open(&self) -> Engine {
        Engine::open(self.options()).await.unwrap()
    }

    fn state_bytes(&self) -> Vec<u8> {
        std::fs::read(self.dir.path().join("state.json")).unwrap()
    }
}

fn aws(key: &str) -> ProviderConfig {
    ProviderConfig::new("aws")
        .setting("accessKey", "AKIDEXAMPLE")
        .setting("masterKeyId", key)
        .setting("region", "eu-west-1")
        .secret("secretKey", SecretString::from("canary-secret-value"))
}

/// Encrypts one record per call and checks that all of them decrypt.
#[derive(Default)]
struct Ledger(Vec<(Vec<u8>, Vec<u8>, Vec<u8>)>);

impl Ledger {
    fn add(&mut self, engine: &Engine) {
        let plaintext = format!("record {}", self.0.len()).into_bytes();
        let aad = format!("table/col/{}", self.0.len()).into_bytes();
        let record = engine.encrypt(&plaintext, &aad).unwrap();
        self.0.push((plaintext, aad, record));
    }

    fn check(&self, engine: &Engine) {
        for (plaintext, aad, record) in &self.0 {
            assert_eq!(&engine.decrypt(record, aad).unwrap(), plaintext);
        }
    }
}

#[tokio::test]
async fn fresh_install_is_local_and_round_trips() {
    let fx = Fixture::new();
    let engine = fx.open().await;
    let status = engine.status();
    assert!(!status.hyok_enabled);
    assert_eq!(status.provider.name, "local");
    assert_eq!(status.primary_version, 1);
    assert!(status.keys_available);
    assert!(engine.provider_summary().is_none());

    let record = engine.encrypt(b"hello", b"t/c/1").unwrap();
    assert_eq!(record.len(), 5 + hyok_core::OVERHEAD);
    assert_eq!(engine.decrypt(&record, b"t/c/1").unwrap(), b"hello");
    assert_eq!(
        engine.decrypt(&record, b"t/c/2"),
        Err(RecordError::Authentication)
    );

    let reopened = fx.open().await;
    assert_eq!(reopened.decrypt(&record, b"t/c/1").unwrap(), b"hello");
}

#[tokio::test]
async fn refusals_follow_the_lifecycle() {
    let fx = Fixture::new();
    let engine = fx.open().await;
    assert!(matches!(
        engine.rotate().await,
        Err(LifecycleError::HyokNotEnabled)
    ));
    assert!(matches!(
        engine.update_provider(aws("key-a")).await,
        Err(LifecycleError::NotConfigured)
    ));

    let err = engine
        .create_provider(aws("no-such-key"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, LifecycleError::Provider(e) if e.kind() == ProviderErrorKind::InvalidKeyId)
    );
    let err = engine
        .create_provider(ProviderConfig::new("gcp"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, LifecycleError::Provider(e) if e.kind() == ProviderErrorKind::UnknownProvider)
    );
    let err = engine
        .create_provider(aws("key-a").setting("region", ""))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, LifecycleError::Provider(e) if e.kind() == ProviderErrorKind::MissingField)
    );
    assert!(!engine.status().hyok_enabled);

    engine.create_provider(aws("key-a")).await.unwrap();
    assert!(matches!(
        engine.create_provider(aws("key-b")).await,
        Err(LifecycleError::AlreadyConfigured)
    ));
    assert!(matches!(
        engine.retire(2).await,
        Err(LifecycleError::UnknownVersion(2))
    ));
    assert!(matches!(
        engine.retire(1).await,
        Err(LifecycleError::RetirePrimary(1))
    ));
}

#[tokio::test]
async fn every_record_survives_create_rotate_update_and_reopen() {
    let fx = Fixture::new();
    let engine = fx.open().await;
    let mut ledger = Ledger::default();
    ledger.add(&engine);

    engine.create_provider(aws("key-a")).await.unwrap();
    let status = engine.status();
    assert!(status.hyok_enabled);
    assert_eq!(status.provider.name, "aws");
    assert_eq!(status.provider.master_key_id, "key-a");
    assert!(status.versions.iter().all(|v| v.provider == "aws"));
    ledger.check(&engine);
    ledger.add(&engine);

    for expected in 2..=4 {
        assert_eq!(engine.rotate().await.unwrap(), expected);
        ledger.add(&engine);
        ledger.check(&engine);
    }
    assert_eq!(engine.status().primary_version, 4);

    engine.update_provider(aws("key-b")).await.unwrap();
    assert!(
        engine
            .status()
            .versions
            .iter()
            .all(|v| v.master_key_id == "key-b")
    );
    ledger.check(&engine);
    ledger.add(&engine);

    let summary = engine.provider_summary().unwrap();
    assert_eq!(
        summary.settings.get("masterKeyId").map(String::as_str),
        Some("key-b")
    );
    assert_eq!(summary.secret_names, ["secretKey"]);
    assert!(!format!("{summary:?}").contains("canary"));

    let reopened = fx.open().await;
    ledger.check(&reopened);
    assert_eq!(reopened.status(), engine.status());
}

#[tokio::test]
async fn a_fault_at_any_call_changes_nothing() {
    let fx = Fixture::new();
    let engine = fx.open().await;
    let mut ledger = Ledger::default();
    ledger.add(&engine);
    engine.create_provider(aws("key-a")).await.unwrap();
    engine.rotate().await.unwrap();
    ledger.add(&engine);

    for n in 0..12 {
        let before = fx.state_bytes();
        fx.kms.fail_after(n);
        let update = engine.update_provider(aws("key-b")).await;
        fx.kms.set_down(false);
        if update.is_ok() {
            assert!(n >= 7, "update needs validate plus three calls per version");
            break;
        }
        assert_eq!(
            fx.state_bytes(),
            before,
            "a failed update must not write (fault after {n})"
        );
        assert_eq!(engine.status().provider.master_key_id, "key-a");
        ledger.check(&engine);
        ledger.check(&fx.open().await);
    }
    assert_eq!(engine.status().provider.master_key_id, "key-b");

    for n in 0..2 {
        let before = fx.state_bytes();
        fx.kms.fail_after(n);
        assert!(engine.rotate().await.is_err());
        fx.kms.set_down(false);
        assert_eq!(fx.state_bytes(), before, "a failed rotation must not write");
    }
    ledger.check(&fx.open().await);
}

#[tokio::test]
async fn revoked_master_key_takes_effect_within_the_age_bound() {
    let fx = Fixture::new();
    let options = fx.options().key_max_age(Duration::from_millis(200));
    let engine = Engine::open(options.clone()).await.unwrap();
    engine.create_provider(aws("key-a")).await.unwrap();
    let record = engine.encrypt(b"secret row", b"aad").unwrap();

    fx.kms.set_disabled("key-a", true);
    assert_eq!(
        engine.decrypt(&record, b"aad").unwrap(),
        b"secret row",
        "cached until the bound"
    );
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(
        engine.decrypt(&record, b"aad"),
        Err(RecordError::KeyUnavailable(1))
    );
    assert!(engine.refresh().await.is_err());
    assert_eq!(
        engine.encrypt(b"x", b"aad"),
        Err(RecordError::KeyUnavailable(1))
    );
    let status = engine.status();
    assert!(status.hyok_enabled && !status.keys_available);
    assert_eq!(status.last_error.unwrap().0, ProviderErrorKind::KeyDisabled);

    let reopened = Engine::open(options)
        .await
        .expect("HYOK fails closed but the engine opens");
    assert_eq!(
        reopened.decrypt(&record, b"aad"),
        Err(RecordError::KeyUnavailable(1))
    );

    fx.kms.set_disabled("key-a", false);
    engine.refresh().await.unwrap();
    assert_eq!(engine.decrypt(&record, b"aad").unwrap(), b"secret row");
}

#[tokio::test]
async fn use_bound_forces_an_unwrap_and_refresh_is_single_flight() {
    let fx = Fixture::new();
    let engine = Engine::open(fx.options().key_max_uses(4)).await.unwrap();
    engine.create_provider(aws("key-a")).await.unwrap();
    for _ in 0..4 {
        engine.encrypt(b"x", b"").unwrap();
    }
    assert_eq!(
        engine.encrypt(b"x", b""),
        Err(RecordError::KeyUnavailable(1))
    );

    let calls = fx.kms.calls();
    let refreshes = (0..8).map(|_| {
        let engine = engine.clone();
        tokio::spawn(async move { engine.refresh().await })
    });
    for refresh in refreshes {
        refresh.await.unwrap().unwrap();
    }
    assert_eq!(
        fx.kms.calls() - calls,
        1,
        "eight concurrent refreshes, one unwrap"
    );
    engine.encrypt(b"x", b"").unwrap();
}

#[tokio::test]
async fn subkey_limit_rederives_or_refuses() {
    let fx = Fixture::new();
    let engine = Engine::open(fx.options().subkey_limit(3, LimitPolicy::Rederive))
        .await
        .unwrap();
    let records: Vec<_> = (0..7).map(|_| engine.encrypt(b"x", b"").unwrap()).collect();
    let salts: Vec<_> = records.iter().map(|r| r[6..22].to_vec()).collect();
    let counters: Vec<_> = records.iter().map(|r| r[29]).collect();
    assert_eq!(counters, [0, 1, 2, 0, 1, 2, 0]);
    assert!(salts[0] == salts[2] && salts[2] != salts[3] && salts[3] != salts[6]);
    for record in &records {
        assert_eq!(engine.decrypt(record, b"").unwrap(), b"x");
    }

    let fx = Fixture::new();
    let engine = Engine::open(fx.options().subkey_limit(2, LimitPolicy::Refuse))
        .await
        .unwrap();
    engine.encrypt(b"x", b"").unwrap();
    engine.encrypt(b"x", b"").unwrap();
    assert_eq!(engine.encrypt(b"x", b""), Err(RecordError::LimitReached));
}

#[tokio::test]
async fn two_instances_never_share_a_nonce() {
    let fx = Fixture::new();
    let a = fx.open().await;
    let b = fx.open().await;
    let ra = a.encrypt(b"same", b"").unwrap();
    let rb = b.encrypt(b"same", b"").unwrap();
    assert_eq!(ra[22..30], rb[22..30], "both start their counters at zero");
    assert_ne!(ra[6..22], rb[6..22], "but under different instance subkeys");
    assert_eq!(a.decrypt(&rb, b"").unwrap(), b"same");
    assert_eq!(b.decrypt(&ra, b"").unwrap(), b"same");
}

#[tokio::test]
async fn another_process_changes_are_seen_on_refresh() {
    let fx = Fixture::new();
    let server = fx.open().await;
    let tool = fx.open().await;
    tool.create_provider(aws("key-a")).await.unwrap();
    tool.rotate().await.unwrap();
    let record = tool.encrypt(b"from the tool", b"").unwrap();

    assert!(matches!(
        server.decrypt(&record, b""),
        Err(RecordError::UnknownKeyVersion(2))
    ));
    server.refresh().await.unwrap();
    assert!(server.status().hyok_enabled);
    assert_eq!(server.decrypt(&record, b"").unwrap(), b"from the tool");
    assert!(matches!(
        server.create_provider(aws("key-b")).await,
        Err(LifecycleError::AlreadyConfigured)
    ));
}

#[tokio::test]
async fn retired_versions_stop_decrypting() {
    let fx = Fixture::new();
    let engine = fx.open().await;
    engine.create_provider(aws("key-a")).await.unwrap();
    let old = engine.encrypt(b"old", b"").unwrap();
    engine.rotate().await.unwrap();
    engine.retire(1).await.unwrap();
    assert_eq!(
        engine.decrypt(&old, b""),
        Err(RecordError::UnknownKeyVersion(1))
    );
    assert_eq!(engine.status().versions.len(), 1);
}

#[tokio::test]
async fn in_place_and_batch_forms_agree() {
    let fx = Fixture::new();
    let engine = fx.open().await;
    let mut buf = b"in place".to_vec();
    engine.encrypt_in_place(&mut buf, b"aad").unwrap();
    assert_eq!(buf.len(), 8 + hyok_core::OVERHEAD);
    let plain = engine.decrypt_in_place(&mut buf, b"aad").unwrap();
    assert_eq!(plain, b"in place");

    let mut out = Vec::new();
    engine.encrypt_into(b"one", b"1", &mut out).unwrap();
    assert_eq!(engine.decrypt(&out, b"1").unwrap(), b"one");

    let records = engine.encrypt_batch(&[(b"a", b"1"), (b"b", b"2")]).unwrap();
    let items: Vec<(&[u8], &[u8])> = vec![(&records[0], b"1"), (&records[1], b"2")];
    assert_eq!(
        engine.decrypt_batch(&items).unwrap(),
        [b"a".to_vec(), b"b".to_vec()]
    );
    let swapped: Vec<(&[u8], &[u8])> = vec![(&records[0], b"2")];
    assert_eq!(
        engine.decrypt_batch(&swapped),
        Err(RecordError::Authentication)
    );
}

#[tokio::test]
async fn a_key_near_its_bound_serves_on_through_an_outage_until_it_expires() {
    let fx = Fixture::new();
    let options = fx.options().key_max_age(Duration::from_secs(2));
    let engine = Engine::open(options).await.unwrap();
    engine.create_provider(aws("key-a")).await.unwrap();

    tokio::time::sleep(Duration::from_millis(1600)).await;
    fx.kms.set_down(true);
    assert!(engine.refresh().await.is_err(), "the early unwrap fails");
    engine
        .encrypt(b"x", b"")
        .expect("the old key serves until its bound");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        engine.encrypt(b"x", b""),
        Err(RecordError::KeyUnavailable(1))
    );
}

#[tokio::test]
async fn tools_can_refuse_to_create_a_keyring() {
    let fx = Fixture::new();
    let err = Engine::open(fx.options().create_if_missing(false))
        .await
        .unwrap_err();
    assert!(
        matches!(err, hyok_core::StoreError::NotFound { .. }),
        "{err:?}"
    );
    assert!(
        !fx.dir.path().join("master.key").exists(),
        "nothing was created"
    );

    fx.open().await;
    Engine::open(fx.options().create_if_missing(false))
        .await
        .unwrap();
}

#[tokio::test]
async fn failures_of_the_configured_provider_are_told_apart() {
    let fx = Fixture::new();
    let engine = fx.open().await;
    engine.create_provider(aws("key-a")).await.unwrap();
    fx.kms.set_disabled("key-a", true);

    let err = engine.update_provider(aws("key-b")).await.unwrap_err();
    assert!(
        matches!(&err, LifecycleError::CurrentProvider(e) if e.kind() == ProviderErrorKind::KeyDisabled),
        "the old key failed, not the new one: {err:?}"
    );
    let err = engine.rotate().await.unwrap_err();
    assert!(matches!(err, LifecycleError::CurrentProvider(_)), "{err:?}");
    let status = engine.status();
    assert!(status.keys_available, "keys in memory still serve");
    assert_eq!(status.last_error.unwrap().0, ProviderErrorKind::KeyDisabled);

    fx.kms.set_disabled("key-a", false);
    engine.rotate().await.unwrap();
    assert_eq!(
        engine.status().last_error,
        None,
        "cleared by the next success"
    );
}

#[tokio::test]
async fn framed_encryption_needs_no_copy() {
    let fx = Fixture::new();
    let engine = fx.open().await;
    let mut frame = vec![0u8; hyok_core::HEADER_LEN];
    frame.extend_from_slice(b"framed");
    frame.extend_from_slice(&[0u8; hyok_core::TAG_LEN]);
    engine.encrypt_framed(&mut frame, b"aad").unwrap();
    assert_eq!(engine.decrypt(&frame, b"aad").unwrap(), b"framed");

    let mut short = vec![0u8; hyok_core::OVERHEAD - 1];
    assert_eq!(
        engine.encrypt_framed(&mut short, b""),
        Err(RecordError::TooShort)
    );
}

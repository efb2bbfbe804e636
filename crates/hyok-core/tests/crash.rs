//! A writer killed with SIGKILL at random instants while it rotates and
//! rewraps in a loop: after every kill the state loads and every record the
//! writer ever produced still decrypts.
//!
//! The test re-runs its own binary as the writer (`HYOK_CRASH_CHILD` set).
//! The writer's "KMS" keeps its master keys in files, so that a second
//! process sees the same keys.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use hyok_core::{
    Dek, EncryptionContext, Engine, EngineOptions, FieldSpec, LocalMasterKey, LocalProvider,
    Provider, ProviderConfig, ProviderError, ProviderFactory, ProviderInfo, ProviderRegistry,
    WrappedDek,
};

const CHILD_ENV: &str = "HYOK_CRASH_CHILD";
const ROUNDS: u32 = 25;

#[test]
fn killed_writers_never_lose_state() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        return writer(PathBuf::from(dir));
    }
    let dir = tempfile::tempdir().unwrap();
    let mut seed = seed();
    let mut checked = 0;
    for _ in 0..ROUNDS {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "killed_writers_never_lose_state",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(20 + next(&mut seed) % 200));
        child.kill().unwrap();
        child.wait().unwrap();
        checked = verify(dir.path());
    }
    assert!(
        checked > ROUNDS as usize,
        "the writer made progress ({checked} records)"
    );
}

/// Opens the state as a new process would and decrypts every record.
fn verify(dir: &Path) -> usize {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let engine = rt
        .block_on(Engine::open(options(dir)))
        .expect("the state loads after a kill");
    let log = fs::read_to_string(dir.join("records.log")).unwrap_or_default();
    let mut count = 0;
    // Only whole lines: a line the kill cut short lacks its end mark.
    for line in log.lines() {
        let Some((aad, hex)) = line.strip_suffix(" .").and_then(|l| l.split_once(' ')) else {
            continue;
        };
        let Some(record) = unhex(hex) else { continue };
        let plain = engine.decrypt(&record, aad.as_bytes());
        assert_eq!(
            plain.as_deref(),
            Ok(aad.as_bytes()),
            "record {aad} after a kill"
        );
        count += 1;
    }
    count
}

/// The writer: rotates and rewraps between two master keys forever,
/// logging one record after each committed change.
fn writer(dir: PathBuf) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let engine = Engine::open(options(&dir)).await.unwrap();
        let mut log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("records.log"))
            .unwrap();
        if !engine.status().hyok_enabled {
            engine.create_provider(config("a")).await.unwrap();
        }
        for step in 0u64.. {
            if step % 3 == 2 {
                let next = if engine.status().provider.master_key_id == "a" {
                    "b"
                } else {
                    "a"
                };
                engine.update_provider(config(next)).await.unwrap();
            } else {
                engine.rotate().await.unwrap();
            }
            let aad = format!("pid{}-step{step}", std::process::id());
            let record = engine.encrypt(aad.as_bytes(), aad.as_bytes()).unwrap();
            // One write per line, so a kill cuts at most the line in progress.
            let line = format!("\n{aad} {} .\n", hex(&record));
            log.write_all(line.as_bytes()).unwrap();
            log.sync_data().unwrap();
        }
    });
}

fn options(dir: &Path) -> EngineOptions {
    let registry = ProviderRegistry::new().with(Arc::new(FileKms(dir.join("kms"))));
    EngineOptions::new(dir.join("state")).registry(registry)
}

fn config(key: &str) -> ProviderConfig {
    ProviderConfig::new("filekms").setting("masterKeyId", key)
}

/// A KMS whose master keys are key files in a directory, one per key id.
#[derive(Debug)]
struct FileKms(PathBuf);

impl ProviderFactory for FileKms {
    fn name(&self) -> &'static str {
        "filekms"
    }

    fn fields(&self) -> &'static [FieldSpec] {
        const FIELDS: &[FieldSpec] = &[FieldSpec::required("masterKeyId")];
        FIELDS
    }

    fn build(&self, config: &ProviderConfig) -> Result<Arc<dyn Provider>, ProviderError> {
        let id = config.require("masterKeyId")?.to_string();
        let key = LocalMasterKey::load_or_create(&self.0.join(&id)).unwrap();
        Ok(Arc::new(FileKey {
            id,
            inner: LocalProvider::new(Arc::new(key)),
        }))
    }
}

#[derive(Debug)]
struct FileKey {
    id: String,
    inner: LocalProvider,
}

#[async_trait]
impl Provider for FileKey {
    fn describe(&self) -> ProviderInfo {
        ProviderInfo {
            name: "filekms".into(),
            master_key_id: self.id.clone(),
        }
    }

    async fn validate(&self) -> Result<(), ProviderError> {
        Ok(())
    }

    async fn wrap(&self, dek: &Dek, cx: &EncryptionContext) -> Result<WrappedDek, ProviderError> {
        self.inner.wrap(dek, cx).await
    }

    async fn unwrap(&self, w: &WrappedDek, cx: &EncryptionContext) -> Result<Dek, ProviderError> {
        self.inner.unwrap(w, cx).await
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

fn seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    u64::from(nanos) | 1
}

/// xorshift64: kill instants need only be spread, not unpredictable.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

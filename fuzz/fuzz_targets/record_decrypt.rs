//! Arbitrary bytes as a record (and associated data) through the engine's
//! decrypt paths: an error, never a panic, and never plaintext for bytes the
//! engine did not make.

#![no_main]

use std::sync::OnceLock;

use hyok_core::{Engine, EngineOptions};
use libfuzzer_sys::fuzz_target;

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<(tempfile::TempDir, Engine)> = OnceLock::new();
    let (_, engine) = ENGINE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let engine = runtime.block_on(Engine::open(EngineOptions::new(dir.path()))).unwrap();
        (dir, engine)
    });
    engine
}

fuzz_target!(|input: (&[u8], &[u8])| {
    let (record, aad) = input;
    let engine = engine();
    assert!(engine.decrypt(record, aad).is_err(), "forged record accepted");
    let mut buf = record.to_vec();
    assert!(engine.decrypt_in_place(&mut buf, aad).is_err());
    assert!(engine.decrypt_batch(&[(record, aad)]).is_err());
});

//! Arbitrary bytes as a state file: a typed error, never a panic.

#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use hyok_core::LocalMasterKey;
use libfuzzer_sys::fuzz_target;

fn key() -> &'static LocalMasterKey {
    static KEY: OnceLock<(tempfile::TempDir, LocalMasterKey)> = OnceLock::new();
    let (_, key) = KEY.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let key = LocalMasterKey::load_or_create(dir.path()).unwrap();
        (dir, key)
    });
    key
}

fuzz_target!(|bytes: &[u8]| {
    let _ = hyok_core::store::decode(bytes, Path::new("fuzz/state.json"), key());
});

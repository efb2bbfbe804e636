//! Benchmarks of hyok live in `benches/`: `hot_path` (records through the
//! engine against raw AES-256-GCM from RustCrypto and ring, in the same run)
//! and `lifecycle` (rotation and rewrap through a provider).
//!
//! ```sh
//! cargo bench -p hyok-benches --bench hot_path                  # RustCrypto backend
//! cargo bench -p hyok-benches --bench hot_path --features ring  # ring backend
//! ```

use hyok_core::{Engine, EngineOptions};

/// An engine on a fresh local keyring in a temporary directory, which lives
/// as long as the returned guard.
pub fn local_engine() -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    let engine = runtime
        .block_on(Engine::open(EngineOptions::new(dir.path())))
        .expect("a fresh engine");
    (dir, engine)
}

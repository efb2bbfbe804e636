//! Benchmarks of hyok live in `benches/`: `hot_path` (records through the
//! engine against raw AES-256-GCM from RustCrypto and ring, in the same run)
//! and `lifecycle` (rotation and rewrap through a provider).
//!
//! ```sh
//! cargo bench -p hyok-benches --bench hot_path                  # RustCrypto backend
//! cargo bench -p hyok-benches --bench hot_path --features ring  # ring backend
//! ```

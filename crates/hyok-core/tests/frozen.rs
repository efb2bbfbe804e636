//! Known-answer records: records made by format version 1 and frozen in
//! `tests/data/frozen/`, with the state (local master key and keyring) that
//! made them. A change to the layout, the subkey derivation or the nonce
//! construction makes them fail to decrypt, which is the point: such a
//! change needs a new format version.
//!
//! `HYOK_REGENERATE_FROZEN=1 cargo test -p hyok-core --test frozen` writes a
//! new fixture; never do that to make a failing test pass.

use std::fs;
use std::path::{Path, PathBuf};

use hyok_core::{Algorithm, Engine, EngineOptions, RecordError};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/frozen")
}

const CASES: &[(&str, &str, Algorithm)] = &[
    ("", "", Algorithm::Aes256Gcm),
    ("hello", "users/email/17", Algorithm::Aes256Gcm),
    (
        "a longer plaintext that spans more than one AES block",
        "t/c/r",
        Algorithm::Aes256Gcm,
    ),
    ("", "", Algorithm::XChaCha20Poly1305),
    ("hello", "users/email/17", Algorithm::XChaCha20Poly1305),
];

#[tokio::test]
async fn frozen_records_still_decrypt() {
    if std::env::var_os("HYOK_REGENERATE_FROZEN").is_some() {
        return regenerate().await;
    }
    let dir = tempfile::tempdir().unwrap();
    for name in ["master.key", "state.json"] {
        fs::copy(fixture().join(name), dir.path().join(name)).unwrap();
    }
    let engine = Engine::open(EngineOptions::new(dir.path())).await.unwrap();
    let records = fs::read_to_string(fixture().join("records.txt")).unwrap();
    let records: Vec<&str> = records.lines().collect();
    assert_eq!(records.len(), CASES.len());

    for ((plaintext, aad, algorithm), hex) in CASES.iter().zip(records) {
        let record = unhex(hex);
        assert_eq!(record.len(), plaintext.len() + 46);
        assert_eq!(
            record[..6],
            [1, algorithm.id(), 0, 0, 0, 1],
            "format, algorithm, version"
        );
        assert_eq!(
            engine.decrypt(&record, aad.as_bytes()).unwrap(),
            plaintext.as_bytes()
        );
        let mut altered = record.clone();
        altered[29] ^= 1;
        assert_eq!(
            engine.decrypt(&altered, aad.as_bytes()),
            Err(RecordError::Authentication)
        );
    }
}

async fn regenerate() {
    let out = fixture();
    let _ = fs::remove_dir_all(&out);
    fs::create_dir_all(&out).unwrap();
    let mut lines = String::new();
    for (plaintext, aad, algorithm) in CASES {
        let options = EngineOptions::new(&out).algorithm(*algorithm);
        let engine = Engine::open(options).await.unwrap();
        let record = engine
            .encrypt(plaintext.as_bytes(), aad.as_bytes())
            .unwrap();
        lines.push_str(
            &record
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>(),
        );
        lines.push('\n');
    }
    fs::write(out.join("records.txt"), lines).unwrap();
    let _ = fs::remove_file(out.join("state.lock"));
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

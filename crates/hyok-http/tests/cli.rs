//! The record commands use existing keys only: a wrong data directory is an
//! error, never a fresh keyring whose records nobody else can read.

use std::io::Write;
use std::process::{Command, Stdio};

#[test]
fn encrypt_refuses_a_directory_without_keys() {
    let parent = tempfile::tempdir().unwrap();
    let missing = parent.path().join("no-such-dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_hyok"))
        .args(["encrypt", "--aad", "x", "--data-dir"])
        .arg(&missing)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"secret").unwrap();
    let out = child.wait_with_output().unwrap();

    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "no record is written");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no keys in"), "{stderr}");
    assert!(!missing.exists(), "nothing is created");
}

//! Engine against its raw backend, measured alternately in one process: 40
//! rounds, each timing both sides back to back, keeping each side's best
//! round. On a shared machine whose speed drifts from second to second,
//! this pairs the two sides in time far more tightly than two criterion
//! benchmarks run one after the other.
//!
//! ```sh
//! cargo run --profile bench -p hyok-benches --example ab_ratio                  # RustCrypto
//! cargo run --profile bench -p hyok-benches --example ab_ratio --features ring  # ring
//! ```

use std::hint::black_box;
use std::time::Instant;

use hyok_core::OVERHEAD;

const AAD: &[u8] = b"table/column/row-0000042";
const ROUNDS: usize = 40;

fn main() {
    let (_dir, engine) = hyok_benches::local_engine();
    let backend = if cfg!(feature = "ring") {
        "ring"
    } else {
        "RustCrypto"
    };
    println!("backend {backend}; best of {ROUNDS} alternating rounds, ns per record");
    println!(
        "{:>8} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "size", "enc eng", "enc raw", "ratio", "dec eng", "dec raw", "ratio"
    );

    for size in [16usize, 64, 1024, 16 * 1024, 1024 * 1024] {
        let iterations = (4 * 1024 * 1024 / size).clamp(16, 20_000);
        let raw = raw::Raw::new();
        let mut frame = vec![0u8; size + OVERHEAD];
        let mut plain = vec![0u8; size];
        let record = engine.encrypt(&plain, AAD).unwrap();
        let (ct, tag) = raw.seal(&mut plain.clone());
        let mut scratch = record.clone();
        let mut best = [u128::MAX; 4];

        for _ in 0..ROUNDS {
            best[0] = best[0].min(time(iterations, || {
                engine.encrypt_framed(black_box(&mut frame), AAD).unwrap()
            }));
            best[1] = best[1].min(time(iterations, || {
                raw.seal(black_box(&mut plain));
            }));
            best[2] = best[2].min(time(iterations, || {
                scratch.copy_from_slice(&record);
                engine
                    .decrypt_in_place(black_box(&mut scratch), AAD)
                    .unwrap();
            }));
            best[3] = best[3].min(time(iterations, || {
                plain.copy_from_slice(&ct);
                raw.open(black_box(&mut plain), &tag);
            }));
        }
        let ratio = |engine: u128, raw: u128| raw as f64 / engine as f64;
        println!(
            "{size:>8} {:>10} {:>10} {:>10.2} {:>10} {:>10} {:>10.2}",
            best[0],
            best[1],
            ratio(best[0], best[1]),
            best[2],
            best[3],
            ratio(best[2], best[3])
        );
    }
}

fn time(iterations: usize, mut f: impl FnMut()) -> u128 {
    let start = Instant::now();
    for _ in 0..iterations {
        f();
    }
    start.elapsed().as_nanos() / iterations as u128
}

#[cfg(not(feature = "ring"))]
mod raw {
    use aes_gcm::Aes256Gcm;
    use aes_gcm::aead::{AeadInOut, KeyInit};

    pub(crate) struct Raw(Aes256Gcm);

    impl Raw {
        pub(crate) fn new() -> Raw {
            Raw(Aes256Gcm::new(&[7u8; 32].into()))
        }

        pub(crate) fn seal(&self, buf: &mut [u8]) -> (Vec<u8>, [u8; 16]) {
            let tag = self
                .0
                .encrypt_inout_detached(&[1u8; 12].into(), super::AAD, buf.into())
                .unwrap();
            (buf.to_vec(), tag.into())
        }

        pub(crate) fn open(&self, buf: &mut [u8], tag: &[u8; 16]) {
            self.0
                .decrypt_inout_detached(&[1u8; 12].into(), super::AAD, buf.into(), tag.into())
                .unwrap();
        }
    }
}

#[cfg(feature = "ring")]
mod raw {
    use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, Tag, UnboundKey};

    pub(crate) struct Raw(LessSafeKey);

    impl Raw {
        pub(crate) fn new() -> Raw {
            Raw(LessSafeKey::new(
                UnboundKey::new(&AES_256_GCM, &[7u8; 32]).unwrap(),
            ))
        }

        pub(crate) fn seal(&self, buf: &mut [u8]) -> (Vec<u8>, [u8; 16]) {
            let nonce = Nonce::assume_unique_for_key([1u8; 12]);
            let tag = self
                .0
                .seal_in_place_separate_tag(nonce, Aad::from(super::AAD), buf)
                .unwrap();
            (buf.to_vec(), tag.as_ref().try_into().unwrap())
        }

        pub(crate) fn open(&self, buf: &mut [u8], tag: &[u8; 16]) {
            let nonce = Nonce::assume_unique_for_key([1u8; 12]);
            let tag = Tag::from(*tag);
            self.0
                .open_in_place_separate_tag(nonce, Aad::from(super::AAD), tag, buf, 0..)
                .unwrap();
        }
    }
}

//! Runs one operation many times, for counting instructions under
//! `valgrind --tool=callgrind`, which, unlike wall time, does not move with
//! the load of a shared machine:
//!
//! ```sh
//! cargo build --release -p hyok-benches --example instructions
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/examples/instructions engine-encrypt 64 100000
//! ```
//!
//! Subtracting the count for 0 iterations leaves the cost of the loop; the
//! engine's overhead per record is the difference to the `raw-*` mode of
//! the same size, divided by the iterations.

use std::hint::black_box;

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{AeadInOut, KeyInit};
use hyok_core::OVERHEAD;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, mode, size, iterations] = args.as_slice() else {
        eprintln!("usage: instructions MODE SIZE ITERATIONS");
        std::process::exit(2);
    };
    let size: usize = size.parse().unwrap();
    let iterations: u64 = iterations.parse().unwrap();
    let plaintext = vec![0x5au8; size];
    let aad = b"table/column/row-0000042";

    let (_dir, engine) = hyok_benches::local_engine();
    let record = engine.encrypt(&plaintext, aad).unwrap();
    let raw = Aes256Gcm::new(&[7u8; 32].into());
    let mut ct = plaintext.clone();
    let nonce = [1u8; 12];
    let tag = raw
        .encrypt_inout_detached(&nonce.into(), aad, ct.as_mut_slice().into())
        .unwrap();
    let mut buf = plaintext.clone();
    let mut out = Vec::with_capacity(size + OVERHEAD);

    for _ in 0..iterations {
        match mode.as_str() {
            "engine-encrypt" => {
                out.clear();
                engine
                    .encrypt_into(black_box(&plaintext), aad, &mut out)
                    .unwrap();
            }
            "engine-decrypt" => {
                out.clear();
                out.extend_from_slice(&record);
                black_box(engine.decrypt_in_place(&mut out, aad).unwrap());
            }
            "raw-encrypt" => {
                buf.copy_from_slice(&plaintext);
                black_box(raw.encrypt_inout_detached(
                    &nonce.into(),
                    aad,
                    buf.as_mut_slice().into(),
                ))
                .unwrap();
            }
            "raw-decrypt" => {
                buf.copy_from_slice(&ct);
                raw.decrypt_inout_detached(&nonce.into(), aad, buf.as_mut_slice().into(), &tag)
                    .unwrap();
                black_box(&buf);
            }
            other => panic!("unknown mode {other}"),
        }
    }
}

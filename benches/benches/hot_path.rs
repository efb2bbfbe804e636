//! Records through the engine's public API, against the raw AEAD calls of
//! both AES-256-GCM backends on the same sizes, in the same run.

use std::hint::black_box;
use std::time::Duration;

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{AeadInOut, KeyInit};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hyok_core::OVERHEAD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};

const SIZES: &[usize] = &[16, 64, 256, 1024, 16 * 1024, 1024 * 1024];
const AAD: &[u8] = b"table/column/row-0000042";

fn encrypt(c: &mut Criterion) {
    let (_dir, engine) = hyok_benches::local_engine();
    let mut group = c.benchmark_group("encrypt");
    for &size in SIZES {
        let plaintext = vec![0x5au8; size];
        group.throughput(Throughput::Bytes(size as u64));

        group.bench_with_input(BenchmarkId::new("engine", size), &plaintext, |b, p| {
            b.iter(|| engine.encrypt(black_box(p), AAD).unwrap())
        });
        let mut out = Vec::with_capacity(size + OVERHEAD);
        group.bench_with_input(BenchmarkId::new("engine_into", size), &plaintext, |b, p| {
            b.iter(|| {
                out.clear();
                engine.encrypt_into(black_box(p), AAD, &mut out).unwrap();
            })
        });
        // The plaintext already sits in a frame with room for header and
        // tag, as a storage layer can lay it out: no copy, like the raw calls.
        let mut frame = vec![0u8; size + OVERHEAD];
        group.bench_function(BenchmarkId::new("engine_framed", size), |b| {
            b.iter(|| engine.encrypt_framed(black_box(&mut frame), AAD).unwrap())
        });

        let rustcrypto = Aes256Gcm::new(&[7u8; 32].into());
        let mut buf = plaintext.clone();
        group.bench_function(BenchmarkId::new("raw_rustcrypto", size), |b| {
            b.iter(|| {
                let nonce = [1u8; 12];
                rustcrypto.encrypt_inout_detached(&nonce.into(), AAD, buf.as_mut_slice().into())
            })
        });

        let ring_key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7u8; 32]).unwrap());
        group.bench_function(BenchmarkId::new("raw_ring", size), |b| {
            b.iter(|| {
                let nonce = Nonce::assume_unique_for_key([1u8; 12]);
                ring_key
                    .seal_in_place_separate_tag(nonce, Aad::from(AAD), &mut buf)
                    .unwrap()
            })
        });
    }
    group.finish();
}

fn decrypt(c: &mut Criterion) {
    let (_dir, engine) = hyok_benches::local_engine();
    let mut group = c.benchmark_group("decrypt");
    for &size in SIZES {
        let record = engine.encrypt(&vec![0x5au8; size], AAD).unwrap();
        group.throughput(Throughput::Bytes(size as u64));

        group.bench_with_input(BenchmarkId::new("engine", size), &record, |b, r| {
            b.iter(|| engine.decrypt(black_box(r), AAD).unwrap())
        });
        let mut buf = record.clone();
        group.bench_function(BenchmarkId::new("engine_in_place", size), |b| {
            b.iter(|| {
                buf.copy_from_slice(&record);
                engine.decrypt_in_place(&mut buf, AAD).unwrap().len()
            })
        });

        let rustcrypto = Aes256Gcm::new(&[7u8; 32].into());
        let mut ct = vec![0x5au8; size];
        let nonce = [1u8; 12];
        let tag = rustcrypto
            .encrypt_inout_detached(&nonce.into(), AAD, ct.as_mut_slice().into())
            .unwrap();
        let mut scratch = ct.clone();
        group.bench_function(BenchmarkId::new("raw_rustcrypto", size), |b| {
            b.iter(|| {
                scratch.copy_from_slice(&ct);
                rustcrypto
                    .decrypt_inout_detached(&nonce.into(), AAD, scratch.as_mut_slice().into(), &tag)
                    .unwrap()
            })
        });

        let ring_key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7u8; 32]).unwrap());
        let ring_tag: ring::aead::Tag = tag.as_slice().try_into().unwrap();
        group.bench_function(BenchmarkId::new("raw_ring", size), |b| {
            b.iter(|| {
                scratch.copy_from_slice(&ct);
                let nonce = Nonce::assume_unique_for_key([1u8; 12]);
                ring_key
                    .open_in_place_separate_tag(nonce, Aad::from(AAD), ring_tag, &mut scratch, 0..)
                    .unwrap()
                    .len()
            })
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
}

criterion_group! { name = benches; config = config(); targets = encrypt, decrypt }
criterion_main!(benches);

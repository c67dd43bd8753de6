//! Hot paths of the actor plane's wire format: encoding a send, decoding it on arrival.
//! `cargo bench -p shoal-proto --bench codec`

#![allow(missing_docs, clippy::unwrap_used, reason = "a benchmark binary")]

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use shoal_proto::{LinkMessage, encode_send, tag_of};

fn payload(size: usize) -> Bytes {
    Bytes::from(vec![7u8; size])
}

fn actor_frames(c: &mut Criterion) {
    let mut group = c.benchmark_group("actor_send");
    for size in [64usize, 1024] {
        let body = payload(size);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(format!("encode_{size}b"), |b| {
            b.iter(|| encode_send(black_box(42), None, tag_of("bench.Msg"), black_box(&body)).unwrap())
        });
        let frame = Bytes::from(encode_send(42, None, tag_of("bench.Msg"), &body).unwrap());
        group.bench_function(format!("decode_shared_{size}b"), |b| {
            b.iter(|| LinkMessage::decode_shared(black_box(&frame)).unwrap())
        });
        group.bench_function(format!("decode_copying_{size}b"), |b| {
            b.iter(|| LinkMessage::decode(black_box(&frame)).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, actor_frames);
criterion_main!(benches);

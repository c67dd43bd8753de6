//! Hot paths of the registry replica: a local lookup, and applying a peer's delta of group
//! joins. `cargo bench -p shoal-proto --bench registry`

#![allow(missing_docs, clippy::unwrap_used, reason = "a benchmark binary")]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use shoal_proto::{Creation, NodeId, NodeName, Pid, Registry};

fn node(name: &str) -> NodeId {
    NodeId::new(NodeName::new(name).unwrap(), Creation(1))
}

fn lookups(c: &mut Criterion) {
    let local = node("reg-1");
    let mut registry = Registry::new(local.clone());
    let names: Vec<String> = (0..1000).map(|k| format!("one-0-{k}")).collect();
    for name in &names {
        registry.register(name, Pid::new(local.clone(), 7), 1).unwrap();
    }
    let mut group = c.benchmark_group("registry");
    group.throughput(Throughput::Elements(names.len() as u64));
    group.bench_function("whereis_1000_names", |b| {
        b.iter(|| {
            for name in &names {
                black_box(registry.whereis(black_box(name)));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, lookups);
criterion_main!(benches);

//! Hot paths of the registry replica: a local lookup, applying a peer's delta of group joins,
//! and dropping a departed peer's names. `cargo bench -p shoal-proto --bench registry`

#![allow(missing_docs, clippy::unwrap_used, reason = "a benchmark binary")]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use shoal_proto::{Creation, NodeId, NodeName, Pid, Registry, RegistryFrame, RegistryOutput};

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

/// One owner's 10,000 group joins (into one group, and each into its own): made on the
/// owner, then applied from its deltas on a peer.
fn joins(c: &mut Criterion) {
    const JOINS: u64 = 10_000;
    let owner = node("reg-1");
    let join_all = |distinct: bool| {
        let mut registry = Registry::new(owner.clone());
        for id in 0..JOINS {
            let group = if distinct {
                format!("group-{id}")
            } else {
                "one-group".to_owned()
            };
            registry.join(&group, Pid::new(owner.clone(), id), 1).unwrap();
        }
        registry.flush();
        let frames: Vec<RegistryFrame> = std::iter::from_fn(|| registry.poll_output())
            .filter_map(|output| match output {
                RegistryOutput::Broadcast(frame) => Some(frame),
                _ => None,
            })
            .collect();
        frames
    };
    let mut group = c.benchmark_group("registry");
    group.throughput(Throughput::Elements(JOINS));
    for (label, distinct) in [("one_group", false), ("distinct_groups", true)] {
        group.bench_function(format!("join_10k_on_owner_{label}"), |b| {
            b.iter(|| join_all(distinct))
        });
        let frames = join_all(distinct);
        group.bench_function(format!("apply_10k_joins_on_peer_{label}"), |b| {
            b.iter_batched(
                || (Registry::new(node("reg-2")), frames.clone()),
                |(mut peer, frames)| {
                    for frame in frames {
                        peer.handle_frame(&owner, frame);
                    }
                    while peer.poll_output().is_some() {}
                    peer
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

/// The names an owner published, as the frames a peer receives.
fn published(owner: &NodeId, names: std::ops::Range<u64>) -> Vec<RegistryFrame> {
    let mut registry = Registry::new(owner.clone());
    for id in names {
        registry
            .register(&format!("name-{id}"), Pid::new(owner.clone(), id), 1)
            .unwrap();
    }
    registry.flush();
    std::iter::from_fn(|| registry.poll_output())
        .filter_map(|output| match output {
            RegistryOutput::Broadcast(frame) => Some(frame),
            _ => None,
        })
        .collect()
}

/// A peer holds 100,000 names, 10,000 of them of one owner that goes down: its names are
/// found by a scan of the whole table. Only the departure is timed.
fn peer_down(c: &mut Criterion) {
    let (gone, stays) = (node("reg-1"), node("reg-3"));
    let (gone_frames, staying_frames) = (published(&gone, 0..10_000), published(&stays, 10_000..100_000));
    let peer = || {
        let mut peer = Registry::new(node("reg-2"));
        for frame in gone_frames.iter().cloned() {
            peer.handle_frame(&gone, frame);
        }
        for frame in staying_frames.iter().cloned() {
            peer.handle_frame(&stays, frame);
        }
        peer
    };
    let mut group = c.benchmark_group("registry");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(100));
    group.measurement_time(Duration::from_millis(500));
    group.bench_function("peer_down_10k_of_100k_names", |b| {
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            for _ in 0..iters {
                let mut registry = peer();
                let start = Instant::now();
                registry.handle_peer_down(&gone);
                timed += start.elapsed();
                assert_eq!(registry.len(), 90_000);
            }
            timed
        })
    });
    group.finish();
}

criterion_group!(benches, lookups, joins, peer_down);
criterion_main!(benches);

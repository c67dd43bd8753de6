//! Soak: 10 nodes idle for a while with every core kept busy; counts false suspicions and downs.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shoal_api::Line;

use super::cluster::BenchCluster;

const NODES: usize = 10;

pub(crate) fn run(bin: &Path, seconds: u64) -> anyhow::Result<Value> {
    let names: Vec<String> = (1..=NODES).map(|i| format!("s{i}")).collect();
    let cluster = BenchCluster::start_formed(bin, &names)?;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let stop = Arc::new(AtomicBool::new(false));
    let burners: Vec<_> = (0..cores)
        .map(|_| std::thread::spawn(burn(stop.clone())))
        .collect();
    eprintln!("soak: {NODES} nodes, {cores} busy threads, {seconds} s");
    let until = Instant::now() + Duration::from_secs(seconds);
    let (mut downs, mut suspects) = (0u64, 0u64);
    while Instant::now() < until {
        for node in &cluster.nodes {
            while let Some(e) = node.wait_line(|_| true, Duration::from_millis(1)) {
                match e {
                    Line::NodeDown { .. } => {
                        downs += 1;
                        eprintln!("false down seen by {}: {}", node.ready.name, e.to_line());
                    }
                    Line::NodeSuspect { .. } => suspects += 1,
                    _ => {}
                }
            }
        }
        std::thread::sleep(Duration::from_millis(200)); // a polling period, not a wait for a condition
    }
    stop.store(true, Ordering::Relaxed);
    for b in burners {
        let _ = b.join();
    }
    Ok(
        json!({ "soak_seconds": seconds, "nodes": NODES, "busy_threads": cores,
        "false_downs": downs, "suspects": suspects }),
    )
}

fn burn(stop: Arc<AtomicBool>) -> impl FnOnce() {
    move || {
        let mut x = 0u64;
        while !stop.load(Ordering::Relaxed) {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
}

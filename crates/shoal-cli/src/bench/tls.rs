//! `shoal bench tls`: the messaging figures over mutual TLS next to plain TCP, in one run.
//! Two pairs of nodes (a `shoal node` child and a node in this process each), one pair plain
//! and one over TLS with certificates from [`crate::certs::generate`]; trials alternate
//! between the pairs so that both see the same machine.

use std::path::Path;

use anyhow::Context;
use serde_json::{Value, json};
use shoal_node::tls::{TlsConfig, TlsFiles};
use shoal_node::{Node, NodeName};

use super::cluster::BenchCluster;
use super::messaging::{Trial, run_trial, wait_linked};
use super::{median, round2};

pub(crate) fn run(bin: &Path, trials: usize) -> anyhow::Result<Value> {
    let certs = std::env::temp_dir().join(format!("shoal-bench-tls-{}", std::process::id()));
    let names = ["tls-far".to_string(), "tls-near".to_string()];
    crate::certs::generate(&certs, &names, 1, true)?;
    let files = |name: &str| TlsFiles {
        cert: certs.join(format!("{name}.pem")),
        key: certs.join(format!("{name}.key")),
        ca: certs.join("ca.pem"),
    };
    let far_files = files("tls-far");
    let far_args = [
        "--tls".to_string(),
        "required".into(),
        "--tls-cert".into(),
        far_files.cert.display().to_string(),
        "--tls-key".into(),
        far_files.key.display().to_string(),
        "--tls-ca".into(),
        far_files.ca.display().to_string(),
    ];
    let far_args: Vec<&str> = far_args.iter().map(String::as_str).collect();
    let plain_cluster = BenchCluster::new(bin)?;
    let plain_far = plain_cluster.spawn("plain-far")?;
    let tls_cluster = BenchCluster::with_args(bin, &far_args)?;
    let tls_far = tls_cluster.spawn("tls-far")?;
    let near_tls = TlsConfig::from_files(files("tls-near"))?;
    let runtime = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
    let result = runtime.block_on(async {
        let start = |name: &str, cookie: &str, seed: String, tls: Option<TlsConfig>| {
            Node::builder()
                .name(name)
                .cookie(cookie)
                .seeds([seed])
                .tls(tls)
                .start()
        };
        let plain = start(
            "plain-near",
            plain_cluster.cookie(),
            plain_far.ready.listen.to_string(),
            None,
        )
        .await?;
        let tls = start(
            "tls-near",
            tls_cluster.cookie(),
            tls_far.ready.listen.to_string(),
            Some(near_tls),
        )
        .await?;
        wait_linked(&plain).await?;
        wait_linked(&tls).await?;
        let (mut plain_trials, mut tls_trials) = (Vec::new(), Vec::new());
        for trial in 0..trials {
            for (label, node, far, out) in [
                ("plain", &plain, "plain-far", &mut plain_trials),
                ("tls", &tls, "tls-far", &mut tls_trials),
            ] {
                eprintln!("tls: trial {}/{trials}, {label}", trial + 1);
                let (actors, far) = (node.actors().clone(), NodeName::new(far)?);
                out.push(tokio::spawn(async move { run_trial(&actors, &far).await }).await??);
            }
        }
        plain.shutdown().await;
        tls.shutdown().await;
        anyhow::Ok((plain_trials, tls_trials))
    });
    let _ = std::fs::remove_dir_all(&certs);
    let (plain, tls) = result?;
    Ok(figures(trials, &plain, &tls))
}

fn figures(trials: usize, plain: &[Trial], tls: &[Trial]) -> Value {
    let pick = |trials: &[Trial], f: fn(&Trial) -> f64| median(&trials.iter().map(f).collect::<Vec<_>>());
    let rtt = |t: &Trial| t.rtt_p50_us;
    let small = |t: &Trial| t.oneway_64b;
    let kib = |t: &Trial| t.oneway_1k;
    json!({
        "scenario": "tls",
        "trials": trials,
        "plain_rtt_p50_us": round2(pick(plain, rtt)),
        "tls_rtt_p50_us": round2(pick(tls, rtt)),
        "plain_rtt_p99_us": round2(pick(plain, |t| t.rtt_p99_us)),
        "tls_rtt_p99_us": round2(pick(tls, |t| t.rtt_p99_us)),
        "plain_oneway_64b_msgs_per_s": pick(plain, small).round(),
        "tls_oneway_64b_msgs_per_s": pick(tls, small).round(),
        "plain_oneway_1k_mib_per_s": round2(pick(plain, kib) / 1024.0),
        "tls_oneway_1k_mib_per_s": round2(pick(tls, kib) / 1024.0),
        "rtt_tls_over_plain_ratio": round2(pick(tls, rtt) / pick(plain, rtt)),
        "oneway_64b_tls_over_plain_ratio": round2(pick(tls, small) / pick(plain, small)),
        "oneway_1k_tls_over_plain_ratio": round2(pick(tls, kib) / pick(plain, kib)),
    })
}

//! The lazy trace on snailtracer, side by side with plain revm on the same transaction:
//! plain execution, revm's inspecting loop with an inspector that does nothing, the recording
//! pass, and `commitment(i)` / `witness(i)` at random `i`. See BENCHMARKS.md for the figures
//! and the goals.
//!
//! `REFUTE_WORKLOADS` names the workloads folder (default `../shared/workloads` beside the
//! workspace); `REFUTE_BENCH_GAS` the transaction's gas limit (default 1,000,000,000: the
//! whole run, about 161 million gas).

#![allow(missing_docs)]

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use refute_engine::workload::{Workload, workloads_root};
use std::hint::black_box;

fn gas_limit() -> u64 {
    std::env::var("REFUTE_BENCH_GAS").ok().and_then(|g| g.parse().ok()).unwrap_or(1_000_000_000)
}

/// A deterministic pseudo-random sequence of indices in `0..len` (splitmix64).
fn indices(len: u64) -> impl FnMut() -> u64 {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % len.max(1)
    }
}

fn snailtracer(c: &mut Criterion) {
    let root = workloads_root().expect("workloads folder (set REFUTE_WORKLOADS)");
    let workload = Workload::snailtracer(&root, gas_limit()).expect("snailtracer workload");
    let mut group = c.benchmark_group("snailtracer");
    group.sample_size(10);
    group.bench_function("plain revm", |b| {
        b.iter(|| black_box(workload.run_plain().expect("runs")));
    });
    group.bench_function("noop inspector", |b| {
        b.iter(|| black_box(workload.run_noop_inspector().expect("runs")));
    });
    group.bench_function("record", |b| {
        // Dropping a trace is not part of recording it.
        b.iter_batched(|| (), |()| workload.record().expect("records"), BatchSize::PerIteration);
    });
    let (_, trace) = workload.record().expect("records");
    let len = trace.len();
    eprintln!("snailtracer: {len} steps, {} bytes recorded", trace.recorded_bytes());
    group.sample_size(50);
    let mut next = indices(len + 1);
    group.bench_function("commitment(random i)", |b| {
        b.iter(|| black_box(trace.commitment(next()).expect("commitment")));
    });
    let mut next = indices(len);
    group.bench_function("witness(random i)", |b| {
        b.iter(|| black_box(trace.witness(next()).expect("witness")));
    });
    group.finish();
}

/// Burntpix (call-heavy: CALL, STATICCALL, DELEGATECALL across four contracts) with
/// `REFUTE_BURNTPIX_ITERATIONS` iterations (default 20,000, revm's setting). `witness(i)` is
/// measured over in-frame steps (the trace does not prove frame boundaries yet: spec §6).
fn burntpix(c: &mut Criterion) {
    let root = workloads_root().expect("workloads folder (set REFUTE_WORKLOADS)");
    let iterations = std::env::var("REFUTE_BURNTPIX_ITERATIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let workload =
        Workload::burntpix(&root, 0, iterations, u64::MAX / 2).expect("burntpix workload");
    let mut group = c.benchmark_group("burntpix");
    group.sample_size(10);
    group.bench_function("plain revm", |b| {
        b.iter(|| black_box(workload.run_plain().expect("runs")));
    });
    group.bench_function("noop inspector", |b| {
        b.iter(|| black_box(workload.run_noop_inspector().expect("runs")));
    });
    group.bench_function("record", |b| {
        b.iter_batched(|| (), |()| workload.record().expect("records"), BatchSize::PerIteration);
    });
    let (result, trace) = workload.record().expect("records");
    let len = trace.len();
    eprintln!(
        "burntpix: {len} steps, {} gas, {} bytes recorded",
        result.tx_gas_used(),
        trace.recorded_bytes()
    );
    group.sample_size(50);
    let mut next = indices(len + 1);
    group.bench_function("commitment(random i)", |b| {
        b.iter(|| black_box(trace.commitment(next()).expect("commitment")));
    });
    // In-frame steps: the first 64 random indices whose witness the trace proves.
    let mut next = indices(len);
    let provable: Vec<u64> =
        std::iter::repeat_with(&mut next).filter(|&i| trace.witness(i).is_ok()).take(64).collect();
    let mut k = 0;
    group.bench_function("witness(random in-frame i)", |b| {
        b.iter(|| {
            k = (k + 1) % provable.len();
            black_box(trace.witness(provable[k]).expect("witness"))
        });
    });
    group.finish();
}

criterion_group!(benches, snailtracer, burntpix);
criterion_main!(benches);

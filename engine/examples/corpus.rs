//! Scratch driver.
#![allow(missing_docs, clippy::print_stdout, clippy::unwrap_used)]
use refute_engine::{conformance, corpus};
fn main() {
    let root = corpus::corpus_root().unwrap();
    let which = std::env::args().nth(1).unwrap();
    let files = corpus::json_files(&[root.join(&which)]).unwrap();
    let t = std::time::Instant::now();
    let s = if which.starts_with("Blockchain") {
        conformance::run_blockchain_tests(
            &files,
            revm::primitives::hardfork::SpecId::CANCUN,
            &|_| {},
        )
    } else {
        conformance::run_state_tests(&files, revm::primitives::hardfork::SpecId::CANCUN, &|_| {})
    };
    println!(
        "files {} cases {} matched {} txs {} failed {} div {} in {:?}",
        s.files,
        s.cases,
        s.matched,
        s.transactions,
        s.failed(),
        s.divergences.len(),
        t.elapsed()
    );
    for (c, w) in &s.failures {
        println!("{c}: {w}");
    }
}

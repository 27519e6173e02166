#![allow(missing_docs, clippy::print_stdout, clippy::unwrap_used)]
use refute_engine::corpus;
fn main() {
    let f =
        corpus::BlockchainTestFile::load(std::path::Path::new(&std::env::args().nth(1).unwrap()))
            .unwrap();
    for t in f.tests(revm::primitives::hardfork::SpecId::CANCUN) {
        let pre = t.pre_state().unwrap();
        for (a, acc) in pre.trie_account() {
            println!("{a} {:?} storage {:?}", acc.info, acc.storage);
        }
        println!("contracts {:?}", pre.contracts.keys().collect::<Vec<_>>());
        for b in t.blocks().unwrap() {
            println!("{:?}", b.transactions.iter().map(|t| t.tx_env()).collect::<Vec<_>>());
        }
    }
}

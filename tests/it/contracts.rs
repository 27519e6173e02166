//! The compiled contracts, through their generated bindings, against the engine: the L1 code
//! and the Rust model must read every position the same way.

use alloy_primitives::Address;
use alloy_sol_types::SolInterface;
use proptest::prelude::*;
use refute_contracts::PositionLens::{self, PositionLensErrors};
use refute_engine::game::Position;
use refute_tests::{CallError, InProcessEvm};

fn lens() -> (InProcessEvm, Address) {
    let mut evm = InProcessEvm::new();
    let address = evm.deploy(&PositionLens::BYTECODE).expect("PositionLens deploys");
    (evm, address)
}

fn is_invalid_position(result: Result<impl std::fmt::Debug, CallError>) -> bool {
    match result {
        Err(CallError::Revert(data)) => matches!(
            PositionLensErrors::abi_decode(&data),
            Ok(PositionLensErrors::InvalidPosition(_))
        ),
        _ => false,
    }
}

/// Any generalized index up to 2^127, valid or not, biased towards valid ones.
fn any_index() -> impl Strategy<Value = u128> {
    prop_oneof![
        (0u8..=Position::MAX_DEPTH)
            .prop_flat_map(|d| (1u128 << d)..=((1u128 << d) - 1 + (1u128 << d))),
        any::<u128>(),
        Just(0u128),
    ]
}

#[test]
fn deployed_runtime_code_is_the_committed_artifact() {
    let (mut evm, address) = lens();
    assert_eq!(evm.code(address), PositionLens::DEPLOYED_BYTECODE.clone());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// unwrap, moves and traceIndex agree with `refute_engine::game::Position` on every
    /// index: equal results where the engine has a position, a revert where it has none.
    #[test]
    fn solidity_positions_match_the_engine(index in any_index(), max_depth in 0u8..=130) {
        let (mut evm, lens) = lens();
        match Position::from_generalized_index(index) {
            Ok(p) => {
                let got = evm.call(lens, &PositionLens::unwrapCall { position: index }).unwrap();
                prop_assert_eq!((got.depth, got.indexAtDepth), (p.depth(), p.index_at_depth()));

                let moves = evm.call(lens, &PositionLens::movesCall { position: index });
                match (p.attack(), p.defend()) {
                    (Some(attack), Some(defend)) => {
                        let moves = moves.unwrap();
                        prop_assert_eq!(moves.attack, attack.generalized_index());
                        prop_assert_eq!(moves.defend, defend.generalized_index());
                    }
                    _ => prop_assert!(is_invalid_position(moves)),
                }

                let trace = evm.call(lens, &PositionLens::traceIndexCall { position: index, maxDepth: max_depth });
                match p.trace_index(max_depth) {
                    Some(expected) => prop_assert_eq!(trace.unwrap(), expected),
                    None => prop_assert!(is_invalid_position(trace)),
                }
            }
            Err(_) => {
                let got = evm.call(lens, &PositionLens::unwrapCall { position: index });
                prop_assert!(is_invalid_position(got));
            }
        }
    }

    /// wrap(depth, index) succeeds exactly when the engine accepts the pair, with the same index.
    #[test]
    fn solidity_wrap_matches_the_engine(depth in 0u8..=130, index in any::<u128>(), small in 0u128..64) {
        let (mut evm, lens) = lens();
        for index in [index, small] {
            let got = evm.call(lens, &PositionLens::wrapCall { depth, indexAtDepth: index });
            match Position::new(depth, index) {
                Ok(p) => prop_assert_eq!(got.unwrap(), p.generalized_index()),
                Err(_) => prop_assert!(is_invalid_position(got)),
            }
        }
    }
}

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

/// Game parameters near and across every bound of §1.1 (about half of them valid).
fn any_params() -> impl Strategy<Value = refute_engine::game::GameParams> {
    let depths =
        prop_oneof![(2u8..=125).prop_flat_map(|max| (Just(max), 1..max)), (0u8..=130, 0u8..=130),];
    let clocks = prop_oneof![
        Just(302_400u64),
        1u64..=4_000,
        Just(u64::from(u32::MAX)),
        Just(u64::from(u32::MAX) + 1),
    ]
    .prop_flat_map(|max| (Just(max), 0..=max, 0..=max, 0..=max));
    let bonds = prop_oneof![0u128..=1_000_000, Just(80_000_000_000_000_000u128), any::<u128>()];
    let growth = prop_oneof![10_000u32..=100_000, 9_990u32..=10_010, 99_990u32..=100_010];
    (depths, clocks, bonds, growth).prop_map(
        |((max_depth, split_depth), (max_clock, ext, split_ext, step_ext), base_bond, bps)| {
            refute_engine::game::GameParams {
                max_depth,
                split_depth,
                max_clock_duration: max_clock,
                clock_extension: ext,
                split_clock_extension: split_ext,
                step_clock_extension: step_ext,
                base_bond,
                bond_growth_bps: bps,
            }
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// `DisputeGameFactory`'s parameter check (`LibGameParams.validate`) accepts exactly the
    /// parameters the engine's `GameParams::validate` accepts (plus §11.1's 32-bit clock), and a
    /// game it creates charges `GameParams::bond` at every depth.
    #[test]
    fn solidity_params_and_bonds_match_the_engine(params in any_params(), depth in 0u8..=130) {
        use alloy_primitives::{B256, U256};
        use alloy_sol_types::{SolCall, SolConstructor};
        use refute_contracts::{DisputeGame, DisputeGameFactory};
        let mut evm = InProcessEvm::new();
        let args = DisputeGameFactory::constructorCall {
            params_: DisputeGameFactory::GameParams {
                maxDepth: params.max_depth,
                splitDepth: params.split_depth,
                maxClockDuration: params.max_clock_duration,
                clockExtension: params.clock_extension,
                splitClockExtension: params.split_clock_extension,
                stepClockExtension: params.step_clock_extension,
                baseBond: params.base_bond,
                bondGrowthBps: params.bond_growth_bps,
            },
            verifier: Address::ZERO,
        };
        let code = [DisputeGameFactory::BYTECODE.to_vec(), args.abi_encode()].concat();
        let deployed = evm.deploy(&code.into());
        let engine_ok = params.validate().is_ok() && params.max_clock_duration <= u64::from(u32::MAX);
        prop_assert_eq!(deployed.is_ok(), engine_ok, "{:?}", params);
        let Ok(factory) = deployed else { return Ok(()) };
        let bond0 = U256::from(params.bond(0).unwrap());
        let create = DisputeGameFactory::createCall {
            rootClaim: B256::ZERO, anchor: B256::ZERO, batchHash: B256::ZERO, proposer: Address::ZERO,
        };
        evm.set_balance(InProcessEvm::SENDER, U256::MAX >> 2);
        let out = evm
            .transact_at(InProcessEvm::SENDER, Some(factory), create.abi_encode().into(), bond0, 1)
            .expect("creates a game");
        let game = DisputeGameFactory::createCall::abi_decode_returns(&out.output).unwrap();
        let got = evm.call(game, &DisputeGame::bondCall { depth });
        match params.bond(depth) {
            Ok(expected) => prop_assert_eq!(got.unwrap(), U256::from(expected)),
            Err(_) => prop_assert!(got.is_err()),
        }
    }
}

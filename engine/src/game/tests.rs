//! Game tests: the rules one by one, honest play against every adversary on the synthetic
//! and the real lower level, tests that must fail, and reviewed transcripts.

use super::{
    adversary::{Adversary, Belief, Strategy},
    simulate::*,
    *,
};
use crate::workload;
use alloy_primitives::{Address, B256};
use std::sync::OnceLock;

const ALICE: Address = Address::new([0xa1; 20]);
const BOB: Address = Address::new([0xb0; 20]);
const T0: u64 = START;

/// A small synthetic proposal: 5 transactions of 0..=63 steps, in a game with a transaction
/// level of 8 leaves and step levels of 64 (max depth 10, split depth 3).
fn synthetic() -> (GameParams, SyntheticProposal) {
    let params = GameParams::new(10, 3).unwrap();
    (params, SyntheticProposal::new(3, &[17, 40, 0, 33, 63]))
}

/// The real proposal (four recorded transactions) and parameters fitting it, or `None` with
/// `SKIPPED` when the workloads folder is absent.
fn real() -> Option<&'static (GameParams, RecordedProposal)> {
    static REAL: OnceLock<Option<(GameParams, RecordedProposal)>> = OnceLock::new();
    REAL.get_or_init(|| {
        let Ok(root) = workload::workloads_root() else {
            assert!(std::env::var_os("REFUTE_REQUIRE_CORPUS").is_none(), "workloads required");
            eprintln!("SKIPPED: workloads not found (REFUTE_WORKLOADS)");
            return None;
        };
        let proposal = RecordedProposal::demo(&root).expect("demo proposal records");
        let lower_depth = 64 - proposal.max_len().leading_zeros() as u8;
        let params = GameParams::new(4 + 1 + lower_depth, 4).unwrap();
        Some((params, proposal))
    })
    .as_ref()
}

fn game(params: GameParams, proposal: &SyntheticProposal, root: B256) -> Game<SyntheticVerifier> {
    Game::new(
        params,
        proposal.anchor(),
        proposal.verifier(),
        root,
        ALICE,
        params.bond(0).unwrap(),
        T0,
    )
    .unwrap()
}

fn bond(params: &GameParams, depth: u8) -> u128 {
    params.bond(depth).unwrap()
}

// ---- rules ----------------------------------------------------------------------------

#[test]
fn moves_positions_bonds_and_duplicates() {
    let (params, proposal) = synthetic();
    let root = padded_state_after(&proposal, 7).unwrap();
    let mut g = game(params, &proposal, root);
    assert!(matches!(
        Game::new(params, B256::ZERO, proposal.verifier(), root, ALICE, 1, T0),
        Err(GameError::WrongBond { depth: 0, .. })
    ));
    let v = B256::repeat_byte(7);
    assert!(matches!(
        g.make_move(0, v, false, BOB, bond(&params, 1), T0),
        Err(GameError::CannotDefendRoot { index: 0 })
    ));
    assert!(matches!(
        g.make_move(0, v, true, BOB, bond(&params, 0), T0),
        Err(GameError::WrongBond { depth: 1, .. })
    ));
    assert!(matches!(
        g.make_move(9, v, true, BOB, bond(&params, 1), T0),
        Err(GameError::UnknownClaim { index: 9, len: 1 })
    ));
    let a = g.make_move(0, v, true, BOB, bond(&params, 1), T0 + 10).unwrap();
    assert_eq!(g.claim(a).unwrap().position.generalized_index(), 2);
    assert!(matches!(
        g.make_move(0, v, true, ALICE, bond(&params, 1), T0 + 11),
        Err(GameError::DuplicateClaim { parent: 0, .. })
    ));
    // Same position and parent, another value; and the same value elsewhere: both allowed.
    g.make_move(0, B256::repeat_byte(8), true, ALICE, bond(&params, 1), T0 + 12).unwrap();
    let d = g.make_move(a, v, false, ALICE, bond(&params, 2), T0 + 13).unwrap();
    assert_eq!(g.claim(d).unwrap().position.generalized_index(), 6);
    assert!(matches!(
        g.make_move(a, v, false, BOB, bond(&params, 2), T0 + 5),
        Err(GameError::TimeBeforeClaim { .. })
    ));
}

#[test]
fn clocks_accumulate_per_side_and_expire() {
    let (params, proposal) = synthetic();
    let max = params.max_clock_duration;
    let mut g = game(params, &proposal, B256::repeat_byte(1));
    // Bob (challenger) takes 1,000 s to attack the root.
    let a = g.make_move(0, B256::repeat_byte(2), true, BOB, bond(&params, 1), T0 + 1_000).unwrap();
    assert_eq!(g.claim(a).unwrap().clock, Clock { duration: 1_000, timestamp: T0 + 1_000 });
    // Alice takes 500 s: her clock starts from the root's duration, 0.
    let b =
        g.make_move(a, B256::repeat_byte(3), true, ALICE, bond(&params, 2), T0 + 1_500).unwrap();
    assert_eq!(g.claim(b).unwrap().clock.duration, 500);
    // Bob's side has used 1,000 s: 2,000 s later it has used 3,000 s.
    assert_eq!(g.challenger_duration(b, T0 + 3_500).unwrap(), 3_000);
    let c = g.make_move(b, B256::repeat_byte(4), true, BOB, bond(&params, 3), T0 + 3_500).unwrap();
    assert_eq!(g.claim(c).unwrap().clock.duration, 3_000);
    // Alice's clock runs out at 500 + elapsed = max: the last second is allowed.
    let deadline = T0 + 3_500 + max - 500;
    assert!(matches!(
        g.check_move(c, B256::ZERO, true, ALICE, bond(&params, 4), deadline),
        Err(GameError::ClockExpired { .. })
    ));
    assert_eq!(g.expires_at(c).unwrap(), deadline);
    let last =
        g.make_move(c, B256::repeat_byte(5), true, ALICE, bond(&params, 4), deadline - 1).unwrap();
    // Her duration is capped so she keeps one extension for her next move.
    assert_eq!(g.claim(last).unwrap().clock.duration, max - params.clock_extension);
    // Resolution waits for the clock of the would-be counter.
    assert!(matches!(g.resolve_claim(last, deadline), Err(GameError::ClockNotExpired { .. })));
    assert!(matches!(
        g.resolve_claim(c, deadline + 1),
        Err(GameError::OutOfOrderResolution { index: 3, child: 4 })
    ));
}

#[test]
fn clock_extension_before_the_split_and_the_step() {
    let (params, proposal) = synthetic();
    let max = params.max_clock_duration;
    let mut g = game(params, &proposal, B256::repeat_byte(1));
    // Depth 1 and 2 moves made with almost no time left on each side.
    let late = T0 + max - 1;
    let a = g.make_move(0, B256::repeat_byte(2), true, BOB, bond(&params, 1), late).unwrap();
    assert_eq!(g.claim(a).unwrap().clock.duration, max - params.clock_extension);
    let b = g
        .make_move(a, B256::repeat_byte(3), true, ALICE, bond(&params, 2), late + max - 1)
        .unwrap();
    // Depth 2 = split - 1: the mover's next move is below the split: a double extension.
    assert_eq!(g.claim(b).unwrap().clock.duration, max - params.split_clock_extension);
    assert_eq!(params.extension(params.max_depth - 1), params.step_clock_extension);
}

#[test]
fn split_root_rules() {
    let (params, proposal) = synthetic();
    let truth = |p: u128| padded_state_after(&proposal, p as u64).unwrap();
    // Path to a split-depth claim at trace index 3 (position 8 + 3 = 11 is odd: defend 5).
    let mut g = game(params, &proposal, truth(7));
    let b1 = |d| bond(&params, d);
    let a = g.make_move(0, B256::repeat_byte(9), true, BOB, b1(1), T0).unwrap(); // pos 2, k 3 (lie)
    let b = g.make_move(a, truth(1), true, ALICE, b1(2), T0).unwrap(); // pos 4, k 1
    let c = g.make_move(b, truth(2), false, BOB, b1(3), T0).unwrap(); // pos 10, k 2
    assert_eq!(g.claim(c).unwrap().position.trace_index(3), Some(2));
    // Attack on the split claim at k 2 with its own value: rejected.
    assert!(matches!(
        g.make_move(c, truth(2), true, ALICE, b1(4), T0),
        Err(GameError::SplitRootMismatch { against: 3, must_equal: false, .. })
    ));
    let lower = g.make_move(c, B256::repeat_byte(5), true, ALICE, b1(4), T0).unwrap();
    let context = g.lower_context(lower).unwrap().unwrap();
    assert_eq!((context.tx, context.agreed), (2, truth(1)));
    // Defence of the split claim at k 2: disputes k 3, claimed by `a` (Bob's side, as `c`):
    // the defender (Alice's side) must differ from it.
    assert!(matches!(
        g.make_move(c, B256::repeat_byte(9), false, ALICE, b1(4), T0),
        Err(GameError::SplitRootMismatch { against: 1, must_equal: false, .. })
    ));
    let defended = g.make_move(c, B256::repeat_byte(6), false, ALICE, b1(4), T0).unwrap();
    let context = g.lower_context(defended).unwrap().unwrap();
    assert_eq!((context.tx, context.agreed), (3, truth(2)));
    // The lower roots commit to the last state and cannot be defended.
    assert!(matches!(
        g.make_move(lower, B256::ZERO, false, BOB, b1(5), T0),
        Err(GameError::CannotDefendRoot { .. })
    ));
    // A defence whose disputed claim is on the defender's side must restate it: Bob defends
    // Alice's claim `b` (k 1)… needs a split claim; Alice's split claim under `c`'s sibling:
    let d = g.make_move(b, truth(0), true, BOB, b1(3), T0).unwrap(); // pos 8, k 0 (Bob, true)
    // Alice defends d (k 0): disputes k 1, claimed by b (Alice's own side): restate it.
    assert!(matches!(
        g.make_move(d, B256::repeat_byte(1), false, ALICE, b1(4), T0),
        Err(GameError::SplitRootMismatch { against: 2, must_equal: true, .. })
    ));
    let r = g.make_move(d, truth(1), false, ALICE, b1(4), T0).unwrap();
    assert_eq!(g.lower_context(r).unwrap().unwrap().tx, 1);
    // Attack on the split claim at k 0: the agreed state is the anchor.
    let r0 = g.make_move(d, B256::repeat_byte(3), true, ALICE, b1(4), T0).unwrap();
    assert_eq!(g.lower_context(r0).unwrap().unwrap().agreed, proposal.anchor());
}

/// Plays the honest player against `adversaries` and returns the report.
fn play_synthetic(adversaries: Vec<Adversary>, seed: u64) -> (GameReport, Transcript) {
    let (params, proposal) = synthetic();
    let (report, transcript) = play_with(
        &params,
        &proposal,
        &proposal,
        &proposal.verifier(),
        adversaries,
        seed,
        3_600,
        true,
    )
    .unwrap();
    (report, transcript.unwrap())
}

fn adversary(strategy: Strategy, belief: Belief, n: u8) -> Adversary {
    let (params, proposal) = synthetic();
    Adversary::new(
        Address::new([0xad; 20].map(|b| b ^ n)),
        strategy,
        u64::from(n),
        &proposal,
        (params.split_depth, params.max_depth),
    )
    .with_belief(belief)
}

fn steps(transcript: &Transcript) -> Vec<(u64, u64, Address)> {
    transcript
        .actions
        .iter()
        .filter_map(|a| match a.kind {
            simulate::ActionKind::Step { tx: Some(tx), step_index: Some(i), .. } => {
                Some((tx, i, a.actor))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn a_lie_at_the_one_step_boundary_loses() {
    let (_, proposal) = synthetic();
    // Transaction 1 (40 steps): the liar agrees up to S_b and lies from S_{b+1}.
    for b in [0, 1, 38, 39] {
        let liar =
            adversary(Strategy::OneStepBoundary, Belief::Forged { top_from: 1, lower_from: b }, 1);
        let (report, transcript) = play_synthetic(vec![liar], 100 + b);
        assert!(report.honest_won, "boundary {b}: {:?}", report.failure);
        assert_eq!(report.status, GameStatus::ChallengerWins, "the liar proposed the root");
        // The honest player stepped exactly at the boundary step of transaction 1.
        assert_eq!(steps(&transcript), vec![(1, b, HONEST)], "boundary {b}");
    }
    // A liar diverging past the trace (padding): the step is the final state's self-step.
    let tx = proposal.lower(1).unwrap().len();
    let liar =
        adversary(Strategy::OneStepBoundary, Belief::Forged { top_from: 1, lower_from: tx }, 1);
    let (report, transcript) = play_synthetic(vec![liar], 7);
    assert!(report.honest_won, "{:?}", report.failure);
    assert_eq!(steps(&transcript), vec![(1, tx, HONEST)]);
}

#[test]
fn a_claim_in_the_last_second_is_answered() {
    let liar = adversary(Strategy::LastSecond, Belief::Forged { top_from: 2, lower_from: 5 }, 2);
    let (params, _) = synthetic();
    let (report, transcript) = play_synthetic(vec![liar], 11);
    assert!(report.honest_won, "{:?}", report.failure);
    // Every liar move came in the last second of its clock.
    let liar_moves: Vec<_> = transcript
        .actions
        .iter()
        .filter(|a| {
            a.actor != HONEST
                && a.rejected.is_none()
                && matches!(a.kind, simulate::ActionKind::Move { .. })
        })
        .collect();
    assert!(!liar_moves.is_empty());
    for action in liar_moves {
        let simulate::ActionKind::Move { parent, .. } = action.kind else { unreachable!() };
        let countered = &transcript.claims[parent];
        let parent_duration = countered.parent.map_or(0, |p| transcript.claims[p].clock_duration);
        assert_eq!(
            parent_duration + action.time - countered.timestamp,
            params.max_clock_duration - 1
        );
    }
    assert!(!steps(&transcript).is_empty());
}

#[test]
fn one_wrong_commitment_in_the_honest_trace_makes_it_lose() {
    let (params, truth) = synthetic();
    // The honest trace is wrong in one place: the final state of the last transaction.
    let mut buggy = truth.clone();
    let last = truth.lower(4).unwrap().len() as usize;
    buggy.corrupt(4, last, B256::repeat_byte(0xee));
    // Against a correct opponent (true beliefs), the buggy honest player loses.
    let opponent = adversary(Strategy::LieAtDepth, Belief::Truth, 3);
    let (report, transcript) =
        play_with(&params, &buggy, &truth, &truth.verifier(), vec![opponent], 5, 3_600, true)
            .unwrap();
    assert!(!report.honest_won);
    assert_eq!(report.status, GameStatus::ChallengerWins);
    let transcript = transcript.unwrap();
    // The opponent proved the last step of transaction 4, its only wrong state.
    assert_eq!(steps(&transcript).first().map(|s| (s.0, s.1)), Some((4, last as u64 - 1)));
    // And the same game with the correct trace is won.
    let opponent = adversary(Strategy::LieAtDepth, Belief::Truth, 3);
    let (report, _) =
        play_with(&params, &truth, &truth, &truth.verifier(), vec![opponent], 5, 3_600, false)
            .unwrap();
    assert!(report.honest_won, "{:?}", report.failure);
}

#[test]
fn steps_are_checked() {
    let (params, proposal) = synthetic();
    let liar =
        adversary(Strategy::OneStepBoundary, Belief::Forged { top_from: 3, lower_from: 10 }, 4);
    let (report, transcript) = play_synthetic(vec![liar], 3);
    assert!(report.honest_won);
    // Replay the game up to the step, then try bad steps against the same claim.
    let vm = proposal.verifier();
    let mut g = Game::new(
        params,
        proposal.anchor(),
        &vm,
        transcript.root,
        transcript.proposer,
        bond(&params, 0),
        T0,
    )
    .unwrap();
    let mut step_claim = None;
    for action in &transcript.actions {
        if action.rejected.is_some() {
            continue;
        }
        match &action.kind {
            simulate::ActionKind::Move { parent, is_attack, value, .. } => {
                g.make_move(
                    *parent,
                    *value,
                    *is_attack,
                    action.actor,
                    bond(&params, g.claim(*parent).unwrap().depth() + 1),
                    action.time,
                )
                .unwrap();
            }
            simulate::ActionKind::Step { claim, is_attack, .. } => {
                step_claim = Some((*claim, *is_attack, action.time));
                break;
            }
            _ => {}
        }
    }
    let (claim, is_attack, time) = step_claim.unwrap();
    let tx = proposal.lower(3).unwrap();
    // The right witness counters; the wrong one is rejected by the verifier; the other
    // direction does not counter.
    let good = tx.step_witness(10).unwrap();
    assert!(g.check_step(claim, is_attack, &good, time).is_ok());
    let wrong = tx.step_witness(11).unwrap();
    assert!(matches!(
        g.check_step(claim, is_attack, &wrong, time),
        Err(GameError::InvalidStep { .. })
    ));
    assert!(matches!(
        g.check_step(claim, !is_attack, &wrong, time),
        Err(GameError::ValidStep { .. }) | Err(GameError::InvalidStep { .. })
    ));
    assert!(matches!(g.check_step(0, true, &good, time), Err(GameError::NotAtMaxDepth { .. })));
    g.step(claim, is_attack, &good, HONEST, time).unwrap();
    assert!(matches!(
        g.step(claim, is_attack, &good, BOB, time),
        Err(GameError::DuplicateStep { .. })
    ));
}

// ---- many games ---------------------------------------------------------------------------

#[test]
fn honest_wins_ten_thousand_synthetic_games() {
    let (params, proposal) = synthetic();
    let vm = proposal.verifier();
    let config = SimConfig { params, strategies: Strategy::ALL.to_vec(), seed: 1, max_tick: 3_600 };
    let summary = run(&config, &proposal, &vm, 0, 10_000).unwrap();
    assert_eq!(summary.honest_wins, 10_000, "{}\n{:#?}", summary.line(), summary.failures);
    assert!(summary.steps > 5_000, "{}", summary.line());
}

#[test]
fn honest_wins_every_strategy_alone_and_in_every_pair() {
    let (params, proposal) = synthetic();
    let vm = proposal.verifier();
    let mut seed = 0;
    for a in Strategy::ALL {
        for b in Strategy::ALL {
            for _ in 0..5 {
                seed += 1;
                let lineup = if a == b { vec![a] } else { vec![a, b] };
                let (report, _) =
                    play(&params, &proposal, &vm, &lineup, seed, 3_600, false).unwrap();
                assert!(report.honest_won, "{lineup:?} seed {seed}: {:?}", report.failure);
            }
        }
    }
}

#[test]
fn honest_wins_hundreds_of_real_games() {
    let Some((params, proposal)) = real() else { return };
    let vm = proposal.verifier();
    let config =
        SimConfig { params: *params, strategies: Strategy::ALL.to_vec(), seed: 7, max_tick: 3_600 };
    let summary = run(&config, proposal, &vm, 0, 300).unwrap();
    assert_eq!(summary.honest_wins, 300, "{}\n{:#?}", summary.line(), summary.failures);
    assert!(summary.steps > 100, "{}", summary.line());
}

#[test]
fn real_boundary_steps_execute() {
    let Some((params, proposal)) = real() else { return };
    let vm = proposal.verifier();
    let depths = (params.split_depth, params.max_depth);
    for tx in 0..proposal.len() {
        let n = proposal.lower(tx).unwrap().len();
        // The first step, a middle one, the halting step and the top frame's exit.
        for b in [0, n / 2, n - 2, n - 1] {
            let liar = Adversary::new(
                Address::repeat_byte(0xad),
                Strategy::OneStepBoundary,
                b,
                proposal,
                depths,
            )
            .with_belief(Belief::Forged { top_from: tx, lower_from: b });
            let (report, transcript) =
                play_with(params, proposal, proposal, &vm, vec![liar], b, 3_600, true).unwrap();
            assert!(report.honest_won, "tx {tx} step {b}: {:?}", report.failure);
            let transcript = transcript.unwrap();
            assert_eq!(
                steps(&transcript),
                vec![(tx, b, HONEST)],
                "tx {tx} step {b}: {}",
                serde_json::to_string_pretty(&transcript.actions).unwrap()
            );
        }
    }
}

#[test]
fn real_levels_link_and_every_step_executes() {
    let Some((_, proposal)) = real() else { return };
    let vm = proposal.verifier();
    let mut agreed = proposal.anchor();
    for k in 0..proposal.len() {
        let tx = proposal.lower(k).unwrap();
        assert!(tx.len() > 300, "transaction {k}: {} steps", tx.len());
        assert_eq!(vm.lower_prestate(agreed, k).unwrap(), tx.commitment(0).unwrap());
        let stride = (tx.len() / 200).max(1);
        for i in
            (0..tx.len()).step_by(stride as usize).chain([tx.len() - 2, tx.len() - 1, tx.len()])
        {
            let post = vm.step(tx.commitment(i).unwrap(), &tx.step_witness(i).unwrap()).unwrap();
            assert_eq!(post, tx.commitment((i + 1).min(tx.len())).unwrap(), "tx {k} step {i}");
        }
        agreed = proposal.state_after(k).unwrap();
    }
    assert_eq!(vm.lower_prestate(agreed, proposal.len()).unwrap(), agreed);
}

// ---- transcripts ----------------------------------------------------------------------

fn small() -> (GameParams, SyntheticProposal) {
    (GameParams::new(6, 2).unwrap(), SyntheticProposal::new(9, &[5, 7, 3]))
}

fn snapshot(lineup: Vec<Adversary>, seed: u64) -> Transcript {
    let (params, proposal) = small();
    let (report, transcript) =
        play_with(&params, &proposal, &proposal, &proposal.verifier(), lineup, seed, 3_600, true)
            .unwrap();
    assert!(report.honest_won, "{:?}", report.failure);
    transcript.unwrap()
}

fn small_adversary(strategy: Strategy, belief: Belief, n: u8, seed: u64) -> Adversary {
    let (params, proposal) = small();
    Adversary::new(
        Address::repeat_byte(0xa0 + n),
        strategy,
        seed,
        &proposal,
        (params.split_depth, params.max_depth),
    )
    .with_belief(belief)
}

#[test]
fn transcript_wrong_root_silent() {
    // A wrong root whose proposer never defends it: the honest attack stands by the clock.
    let t = snapshot(vec![small_adversary(Strategy::WrongRoot, Belief::Everywhere, 1, 1)], 1);
    insta::assert_json_snapshot!(t);
}

#[test]
fn transcript_consistent_liar_to_the_step() {
    // A liar proposing a root that diverges in transaction 1 after step 3: the bisection
    // crosses the split and ends in the honest player's step 3 of transaction 1.
    let t = snapshot(
        vec![small_adversary(
            Strategy::OneStepBoundary,
            Belief::Forged { top_from: 1, lower_from: 3 },
            1,
            2,
        )],
        2,
    );
    insta::assert_json_snapshot!(t);
}

#[test]
fn transcript_honest_root_against_a_freeloader_and_a_lower_liar() {
    const SEED: u64 = 5;
    // An honest root, attacked by a player agreeing at the top and lying below the split,
    // with a freeloader racing the honest player to its moves.
    let t = snapshot(
        vec![
            small_adversary(
                Strategy::TopAgreeLowerLie,
                Belief::LowerOnly { lower_from: 2 },
                1,
                SEED,
            ),
            small_adversary(Strategy::Freeloader, Belief::Truth, 2, SEED),
        ],
        SEED,
    );
    insta::assert_json_snapshot!(t);
}

// ---- hostile input ------------------------------------------------------------------------

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// Any sequence of actions — unknown claims, wrong bonds, time running backwards, steps
    /// with arbitrary witnesses, resolutions in any order — is accepted or rejected with a
    /// typed error, never a panic; and bonds are conserved: credits paid plus unpaid never
    /// exceed the bonds posted.
    #[test]
    fn hostile_actions_never_panic(
        actions in proptest::collection::vec(
            (0u8..6, 0usize..24, proptest::prelude::any::<u8>(), proptest::prelude::any::<bool>(), 0u64..400_000, 0u8..3),
            1..120,
        ),
    ) {
        let (params, proposal) = synthetic();
        let vm = proposal.verifier();
        let mut g = Game::new(params, proposal.anchor(), &vm, B256::repeat_byte(1), ALICE, bond(&params, 0), T0).unwrap();
        let mut now = T0;
        let mut posted = bond(&params, 0);
        let mut paid = 0u128;
        for (kind, index, byte, flag, dt, bond_kind) in actions {
            now = if flag && dt % 7 == 0 { now.saturating_sub(dt) } else { now + dt };
            let who = if byte % 2 == 0 { ALICE } else { BOB };
            match kind {
                0 | 1 => {
                    let depth = g.claim(index).map_or(1, |c| c.depth() + 1).min(params.max_depth);
                    let paid_bond = match bond_kind { 0 => bond(&params, depth), 1 => 0, _ => u128::MAX };
                    if g.make_move(index, B256::repeat_byte(byte), kind == 0, who, paid_bond, now).is_ok() {
                        posted += paid_bond;
                    }
                }
                2 => {
                    let tx = proposal.lower(u64::from(byte) % 5).unwrap();
                    let witness = tx.step_witness(u64::from(byte) % (tx.len() + 1)).unwrap();
                    let _ = g.step(index, flag, &witness, who, now);
                }
                3 => { let _ = g.resolve_claim(index, now); }
                4 => { let _ = g.resolve(now); }
                _ => { paid += g.claim_credit(who).unwrap_or(0); }
            }
            for (i, claim) in g.claims().iter().enumerate() {
                proptest::prop_assert!(claim.parent.is_none_or(|p| p < i));
            }
            let unpaid: u128 = g.credits().values().sum();
            proptest::prop_assert!(paid + unpaid <= posted);
        }
    }
}

//! The honest player (spec `game.md` §8): a pure function from the game's claims, the
//! player's own traces and the time to the actions to take now, like op-challenger's solver.
//!
//! It supports the root if the root is correct and otherwise attacks it; it counters every
//! claim whose parent it supports — attacking it when its value is wrong, defending it when
//! right (the claim still counters a supported claim) — and supports exactly the claims that
//! are its own responses, whoever made them (freeloaders included). At the maximum depth it
//! steps. It never counters a claim it supports, so every supported claim stands, whatever
//! the number of adversaries. It resolves every subgame whose clock has run out, bottom-up,
//! resolves the game and claims its credit.

use super::{
    Game, GameResult, GameStatus, Move, Position, StepTrace, StepVerifier, TopTrace,
    model::lower_index, padded_commitment, padded_state_after, padded_witness,
};
use alloy_primitives::{Address, B256};

/// What a player believes about each claim of a game.
#[derive(Clone, Debug)]
pub struct View {
    /// The disputed transaction of each claim below the split (from the game's structure).
    pub txs: Vec<Option<u64>>,
    /// Whether the claim's value is the player's value at its position.
    pub agree: Vec<bool>,
    /// Whether the player supports the claim (the correct root, or its own response).
    pub supported: Vec<bool>,
    /// Whether the player must counter the claim (the incorrect root, or a child of a
    /// supported claim).
    pub target: Vec<bool>,
}

/// The disputed transaction of every claim below the split (§3.3), in one pass: a lower root
/// attacking the split claim at `k` disputes `k`, one defending it `k + 1`; deeper claims
/// inherit their parent's.
pub fn claim_txs<V: StepVerifier>(game: &Game<V>) -> Vec<Option<u64>> {
    let split = game.params().split_depth;
    let mut txs: Vec<Option<u64>> = Vec::with_capacity(game.claims().len());
    for claim in game.claims() {
        let tx = match claim.parent {
            Some(parent) if claim.depth() == split + 1 => {
                let k = game.claims()[parent].position.index_at_depth() as u64;
                let attack = claim.position.parent() == Some(game.claims()[parent].position);
                Some(if attack { k } else { k + 1 })
            }
            Some(parent) if claim.depth() > split + 1 => txs[parent],
            _ => None,
        };
        txs.push(tx);
    }
    txs
}

/// The value a player whose traces are `trace` gives position `position` (§3): the
/// transaction-level state `C_k` at or above the split, `S_{t+1}` of the disputed
/// transaction `tx` below it (the lower root's `S_n`, equal to `C_tx`).
///
/// # Errors
///
/// [`super::GameError::Trace`] when the trace cannot answer.
pub fn value_at<T: TopTrace>(
    trace: &T,
    split_depth: u8,
    max_depth: u8,
    position: Position,
    tx: Option<u64>,
) -> GameResult<B256> {
    let result = if position.depth() <= split_depth {
        let k = position.trace_index(split_depth).map_or(u64::MAX, |k| k as u64);
        padded_state_after(trace, k)
    } else {
        let t = position.lower_trace_index(split_depth, max_depth).map_or(u64::MAX, |t| t as u64);
        padded_commitment(trace, tx.unwrap_or(u64::MAX), t.saturating_add(1))
    };
    result.map_err(super::GameError::Trace)
}

/// The disputed transaction of a move from `parent` to `position` (§3.3).
pub fn move_tx<V: StepVerifier>(
    game: &Game<V>,
    txs: &[Option<u64>],
    parent: usize,
    position: Position,
) -> Option<u64> {
    let split = game.params().split_depth;
    if position.depth() == split + 1 {
        let parent_position = game.claims()[parent].position;
        let k = parent_position.index_at_depth() as u64;
        Some(if position.parent() == Some(parent_position) { k } else { k + 1 })
    } else if position.depth() > split + 1 {
        txs[parent]
    } else {
        None
    }
}

impl View {
    /// Builds the view of a player whose traces are `trace`.
    ///
    /// # Errors
    ///
    /// [`super::GameError::Trace`] when the trace cannot answer.
    pub fn new<V: StepVerifier, T: TopTrace>(game: &Game<V>, trace: &T) -> GameResult<Self> {
        let params = game.params();
        let claims = game.claims();
        let txs = claim_txs(game);
        let mut agree = Vec::with_capacity(claims.len());
        let mut supported = Vec::with_capacity(claims.len());
        let mut target = Vec::with_capacity(claims.len());
        for (i, claim) in claims.iter().enumerate() {
            let value =
                value_at(trace, params.split_depth, params.max_depth, claim.position, txs[i])?;
            let agrees = value == claim.value;
            agree.push(agrees);
            match claim.parent {
                None => {
                    supported.push(agrees);
                    target.push(!agrees);
                }
                Some(p) => {
                    target.push(supported[p]);
                    let response = response_position(game, p, agree[p]);
                    supported.push(target[p] && agrees && response == Some(claim.position));
                }
            }
        }
        Ok(Self { txs, agree, supported, target })
    }
}

/// Where the honest player counters claim `index`: its defence position when it agrees with
/// the claim's value, else its attack position; `None` when it agrees with a claim that
/// cannot be defended (the root, a lower root: §4.2).
fn response_position<V: StepVerifier>(
    game: &Game<V>,
    index: usize,
    agree: bool,
) -> Option<Position> {
    let claim = &game.claims()[index];
    if agree && (claim.parent.is_none() || claim.depth() == game.params().split_depth + 1) {
        return None;
    }
    claim.position.move_to(!agree)
}

/// The honest player's actions at `now` (seconds) as `me`, with its traces `trace`: moves
/// and steps against every claim it must counter and has not yet answered, then every
/// subgame resolution now possible (bottom-up), the game's resolution and its credit. Each
/// action is checked against the game first, so every returned action is accepted when
/// applied in order at `now`.
///
/// # Errors
///
/// [`super::GameError::Trace`] when the trace cannot answer.
pub fn honest_moves<V, T>(
    game: &Game<V>,
    trace: &T,
    me: Address,
    now: u64,
) -> GameResult<Vec<Move<V::Witness>>>
where
    V: StepVerifier,
    T: TopTrace,
    T::Lower: StepTrace<Witness = V::Witness>,
{
    let mut out = Vec::new();
    if game.status() != GameStatus::InProgress {
        if game.credit(me) > 0 {
            out.push(Move::ClaimCredit { recipient: me });
        }
        return Ok(out);
    }
    let view = View::new(game, trace)?;
    let params = game.params();
    for (i, claim) in game.claims().iter().enumerate() {
        if !view.target[i] || game.is_resolved(i) {
            continue;
        }
        if claim.depth() == params.max_depth {
            if claim.countered_by.is_some() {
                continue;
            }
            let is_attack = !view.agree[i];
            let t = lower_index(params, claim.position);
            let index = if is_attack { t } else { t.saturating_add(1) };
            let tx = view.txs[i].unwrap_or(u64::MAX);
            let witness = padded_witness(trace, tx, index).map_err(super::GameError::Trace)?;
            match game.check_step(i, is_attack, &witness, now) {
                Ok(_) => out.push(Move::Step { claim: i, is_attack, witness }),
                Err(e) => tracing::debug!(target: "refute::game::honest", claim = i, %e, "no step"),
            }
            continue;
        }
        if game.children(i).iter().any(|&j| view.supported[j]) {
            continue; // answered already, by us or a freeloader
        }
        let Some(position) = response_position(game, i, view.agree[i]) else {
            tracing::debug!(target: "refute::game::honest", claim = i, "agreed claim cannot be defended");
            continue;
        };
        let tx = move_tx(game, &view.txs, i, position);
        let value = value_at(trace, params.split_depth, params.max_depth, position, tx)?;
        let is_attack = !view.agree[i];
        let bond = params.bond(position.depth())?;
        match game.check_move(i, value, is_attack, me, bond, now) {
            Ok(_) if is_attack => out.push(Move::Attack { parent: i, value }),
            Ok(_) => out.push(Move::Defend { parent: i, value }),
            Err(e) => tracing::debug!(target: "refute::game::honest", claim = i, %e, "no move"),
        }
    }
    resolutions(game, now, &mut out);
    Ok(out)
}

/// Every subgame resolvable at `now`, children before parents, then the game itself.
pub fn resolutions<V: StepVerifier>(game: &Game<V>, now: u64, out: &mut Vec<Move<V::Witness>>) {
    let n = game.claims().len();
    let mut done: Vec<bool> = (0..n).map(|i| game.is_resolved(i)).collect();
    let max = game.params().max_clock_duration;
    for i in (0..n).rev() {
        if done[i] {
            continue;
        }
        let expired = game.challenger_duration(i, now).is_ok_and(|d| d >= max);
        if expired && game.children(i).iter().all(|&c| done[c]) {
            done[i] = true;
            out.push(Move::ResolveClaim { claim: i });
        }
    }
    if done.first() == Some(&true) {
        out.push(Move::Resolve);
    }
}

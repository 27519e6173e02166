//! Adversaries for testing the honest player (spec `game.md` §8.2). Each is a player with
//! its own (wrong) beliefs and a strategy deciding which claims it counters and when; they
//! share the honest player's rules of play but not its values. None of them can make the
//! honest side lose: the simulator checks it.
//!
//! Every adversary counters the claims that counter its team (the root, if its team did not
//! make it), at most once each; values come from its beliefs. Strategies:
//!
//! | name | behaviour |
//! | --- | --- |
//! | `wrong-root` | proposes a wrong root and never moves again |
//! | `lie-at-depth` | true values except at one random depth |
//! | `lie-everywhere` | a wrong value at every position |
//! | `top-agree-lower-lie` | true transaction-level values, a lower trace diverging at a random step |
//! | `random` | random moves and steps on random claims, random true or wrong values |
//! | `colluding` | two liars sharing one consistent wrong trace, splitting the work |
//! | `silent` | a consistent liar that makes one move (or the root) and then lets its clocks run out |
//! | `last-second` | a consistent liar that moves only in the last second of its clock |
//! | `one-step-boundary` | a consistent liar whose trace diverges at the first or last step of a transaction |
//! | `freeloader` | copies the honest player's moves, racing it to make them first |

use super::{
    Game, GameResult, GameStatus, Move, Position, StepTrace, StepVerifier, TopTrace,
    honest::{self, claim_txs, move_tx, value_at},
    model::lower_index,
    padded_state_after, padded_witness,
};
use alloy_primitives::{Address, B256, keccak256};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::{collections::HashSet, fmt, str::FromStr};

/// An adversary's strategy (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Strategy {
    /// Proposes a wrong root, then nothing.
    WrongRoot,
    /// Lies at one random depth.
    LieAtDepth,
    /// Lies at every position.
    LieEverywhere,
    /// Agrees at the transaction level, lies below the split.
    TopAgreeLowerLie,
    /// Random moves.
    Random,
    /// Two liars supporting each other.
    Colluding,
    /// One move, then silence.
    Silent,
    /// Moves only in the last second of its clock.
    LastSecond,
    /// Diverges at the first or last step of a transaction.
    OneStepBoundary,
    /// Front-runs the honest player's moves.
    Freeloader,
}

impl Strategy {
    /// Every strategy.
    pub const ALL: [Self; 10] = [
        Self::WrongRoot,
        Self::LieAtDepth,
        Self::LieEverywhere,
        Self::TopAgreeLowerLie,
        Self::Random,
        Self::Colluding,
        Self::Silent,
        Self::LastSecond,
        Self::OneStepBoundary,
        Self::Freeloader,
    ];

    /// The strategy's command-line name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::WrongRoot => "wrong-root",
            Self::LieAtDepth => "lie-at-depth",
            Self::LieEverywhere => "lie-everywhere",
            Self::TopAgreeLowerLie => "top-agree-lower-lie",
            Self::Random => "random",
            Self::Colluding => "colluding",
            Self::Silent => "silent",
            Self::LastSecond => "last-second",
            Self::OneStepBoundary => "one-step-boundary",
            Self::Freeloader => "freeloader",
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A strategy name that is not one of [`Strategy::ALL`].
#[derive(Debug, thiserror::Error)]
#[error(
    "unknown adversary `{0}`: expected one of wrong-root, lie-at-depth, lie-everywhere, top-agree-lower-lie, random, colluding, silent, last-second, one-step-boundary, freeloader"
)]
pub struct UnknownStrategy(pub String);

impl FromStr for Strategy {
    type Err = UnknownStrategy;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|k| k.name() == s).ok_or_else(|| UnknownStrategy(s.to_owned()))
    }
}

/// What an adversary believes the traces are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Belief {
    /// The truth.
    Truth,
    /// A wrong value at every position.
    Everywhere,
    /// The truth except a wrong value at every position of this depth.
    AtDepth(u8),
    /// A consistent wrong trace: transaction-level states from `top_from` on are wrong;
    /// transaction `top_from`'s steps agree up to `S_lower_from` and differ after.
    Forged {
        /// The first wrong transaction-level state.
        top_from: u64,
        /// The last agreed state index of the diverging transaction.
        lower_from: u64,
    },
    /// True transaction-level states; every transaction's steps agree up to `S_lower_from`
    /// and differ after (the final state included).
    LowerOnly {
        /// The last agreed state index.
        lower_from: u64,
    },
}

/// A wrong value derived from `salt` and a label.
fn forge(salt: B256, label: &[u8], a: u64, b: u64) -> B256 {
    keccak256([salt.as_slice(), label, &a.to_be_bytes(), &b.to_be_bytes()].concat())
}

impl Belief {
    /// The believed value at `position` of a game with these depths, for a claim disputing
    /// transaction `tx` (below the split).
    ///
    /// # Errors
    ///
    /// [`super::GameError::Trace`] when the true trace cannot answer.
    pub fn value<T: TopTrace>(
        &self,
        truth: &T,
        salt: B256,
        (split_depth, max_depth): (u8, u8),
        position: Position,
        tx: Option<u64>,
    ) -> GameResult<B256> {
        let wrong = || forge(salt, b"position", position.generalized_index() as u64, 0);
        let truth_value = || value_at(truth, split_depth, max_depth, position, tx);
        let top = |k: u64, top_from: u64| -> GameResult<B256> {
            if k >= top_from {
                Ok(forge(salt, b"top", k, 0))
            } else {
                padded_state_after(truth, k).map_err(super::GameError::Trace)
            }
        };
        match *self {
            Self::Truth => truth_value(),
            Self::Everywhere => Ok(wrong()),
            Self::AtDepth(depth) => {
                if position.depth() == depth {
                    Ok(wrong())
                } else {
                    truth_value()
                }
            }
            Self::Forged { top_from, lower_from } => {
                if position.depth() <= split_depth {
                    let k = position.trace_index(split_depth).map_or(u64::MAX, |k| k as u64);
                    return top(k, top_from);
                }
                let tx = tx.unwrap_or(u64::MAX);
                let i = position
                    .lower_trace_index(split_depth, max_depth)
                    .map_or(u64::MAX, |t| t as u64)
                    .saturating_add(1);
                let n = lower_len(truth, tx);
                if tx < top_from || (tx == top_from && i <= lower_from) {
                    truth_value()
                } else if i >= n {
                    top(tx, top_from)
                } else {
                    Ok(forge(salt, b"lower", tx, i))
                }
            }
            Self::LowerOnly { lower_from } => {
                if position.depth() <= split_depth {
                    return truth_value();
                }
                let i = position
                    .lower_trace_index(split_depth, max_depth)
                    .map_or(u64::MAX, |t| t as u64)
                    .saturating_add(1);
                if i <= lower_from {
                    truth_value()
                } else {
                    Ok(forge(salt, b"lower", tx.unwrap_or(u64::MAX), i))
                }
            }
        }
    }
}

/// The step count of transaction `tx` (0 past the proposal: padding).
fn lower_len<T: TopTrace>(truth: &T, tx: u64) -> u64 {
    if tx >= truth.len() { 0 } else { truth.lower(tx).map_or(0, StepTrace::len) }
}

/// One adversary: an address, a strategy, its beliefs, its team (itself and colluders) and
/// its own seeded randomness.
#[derive(Clone, Debug)]
pub struct Adversary {
    /// Its address.
    pub address: Address,
    /// Its strategy.
    pub strategy: Strategy,
    /// Its beliefs.
    pub belief: Belief,
    /// Addresses it supports (itself first).
    pub team: Vec<Address>,
    salt: B256,
    rng: ChaCha8Rng,
    acted: HashSet<usize>,
    moves_made: u32,
}

impl Adversary {
    /// An adversary with `strategy` at `address`, its beliefs drawn with `seed` for a game
    /// with these depths over `truth`.
    pub fn new<T: TopTrace>(
        address: Address,
        strategy: Strategy,
        seed: u64,
        truth: &T,
        (split_depth, max_depth): (u8, u8),
    ) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let top_width = 1u64 << split_depth.min(63);
        let proposal = truth.len().max(1);
        let forged = |rng: &mut ChaCha8Rng, boundary: bool| {
            let top_from = rng.random_range(0..top_width.min(proposal + 1));
            let n = lower_len(truth, top_from);
            let lower_from = if boundary {
                if rng.random_bool(0.5) { 0 } else { n.saturating_sub(1) }
            } else {
                rng.random_range(0..n.max(1))
            };
            Belief::Forged { top_from, lower_from }
        };
        let belief = match strategy {
            Strategy::WrongRoot | Strategy::LieEverywhere => Belief::Everywhere,
            Strategy::LieAtDepth => Belief::AtDepth(rng.random_range(0..=max_depth)),
            Strategy::TopAgreeLowerLie => {
                let longest = (0..truth.len()).map(|k| lower_len(truth, k)).max().unwrap_or(0);
                Belief::LowerOnly { lower_from: rng.random_range(0..longest.max(1)) }
            }
            Strategy::Random | Strategy::Freeloader => Belief::Truth,
            Strategy::Colluding | Strategy::Silent | Strategy::LastSecond => {
                forged(&mut rng, false)
            }
            Strategy::OneStepBoundary => forged(&mut rng, true),
        };
        let salt = keccak256([address.as_slice(), &seed.to_be_bytes()].concat());
        Self {
            address,
            strategy,
            belief,
            team: vec![address],
            salt,
            rng,
            acted: HashSet::new(),
            moves_made: 0,
        }
    }

    /// The same adversary with `belief` instead of the drawn one.
    #[must_use]
    pub const fn with_belief(mut self, belief: Belief) -> Self {
        self.belief = belief;
        self
    }

    /// The root this adversary would propose, if it believes the true root is wrong.
    ///
    /// # Errors
    ///
    /// [`super::GameError::Trace`] when the true trace cannot answer.
    pub fn root<T: TopTrace>(&self, truth: &T, depths: (u8, u8)) -> GameResult<Option<B256>> {
        let value = self.belief.value(truth, self.salt, depths, Position::ROOT, None)?;
        let true_root = value_at(truth, depths.0, depths.1, Position::ROOT, None)?;
        Ok((value != true_root
            && !matches!(self.strategy, Strategy::Random | Strategy::Freeloader))
        .then_some(value))
    }

    /// Shares beliefs with `other` and supports its claims (collusion).
    pub fn collude_with(&mut self, other: &mut Self) {
        other.belief = self.belief;
        other.salt = self.salt;
        self.team.push(other.address);
        other.team.push(self.address);
    }

    /// The adversary's actions at `now` (seconds). `honest` is the honest player's address
    /// (only the freeloader uses it, to copy its moves).
    ///
    /// # Errors
    ///
    /// [`super::GameError::Trace`] when the true trace cannot answer.
    pub fn moves<V, T>(
        &mut self,
        game: &Game<V>,
        truth: &T,
        now: u64,
    ) -> GameResult<Vec<Move<V::Witness>>>
    where
        V: StepVerifier,
        T: TopTrace,
        T::Lower: StepTrace<Witness = V::Witness>,
    {
        if game.status() != GameStatus::InProgress {
            return Ok(Vec::new());
        }
        match self.strategy {
            Strategy::WrongRoot => Ok(Vec::new()),
            Strategy::Silent if self.moves_made > 0 => Ok(Vec::new()),
            Strategy::Random => self.random_moves(game, truth, now),
            Strategy::Freeloader => {
                let copied = honest::honest_moves(game, truth, self.address, now)?;
                let mut out: Vec<_> = copied
                    .into_iter()
                    .filter(|m| matches!(m, Move::Attack { .. } | Move::Defend { .. }))
                    .collect();
                out.retain(|_| self.rng.random_bool(0.5));
                Ok(out)
            }
            _ => self.counter_moves(game, truth, now),
        }
    }

    fn counter_moves<V, T>(
        &mut self,
        game: &Game<V>,
        truth: &T,
        now: u64,
    ) -> GameResult<Vec<Move<V::Witness>>>
    where
        V: StepVerifier,
        T: TopTrace,
        T::Lower: StepTrace<Witness = V::Witness>,
    {
        let params = *game.params();
        let depths = (params.split_depth, params.max_depth);
        let claims = game.claims();
        let txs = claim_txs(game);
        let mut out = Vec::new();
        for (i, claim) in claims.iter().enumerate() {
            if self.acted.contains(&i) || self.team.contains(&claim.claimant) {
                continue;
            }
            let countering_us =
                claim.parent.is_none_or(|p| self.team.contains(&claims[p].claimant));
            if !countering_us || game.is_resolved(i) {
                continue;
            }
            // Colluders split the work: one member per claim.
            let mut team = self.team.clone();
            team.sort();
            if team[i % team.len()] != self.address {
                continue;
            }
            let Ok(elapsed) = game.challenger_duration(i, now) else { continue };
            if elapsed >= params.max_clock_duration {
                continue;
            }
            if self.strategy == Strategy::LastSecond && elapsed + 1 < params.max_clock_duration {
                continue;
            }
            let believed = self.belief.value(truth, self.salt, depths, claim.position, txs[i])?;
            let agree = believed == claim.value;
            self.acted.insert(i);
            if claim.depth() == params.max_depth {
                if claim.countered_by.is_some() {
                    continue;
                }
                // A liar has no valid witness for its lie: it tries the true one.
                let t = lower_index(&params, claim.position);
                let index = if agree { t.saturating_add(1) } else { t };
                let witness = padded_witness(truth, txs[i].unwrap_or(u64::MAX), index)
                    .map_err(super::GameError::Trace)?;
                out.push(Move::Step { claim: i, is_attack: !agree, witness });
                self.moves_made += 1;
                continue;
            }
            let cannot_defend = claim.parent.is_none() || claim.depth() == params.split_depth + 1;
            let is_attack = !agree || cannot_defend;
            let Some(position) = claim.position.move_to(is_attack) else { continue };
            let tx = move_tx(game, &txs, i, position);
            let mut value = self.belief.value(truth, self.salt, depths, position, tx)?;
            if position.depth() == params.split_depth + 1 && is_attack && value == claim.value {
                value = forge(self.salt, b"split", i as u64, 0); // §3.3 forbids restating it
            }
            out.push(if is_attack {
                Move::Attack { parent: i, value }
            } else {
                Move::Defend { parent: i, value }
            });
            self.moves_made += 1;
            if self.strategy == Strategy::Silent {
                break;
            }
        }
        Ok(out)
    }

    fn random_moves<V, T>(
        &mut self,
        game: &Game<V>,
        truth: &T,
        now: u64,
    ) -> GameResult<Vec<Move<V::Witness>>>
    where
        V: StepVerifier,
        T: TopTrace,
        T::Lower: StepTrace<Witness = V::Witness>,
    {
        const MAX_RANDOM_MOVES: u32 = 24;
        if self.moves_made >= MAX_RANDOM_MOVES || !self.rng.random_bool(0.3) {
            return Ok(Vec::new());
        }
        let params = *game.params();
        let claims = game.claims();
        let i = self.rng.random_range(0..claims.len());
        let claim = claims[i];
        if game.challenger_duration(i, now).is_ok_and(|d| d >= params.max_clock_duration) {
            return Ok(Vec::new());
        }
        let txs = claim_txs(game);
        self.moves_made += 1;
        let is_attack = self.rng.random_bool(0.6);
        if claim.depth() == params.max_depth {
            let t = lower_index(&params, claim.position);
            let index = if is_attack { t } else { t.saturating_add(1) };
            let witness = padded_witness(truth, txs[i].unwrap_or(u64::MAX), index)
                .map_err(super::GameError::Trace)?;
            return Ok(vec![Move::Step { claim: i, is_attack, witness }]);
        }
        let Some(position) = claim.position.move_to(is_attack) else { return Ok(Vec::new()) };
        let value = if self.rng.random_bool(0.5) {
            value_at(
                truth,
                params.split_depth,
                params.max_depth,
                position,
                move_tx(game, &txs, i, position),
            )?
        } else {
            B256::from(self.rng.random::<[u8; 32]>())
        };
        Ok(vec![if is_attack {
            Move::Attack { parent: i, value }
        } else {
            Move::Defend { parent: i, value }
        }])
    }
}

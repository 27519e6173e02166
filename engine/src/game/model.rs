//! The game itself: claims, moves, steps, resolution and credits, exactly as the L1 contract
//! runs them (spec `game.md` §2–§7). Time is an input (`now`, seconds): the model never reads
//! a clock.

use super::{Clock, GameError, GameParams, GameResult, Position, StepVerifier};
use alloy_primitives::{Address, B256};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

/// One claim of the game (spec §2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claim {
    /// The claim this one counters; `None` for the root.
    pub parent: Option<usize>,
    /// Who countered it: set by a successful step (§5.3), or at resolution to the claimant
    /// of the left-most uncountered child (§6.1).
    pub countered_by: Option<Address>,
    /// Who made it.
    pub claimant: Address,
    /// The bond posted with it, in wei (§4.4).
    pub bond: u128,
    /// The state commitment it claims.
    pub value: B256,
    /// Its position in the game tree (§2.2).
    pub position: Position,
    /// Its chess clock (§4.3).
    pub clock: Clock,
}

impl Claim {
    /// The claim's depth.
    pub const fn depth(&self) -> u8 {
        self.position.depth()
    }
}

/// The state of a game (§6.3). Encoded on L1 as `uint8`: 0, 1, 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[repr(u8)]
pub enum GameStatus {
    /// Moves, steps and claim resolutions are accepted.
    InProgress = 0,
    /// The root claim was countered: the proposal is rejected.
    ChallengerWins = 1,
    /// The root claim stands: the proposal is accepted.
    DefenderWins = 2,
}

/// An action on a game, as a player submits it (one L1 transaction each). Attacks and
/// defences pay the exact bond of their depth ([`GameParams::bond`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Move<W> {
    /// Counter claim `parent` at its attack position (§4.1).
    Attack {
        /// The claim countered.
        parent: usize,
        /// The new claim's value.
        value: B256,
    },
    /// Counter claim `parent` at its defence position (§4.1).
    Defend {
        /// The claim countered.
        parent: usize,
        /// The new claim's value.
        value: B256,
    },
    /// Counter the max-depth claim `claim` by one step (§5).
    Step {
        /// The claim countered.
        claim: usize,
        /// Attack (the step into the claim) or defence (the step out of it).
        is_attack: bool,
        /// The step's witness.
        witness: W,
    },
    /// Resolve the subgame rooted at `claim` (§6.1).
    ResolveClaim {
        /// The subgame's root.
        claim: usize,
    },
    /// Resolve the game once the root's subgame is resolved (§6.3).
    Resolve,
    /// Pay out `recipient`'s credit (§7).
    ClaimCredit {
        /// Whose credit.
        recipient: Address,
    },
}

/// What an accepted action did, for transcripts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    /// A new claim, at this index.
    Claim(usize),
    /// A successful step.
    Step(StepOutcome),
    /// A subgame resolved: its root's bond credited to `recipient`.
    Resolved {
        /// The subgame's root.
        claim: usize,
        /// Who was credited.
        recipient: Address,
        /// The bond, in wei.
        amount: u128,
    },
    /// The game resolved.
    GameResolved(GameStatus),
    /// A credit paid out, in wei.
    Credit(u128),
}

/// A step the game accepted (or would accept): which transaction and step index it ran, and
/// its pre- and post-state commitments (§5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepOutcome {
    /// The claim countered.
    pub claim: usize,
    /// Attack or defence step.
    pub is_attack: bool,
    /// The disputed transaction's index.
    pub tx: u64,
    /// The step index within it (pre-state `S_i`).
    pub step_index: u64,
    /// The pre-state commitment.
    pub pre: B256,
    /// The post-state the verifier computed.
    pub post: B256,
}

/// The transaction a lower subgame disputes and the agreed transaction-level state before it
/// (§3.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LowerContext {
    /// The lower subgame's root claim (depth split + 1).
    pub root: usize,
    /// The disputed transaction's index `k`.
    pub tx: u64,
    /// The agreed state before it: `C_{k-1}` as claimed in the game, or the anchor.
    pub agreed: B256,
}

/// A game in play (spec `game.md`): the claims, their subgames, resolution and credits, with
/// `V` the contract's step verifier.
#[derive(Clone, Debug)]
pub struct Game<V> {
    params: GameParams,
    anchor: B256,
    vm: V,
    claims: Vec<Claim>,
    children: Vec<Vec<usize>>,
    seen: HashSet<(usize, u128, B256)>,
    resolved: Vec<bool>,
    credits: BTreeMap<Address, u128>,
    status: GameStatus,
    created_at: u64,
    resolved_at: Option<u64>,
}

impl<V: StepVerifier> Game<V> {
    /// Creates a game for the proposal `root` (§2.1): the root claim at position 1, made by
    /// `proposer` at `now` (seconds) with clock duration 0, bonded with `bond` wei.
    ///
    /// # Errors
    ///
    /// [`GameError::InvalidParams`] when `params` break §1; [`GameError::WrongBond`] when
    /// `bond` is not [`GameParams::bond`]`(0)`.
    pub fn new(
        params: GameParams,
        anchor: B256,
        vm: V,
        root: B256,
        proposer: Address,
        bond: u128,
        now: u64,
    ) -> GameResult<Self> {
        params.validate()?;
        let expected = params.bond(0)?;
        if bond != expected {
            return Err(GameError::WrongBond { depth: 0, expected, paid: bond });
        }
        let claim = Claim {
            parent: None,
            countered_by: None,
            claimant: proposer,
            bond,
            value: root,
            position: Position::ROOT,
            clock: Clock { duration: 0, timestamp: now },
        };
        Ok(Self {
            params,
            anchor,
            vm,
            claims: vec![claim],
            children: vec![Vec::new()],
            seen: HashSet::new(),
            resolved: vec![false],
            credits: BTreeMap::new(),
            status: GameStatus::InProgress,
            created_at: now,
            resolved_at: None,
        })
    }

    /// The game's parameters.
    pub const fn params(&self) -> &GameParams {
        &self.params
    }

    /// The agreed state before the proposal (§3.1).
    pub const fn anchor(&self) -> B256 {
        self.anchor
    }

    /// The step verifier.
    pub const fn vm(&self) -> &V {
        &self.vm
    }

    /// Every claim, in the order made (a parent always precedes its children).
    pub fn claims(&self) -> &[Claim] {
        &self.claims
    }

    /// Claim `index`.
    ///
    /// # Errors
    ///
    /// [`GameError::UnknownClaim`] past the end.
    pub fn claim(&self, index: usize) -> GameResult<&Claim> {
        self.claims.get(index).ok_or(GameError::UnknownClaim { index, len: self.claims.len() })
    }

    /// The claims countering claim `index` (its subgame's children), in the order made;
    /// empty for an unknown index.
    pub fn children(&self, index: usize) -> &[usize] {
        self.children.get(index).map_or(&[], Vec::as_slice)
    }

    /// Whether claim `index`'s subgame is resolved.
    pub fn is_resolved(&self, index: usize) -> bool {
        self.resolved.get(index).copied().unwrap_or(false)
    }

    /// The game's status.
    pub const fn status(&self) -> GameStatus {
        self.status
    }

    /// When the game was created, in seconds.
    pub const fn created_at(&self) -> u64 {
        self.created_at
    }

    /// When the game was resolved, in seconds.
    pub const fn resolved_at(&self) -> Option<u64> {
        self.resolved_at
    }

    /// `recipient`'s unclaimed credit, in wei.
    pub fn credit(&self, recipient: Address) -> u128 {
        self.credits.get(&recipient).copied().unwrap_or(0)
    }

    /// Every unclaimed credit, in wei, by recipient.
    pub const fn credits(&self) -> &BTreeMap<Address, u128> {
        &self.credits
    }

    /// The time, in seconds, the side countering claim `index` has used at `now` (§4.3): its
    /// accumulated time (the clock duration of `index`'s parent, 0 for the root) plus the time
    /// since `index` was made, capped at the maximum clock duration.
    ///
    /// # Errors
    ///
    /// [`GameError::UnknownClaim`]; [`GameError::TimeBeforeClaim`] when `now` is before the
    /// claim was made.
    pub fn challenger_duration(&self, index: usize, now: u64) -> GameResult<u64> {
        let claim = self.claim(index)?;
        let since = now.checked_sub(claim.clock.timestamp).ok_or(GameError::TimeBeforeClaim {
            index,
            now,
            timestamp: claim.clock.timestamp,
        })?;
        let parent = claim.parent.map_or(0, |p| self.claims[p].clock.duration);
        Ok(parent.saturating_add(since).min(self.params.max_clock_duration))
    }

    /// The time, in seconds, at which claim `index`'s countering clock runs out (it can be
    /// resolved from then on, §6.1).
    ///
    /// # Errors
    ///
    /// [`GameError::UnknownClaim`].
    pub fn expires_at(&self, index: usize) -> GameResult<u64> {
        let claim = self.claim(index)?;
        let parent = claim.parent.map_or(0, |p| self.claims[p].clock.duration);
        Ok(claim.clock.timestamp.saturating_add(
            self.params.max_clock_duration - parent.min(self.params.max_clock_duration),
        ))
    }

    fn require_in_progress(&self) -> GameResult<()> {
        if self.status == GameStatus::InProgress {
            Ok(())
        } else {
            Err(GameError::GameNotInProgress)
        }
    }

    /// The countering side's elapsed time, checked against the maximum (§4.3).
    fn require_clock(&self, index: usize, now: u64) -> GameResult<u64> {
        let elapsed = self.challenger_duration(index, now)?;
        if elapsed >= self.params.max_clock_duration {
            return Err(GameError::ClockExpired {
                index,
                elapsed,
                max: self.params.max_clock_duration,
            });
        }
        Ok(elapsed)
    }

    /// Checks a move without making it (§4): the new claim as it would be stored.
    ///
    /// # Errors
    ///
    /// Every rule of §4, in this order: [`GameError::GameNotInProgress`],
    /// [`GameError::UnknownClaim`], [`GameError::MaxDepthReached`],
    /// [`GameError::CannotDefendRoot`], [`GameError::SplitRootMismatch`] (and
    /// [`GameError::MissingTraceAncestor`] for a claim list these rules did not build),
    /// [`GameError::WrongBond`], [`GameError::TimeBeforeClaim`], [`GameError::ClockExpired`],
    /// [`GameError::DuplicateClaim`].
    #[allow(clippy::too_many_arguments)]
    pub fn check_move(
        &self,
        parent: usize,
        value: B256,
        is_attack: bool,
        claimant: Address,
        bond: u128,
        now: u64,
    ) -> GameResult<Claim> {
        self.require_in_progress()?;
        let parent_claim = *self.claim(parent)?;
        let depth = parent_claim.depth();
        let max_depth = self.params.max_depth;
        if depth >= max_depth {
            return Err(GameError::MaxDepthReached { index: parent, max_depth });
        }
        // §4.2: the root and each lower root commit to their level's last state.
        if !is_attack && (parent == 0 || depth == self.params.split_depth + 1) {
            return Err(GameError::CannotDefendRoot { index: parent });
        }
        let position = parent_claim
            .position
            .move_to(is_attack)
            .ok_or(GameError::CannotDefendRoot { index: parent })?;
        if position.depth() == self.params.split_depth + 1 {
            self.check_split_root(parent, value, is_attack)?;
        }
        let expected = self.params.bond(position.depth())?;
        if bond != expected {
            return Err(GameError::WrongBond { depth: position.depth(), expected, paid: bond });
        }
        let elapsed = self.require_clock(parent, now)?;
        // §4.3: cap the mover's clock so it keeps `extension` seconds for its next move.
        let cap = self.params.max_clock_duration - self.params.extension(position.depth());
        let clock = Clock { duration: elapsed.min(cap), timestamp: now };
        if self.seen.contains(&(parent, position.generalized_index(), value)) {
            return Err(GameError::DuplicateClaim { parent, position, value });
        }
        Ok(Claim {
            parent: Some(parent),
            countered_by: None,
            claimant,
            bond,
            value,
            position,
            clock,
        })
    }

    /// Makes a move (§4): an attack (`is_attack`) or defence of claim `parent` with `value`,
    /// by `claimant` at `now` (seconds), bonded with `bond` wei. Returns the new claim's
    /// index.
    ///
    /// # Errors
    ///
    /// As for [`Game::check_move`].
    pub fn make_move(
        &mut self,
        parent: usize,
        value: B256,
        is_attack: bool,
        claimant: Address,
        bond: u128,
        now: u64,
    ) -> GameResult<usize> {
        let claim = self.check_move(parent, value, is_attack, claimant, bond, now)?;
        let index = self.claims.len();
        self.seen.insert((parent, claim.position.generalized_index(), value));
        self.claims.push(claim);
        self.children.push(Vec::new());
        self.resolved.push(false);
        self.children[parent].push(index);
        Ok(index)
    }

    /// §3.3: the value rule of the first claim below the split.
    fn check_split_root(&self, parent: usize, value: B256, is_attack: bool) -> GameResult<()> {
        let split = self.claims[parent];
        if is_attack {
            // Attacking a split claim: the transaction it commits to ends elsewhere.
            if value == split.value {
                return Err(GameError::SplitRootMismatch {
                    against: parent,
                    disputed: split.value,
                    must_equal: false,
                });
            }
            return Ok(());
        }
        // Defending a split claim at k: the dispute is transaction k + 1, whose claimed
        // result is the trace ancestor committing to k + 1.
        let next = next_position(split.position)?;
        let disputed = self.find_trace_ancestor(parent, next, 0)?;
        let disputed_claim = self.claims[disputed];
        let same_side = (split.depth() - disputed_claim.depth()).is_multiple_of(2);
        // Same side as the defended claim: the defender disputes it, so it must differ;
        // the defender's own side: it must restate it.
        let must_equal = !same_side;
        if (value == disputed_claim.value) != must_equal {
            return Err(GameError::SplitRootMismatch {
                against: disputed,
                disputed: disputed_claim.value,
                must_equal,
            });
        }
        Ok(())
    }

    /// The claim at or above `start` whose position is `position`'s trace ancestor (§2.3),
    /// searching no higher than `min_depth`.
    ///
    /// # Errors
    ///
    /// [`GameError::MissingTraceAncestor`] when no such claim is on the path.
    pub fn find_trace_ancestor(
        &self,
        start: usize,
        position: Position,
        min_depth: u8,
    ) -> GameResult<usize> {
        let target = position.trace_ancestor();
        let missing = || GameError::MissingTraceAncestor { index: start, position };
        if target.depth() < min_depth {
            return Err(missing());
        }
        let mut index = start;
        loop {
            let claim = self.claim(index).map_err(|_| missing())?;
            if claim.position == target {
                return Ok(index);
            }
            if claim.depth() <= target.depth() {
                return Err(missing());
            }
            index = claim.parent.ok_or_else(missing)?;
        }
    }

    /// The lower subgame claim `index` belongs to (§3.3): its root (the ancestor at depth
    /// split + 1), the disputed transaction and the agreed state before it. `None` at or
    /// above the split depth.
    ///
    /// # Errors
    ///
    /// [`GameError::UnknownClaim`]; [`GameError::MissingTraceAncestor`] for a claim list
    /// these rules did not build.
    pub fn lower_context(&self, index: usize) -> GameResult<Option<LowerContext>> {
        let split_depth = self.params.split_depth;
        let mut root = index;
        loop {
            let claim = self.claim(root)?;
            if claim.depth() <= split_depth {
                return Ok(None);
            }
            if claim.depth() == split_depth + 1 {
                break;
            }
            root = claim
                .parent
                .ok_or(GameError::UnknownClaim { index: root, len: self.claims.len() })?;
        }
        let root_claim = self.claims[root];
        let split = root_claim
            .parent
            .ok_or(GameError::UnknownClaim { index: root, len: self.claims.len() })?;
        let split_claim = *self.claim(split)?;
        let k = index_at(split_claim.position);
        if Some(root_claim.position) == split_claim.position.attack() {
            // Attack on the split claim at k: transaction k, after C_{k-1} (or the anchor).
            let agreed = if k == 0 {
                self.anchor
            } else {
                let previous =
                    Position::from_generalized_index(split_claim.position.generalized_index() - 1)
                        .map_err(|_| GameError::MissingTraceAncestor {
                            index: split,
                            position: split_claim.position,
                        })?;
                self.claims[self.find_trace_ancestor(split, previous, 0)?].value
            };
            Ok(Some(LowerContext { root, tx: k, agreed }))
        } else {
            // Defence of the split claim at k: transaction k + 1, after the split claim.
            Ok(Some(LowerContext { root, tx: k + 1, agreed: split_claim.value }))
        }
    }

    /// The absolute pre-state `S_0` of a lower subgame (§3.2):
    /// `lower_prestate(agreed, k)` of its [`LowerContext`].
    ///
    /// # Errors
    ///
    /// [`GameError::Prestate`] when the verifier cannot build it.
    pub fn absolute_prestate(&self, context: &LowerContext) -> GameResult<B256> {
        self.vm
            .lower_prestate(context.agreed, context.tx)
            .map_err(|source| GameError::Prestate { tx: context.tx, source })
    }

    /// Checks a step without taking it (§5): what it would run and compute.
    ///
    /// # Errors
    ///
    /// Every rule of §5, in this order: [`GameError::GameNotInProgress`],
    /// [`GameError::UnknownClaim`], [`GameError::NotAtMaxDepth`],
    /// [`GameError::TimeBeforeClaim`], [`GameError::ClockExpired`],
    /// [`GameError::DuplicateStep`], [`GameError::DefendLastLeaf`],
    /// [`GameError::Prestate`], [`GameError::InvalidStep`], [`GameError::ValidStep`].
    pub fn check_step(
        &self,
        index: usize,
        is_attack: bool,
        witness: &V::Witness,
        now: u64,
    ) -> GameResult<StepOutcome> {
        self.require_in_progress()?;
        let claim = *self.claim(index)?;
        let max_depth = self.params.max_depth;
        if claim.depth() != max_depth {
            return Err(GameError::NotAtMaxDepth { index, depth: claim.depth(), max_depth });
        }
        self.require_clock(index, now)?;
        if let Some(by) = claim.countered_by {
            return Err(GameError::DuplicateStep { index, by });
        }
        let context = self.lower_context(index)?.ok_or(GameError::NotAtMaxDepth {
            index,
            depth: claim.depth(),
            max_depth,
        })?;
        let t = lower_index(&self.params, claim.position);
        let t_full = claim
            .position
            .lower_trace_index(self.params.split_depth, max_depth)
            .unwrap_or(u128::MAX);
        let lower_root_depth = self.params.split_depth + 1;
        let (step_index, pre, post_claim) = if is_attack {
            // The step into the claim: from S_t (the claim at t - 1, or S_0) to the claim.
            let pre = if t == 0 {
                self.absolute_prestate(&context)?
            } else {
                let previous =
                    Position::from_generalized_index(claim.position.generalized_index() - 1)
                        .map_err(|_| GameError::MissingTraceAncestor {
                            index,
                            position: claim.position,
                        })?;
                self.claims[self.find_trace_ancestor(index, previous, lower_root_depth)?].value
            };
            (t, pre, index)
        } else {
            // The step out of the claim: from the claim to the claim at t + 1.
            if t_full.saturating_add(1) >= self.params.lower_width() {
                return Err(GameError::DefendLastLeaf { index });
            }
            let next = next_position(claim.position)?;
            (
                t.saturating_add(1),
                claim.value,
                self.find_trace_ancestor(index, next, lower_root_depth)?,
            )
        };
        let post = self
            .vm
            .step(pre, witness)
            .map_err(|source| GameError::InvalidStep { index, source })?;
        let post_claim = self.claims[post_claim];
        // §5.3 (as Optimism): the post claim on the stepped claim's side must equal the
        // step's result, on the other side must differ; the step counters when it does not.
        let same_side = (claim.depth() - post_claim.depth()).is_multiple_of(2);
        let consistent = post == post_claim.value;
        if same_side == consistent {
            return Err(GameError::ValidStep { index, pre, post });
        }
        Ok(StepOutcome { claim: index, is_attack, tx: context.tx, step_index, pre, post })
    }

    /// Takes a step (§5) against the max-depth claim `index` by `claimant` at `now`
    /// (seconds): the claim is countered by `claimant`.
    ///
    /// # Errors
    ///
    /// As for [`Game::check_step`].
    pub fn step(
        &mut self,
        index: usize,
        is_attack: bool,
        witness: &V::Witness,
        claimant: Address,
        now: u64,
    ) -> GameResult<StepOutcome> {
        let outcome = self.check_step(index, is_attack, witness, now)?;
        self.claims[index].countered_by = Some(claimant);
        Ok(outcome)
    }

    /// Resolves the subgame rooted at claim `index` at `now` (§6.1): returns who was
    /// credited its bond and how much (wei).
    ///
    /// # Errors
    ///
    /// [`GameError::GameNotInProgress`], [`GameError::UnknownClaim`],
    /// [`GameError::TimeBeforeClaim`], [`GameError::ClockNotExpired`],
    /// [`GameError::AlreadyResolved`], [`GameError::OutOfOrderResolution`].
    pub fn resolve_claim(&mut self, index: usize, now: u64) -> GameResult<(Address, u128)> {
        self.require_in_progress()?;
        let claim = *self.claim(index)?;
        let elapsed = self.challenger_duration(index, now)?;
        if elapsed < self.params.max_clock_duration {
            return Err(GameError::ClockNotExpired {
                index,
                remaining: self.params.max_clock_duration - elapsed,
            });
        }
        if self.resolved[index] {
            return Err(GameError::AlreadyResolved { index });
        }
        let mut countered: Option<(Position, Address)> = None;
        for &child in &self.children[index] {
            if !self.resolved[child] {
                return Err(GameError::OutOfOrderResolution { index, child });
            }
            let c = &self.claims[child];
            if c.countered_by.is_none() && countered.is_none_or(|(p, _)| c.position < p) {
                countered = Some((c.position, c.claimant));
            }
        }
        // A leaf keeps the stepper set by §5.3; otherwise the left-most uncountered child.
        let countered_by = if self.children[index].is_empty() {
            claim.countered_by
        } else {
            countered.map(|(_, who)| who)
        };
        let recipient = countered_by.unwrap_or(claim.claimant);
        *self.credits.entry(recipient).or_default() += claim.bond;
        self.claims[index].countered_by = countered_by;
        self.resolved[index] = true;
        Ok((recipient, claim.bond))
    }

    /// Resolves the game once the root's subgame is resolved (§6.3), at `now` (seconds).
    ///
    /// # Errors
    ///
    /// [`GameError::GameNotInProgress`], [`GameError::RootNotResolved`].
    pub fn resolve(&mut self, now: u64) -> GameResult<GameStatus> {
        self.require_in_progress()?;
        if !self.resolved[0] {
            return Err(GameError::RootNotResolved);
        }
        self.status = if self.claims[0].countered_by.is_none() {
            GameStatus::DefenderWins
        } else {
            GameStatus::ChallengerWins
        };
        self.resolved_at = Some(now);
        Ok(self.status)
    }

    /// Pays out `recipient`'s credit (§7): returns the amount in wei and sets it to zero.
    ///
    /// # Errors
    ///
    /// [`GameError::GameNotResolved`] before the game is resolved; [`GameError::NoCredit`].
    pub fn claim_credit(&mut self, recipient: Address) -> GameResult<u128> {
        if self.status == GameStatus::InProgress {
            return Err(GameError::GameNotResolved);
        }
        match self.credits.remove(&recipient) {
            Some(amount) if amount > 0 => Ok(amount),
            _ => Err(GameError::NoCredit { recipient }),
        }
    }

    /// Applies a player's action by `actor` at `now` (seconds), paying the exact bond.
    ///
    /// # Errors
    ///
    /// As for the action's method.
    pub fn apply(
        &mut self,
        action: &Move<V::Witness>,
        actor: Address,
        now: u64,
    ) -> GameResult<Applied> {
        match action {
            Move::Attack { parent, value } | Move::Defend { parent, value } => {
                let is_attack = matches!(action, Move::Attack { .. });
                let depth = self.claim(*parent)?.depth().saturating_add(1);
                let bond = self.params.bond(depth.min(self.params.max_depth))?;
                self.make_move(*parent, *value, is_attack, actor, bond, now).map(Applied::Claim)
            }
            Move::Step { claim, is_attack, witness } => {
                self.step(*claim, *is_attack, witness, actor, now).map(Applied::Step)
            }
            Move::ResolveClaim { claim } => self
                .resolve_claim(*claim, now)
                .map(|(recipient, amount)| Applied::Resolved { claim: *claim, recipient, amount }),
            Move::Resolve => self.resolve(now).map(Applied::GameResolved),
            Move::ClaimCredit { recipient } => self.claim_credit(*recipient).map(Applied::Credit),
        }
    }
}

/// The index at depth of a split-depth position: its transaction-level trace index.
fn index_at(position: Position) -> u64 {
    u64::try_from(position.index_at_depth()).unwrap_or(u64::MAX)
}

/// A position's trace index within its lower subgame (§2.2), as `u64` (the lower width is at
/// most `2^124`, but traces are indexed by `u64`; wider indices saturate).
pub(crate) fn lower_index(params: &GameParams, position: Position) -> u64 {
    position
        .lower_trace_index(params.split_depth, params.max_depth)
        .map_or(u64::MAX, |t| u64::try_from(t).unwrap_or(u64::MAX))
}

/// The position right of `position` at its depth (`position + 1`), whose trace ancestor
/// commits to the next trace index.
fn next_position(position: Position) -> GameResult<Position> {
    Position::from_generalized_index(position.generalized_index() + 1)
        .ok()
        .filter(|next| next.depth() == position.depth())
        .ok_or(GameError::MissingTraceAncestor { index: 0, position })
}

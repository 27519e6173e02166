//! The simulator (spec `game.md` §8.3): complete games — the honest player against one to
//! five adversaries — played through moves, steps, resolution and credits on any pair of
//! levels, with a JSON transcript the L1 contract issue replays.
//!
//! Time runs in ticks: every player acts once per tick in a random order, each action
//! applied at the tick's time; after a tick with an action, the time advances by a random
//! 1..=`max_tick` seconds; after a quiet tick, it jumps to the next clock expiry (one
//! second before it when a last-second mover is playing).

use super::{
    Applied, Game, GameError, GameParams, GameResult, GameStatus, Move, StepTrace, StepVerifier,
    TopTrace,
    adversary::{Adversary, Strategy},
    honest::{honest_moves, value_at},
};
use alloy_primitives::{Address, B256, hex};
use rand::{Rng, SeedableRng, seq::SliceRandom};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// The honest player's address in simulations.
pub const HONEST: Address = Address::new([0x11; 20]);

/// The time the simulated games start at, in seconds (2023-11-14).
pub const START: u64 = 1_700_000_000;

/// The step counts of the synthetic proposal `refute simulate --synthetic` plays: five
/// transactions, one of them empty and one at the lower level's full width.
pub const SYNTHETIC_LENGTHS: [u64; 5] = [200, 37, 0, 511, 90];

/// The split depth of simulated games: 16 transaction-level leaves for 4 (or 5) transactions.
pub const SPLIT_DEPTH: u8 = 4;

/// Mainnet-scale clocks and bonds ([`GameParams::new`]) at [`SPLIT_DEPTH`], with a lower level
/// just wide enough for `max_len` steps.
///
/// # Errors
///
/// [`GameError::InvalidParams`] when `max_len` needs a tree deeper than §1 allows.
pub fn params_for(max_len: u64) -> GameResult<GameParams> {
    let lower_depth = (64 - max_len.leading_zeros()) as u8;
    GameParams::new(SPLIT_DEPTH.saturating_add(1).saturating_add(lower_depth), SPLIT_DEPTH)
}

/// The synthetic game of `refute simulate --synthetic --seed SEED`: the proposal of
/// [`SYNTHETIC_LENGTHS`] from an anchor derived from `seed`, and its parameters (max depth
/// 14, split depth 4).
///
/// # Errors
///
/// As for [`params_for`].
pub fn synthetic_setup(seed: u64) -> GameResult<(GameParams, super::SyntheticProposal)> {
    let proposal = super::SyntheticProposal::new(seed, &SYNTHETIC_LENGTHS);
    Ok((params_for(SYNTHETIC_LENGTHS.into_iter().max().unwrap_or(0))?, proposal))
}

/// The most ticks a game may take before the simulator calls it stuck.
const MAX_TICKS: u32 = 20_000;

/// How a batch of games is drawn.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The game's parameters.
    pub params: GameParams,
    /// The strategies adversaries are drawn from (each game draws 1..=5 of them).
    pub strategies: Vec<Strategy>,
    /// The seed of the whole batch; game `g` uses `seed + g`.
    pub seed: u64,
    /// The most seconds between two ticks with actions.
    pub max_tick: u64,
}

/// The outcome of one game.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GameReport {
    /// Whether the honest side won: see [`play`].
    pub honest_won: bool,
    /// Why not, when it did not.
    pub failure: Option<String>,
    /// The final status.
    pub status: GameStatus,
    /// Successful steps.
    pub steps: u64,
    /// Accepted moves and steps.
    pub moves: u64,
    /// Rejected actions (all by adversaries when the honest side won).
    pub rejected: u64,
    /// The adversaries' strategies.
    pub lineup: Vec<Strategy>,
}

/// The totals of a batch of games.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Games played.
    pub games: u64,
    /// Games the honest side won.
    pub honest_wins: u64,
    /// Successful steps over all games.
    pub steps: u64,
    /// The most accepted moves and steps in one game.
    pub max_moves: u64,
    /// The first failures (game index, lineup, reason), at most ten.
    pub failures: Vec<String>,
}

impl Summary {
    /// The one-line summary the CLI prints last.
    pub fn line(&self) -> String {
        format!(
            "games: {}, honest wins: {}, steps executed: {}, max moves: {}",
            self.games, self.honest_wins, self.steps, self.max_moves
        )
    }
}

/// The adversaries of game `seed`: 1..=5 strategies drawn from `pool`.
pub fn draw_lineup(pool: &[Strategy], seed: u64) -> Vec<Strategy> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6c69_6e65_7570);
    let n = rng.random_range(1..=5);
    (0..n).filter_map(|_| pool.get(rng.random_range(0..pool.len().max(1))).copied()).collect()
}

/// Plays `config.games`-many games from game `first` on: see [`play`].
///
/// # Errors
///
/// As for [`play`].
pub fn run<V, T>(
    config: &SimConfig,
    truth: &T,
    vm: &V,
    first: u64,
    games: u64,
) -> GameResult<Summary>
where
    V: StepVerifier,
    T: TopTrace,
    T::Lower: StepTrace<Witness = V::Witness>,
{
    let mut summary = Summary::default();
    for g in first..first + games {
        let seed = config.seed.wrapping_add(g);
        let lineup = draw_lineup(&config.strategies, seed);
        let (report, _) = play(&config.params, truth, vm, &lineup, seed, config.max_tick, false)?;
        summary.games += 1;
        summary.steps += report.steps;
        summary.max_moves = summary.max_moves.max(report.moves);
        if report.honest_won {
            summary.honest_wins += 1;
        } else if summary.failures.len() < 10 {
            summary.failures.push(format!(
                "game {g} (seed {seed}, {lineup:?}): {}",
                report.failure.unwrap_or_default()
            ));
        }
    }
    Ok(summary)
}

enum Player {
    Honest,
    Adversary(Box<Adversary>),
}

/// Plays one complete game of the honest player (address [`HONEST`]) against adversaries
/// with `lineup` (seeded by `seed`), over the true traces `truth` and the verifier `vm`,
/// until the game is resolved and the honest player has claimed its credit. The root is
/// proposed by the first adversary that believes in a wrong root, or else by the honest
/// player. With `record`, also returns the transcript.
///
/// The honest side wins iff the game resolves as the truth says (the defender wins iff the
/// root is correct), none of the honest player's actions was rejected, none of its claims was
/// countered, and it was credited at least the bonds it posted.
///
/// # Errors
///
/// [`GameError`] when the traces cannot answer or the parameters are invalid.
#[allow(clippy::too_many_arguments)]
pub fn play<V, T>(
    params: &GameParams,
    truth: &T,
    vm: &V,
    lineup: &[Strategy],
    seed: u64,
    max_tick: u64,
    record: bool,
) -> GameResult<(GameReport, Option<Transcript>)>
where
    V: StepVerifier,
    T: TopTrace,
    T::Lower: StepTrace<Witness = V::Witness>,
{
    let depths = (params.split_depth, params.max_depth);
    let mut adversaries: Vec<Adversary> = lineup
        .iter()
        .enumerate()
        .map(|(n, &strategy)| {
            let mut address = [0xadu8; 20];
            address[19] = n as u8 + 1;
            Adversary::new(
                Address::new(address),
                strategy,
                seed.wrapping_mul(31).wrapping_add(n as u64),
                truth,
                depths,
            )
        })
        .collect();
    // Colluders: each `colluding` adversary recruits a partner with the same beliefs.
    let mut partners = Vec::new();
    for adversary in adversaries.iter_mut().filter(|a| a.strategy == Strategy::Colluding) {
        let mut address = adversary.address.0.0;
        address[18] = 0xcc;
        let mut partner = Adversary::new(
            Address::new(address),
            Strategy::Colluding,
            seed ^ 0xc011,
            truth,
            depths,
        );
        adversary.collude_with(&mut partner);
        partners.push(partner);
    }
    adversaries.extend(partners);

    play_with(params, truth, truth, vm, adversaries, seed, max_tick, record)
}

/// [`play`] with prepared adversaries and the honest player's own traces `honest` (which a
/// test may corrupt); `truth` decides who should win and feeds the adversaries.
///
/// # Errors
///
/// As for [`play`].
#[allow(clippy::too_many_arguments)]
pub fn play_with<V, H, T>(
    params: &GameParams,
    honest: &H,
    truth: &T,
    vm: &V,
    adversaries: Vec<Adversary>,
    seed: u64,
    max_tick: u64,
    record: bool,
) -> GameResult<(GameReport, Option<Transcript>)>
where
    V: StepVerifier,
    H: TopTrace,
    H::Lower: StepTrace<Witness = V::Witness>,
    T: TopTrace,
    T::Lower: StepTrace<Witness = V::Witness>,
{
    let depths = (params.split_depth, params.max_depth);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let lineup: Vec<Strategy> = adversaries.iter().map(|a| a.strategy).collect();
    let lineup = lineup.as_slice();
    let true_root = value_at(truth, depths.0, depths.1, super::Position::ROOT, None)?;
    let honest_root = value_at(honest, depths.0, depths.1, super::Position::ROOT, None)?;
    let mut proposer = (HONEST, honest_root);
    for adversary in &adversaries {
        if let Some(root) = adversary.root(truth, depths)? {
            proposer = (adversary.address, root);
            break;
        }
    }
    let mut game =
        Game::new(*params, truth.anchor(), vm, proposer.1, proposer.0, params.bond(0)?, START)?;
    let mut transcript =
        record.then(|| Transcript::new(params, &game, &adversaries, proposer.0, lineup));
    let mut report = GameReport {
        honest_won: false,
        failure: None,
        status: GameStatus::InProgress,
        steps: 0,
        moves: 0,
        rejected: 0,
        lineup: lineup.to_vec(),
    };
    let mut players: Vec<Player> =
        adversaries.into_iter().map(|a| Player::Adversary(Box::new(a))).collect();
    players.push(Player::Honest);
    let last_second = players
        .iter()
        .any(|p| matches!(p, Player::Adversary(a) if a.strategy == Strategy::LastSecond));
    let mut honest_posted: u128 = if proposer.0 == HONEST { params.bond(0)? } else { 0 };
    let mut honest_paid: u128 = 0;
    let mut failure: Option<String> = None;
    let mut now = START;
    let mut ticks = 0;
    while ticks < MAX_TICKS {
        ticks += 1;
        let mut order: Vec<usize> = (0..players.len()).collect();
        order.shuffle(&mut rng);
        let mut acted = false;
        for p in order {
            let (actor, actions) = match &mut players[p] {
                Player::Honest => (HONEST, honest_moves(&game, honest, HONEST, now)?),
                Player::Adversary(a) => (a.address, a.moves(&game, truth, now)?),
            };
            for action in actions {
                let bond = bond_of(&game, &action);
                let result = game.apply(&action, actor, now);
                if let Some(t) = transcript.as_mut() {
                    t.record(&game, &action, actor, now, &result);
                }
                match result {
                    Ok(applied) => {
                        acted = true;
                        match applied {
                            Applied::Claim(_) => {
                                report.moves += 1;
                                if actor == HONEST {
                                    honest_posted += bond;
                                }
                            }
                            Applied::Step(_) => {
                                report.moves += 1;
                                report.steps += 1;
                            }
                            Applied::Credit(amount) if actor == HONEST => honest_paid += amount,
                            _ => {}
                        }
                    }
                    Err(e) => {
                        report.rejected += 1;
                        if actor == HONEST && failure.is_none() {
                            failure = Some(format!("the honest player's action was rejected: {e}"));
                        }
                    }
                }
            }
        }
        if game.status() != GameStatus::InProgress && game.credit(HONEST) == 0 {
            break;
        }
        now = if acted {
            now + rng.random_range(1..=max_tick.max(1))
        } else {
            next_event(&game, now, last_second)
        };
    }
    report.status = game.status();
    let expected =
        if proposer.1 == true_root { GameStatus::DefenderWins } else { GameStatus::ChallengerWins };
    if failure.is_none() {
        failure = if report.status == GameStatus::InProgress {
            Some(format!("the game did not finish in {MAX_TICKS} ticks"))
        } else if report.status != expected {
            Some(format!("the game resolved {:?}, the truth says {expected:?}", report.status))
        } else if let Some(i) =
            game.claims().iter().position(|c| c.claimant == HONEST && c.countered_by.is_some())
        {
            Some(format!("the honest claim {i} was countered"))
        } else if honest_paid < honest_posted {
            Some(format!(
                "the honest player posted {honest_posted} wei and got {honest_paid} wei back"
            ))
        } else {
            None
        };
    }
    report.honest_won = failure.is_none();
    report.failure = failure;
    if let Some(t) = transcript.as_mut() {
        t.finish(&game, report.honest_won);
    }
    Ok((report, transcript))
}

/// The bond an action posts, in wei (0 for anything but a move).
fn bond_of<V: StepVerifier>(game: &Game<V>, action: &Move<V::Witness>) -> u128 {
    match action {
        Move::Attack { parent, .. } | Move::Defend { parent, .. } => game
            .claim(*parent)
            .ok()
            .and_then(|c| game.params().bond(c.depth().saturating_add(1)).ok())
            .unwrap_or(0),
        _ => 0,
    }
}

/// The next time anything can happen after a quiet tick: the earliest clock expiry after
/// `now` (a second before it for last-second movers), at least `now + 1`.
fn next_event<V: StepVerifier>(game: &Game<V>, now: u64, last_second: bool) -> u64 {
    let mut next = u64::MAX;
    for i in 0..game.claims().len() {
        if game.is_resolved(i) {
            continue;
        }
        if let Ok(at) = game.expires_at(i) {
            for t in [at, at.saturating_sub(u64::from(last_second))] {
                if t > now {
                    next = next.min(t);
                }
            }
        }
    }
    if next == u64::MAX { now + 1 } else { next }
}

/// A wei amount or other 128-bit integer as a decimal string (JSON numbers lose precision
/// past 2^53).
fn dec(value: u128) -> String {
    value.to_string()
}

/// A game's transcript (spec `game.md` §8.4): parameters, players, every action in order
/// with its result, and the final claims, credits and status. Amounts are decimal strings
/// of wei, times seconds, positions generalized indices as decimal strings.
#[derive(Clone, Debug, Serialize)]
pub struct Transcript {
    /// The parameters.
    pub params: TranscriptParams,
    /// The anchor.
    pub anchor: B256,
    /// Every player: address and role (`honest` or a strategy name).
    pub players: Vec<(Address, String)>,
    /// The proposer of the root claim.
    pub proposer: Address,
    /// The root claim's value.
    pub root: B256,
    /// When the game was created, in seconds.
    pub created_at: u64,
    /// Every action, accepted or rejected, in order.
    pub actions: Vec<Action>,
    /// The claims at the end.
    pub claims: Vec<FinalClaim>,
    /// The final status.
    pub status: GameStatus,
    /// Credits left unclaimed at the end (adversaries never claim theirs), by address.
    pub unclaimed: Vec<(Address, String)>,
    /// Whether the honest side won.
    pub honest_won: bool,
}

/// [`GameParams`] with bonds as decimal strings.
#[derive(Clone, Debug, Serialize)]
pub struct TranscriptParams {
    /// Max depth.
    pub max_depth: u8,
    /// Split depth.
    pub split_depth: u8,
    /// Max clock duration, seconds.
    pub max_clock_duration: u64,
    /// Clock extension, seconds.
    pub clock_extension: u64,
    /// Extension before the split, seconds.
    pub split_clock_extension: u64,
    /// Extension before a step, seconds.
    pub step_clock_extension: u64,
    /// The root bond, wei.
    pub base_bond: String,
    /// Bond growth per depth, basis points.
    pub bond_growth_bps: u32,
}

/// One action of a transcript.
#[derive(Clone, Debug, Serialize)]
pub struct Action {
    /// When, in seconds.
    pub time: u64,
    /// Who.
    pub actor: Address,
    /// What.
    #[serde(flatten)]
    pub kind: ActionKind,
    /// The rejection, if the game rejected it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected: Option<String>,
    /// The rejection's rule, [`GameError::name`]: the contract's custom error of that name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
}

/// What an action did.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ActionKind {
    /// An attack or defence.
    Move {
        /// The countered claim.
        parent: usize,
        /// Attack or defence.
        is_attack: bool,
        /// The claimed value.
        value: B256,
        /// The bond paid, wei.
        bond: String,
        /// The new claim's index (accepted moves).
        #[serde(skip_serializing_if = "Option::is_none")]
        index: Option<usize>,
        /// The new claim's position (accepted moves).
        #[serde(skip_serializing_if = "Option::is_none")]
        position: Option<String>,
        /// The new claim's clock duration, seconds (accepted moves).
        #[serde(skip_serializing_if = "Option::is_none")]
        clock: Option<u64>,
    },
    /// A step.
    Step {
        /// The countered claim.
        claim: usize,
        /// Attack or defence.
        is_attack: bool,
        /// The witness bytes, hex.
        witness: String,
        /// The disputed transaction (accepted steps).
        #[serde(skip_serializing_if = "Option::is_none")]
        tx: Option<u64>,
        /// The step index (accepted steps).
        #[serde(skip_serializing_if = "Option::is_none")]
        step_index: Option<u64>,
        /// The pre-state (accepted steps).
        #[serde(skip_serializing_if = "Option::is_none")]
        pre: Option<B256>,
        /// The post-state computed (accepted steps).
        #[serde(skip_serializing_if = "Option::is_none")]
        post: Option<B256>,
    },
    /// A subgame resolution.
    ResolveClaim {
        /// The subgame's root.
        claim: usize,
        /// Who was credited (accepted).
        #[serde(skip_serializing_if = "Option::is_none")]
        recipient: Option<Address>,
        /// How much, wei (accepted).
        #[serde(skip_serializing_if = "Option::is_none")]
        amount: Option<String>,
    },
    /// The game's resolution.
    Resolve {
        /// The status (accepted).
        #[serde(skip_serializing_if = "Option::is_none")]
        status: Option<GameStatus>,
    },
    /// A credit payout.
    ClaimCredit {
        /// The recipient.
        recipient: Address,
        /// How much, wei (accepted).
        #[serde(skip_serializing_if = "Option::is_none")]
        amount: Option<String>,
    },
}

/// A claim as it ended.
#[derive(Clone, Debug, Serialize)]
pub struct FinalClaim {
    /// Its parent's index.
    pub parent: Option<usize>,
    /// Its position.
    pub position: String,
    /// Its value.
    pub value: B256,
    /// Its claimant.
    pub claimant: Address,
    /// Its bond, wei.
    pub bond: String,
    /// Its clock duration, seconds.
    pub clock_duration: u64,
    /// Its timestamp, seconds.
    pub timestamp: u64,
    /// Who countered it.
    pub countered_by: Option<Address>,
}

impl Transcript {
    fn new<V: StepVerifier>(
        params: &GameParams,
        game: &Game<V>,
        adversaries: &[Adversary],
        proposer: Address,
        _lineup: &[Strategy],
    ) -> Self {
        let mut players = vec![(HONEST, "honest".to_owned())];
        players.extend(adversaries.iter().map(|a| (a.address, a.strategy.name().to_owned())));
        Self {
            params: TranscriptParams {
                max_depth: params.max_depth,
                split_depth: params.split_depth,
                max_clock_duration: params.max_clock_duration,
                clock_extension: params.clock_extension,
                split_clock_extension: params.split_clock_extension,
                step_clock_extension: params.step_clock_extension,
                base_bond: dec(params.base_bond),
                bond_growth_bps: params.bond_growth_bps,
            },
            anchor: game.anchor(),
            players,
            proposer,
            root: game.claims()[0].value,
            created_at: game.created_at(),
            actions: Vec::new(),
            claims: Vec::new(),
            status: GameStatus::InProgress,
            unclaimed: Vec::new(),
            honest_won: false,
        }
    }

    fn record<V: StepVerifier>(
        &mut self,
        game: &Game<V>,
        action: &Move<V::Witness>,
        actor: Address,
        now: u64,
        result: &Result<Applied, GameError>,
    ) {
        let applied = result.as_ref().ok();
        let kind = match action {
            Move::Attack { parent, value } | Move::Defend { parent, value } => {
                let index = match applied {
                    Some(Applied::Claim(i)) => Some(*i),
                    _ => None,
                };
                let claim = index.and_then(|i| game.claims().get(i));
                ActionKind::Move {
                    parent: *parent,
                    is_attack: matches!(action, Move::Attack { .. }),
                    value: *value,
                    bond: dec(bond_of(game, action)),
                    index,
                    position: claim.map(|c| c.position.generalized_index().to_string()),
                    clock: claim.map(|c| c.clock.duration),
                }
            }
            Move::Step { claim, is_attack, witness } => {
                let outcome = match applied {
                    Some(Applied::Step(o)) => Some(*o),
                    _ => None,
                };
                ActionKind::Step {
                    claim: *claim,
                    is_attack: *is_attack,
                    witness: hex::encode_prefixed(game.vm().witness_bytes(witness)),
                    tx: outcome.map(|o| o.tx),
                    step_index: outcome.map(|o| o.step_index),
                    pre: outcome.map(|o| o.pre),
                    post: outcome.map(|o| o.post),
                }
            }
            Move::ResolveClaim { claim } => {
                let (recipient, amount) = match applied {
                    Some(Applied::Resolved { recipient, amount, .. }) => {
                        (Some(*recipient), Some(dec(*amount)))
                    }
                    _ => (None, None),
                };
                ActionKind::ResolveClaim { claim: *claim, recipient, amount }
            }
            Move::Resolve => ActionKind::Resolve {
                status: match applied {
                    Some(Applied::GameResolved(s)) => Some(*s),
                    _ => None,
                },
            },
            Move::ClaimCredit { recipient } => ActionKind::ClaimCredit {
                recipient: *recipient,
                amount: match applied {
                    Some(Applied::Credit(a)) => Some(dec(*a)),
                    _ => None,
                },
            },
        };
        let rejected = result.as_ref().err().map(ToString::to_string);
        let error = result.as_ref().err().map(GameError::name);
        self.actions.push(Action { time: now, actor, kind, rejected, error });
    }

    fn finish<V: StepVerifier>(&mut self, game: &Game<V>, honest_won: bool) {
        self.claims = game
            .claims()
            .iter()
            .map(|c| FinalClaim {
                parent: c.parent,
                position: c.position.generalized_index().to_string(),
                value: c.value,
                claimant: c.claimant,
                bond: dec(c.bond),
                clock_duration: c.clock.duration,
                timestamp: c.clock.timestamp,
                countered_by: c.countered_by,
            })
            .collect();
        self.status = game.status();
        self.unclaimed = game.credits().iter().map(|(a, v)| (*a, dec(*v))).collect();
        self.honest_won = honest_won;
    }
}

//! Replaying the engine simulator's game transcripts (`docs/spec/game.md` §8.4, the JSON of
//! `refute simulate --transcript`) through the compiled `Proposals`, `DisputeGameFactory` and
//! `DisputeGame` in an [`InProcessEvm`]: the proposer posts the root as a proposal on the
//! transcript's anchor, a challenger opens its game, every action is sent by its actor at its
//! time, and the contract must accept exactly what the model accepted, reject the rest with the
//! custom error the transcript names, and end with the same claims, status and credits; the
//! proposal then finalizes (the defender won) or is invalidated (the challenger won).
//!
//! The step verifier is the **test double** `contracts/test/doubles/SyntheticStepVerifier.sol`,
//! which mirrors the synthetic trace of `refute_engine::game::SyntheticProposal`: only
//! synthetic transcripts (`refute simulate --synthetic`) can be replayed until the EVM step
//! verifier exists (issue 7).

use crate::{CallError, InProcessEvm};
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_sol_types::{SolCall, SolConstructor};
use refute_contracts::{
    DisputeGame, DisputeGameFactory, DisputeGameFactory::GameParams, Proposals,
    doubles::SyntheticStepVerifier,
};
use serde_json::Value;
use std::{collections::BTreeMap, fmt::Write as _};

/// Who opens the games (any account may).
const CHALLENGER: Address = Address::repeat_byte(0xc4);

/// Gas used per kind of accepted action, intrinsic gas included: (count, total, max).
pub type GasStats = BTreeMap<String, (u64, u64, u64)>;

/// Adds one transaction of `gas` to the `kind` entry of `stats`.
pub fn record_gas(stats: &mut GasStats, kind: &str, gas: u64) {
    let entry = stats.entry(kind.to_owned()).or_insert((0, 0, 0));
    entry.0 += 1;
    entry.1 += gas;
    entry.2 = entry.2.max(gas);
}

/// Selector -> name of every custom error in the game's ABI.
fn error_names() -> BTreeMap<[u8; 4], String> {
    let artifact: Value = serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../contracts/artifacts/DisputeGame.json"
    )))
    .expect("the DisputeGame artifact is JSON");
    let mut names = BTreeMap::new();
    for item in artifact["abi"].as_array().expect("an ABI array") {
        if item["type"] != "error" {
            continue;
        }
        let name = item["name"].as_str().expect("a name");
        let types: Vec<&str> = item["inputs"]
            .as_array()
            .expect("inputs")
            .iter()
            .map(|i| i["type"].as_str().expect("a type"))
            .collect();
        let signature = format!("{name}({})", types.join(","));
        let hash = keccak256(signature.as_bytes());
        names.insert([hash[0], hash[1], hash[2], hash[3]], name.to_owned());
    }
    names
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("transcript field {key} is not a string: {v}"))
}

fn u(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("transcript field {key} is not a number: {v}"))
}

fn addr(v: &Value, key: &str) -> Address {
    s(v, key).parse().expect("an address")
}

fn b256(v: &Value, key: &str) -> B256 {
    s(v, key).parse().expect("a 32-byte value")
}

fn wei(v: &Value, key: &str) -> U256 {
    s(v, key).parse().expect("a decimal amount")
}

fn status_number(name: &str) -> u8 {
    match name {
        "InProgress" => 0,
        "ChallengerWins" => 1,
        "DefenderWins" => 2,
        other => panic!("unknown status {other}"),
    }
}

/// One in-process L1 with the test-double verifier and a factory for the transcripts' params.
#[derive(Debug)]
pub struct ContractReplay {
    evm: InProcessEvm,
    factory: Address,
    /// `Proposals` per anchor (its genesis output root).
    proposals: BTreeMap<B256, Address>,
    errors: BTreeMap<[u8; 4], String>,
    /// Gas per kind of accepted action so far.
    pub gas: GasStats,
}

impl ContractReplay {
    /// A fresh L1 with the synthetic verifier double for transactions of `lengths` steps and a
    /// factory for the transcript parameters `params` (its `params` object).
    pub fn new(params: &Value, lengths: &[u64]) -> Self {
        let mut evm = InProcessEvm::new();
        let lengths = lengths.to_vec();
        let args = SyntheticStepVerifier::constructorCall { lengths };
        let verifier = deploy(
            &mut evm,
            [SyntheticStepVerifier::BYTECODE.to_vec(), args.abi_encode()].concat(),
        );
        let params = GameParams {
            maxDepth: u(params, "max_depth") as u8,
            splitDepth: u(params, "split_depth") as u8,
            maxClockDuration: u(params, "max_clock_duration"),
            clockExtension: u(params, "clock_extension"),
            splitClockExtension: u(params, "split_clock_extension"),
            stepClockExtension: u(params, "step_clock_extension"),
            baseBond: s(params, "base_bond").parse().expect("a bond"),
            bondGrowthBps: u(params, "bond_growth_bps") as u32,
        };
        let args = DisputeGameFactory::constructorCall { params_: params, verifier };
        let factory =
            deploy(&mut evm, [DisputeGameFactory::BYTECODE.to_vec(), args.abi_encode()].concat());
        Self {
            evm,
            factory,
            proposals: BTreeMap::new(),
            errors: error_names(),
            gas: GasStats::new(),
        }
    }

    fn send(
        &mut self,
        from: Address,
        to: Address,
        data: Vec<u8>,
        value: U256,
        time: u64,
    ) -> Result<(Bytes, u64), CallError> {
        // Every actor can pay any bond: the contract, not the balance, is under test.
        if self.evm.balance(from) < value + U256::from(10u64).pow(U256::from(24u64)) {
            self.evm.set_balance(from, U256::from(10u64).pow(U256::from(27u64)));
        }
        let out = self.evm.transact_at(from, Some(to), data.into(), value, time)?;
        Ok((out.output, out.gas_used))
    }

    fn view<C: SolCall>(&mut self, to: Address, call: &C, time: u64) -> C::Return {
        self.evm.view_at(to, call, time).unwrap_or_else(|e| panic!("view failed: {e:?}"))
    }

    fn error_name(&self, data: &Bytes) -> String {
        data.get(..4)
            .and_then(|sel| self.errors.get(<&[u8; 4]>::try_from(sel).ok()?))
            .cloned()
            .unwrap_or_else(|| format!("<unknown revert {data}>"))
    }

    /// Replays one transcript (the JSON of §8.4); returns every disagreement (empty when the
    /// contract agrees with the model).
    pub fn replay(&mut self, t: &Value) -> Vec<String> {
        let mut diffs = Vec::new();
        let created_at = u(t, "created_at");
        let proposer = addr(t, "proposer");
        let root = b256(t, "root");
        let anchor = b256(t, "anchor");
        let bond0 =
            U256::from(self.view(self.factory, &DisputeGameFactory::rootBondCall {}, created_at));
        let proposals = self.proposals_on(anchor);
        let propose = Proposals::proposeCall {
            parent: U256::ZERO,
            batch: Bytes::from(root.to_vec()),
            outputRoot: root,
        };
        let (out, gas) = self
            .send(proposer, proposals, propose.abi_encode(), bond0, created_at)
            .expect("the proposer posts the root");
        record_gas(&mut self.gas, "propose", gas);
        let id = Proposals::proposeCall::abi_decode_returns(&out).expect("an id");
        let challenge = Proposals::challengeCall { id };
        let (out, gas) = self
            .send(CHALLENGER, proposals, challenge.abi_encode(), U256::ZERO, created_at)
            .expect("the challenge opens the game");
        record_gas(&mut self.gas, "challenge (creates the game)", gas);
        let game = Proposals::challengeCall::abi_decode_returns(&out).expect("an address");

        for (n, action) in t["actions"].as_array().expect("actions").iter().enumerate() {
            let time = u(action, "time");
            let actor = addr(action, "actor");
            let expected_error = action["error"].as_str();
            let kind = s(action, "action");
            let (data, value) = match kind {
                "move" => (
                    DisputeGame::moveCall {
                        parentIndex: U256::from(u(action, "parent")),
                        value: b256(action, "value"),
                        isAttack: action["is_attack"] == true,
                    }
                    .abi_encode(),
                    wei(action, "bond"),
                ),
                "step" => (
                    DisputeGame::stepCall {
                        index: U256::from(u(action, "claim")),
                        isAttack: action["is_attack"] == true,
                        witness: s(action, "witness").parse::<Bytes>().expect("hex witness"),
                    }
                    .abi_encode(),
                    U256::ZERO,
                ),
                "resolve_claim" => (
                    DisputeGame::resolveClaimCall { index: U256::from(u(action, "claim")) }
                        .abi_encode(),
                    U256::ZERO,
                ),
                "resolve" => (DisputeGame::resolveCall {}.abi_encode(), U256::ZERO),
                "claim_credit" => (
                    DisputeGame::claimCreditCall { recipient: addr(action, "recipient") }
                        .abi_encode(),
                    U256::ZERO,
                ),
                other => panic!("unknown action {other}"),
            };
            let credit_before = (kind == "resolve_claim" && expected_error.is_none()).then(|| {
                let recipient = addr(action, "recipient");
                self.view(game, &DisputeGame::creditCall { recipient }, time)
            });
            let result = self.send(actor, game, data, value, time);
            let at = format!("action {n} ({kind} by {actor} at {time})");
            match (result, expected_error) {
                (Err(CallError::Revert(data)), Some(expected)) => {
                    let got = self.error_name(&data);
                    if got != expected {
                        diffs.push(format!(
                            "{at}: the model rejects with {expected}, the contract with {got}"
                        ));
                    }
                }
                (Err(e), None) => diffs.push(format!(
                    "{at}: the model accepts, the contract fails: {e:?} ({})",
                    match &e {
                        CallError::Revert(d) => self.error_name(d),
                        CallError::Halt(h) => h.clone(),
                    }
                )),
                (Err(CallError::Halt(h)), Some(expected)) => diffs.push(format!(
                    "{at}: the model rejects with {expected}, the contract halts: {h}"
                )),
                (Ok(_), Some(expected)) => diffs
                    .push(format!("{at}: the model rejects with {expected}, the contract accepts")),
                (Ok((out, gas)), None) => {
                    let label = match kind {
                        "move" => "move",
                        "step" => "step",
                        "resolve_claim" => "resolve claim",
                        "resolve" => "resolve game",
                        _ => "claim credit",
                    };
                    record_gas(&mut self.gas, label, gas);
                    self.check_accepted(
                        game,
                        action,
                        kind,
                        &out,
                        credit_before,
                        time,
                        &at,
                        &mut diffs,
                    );
                }
            }
        }
        self.check_final(game, t, &mut diffs);
        self.check_proposal(proposals, id, t, &mut diffs);
        diffs
    }

    /// `Proposals` with the transcripts' anchor as its genesis output root (deployed once).
    fn proposals_on(&mut self, anchor: B256) -> Address {
        if let Some(address) = self.proposals.get(&anchor) {
            return *address;
        }
        let args = Proposals::constructorCall {
            factory: self.factory,
            challengeWindow: 86_400,
            genesisOutputRoot: anchor,
        };
        let code = [Proposals::BYTECODE.to_vec(), args.abi_encode()].concat();
        let address = deploy(&mut self.evm, code);
        self.proposals.insert(anchor, address);
        address
    }

    /// The proposal follows its game: final when the defender won, invalidated when the
    /// challenger won, and not the other way round.
    fn check_proposal(&mut self, proposals: Address, id: U256, t: &Value, diffs: &mut Vec<String>) {
        let time = t["actions"].as_array().and_then(|a| a.last()).map_or(0, |a| u(a, "time")) + 1;
        let defender_won = status_number(s(t, "status")) == 2;
        let finalize = Proposals::finalizeCall { id }.abi_encode();
        let invalidate = Proposals::invalidateCall { id }.abi_encode();
        let (right, wrong) =
            if defender_won { (finalize, invalidate) } else { (invalidate, finalize) };
        if self.send(CHALLENGER, proposals, wrong, U256::ZERO, time).is_ok() {
            diffs.push(format!("proposal {id}: settled against its game ({})", t["status"]));
        }
        if let Err(e) = self.send(CHALLENGER, proposals, right, U256::ZERO, time) {
            diffs.push(format!("proposal {id}: cannot follow its game ({}): {e:?}", t["status"]));
        }
        let state = self.view(proposals, &Proposals::proposalCall { id }, time).state;
        let expected = if defender_won { 2 } else { 3 }; // FINALIZED, INVALIDATED
        if state != expected {
            diffs.push(format!("proposal {id}: state {state}, expected {expected}"));
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn check_accepted(
        &mut self,
        game: Address,
        action: &Value,
        kind: &str,
        out: &Bytes,
        credit_before: Option<U256>,
        time: u64,
        at: &str,
        diffs: &mut Vec<String>,
    ) {
        match kind {
            "move" => {
                let index = DisputeGame::moveCall::abi_decode_returns(out).expect("an index");
                if index != U256::from(u(action, "index")) {
                    diffs.push(format!(
                        "{at}: claim index {index}, the model's {}",
                        action["index"]
                    ));
                }
                let data = self.view(game, &DisputeGame::claimDataCall { index }, time);
                let position = data.position.to_string();
                let duration = (data.clock >> 64) as u64;
                if position != s(action, "position") || duration != u(action, "clock") {
                    diffs.push(format!(
                        "{at}: position {position} clock {duration}, the model's {} {}",
                        action["position"], action["clock"]
                    ));
                }
            }
            "resolve_claim" => {
                let recipient = addr(action, "recipient");
                let after = self.view(game, &DisputeGame::creditCall { recipient }, time);
                let credited = after - credit_before.unwrap_or_default();
                if credited != wei(action, "amount") {
                    diffs.push(format!(
                        "{at}: {recipient} credited {credited} wei, the model {}",
                        action["amount"]
                    ));
                }
            }
            "resolve" => {
                let status = DisputeGame::resolveCall::abi_decode_returns(out).expect("a status");
                if status != status_number(s(action, "status")) {
                    diffs.push(format!("{at}: status {status}, the model's {}", action["status"]));
                }
            }
            "claim_credit" => {
                let paid =
                    DisputeGame::claimCreditCall::abi_decode_returns(out).expect("an amount");
                if paid != wei(action, "amount") {
                    diffs.push(format!("{at}: paid {paid} wei, the model {}", action["amount"]));
                }
            }
            _ => {}
        }
    }

    fn check_final(&mut self, game: Address, t: &Value, diffs: &mut Vec<String>) {
        let time = t["actions"].as_array().and_then(|a| a.last()).map_or(0, |a| u(a, "time"));
        let status = self.view(game, &DisputeGame::statusCall {}, time);
        if status != status_number(s(t, "status")) {
            diffs.push(format!("final status {status}, the model's {}", t["status"]));
        }
        let claims = t["claims"].as_array().expect("claims");
        let count = self.view(game, &DisputeGame::claimCountCall {}, time);
        if count as usize != claims.len() {
            diffs.push(format!("{count} claims, the model has {}", claims.len()));
            return;
        }
        for (i, c) in claims.iter().enumerate() {
            let d = self.view(game, &DisputeGame::claimDataCall { index: U256::from(i) }, time);
            let parent = c["parent"].as_u64().map_or(U256::MAX, U256::from);
            let countered = c["countered_by"]
                .as_str()
                .map_or(Address::ZERO, |a| a.parse().expect("an address"));
            let clock = (u128::from(u(c, "clock_duration")) << 64) | u128::from(u(c, "timestamp"));
            let mut mine = String::new();
            let _ = write!(
                mine,
                "{} {} {} {} {} {} {}",
                d.parentIndex,
                d.counteredBy,
                d.claimant,
                d.bondAmount,
                d.value,
                d.position,
                d.clock
            );
            let theirs = format!(
                "{parent} {countered} {} {} {} {} {clock}",
                addr(c, "claimant"),
                s(c, "bond"),
                b256(c, "value"),
                s(c, "position"),
            );
            if mine != theirs {
                diffs.push(format!("claim {i}: the contract has {mine}, the model {theirs}"));
            }
        }
        let unclaimed: BTreeMap<Address, U256> = t["unclaimed"]
            .as_array()
            .expect("unclaimed")
            .iter()
            .map(|pair| {
                (
                    pair[0].as_str().expect("an address").parse().expect("an address"),
                    pair[1].as_str().expect("an amount").parse().expect("an amount"),
                )
            })
            .collect();
        for player in t["players"].as_array().expect("players") {
            let who: Address = player[0].as_str().expect("an address").parse().expect("an address");
            let credit = self.view(game, &DisputeGame::creditCall { recipient: who }, time);
            let expected = unclaimed.get(&who).copied().unwrap_or_default();
            if credit != expected {
                diffs.push(format!("{who}'s credit is {credit} wei, the model's {expected} wei"));
            }
        }
    }
}

fn deploy(evm: &mut InProcessEvm, code: Vec<u8>) -> Address {
    let out = evm
        .transact_at(
            InProcessEvm::SENDER,
            None,
            code.into(),
            U256::ZERO,
            refute_engine::game::simulate::START,
        )
        .unwrap_or_else(|e| panic!("deployment failed: {e:?}"));
    Address::from_slice(&out.output)
}

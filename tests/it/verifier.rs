//! The Solidity one-step verifier (`contracts/src/verifier/StepVerifier.sol`) against the Rust
//! executor (`refute_engine::machine::execute`), in an in-process revm (issue 7, deliverable
//! 2): on witnesses the engine's lazy trace makes — random programs over the implemented
//! opcodes (halts included) and a sample of real state-test steps — the verifier must return
//! exactly the executor's post-state, or revert with `Unsupported` for a family it does not
//! implement yet; where the executor rejects, the verifier must revert.
//!
//! Mutated witnesses: a changed header or frame byte, a stack operand, two swapped operands,
//! the stack's rest hash, a memory or calldata word, a proof sibling, a code byte — each must
//! be rejected by both sides when the step reads that part; random byte flips of the encoded
//! witness must be rejected, or accepted only with the honest post-state (a byte the step does
//! not read): `forged accepted` must be 0.
//!
//! The verifier's gas per opcode (median, p99, max) is printed: the execution gas of a
//! `step(pre, witness)` transaction, its 21,000 base and calldata (4 gas a zero byte, 16 a
//! non-zero one) deducted, and the calldata separately.

use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_sol_types::{SolCall, SolInterface, SolValue};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use refute_contracts::{
    MicroVerifier::{self, MicroVerifierErrors},
    StepVerifier::{self, StepVerifierErrors},
    WorldVerifier::{self, WorldVerifierErrors},
};
use refute_engine::{
    Eip7610,
    corpus::{self, StateTestFile},
    machine::{
        Family, KECCAK_RATE, OPCODES, Pending, PendingKind, StepWitness, TrieWitness, Tries,
        address_key, execute, pair_key,
    },
    trace::{Trace, TraceRecorder},
    workload::Workload,
};
use refute_tests::{CallError, InProcessEvm, corpus_or_skip};
use revm::{
    Context, InspectCommitEvm, MainBuilder, MainContext, database::State,
    primitives::hardfork::SpecId,
};
use std::collections::BTreeMap;

/// What the verifier said about one step.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    /// A post-state commitment.
    Post(B256),
    /// `Unsupported(pendingKind, opcode)`.
    Unsupported,
    /// Any other revert: the witness was rejected (the error's name).
    Rejected(String),
}

/// The deployed verifier.
struct OnChain {
    evm: InProcessEvm,
    address: Address,
}

/// `21,000 + 4 · zero bytes + 16 · other bytes` (Cancun).
fn intrinsic(data: &[u8]) -> u64 {
    21_000 + data.iter().map(|b| if *b == 0 { 4 } else { 16 }).sum::<u64>()
}

impl OnChain {
    /// Deploys `WorldVerifier`, `MicroVerifier` and the `StepVerifier` that forwards to them.
    fn deploy() -> Self {
        let mut evm = InProcessEvm::new();
        let world = evm.deploy(&WorldVerifier::BYTECODE).expect("WorldVerifier deploys");
        let micro = evm.deploy(&MicroVerifier::BYTECODE).expect("MicroVerifier deploys");
        let creation: Bytes =
            [&StepVerifier::BYTECODE[..], &(world, micro).abi_encode_params()].concat().into();
        let address = evm.deploy(&creation).expect("StepVerifier deploys");
        Self { evm, address }
    }

    /// The verdict on `witness` for `pre`, and for a post-state the execution gas and the
    /// calldata gas of the transaction.
    fn step(&mut self, pre: B256, witness: &Bytes) -> (Verdict, u64, u64) {
        let data: Bytes =
            StepVerifier::stepCall { pre, witness: witness.clone() }.abi_encode().into();
        let calldata_gas = intrinsic(&data) - 21_000;
        let sent = self.evm.transact_at(
            InProcessEvm::SENDER,
            Some(self.address),
            data.clone(),
            U256::ZERO,
            1,
        );
        match sent {
            Ok(done) => {
                let post = StepVerifier::stepCall::abi_decode_returns(&done.output)
                    .expect("step returns a bytes32");
                (Verdict::Post(post), done.gas_used - intrinsic(&data), calldata_gas)
            }
            Err(CallError::Revert(data)) => (verdict_of_revert(&data), 0, calldata_gas),
            Err(CallError::Halt(reason)) => panic!("the verifier halted: {reason}"),
        }
    }
}

/// The verdict of a revert: `Unsupported`, or any other error of the verifier's contracts (a
/// forwarded step reverts with the error of the contract that ran it).
fn verdict_of_revert(data: &Bytes) -> Verdict {
    if let Ok(e) = StepVerifierErrors::abi_decode(data) {
        return match e {
            StepVerifierErrors::Unsupported(_) => Verdict::Unsupported,
            other => Verdict::Rejected(format!("{other:?}")),
        };
    }
    if let Ok(e) = WorldVerifierErrors::abi_decode(data) {
        return match e {
            WorldVerifierErrors::Unsupported(_) => Verdict::Unsupported,
            other => Verdict::Rejected(format!("{other:?}")),
        };
    }
    if let Ok(e) = MicroVerifierErrors::abi_decode(data) {
        return match e {
            MicroVerifierErrors::Unsupported(_) => Verdict::Unsupported,
            other => Verdict::Rejected(format!("{other:?}")),
        };
    }
    // A panic or an unknown revert is a defect: bad input must revert typed.
    panic!("untyped revert from the verifier: {data}")
}

/// Gas samples and counts of one harness run.
#[derive(Default)]
struct Tally {
    /// Steps compared (the executor ran them).
    compared: u64,
    /// Steps both accepted with the same post-state.
    agreed: u64,
    /// Steps both rejected.
    both_rejected: u64,
    /// Steps the verifier does not implement yet.
    unsupported: u64,
    /// Targeted mutations both sides rejected.
    mutations_rejected: u64,
    /// Byte flips of the encoding.
    flips: u64,
    /// Byte flips the verifier accepted (each with the honest post-state).
    flips_accepted: u64,
    /// Execution gas per opcode (opcode steps, opening steps included).
    gas: BTreeMap<u8, Vec<u64>>,
    /// Execution gas per micro-step kind (`micro_kind`).
    micro_gas: BTreeMap<&'static str, Vec<u64>>,
    calldata_gas: Vec<u64>,
    failures: Vec<String>,
    /// SSTORE steps both sides agreed on, per EIP-2200/3529 case (`sstore_case`).
    sstore_cases: BTreeMap<&'static str, u64>,
    /// Targeted mutations rejected by both sides, per kind.
    rejected_by_kind: BTreeMap<&'static str, u64>,
    /// Per opcode, the state root and trie nodes of the last world step seen (for the stale
    /// witness mutation).
    stale: BTreeMap<u8, (B256, TrieWitness)>,
}

/// The opcode a witness's opcode step runs (STOP past the code).
fn opcode(witness: &StepWitness) -> u8 {
    let frame = &witness.frame;
    if frame.pc >= frame.code_size {
        return 0;
    }
    witness
        .code
        .iter()
        .find(|chunk| chunk.index == frame.pc / 32)
        .map_or(0, |chunk| chunk.bytes[(frame.pc % 32) as usize])
}

/// A micro-step's targeted mutations: the pending operation changed (a sponge lane, the
/// remaining length, a topic, the copy's source offset), a source word or chunk changed.
fn micro_mutations(witness: &StepWitness, cases: &mut Vec<(&'static str, StepWitness)>) {
    let Some(pending) = &witness.pending else { return };
    let changed = match pending.clone() {
        Pending::Keccak(mut sponge) => {
            sponge.sponge.lanes[3] ^= 1 << 9;
            Pending::Keccak(sponge)
        }
        Pending::Log { mut topics, mut data } => {
            if let Some(topic) = topics.first_mut() {
                topic.0[31] ^= 1;
            } else {
                data.remaining ^= 1;
            }
            Pending::Log { topics, data }
        }
        Pending::Copy(mut copy) => {
            copy.source_offset = copy.source_offset.wrapping_add(1);
            Pending::Copy(copy)
        }
        _ => return,
    };
    let mut m = witness.clone();
    m.pending = Some(changed);
    cases.push(("pending operation", m));
    if !witness.source.is_empty() {
        let mut m = witness.clone();
        m.source[0].word.0[5] ^= 0x20;
        cases.push(("source word", m));
    }
    if !witness.source_code.is_empty() {
        let mut m = witness.clone();
        let last = m.source_code.len() - 1;
        m.source_code[last].bytes[9] ^= 0x20;
        cases.push(("source chunk", m));
    }
}

/// The kind of a micro-step (spec §5.5): a sponge's absorb or pad step (KECCAK256, LOGn), a
/// copy's word.
fn micro_kind(witness: &StepWitness) -> Option<&'static str> {
    Some(match witness.pending.as_ref()? {
        Pending::Keccak(sponge) if sponge.remaining as usize >= KECCAK_RATE => "keccak absorb",
        Pending::Keccak(_) => "keccak pad",
        Pending::Log { data, .. } if data.remaining as usize >= KECCAK_RATE => "log absorb",
        Pending::Log { .. } => "log pad",
        Pending::Copy(_) => "copy word",
        _ => return None,
    })
}

/// The EIP-2200/3529 case of an SSTORE step that reads its slot (`None` for other steps and
/// for an SSTORE halting at the stipend): the branch of the gas and refund rules it takes.
fn sstore_case(witness: &StepWitness) -> Option<&'static str> {
    if witness.state.pending_kind != PendingKind::None || opcode(witness) != 0x55 {
        return None;
    }
    let (tx, [value, slot]) = (witness.tx?, <[U256; 2]>::try_from(witness.stack.clone()).ok()?);
    let tries = Tries { nodes: &witness.tries };
    let me = witness.frame.address;
    let current = tries.storage(witness.state.state_root, me, slot).ok()?;
    let original = tries.storage(tx.start_state_root, me, slot).ok()?;
    Some(if value == current {
        "no-op"
    } else if original == current {
        match (original.is_zero(), value.is_zero()) {
            (true, _) => "fresh create",
            (false, false) => "fresh update",
            (false, true) => "fresh clear",
        }
    } else if !original.is_zero() && current.is_zero() {
        if original == value { "dirty un-clear to original" } else { "dirty un-clear" }
    } else if !original.is_zero() && value.is_zero() {
        "dirty clear"
    } else if original == value {
        if original.is_zero() { "dirty restore zero" } else { "dirty restore" }
    } else {
        "dirty other"
    })
}

/// Whether the verifier implements `opcode`'s family (a step of another family must revert
/// with `Unsupported` unless its prelude halts).
fn implemented(opcode: u8) -> bool {
    OPCODES[opcode as usize].family != Family::Boundary
}

impl Tally {
    /// Compares the two sides on one honest step `pre → post` (`post` the trace's next
    /// commitment), then on its mutations.
    fn check(
        &mut self,
        chain: &mut OnChain,
        pre: B256,
        witness: &StepWitness,
        label: &str,
        rng: &mut ChaCha8Rng,
        mutate: bool,
    ) {
        self.compared += 1;
        let rust = execute(pre, witness);
        let bytes = match witness.encode_for_l1() {
            Ok(bytes) => bytes,
            Err(e) => return self.failures.push(format!("{label}: cannot encode: {e}")),
        };
        match StepWitness::decode_from_l1(&bytes) {
            Ok(decoded) => {
                if decoded.encode_for_l1().ok().as_ref() != Some(&bytes) {
                    self.failures.push(format!("{label}: the encoding does not round-trip"));
                }
                if execute(pre, &decoded).ok() != rust.as_ref().ok().copied() {
                    self.failures
                        .push(format!("{label}: the decoded witness executes differently"));
                }
            }
            Err(e) => self.failures.push(format!("{label}: cannot decode its own encoding: {e}")),
        }
        let (verdict, gas, calldata_gas) = chain.step(pre, &bytes);
        let op = opcode(witness);
        match (&rust, &verdict) {
            (Ok(p), Verdict::Post(q)) if p == q => {
                self.agreed += 1;
                if let Some(case) = sstore_case(witness) {
                    *self.sstore_cases.entry(case).or_default() += 1;
                }
                if witness.state.pending_kind == PendingKind::None
                    && !witness.state.status.is_final()
                {
                    self.gas.entry(op).or_default().push(gas);
                    self.calldata_gas.push(calldata_gas);
                } else if let Some(kind) = micro_kind(witness) {
                    self.micro_gas.entry(kind).or_default().push(gas);
                }
            }
            (Ok(_), Verdict::Unsupported) => {
                self.unsupported += 1;
                if witness.state.pending_kind == PendingKind::None && implemented(op) {
                    self.failures
                        .push(format!("{label}: opcode 0x{op:02x} is implemented but Unsupported"));
                }
            }
            (Err(_), Verdict::Rejected(_) | Verdict::Unsupported) => self.both_rejected += 1,
            _ => self
                .failures
                .push(format!("{label}: op 0x{op:02x}: rust {rust:?}, verifier {verdict:?}")),
        }
        let Ok(post) = rust else { return };
        if !mutate || verdict != Verdict::Post(post) {
            return;
        }
        self.mutations(chain, pre, post, witness, label);
        self.flips(chain, pre, post, &bytes, label, rng);
    }

    /// Targeted mutations of the parts the step reads: both sides must reject each.
    fn mutations(
        &mut self,
        chain: &mut OnChain,
        pre: B256,
        post: B256,
        witness: &StepWitness,
        label: &str,
    ) {
        let halted = witness.state.pending_kind == PendingKind::None && {
            // A halting step reads no operand; a STOP none either. (A micro-step reads no
            // stack but its pending operation, source and memory.)
            let mut probe = witness.clone();
            probe.stack_rest = B256::repeat_byte(0xee);
            execute(pre, &probe).ok() == Some(post)
        };
        let mut cases: Vec<(&'static str, StepWitness)> = Vec::new();
        let mut m = witness.clone();
        m.state.refund ^= 1;
        cases.push(("header byte", m));
        if witness.state.status.is_final() {
            // A final state steps to itself: nothing but the header is read.
            return self.reject_all(chain, pre, cases, label);
        }
        let mut m = witness.clone();
        m.frame.value ^= U256::from(1);
        cases.push(("frame byte", m));
        if let Some(chunk) = witness.code.first() {
            let mut m = witness.clone();
            m.code[0].bytes[(chunk.index as usize * 7) % 32] ^= 0x40;
            cases.push(("code byte", m));
            let mut m = witness.clone();
            m.code[0].proof.siblings[5] ^= B256::with_last_byte(1);
            cases.push(("code proof sibling", m));
        }
        if !halted && !witness.stack.is_empty() {
            let mut m = witness.clone();
            let last = m.stack.len() - 1;
            m.stack[last] = m.stack[last].wrapping_add(U256::from(1));
            cases.push(("stack operand", m));
            let mut m = witness.clone();
            m.stack_rest ^= B256::with_last_byte(1);
            cases.push(("stack rest", m));
            if witness.stack.len() >= 2 && witness.stack[0] != witness.stack[last] {
                let mut m = witness.clone();
                m.stack.swap(0, last);
                cases.push(("swapped stack values", m));
            }
        }
        if !halted && !witness.memory.is_empty() {
            let mut m = witness.clone();
            m.memory[0].word ^= B256::with_last_byte(1);
            cases.push(("memory word", m));
            let mut m = witness.clone();
            let k = m.memory.len() - 1;
            m.memory[k].proof.siblings[21] ^= B256::with_last_byte(1);
            cases.push(("memory proof sibling", m));
        }
        if !halted && !witness.calldata.is_empty() {
            let mut m = witness.clone();
            m.calldata[0].word ^= B256::repeat_byte(0x80);
            cases.push(("calldata word", m));
        }
        if !halted {
            self.world_mutations(pre, witness, &mut cases);
            micro_mutations(witness, &mut cases);
        }
        self.reject_all(chain, pre, cases, label);
    }

    /// The world's targeted mutations of a step that reads trie nodes: a node dropped, a byte
    /// of a node flipped (a wrong proof node), the warm set's path dropped (a wrong warm-set
    /// proof), the trie nodes of an earlier world step (a stale storage value or account),
    /// the account's code changed, the contexts changed.
    fn world_mutations(
        &mut self,
        pre: B256,
        witness: &StepWitness,
        cases: &mut Vec<(&'static str, StepWitness)>,
    ) {
        let nodes: Vec<Bytes> = witness.tries.nodes().cloned().collect();
        if nodes.is_empty() {
            return;
        }
        let k = self.compared as usize;
        let mut m = witness.clone();
        m.tries = TrieWitness::new(
            nodes.iter().enumerate().filter(|(i, _)| *i != k % nodes.len()).map(|(_, n)| n.clone()),
        );
        cases.push(("trie node dropped", m));
        let mut m = witness.clone();
        let mut changed = nodes.clone();
        let node = &mut changed[(k / 3) % nodes.len()];
        let mut bytes = node.to_vec();
        let at = (k * 7) % bytes.len();
        bytes[at] ^= 0x10;
        *node = bytes.into();
        m.tries = TrieWitness::new(changed);
        cases.push(("trie node byte", m));
        // The warm set's path for the step's key: dropped.
        let op = opcode(witness);
        let me = witness.frame.address;
        let warm = match op {
            0x54 | 0x55 => {
                witness.stack.last().map(|slot| (witness.state.warm_slots, pair_key(me, *slot)))
            }
            0x31 | 0x3b | 0x3f => witness.stack.last().map(|word| {
                (witness.state.warm_addresses, address_key(Address::from_word((*word).into())))
            }),
            _ => None,
        };
        if let Some((root, key)) = warm
            && let Ok(path) = witness.tries.minimal_for_get(root, key)
            && !path.is_empty()
        {
            let drop: Vec<&Bytes> = path.nodes().collect();
            let mut m = witness.clone();
            m.tries = TrieWitness::new(nodes.iter().filter(|n| !drop.contains(n)).cloned());
            cases.push(("warm-set proof dropped", m));
        }
        // A stale witness: the trie nodes of the previous world step of the same opcode,
        // when its world differs (the same world would be an honest witness).
        if let Some((state_root, stale)) = self.stale.get(&op)
            && *state_root != witness.state.state_root
        {
            let mut m = witness.clone();
            m.tries = stale.clone();
            if execute(pre, &m).is_err() {
                cases.push(("stale trie nodes", m));
            }
        }
        self.stale.insert(op, (witness.state.state_root, witness.tries.clone()));
        if let Some(code) = &witness.account_code
            && !code.is_empty()
        {
            let mut m = witness.clone();
            let mut bytes = code.to_vec();
            bytes[k % code.len()] ^= 1;
            m.account_code = Some(bytes.into());
            // Only where the step reads the code (EXTCODESIZE of an account with code).
            if execute(pre, &m).is_err() {
                cases.push(("account code byte", m));
            }
        }
        if op == 0x55
            && let Some(tx) = witness.tx
        {
            let mut m = witness.clone();
            let mut tx = tx;
            tx.start_state_root = witness.state.state_root;
            if tx.start_state_root != witness.tx.map(|t| t.start_state_root).unwrap_or_default() {
                m.tx = Some(tx);
                cases.push(("start state root", m));
            }
        }
        if matches!(op, 0x31 | 0x3b | 0x3f)
            && let Some(block) = witness.block
        {
            let mut m = witness.clone();
            let mut block = block;
            block.coinbase = me;
            if block.coinbase != witness.block.map(|b| b.coinbase).unwrap_or_default() {
                m.block = Some(block);
                cases.push(("coinbase", m));
            }
        }
    }

    /// Each mutated witness must be rejected by both sides.
    fn reject_all(
        &mut self,
        chain: &mut OnChain,
        pre: B256,
        cases: Vec<(&'static str, StepWitness)>,
        label: &str,
    ) {
        for (what, m) in cases {
            let rust = execute(pre, &m);
            let Ok(bytes) = m.encode_for_l1() else {
                self.failures.push(format!("{label}: {what}: cannot encode"));
                continue;
            };
            let (verdict, _, _) = chain.step(pre, &bytes);
            if rust.is_ok() || !matches!(verdict, Verdict::Rejected(_)) {
                self.failures.push(format!("{label}: {what}: rust {rust:?}, verifier {verdict:?}"));
            } else {
                self.mutations_rejected += 1;
                *self.rejected_by_kind.entry(what).or_default() += 1;
            }
        }
    }

    /// Random byte flips of the encoding: rejected, or accepted with the honest post-state.
    fn flips(
        &mut self,
        chain: &mut OnChain,
        pre: B256,
        post: B256,
        bytes: &Bytes,
        label: &str,
        rng: &mut ChaCha8Rng,
    ) {
        for _ in 0..2 {
            let mut forged = bytes.to_vec();
            let at = rng.random_range(0..forged.len());
            forged[at] ^= 1 << rng.random_range(0..8);
            self.flips += 1;
            let (verdict, _, _) = chain.step(pre, &forged.clone().into());
            match verdict {
                Verdict::Post(p) if p == post => self.flips_accepted += 1,
                Verdict::Post(p) => {
                    self.failures.push(format!("{label}: forged accepted: byte {at} gives {p}"))
                }
                _ => {}
            }
            if let Ok(decoded) = StepWitness::decode_from_l1(&forged)
                && let Ok(p) = execute(pre, &decoded)
                && p != post
            {
                self.failures.push(format!("{label}: the executor accepts a forgery at byte {at}"));
            }
        }
    }

    /// Runs every step of `trace` (and the final state's padding step) through both sides;
    /// mutations on every `mutate_every`-th compared step.
    fn trace(
        &mut self,
        chain: &mut OnChain,
        trace: &Trace,
        label: &str,
        rng: &mut ChaCha8Rng,
        mutate_every: u64,
    ) {
        for i in 0..=trace.len() {
            let Ok(witness) = trace.witness(i) else { continue }; // exit steps: Engine II
            let pre = trace.commitment(i).expect("commitment");
            // Every world and micro-step family step is mutated (their witnesses are the new
            // part), others every `mutate_every`-th.
            let family = OPCODES[opcode(&witness) as usize].family;
            let newer = match witness.state.pending_kind {
                PendingKind::None => matches!(family, Family::World | Family::Micro),
                kind => matches!(kind, PendingKind::Keccak | PendingKind::Copy | PendingKind::Log),
            };
            let mutate = mutate_every != 0 && (newer || self.compared.is_multiple_of(mutate_every));
            self.check(chain, pre, &witness, &format!("{label} step {i}"), rng, mutate);
            if i < trace.len()
                && let Ok(post) = execute(pre, &witness)
                && post != trace.commitment(i + 1).expect("commitment")
            {
                self.failures.push(format!("{label} step {i}: the executor leaves the trace"));
            }
        }
    }

    fn report(&self, what: &str) {
        eprintln!(
            "{what}: compared {}, agreed {}, both rejected {}, unsupported {}, mutations rejected {}, \
             byte flips {} (accepted with the honest post {}), forged accepted {}",
            self.compared,
            self.agreed,
            self.both_rejected,
            self.unsupported,
            self.mutations_rejected,
            self.flips,
            self.flips_accepted,
            self.failures.iter().filter(|f| f.contains("forged")).count(),
        );
        let kinds: Vec<String> =
            self.rejected_by_kind.iter().map(|(what, n)| format!("{what} {n}")).collect();
        eprintln!("  mutations rejected by kind: {}", kinds.join(", "));
        let cases: Vec<String> =
            self.sstore_cases.iter().map(|(what, n)| format!("{what} {n}")).collect();
        eprintln!("  SSTORE cases: {}", cases.join(", "));
        let stats = |v: &mut Vec<u64>| {
            v.sort_unstable();
            let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
            (at(0.5), at(0.99), v[v.len() - 1])
        };
        let mut all: Vec<u64> = self.gas.values().flatten().copied().collect();
        if !all.is_empty() {
            let (median, p99, max) = stats(&mut all);
            let (cd_median, cd_p99, cd_max) = stats(&mut self.calldata_gas.clone());
            eprintln!(
                "verifier gas over {} opcode steps: execution median {median} / p99 {p99} / max {max}; \
                 calldata median {cd_median} / p99 {cd_p99} / max {cd_max}",
                all.len()
            );
        }
        for (op, samples) in &self.gas {
            let (median, p99, max) = stats(&mut samples.clone());
            eprintln!(
                "  0x{op:02x}: {:>6} steps, median {median}, p99 {p99}, max {max}",
                samples.len()
            );
        }
        for (kind, samples) in &self.micro_gas {
            let (median, p99, max) = stats(&mut samples.clone());
            eprintln!(
                "  {kind}: {:>6} steps, median {median}, p99 {p99}, max {max}",
                samples.len()
            );
        }
        for failure in self.failures.iter().take(20) {
            eprintln!("FAIL {failure}");
        }
    }
}

/// Opcodes the random programs draw from: the implemented families, and a few others.
const OPS: &[u8] = &[
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x10, 0x11, 0x12, 0x13, 0x14,
    0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x30, 0x32, 0x33, 0x34, 0x36, 0x38, 0x3a,
    0x3d, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x48, 0x4a, 0x50, 0x58, 0x59, 0x5a, 0x5b, 0x80, 0x81,
    0x82, 0x83, 0x84, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x9f,
];

/// An account with code and balance in the random programs' world.
const OTHER: Address = Address::new([0xbe; 20]);

/// The accounts the random programs' world steps read: one with code, the sender, the
/// contract, a precompile (warm by rule), the coinbase (zero, warm by rule), absent ones.
const ACCOUNTS: [Address; 7] = [
    OTHER,
    Workload::SENDER,
    Workload::CONTRACT,
    Address::with_last_byte(4),
    Address::ZERO,
    Address::with_last_byte(0x0b),
    Address::new([0x77; 20]),
];

/// The random programs' world: the contract's storage slots 1–3 hold 1, 2 and a large
/// value (original values for SSTORE's refunds), [`OTHER`] has code and a balance.
fn workload(code: Vec<u8>, calldata: Vec<u8>, gas: u64) -> Workload {
    let big = U256::from_be_bytes([0x5a; 32]);
    let mut workload = Workload::new(code.into(), calldata.into(), gas).with_account(
        OTHER,
        U256::from(42),
        Bytes::from_static(&[0x60, 0x01, 0x00]),
    );
    for (slot, value) in [(1u64, U256::from(1)), (2, U256::from(2)), (3, big)] {
        workload = workload
            .with_storage(Workload::CONTRACT, U256::from(slot), value)
            .expect("the contract exists");
    }
    workload
}

/// A random program of storage and transient-storage reads and writes on slots 0–2 with
/// values 0–2, so that SSTORE meets every EIP-2200/3529 case (and the stipend rule when gas
/// runs low).
fn storage_program(rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut code = Vec::new();
    for _ in 0..rng.random_range(4..24) {
        let (value, slot) = (rng.random_range(0..3u8), rng.random_range(0..3u8));
        match rng.random_range(0..10u32) {
            0..6 => code.extend_from_slice(&[0x60, value, 0x60, slot, 0x55]),
            6..8 => code.extend_from_slice(&[0x60, slot, 0x54, 0x50]),
            8 => code.extend_from_slice(&[0x60, value, 0x60, slot, 0x5d]),
            _ => code.extend_from_slice(&[0x60, slot, 0x5c, 0x50]),
        }
    }
    code
}

/// A random program over the implemented opcodes, with forward jumps to JUMPDESTs (and some
/// invalid ones), memory, calldata and context reads at small offsets, and an occasional
/// byte of anything (invalid and unsupported opcodes).
fn program(rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut code = Vec::new();
    let mut jumps = Vec::new();
    let mut dests = Vec::new();
    let small = |rng: &mut ChaCha8Rng, code: &mut Vec<u8>, max: u8| {
        code.extend_from_slice(&[0x60, rng.random_range(0..max)]);
    };
    for _ in 0..rng.random_range(10..80) {
        match rng.random_range(0..140u32) {
            0..30 => {
                let n = rng.random_range(0..=32u8);
                code.push(0x5f + n);
                let big = rng.random_bool(0.5);
                for k in 0..n {
                    code.push(if big || k + 1 == n { rng.random() } else { 0 });
                }
            }
            30..55 => code.push(OPS[rng.random_range(0..OPS.len())]),
            55..62 => {
                // MSTORE / MSTORE8 of a random value at a small offset, or MLOAD.
                code.extend_from_slice(&[0x7f]);
                code.extend((0..32).map(|_| rng.random::<u8>()));
                small(rng, &mut code, 200);
                code.push([0x52, 0x53, 0x51][rng.random_range(0..3)]);
            }
            62..66 => {
                small(rng, &mut code, 80);
                code.push(0x35); // CALLDATALOAD
            }
            66..69 => {
                small(rng, &mut code, 4);
                code.push([0x40, 0x49][rng.random_range(0..2)]); // BLOCKHASH, BLOBHASH
            }
            69..75 => {
                dests.push(code.len());
                code.push(0x5b);
            }
            75..82 => {
                let conditional = rng.random_bool(0.5);
                if conditional {
                    small(rng, &mut code, 2);
                }
                jumps.push(code.len());
                code.extend_from_slice(&[0x61, 0, 0, if conditional { 0x57 } else { 0x56 }]);
            }
            82..85 => code.push(rng.random()),
            85..87 => {
                // Very large offsets: halts.
                code.extend_from_slice(&[0x63, 0xff, 0xff, 0xff, 0xff]);
                code.push([0x51, 0x52, 0x35][rng.random_range(0..3)]);
            }
            100..105 => {
                small(rng, &mut code, 5);
                code.push(0x54); // SLOAD
            }
            105..111 => {
                // SSTORE of a small value (zero, an original value, another) to a slot the
                // pre-state may hold.
                small(rng, &mut code, 4);
                small(rng, &mut code, 5);
                code.push(0x55);
            }
            111..114 => {
                small(rng, &mut code, 3);
                small(rng, &mut code, 3);
                code.push(0x5d); // TSTORE
            }
            114..116 => {
                small(rng, &mut code, 3);
                code.push(0x5c); // TLOAD
            }
            116..122 => {
                // BALANCE, EXTCODESIZE, EXTCODEHASH of an account with code, the sender, the
                // contract itself, a precompile, the coinbase, an absent account.
                let account = ACCOUNTS[rng.random_range(0..ACCOUNTS.len())];
                code.push(0x73);
                code.extend_from_slice(account.as_slice());
                code.push([0x31, 0x3b, 0x3f][rng.random_range(0..3)]);
            }
            122..125 => {
                let pair: &[u8] = [&[0x47u8][..], &[0x30, 0x31], &[0x33, 0x3f], &[0x30, 0x3b]]
                    [rng.random_range(0..4)];
                code.extend_from_slice(pair);
            }
            125..129 => {
                // KECCAK256 of up to three sponge blocks (or nothing) at a small offset.
                let len = if rng.random_bool(0.3) { rng.random_range(0..=300) } else { 0 };
                let len =
                    if len == 0 && rng.random_bool(0.7) { rng.random_range(1..64) } else { len };
                code.extend_from_slice(&[0x61, (len >> 8) as u8, len as u8]);
                small(rng, &mut code, 70);
                code.push(0x20);
            }
            129..133 => {
                // LOG0–LOG4 of small topics and a short or empty data range.
                let topics = rng.random_range(0..=4u8);
                for _ in 0..topics {
                    small(rng, &mut code, 255);
                }
                let max = if rng.random_bool(0.8) { 150 } else { 1 };
                small(rng, &mut code, max);
                small(rng, &mut code, 70);
                code.push(0xa0 + topics);
            }
            133..140 => {
                // CALLDATACOPY, CODECOPY, MCOPY, RETURNDATACOPY (empty return data: only
                // nothing at 0 copies, the rest halts), EXTCODECOPY of the contract itself or
                // of an account of `ACCOUNTS`: `(dest, source, len)` small, sources past the
                // end included.
                let op = [0x37u8, 0x39, 0x5e, 0x3c, 0x37, 0x39, 0x3e, 0x3c][rng.random_range(0..8)];
                small(rng, &mut code, if op == 0x3e { 2 } else { 80 });
                small(rng, &mut code, if op == 0x3e { 1 } else { 120 });
                small(rng, &mut code, 80);
                if op == 0x3c && rng.random_bool(0.5) {
                    code.push(0x30); // ADDRESS
                } else if op == 0x3c {
                    code.push(0x73);
                    code.extend_from_slice(
                        ACCOUNTS[rng.random_range(0..ACCOUNTS.len())].as_slice(),
                    );
                }
                code.push(op);
            }
            _ => code.push([0x0a, 0x80, 0x90, 0x01][rng.random_range(0..4)]),
        }
    }
    for at in jumps {
        let target = match dests.iter().find(|d| **d > at) {
            Some(d) if rng.random_bool(0.9) => *d,
            _ => rng.random_range(0..code.len() + 4),
        };
        code[at + 1..at + 3].copy_from_slice(&(target as u16).to_be_bytes());
    }
    if rng.random_bool(0.5) {
        code.push(0x00);
    }
    code
}

/// The verifier's opcode table is the engine's.
#[test]
fn the_verifier_opcode_table_is_the_engines() {
    let mut chain = OnChain::deploy();
    for op in 0..=255u8 {
        let info = OPCODES[op as usize];
        let family = match info.family {
            Family::Invalid => 0u8,
            Family::Pure => 1,
            Family::Stack => 2,
            Family::Control => 3,
            Family::Memory => 4,
            Family::Frame => 5,
            Family::Context => 6,
            Family::Exit => 7,
            Family::World => 8,
            Family::Boundary => 9,
            Family::Micro => 10,
        };
        let got = chain
            .evm
            .call(chain.address, &StepVerifier::opcodeInfoCall { op })
            .expect("opcodeInfo");
        assert_eq!(
            (got.inputs, got.outputs, got.gas, got.family),
            (
                U256::from(info.inputs),
                U256::from(info.outputs),
                U256::from(info.static_gas),
                U256::from(family)
            ),
            "opcode 0x{op:02x}"
        );
    }
}

/// The largest code EIP-170 deploys, 24,576 bytes, twice: all JUMPDESTs (no chunk holds a PUSH
/// byte: the push-data scan skips each chunk in one test) and 31 JUMPDESTs then a PUSH1 in
/// every chunk (the scan visits every instruction: its worst case). EXTCODESIZE and
/// EXTCODEHASH of each, EXTCODECOPY of its last bytes (the opening builds its code tree on L1)
/// and of its first. Every step agrees, and the openings stay within the 5M gas bound.
#[test]
fn the_verifier_matches_the_executor_on_the_largest_code() {
    let flat = Address::new([0xb1; 20]);
    let pushy = Address::new([0xb2; 20]);
    let mut code = Vec::new();
    for big in [flat, pushy] {
        for op in [0x3bu8, 0x3f] {
            code.push(0x73);
            code.extend_from_slice(big.as_slice());
            code.extend_from_slice(&[op, 0x50]);
        }
        for (source, len) in [(24_500u16, 100u8), (0, 40)] {
            code.extend_from_slice(&[0x60, len, 0x61, (source >> 8) as u8, source as u8, 0x60, 0]);
            code.push(0x73);
            code.extend_from_slice(big.as_slice());
            code.push(0x3c);
        }
    }
    let mut worst = vec![0x5b; 24_576];
    for chunk in worst.chunks_mut(32) {
        chunk[31] = 0x60;
    }
    let workload = workload(code, Vec::new(), 2_000_000)
        .with_account(flat, U256::ZERO, Bytes::from(vec![0x5b; 24_576]))
        .with_account(pushy, U256::ZERO, Bytes::from(worst));
    let (_, trace) = workload.record().expect("the workload runs");
    let mut rng = ChaCha8Rng::seed_from_u64(24_576);
    let mut chain = OnChain::deploy();
    let mut tally = Tally::default();
    tally.trace(&mut chain, &trace, "largest code", &mut rng, 1);
    tally.report("largest code");
    assert!(tally.failures.is_empty(), "{} failures (listed above)", tally.failures.len());
    for op in [0x3bu8, 0x3f, 0x3c] {
        let gas = tally.gas.get(&op).expect("the opcode ran");
        assert!(gas.iter().all(|g| *g < 5_000_000), "0x{op:02x} over 5M gas: {gas:?}");
    }
    assert_eq!(tally.gas[&0x3c].len(), 4, "four EXTCODECOPY openings");
}

/// World steps over larger tries than the corpus's: 20,000 accounts (state-trie paths of five
/// or six nodes) and 2,000 storage slots of the contract (four or five), the storage programs
/// and account reads of the random programs. Every step agrees; the gas figures are the world
/// steps' on deeper tries (BENCHMARKS.md).
#[test]
fn the_verifier_matches_the_executor_on_a_larger_world() {
    let mut rng = ChaCha8Rng::seed_from_u64(20_000);
    let mut chain = OnChain::deploy();
    let mut tally = Tally::default();
    for n in 0..12 {
        let mut code = storage_program(&mut rng);
        for _ in 0..6 {
            let account = ACCOUNTS[rng.random_range(0..ACCOUNTS.len())];
            code.push(0x73);
            code.extend_from_slice(account.as_slice());
            code.extend_from_slice(&[[0x31, 0x3b, 0x3f][rng.random_range(0..3)], 0x50]);
        }
        let mut workload = workload(code, Vec::new(), 1_000_000);
        for k in 0..20_000u32 {
            let mut bytes = [0u8; 20];
            bytes[..4].copy_from_slice(&k.to_be_bytes());
            bytes[19] = 0xaa;
            workload = workload.with_account(Address::new(bytes), U256::from(k + 1), Bytes::new());
        }
        for slot in 10..2_010u64 {
            workload = workload
                .with_storage(Workload::CONTRACT, U256::from(slot), U256::from(slot))
                .expect("the contract exists");
        }
        let (_, trace) = workload.record().expect("the workload runs");
        tally.trace(&mut chain, &trace, &format!("larger world {n}"), &mut rng, 0);
    }
    tally.report("larger world");
    assert!(tally.failures.is_empty(), "{} failures (listed above)", tally.failures.len());
    assert!(tally.gas.contains_key(&0x55), "no SSTORE step");
}

/// Random programs: every step the executor runs, the verifier runs to the same post-state
/// (or reverts `Unsupported` outside its families); mutations are rejected by both.
#[test]
fn the_verifier_matches_the_executor_on_random_programs() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x7665_7269_6669_6572);
    let mut chain = OnChain::deploy();
    let mut tally = Tally::default();
    for n in 0..500 {
        let storage = n % 5 == 4;
        let code = if storage { storage_program(&mut rng) } else { program(&mut rng) };
        let calldata: Vec<u8> = (0..rng.random_range(0..100)).map(|_| rng.random()).collect();
        let budget = if rng.random_bool(0.5) { 30_000 } else { 150_000 };
        let gas = intrinsic(&calldata) + rng.random_range(50..budget);
        let workload = workload(code, calldata, gas);
        let (_, trace) = workload.record().expect("the workload runs");
        tally.trace(&mut chain, &trace, &format!("program {n}"), &mut rng, 3);
    }
    tally.report("random programs");
    assert!(tally.failures.is_empty(), "{} failures (listed above)", tally.failures.len());
    assert!(tally.agreed > 2_000, "only {} steps agreed", tally.agreed);
    assert!(tally.both_rejected == 0, "{} honest steps rejected", tally.both_rejected);
    assert!(tally.mutations_rejected > 2_000, "only {} mutations", tally.mutations_rejected);
    let families: std::collections::BTreeSet<u8> = tally.gas.keys().copied().collect();
    for op in [
        0x00u8, 0x0a, 0x1d, 0x35, 0x40, 0x49, 0x51, 0x52, 0x53, 0x56, 0x57, 0x7f, 0x8f, 0x9f, 0x31,
        0x3b, 0x3f, 0x47, 0x54, 0x55, 0x5c, 0x5d, 0x20, 0x37, 0x39, 0x3c, 0x3e, 0x5e, 0xa0, 0xa1,
        0xa2, 0xa3, 0xa4,
    ] {
        assert!(families.contains(&op), "no step of opcode 0x{op:02x}");
    }
    for case in [
        "no-op",
        "fresh create",
        "fresh update",
        "fresh clear",
        "dirty un-clear",
        "dirty un-clear to original",
        "dirty clear",
        "dirty restore zero",
        "dirty restore",
        "dirty other",
    ] {
        assert!(tally.sstore_cases.contains_key(case), "no SSTORE step of case {case}");
    }
}

/// Records one state-test case's transaction.
fn record(case: &refute_engine::StateTestCase<'_>) -> Option<Trace> {
    let (Ok(cfg), Ok(block), Ok(tx)) = (case.cfg(), case.block_env(), case.tx_env()) else {
        return None;
    };
    let pre = case.pre_state();
    let recorder = TraceRecorder::new().with_pre_state(&pre).ok()?;
    let mut state = State::builder().with_cached_prestate(pre).with_bundle_update().build();
    let mut evm = Context::mainnet()
        .with_cfg(cfg)
        .with_block(block)
        .with_db(&mut state)
        .build_mainnet_with_inspector((Eip7610, recorder));
    let _ = evm.inspect_tx_commit(tx);
    Some(std::mem::take(&mut evm.inspector.1).finish())
}

/// Every step of the cases of every `step`-th file of each of `folders` (at most `cases` cases
/// a file, traces of at most 3,000 steps) until about `budget / folders.len()` steps of the
/// folder were compared.
fn state_tests(folders: &[&str], step: usize, cases: usize, budget: u64) -> Option<Tally> {
    let root = corpus_or_skip()?;
    let tests = root.join("GeneralStateTests");
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut chain = OnChain::deploy();
    let mut tally = Tally::default();
    for folder in folders {
        let files = corpus::json_files(&[tests.join(folder)]).expect("corpus files");
        let end = tally.compared + budget / folders.len() as u64;
        for path in files.iter().step_by(step) {
            if tally.compared > end {
                break;
            }
            let file = StateTestFile::load(path).expect("corpus file");
            for (k, case) in file.cases(SpecId::CANCUN).enumerate().take(cases) {
                let Some(trace) = record(&case) else { continue };
                if trace.len() > 3_000 {
                    continue;
                }
                let name =
                    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                tally.trace(&mut chain, &trace, &format!("{name}[{k}]"), &mut rng, 25);
            }
        }
    }
    Some(tally)
}

/// A sample of real state-test steps (the VM tests and the memory tests), every step of each
/// case's trace: every other file of each folder, up to about 6,000 steps (≈ 15 s on one core).
#[test]
fn the_verifier_matches_the_executor_on_state_tests() {
    let folders = [
        "VMTests/vmArithmeticTest",
        "VMTests/vmBitwiseLogicOperation",
        "VMTests/vmIOandFlowOperations",
        "VMTests/vmTests",
        "stMemoryTest",
    ];
    let Some(tally) = state_tests(&folders, 2, 4, 6_000) else { return };
    tally.report("state tests");
    assert!(tally.failures.is_empty(), "{} failures (listed above)", tally.failures.len());
    assert!(tally.agreed > 2_000, "only {} steps agreed", tally.agreed);
}

/// The world's state tests (storage gas and refunds, transient storage, account reads): every
/// step of a sample of their cases, up to about 8,000 steps.
#[test]
fn the_verifier_matches_the_executor_on_world_state_tests() {
    let folders = [
        "stSelfBalance",
        "stExtCodeHash",
        "Cancun/stEIP1153-transientStorage",
        "stSLoadTest",
        "stSStoreTest",
        "stRefundTest",
        "stEIP2930",
    ];
    let Some(tally) = state_tests(&folders, 1, 2, 8_000) else { return };
    tally.report("world state tests");
    assert!(tally.failures.is_empty(), "{} failures (listed above)", tally.failures.len());
    assert!(tally.agreed > 2_000, "only {} steps agreed", tally.agreed);
    for op in [0x31u8, 0x3b, 0x3f, 0x47, 0x54, 0x55, 0x5c, 0x5d] {
        assert!(tally.gas.contains_key(&op), "no step of opcode 0x{op:02x}");
    }
}

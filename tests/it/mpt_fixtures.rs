//! Differential fixtures for the Solidity trie library (`contracts/src/verifier/LibMPT.sol`,
//! spec §2.4): tries built by the engine's own code (`TrieWitness::apply`, `World`), reads and
//! writes cut to the engine's minimal witnesses (`minimal_for_get`, `minimal_for_set`), and the
//! engine's answers, written as JSON under `contracts/test/fixtures/mpt/` for
//! `contracts/test/LibMPT.t.sol` to replay.
//!
//! One test per fixture file. Each regenerates its file from a fixed seed and fails when the
//! committed file differs, so the fixtures cannot go stale; `REFUTE_BLESS=1` rewrites them
//! (review the diff). Before a case is written, the engine's answer is checked against
//! alloy-trie's `HashBuilder` over a model map (valid tries), so a fixture never records a
//! wrong root; the hostile file records whatever the engine answers (a result or its error),
//! which the Solidity side must reproduce.
//!
//! File format: `{ "description", "coverage": {tag: count}, "count" (of cases), "nodes": [rlp,
//! ...], "cases": [case, ...] }`, each case `{ "note", "op": "get"|"set", "root", "key",
//! "nodes": [indices into the file's nodes] }` and: for a set, `"value"` (`0x` deletes); when the
//! engine answers, `"found"` and (found) `"got"` for a get, `"newRoot"` for a set; when it
//! fails, `"error": "MissingNode"|"Malformed"` and for `MissingNode` the hash, `"missing"`.

use alloy_primitives::{Address, B256, Bytes, U256, hex, keccak256};
use alloy_trie::{EMPTY_ROOT_HASH, HashBuilder, Nibbles};
use refute_engine::{
    AccountLeaf, Error,
    machine::{TrieWitness, WARM, World, address_key, pair_key, slot_key, word_value},
};
use serde_json::{Map, Value, json};
use std::{
    collections::{BTreeMap, HashMap},
    path::PathBuf,
};

// ------------------------------------------------------------------------------------------
// The fixture files
// ------------------------------------------------------------------------------------------

#[test]
fn mpt_fixture_get() {
    let mut f = Fixture::new("get", "reads of present and absent keys in random tries");
    let mut rng = Rng(0x6765_7401);
    for size in [0, 1, 2, 3, 4, 5, 8, 11, 13, 21, 34] {
        let trie = Trie::random(&mut rng, size);
        for key in trie.map.keys().take(5).copied().collect::<Vec<_>>() {
            f.get("present key", &trie, key);
        }
        for _ in 0..4 {
            let key = trie.absent_key(&mut rng);
            f.get("absent key", &trie, key);
        }
    }
    f.require(&[
        ("get:present", 40),
        ("get:empty-trie", 4),
        ("get:empty-slot", 8),
        ("get:leaf-diverges", 12),
        ("get:extension-diverges", 6),
        ("inline-node", 10),
        ("extension", 20),
    ]);
    f.finish();
}

#[test]
fn mpt_fixture_insert() {
    let mut f = Fixture::new(
        "insert",
        "inserts of fresh keys: into the empty trie, into branches, splitting leaves and \
         extensions at every depth, with values of 1 to 120 bytes",
    );
    let mut rng = Rng(0x696e_7301);
    for size in [0, 1, 2, 3, 4, 6, 9, 14, 20, 30] {
        let trie = Trie::random(&mut rng, size);
        for _ in 0..8 {
            let key = trie.absent_key(&mut rng);
            let value = random_value(&mut rng);
            f.set("insert", &trie, key, Some(value));
        }
    }
    f.require(&[
        ("set:insert:empty-trie", 8),
        ("set:insert:empty-slot", 10),
        ("set:insert:leaf-diverges", 30),
        ("set:insert:extension-diverges", 15),
        ("inline-node", 4),
        ("new-inline-node", 10),
    ]);
    f.finish();
}

#[test]
fn mpt_fixture_update() {
    let mut f = Fixture::new(
        "update",
        "updates of present keys, with values crossing the 32-byte inline threshold both ways",
    );
    let mut rng = Rng(0x7570_6401);
    for size in [1, 2, 3, 5, 8, 13, 21] {
        let trie = Trie::random(&mut rng, size);
        let keys: Vec<B256> = trie.map.keys().copied().collect();
        for i in 0..8 {
            let key = keys[rng.below(keys.len())];
            // Alternate short and long values: a leaf moves in and out of its parent.
            let value = if i % 2 == 0 { rng.bytes_in(1, 4) } else { random_value(&mut rng) };
            f.set("update", &trie, key, Some(value));
        }
        let key = keys[0];
        let same = trie.map[&key].clone();
        f.set("update to the same value", &trie, key, Some(same));
    }
    f.require(&[("set:update", 50), ("inline-node", 10)]);
    f.finish();
}

#[test]
fn mpt_fixture_delete() {
    let mut f = Fixture::new(
        "delete",
        "deletes of present keys (collapsing branches into leaves, extensions and shorter \
         branches), of absent keys, and of every key down to the empty trie",
    );
    let mut rng = Rng(0x6465_6c01);
    for size in [1, 2, 3, 4, 6, 9, 14, 20, 30] {
        let trie = Trie::random(&mut rng, size);
        let keys: Vec<B256> = trie.map.keys().copied().collect();
        for _ in 0..6 {
            let key = keys[rng.below(keys.len())];
            f.set("delete", &trie, key, None);
        }
        for _ in 0..2 {
            let key = trie.absent_key(&mut rng);
            f.set("delete an absent key", &trie, key, None);
        }
    }
    // Down to the empty trie, one key at a time, in random order.
    for size in [3, 5, 8] {
        let mut trie = Trie::random(&mut rng, size);
        let mut keys: Vec<B256> = trie.map.keys().copied().collect();
        rng.shuffle(&mut keys);
        for key in keys {
            f.set("delete towards the empty trie", &trie, key, None);
            trie.apply(key, None);
        }
        assert_eq!(trie.root, EMPTY_ROOT_HASH);
    }
    f.require(&[
        ("set:delete:present", 50),
        ("set:delete:to-empty", 3),
        ("set:delete:collapse", 20),
        ("set:delete:absent:empty-slot", 3),
        ("set:delete:absent:leaf-diverges", 3),
        ("inline-node", 10),
    ]);
    f.finish();
}

#[test]
fn mpt_fixture_world() {
    let mut f = Fixture::new(
        "world",
        "the machine's tries through the engine's World: accounts (rlp([nonce, balance, \
         storage_root, code_hash])) in the state trie, rlp(value) in storage tries, 0x01 in \
         the warm sets; reads, balance and nonce updates, new accounts, storage writes and \
         zeroing, warm-set inserts",
    );
    let mut rng = Rng(0x776f_726c);
    let addresses: Vec<Address> = (0..24).map(|_| Address::from_slice(&rng.bytes(20))).collect();
    let slots: Vec<U256> = (0..12u64).map(U256::from).collect();
    let leaf = |rng: &mut Rng, with_storage: bool| AccountLeaf {
        nonce: rng.next() % 1000,
        balance: U256::from(rng.next()) << (rng.below(128)),
        code_hash: if rng.below(2) == 0 { keccak256([]) } else { keccak256(rng.bytes(8)) },
        storage: if with_storage {
            slots
                .iter()
                .map(|slot| (*slot, U256::from(rng.next() >> rng.below(64))))
                .collect::<Vec<_>>()
        } else {
            Vec::new()
        },
    };
    let accounts: Vec<(Address, Account)> =
        addresses[..16].iter().enumerate().map(|(i, a)| (*a, leaf(&mut rng, i < 3))).collect();
    let mut world = World::new(accounts.clone()).unwrap();
    assert_eq!(world.roots.state_root, refute_engine::state_root(accounts.clone()));

    let state = world.roots.state_root;
    for address in &addresses {
        f.get_in("account", world.store(), state, address_key(*address), None);
    }
    for (address, _) in &accounts[..8] {
        let mut next = world.overlay();
        let mut account = next.account(*address).unwrap().unwrap();
        account.balance += U256::from(rng.next());
        account.nonce += 1;
        next.put_account(*address, Some(account)).unwrap();
        let value = next.store().get(next.roots.state_root, address_key(*address)).unwrap();
        f.set_in("account update", world.store(), state, address_key(*address), value);
    }
    for address in &addresses[16..20] {
        let mut next = world.overlay();
        let account = next.account(accounts[0].0).unwrap();
        next.put_account(*address, account).unwrap();
        let value = next.store().get(next.roots.state_root, address_key(*address)).unwrap();
        f.set_in("new account", world.store(), state, address_key(*address), value);
    }
    for (address, _) in &accounts[8..12] {
        f.set_in("account deleted", world.store(), state, address_key(*address), None);
    }
    // Storage tries of the accounts with storage: reads, writes, zeroing.
    for (address, leaf) in &accounts[..3] {
        let storage_root = world.account(*address).unwrap().unwrap().storage_root;
        let expected = refute_engine::storage_root(leaf.storage.clone());
        assert_eq!(storage_root, expected);
        for slot in slots.iter().take(4).chain([&U256::from(999)]) {
            f.get_in("storage slot", world.store(), storage_root, slot_key(*slot), None);
        }
        for (i, slot) in slots.iter().take(6).enumerate() {
            let value = if i % 3 == 0 { U256::ZERO } else { U256::from(rng.next()) };
            let value = word_value(value);
            f.set_in(
                "storage write",
                world.store(),
                storage_root,
                slot_key(*slot),
                value.map(Bytes::from),
            );
        }
    }
    // Warm sets: inserts into a growing set, membership and non-membership.
    for (i, address) in addresses.iter().take(10).enumerate() {
        let roots = world.roots;
        let key = address_key(*address);
        f.set_in(
            "warm address",
            world.store(),
            roots.warm_addresses,
            key,
            Some(Bytes::from_static(WARM)),
        );
        world.warm_address(*address).unwrap();
        let slot = slots[i % slots.len()];
        f.set_in(
            "warm slot",
            world.store(),
            roots.warm_slots,
            pair_key(*address, slot),
            Some(Bytes::from_static(WARM)),
        );
        world.warm_slot(*address, slot).unwrap();
    }
    let warm = world.roots.warm_addresses;
    for address in addresses.iter().take(4) {
        f.get_in("warm member", world.store(), warm, address_key(*address), None);
    }
    f.get_in("warm non-member", world.store(), warm, address_key(Address::ZERO), None);
    f.require(&[
        ("get:present", 20),
        ("set:update", 15),
        ("set:insert:empty-slot", 15),
        ("set:delete:collapse", 3),
    ]);
    f.finish();
}

#[test]
fn mpt_fixture_deep() {
    let mut f = Fixture::new(
        "deep",
        "a mainnet-shaped path: eight full branches (16 hashed children each) above the \
         target's leaf, account-sized values; for gas figures",
    );
    let mut rng = Rng(0x6465_6570);
    let target = B256::from_slice(&rng.bytes(32));
    let mut trie = Trie::empty();
    for level in 0..8 {
        for nibble in 0..16u8 {
            if nibble != nibble_at(&target, level) {
                let key = with_nibble(&near(&mut rng, &target, level), level, nibble);
                trie.apply(key, Some(rng.bytes_in(70, 10)));
            }
        }
    }
    trie.apply(target, Some(rng.bytes(76)));
    f.get("depth 9: read", &trie, target);
    let absent = with_nibble(&near(&mut rng, &target, 8), 8, nibble_at(&target, 8) ^ 1);
    f.get("depth 9: read an absent key", &trie, absent);
    f.set("depth 9: update", &trie, target, Some(rng.bytes(76)));
    f.set("depth 9: insert (splits the leaf)", &trie, absent, Some(rng.bytes(76)));
    f.set("depth 9: delete (no collapse)", &trie, target, None);
    trie.apply(absent, Some(rng.bytes(76)));
    f.set("depth 10: delete (collapses a branch)", &trie, absent, None);
    f.require(&[("set:delete:collapse", 1)]);
    f.finish();
}

#[test]
fn mpt_fixture_hostile() {
    let mut f = Fixture::new(
        "hostile",
        "tries with nodes the engine does not build: mutated nodes (flipped bytes, truncations, \
         wrong item counts, non-canonical RLP, bad hex-prefix flags, bad children, list values) \
         and hand-made odd shapes (extensions of empty paths, extensions over leaves, a branch at \
         the end of a key, short nodes referenced by hash, missing nodes); the engine's answer, a \
         result or an error, is what the Solidity side must give",
    );
    let mut rng = Rng(0x686f_7374);
    for round in 0..42 {
        // Every kind of mutation three times.
        let kind = round % MUTATIONS;
        let size = 2 + rng.below(5);
        // Small values keep the file small; the mutations are in the nodes' structure.
        let trie = Trie::random_with(&mut rng, size, |rng| rng.bytes_in(1, 40));
        let keys: Vec<B256> = trie.map.keys().copied().collect();
        let key = keys[rng.below(keys.len())];
        let mut witness = nodes_of(&trie.store.minimal_for_set(trie.root, key, None).unwrap());
        // Mutate the root or the next node on the key's path, relinking it into the root.
        let root_rlp = witness.iter().find(|n| keccak256(n) == trie.root).unwrap().clone();
        let root = if round % 3 == 2 {
            mutate_child(&mut rng, kind, &root_rlp, &key, &mut witness)
        } else {
            let bad = mutate(&mut rng, kind, &root_rlp);
            witness.push(bad.clone());
            keccak256(&bad)
        };
        let op_key = match rng.below(3) {
            0 => key,
            1 => keys[rng.below(keys.len())],
            _ => trie.absent_key(&mut rng),
        };
        f.get_with("mutated: get", witness.clone(), root, op_key);
        f.set_with(
            "mutated: insert or update",
            witness.clone(),
            root,
            op_key,
            Some(random_value(&mut rng)),
        );
        f.set_with("mutated: delete", witness, root, op_key, None);
    }
    for (note, nodes, root, key) in odd_shapes(&mut rng) {
        f.set_with(note, nodes.clone(), root, key, Some(vec![0x01]));
        // The key, one differing in its second nibble, one in its first.
        let second = with_nibble(&key, 1, nibble_at(&key, 1) ^ 3);
        let first = with_nibble(&key, 0, (nibble_at(&key, 0) + 1) % 16);
        for key in [key, second, first] {
            f.get_with(note, nodes.clone(), root, key);
            f.set_with(note, nodes.clone(), root, key, Some(random_value(&mut rng)));
            f.set_with(note, nodes.clone(), root, key, None);
        }
    }
    // Small nodes as roots, each breaking one rule (or none: the last ones decode).
    let key = B256::from_slice(&rng.bytes(32));
    for garbage in GARBAGE {
        let node = Bytes::from_static(garbage);
        f.get_with("a small root", vec![node.clone()], keccak256(&node), key);
        f.set_with("a small root", vec![node.clone()], keccak256(&node), key, Some(vec![7]));
    }
    f.require(&[("error:Malformed", 30), ("error:MissingNode", 10), ("ok", 60)]);
    f.finish();
}

/// An account with its storage, as `World::new` takes it.
type Account = AccountLeaf<Vec<(U256, U256)>>;

// ------------------------------------------------------------------------------------------
// A fixture file
// ------------------------------------------------------------------------------------------

/// One fixture file being built: its node pool, its cases and coverage counts.
struct Fixture {
    name: &'static str,
    description: &'static str,
    pool: Vec<Bytes>,
    index: HashMap<Bytes, usize>,
    cases: Vec<Value>,
    coverage: BTreeMap<String, u64>,
}

impl Fixture {
    fn new(name: &'static str, description: &'static str) -> Self {
        Self {
            name,
            description,
            pool: Vec::new(),
            index: HashMap::new(),
            cases: Vec::new(),
            coverage: BTreeMap::new(),
        }
    }

    /// A read of `key` in a valid trie, checked against the model.
    fn get(&mut self, note: &str, trie: &Trie, key: B256) {
        self.get_in(note, &trie.store, trie.root, key, Some(trie.map.get(&key).cloned()));
    }

    /// A write in a valid trie, checked against alloy-trie's root of the model after it.
    fn set(&mut self, note: &str, trie: &Trie, key: B256, value: Option<Vec<u8>>) {
        let mut map = trie.map.clone();
        match &value {
            Some(value) => map.insert(key, value.clone()),
            None => map.remove(&key),
        };
        let expected = oracle_root(&map);
        if value.is_some() && trie.map.keys().any(|k| shared_nibbles(k, &key) >= 54 && *k != key) {
            // The new or updated leaf sits deep enough to be inline in its parent.
            self.tag("new-inline-node");
        }
        let new_root = self.set_in(note, &trie.store, trie.root, key, value.map(Bytes::from));
        assert_eq!(
            new_root, expected,
            "{}: {note}: the engine's root is not alloy-trie's",
            self.name
        );
    }

    /// A read through a store that holds the whole trie: the minimal witness must answer as
    /// the store does (and as the model, when given).
    fn get_in(
        &mut self,
        note: &str,
        store: &TrieWitness,
        root: B256,
        key: B256,
        model: Option<Option<Vec<u8>>>,
    ) {
        let full = store.get(root, key).expect("the store reads its own trie");
        if let Some(model) = model {
            assert_eq!(full.as_ref().map(|v| v.to_vec()), model, "{}: {note}", self.name);
        }
        let witness = nodes_of(&store.minimal_for_get(root, key).expect("a read's witness"));
        self.tag(&format!("get:{}", walk_shape(&witness, root, &key)));
        let minimal =
            TrieWitness::new(witness.clone()).get(root, key).expect("the minimal witness reads");
        assert_eq!(minimal, full, "{}: {note}: the minimal witness answers otherwise", self.name);
        self.get_with(note, witness, root, key);
    }

    /// A write through a store that holds the whole trie; returns the new root.
    fn set_in(
        &mut self,
        note: &str,
        store: &TrieWitness,
        root: B256,
        key: B256,
        value: Option<Bytes>,
    ) -> B256 {
        let raw: Option<&[u8]> = value.as_ref().map(|v| v.as_ref());
        let full = store.set(root, key, raw).expect("the store writes its own trie");
        let witness = nodes_of(&store.minimal_for_set(root, key, raw).expect("a write's witness"));
        let shape = walk_shape(&witness, root, &key);
        let present = shape == "present";
        let kind = match (&value, present) {
            (Some(_), true) => "update".to_string(),
            (Some(_), false) => format!("insert:{shape}"),
            (None, true) => "delete:present".to_string(),
            (None, false) => format!("delete:absent:{shape}"),
        };
        self.tag(&format!("set:{kind}"));
        if value.is_none() && present {
            let read = store.minimal_for_get(root, key).expect("a read's witness");
            if witness.len() > read.len() {
                self.tag("set:delete:collapse");
            }
            if full == EMPTY_ROOT_HASH {
                self.tag("set:delete:to-empty");
            }
        }
        let minimal = TrieWitness::new(witness.clone())
            .set(root, key, raw)
            .expect("the minimal witness writes");
        assert_eq!(minimal, full, "{}: {note}: the minimal witness answers otherwise", self.name);
        self.set_with(note, witness, root, key, value.map(|v| v.to_vec()));
        full
    }

    /// Records a read with exactly `nodes` as the witness, and the engine's answer.
    fn get_with(&mut self, note: &str, nodes: Vec<Bytes>, root: B256, key: B256) {
        let result = TrieWitness::new(nodes.clone()).get(root, key);
        let mut case = self.case(note, "get", root, key, nodes);
        if let Ok(value) = &result {
            case.insert("found".into(), json!(value.is_some()));
            if let Some(value) = value {
                case.insert("got".into(), json!(value));
            }
        }
        self.push(case, result.as_ref().err());
    }

    /// Records a write with exactly `nodes` as the witness, and the engine's answer.
    fn set_with(
        &mut self,
        note: &str,
        nodes: Vec<Bytes>,
        root: B256,
        key: B256,
        value: Option<Vec<u8>>,
    ) {
        let result = TrieWitness::new(nodes.clone()).set(root, key, value.as_deref());
        let mut case = self.case(note, "set", root, key, nodes);
        case.insert("value".into(), json!(Bytes::from(value.unwrap_or_default())));
        if let Ok(new_root) = &result {
            case.insert("newRoot".into(), json!(new_root));
        }
        self.push(case, result.as_ref().err());
    }

    fn case(
        &mut self,
        note: &str,
        op: &str,
        root: B256,
        key: B256,
        mut nodes: Vec<Bytes>,
    ) -> Map<String, Value> {
        nodes.sort();
        nodes.dedup();
        if nodes.iter().any(|n| has_inline_child(n)) {
            self.tag("inline-node");
        }
        if nodes.iter().any(|n| is_extension(n)) {
            self.tag("extension");
        }
        let indices: Vec<usize> = nodes.into_iter().map(|n| self.intern(n)).collect();
        let mut case = Map::new();
        case.insert("note".into(), json!(note));
        case.insert("op".into(), json!(op));
        case.insert("root".into(), json!(root));
        case.insert("key".into(), json!(key));
        case.insert("nodes".into(), json!(indices));
        case
    }

    fn push(&mut self, mut case: Map<String, Value>, error_of: Option<&Error>) {
        let error = match error_of {
            None => "",
            Some(Error::MissingProofNode(_)) => "MissingNode",
            Some(Error::MalformedTrieNode(_)) => "Malformed",
            Some(other) => panic!("{}: a trie operation failed otherwise: {other}", self.name),
        };
        self.tag(if error.is_empty() { "ok" } else { "error" });
        if !error.is_empty() {
            self.tag(&format!("error:{error}"));
        }
        if !error.is_empty() {
            case.insert("error".into(), json!(error));
        }
        if let Some(Error::MissingProofNode(hash)) = error_of {
            case.insert("missing".into(), json!(hash));
        }
        self.cases.push(Value::Object(case));
    }

    fn intern(&mut self, node: Bytes) -> usize {
        if let Some(&i) = self.index.get(&node) {
            return i;
        }
        self.pool.push(node.clone());
        self.index.insert(node, self.pool.len() - 1);
        self.pool.len() - 1
    }

    fn tag(&mut self, tag: &str) {
        *self.coverage.entry(tag.to_string()).or_default() += 1;
    }

    /// Fails unless each tag was counted at least as often as given: the generator must keep
    /// covering the shapes the fixture promises.
    fn require(&self, minimums: &[(&str, u64)]) {
        for (tag, min) in minimums {
            let got = self.coverage.get(*tag).copied().unwrap_or(0);
            assert!(
                got >= *min,
                "{}: {got} cases of {tag}, want at least {min}; coverage: {:?}",
                self.name,
                self.coverage
            );
        }
    }

    /// Writes the file under `REFUTE_BLESS=1`, else fails unless it equals the committed one.
    fn finish(self) {
        // Pretty at the top, one node and one case per line: small, and diffs read well.
        let line = |v: &Value| serde_json::to_string(v).expect("JSON values serialize");
        let list = |items: Vec<String>| format!("[\n    {}\n  ]", items.join(",\n    "));
        let text = format!(
            "{{\n  \"description\": {},\n  \"coverage\": {},\n  \"count\": {},\n  \"nodes\": {},\n  \"cases\": {}\n}}\n",
            line(&json!(self.description)),
            line(&json!(self.coverage)),
            self.cases.len(),
            list(self.pool.iter().map(|n| line(&json!(n))).collect()),
            list(self.cases.iter().map(line).collect()),
        );
        let path = fixture_dir().join(format!("{}.json", self.name));
        if std::env::var_os("REFUTE_BLESS").is_some() {
            std::fs::create_dir_all(fixture_dir()).expect("the fixture directory");
            std::fs::write(&path, &text).expect("the fixture file is written");
            return;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == text,
            "{} is stale or missing: rerun with REFUTE_BLESS=1 and review the diff",
            path.display()
        );
    }
}

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../contracts/test/fixtures/mpt")
}

// ------------------------------------------------------------------------------------------
// Valid tries
// ------------------------------------------------------------------------------------------

/// A trie built by the engine (`TrieWitness::apply`), every version kept, with its model.
struct Trie {
    store: TrieWitness,
    root: B256,
    map: BTreeMap<B256, Vec<u8>>,
}

impl Trie {
    /// `size` keys in families sharing long prefixes (extensions, deep branches, inline
    /// nodes), values of every size class.
    fn random(rng: &mut Rng, size: usize) -> Self {
        Self::random_with(rng, size, random_value)
    }

    /// As [`Self::random`], values from `value`.
    fn random_with(rng: &mut Rng, size: usize, value: fn(&mut Rng) -> Vec<u8>) -> Self {
        let mut trie = Self::empty();
        let mut keys: Vec<B256> = Vec::new();
        for _ in 0..size {
            let key = if keys.is_empty() || rng.below(3) == 0 {
                B256::from_slice(&rng.bytes(32))
            } else {
                let base = keys[rng.below(keys.len())];
                let depth = random_depth(rng);
                near(rng, &base, depth)
            };
            keys.push(key);
            let value = value(rng);
            trie.apply(key, Some(value));
        }
        assert_eq!(trie.root, oracle_root(&trie.map));
        trie
    }

    fn empty() -> Self {
        Self { store: TrieWitness::default(), root: EMPTY_ROOT_HASH, map: BTreeMap::new() }
    }

    fn apply(&mut self, key: B256, value: Option<Vec<u8>>) {
        self.root =
            self.store.apply(self.root, key, value.as_deref()).expect("the engine applies a write");
        match value {
            Some(value) => self.map.insert(key, value),
            None => self.map.remove(&key),
        };
    }

    /// A key not in the trie: random, or sharing a prefix with a present key.
    fn absent_key(&self, rng: &mut Rng) -> B256 {
        loop {
            let key = if self.map.is_empty() || rng.below(4) == 0 {
                B256::from_slice(&rng.bytes(32))
            } else {
                let keys: Vec<&B256> = self.map.keys().collect();
                let base = *keys[rng.below(keys.len())];
                let depth = random_depth(rng);
                near(rng, &base, depth)
            };
            if !self.map.contains_key(&key) {
                return key;
            }
        }
    }
}

/// alloy-trie's root of a key/value map: the oracle the engine's roots are checked against.
fn oracle_root(map: &BTreeMap<B256, Vec<u8>>) -> B256 {
    let mut builder = HashBuilder::default();
    for (key, value) in map {
        builder.add_leaf(Nibbles::unpack(key), value);
    }
    builder.root()
}

/// A value of a random size class: one byte below and above 0x80, around the 32-byte inline
/// threshold, and long enough for long-form RLP lengths.
fn random_value(rng: &mut Rng) -> Vec<u8> {
    match rng.below(6) {
        0 => vec![(rng.next() & 0x7f) as u8 | 1],
        1 => vec![0x80 | rng.next() as u8],
        2 => rng.bytes_in(2, 8),
        3 => rng.bytes_in(28, 8),
        4 => rng.bytes_in(50, 20),
        _ => rng.bytes_in(70, 50),
    }
}

/// A nibble depth biased towards both ends: short shared prefixes make wide branches, long
/// ones extensions and inline nodes near the bottom.
fn random_depth(rng: &mut Rng) -> usize {
    match rng.below(3) {
        0 => rng.below(4),
        1 => rng.below(64),
        _ => 56 + rng.below(8),
    }
}

/// A key sharing exactly `depth` leading nibbles with `base` (64: `base` itself).
fn near(rng: &mut Rng, base: &B256, depth: usize) -> B256 {
    let mut key = B256::from_slice(&rng.bytes(32));
    for i in 0..depth {
        key = with_nibble(&key, i, nibble_at(base, i));
    }
    if depth < 64 && nibble_at(&key, depth) == nibble_at(base, depth) {
        key = with_nibble(&key, depth, nibble_at(base, depth) ^ (1 + rng.below(15) as u8));
    }
    key
}

fn shared_nibbles(a: &B256, b: &B256) -> usize {
    (0..64).take_while(|&i| nibble_at(a, i) == nibble_at(b, i)).count()
}

fn nibble_at(key: &B256, i: usize) -> u8 {
    (key[i / 2] >> if i.is_multiple_of(2) { 4 } else { 0 }) & 0x0f
}

fn with_nibble(key: &B256, i: usize, nibble: u8) -> B256 {
    let mut key = *key;
    let shift = if i.is_multiple_of(2) { 4 } else { 0 };
    key[i / 2] = (key[i / 2] & !(0x0f << shift)) | ((nibble & 0x0f) << shift);
    key
}

fn nodes_of(witness: &TrieWitness) -> Vec<Bytes> {
    let mut nodes: Vec<Bytes> = witness.nodes().cloned().collect();
    nodes.sort();
    nodes
}

// ------------------------------------------------------------------------------------------
// Hostile tries
// ------------------------------------------------------------------------------------------

/// Small root nodes: each breaks one rule of node decoding, except the two that decode.
const GARBAGE: &[&[u8]] = &[
    &hex!("01"),           // not a list
    &hex!("c0"),           // no items
    &hex!("c3010203"),     // three items
    &hex!("c2c0"),         // shorter than its header says
    &hex!("c12001"),       // an item after the list
    &hex!("c3208101"),     // a leaf's value 0x81 0x01: a one-byte string not in canonical form
    &hex!("f8032081ff"),   // a long-form list length below 56
    &hex!("f900032081ff"), // a long-form list length with a leading zero
    &hex!("c3c12001"),     // a path that is a list
    &hex!("c28080"),       // an empty hex-prefix path
    &hex!("c482400101"),   // hex-prefix flag 4
    &hex!("c482010101"),   // an even flag with a nonzero padding nibble
    &hex!("c22080"),       // a leaf of an empty value
    &hex!("c320c101"),     // a leaf whose value is a list
    &hex!("c3008101"),     // an extension whose child is a one-byte string
    &hex!("c2002a"),       // an extension whose child is a one-byte string below 0x80
    &hex!("c2208101"),     // shorter than its header says, inside
    &hex!("c3208180"),     // a leaf of an empty path: decodes
    &hex!("c20080"),       // an extension of an empty path and no child: decodes
    &hex!("c4c2208080"),   // two items, the path a list
    &hex!("c420a00102"),   // a leaf whose 32-byte value is cut short
    // A branch of one hashed child in a long-form header below 56 bytes.
    &hex!(
        "f831a0000000000000000000000000000000000000000000000000000000000000000180808080808080808080808080808080"
    ),
];

/// The kinds of [`mutate`].
const MUTATIONS: usize = 14;

/// A mutation of kind `kind` (below [`MUTATIONS`]) of a valid node's RLP; the result may or
/// may not decode.
fn mutate(rng: &mut Rng, kind: usize, node: &[u8]) -> Bytes {
    let mut items = rlp_items(node).expect("a valid node");
    let out = match kind {
        0 => {
            let mut bad = node.to_vec();
            let at = rng.below(bad.len());
            bad[at] ^= 1 << rng.below(8);
            bad
        }
        1 => node[..rng.below(node.len())].to_vec(),
        2 => [node, &[rng.next() as u8]].concat(),
        3 => {
            let at = rng.below(items.len());
            items.remove(at);
            rlp_list(&items)
        }
        4 => {
            let at = rng.below(items.len());
            let item = items[at].clone();
            items.insert(at, item);
            rlp_list(&items)
        }
        5 => {
            // A list, or a string, in the last slot (a branch's value, a leaf's value, an
            // extension's child).
            let last = items.len() - 1;
            items[last] = match rng.below(4) {
                0 => vec![0xc0],
                1 => vec![0xc1, 0x01],
                2 => vec![0xc2, 0x80, 0x80],
                _ => rlp_string(&rng.bytes_in(1, 40)),
            };
            rlp_list(&items)
        }
        6 => {
            // A child slot replaced: none, a hash not in the witness, a string of a wrong
            // length, an inline leaf, a list of 32 bytes or more, a malformed inline list.
            let at = rng.below(items.len());
            items[at] = match rng.below(6) {
                0 => vec![0x80],
                1 => rlp_string(&rng.bytes(32)),
                2 => rlp_string(&{
                    let n = [1, 2, 31, 33][rng.below(4)];
                    rng.bytes(n)
                }),
                3 => rlp_list(&[vec![0x20 | rng.below(16) as u8], vec![0x01]]),
                // An inline-looking leaf of exactly 32 or 33 bytes.
                4 => {
                    let n = 29 + rng.below(2);
                    rlp_list(&[rlp_string(&[0x20]), rlp_string(&rng.bytes(n))])
                }
                _ => vec![0xc3, 0x80, 0x80, 0x80],
            };
            rlp_list(&items)
        }
        7 => {
            // The hex-prefix flag nibble of a leaf's or extension's path.
            if items.len() == 2 {
                let mut path = rlp_payload(&items[0]).expect("a valid node").to_vec();
                path[0] = (path[0] & 0x0f) | ((rng.below(16) as u8) << 4);
                items[0] = rlp_string(&path);
            } else {
                items[rng.below(17)] = vec![0x21];
            }
            rlp_list(&items)
        }
        8 => {
            // The list header in long form (non-canonical below 56 bytes), or with a leading
            // zero length byte.
            let payload: Vec<u8> = items.concat();
            let len = payload.len();
            let header = if rng.below(2) == 0 {
                vec![0xf8, len as u8]
            } else {
                vec![0xf9, (len >> 8) as u8, len as u8]
            };
            [header, payload].concat()
        }
        9 => {
            // A one-byte string below 0x80 in the 0x81 form.
            let at = rng.below(items.len());
            items[at] = vec![0x81, rng.below(0x80) as u8];
            rlp_list(&items)
        }
        10 => {
            // An empty path (a leaf or extension of no nibbles).
            if items.len() == 2 {
                let flag = rlp_payload(&items[0]).expect("a valid node")[0] & 0x20;
                items[0] = vec![flag];
            }
            rlp_list(&items)
        }
        11 => {
            // An empty value, or an empty path string.
            let at = rng.below(items.len());
            items[at] = vec![0x80];
            if items.len() == 2 {
                items[0] = vec![0x80];
            }
            rlp_list(&items)
        }
        12 => {
            // A string where a list is (the node is not a list), or the empty list.
            if rng.below(2) == 0 { rlp_string(&items.concat()) } else { vec![0xc0] }
        }
        _ => {
            // A declared length past the end.
            let mut bad = rlp_list(&items);
            bad.truncate(bad.len() - 1 - rng.below(3).min(bad.len() - 2));
            bad
        }
    };
    Bytes::from(out)
}

/// Mutates the node under the root's child on `key`'s path and relinks it into a new root
/// (by hash, even when short); returns the new root. Without such a child, mutates the root.
fn mutate_child(
    rng: &mut Rng,
    kind: usize,
    root_rlp: &[u8],
    key: &B256,
    witness: &mut Vec<Bytes>,
) -> B256 {
    let mut items = rlp_items(root_rlp).expect("a valid node");
    let slot = if items.len() == 17 { nibble_at(key, 0) as usize } else { 1 };
    let child = items[slot].clone();
    let child_rlp = if child.len() == 33 {
        let hash = B256::from_slice(&child[1..]);
        witness.iter().find(|n| keccak256(n) == hash).cloned()
    } else if child[0] >= 0xc0 {
        Some(Bytes::from(child.clone()))
    } else {
        None
    };
    let Some(child_rlp) = child_rlp else {
        let bad = mutate(rng, kind, root_rlp);
        witness.push(bad.clone());
        return keccak256(&bad);
    };
    let bad = mutate(rng, kind, &child_rlp);
    items[slot] = rlp_string(keccak256(&bad).as_slice());
    let root = Bytes::from(rlp_list(&items));
    witness.push(bad);
    witness.push(root.clone());
    keccak256(&root)
}

/// Hand-made tries of shapes the engine never builds but decodes: each `(note, witness, root,
/// key)`, the key walking into the odd part.
fn odd_shapes(rng: &mut Rng) -> Vec<(&'static str, Vec<Bytes>, B256, B256)> {
    let key = B256::from_slice(&rng.bytes(32));
    let path =
        |from: usize, to: usize| -> Vec<u8> { (from..to).map(|i| nibble_at(&key, i)).collect() };
    let leaf_rest = |from: usize, value: &[u8]| {
        rlp_list(&[rlp_string(&hex_prefix(&path(from, 64), true)), rlp_string(value)])
    };
    let hash_ref = |node: &[u8]| rlp_string(keccak256(node).as_slice());
    let mut shapes = Vec::new();
    let mut push = |note, nodes: Vec<Vec<u8>>, root: &[u8]| {
        let mut nodes: Vec<Bytes> = nodes.into_iter().map(Bytes::from).collect();
        nodes.push(Bytes::copy_from_slice(root));
        shapes.push((note, nodes, keccak256(root), key));
    };
    let value = rng.bytes(40);

    // A branch with one child and no value (a delete elsewhere collapses it).
    let leaf = leaf_rest(1, &value);
    let mut items = vec![vec![0x80]; 17];
    items[nibble_at(&key, 0) as usize] = hash_ref(&leaf);
    push("a branch of one child", vec![leaf.clone()], &rlp_list(&items));
    // The same without the child's node: missing.
    push("a branch of one child, the child missing", vec![], &rlp_list(&items));
    // A branch of one child, a branch of two leaves: deleting one collapses the child into a
    // new leaf, then the root into it (the new leaf is not in the witness).
    let leaf2 = leaf_rest(2, &value);
    let mut inner = vec![vec![0x80]; 17];
    inner[nibble_at(&key, 1) as usize] = hash_ref(&leaf2);
    inner[(nibble_at(&key, 1) ^ 3) as usize] = hash_ref(&leaf2);
    let inner = rlp_list(&inner);
    let mut outer = vec![vec![0x80]; 17];
    outer[nibble_at(&key, 0) as usize] = hash_ref(&inner);
    push(
        "a branch of one child over a branch of two leaves",
        vec![leaf2.clone(), inner],
        &rlp_list(&outer),
    );
    // A branch of one child and a value.
    items[16] = rlp_string(&value[..5]);
    push("a branch of one child and a value", vec![leaf.clone()], &rlp_list(&items));
    // A branch with a list in its value slot.
    let other = (nibble_at(&key, 0) as usize + 1) % 16;
    let mut items = vec![vec![0x80]; 17];
    items[nibble_at(&key, 0) as usize] = hash_ref(&leaf);
    items[other] = hash_ref(&leaf);
    items[16] = vec![0xc1, 0x01];
    push("a branch with a list as its value", vec![leaf.clone()], &rlp_list(&items));
    // An inline branch with a list value and no children under a hashed branch.
    let mut inner = vec![vec![0x80]; 17];
    inner[16] = vec![0xc0];
    items[16] = vec![0x80];
    items[nibble_at(&key, 0) as usize] = rlp_list(&inner);
    push("an inline branch with a list as its value", vec![leaf.clone()], &rlp_list(&items));
    // An extension of an empty path over a branch.
    let mut items = vec![vec![0x80]; 17];
    items[nibble_at(&key, 0) as usize] = hash_ref(&leaf);
    items[other] = hash_ref(&leaf);
    let branch = rlp_list(&items);
    let ext = rlp_list(&[vec![0x00], hash_ref(&branch)]);
    push("an extension of an empty path", vec![leaf.clone(), branch.clone()], &ext);
    // An extension over a leaf, and over an extension.
    let leaf10 = leaf_rest(10, &value);
    let ext = rlp_list(&[rlp_string(&hex_prefix(&path(0, 10), false)), hash_ref(&leaf10)]);
    push("an extension over a leaf", vec![leaf10.clone()], &ext);
    let ext2 = rlp_list(&[rlp_string(&hex_prefix(&path(5, 10), false)), hash_ref(&leaf10)]);
    let ext1 = rlp_list(&[rlp_string(&hex_prefix(&path(0, 5), false)), hash_ref(&ext2)]);
    push("an extension over an extension", vec![leaf10, ext2], &ext1);
    // An extension of the whole key over a branch with a value: the key ends at a branch.
    let mut items = vec![vec![0x80]; 17];
    items[3] = hash_ref(&leaf);
    items[9] = hash_ref(&leaf);
    items[16] = rlp_string(&value);
    let branch = rlp_list(&items);
    let ext = rlp_list(&[rlp_string(&hex_prefix(&path(0, 64), false)), hash_ref(&branch)]);
    push("a branch at the end of the key", vec![leaf.clone(), branch], &ext);
    // The same without a value (a branch the fast path reads).
    items[16] = vec![0x80];
    let branch = rlp_list(&items);
    let ext = rlp_list(&[rlp_string(&hex_prefix(&path(0, 64), false)), hash_ref(&branch)]);
    push("a branch of no value at the end of the key", vec![leaf.clone(), branch], &ext);
    // Leaves of paths shorter and longer than the rest of the key.
    let short = rlp_list(&[rlp_string(&hex_prefix(&path(0, 3), true)), rlp_string(&value)]);
    push("a leaf of a short path", vec![], &short);
    let long = [path(0, 64), vec![1, 2, 3]].concat();
    let long = rlp_list(&[rlp_string(&hex_prefix(&long, true)), rlp_string(&value)]);
    push("a leaf of a long path", vec![], &long);
    // A short root and a short child referenced by hash.
    let tiny = rlp_list(&[rlp_string(&hex_prefix(&path(1, 3), true)), vec![0x05]]);
    push("a short root", vec![], &tiny);
    let mut items = vec![vec![0x80]; 17];
    items[nibble_at(&key, 0) as usize] = hash_ref(&tiny);
    items[other] = hash_ref(&leaf);
    push("a short child referenced by hash", vec![tiny.clone(), leaf.clone()], &rlp_list(&items));
    // An extension whose child is empty.
    let ext = rlp_list(&[rlp_string(&hex_prefix(&path(0, 4), false)), vec![0x80]]);
    push("an extension of no child", vec![], &ext);
    shapes
}

// ------------------------------------------------------------------------------------------
// Test-side RLP and node inspection (valid, canonical input only)
// ------------------------------------------------------------------------------------------

/// The length of a header and of its payload, for canonical RLP.
fn rlp_header(buf: &[u8]) -> Option<(bool, usize, usize)> {
    let b = *buf.first()?;
    Some(match b {
        0x00..=0x7f => (false, 0, 1),
        0x80..=0xb7 => (false, 1, (b - 0x80) as usize),
        0xb8..=0xbf | 0xf8..=0xff => {
            let n = (b - if b >= 0xf8 { 0xf7 } else { 0xb7 }) as usize;
            let len = buf.get(1..1 + n)?.iter().fold(0usize, |v, &x| (v << 8) | x as usize);
            (b >= 0xf8, 1 + n, len)
        }
        _ => (true, 1, (b - 0xc0) as usize),
    })
}

/// The raw encodings of a list's items.
fn rlp_items(node: &[u8]) -> Option<Vec<Vec<u8>>> {
    let (list, header, len) = rlp_header(node)?;
    if !list || header.checked_add(len) != Some(node.len()) {
        return None;
    }
    let mut rest = &node[header..];
    let mut items = Vec::new();
    while !rest.is_empty() {
        let (_, h, l) = rlp_header(rest)?;
        let end = h.checked_add(l)?;
        items.push(rest.get(..end)?.to_vec());
        rest = &rest[end..];
    }
    Some(items)
}

fn rlp_payload(item: &[u8]) -> Option<&[u8]> {
    let (_, header, len) = rlp_header(item)?;
    if item[0] < 0x80 { Some(item) } else { item.get(header..header.checked_add(len)?) }
}

fn rlp_string(s: &[u8]) -> Vec<u8> {
    if s.len() == 1 && s[0] < 0x80 {
        return s.to_vec();
    }
    [rlp_length(s.len(), 0x80), s.to_vec()].concat()
}

fn rlp_list(items: &[Vec<u8>]) -> Vec<u8> {
    let payload = items.concat();
    [rlp_length(payload.len(), 0xc0), payload].concat()
}

fn rlp_length(len: usize, short: u8) -> Vec<u8> {
    if len < 56 {
        return vec![short + len as u8];
    }
    let bytes: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
    [vec![short + 55 + bytes.len() as u8], bytes].concat()
}

fn hex_prefix(path: &[u8], leaf: bool) -> Vec<u8> {
    let odd = path.len() % 2;
    let flag = (if leaf { 2 } else { 0 } + odd as u8) << 4;
    let mut out = vec![flag | if odd == 1 { path[0] } else { 0 }];
    out.extend(path[odd..].chunks(2).map(|p| (p[0] << 4) | p[1]));
    out
}

fn decode_path(item: &[u8]) -> Option<(Vec<u8>, bool)> {
    let hp = rlp_payload(item)?;
    let first = *hp.first()?;
    let mut path = if first & 0x10 != 0 { vec![first & 0x0f] } else { vec![] };
    path.extend(hp[1..].iter().flat_map(|b| [b >> 4, b & 0x0f]));
    Some((path, first & 0x20 != 0))
}

fn is_extension(node: &[u8]) -> bool {
    rlp_items(node).is_some_and(|items| {
        items.len() == 2 && decode_path(&items[0]).is_some_and(|(_, leaf)| !leaf)
    })
}

fn has_inline_child(node: &[u8]) -> bool {
    rlp_items(node).is_some_and(|items| {
        let inline = |c: &Vec<u8>| c[0] >= 0xc0;
        match items.len() {
            17 => items[..16].iter().any(inline),
            2 => inline(&items[1]) && is_extension(node),
            _ => false,
        }
    })
}

/// Where the walk for `key` ends in a valid trie: `present`, or why the key is absent.
fn walk_shape(witness: &[Bytes], root: B256, key: &B256) -> &'static str {
    if root == EMPTY_ROOT_HASH {
        return "empty-trie";
    }
    let by_hash: HashMap<B256, &Bytes> = witness.iter().map(|n| (keccak256(n), n)).collect();
    let mut node = by_hash[&root].to_vec();
    let mut at = 0;
    loop {
        let items = rlp_items(&node).expect("a valid node");
        let child = if items.len() == 17 {
            let child = items[nibble_at(key, at) as usize].clone();
            at += 1;
            child
        } else {
            let (path, leaf) = decode_path(&items[0]).expect("a valid path");
            let rest: Vec<u8> = (at..64).map(|i| nibble_at(key, i)).collect();
            if leaf {
                return if path == rest { "present" } else { "leaf-diverges" };
            }
            if !rest.starts_with(&path) {
                return "extension-diverges";
            }
            at += path.len();
            items[1].clone()
        };
        node = match child.len() {
            1 => return "empty-slot",
            33 => by_hash[&B256::from_slice(&child[1..])].to_vec(),
            _ => child,
        };
    }
}

// ------------------------------------------------------------------------------------------
// Deterministic randomness (independent of any crate's RNG, so the fixtures never move)
// ------------------------------------------------------------------------------------------

/// splitmix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }

    /// `min` to `min + spread - 1` random bytes.
    fn bytes_in(&mut self, min: usize, spread: usize) -> Vec<u8> {
        let n = min + self.below(spread);
        self.bytes(n)
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

#[test]
fn hex_prefix_round_trips() {
    for len in 0..6 {
        let path: Vec<u8> = (0..len as u8).map(|i| (i * 7) % 16).collect();
        for leaf in [false, true] {
            let item = rlp_string(&hex_prefix(&path, leaf));
            assert_eq!(decode_path(&item), Some((path.clone(), leaf)), "{}", hex::encode(&item));
        }
    }
}

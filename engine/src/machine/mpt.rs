//! Merkle-Patricia proofs (spec §2.4): read a value, or prove its absence, and compute the root
//! after an insert, update or delete — from the root and the trie nodes on the key's path
//! alone. This is the verifier side, shared in meaning with the Solidity verifier: the world
//! state, storage tries, warm sets and transient storage all go through it.
//!
//! Keys are already hashed (secure tries: `H(address)`, `H(slot)`, ...), so every key has 64
//! nibbles; values are the RLP the trie stores (`rlp(account)`, `rlp(value)`, `0x01`).
//! Nodes follow the Yellow Paper, appendix D: branch `[c_0..c_15, value]`, leaf and extension
//! `[hex_prefix(path), value | child]`; a child is inline when its RLP is shorter than 32
//! bytes, else referenced by `H(rlp)`. The root is always `H(rlp(root))`.
//!
//! A witness is a set of nodes, looked up by hash. Every node an operation resolves must be in
//! it, or the operation fails with [`Error::MissingProofNode`]: it never guesses. A delete that
//! collapses a branch resolves the branch's remaining child, which the witness then carries.

use crate::{Error, Result};
use alloy_primitives::{B256, Bytes, keccak256};
use alloy_rlp::{EMPTY_STRING_CODE, Header};
use alloy_trie::EMPTY_ROOT_HASH;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

/// The nodes of a trie witness, by hash. Nodes may come in any order; extra nodes are ignored.
///
/// A witness may be *recording* (see [`TrieWitness::recording`]): it then remembers every node
/// a walk resolves, which is how the prover cuts its full store down to exactly the nodes a
/// step reads. Clones share the nodes (copy on write).
#[derive(Clone, Debug, Default)]
pub struct TrieWitness {
    nodes: Arc<HashMap<B256, Bytes>>,
    /// Nodes shared read-only with another witness ([`TrieWitness::overlay`]).
    base: Option<Arc<HashMap<B256, Bytes>>>,
    used: Option<Arc<Mutex<Vec<B256>>>>,
}

impl PartialEq for TrieWitness {
    fn eq(&self, other: &Self) -> bool {
        self.nodes == other.nodes
    }
}

impl Eq for TrieWitness {}

/// Where a walk finds nodes by hash: a witness, or a witness that records what was read (the
/// prover's way to cut a full trie down to the minimal witness of one operation).
trait NodeSource {
    fn node(&self, hash: &B256) -> Option<&Bytes>;
}

impl NodeSource for TrieWitness {
    fn node(&self, hash: &B256) -> Option<&Bytes> {
        let node = self.lookup(hash)?;
        if let Some(used) = &self.used {
            used.lock().unwrap_or_else(PoisonError::into_inner).push(*hash);
        }
        Some(node)
    }
}

/// A node source that remembers every hash it served.
struct Recorder<'a> {
    witness: &'a TrieWitness,
    used: std::cell::RefCell<Vec<B256>>,
}

impl NodeSource for Recorder<'_> {
    fn node(&self, hash: &B256) -> Option<&Bytes> {
        let node = self.witness.lookup(hash)?;
        self.used.borrow_mut().push(*hash);
        Some(node)
    }
}

impl TrieWitness {
    /// A witness of these RLP-encoded nodes (as `eth_getProof` returns them, or any superset).
    pub fn new(nodes: impl IntoIterator<Item = Bytes>) -> Self {
        let nodes = nodes.into_iter().map(|node| (keccak256(&node), node)).collect();
        Self { nodes: Arc::new(nodes), base: None, used: None }
    }

    /// A witness over the same nodes whose writes ([`TrieWitness::apply`]) go to a layer of
    /// its own: several writes in one trie without copying the nodes (the executor's
    /// multi-write steps, the prover's tentative runs). Recording carries over.
    pub fn overlay(&self) -> Self {
        match &self.base {
            None => Self {
                nodes: Arc::default(),
                base: Some(self.nodes.clone()),
                used: self.used.clone(),
            },
            Some(_) => self.clone(),
        }
    }

    /// Adds the nodes `other` wrote in its own layer (over a shared base, see
    /// [`TrieWitness::overlay`]) to this witness's nodes: the roots `other` reached stay
    /// readable here. Copies this witness's nodes once if they are shared.
    pub fn absorb(&mut self, other: Self) {
        let Self { nodes: layer, base, used } = other;
        drop((base, used));
        let layer = Arc::try_unwrap(layer).unwrap_or_else(|shared| (*shared).clone());
        if !layer.is_empty() {
            Arc::make_mut(&mut self.nodes).extend(layer);
        }
    }

    fn lookup(&self, hash: &B256) -> Option<&Bytes> {
        self.nodes.get(hash).or_else(|| self.base.as_ref()?.get(hash))
    }

    /// A view of the same nodes that records every node a walk resolves; read the record
    /// with [`TrieWitness::recorded`].
    pub fn recording(&self) -> Self {
        Self { nodes: self.nodes.clone(), base: self.base.clone(), used: Some(Arc::default()) }
    }

    /// The nodes a recording view (or any clone of it) resolved so far, as a witness of its
    /// own; empty for a view that does not record.
    pub fn recorded(&self) -> Self {
        let Some(used) = &self.used else { return Self::default() };
        let used = used.lock().unwrap_or_else(PoisonError::into_inner);
        let nodes =
            used.iter().filter_map(|hash| Some((*hash, self.lookup(hash)?.clone()))).collect();
        Self { nodes: Arc::new(nodes), base: None, used: None }
    }

    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len() + self.base.as_ref().map_or(0, |base| base.len())
    }

    /// Whether the witness has no nodes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value at `key` in the trie with `root`, or `None` when the key is absent.
    ///
    /// # Errors
    ///
    /// [`Error::MissingProofNode`] when a node on the path is not in the witness;
    /// [`Error::MalformedTrieNode`] when a node does not decode.
    pub fn get(&self, root: B256, key: B256) -> Result<Option<Bytes>> {
        Walk(self).get(root, key)
    }

    /// The root after setting `key` to `value` (`None` deletes it; deleting an absent key
    /// leaves the root unchanged).
    ///
    /// # Errors
    ///
    /// [`Error::MissingProofNode`] and [`Error::MalformedTrieNode`] as for [`Self::get`]; an
    /// empty `value` is [`Error::MalformedTrieNode`] (tries hold no empty values: delete).
    pub fn set(&self, root: B256, key: B256, value: Option<&[u8]>) -> Result<B256> {
        Walk(self).set(root, key, value)
    }

    /// The smallest witness for [`Self::get`]`(root, key)`: the nodes of this witness the
    /// read touches. The prover holds every node and hands the verifier only these.
    ///
    /// # Errors
    ///
    /// As [`Self::get`].
    pub fn minimal_for_get(&self, root: B256, key: B256) -> Result<Self> {
        self.minimal(|walk| walk.get(root, key).map(drop))
    }

    /// The smallest witness for [`Self::set`]`(root, key, value)`, including the remaining
    /// child a collapsing delete must read.
    ///
    /// # Errors
    ///
    /// As [`Self::set`].
    pub fn minimal_for_set(&self, root: B256, key: B256, value: Option<&[u8]>) -> Result<Self> {
        self.minimal(|walk| walk.set(root, key, value).map(drop))
    }

    /// Sets `key` to `value` in the trie with `root` and keeps every node the new trie has
    /// (the old ones stay too): the prover's way to hold a trie through its history, so that
    /// a proof against any root it passed through can still be cut from it.
    ///
    /// # Errors
    ///
    /// As [`Self::set`].
    pub fn apply(&mut self, root: B256, key: B256, value: Option<&[u8]>) -> Result<B256> {
        let node = Walk(&*self).set_node(root, key, value)?;
        if node == Node::Empty {
            return Ok(EMPTY_ROOT_HASH);
        }
        let mut fresh = Vec::new();
        node.collect_fresh(&mut fresh);
        let rlp = Bytes::from(node.encode());
        let root = keccak256(&rlp);
        let nodes = Arc::make_mut(&mut self.nodes);
        nodes.extend(fresh);
        nodes.insert(root, rlp);
        Ok(root)
    }

    /// The nodes, in no particular order (what a witness sends).
    pub fn nodes(&self) -> impl Iterator<Item = &Bytes> {
        self.nodes.values().chain(self.base.iter().flat_map(|base| base.values()))
    }

    fn minimal(&self, op: impl FnOnce(&Walk<'_, Recorder<'_>>) -> Result<()>) -> Result<Self> {
        let recorder = Recorder { witness: self, used: Default::default() };
        op(&Walk(&recorder))?;
        let nodes = recorder
            .used
            .into_inner()
            .into_iter()
            .filter_map(|hash| Some((hash, self.nodes.get(&hash)?.clone())))
            .collect();
        Ok(Self { nodes: Arc::new(nodes), base: None, used: None })
    }
}

/// One walk of the trie over a node source.
struct Walk<'a, S: NodeSource + ?Sized>(&'a S);

impl<S: NodeSource + ?Sized> Walk<'_, S> {
    fn get(&self, root: B256, key: B256) -> Result<Option<Bytes>> {
        let path = nibbles(key);
        let mut node = self.root_node(root)?;
        let mut at = 0;
        loop {
            match node {
                Node::Empty => return Ok(None),
                Node::Leaf { path: leaf, value } => {
                    return Ok((leaf == path[at..]).then_some(value));
                }
                Node::Extension { path: ext, child } => {
                    if !path[at..].starts_with(&ext) {
                        return Ok(None);
                    }
                    at += ext.len();
                    node = self.resolve(child)?;
                }
                Node::Branch { mut children, value } => {
                    let Some(&nibble) = path.get(at) else { return Ok(value) };
                    at += 1;
                    node = self.resolve(std::mem::take(&mut children[nibble as usize]))?;
                }
            }
        }
    }

    fn set(&self, root: B256, key: B256, value: Option<&[u8]>) -> Result<B256> {
        Ok(match self.set_node(root, key, value)? {
            Node::Empty => EMPTY_ROOT_HASH,
            node => keccak256(node.encode()),
        })
    }

    /// The new root node after a set.
    fn set_node(&self, root: B256, key: B256, value: Option<&[u8]>) -> Result<Node> {
        let path = nibbles(key);
        let node = self.root_node(root)?;
        match value {
            Some([]) => Err(Error::MalformedTrieNode("an empty value cannot be stored")),
            Some(value) => self.insert(node, &path, Bytes::copy_from_slice(value)),
            None => self.delete(node, &path),
        }
    }

    fn root_node(&self, root: B256) -> Result<Node> {
        if root == EMPTY_ROOT_HASH {
            return Ok(Node::Empty);
        }
        self.resolve(Child::Hash(root))
    }

    fn resolve(&self, child: Child) -> Result<Node> {
        match child {
            Child::Empty => Ok(Node::Empty),
            Child::Inline(node) | Child::Fresh(_, node) => Ok(*node),
            Child::Hash(hash) => {
                let rlp = self.0.node(&hash).ok_or(Error::MissingProofNode(hash))?;
                Node::decode(rlp)
            }
        }
    }

    fn insert(&self, node: Node, key: &[u8], value: Bytes) -> Result<Node> {
        Ok(match node {
            Node::Empty => Node::Leaf { path: key.to_vec(), value },
            Node::Leaf { path, value: old } => {
                if path == key {
                    return Ok(Node::Leaf { path, value });
                }
                let common = common_prefix(&path, key);
                let mut branch = Branch::default();
                branch.put(&path[common..], old)?;
                branch.put(&key[common..], value)?;
                Node::with_prefix(&key[..common], Node::from(branch))
            }
            Node::Extension { path, child } => {
                if key.starts_with(&path) {
                    let child = self.insert(self.resolve(child)?, &key[path.len()..], value)?;
                    return Ok(Node::Extension { path, child: Child::of(child) });
                }
                let common = common_prefix(&path, key);
                let mut branch = Branch::default();
                // The extension's rest goes under its next nibble; the new key under its own.
                let rest = &path[common + 1..];
                let moved = if rest.is_empty() {
                    child
                } else {
                    Child::of(Node::Extension { path: rest.to_vec(), child })
                };
                branch.children[path[common] as usize] = moved;
                branch.put(&key[common..], value)?;
                Node::with_prefix(&key[..common], Node::from(branch))
            }
            Node::Branch { mut children, value: branch_value } => {
                let Some((&nibble, rest)) = key.split_first() else {
                    return Ok(Node::Branch { children, value: Some(value) });
                };
                let child = std::mem::take(&mut children[nibble as usize]);
                let child = self.insert(self.resolve(child)?, rest, value)?;
                children[nibble as usize] = Child::of(child);
                Node::Branch { children, value: branch_value }
            }
        })
    }

    fn delete(&self, node: Node, key: &[u8]) -> Result<Node> {
        Ok(match node {
            Node::Empty => Node::Empty,
            Node::Leaf { path, value } => {
                if path == key {
                    Node::Empty
                } else {
                    Node::Leaf { path, value }
                }
            }
            Node::Extension { path, child } => {
                if !key.starts_with(&path) {
                    return Ok(Node::Extension { path, child });
                }
                let child = self.delete(self.resolve(child)?, &key[path.len()..])?;
                Node::with_prefix(&path, child)
            }
            Node::Branch { mut children, value } => {
                match key.split_first() {
                    None => return self.normalize(children, None),
                    Some((&nibble, rest)) => {
                        let child = std::mem::take(&mut children[nibble as usize]);
                        let child = self.delete(self.resolve(child)?, rest)?;
                        children[nibble as usize] = Child::of(child);
                    }
                }
                return self.normalize(children, value);
            }
        })
    }

    /// A branch after a delete: kept while it has two entries, else collapsed into its one
    /// remaining entry (resolving it, which the witness must allow).
    fn normalize(&self, mut children: Box<[Child; 16]>, value: Option<Bytes>) -> Result<Node> {
        let occupied: Vec<usize> =
            (0..16).filter(|&i| !matches!(children[i], Child::Empty)).collect();
        match (occupied.as_slice(), value) {
            ([], None) => Ok(Node::Empty),
            ([], Some(value)) => Ok(Node::Leaf { path: Vec::new(), value }),
            (&[only], None) => {
                let child = self.resolve(std::mem::take(&mut children[only]))?;
                Ok(Node::with_prefix(&[only as u8], child))
            }
            (_, value) => Ok(Node::Branch { children, value }),
        }
    }
}

/// A decoded trie node. Children stay unresolved (hash or inline) until a walk needs them.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    Empty,
    Leaf { path: Vec<u8>, value: Bytes },
    Extension { path: Vec<u8>, child: Child },
    Branch { children: Box<[Child; 16]>, value: Option<Bytes> },
}

/// A reference to a child node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
enum Child {
    #[default]
    Empty,
    Hash(B256),
    Inline(Box<Node>),
    /// A node this walk created: referenced by hash, the node kept for [`TrieWitness::apply`].
    Fresh(B256, Box<Node>),
}

#[derive(Default)]
struct Branch {
    children: Box<[Child; 16]>,
    value: Option<Bytes>,
}

impl Branch {
    /// Puts `value` at `rest` (relative to the branch): the branch's own value when empty,
    /// else a leaf under the first nibble.
    fn put(&mut self, rest: &[u8], value: Bytes) -> Result<()> {
        match rest.split_first() {
            None => self.value = Some(value),
            Some((&nibble, tail)) => {
                self.children[nibble as usize] =
                    Child::of(Node::Leaf { path: tail.to_vec(), value });
            }
        }
        Ok(())
    }
}

impl From<Branch> for Node {
    fn from(branch: Branch) -> Self {
        Self::Branch { children: branch.children, value: branch.value }
    }
}

impl Child {
    /// The reference a parent holds to `node`.
    fn of(node: Node) -> Self {
        match node {
            Node::Empty => Self::Empty,
            node => {
                let rlp = node.encode();
                if rlp.len() < 32 {
                    Self::Inline(Box::new(node))
                } else {
                    Self::Fresh(keccak256(rlp), Box::new(node))
                }
            }
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::Empty => out.push(EMPTY_STRING_CODE),
            Self::Hash(hash) | Self::Fresh(hash, _) => alloy_rlp::Encodable::encode(hash, out),
            Self::Inline(node) => out.extend_from_slice(&node.encode()),
        }
    }
}

impl Node {
    /// Every node created by a walk below this one, with its RLP.
    fn collect_fresh(&self, out: &mut Vec<(B256, Bytes)>) {
        let children: &[Child] = match self {
            Self::Extension { child, .. } => std::slice::from_ref(child),
            Self::Branch { children, .. } => &children[..],
            Self::Empty | Self::Leaf { .. } => &[],
        };
        for child in children {
            match child {
                Child::Fresh(hash, node) => {
                    out.push((*hash, Bytes::from(node.encode())));
                    node.collect_fresh(out);
                }
                Child::Inline(node) => node.collect_fresh(out),
                Child::Empty | Child::Hash(_) => {}
            }
        }
    }

    /// `prefix` then `node`: merges paths into leaves and extensions, wraps branches.
    fn with_prefix(prefix: &[u8], node: Self) -> Self {
        if prefix.is_empty() {
            return node;
        }
        match node {
            Self::Empty => Self::Empty,
            Self::Leaf { path, value } => Self::Leaf { path: [prefix, &path].concat(), value },
            Self::Extension { path, child } => {
                Self::Extension { path: [prefix, &path].concat(), child }
            }
            branch @ Self::Branch { .. } => {
                Self::Extension { path: prefix.to_vec(), child: Child::of(branch) }
            }
        }
    }

    fn encode(&self) -> Vec<u8> {
        let mut payload = Vec::new();
        match self {
            Self::Empty => return vec![EMPTY_STRING_CODE],
            Self::Leaf { path, value } => {
                alloy_rlp::Encodable::encode(&hex_prefix(path, true)[..], &mut payload);
                alloy_rlp::Encodable::encode(&value[..], &mut payload);
            }
            Self::Extension { path, child } => {
                alloy_rlp::Encodable::encode(&hex_prefix(path, false)[..], &mut payload);
                child.encode(&mut payload);
            }
            Self::Branch { children, value } => {
                for child in children.iter() {
                    child.encode(&mut payload);
                }
                match value {
                    Some(value) => alloy_rlp::Encodable::encode(&value[..], &mut payload),
                    None => payload.push(EMPTY_STRING_CODE),
                }
            }
        }
        let mut out = Vec::with_capacity(payload.len() + 3);
        Header { list: true, payload_length: payload.len() }.encode(&mut out);
        out.extend_from_slice(&payload);
        out
    }

    fn decode(mut rlp: &[u8]) -> Result<Self> {
        let bad = Error::MalformedTrieNode;
        let header = Header::decode(&mut rlp).map_err(|_| bad("not RLP"))?;
        if !header.list || header.payload_length != rlp.len() {
            return Err(bad("a node is one RLP list"));
        }
        let mut items = Vec::with_capacity(17);
        while !rlp.is_empty() {
            items.push(Item::decode(&mut rlp)?);
        }
        match items.len() {
            17 => {
                let value = items.pop().and_then(Item::into_value);
                let mut children: Box<[Child; 16]> = Box::default();
                for (slot, item) in children.iter_mut().zip(items) {
                    *slot = item.into_child()?;
                }
                Ok(Self::Branch { children, value })
            }
            2 => {
                let mut items = items.into_iter();
                let (Some(Item::String(encoded)), Some(second)) = (items.next(), items.next())
                else {
                    return Err(bad("a leaf or extension starts with its path"));
                };
                let (path, is_leaf) = decode_hex_prefix(&encoded)?;
                if is_leaf {
                    let value = second.into_value().ok_or(bad("a leaf holds a value"))?;
                    Ok(Self::Leaf { path, value })
                } else {
                    Ok(Self::Extension { path, child: second.into_child()? })
                }
            }
            _ => Err(bad("a node has 2 or 17 items")),
        }
    }
}

/// One item of a node's RLP list: a byte string, or an embedded (inline) list.
enum Item {
    String(Bytes),
    List(Vec<u8>),
}

impl Item {
    fn decode(rlp: &mut &[u8]) -> Result<Self> {
        let start = *rlp;
        let header =
            Header::decode(rlp).map_err(|_| Error::MalformedTrieNode("truncated node item"))?;
        if rlp.len() < header.payload_length {
            return Err(Error::MalformedTrieNode("truncated node item"));
        }
        let (payload, rest) = rlp.split_at(header.payload_length);
        let item = if header.list {
            let whole = &start[..start.len() - rest.len()];
            Self::List(whole.to_vec())
        } else {
            Self::String(Bytes::copy_from_slice(payload))
        };
        *rlp = rest;
        Ok(item)
    }

    fn into_value(self) -> Option<Bytes> {
        match self {
            Self::String(value) if !value.is_empty() => Some(value),
            _ => None,
        }
    }

    fn into_child(self) -> Result<Child> {
        match self {
            Self::String(s) if s.is_empty() => Ok(Child::Empty),
            Self::String(s) if s.len() == 32 => Ok(Child::Hash(B256::from_slice(&s))),
            Self::List(rlp) if rlp.len() < 32 => Ok(Child::Inline(Box::new(Node::decode(&rlp)?))),
            _ => Err(Error::MalformedTrieNode("a child is a hash, an inline node or empty")),
        }
    }
}

fn nibbles(key: B256) -> Vec<u8> {
    key.iter().flat_map(|byte| [byte >> 4, byte & 0x0f]).collect()
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Hex-prefix encoding (Yellow Paper appendix C): flag nibble `2·leaf + odd`, then the path.
fn hex_prefix(path: &[u8], leaf: bool) -> Vec<u8> {
    let flag = if leaf { 2 } else { 0 } + (path.len() % 2) as u8;
    let mut out = Vec::with_capacity(path.len() / 2 + 1);
    let rest = if path.len() % 2 == 1 {
        out.push((flag << 4) | path[0]);
        &path[1..]
    } else {
        out.push(flag << 4);
        path
    };
    out.extend(rest.chunks(2).map(|pair| (pair[0] << 4) | pair[1]));
    out
}

fn decode_hex_prefix(encoded: &[u8]) -> Result<(Vec<u8>, bool)> {
    let (&first, rest) =
        encoded.split_first().ok_or(Error::MalformedTrieNode("empty hex-prefix path"))?;
    let flag = first >> 4;
    if flag > 3 || (flag & 1 == 0 && first & 0x0f != 0) {
        return Err(Error::MalformedTrieNode("bad hex-prefix flag"));
    }
    let mut path = Vec::with_capacity(rest.len() * 2 + 1);
    if flag & 1 == 1 {
        path.push(first & 0x0f);
    }
    path.extend(rest.iter().flat_map(|byte| [byte >> 4, byte & 0x0f]));
    Ok((path, flag >= 2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_trie::{HashBuilder, Nibbles, proof::ProofRetainer};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// The oracle: alloy-trie's root of a key/value map, and every node of that trie.
    fn oracle(map: &BTreeMap<B256, Vec<u8>>) -> (B256, Vec<Bytes>) {
        let targets: Vec<Nibbles> = map.keys().map(|k| Nibbles::unpack(k)).collect();
        let mut builder = HashBuilder::default().with_proof_retainer(ProofRetainer::new(targets));
        for (key, value) in map {
            builder.add_leaf(Nibbles::unpack(key), value);
        }
        let root = builder.root();
        let nodes = builder.take_proof_nodes().into_nodes_sorted().into_iter().map(|(_, n)| n);
        (root, nodes.collect())
    }

    /// Keys that share long prefixes (to make extensions and deep branches) and values of
    /// both inline and hashed sizes.
    fn entries() -> impl Strategy<Value = Vec<(B256, Vec<u8>)>> {
        let key = (0u8..4, any::<[u8; 32]>(), 0usize..31).prop_map(|(family, random, shared)| {
            let mut key = random;
            key[..shared].fill(family * 0x11);
            B256::from(key)
        });
        let value = proptest::collection::vec(any::<u8>(), 1..40);
        proptest::collection::vec((key, value), 0..24)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// get, insert, update and delete through the witness agree with alloy-trie.
        #[test]
        fn matches_alloy_trie(entries in entries(), op_key in any::<usize>(), new_value in proptest::collection::vec(any::<u8>(), 0..40), fresh in any::<[u8; 32]>()) {
            let map: BTreeMap<B256, Vec<u8>> = entries.into_iter().collect();
            let (root, nodes) = oracle(&map);
            let witness = TrieWitness::new(nodes);

            for (key, value) in &map {
                prop_assert_eq!(witness.get(root, *key).unwrap().map(|v| v.to_vec()), Some(value.clone()));
            }
            prop_assert_eq!(witness.get(root, B256::from(fresh)).unwrap(), map.get(&B256::from(fresh)).map(|v| Bytes::from(v.clone())));

            // Delete, update or insert: op 0 deletes an existing key, 1 updates one, 2 inserts
            // a fresh key, 3 deletes an absent key.
            let keys: Vec<B256> = map.keys().copied().collect();
            let op = op_key % 4;
            let key = if keys.is_empty() || op >= 2 { B256::from(fresh) } else { keys[op_key / 4 % keys.len()] };
            let mut new_value = new_value;
            if new_value.is_empty() { new_value.push(1); }
            let value = (op == 1 || op == 2).then_some(&new_value[..]);
            let mut expected = map.clone();
            match value {
                Some(v) => { expected.insert(key, v.to_vec()); }
                None => { expected.remove(&key); }
            }
            let expected_root = oracle(&expected).0;
            prop_assert_eq!(witness.set(root, key, value).unwrap(), expected_root);

            // The prover's minimal witnesses suffice on their own.
            let minimal = witness.minimal_for_set(root, key, value).unwrap();
            prop_assert!(minimal.len() <= witness.len());
            prop_assert_eq!(minimal.set(root, key, value).unwrap(), expected_root);
            let minimal = witness.minimal_for_get(root, key).unwrap();
            prop_assert_eq!(minimal.get(root, key).unwrap(), witness.get(root, key).unwrap());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// A store built only by `apply` (inserts, updates, deletes from the empty trie)
        /// matches alloy-trie after every operation, and still proves reads against every
        /// root it passed through.
        #[test]
        fn apply_keeps_every_version(ops in proptest::collection::vec((entries(), any::<bool>()), 1..4)) {
            let mut store = TrieWitness::default();
            let mut root = EMPTY_ROOT_HASH;
            let mut map = BTreeMap::new();
            let mut history = Vec::new();
            for (entries, delete) in ops {
                for (key, value) in entries {
                    if delete && map.contains_key(&key) {
                        map.remove(&key);
                        root = store.apply(root, key, None).unwrap();
                    } else {
                        map.insert(key, value.clone());
                        root = store.apply(root, key, Some(&value)).unwrap();
                    }
                    prop_assert_eq!(root, oracle(&map).0);
                }
                history.push((root, map.clone()));
            }
            for (root, map) in history {
                for (key, value) in &map {
                    let proof = store.minimal_for_get(root, *key).unwrap();
                    prop_assert_eq!(proof.get(root, *key).unwrap().map(|v| v.to_vec()), Some(value.clone()));
                }
            }
        }
    }

    #[test]
    fn missing_nodes_and_garbage_are_errors_not_panics() {
        let map: BTreeMap<B256, Vec<u8>> =
            (0u8..20).map(|i| (keccak256([i]), vec![i; 33])).collect();
        let (root, nodes) = oracle(&map);
        let key = keccak256([3u8]);
        assert!(
            matches!(TrieWitness::default().get(root, key), Err(Error::MissingProofNode(h)) if h == root)
        );
        let garbage = TrieWitness::new([Bytes::from_static(&[0xc3, 0x01, 0x02])]);
        let garbage_root = keccak256([0xc3, 0x01, 0x02]);
        assert!(matches!(garbage.get(garbage_root, key), Err(Error::MalformedTrieNode(_))));
        // Only the root node: the walk stops at the first hashed child.
        let root_only = TrieWitness::new(nodes.iter().filter(|n| keccak256(n) == root).cloned());
        assert!(matches!(root_only.set(root, key, None), Err(Error::MissingProofNode(_))));
    }

    #[test]
    fn empty_trie_round_trip() {
        let witness = TrieWitness::default();
        let key = keccak256([1u8]);
        assert_eq!(witness.get(EMPTY_ROOT_HASH, key).unwrap(), None);
        let root = witness.set(EMPTY_ROOT_HASH, key, Some(&[0x2a])).unwrap();
        let map = BTreeMap::from([(key, vec![0x2a])]);
        assert_eq!(root, oracle(&map).0);
        assert_eq!(witness.set(EMPTY_ROOT_HASH, key, None).unwrap(), EMPTY_ROOT_HASH);
        assert!(witness.set(EMPTY_ROOT_HASH, key, Some(&[])).is_err());
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {LibRLP} from "./LibRLP.sol";

/// @title  LibMPT
/// @notice Merkle-Patricia trie proofs (docs/spec/step-machine.md §2.4; Yellow Paper appendix
///         D): read the value at a key, or prove it absent, and compute the root after an
///         insert, update or delete — from the root and the trie nodes on the key's path alone.
///         The world state, the storage tries, the warm sets, transient storage and the created
///         set of the step machine all go through it.
/// @dev    Rule for rule `refute_engine::machine::TrieWitness` (engine/src/machine/mpt.rs): it
///         accepts exactly the witnesses the Rust side accepts (`minimal_for_get`,
///         `minimal_for_set` produce the smallest), computes the same results, and rejects what
///         it rejects; contracts/test/LibMPT.t.sol checks this against fixtures the Rust side
///         writes (tests/it/mpt_fixtures.rs).
///
///         Shapes. Keys are already hashed (secure tries: `keccak256(address)`,
///         `keccak256(slot)`, ...): 32 bytes, 64 nibbles, high nibble first. Values are the
///         bytes the trie stores (`rlp(account)`, `rlp(value)`, `0x01`), never empty: an empty
///         value means absent. Nodes are RLP: a branch `[c_0, ..., c_15, value]`, a leaf
///         `[hexPrefix(path, 1), value]`, an extension `[hexPrefix(path, 0), child]`; a child is
///         `0x80` (none), the 32-byte keccak256 of the child's RLP, or the child's RLP itself
///         when that is shorter than 32 bytes (inline). The root is always the keccak256 of the
///         root node's RLP; the empty trie's root is `EMPTY_ROOT = keccak256(0x80)`.
///
///         Witnesses. A witness is a list of RLP nodes in any order, looked up by keccak256;
///         extra nodes are ignored. Every node an operation resolves must be in it, or the
///         operation reverts with `MissingNode`: it never guesses. A delete that collapses a
///         branch resolves the branch's remaining child, which the witness then carries. Every
///         node resolved is decoded in full (all its children, inline ones recursively) and a
///         node the Rust side would not decode reverts with `MalformedNode` or an `LibRLP`
///         error. Nodes the walk rewrites are re-encoded from their decoded form, as in Rust.
library LibMPT {
    /// @notice The root of the empty trie: `keccak256(rlp(""))`, `keccak256(0x80)`.
    bytes32 internal constant EMPTY_ROOT =
        0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421;

    /// @notice A node the operation must read is not in the witness; `hash` is the keccak256
    ///         its RLP must have (the root, or a child reference on the key's path).
    error MissingNode(bytes32 hash);

    /// @notice A node in the witness (or inline in one) is not a trie node; `reason` says which
    ///         rule it breaks. RLP-level faults revert with `LibRLP`'s errors instead.
    error MalformedNode(string reason);

    /// @notice Nibbles in a key: 32 bytes.
    uint256 internal constant KEY_NIBBLES = 64;

    /// @notice What a node is.
    enum Kind {
        Empty,
        Leaf,
        Extension,
        Branch
    }

    /// @notice A decoded node. Children stay unresolved (hash or inline) until a walk needs
    ///         them. Bytes are held as *spans*, `address << 128 | length` of bytes in memory
    ///         (0: none), pointing into the witness's nodes or into bytes the walk made: nothing
    ///         is copied to decode a node.
    /// @param kind  The node's kind.
    /// @param path  A leaf's or extension's path, one nibble per byte.
    /// @param value A leaf's value, or a branch's (0: the branch has none): a span of the
    ///              value's bytes (the RLP string's payload).
    /// @param refs  A branch's children, or an extension's child in `refs[0]`: a span of the
    ///              child's encoding in its parent — `0xa0 ‖ hash` (33 bytes), or the RLP of an
    ///              inline child (under 32 bytes, re-encoded from its decoded form); 0 for none.
    /// @param source For a branch read by `_decodeFullBranch`, the span of its RLP, which is
    ///              its encoding; 0 once it changed otherwise than in child `dirty - 1`.
    /// @param dirty The child changed since (index + 1), 0 for none: the encoding is then the
    ///              source with that child's reference replaced (`_encodeBranch`).
    /// @param dirtyOld That child's reference in the source.
    struct Node {
        Kind kind;
        bytes path;
        uint256 value;
        uint256[16] refs;
        uint256 source;
        uint256 dirty;
        uint256 dirtyOld;
    }

    /// @notice A witness: nodes with their keccak256, hashed once (`witness`).
    /// @param nodes  The nodes; entries from `length` on are spare capacity.
    /// @param hashes keccak256 of each node.
    /// @param length The number of nodes.
    /// @param keep   Whether the operation running adds the nodes it makes (`setAndKeep`).
    struct Witness {
        bytes[] nodes;
        bytes32[] hashes;
        uint256 length;
        bool keep;
    }

    // ---------------------------------------------------------------------------------------
    // Entry points
    // ---------------------------------------------------------------------------------------

    /// @notice The value at `key` in the trie with root `root`, or that `key` is absent.
    /// @param  root  The trie's root: keccak256 of its root node's RLP, or `EMPTY_ROOT`.
    /// @param  key   The (already hashed) 32-byte key.
    /// @param  nodes The witness: RLP nodes, in any order, at least those on `key`'s path.
    /// @return found Whether `key` is present.
    /// @return value The stored value when present (never empty), else empty.
    /// @custom:error MissingNode     A node on the path is not in `nodes`.
    /// @custom:error MalformedNode   A node on the path is not a trie node.
    /// @custom:error RLPTruncated    A node on the path is not well-formed RLP (`LibRLP`).
    /// @custom:error RLPNonCanonical A node on the path is not canonical RLP (`LibRLP`).
    function get(bytes32 root, bytes32 key, bytes[] memory nodes)
        internal
        pure
        returns (bool found, bytes memory value)
    {
        return get(witness(nodes), root, key);
    }

    /// @notice The root after setting `key` to `value` in the trie with root `root`: an
    ///         insert, an update, or (empty `value`) a delete. Deleting an absent key leaves a
    ///         well-formed trie's root unchanged; deleting the last key gives `EMPTY_ROOT`.
    /// @param  root  The trie's root: keccak256 of its root node's RLP, or `EMPTY_ROOT`.
    /// @param  key   The (already hashed) 32-byte key.
    /// @param  value The new value (the bytes the trie stores); empty deletes the key.
    /// @param  nodes The witness: RLP nodes, in any order, at least those on `key`'s path and,
    ///               for a delete that collapses a branch, the branch's remaining child.
    /// @return newRoot The root after the write.
    /// @custom:error MissingNode     A node the write reads is not in `nodes`.
    /// @custom:error MalformedNode   A node the write reads is not a trie node.
    /// @custom:error RLPTruncated    A node the write reads is not well-formed RLP (`LibRLP`).
    /// @custom:error RLPNonCanonical A node the write reads is not canonical RLP (`LibRLP`).
    function set(bytes32 root, bytes32 key, bytes memory value, bytes[] memory nodes)
        internal
        pure
        returns (bytes32 newRoot)
    {
        return set(witness(nodes), root, key, value);
    }

    /// @notice `get` over a witness already hashed with `witness`: for several reads and writes
    ///         against the same nodes.
    function get(Witness memory w, bytes32 root, bytes32 key)
        internal
        pure
        returns (bool found, bytes memory value)
    {
        bytes memory path = _nibbles(key);
        Node memory node = _rootNode(w, root);
        uint256 at;
        while (true) {
            Kind kind = node.kind;
            if (kind == Kind.Empty) return (false, "");
            if (kind == Kind.Leaf) {
                if (_equalsRest(node.path, path, at)) return (true, _copy(node.value));
                return (false, "");
            }
            if (kind == Kind.Extension) {
                if (!_startsWith(path, at, node.path)) return (false, "");
                at += node.path.length;
                node = _resolve(w, node.refs[0]);
            } else {
                // A branch: the key ends here (only in a trie with paths of other lengths) or
                // continues under its next nibble.
                if (at == KEY_NIBBLES) return (node.value != 0, _copy(node.value));
                node = _resolve(w, node.refs[_nibbleAt(path, at)]);
                ++at;
            }
        }
    }

    /// @notice `set` over a witness already hashed with `witness`: for several reads and writes
    ///         against the same nodes (a write's new nodes are not added: see `setAndKeep`).
    function set(Witness memory w, bytes32 root, bytes32 key, bytes memory value)
        internal
        pure
        returns (bytes32 newRoot)
    {
        Node memory result = _set(w, root, key, value);
        if (result.kind == Kind.Empty) return EMPTY_ROOT;
        return keccak256(_encode(result));
    }

    /// @notice The root after setting `key` to `value` as `set` does, keeping every node of
    ///         the new trie in `w` (the old ones stay too): later reads and writes through `w`
    ///         can then walk the new trie, as `TrieWitness::apply` lets the Rust side do.
    /// @dev    Reverts as `set`. Adds the hashed nodes the write makes (some of them may end up
    ///         unreferenced, which is harmless: extra nodes are ignored) and the new root node.
    function setAndKeep(Witness memory w, bytes32 root, bytes32 key, bytes memory value)
        internal
        pure
        returns (bytes32 newRoot)
    {
        w.keep = true;
        Node memory result = _set(w, root, key, value);
        w.keep = false;
        if (result.kind == Kind.Empty) return EMPTY_ROOT;
        bytes memory rlp = _encode(result);
        newRoot = keccak256(rlp);
        _add(w, rlp, newRoot);
    }

    /// @notice The witness of `nodes`: each node with its keccak256.
    function witness(bytes[] memory nodes) internal pure returns (Witness memory w) {
        uint256 n = nodes.length;
        bytes32[] memory hashes = new bytes32[](n);
        assembly ("memory-safe") {
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let offset := shl(5, add(i, 1))
                let node := mload(add(nodes, offset))
                mstore(add(hashes, offset), keccak256(add(node, 0x20), mload(node)))
            }
        }
        w.nodes = nodes;
        w.hashes = hashes;
        w.length = n;
    }

    /// @notice Adds `node` of keccak256 `hash` to `w`, growing its arrays when full.
    function _add(Witness memory w, bytes memory node, bytes32 hash) private pure {
        if (w.length == w.nodes.length) {
            uint256 capacity = 2 * w.length + 8;
            bytes[] memory nodes = new bytes[](capacity);
            bytes32[] memory hashes = new bytes32[](capacity);
            for (uint256 i; i < w.length; ++i) {
                nodes[i] = w.nodes[i];
                hashes[i] = w.hashes[i];
            }
            w.nodes = nodes;
            w.hashes = hashes;
        }
        w.nodes[w.length] = node;
        w.hashes[w.length] = hash;
        ++w.length;
    }

    // ---------------------------------------------------------------------------------------
    // Writes
    // ---------------------------------------------------------------------------------------

    /// @notice The new root node after setting `key` to `value` (empty: deleting it).
    function _set(Witness memory w, bytes32 root, bytes32 key, bytes memory value)
        private
        pure
        returns (Node memory)
    {
        bytes memory path = _nibbles(key);
        Node memory node = _rootNode(w, root);
        if (value.length == 0) return _delete(w, node, path);
        return _insert(w, node, path, _span(LibRLP.dataPtr(value), value.length));
    }

    /// @notice The new root node after inserting or updating `key` (as nibbles) to `value` (a
    ///         span) below `node`. Walks down recording the extensions and branches passed
    ///         (`stack`: node address << 8 | the key offset at the node), then rebuilds upward.
    function _insert(Witness memory w, Node memory node, bytes memory key, uint256 value)
        private
        pure
        returns (Node memory result)
    {
        uint256[] memory stack = new uint256[](16);
        uint256 depth;
        uint256 at;
        while (true) {
            if (node.kind == Kind.Empty) {
                result = _leaf(_slice(key, at, KEY_NIBBLES), value);
                break;
            }
            if (node.kind == Kind.Leaf) {
                if (_equalsRest(node.path, key, at)) {
                    node.value = value;
                    result = node;
                    break;
                }
                uint256 common = _commonPrefix(node.path, key, at);
                Node memory branch;
                branch.kind = Kind.Branch;
                _put(w, branch, node.path, common, node.value);
                _put(w, branch, key, at + common, value);
                result = _withPrefix(w, _slice(key, at, at + common), branch);
                break;
            }
            if (node.kind == Kind.Extension) {
                if (_startsWith(key, at, node.path)) {
                    (stack, depth) = _push(stack, depth, node, at);
                    at += node.path.length;
                    node = _resolve(w, node.refs[0]);
                    continue;
                }
                // The extension's rest goes under its next nibble; the new key under its own.
                uint256 common = _commonPrefix(node.path, key, at);
                Node memory branch;
                branch.kind = Kind.Branch;
                uint256 slot = _nibbleAt(node.path, common);
                if (common + 1 == node.path.length) {
                    branch.refs[slot] = node.refs[0];
                } else {
                    Node memory rest;
                    rest.kind = Kind.Extension;
                    rest.path = _slice(node.path, common + 1, node.path.length);
                    rest.refs[0] = node.refs[0];
                    branch.refs[slot] = _ref(w, rest);
                }
                _put(w, branch, key, at + common, value);
                result = _withPrefix(w, _slice(key, at, at + common), branch);
                break;
            }
            // A branch: the key ends here (only in a trie with paths of other lengths) or
            // continues under its next nibble.
            if (at == KEY_NIBBLES) {
                node.value = value;
                node.source = 0;
                result = node;
                break;
            }
            (stack, depth) = _push(stack, depth, node, at);
            node = _resolve(w, node.refs[_nibbleAt(key, at)]);
            ++at;
        }
        while (depth != 0) {
            (Node memory parent, uint256 parentAt) = _frame(stack, --depth);
            uint256 slot = parent.kind == Kind.Extension ? 0 : _nibbleAt(key, parentAt);
            _setChild(parent, slot, _ref(w, result));
            result = parent;
        }
    }

    /// @notice The new root node after deleting `key` (as nibbles) below `node`: a branch left
    ///         with one entry collapses into it (`_normalize`).
    function _delete(Witness memory w, Node memory node, bytes memory key)
        private
        pure
        returns (Node memory result)
    {
        uint256[] memory stack = new uint256[](16);
        uint256 depth;
        uint256 at;
        while (true) {
            if (node.kind == Kind.Empty) {
                result = node;
                break;
            }
            if (node.kind == Kind.Leaf) {
                if (_equalsRest(node.path, key, at)) node.kind = Kind.Empty;
                result = node;
                break;
            }
            if (node.kind == Kind.Extension) {
                if (!_startsWith(key, at, node.path)) {
                    result = node;
                    break;
                }
                (stack, depth) = _push(stack, depth, node, at);
                at += node.path.length;
                node = _resolve(w, node.refs[0]);
                continue;
            }
            if (at == KEY_NIBBLES) {
                // (A branch read by the fast path has no value: its encoding stays its source.)
                node.value = 0;
                result = _normalize(w, node, 16, node);
                break;
            }
            (stack, depth) = _push(stack, depth, node, at);
            node = _resolve(w, node.refs[_nibbleAt(key, at)]);
            ++at;
        }
        while (depth != 0) {
            (Node memory parent, uint256 parentAt) = _frame(stack, --depth);
            if (parent.kind == Kind.Extension) {
                result = _withPrefix(w, parent.path, result);
            } else {
                uint256 slot = _nibbleAt(key, parentAt);
                _setChild(parent, slot, _ref(w, result));
                result = _normalize(w, parent, slot, result);
            }
        }
    }

    /// @notice A branch after a delete: kept while it has two entries (children or value),
    ///         else collapsed into its one remaining entry. The remaining child is resolved —
    ///         from the witness, unless it is child `fresh`, whose node the walk just made
    ///         (`freshNode`; `fresh = 16` for none).
    function _normalize(Witness memory w, Node memory branch, uint256 fresh, Node memory freshNode)
        private
        pure
        returns (Node memory)
    {
        uint256 count;
        uint256 only;
        uint256[16] memory refs = branch.refs;
        assembly ("memory-safe") {
            for { let i := 0 } lt(i, 16) { i := add(i, 1) } {
                if mload(add(refs, shl(5, i))) {
                    count := add(count, 1)
                    only := i
                }
            }
        }
        if (count == 0) {
            if (branch.value == 0) {
                Node memory empty;
                return empty;
            }
            return _leaf("", branch.value);
        }
        if (count == 1 && branch.value == 0) {
            Node memory child = only == fresh ? freshNode : _resolve(w, branch.refs[only]);
            bytes memory prefix = new bytes(1);
            prefix[0] = bytes1(uint8(only));
            return _withPrefix(w, prefix, child);
        }
        return branch;
    }

    /// @notice `prefix` then `node`: merges paths into leaves and extensions, puts an extension
    ///         over a branch. Rewrites `node` in place.
    function _withPrefix(Witness memory w, bytes memory prefix, Node memory node)
        private
        pure
        returns (Node memory)
    {
        if (prefix.length == 0 || node.kind == Kind.Empty) return node;
        if (node.kind == Kind.Branch) {
            Node memory ext;
            ext.kind = Kind.Extension;
            ext.path = prefix;
            ext.refs[0] = _ref(w, node);
            return ext;
        }
        node.path = bytes.concat(prefix, node.path);
        return node;
    }

    /// @notice Puts `value` (a span) at `path[from:]` relative to `branch`: the branch's own
    ///         value when that is empty, else a leaf under its first nibble.
    function _put(
        Witness memory w,
        Node memory branch,
        bytes memory path,
        uint256 from,
        uint256 value
    ) private pure {
        if (from == path.length) {
            branch.value = value;
            return;
        }
        branch.refs[_nibbleAt(path, from)] =
            _ref(w, _leaf(_slice(path, from + 1, path.length), value));
    }

    /// @notice Sets `node`'s child `slot` to `ref`, keeping track of the change for
    ///         `_encodeBranch` (see `Node.source`).
    function _setChild(Node memory node, uint256 slot, uint256 ref) private pure {
        if (node.source != 0) {
            if (node.dirty == 0) {
                node.dirty = slot + 1;
                node.dirtyOld = node.refs[slot];
            } else if (node.dirty != slot + 1) {
                // A second child changed (no write does this today): encode in full.
                node.source = 0;
            }
        }
        node.refs[slot] = ref;
    }

    /// @notice A leaf of `path` (nibbles) and `value` (a span).
    function _leaf(bytes memory path, uint256 value) private pure returns (Node memory leaf) {
        leaf.kind = Kind.Leaf;
        leaf.path = path;
        leaf.value = value;
    }

    /// @notice Pushes `node` (met at key offset `at`) on the walk's stack, growing it when full.
    function _push(uint256[] memory stack, uint256 depth, Node memory node, uint256 at)
        private
        pure
        returns (uint256[] memory, uint256)
    {
        if (depth == stack.length) {
            uint256[] memory grown = new uint256[](2 * depth);
            for (uint256 i; i < depth; ++i) {
                grown[i] = stack[i];
            }
            stack = grown;
        }
        uint256 ptr;
        assembly ("memory-safe") {
            ptr := node
        }
        stack[depth] = (ptr << 8) | at;
        return (stack, depth + 1);
    }

    /// @notice The node and key offset at `depth` of the walk's stack.
    function _frame(uint256[] memory stack, uint256 depth)
        private
        pure
        returns (Node memory node, uint256 at)
    {
        uint256 entry = stack[depth];
        at = entry & 0xff;
        assembly ("memory-safe") {
            node := shr(8, entry)
        }
    }

    // ---------------------------------------------------------------------------------------
    // Children
    // ---------------------------------------------------------------------------------------

    /// @notice The node a child reference (a span, see `Node.refs`) points to: none, inline,
    ///         or looked up by hash.
    function _resolve(Witness memory w, uint256 ref) private pure returns (Node memory node) {
        if (ref == 0) return node;
        (uint256 ptr, uint256 length) = _unspan(ref);
        if (length != 33) return _decode(ptr, length);
        bytes32 hash;
        assembly ("memory-safe") {
            hash := mload(add(ptr, 1))
        }
        bytes memory rlp = _lookup(w, hash);
        return _decode(LibRLP.dataPtr(rlp), rlp.length);
    }

    /// @notice The root node: empty for `EMPTY_ROOT`, else looked up by hash.
    function _rootNode(Witness memory w, bytes32 root) private pure returns (Node memory node) {
        if (root == EMPTY_ROOT) return node;
        bytes memory rlp = _lookup(w, root);
        return _decode(LibRLP.dataPtr(rlp), rlp.length);
    }

    /// @notice The witness node whose keccak256 is `hash`.
    function _lookup(Witness memory w, bytes32 hash) private pure returns (bytes memory node) {
        bytes32[] memory hashes = w.hashes;
        bytes[] memory nodes = w.nodes;
        uint256 length = w.length;
        bool found;
        assembly ("memory-safe") {
            for { let i := 0 } lt(i, length) { i := add(i, 1) } {
                if eq(mload(add(add(hashes, 0x20), shl(5, i))), hash) {
                    node := mload(add(add(nodes, 0x20), shl(5, i)))
                    found := 1
                    break
                }
            }
        }
        if (!found) revert MissingNode(hash);
    }

    /// @notice How a parent refers to `node` (a span, see `Node.refs`): none for the empty
    ///         node, its RLP when shorter than 32 bytes (inline), else `0xa0 ‖ keccak256`. A
    ///         hashed node is added to `w` when `w` keeps what it makes (`setAndKeep`).
    function _ref(Witness memory w, Node memory node) private pure returns (uint256) {
        if (node.kind == Kind.Empty) return 0;
        bytes memory rlp = _encode(node);
        if (rlp.length < 32) return _span(LibRLP.dataPtr(rlp), rlp.length);
        bytes32 hash = keccak256(rlp);
        if (w.keep) _add(w, rlp, hash);
        uint256 ref;
        assembly ("memory-safe") {
            // 0xa0 ‖ hash in two fresh words.
            ref := mload(0x40)
            mstore(0x40, add(ref, 0x40))
            mstore8(ref, 0xa0)
            mstore(add(ref, 1), hash)
        }
        return _span(ref, 33);
    }

    // ---------------------------------------------------------------------------------------
    // Decoding and encoding
    // ---------------------------------------------------------------------------------------

    /// @notice Decodes the node of `length` bytes at memory address `ptr`, its inline children
    ///         recursively: exactly what `Node::decode` in mpt.rs accepts. An inline child is
    ///         kept re-encoded from its decoded form, as the Rust side writes it back; a list
    ///         or an empty string in a branch's value slot is no value (`Item::into_value`).
    function _decode(uint256 ptr, uint256 length) private pure returns (Node memory node) {
        if (_decodeFullBranch(ptr, length, node)) return node;
        // Item descriptors (`LibRLP.readList`).
        uint256[17] memory items;
        uint256 itemsPtr;
        assembly ("memory-safe") {
            itemsPtr := items
        }
        (bool isList, uint256 count) = LibRLP.readList(ptr, ptr + length, itemsPtr, 17);
        if (!isList) revert MalformedNode("a node is one RLP list");
        if (count == 17) {
            node.kind = Kind.Branch;
            node.value = _value(items[16]);
            // Children: 0x80 (none), 0xa0 ‖ hash (kept as is), or a list under 32 bytes
            // (inline: re-encoded below); anything else is malformed.
            uint256[16] memory refs = node.refs;
            uint256 inlined;
            bool bad;
            assembly ("memory-safe") {
                for { let i := 0 } lt(i, 16) { i := add(i, 1) } {
                    let item := mload(add(items, shl(5, i)))
                    let start := shr(128, item)
                    let size :=
                        add(and(shr(64, item), 0xffffffffffffffff), and(item, 0xffffffffffffffff))
                    let prefix := byte(0, mload(start))
                    let ref := 0
                    switch size
                    case 1 { if iszero(eq(prefix, 0x80)) { bad := 1 } }
                    case 33 {
                        ref := or(shl(128, start), 33)
                        if iszero(eq(prefix, 0xa0)) { bad := 1 }
                    }
                    default {
                        ref := or(shl(128, start), size)
                        inlined := or(inlined, shl(i, 1))
                        if or(lt(prefix, 0xc0), iszero(lt(size, 32))) { bad := 1 }
                    }
                    mstore(add(refs, shl(5, i)), ref)
                }
            }
            if (bad) revert MalformedNode("a child is a hash, an inline node or empty");
            for (uint256 i; inlined != 0; ++i) {
                if (inlined & 1 != 0) refs[i] = _canonical(refs[i]);
                inlined >>= 1;
            }
        } else if (count == 2) {
            uint256 path = items[0];
            if (_isList(path)) revert MalformedNode("a leaf or extension starts with its path");
            bool isLeaf;
            (node.path, isLeaf) = _decodeHexPrefix(_payload(path));
            if (isLeaf) {
                node.kind = Kind.Leaf;
                node.value = _value(items[1]);
                if (node.value == 0) revert MalformedNode("a leaf holds a value");
            } else {
                node.kind = Kind.Extension;
                node.refs[0] = _child(items[1]);
            }
        } else {
            revert MalformedNode("a node has 2 or 17 items");
        }
    }

    /// @notice The common branch, fast: when the node of `length` bytes at `ptr` is a
    ///         branch whose sixteen children are all hashes (`0xa0 ‖ hash`) or none (`0x80`)
    ///         and which has no value (`0x80`), fills `node` with it and returns true; else
    ///         leaves `node` alone and returns false, and `_decode` reads the node in full.
    /// @dev    What it accepts, `_decode`'s general path decodes to the same node: a branch
    ///         in canonical RLP (its list header of one byte below 56 bytes of payload, else
    ///         `0xf8` or `0xf9` with a length of one or two bytes without a leading zero and at
    ///         least 56) with these children and no value.
    function _decodeFullBranch(uint256 ptr, uint256 length, Node memory node)
        private
        pure
        returns (bool ok)
    {
        uint256[16] memory refs = node.refs;
        assembly ("memory-safe") {
            let end := add(ptr, length)
            let word := mload(ptr)
            let prefix := byte(0, word)
            let at := 0
            let payload := 0
            switch prefix
            case 0xf8 {
                payload := byte(1, word)
                at := add(ptr, 2)
            }
            case 0xf9 {
                payload := and(shr(232, word), 0xffff)
                at := add(ptr, 3)
                // A leading zero byte is not canonical.
                if iszero(byte(1, word)) { payload := 0 }
            }
            default {
                if and(gt(prefix, 0xc0), lt(prefix, 0xf8)) {
                    payload := sub(prefix, 0xc0)
                    at := add(ptr, 1)
                }
            }
            // Long-form lengths below 56 are not canonical; the list must fill the node.
            if and(or(lt(prefix, 0xf8), gt(payload, 55)), eq(add(at, payload), end)) {
                ok := 1
                for { let i := 0 } lt(i, 16) { i := add(i, 1) } {
                    if iszero(lt(at, end)) {
                        ok := 0
                        break
                    }
                    switch byte(0, mload(at))
                    case 0x80 {
                        mstore(add(refs, shl(5, i)), 0)
                        at := add(at, 1)
                    }
                    case 0xa0 {
                        mstore(add(refs, shl(5, i)), or(shl(128, at), 33))
                        at := add(at, 33)
                    }
                    default {
                        ok := 0
                        break
                    }
                }
                // The value: none, and nothing after it.
                if ok {
                    if iszero(and(eq(add(at, 1), end), eq(byte(0, mload(at)), 0x80))) { ok := 0 }
                }
            }
        }
        if (ok) {
            node.kind = Kind.Branch;
            node.source = _span(ptr, length);
        } else {
            delete node.refs;
        }
    }

    /// @notice Whether an item (a `LibRLP.readList` descriptor) is a list.
    function _isList(uint256 item) private pure returns (bool list) {
        assembly ("memory-safe") {
            list := iszero(lt(byte(0, mload(shr(128, item))), 0xc0))
        }
    }

    /// @notice The span of an item's payload (a `LibRLP.readList` descriptor).
    function _payload(uint256 item) private pure returns (uint256) {
        uint256 start = item >> 128;
        return _span(start + uint64(item >> 64), uint64(item));
    }

    /// @notice The value an item (a `LibRLP.readList` descriptor) holds: its payload when it
    ///         is a non-empty string, else none (0).
    function _value(uint256 item) private pure returns (uint256) {
        if (_isList(item) || uint64(item) == 0) return 0;
        return _payload(item);
    }

    /// @notice The child reference an item (a `LibRLP.readList` descriptor) is: an empty
    ///         string (none, 0), a 32-byte string (a hash: the item's span), or a list under 32
    ///         bytes (an inline node, re-encoded from its decoded form).
    function _child(uint256 item) private pure returns (uint256) {
        uint256 start = item >> 128;
        uint256 size = uint64(item >> 64) + uint64(item);
        uint256 prefix;
        assembly ("memory-safe") {
            prefix := byte(0, mload(start))
        }
        if (size == 1 && prefix == 0x80) return 0;
        if (size == 33 && prefix == 0xa0) return _span(start, 33);
        if (prefix >= 0xc0 && size < 32) return _canonical(_span(start, size));
        revert MalformedNode("a child is a hash, an inline node or empty");
    }

    /// @notice The span of an inline node's RLP re-encoded from its decoded form (what the
    ///         Rust side writes back for it).
    function _canonical(uint256 span) private pure returns (uint256) {
        (uint256 ptr, uint256 length) = _unspan(span);
        bytes memory canonical = _encode(_decode(ptr, length));
        return _span(LibRLP.dataPtr(canonical), canonical.length);
    }

    /// @notice The RLP of `node` (Yellow Paper appendix D). The empty node is `0x80`.
    function _encode(Node memory node) private pure returns (bytes memory out) {
        Kind kind = node.kind;
        if (kind == Kind.Empty) return hex"80";
        if (kind == Kind.Branch) {
            if (node.source != 0) return _spliceBranch(node);
            return _encodeBranch(node.refs, node.value);
        }
        bytes memory hexPrefix = _hexPrefix(node.path, kind == Kind.Leaf);
        uint256 payload = LibRLP.stringLength(LibRLP.dataPtr(hexPrefix), hexPrefix.length)
            + (kind == Kind.Leaf
                    ? _valueEncodedLength(node.value)
                    : _refEncodedLength(node.refs[0]));
        uint256 ptr;
        (out, ptr) = _allocate(LibRLP.headerLength(payload) + payload);
        ptr = LibRLP.writeHeader(ptr, payload, true);
        ptr = LibRLP.writeString(ptr, LibRLP.dataPtr(hexPrefix), hexPrefix.length);
        if (kind == Kind.Leaf) _writeValue(ptr, node.value);
        else _writeRef(ptr, node.refs[0]);
    }

    /// @notice The RLP of a branch of children `refs` and `value` (spans, see `Node`).
    function _encodeBranch(uint256[16] memory refs, uint256 value)
        private
        pure
        returns (bytes memory out)
    {
        uint256 payload = _valueEncodedLength(value);
        assembly ("memory-safe") {
            for { let i := 0 } lt(i, 16) { i := add(i, 1) } {
                let ref := mload(add(refs, shl(5, i)))
                switch ref
                case 0 { payload := add(payload, 1) }
                default { payload := add(payload, and(ref, 0xffffffffffffffffffffffffffffffff)) }
            }
        }
        uint256 ptr;
        (out, ptr) = _allocate(LibRLP.headerLength(payload) + payload);
        ptr = LibRLP.writeHeader(ptr, payload, true);
        assembly ("memory-safe") {
            for { let i := 0 } lt(i, 16) { i := add(i, 1) } {
                let ref := mload(add(refs, shl(5, i)))
                switch ref
                case 0 {
                    mstore8(ptr, 0x80)
                    ptr := add(ptr, 1)
                }
                default {
                    let length := and(ref, 0xffffffffffffffffffffffffffffffff)
                    mcopy(ptr, shr(128, ref), length)
                    ptr := add(ptr, length)
                }
            }
        }
        _writeValue(ptr, value);
    }

    /// @notice The RLP of a branch read by `_decodeFullBranch` with at most child `dirty - 1`
    ///         changed: its source with that child's reference replaced — what
    ///         `_encodeBranch` writes for it (children of 1 or 33 bytes, no value), cheaper.
    function _spliceBranch(Node memory node) private pure returns (bytes memory out) {
        (uint256 src, uint256 srcLength) = _unspan(node.source);
        uint256 dirty = node.dirty;
        if (dirty == 0) {
            uint256 ptr;
            (out, ptr) = _allocate(srcLength);
            assembly ("memory-safe") {
                mcopy(ptr, src, srcLength)
            }
            return out;
        }
        uint256[16] memory refs = node.refs;
        uint256 dirtyOld = node.dirtyOld;
        assembly ("memory-safe") {
            let slot := sub(dirty, 1)
            let ref := mload(add(refs, shl(5, slot)))
            let end := add(src, srcLength)
            let prefix := byte(0, mload(src))
            let items := add(src, 1)
            if gt(prefix, 0xf7) { items := add(items, sub(prefix, 0xf7)) }
            // Where the child's item is: a hash is where its span says; none (0x80) after the
            // unchanged children before it, of 1 or 33 bytes each.
            let at := shr(128, dirtyOld)
            let oldLength := 33
            if iszero(dirtyOld) {
                oldLength := 1
                at := items
                for { let i := 0 } lt(i, slot) { i := add(i, 1) } {
                    switch mload(add(refs, shl(5, i)))
                    case 0 { at := add(at, 1) }
                    default { at := add(at, 33) }
                }
            }
            let newLength := 1
            if ref { newLength := and(ref, 0xffffffffffffffffffffffffffffffff) }
            let payload := add(sub(sub(end, items), oldLength), newLength)
            // A branch's payload is at least 17 bytes, at most 16 * 33 + a value: its header is
            // one byte below 56, else 0xf8 or 0xf9 and one or two length bytes.
            let header := 1
            if gt(payload, 55) { header := 2 }
            if gt(payload, 255) { header := 3 }
            let total := add(header, payload)
            out := mload(0x40)
            // 32 bytes of slack, as `_allocate`.
            mstore(0x40, add(out, and(add(total, 0x5f), not(0x1f))))
            mstore(out, total)
            let ptr := add(out, 0x20)
            switch header
            case 1 { mstore8(ptr, add(0xc0, payload)) }
            case 2 {
                mstore8(ptr, 0xf8)
                mstore8(add(ptr, 1), payload)
            }
            default {
                mstore8(ptr, 0xf9)
                mstore8(add(ptr, 1), shr(8, payload))
                mstore8(add(ptr, 2), and(payload, 0xff))
            }
            ptr := add(ptr, header)
            mcopy(ptr, items, sub(at, items))
            ptr := add(ptr, sub(at, items))
            switch ref
            case 0 { mstore8(ptr, 0x80) }
            default { mcopy(ptr, shr(128, ref), newLength) }
            ptr := add(ptr, newLength)
            let rest := add(at, oldLength)
            mcopy(ptr, rest, sub(end, rest))
        }
    }

    /// @notice A `bytes` of `length` bytes (plus 32 of slack: the writers store whole words)
    ///         and the address of its first byte.
    function _allocate(uint256 length) private pure returns (bytes memory out, uint256 ptr) {
        out = new bytes(length + 32);
        assembly ("memory-safe") {
            mstore(out, length)
            ptr := add(out, 0x20)
        }
    }

    /// @notice The bytes a child reference takes in its parent's RLP: `0x80` for none.
    function _refEncodedLength(uint256 ref) private pure returns (uint256) {
        return ref == 0 ? 1 : uint128(ref);
    }

    /// @notice The bytes a value takes as an RLP string: `0x80` for none.
    function _valueEncodedLength(uint256 value) private pure returns (uint256) {
        if (value == 0) return 1;
        (uint256 ptr, uint256 length) = _unspan(value);
        return LibRLP.stringLength(ptr, length);
    }

    /// @notice Writes a child reference at memory address `ptr`; returns the address after it.
    function _writeRef(uint256 ptr, uint256 ref) private pure returns (uint256 end) {
        assembly ("memory-safe") {
            switch ref
            case 0 {
                mstore8(ptr, 0x80)
                end := add(ptr, 1)
            }
            default {
                let length := and(ref, 0xffffffffffffffffffffffffffffffff)
                mcopy(ptr, shr(128, ref), length)
                end := add(ptr, length)
            }
        }
    }

    /// @notice Writes a value as an RLP string (`0x80` for none) at memory address `ptr`.
    function _writeValue(uint256 ptr, uint256 value) private pure returns (uint256) {
        if (value == 0) return _writeRef(ptr, 0);
        (uint256 src, uint256 length) = _unspan(value);
        return LibRLP.writeString(ptr, src, length);
    }

    /// @notice Hex-prefix encoding (Yellow Paper appendix C): the flag nibble
    ///         `2 * isLeaf + odd`, a zero nibble when the path is even, then the path.
    function _hexPrefix(bytes memory path, bool isLeaf) private pure returns (bytes memory out) {
        uint256 n = path.length;
        uint256 odd = n % 2;
        uint256 length = n / 2 + 1;
        // 32 bytes of slack: whole words are written.
        out = new bytes(length + 32);
        uint256 first = (((isLeaf ? 2 : 0) + odd) << 4) | (odd == 1 ? uint8(path[0]) : 0);
        uint256 src;
        uint256 dst;
        assembly ("memory-safe") {
            mstore(out, length)
            src := add(add(path, 0x20), odd)
            dst := add(out, 0x21)
            mstore8(sub(dst, 1), first)
        }
        // 16 bytes (32 nibbles) a word; past the path's end, garbage past `length`.
        for (uint256 i; 2 * i + odd < n; i += 16) {
            uint256 packed;
            uint256 chunk;
            assembly ("memory-safe") {
                chunk := mload(add(src, shl(1, i)))
            }
            packed = _compress(chunk);
            assembly ("memory-safe") {
                mstore(add(dst, i), packed)
            }
        }
    }

    /// @notice Decodes the hex-prefix path in `span`: its nibbles and whether it is a leaf's. The flag nibble must be 0 to 3, and an even
    ///         path's padding nibble 0.
    function _decodeHexPrefix(uint256 span) private pure returns (bytes memory path, bool isLeaf) {
        (uint256 ptr, uint256 length) = _unspan(span);
        if (length == 0) revert MalformedNode("empty hex-prefix path");
        uint256 first;
        assembly ("memory-safe") {
            first := byte(0, mload(ptr))
        }
        uint256 flag = first >> 4;
        uint256 odd = flag & 1;
        if (flag > 3 || (odd == 0 && first & 0x0f != 0)) {
            revert MalformedNode("bad hex-prefix flag");
        }
        uint256 n = 2 * (length - 1) + odd;
        // 64 bytes of slack: whole words are written.
        path = new bytes(n + 64);
        uint256 dst;
        assembly ("memory-safe") {
            mstore(path, n)
            dst := add(path, 0x20)
            if odd {
                mstore8(dst, and(first, 0x0f))
                dst := add(dst, 1)
            }
        }
        // 16 path bytes a word; past the end, garbage past `n`.
        for (uint256 i = 1; i < length; i += 16) {
            uint256 chunk;
            assembly ("memory-safe") {
                chunk := shr(128, mload(add(ptr, i)))
            }
            uint256 nibbles = _spread(chunk);
            assembly ("memory-safe") {
                mstore(add(dst, shl(1, sub(i, 1))), nibbles)
            }
        }
        isLeaf = flag >= 2;
    }

    // ---------------------------------------------------------------------------------------
    // Nibble paths and spans
    // ---------------------------------------------------------------------------------------

    /// @notice The 64 nibbles of `key`, high nibble first, one per byte.
    function _nibbles(bytes32 key) private pure returns (bytes memory path) {
        path = new bytes(KEY_NIBBLES);
        uint256 high = _spread(uint256(key) >> 128);
        uint256 low = _spread(uint128(uint256(key)));
        assembly ("memory-safe") {
            mstore(add(path, 0x20), high)
            mstore(add(path, 0x40), low)
        }
    }

    /// @notice The 16 bytes `b` in the low half of `x` as 32 nibble bytes, in order: each `b`
    ///         becomes `b >> 4, b & 0x0f` (word operations: spread to 16-bit lanes, then split).
    function _spread(uint256 x) private pure returns (uint256 y) {
        assembly ("memory-safe") {
            y := and(
                or(x, shl(64, x)),
                0x0000000000000000ffffffffffffffff0000000000000000ffffffffffffffff
            )
            y := and(
                or(y, shl(32, y)),
                0x00000000ffffffff00000000ffffffff00000000ffffffff00000000ffffffff
            )
            y := and(
                or(y, shl(16, y)),
                0x0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff
            )
            y := and(
                or(y, shl(8, y)),
                0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff
            )
            y := or(
                shl(4, and(y, 0x00f000f000f000f000f000f000f000f000f000f000f000f000f000f000f000f0)),
                and(y, 0x000f000f000f000f000f000f000f000f000f000f000f000f000f000f000f000f)
            )
        }
    }

    /// @notice The inverse of `_spread`: 32 nibble bytes (each below 16) as 16 bytes, in the
    ///         high half of the result. A byte pair with a larger byte spoils only its own
    ///         output byte.
    function _compress(uint256 x) private pure returns (uint256 y) {
        assembly ("memory-safe") {
            y := and(
                or(shr(4, x), x),
                0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff
            )
            y := and(
                or(y, shr(8, y)),
                0x0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff
            )
            y := and(
                or(y, shr(16, y)),
                0x00000000ffffffff00000000ffffffff00000000ffffffff00000000ffffffff
            )
            y := and(
                or(y, shr(32, y)),
                0x0000000000000000ffffffffffffffff0000000000000000ffffffffffffffff
            )
            y := shl(128, or(y, shr(64, y)))
        }
    }

    /// @notice Nibble `i` of `path` (in bounds).
    function _nibbleAt(bytes memory path, uint256 i) private pure returns (uint256 nibble) {
        assembly ("memory-safe") {
            nibble := byte(0, mload(add(add(path, 0x20), i)))
        }
    }

    /// @notice Whether `path` equals `key[at:]`.
    function _equalsRest(bytes memory path, bytes memory key, uint256 at)
        private
        pure
        returns (bool)
    {
        return path.length == key.length - at && _equalRange(path, key, at);
    }

    /// @notice Whether `key[at:]` starts with `path`.
    function _startsWith(bytes memory key, uint256 at, bytes memory path)
        private
        pure
        returns (bool)
    {
        return path.length <= key.length - at && _equalRange(path, key, at);
    }

    /// @notice Whether `path` equals `key[at:at+path.length]` (in bounds).
    function _equalRange(bytes memory path, bytes memory key, uint256 at)
        private
        pure
        returns (bool equal)
    {
        assembly ("memory-safe") {
            let length := mload(path)
            equal := eq(
                keccak256(add(path, 0x20), length),
                keccak256(add(add(key, 0x20), at), length)
            )
        }
    }

    /// @notice The length of the common prefix of `path` and `key[at:]`.
    function _commonPrefix(bytes memory path, bytes memory key, uint256 at)
        private
        pure
        returns (uint256 n)
    {
        assembly ("memory-safe") {
            let limit := mload(path)
            let rest := sub(mload(key), at)
            if lt(rest, limit) { limit := rest }
            let a := add(path, 0x20)
            let b := add(add(key, 0x20), at)
            for {} lt(n, limit) { n := add(n, 1) } {
                if iszero(eq(byte(0, mload(add(a, n))), byte(0, mload(add(b, n))))) { break }
            }
        }
    }

    /// @notice `path[start:end]`, copied.
    function _slice(bytes memory path, uint256 start, uint256 end)
        private
        pure
        returns (bytes memory out)
    {
        uint256 length = end - start;
        out = new bytes(length);
        assembly ("memory-safe") {
            mcopy(add(out, 0x20), add(add(path, 0x20), start), length)
        }
    }

    /// @notice The bytes of a span, copied (empty for none).
    function _copy(uint256 span) private pure returns (bytes memory out) {
        (uint256 ptr, uint256 length) = _unspan(span);
        out = new bytes(length);
        assembly ("memory-safe") {
            mcopy(add(out, 0x20), ptr, length)
        }
    }

    function _span(uint256 ptr, uint256 length) private pure returns (uint256) {
        return (ptr << 128) | length;
    }

    function _unspan(uint256 span) private pure returns (uint256 ptr, uint256 length) {
        ptr = span >> 128;
        length = uint128(span);
    }
}

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
    ///         them.
    /// @param kind       The node's kind.
    /// @param path       A leaf's or extension's path, one nibble per byte.
    /// @param value      A leaf's value, or a branch's (empty: the branch has none).
    /// @param refs       A branch's children, or an extension's child in `refs[0]`: the child's
    ///                   hash, or its inline RLP left-aligned and zero-padded.
    /// @param refLengths Byte `i` (from the least significant) is the length of `refs[i]`:
    ///                   0 for no child, 1 to 31 for an inline child, 32 for a hash.
    struct Node {
        Kind kind;
        bytes path;
        bytes value;
        bytes32[16] refs;
        uint256 refLengths;
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
            if (node.kind == Kind.Empty) return (false, "");
            if (node.kind == Kind.Leaf) {
                if (_equalsRest(node.path, path, at)) return (true, node.value);
                return (false, "");
            }
            if (node.kind == Kind.Extension) {
                if (!_startsWith(path, at, node.path)) return (false, "");
                at += node.path.length;
                node = _resolve(w, node, 0);
            } else {
                if (at == KEY_NIBBLES) return (node.value.length != 0, node.value);
                uint256 nibble = uint8(path[at]);
                ++at;
                node = _resolve(w, node, nibble);
            }
        }
    }

    /// @notice `set` over a witness already hashed with `witness`: for several reads and writes
    ///         against the same nodes (a write's new nodes are not added: each operation needs
    ///         its own path in the witness).
    function set(Witness memory w, bytes32 root, bytes32 key, bytes memory value)
        internal
        pure
        returns (bytes32 newRoot)
    {
        Node memory result = _set(w, root, key, value);
        if (result.kind == Kind.Empty) return EMPTY_ROOT;
        return keccak256(_encode(result));
    }

    /// @notice The new root node after setting `key` to `value` (empty: deleting it).
    function _set(Witness memory w, bytes32 root, bytes32 key, bytes memory value)
        private
        pure
        returns (Node memory)
    {
        bytes memory path = _nibbles(key);
        Node memory node = _rootNode(w, root);
        return value.length == 0 ? _delete(w, node, path) : _insert(w, node, path, value);
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
        w.nodes = nodes;
        w.length = nodes.length;
        w.hashes = new bytes32[](nodes.length);
        for (uint256 i; i < nodes.length; ++i) {
            w.hashes[i] = keccak256(nodes[i]);
        }
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

    /// @notice The new root node after inserting or updating `key` (as nibbles) to `value`
    ///         below `node`. Walks down recording the extensions and branches passed
    ///         (`stack`: node pointer << 8 | the key offset at the node), then rebuilds upward.
    function _insert(Witness memory w, Node memory node, bytes memory key, bytes memory value)
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
                    node = _resolve(w, node, 0);
                    continue;
                }
                // The extension's rest goes under its next nibble; the new key under its own.
                uint256 common = _commonPrefix(node.path, key, at);
                Node memory branch;
                branch.kind = Kind.Branch;
                uint256 slot = uint8(node.path[common]);
                if (common + 1 == node.path.length) {
                    _setRef(branch, slot, node.refs[0], _refLength(node, 0));
                } else {
                    Node memory rest;
                    rest.kind = Kind.Extension;
                    rest.path = _slice(node.path, common + 1, node.path.length);
                    _setRef(rest, 0, node.refs[0], _refLength(node, 0));
                    (bytes32 data, uint256 length) = _ref(w, rest);
                    _setRef(branch, slot, data, length);
                }
                _put(w, branch, key, at + common, value);
                result = _withPrefix(w, _slice(key, at, at + common), branch);
                break;
            }
            // A branch: the key ends here (only in a trie with paths of other lengths) or
            // continues under its next nibble.
            if (at == key.length) {
                node.value = value;
                result = node;
                break;
            }
            (stack, depth) = _push(stack, depth, node, at);
            node = _resolve(w, node, uint8(key[at]));
            ++at;
        }
        while (depth != 0) {
            (Node memory parent, uint256 parentAt) = _frame(stack, --depth);
            (bytes32 data, uint256 length) = _ref(w, result);
            _setRef(parent, parent.kind == Kind.Extension ? 0 : uint8(key[parentAt]), data, length);
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
                node = _resolve(w, node, 0);
                continue;
            }
            if (at == key.length) {
                node.value = "";
                result = _normalize(w, node, 16, node);
                break;
            }
            (stack, depth) = _push(stack, depth, node, at);
            node = _resolve(w, node, uint8(key[at]));
            ++at;
        }
        while (depth != 0) {
            (Node memory parent, uint256 parentAt) = _frame(stack, --depth);
            if (parent.kind == Kind.Extension) {
                result = _withPrefix(w, parent.path, result);
            } else {
                uint256 nibble = uint8(key[parentAt]);
                (bytes32 data, uint256 length) = _ref(w, result);
                _setRef(parent, nibble, data, length);
                result = _normalize(w, parent, nibble, result);
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
        for (uint256 i; i < 16; ++i) {
            if (_refLength(branch, i) != 0) {
                ++count;
                only = i;
            }
        }
        if (count == 0) {
            if (branch.value.length == 0) {
                Node memory empty;
                return empty;
            }
            return _leaf("", branch.value);
        }
        if (count == 1 && branch.value.length == 0) {
            Node memory child = only == fresh ? freshNode : _resolve(w, branch, only);
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
            (bytes32 data, uint256 length) = _ref(w, node);
            _setRef(ext, 0, data, length);
            return ext;
        }
        node.path = bytes.concat(prefix, node.path);
        return node;
    }

    /// @notice Puts `value` at `path[from:]` relative to `branch`: the branch's own value when
    ///         that is empty, else a leaf under its first nibble.
    function _put(
        Witness memory w,
        Node memory branch,
        bytes memory path,
        uint256 from,
        bytes memory value
    ) private pure {
        if (from == path.length) {
            branch.value = value;
            return;
        }
        (bytes32 data, uint256 length) = _ref(w, _leaf(_slice(path, from + 1, path.length), value));
        _setRef(branch, uint8(path[from]), data, length);
    }

    /// @notice A leaf of `path` (nibbles) and `value`.
    function _leaf(bytes memory path, bytes memory value) private pure returns (Node memory leaf) {
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

    /// @notice The node of `parent`'s child `i`: none, inline, or looked up by hash.
    function _resolve(Witness memory w, Node memory parent, uint256 i)
        private
        pure
        returns (Node memory node)
    {
        uint256 length = _refLength(parent, i);
        if (length == 0) return node;
        if (length == 32) return _decode(_lookup(w, parent.refs[i]));
        bytes memory rlp = new bytes(length);
        bytes32 data = parent.refs[i];
        assembly ("memory-safe") {
            mstore(add(rlp, 0x20), data)
        }
        return _decode(rlp);
    }

    /// @notice The root node: empty for `EMPTY_ROOT`, else looked up by hash.
    function _rootNode(Witness memory w, bytes32 root) private pure returns (Node memory node) {
        if (root == EMPTY_ROOT) return node;
        return _decode(_lookup(w, root));
    }

    /// @notice The witness node whose keccak256 is `hash`.
    function _lookup(Witness memory w, bytes32 hash) private pure returns (bytes memory) {
        bytes32[] memory hashes = w.hashes;
        uint256 length = w.length;
        for (uint256 i; i < length; ++i) {
            if (hashes[i] == hash) return w.nodes[i];
        }
        revert MissingNode(hash);
    }

    /// @notice How a parent refers to `node`: none for the empty node, its RLP when shorter
    ///         than 32 bytes (inline), else its keccak256. A hashed node is added to `w` when
    ///         `w` keeps what it makes (`setAndKeep`).
    function _ref(Witness memory w, Node memory node)
        private
        pure
        returns (bytes32 data, uint256 length)
    {
        if (node.kind == Kind.Empty) return (0, 0);
        bytes memory rlp = _encode(node);
        length = rlp.length;
        if (length >= 32) {
            data = keccak256(rlp);
            if (w.keep) _add(w, rlp, data);
            return (data, 32);
        }
        assembly ("memory-safe") {
            // Left-aligned, zero past the end.
            data := and(mload(add(rlp, 0x20)), not(shr(mul(8, length), not(0))))
        }
    }

    function _refLength(Node memory node, uint256 i) private pure returns (uint256) {
        return (node.refLengths >> (8 * i)) & 0xff;
    }

    function _setRef(Node memory node, uint256 i, bytes32 data, uint256 length) private pure {
        node.refs[i] = data;
        node.refLengths = (node.refLengths & ~(uint256(0xff) << (8 * i))) | (length << (8 * i));
    }

    // ---------------------------------------------------------------------------------------
    // Decoding and encoding
    // ---------------------------------------------------------------------------------------

    /// @notice Decodes a node, its inline children recursively (exactly what
    ///         `Node::decode` in mpt.rs accepts). An inline child is kept re-encoded from its
    ///         decoded form, as the Rust side writes it back.
    function _decode(bytes memory rlp) private pure returns (Node memory node) {
        (bool isList, uint256 offset, uint256 length) = LibRLP.readHeader(rlp, 0, rlp.length);
        if (!isList || offset + length != rlp.length) {
            revert MalformedNode("a node is one RLP list");
        }
        // Each item: start | payload offset << 64 | payload length << 128 | isList << 192.
        uint256[17] memory items;
        uint256 count;
        while (offset < rlp.length) {
            if (count == 17) revert MalformedNode("a node has 2 or 17 items");
            (bool itemIsList, uint256 payloadOffset, uint256 payloadLength) =
                LibRLP.readHeader(rlp, offset, rlp.length);
            items[count++] = offset | (payloadOffset << 64) | (payloadLength << 128)
                | (itemIsList ? 1 << 192 : 0);
            offset = payloadOffset + payloadLength;
        }
        if (count == 17) {
            node.kind = Kind.Branch;
            // A list or an empty string in the value slot is no value (as `Item::into_value`).
            (, uint256 valueOffset, uint256 valueLength, bool valueIsList) = _item(items[16]);
            if (!valueIsList && valueLength != 0) {
                node.value = _copy(rlp, valueOffset, valueLength);
            }
            for (uint256 i; i < 16; ++i) {
                _decodeChild(node, i, rlp, items[i]);
            }
        } else if (count == 2) {
            (, uint256 pathOffset, uint256 pathLength, bool pathIsList) = _item(items[0]);
            if (pathIsList) revert MalformedNode("a leaf or extension starts with its path");
            bool isLeaf;
            (node.path, isLeaf) = _decodeHexPrefix(rlp, pathOffset, pathLength);
            if (isLeaf) {
                node.kind = Kind.Leaf;
                (, uint256 valueOffset, uint256 valueLength, bool valueIsList) = _item(items[1]);
                if (valueIsList || valueLength == 0) revert MalformedNode("a leaf holds a value");
                node.value = _copy(rlp, valueOffset, valueLength);
            } else {
                node.kind = Kind.Extension;
                _decodeChild(node, 0, rlp, items[1]);
            }
        } else {
            revert MalformedNode("a node has 2 or 17 items");
        }
    }

    function _item(uint256 item)
        private
        pure
        returns (uint256 start, uint256 payloadOffset, uint256 payloadLength, bool isList)
    {
        start = uint64(item);
        payloadOffset = uint64(item >> 64);
        payloadLength = uint64(item >> 128);
        isList = (item >> 192) != 0;
    }

    /// @notice Sets `node`'s child `i` from an item of `rlp`: an empty string (none), a
    ///         32-byte string (a hash), or a list shorter than 32 bytes (an inline node).
    function _decodeChild(Node memory node, uint256 i, bytes memory rlp, uint256 item)
        private
        pure
    {
        (uint256 start, uint256 payloadOffset, uint256 payloadLength, bool isList) = _item(item);
        if (!isList) {
            if (payloadLength == 0) return;
            if (payloadLength == 32) {
                bytes32 hash;
                assembly ("memory-safe") {
                    hash := mload(add(add(rlp, 0x20), payloadOffset))
                }
                _setRef(node, i, hash, 32);
                return;
            }
        } else {
            uint256 length = payloadOffset + payloadLength - start;
            if (length < 32) {
                bytes memory canonical = _encode(_decode(_copy(rlp, start, length)));
                bytes32 data;
                uint256 canonicalLength = canonical.length;
                assembly ("memory-safe") {
                    data := and(
                        mload(add(canonical, 0x20)),
                        not(shr(mul(8, canonicalLength), not(0)))
                    )
                }
                _setRef(node, i, data, canonicalLength);
                return;
            }
        }
        revert MalformedNode("a child is a hash, an inline node or empty");
    }

    /// @notice The RLP of `node` (Yellow Paper appendix D). The empty node is `0x80`.
    function _encode(Node memory node) private pure returns (bytes memory out) {
        if (node.kind == Kind.Empty) return hex"80";
        uint256 payload;
        bytes memory hexPrefix;
        if (node.kind == Kind.Branch) {
            for (uint256 i; i < 16; ++i) {
                payload += _refEncodedLength(_refLength(node, i));
            }
            payload += node.value.length == 0 ? 1 : LibRLP.stringLength(node.value);
        } else {
            hexPrefix = _hexPrefix(node.path, node.kind == Kind.Leaf);
            payload = LibRLP.stringLength(hexPrefix)
                + (node.kind == Kind.Leaf
                        ? LibRLP.stringLength(node.value)
                        : _refEncodedLength(_refLength(node, 0)));
        }
        uint256 total = LibRLP.headerLength(payload) + payload;
        // 32 bytes of slack: the writers store whole words.
        out = new bytes(total + 32);
        uint256 ptr;
        assembly ("memory-safe") {
            mstore(out, total)
            ptr := add(out, 0x20)
        }
        ptr = LibRLP.writeHeader(ptr, payload, true);
        if (node.kind == Kind.Branch) {
            for (uint256 i; i < 16; ++i) {
                ptr = _writeRef(ptr, node.refs[i], _refLength(node, i));
            }
            if (node.value.length == 0) ptr = _writeRef(ptr, 0, 0);
            else ptr = LibRLP.writeString(ptr, node.value);
        } else {
            ptr = LibRLP.writeString(ptr, hexPrefix);
            if (node.kind == Kind.Leaf) ptr = LibRLP.writeString(ptr, node.value);
            else ptr = _writeRef(ptr, node.refs[0], _refLength(node, 0));
        }
    }

    /// @notice The bytes a child reference of `length` takes in its parent's RLP.
    function _refEncodedLength(uint256 length) private pure returns (uint256) {
        if (length == 0) return 1;
        if (length == 32) return 33;
        return length;
    }

    /// @notice Writes a child reference at memory pointer `ptr`; returns the pointer after it.
    function _writeRef(uint256 ptr, bytes32 data, uint256 length) private pure returns (uint256) {
        if (length == 0) {
            assembly ("memory-safe") {
                mstore8(ptr, 0x80)
            }
            return ptr + 1;
        }
        if (length == 32) {
            assembly ("memory-safe") {
                mstore8(ptr, 0xa0)
                mstore(add(ptr, 1), data)
            }
            return ptr + 33;
        }
        assembly ("memory-safe") {
            mstore(ptr, data)
        }
        return ptr + length;
    }

    /// @notice Hex-prefix encoding (Yellow Paper appendix C): the flag nibble
    ///         `2 * isLeaf + odd`, a zero nibble when the path is even, then the path.
    function _hexPrefix(bytes memory path, bool isLeaf) private pure returns (bytes memory out) {
        uint256 odd = path.length % 2;
        out = new bytes(path.length / 2 + 1);
        uint256 flag = (isLeaf ? 2 : 0) + odd;
        out[0] = bytes1(uint8((flag << 4) | (odd == 1 ? uint8(path[0]) : 0)));
        for (uint256 i = odd; i < path.length; i += 2) {
            out[(i + 2 - odd) / 2] = bytes1((uint8(path[i]) << 4) | uint8(path[i + 1]));
        }
    }

    /// @notice Decodes the hex-prefix path of `length` bytes at `offset` of `rlp`: its nibbles
    ///         and whether it is a leaf's. The flag nibble must be 0 to 3, and an even path's
    ///         padding nibble 0.
    function _decodeHexPrefix(bytes memory rlp, uint256 offset, uint256 length)
        private
        pure
        returns (bytes memory path, bool isLeaf)
    {
        if (length == 0) revert MalformedNode("empty hex-prefix path");
        uint256 first = LibRLP.byteAt(rlp, offset);
        uint256 flag = first >> 4;
        uint256 odd = flag & 1;
        if (flag > 3 || (odd == 0 && first & 0x0f != 0)) {
            revert MalformedNode("bad hex-prefix flag");
        }
        path = new bytes(2 * (length - 1) + odd);
        if (odd == 1) path[0] = bytes1(uint8(first & 0x0f));
        for (uint256 i = 1; i < length; ++i) {
            uint256 b = LibRLP.byteAt(rlp, offset + i);
            path[2 * i - 2 + odd] = bytes1(uint8(b >> 4));
            path[2 * i - 1 + odd] = bytes1(uint8(b & 0x0f));
        }
        isLeaf = flag >= 2;
    }

    // ---------------------------------------------------------------------------------------
    // Nibble paths
    // ---------------------------------------------------------------------------------------

    /// @notice The 64 nibbles of `key`, high nibble first, one per byte.
    function _nibbles(bytes32 key) private pure returns (bytes memory path) {
        path = new bytes(KEY_NIBBLES);
        for (uint256 i; i < 32; ++i) {
            uint8 b = uint8(key[i]);
            path[2 * i] = bytes1(b >> 4);
            path[2 * i + 1] = bytes1(b & 0x0f);
        }
    }

    /// @notice Whether `path` equals `key[at:]`.
    function _equalsRest(bytes memory path, bytes memory key, uint256 at)
        private
        pure
        returns (bool)
    {
        return path.length == key.length - at && _equalRange(path, 0, key, at, path.length);
    }

    /// @notice Whether `key[at:]` starts with `path`.
    function _startsWith(bytes memory key, uint256 at, bytes memory path)
        private
        pure
        returns (bool)
    {
        return path.length <= key.length - at && _equalRange(path, 0, key, at, path.length);
    }

    /// @notice The length of the common prefix of `path` and `key[at:]`.
    function _commonPrefix(bytes memory path, bytes memory key, uint256 at)
        private
        pure
        returns (uint256 n)
    {
        while (n < path.length && at + n < key.length && path[n] == key[at + n]) {
            ++n;
        }
    }

    /// @notice Whether `a[aOffset:aOffset+length]` equals `b[bOffset:bOffset+length]` (both in
    ///         bounds).
    function _equalRange(
        bytes memory a,
        uint256 aOffset,
        bytes memory b,
        uint256 bOffset,
        uint256 length
    ) private pure returns (bool equal) {
        assembly ("memory-safe") {
            equal := eq(
                keccak256(add(add(a, 0x20), aOffset), length),
                keccak256(add(add(b, 0x20), bOffset), length)
            )
        }
    }

    /// @notice `path[start:end]`, copied.
    function _slice(bytes memory path, uint256 start, uint256 end)
        private
        pure
        returns (bytes memory)
    {
        return _copy(path, start, end - start);
    }

    /// @notice `length` bytes of `src` from `offset`, copied.
    function _copy(bytes memory src, uint256 offset, uint256 length)
        private
        pure
        returns (bytes memory out)
    {
        out = new bytes(length);
        uint256 ptr;
        assembly ("memory-safe") {
            ptr := add(out, 0x20)
        }
        LibRLP.copy(ptr, src, offset, length);
    }
}

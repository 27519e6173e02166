// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TestBase} from "./lib/TestBase.sol";
import {LibMPT} from "../src/verifier/LibMPT.sol";
import {LibRLP} from "../src/verifier/LibRLP.sol";

/// @notice LibMPT behind external calls, so that a revert can be caught and compared, and the
///         gas of the library alone measured (witness copied from calldata included, the call's
///         ABI decoding and calldata cost not).
contract MPTHarness {
    function get(bytes32 root, bytes32 key, bytes[] calldata nodes)
        external
        pure
        returns (bool found, bytes memory value)
    {
        return LibMPT.get(root, key, nodes);
    }

    function set(bytes32 root, bytes32 key, bytes calldata value, bytes[] calldata nodes)
        external
        pure
        returns (bytes32 newRoot)
    {
        return LibMPT.set(root, key, value, nodes);
    }

    function getGas(bytes32 root, bytes32 key, bytes[] calldata nodes)
        external
        view
        returns (uint256 gasUsed)
    {
        uint256 before = gasleft();
        LibMPT.get(root, key, nodes);
        return before - gasleft();
    }

    function setGas(bytes32 root, bytes32 key, bytes calldata value, bytes[] calldata nodes)
        external
        view
        returns (uint256 gasUsed)
    {
        uint256 before = gasleft();
        LibMPT.set(root, key, value, nodes);
        return before - gasleft();
    }
}

/// @notice LibMPT against the Rust trie (`refute_engine::machine::TrieWitness`): every case of
///         every fixture file under test/fixtures/mpt/ (written by tests/it/mpt_fixtures.rs
///         from the engine's own tries and minimal witnesses) must give the engine's answer —
///         the same value, the same new root, or the same error (`MissingNode` with the same
///         hash; any of `MalformedNode`, `RLPTruncated`, `RLPNonCanonical` where the engine
///         says malformed). Then mutated witnesses, and fuzzed writes built in Solidity.
///
///         Gas, recorded in snapshots/LibMPT.json by `test_gas_deepPath` (the library, the
///         witness's copy from calldata to memory included; solc 0.8.30, optimizer 10,000 runs)
///         on a mainnet-shaped path, deep.json: eight full branches (532 bytes each) over the
///         key's leaf, a 4.4 KB witness. At the time of writing: read 57k (present or absent),
///         update 87k, insert splitting the leaf 103k, delete 99k, delete collapsing a branch
///         (depth 10) 124k. Not counted: the witness's calldata, ~70k gas on L1 at 16 gas a
///         byte.
contract LibMPTTest is TestBase {
    MPTHarness internal mpt;

    /// One fixture file: its JSON, node pool and number of cases.
    struct Fixture {
        string name;
        string json;
        bytes[] pool;
        uint256 count;
    }

    /// One case of a fixture file (see tests/it/mpt_fixtures.rs for the format).
    struct Case {
        string what;
        bool isGet;
        bytes32 root;
        bytes32 key;
        bytes value;
        bytes[] nodes;
        string error;
        bytes32 missing;
        bool found;
        bytes got;
        bytes32 newRoot;
    }

    function setUp() public {
        mpt = new MPTHarness();
    }

    // -----------------------------------------------------------------------------------------
    // The fixtures: one test per file
    // -----------------------------------------------------------------------------------------

    function test_fixture_get() public view {
        _replay("get", 80);
    }

    function test_fixture_insert() public view {
        _replay("insert", 80);
    }

    function test_fixture_update() public view {
        _replay("update", 60);
    }

    function test_fixture_delete() public view {
        _replay("delete", 80);
    }

    function test_fixture_world() public view {
        _replay("world", 90);
    }

    function test_fixture_deep() public view {
        _replay("deep", 6);
    }

    function test_fixture_hostile() public view {
        _replay("hostile", 200);
    }

    function _replay(string memory name, uint256 minCases) internal view {
        Fixture memory f = _load(name);
        assertLe(minCases, f.count, string.concat(name, ": too few cases"));
        for (uint256 i; i < f.count; ++i) {
            _check(_case(f, i));
        }
    }

    function _load(string memory name) internal view returns (Fixture memory f) {
        f.name = name;
        f.json = vm.readFile(string.concat(vm.projectRoot(), "/test/fixtures/mpt/", name, ".json"));
        f.pool = vm.parseJsonBytesArray(f.json, ".nodes");
        f.count = vm.parseJsonUint(f.json, ".count");
    }

    function _case(Fixture memory f, uint256 i) internal view returns (Case memory c) {
        string memory at = string.concat(".cases[", vm.toString(i), "].");
        string memory json = f.json;
        c.what = string.concat(
            f.name,
            ".json case ",
            vm.toString(i),
            ": ",
            vm.parseJsonString(json, string.concat(at, "note"))
        );
        c.isGet =
            keccak256(bytes(vm.parseJsonString(json, string.concat(at, "op")))) == keccak256("get");
        c.root = vm.parseJsonBytes32(json, string.concat(at, "root"));
        c.key = vm.parseJsonBytes32(json, string.concat(at, "key"));
        uint256[] memory indices = vm.parseJsonUintArray(json, string.concat(at, "nodes"));
        c.nodes = new bytes[](indices.length);
        for (uint256 j; j < indices.length; ++j) {
            c.nodes[j] = f.pool[indices[j]];
        }
        // The rest is there only where it applies (see tests/it/mpt_fixtures.rs).
        if (!c.isGet) c.value = vm.parseJsonBytes(json, string.concat(at, "value"));
        if (vm.keyExistsJson(json, string.concat(at, "error"))) {
            c.error = vm.parseJsonString(json, string.concat(at, "error"));
        }
        if (vm.keyExistsJson(json, string.concat(at, "missing"))) {
            c.missing = vm.parseJsonBytes32(json, string.concat(at, "missing"));
        }
        if (vm.keyExistsJson(json, string.concat(at, "found"))) {
            c.found = vm.parseJsonBool(json, string.concat(at, "found"));
        }
        if (vm.keyExistsJson(json, string.concat(at, "got"))) {
            c.got = vm.parseJsonBytes(json, string.concat(at, "got"));
        }
        if (vm.keyExistsJson(json, string.concat(at, "newRoot"))) {
            c.newRoot = vm.parseJsonBytes32(json, string.concat(at, "newRoot"));
        }
        // An answer or an error, never both, never neither.
        bool answered = c.isGet
            ? vm.keyExistsJson(json, string.concat(at, "found"))
            : vm.keyExistsJson(json, string.concat(at, "newRoot"));
        assertTrue(
            answered != (bytes(c.error).length != 0), string.concat(c.what, ": malformed case")
        );
    }

    function _check(Case memory c) internal view {
        if (c.isGet) {
            try mpt.get(c.root, c.key, c.nodes) returns (bool found, bytes memory value) {
                _expectAccepted(c);
                assertEq(found, c.found, c.what);
                assertEq(keccak256(value), keccak256(c.got), c.what);
            } catch (bytes memory reason) {
                _expectRejected(c, reason);
            }
        } else {
            try mpt.set(c.root, c.key, c.value, c.nodes) returns (bytes32 newRoot) {
                _expectAccepted(c);
                assertEq(newRoot, c.newRoot, c.what);
            } catch (bytes memory reason) {
                _expectRejected(c, reason);
            }
        }
    }

    function _expectAccepted(Case memory c) internal pure {
        assertTrue(
            bytes(c.error).length == 0,
            string.concat(c.what, ": the engine fails with ", c.error, ", LibMPT answers")
        );
    }

    function _expectRejected(Case memory c, bytes memory reason) internal view {
        string memory what = string.concat(c.what, ": LibMPT reverts with ", vm.toString(reason));
        if (keccak256(bytes(c.error)) == keccak256("MissingNode")) {
            bytes memory want = abi.encodeWithSelector(LibMPT.MissingNode.selector, c.missing);
            assertEq(keccak256(reason), keccak256(want), what);
        } else if (keccak256(bytes(c.error)) == keccak256("Malformed")) {
            assertTrue(_isMalformed(reason), what);
        } else {
            assertTrue(false, string.concat(what, "; the engine answers"));
        }
    }

    /// Whether `reason` is one of the errors for a node that does not decode.
    function _isMalformed(bytes memory reason) internal pure returns (bool) {
        if (reason.length < 4) return false;
        bytes4 selector = bytes4(reason);
        return selector == LibMPT.MalformedNode.selector || selector == LibRLP.RLPTruncated.selector
            || selector == LibRLP.RLPNonCanonical.selector;
    }

    // -----------------------------------------------------------------------------------------
    // Gas on a mainnet-shaped path
    // -----------------------------------------------------------------------------------------

    /// Records the library's gas for each case of deep.json (eight full branches over the
    /// target's leaf) in snapshots/LibMPT.json, with the witness size in bytes.
    function test_gas_deepPath() public {
        Fixture memory f = _load("deep");
        for (uint256 i; i < f.count; ++i) {
            Case memory c = _case(f, i);
            uint256 size;
            for (uint256 j; j < c.nodes.length; ++j) {
                size += c.nodes[j].length;
            }
            uint256 gasUsed = c.isGet
                ? mpt.getGas(c.root, c.key, c.nodes)
                : mpt.setGas(c.root, c.key, c.value, c.nodes);
            string memory note =
                vm.parseJsonString(f.json, string.concat(".cases[", vm.toString(i), "].note"));
            vm.snapshotValue("LibMPT", string.concat(note, ": gas"), gasUsed);
            vm.snapshotValue("LibMPT", string.concat(note, ": witness bytes"), size);
        }
    }

    // -----------------------------------------------------------------------------------------
    // Mutated witnesses
    // -----------------------------------------------------------------------------------------

    /// The read of deep.json's case 0: nine nodes, eight full branches and the leaf.
    function _deepRead() internal view returns (bytes32 root, bytes32 key, bytes[] memory nodes) {
        Case memory c = _case(_load("deep"), 0);
        assertTrue(c.isGet && c.found, "deep.json starts with a read that finds its key");
        assertEq(c.nodes.length, 9, "deep.json's read has nine nodes");
        return (c.root, c.key, c.nodes);
    }

    /// A flipped byte in any node: the node is not found by its hash.
    function test_flippedByte_isMissingNode() public view {
        (bytes32 root, bytes32 key, bytes[] memory nodes) = _deepRead();
        for (uint256 j; j < nodes.length; ++j) {
            bytes memory original = nodes[j];
            bytes memory flipped = bytes.concat(original);
            flipped[original.length / 2] ^= 0x01;
            nodes[j] = flipped;
            _expectGetReverts(
                root,
                key,
                nodes,
                abi.encodeWithSelector(LibMPT.MissingNode.selector, keccak256(original))
            );
            _expectSetReverts(
                root,
                key,
                hex"01",
                nodes,
                abi.encodeWithSelector(LibMPT.MissingNode.selector, keccak256(original))
            );
            nodes[j] = original;
        }
    }

    /// Any node left out: its hash is reported.
    function test_missingNode() public view {
        (bytes32 root, bytes32 key, bytes[] memory nodes) = _deepRead();
        for (uint256 j; j < nodes.length; ++j) {
            bytes[] memory fewer = new bytes[](nodes.length - 1);
            for (uint256 k; k < fewer.length; ++k) {
                fewer[k] = nodes[k < j ? k : k + 1];
            }
            bytes memory want =
                abi.encodeWithSelector(LibMPT.MissingNode.selector, keccak256(nodes[j]));
            _expectGetReverts(root, key, fewer, want);
            _expectSetReverts(root, key, "", fewer, want);
        }
    }

    /// The witness of another trie: the root itself is missing.
    function test_witnessOfAnotherRoot() public view {
        (bytes32 root, bytes32 key,) = _deepRead();
        Case memory c = _case(_load("get"), 10);
        bytes[] memory other = c.nodes;
        assertTrue(c.root != root && other.length != 0, "another trie");
        bytes memory want = abi.encodeWithSelector(LibMPT.MissingNode.selector, root);
        _expectGetReverts(root, key, other, want);
        _expectSetReverts(root, key, hex"01", other, want);
    }

    /// A truncated node: missing under its old hash; as a root of its own, not RLP.
    function test_truncatedNode() public view {
        (bytes32 root, bytes32 key, bytes[] memory nodes) = _deepRead();
        for (uint256 j; j < nodes.length; ++j) {
            bytes memory original = nodes[j];
            bytes memory truncated = new bytes(original.length - 1);
            for (uint256 k; k < truncated.length; ++k) {
                truncated[k] = original[k];
            }
            nodes[j] = truncated;
            _expectGetReverts(
                root,
                key,
                nodes,
                abi.encodeWithSelector(LibMPT.MissingNode.selector, keccak256(original))
            );
            nodes[j] = original;
            bytes[] memory alone = new bytes[](1);
            alone[0] = truncated;
            bytes memory notRlp = abi.encodeWithSelector(LibRLP.RLPTruncated.selector);
            _expectGetReverts(keccak256(truncated), key, alone, notRlp);
            _expectSetReverts(keccak256(truncated), key, hex"01", alone, notRlp);
        }
    }

    /// A key other than the witness's: its path leaves the witness at the second branch, whose
    /// child there is reported missing.
    function test_wrongKey() public view {
        (bytes32 root, bytes32 key, bytes[] memory nodes) = _deepRead();
        // The key with its second nibble changed.
        bytes32 wrong = key ^ bytes32(uint256(0x01) << 248);
        bytes memory first = _find(nodes, root);
        bytes memory second = _find(nodes, _childHash(first, uint8(key[0]) >> 4));
        bytes32 sibling = _childHash(second, (uint8(key[0]) & 0x0f) ^ 1);
        bytes memory want = abi.encodeWithSelector(LibMPT.MissingNode.selector, sibling);
        _expectGetReverts(root, wrong, nodes, want);
        _expectSetReverts(root, wrong, hex"01", nodes, want);
        _expectSetReverts(root, wrong, "", nodes, want);
    }

    /// Garbage as the root node: typed errors, never a panic or a root.
    function test_garbageRoots() public view {
        _expectMalformed(hex"01"); // not a list
        _expectMalformed(hex"c0"); // no items
        _expectMalformed(hex"c3010203"); // three items
        _expectMalformed(hex"c2c0"); // shorter than its header says
        _expectMalformed(hex"c3010203ff"); // longer than its header says
        _expectMalformed(hex"c3208101"); // a leaf's value 0x81 0x01: not in canonical form
        _expectMalformed(hex"f8032081ff"); // a leaf in a long-form list header below 56
        _expectMalformed(hex"c12001"); // an item after the list
        _expectMalformed(hex"c3c12001"); // a leaf or extension path that is a list
        _expectMalformed(hex"c28080"); // an empty hex-prefix path
        _expectMalformed(hex"c482400101"); // hex-prefix flag 4
        _expectMalformed(hex"c482010101"); // even flag, nonzero padding nibble
        _expectMalformed(hex"c22080"); // a leaf of an empty value
        _expectMalformed(hex"c320c101"); // a leaf whose value is a list
        _expectMalformed(hex"c3008101"); // an extension whose child is a 1-byte string
        // A branch whose first child is a 2-byte string, and one whose first child is a list of
        // 32 bytes (not inline).
        bytes memory fifteen = hex"808080808080808080808080808080";
        _expectMalformed(bytes.concat(hex"d4", hex"820101", fifteen, hex"80"));
        bytes memory long = bytes.concat(hex"df209d", new bytes(29)); // a leaf of 32 bytes
        _expectMalformed(bytes.concat(hex"f0", long, fifteen, hex"80"));
        // A valid branch with that child hashed instead, for contrast.
        bytes memory branch = bytes.concat(hex"f1", hex"a0", keccak256(long), fifteen, hex"80");
        bytes[] memory nodes = new bytes[](1);
        nodes[0] = branch;
        (bool found,) = mpt.get(keccak256(branch), bytes32(uint256(1) << 252), nodes);
        assertFalse(found, "a valid branch: slot 1 is empty");
    }

    function _expectMalformed(bytes memory node) internal view {
        bytes[] memory alone = new bytes[](1);
        alone[0] = node;
        bytes32 key = keccak256("key");
        try mpt.get(keccak256(node), key, alone) {
            assertTrue(false, string.concat("accepted ", vm.toString(node)));
        } catch (bytes memory reason) {
            assertTrue(
                _isMalformed(reason), string.concat("reverts otherwise: ", vm.toString(reason))
            );
        }
    }

    function _expectGetReverts(bytes32 root, bytes32 key, bytes[] memory nodes, bytes memory want)
        internal
        view
    {
        try mpt.get(root, key, nodes) {
            assertTrue(false, "get accepted a bad witness");
        } catch (bytes memory reason) {
            assertEq(
                keccak256(reason),
                keccak256(want),
                string.concat("get reverts with ", vm.toString(reason))
            );
        }
    }

    function _expectSetReverts(
        bytes32 root,
        bytes32 key,
        bytes memory value,
        bytes[] memory nodes,
        bytes memory want
    ) internal view {
        try mpt.set(root, key, value, nodes) {
            assertTrue(false, "set accepted a bad witness");
        } catch (bytes memory reason) {
            assertEq(
                keccak256(reason),
                keccak256(want),
                string.concat("set reverts with ", vm.toString(reason))
            );
        }
    }

    function _find(bytes[] memory nodes, bytes32 hash) internal pure returns (bytes memory) {
        for (uint256 i; i < nodes.length; ++i) {
            if (keccak256(nodes[i]) == hash) return nodes[i];
        }
        revert("node not in the witness");
    }

    /// Child `i` of a full branch of sixteen hashed children: `f9 0211`, then `a0 ‖ hash` each.
    function _childHash(bytes memory branch, uint256 i) internal pure returns (bytes32 hash) {
        assertEq(branch.length, 532, "a full branch");
        assertEq(uint8(branch[0]), 0xf9, "a full branch");
        assertEq(uint8(branch[3 + 33 * i]), 0xa0, "a hashed child");
        assembly {
            hash := mload(add(add(branch, 0x24), mul(33, i)))
        }
    }

    // -----------------------------------------------------------------------------------------
    // Fuzzing: writes built in Solidity
    // -----------------------------------------------------------------------------------------

    /// Keys sharing a fuzzed number of leading nibbles with a fuzzed base (0 to 63): long shared
    /// prefixes make extensions, deep branches and inline nodes.
    function _keys(bytes32 base, uint256 seed, uint256 n)
        internal
        pure
        returns (bytes32[] memory keys)
    {
        keys = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            uint256 shared = uint256(keccak256(abi.encode(seed, i, "shared"))) % 64;
            bytes32 rest = keccak256(abi.encode(seed, i, "rest"));
            // `shared` nibbles of base, the rest random.
            uint256 mask = shared == 0 ? 0 : ~(type(uint256).max >> (4 * shared));
            keys[i] = (base & bytes32(mask)) | (rest & ~bytes32(mask));
            for (uint256 j; j < i; ++j) {
                if (keys[j] == keys[i]) keys[i] = keccak256(abi.encode(keys[i]));
            }
        }
    }

    /// A value of 1 to 80 bytes: inline and hashed leaves, one-byte and long-form strings.
    function _value(uint256 seed, uint256 i) internal pure returns (bytes memory value) {
        uint256 length = 1 + uint256(keccak256(abi.encode(seed, i, "length"))) % 80;
        value = new bytes(length);
        for (uint256 k; k < length; ++k) {
            value[k] = bytes1(uint8(uint256(keccak256(abi.encode(seed, i, k)))));
        }
    }

    /// Inserting keys one by one from the empty trie: each is then read back; deleting them in
    /// reverse order passes back through every earlier root to the empty root.
    function testFuzz_insertGetDelete(bytes32 base, uint256 seed, uint8 count) public pure {
        uint256 n = 1 + count % 12;
        bytes32[] memory keys = _keys(base, seed, n);
        bytes32[] memory roots = new bytes32[](n + 1);
        roots[0] = LibMPT.EMPTY_ROOT;
        LibMPT.Witness memory w = LibMPT.witness(new bytes[](0));
        for (uint256 i; i < n; ++i) {
            roots[i + 1] = LibMPT.setAndKeep(w, roots[i], keys[i], _value(seed, i));
            for (uint256 j; j <= i; ++j) {
                (bool found, bytes memory value) = LibMPT.get(w, roots[i + 1], keys[j]);
                assertTrue(found, "an inserted key is found");
                assertEq(keccak256(value), keccak256(_value(seed, j)), "with its value");
            }
        }
        for (uint256 i = n; i > 0; --i) {
            bytes32 back = LibMPT.setAndKeep(w, roots[i], keys[i - 1], "");
            assertEq(back, roots[i - 1], "a delete undoes the insert");
            (bool found,) = LibMPT.get(w, back, keys[i - 1]);
            assertFalse(found, "a deleted key is absent");
        }
    }

    /// The root depends on the keys and values only: inserting in reverse order gives the same
    /// root, and the plain `set` (no nodes kept) agrees with `setAndKeep`.
    function testFuzz_orderIndependent(bytes32 base, uint256 seed, uint8 count) public pure {
        uint256 n = 2 + count % 10;
        bytes32[] memory keys = _keys(base, seed, n);
        LibMPT.Witness memory forward = LibMPT.witness(new bytes[](0));
        LibMPT.Witness memory backward = LibMPT.witness(new bytes[](0));
        bytes32 a = LibMPT.EMPTY_ROOT;
        bytes32 b = LibMPT.EMPTY_ROOT;
        for (uint256 i; i < n; ++i) {
            bytes32 plain = LibMPT.set(forward, a, keys[i], _value(seed, i));
            a = LibMPT.setAndKeep(forward, a, keys[i], _value(seed, i));
            assertEq(plain, a, "set and setAndKeep agree");
            uint256 k = n - 1 - i;
            b = LibMPT.setAndKeep(backward, b, keys[k], _value(seed, k));
        }
        assertEq(a, b, "insertion order does not matter");
    }

    /// A trie of `n` fuzzed keys built from the empty trie, its nodes kept in `w`.
    function _build(bytes32 base, uint256 seed, uint256 n)
        internal
        pure
        returns (LibMPT.Witness memory w, bytes32 root, bytes32[] memory keys)
    {
        keys = _keys(base, seed, n);
        w = LibMPT.witness(new bytes[](0));
        root = LibMPT.EMPTY_ROOT;
        for (uint256 i; i < n; ++i) {
            root = LibMPT.setAndKeep(w, root, keys[i], _value(seed, i));
        }
    }

    /// An update then the old value back gives the old root.
    function testFuzz_updateAndBack(bytes32 base, uint256 seed, uint8 count) public pure {
        uint256 n = 1 + count % 10;
        (LibMPT.Witness memory w, bytes32 root, bytes32[] memory keys) = _build(base, seed, n);
        _updateAndBack(w, root, keys[seed % n], _value(seed, seed % n), _value(seed, n + 1));
    }

    function _updateAndBack(
        LibMPT.Witness memory w,
        bytes32 root,
        bytes32 key,
        bytes memory oldValue,
        bytes memory newValue
    ) internal pure {
        bytes32 updated = LibMPT.setAndKeep(w, root, key, newValue);
        (bool found, bytes memory value) = LibMPT.get(w, updated, key);
        assertTrue(found, "updated key found");
        assertEq(keccak256(value), keccak256(newValue), "with the new value");
        assertEq(LibMPT.setAndKeep(w, updated, key, oldValue), root, "the old value back");
    }

    /// Deleting an absent key changes nothing; reading it finds nothing.
    function testFuzz_absentKey(bytes32 base, uint256 seed, uint8 count, bytes32 absent)
        public
        pure
    {
        uint256 n = 1 + count % 10;
        (LibMPT.Witness memory w, bytes32 root, bytes32[] memory keys) = _build(base, seed, n);
        for (uint256 i; i < n; ++i) {
            if (keys[i] == absent) return;
        }
        (bool found,) = LibMPT.get(w, root, absent);
        assertFalse(found, "an absent key");
        assertEq(LibMPT.set(w, root, absent, ""), root, "deleting an absent key");
    }

    /// Any bit flipped anywhere in the deep witness: the read and the write revert with the
    /// flipped node's original hash; never a wrong answer.
    function testFuzz_flippedBit(uint256 node, uint256 at, uint8 bit) public view {
        (bytes32 root, bytes32 key, bytes[] memory nodes) = _deepRead();
        node %= nodes.length;
        bytes memory original = nodes[node];
        bytes memory flipped = bytes.concat(original);
        flipped[at % original.length] ^= bytes1(uint8(1) << (bit % 8));
        nodes[node] = flipped;
        bytes memory want = abi.encodeWithSelector(LibMPT.MissingNode.selector, keccak256(original));
        _expectGetReverts(root, key, nodes, want);
        _expectSetReverts(root, key, hex"2a", nodes, want);
    }
}

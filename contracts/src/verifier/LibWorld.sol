// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {LibMPT} from "./LibMPT.sol";
import {LibStep, Step} from "./LibStep.sol";

/// @notice An account of the state trie (Yellow Paper §4.1), decoded from its RLP.
/// @param exists Whether the state trie holds the address (the other fields are zero if not).
struct Account {
    bool exists;
    uint256 nonce;
    uint256 balance;
    bytes32 storageRoot;
    bytes32 codeHash;
}

/// @title  LibWorld
/// @notice The world tries of the step machine (docs/spec/step-machine.md §2.4, §5.2): the
///         trie-node section of the witness as a `LibMPT.Witness`, the keys and value
///         encodings of the state trie, the storage tries, the EIP-2929 warm sets and EIP-1153
///         transient storage, and the account code section. Rule for rule
///         `refute_engine::machine::{Tries, world}` (engine/src/machine/world.rs).
library LibWorld {
    /// @notice A value a world trie stores does not decode: an account that is not
    ///         `rlp([nonce, balance, storage_root, code_hash])`, a storage or transient value
    ///         that is not the RLP of a word (canonical, at most 32 bytes).
    error BadWorldValue();
    /// @notice The account code section is missing where the step needs the code, is not
    ///         `0x01 ‖ code`, or the code does not hash to the account's code hash.
    error BadAccountCode();
    /// @notice A storage write to an account that does not exist.
    error NoAccount();

    uint256 internal constant SEC_TRIES = 7;
    uint256 internal constant SEC_ACCOUNT_CODE = 8;

    /// @notice `keccak256("")`: the code hash of an account without code.
    bytes32 internal constant KECCAK_EMPTY =
        0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470;

    // ---- the witness ------------------------------------------------------------------

    /// @notice The trie nodes of section 7 (`len u32 ‖ rlp` each), copied to memory and
    ///         hashed; they must be in strictly ascending order of their hashes
    ///         (docs/spec/verifier-abi.md §2, §3).
    function tries(Step memory s) internal pure returns (LibMPT.Witness memory w) {
        uint256 at = s.sec[SEC_TRIES];
        uint256 end = at + s.len[SEC_TRIES];
        uint256 count;
        for (uint256 p = at; p < end; ++count) {
            if (p + 4 > end) revert LibStep.MalformedWitness();
            p += 4 + (LibStep.word(p) >> 224);
            if (p > end) revert LibStep.MalformedWitness();
        }
        bytes[] memory nodes = new bytes[](count);
        bytes32[] memory hashes = new bytes32[](count);
        bytes32 last;
        for (uint256 i; i < count; ++i) {
            uint256 len = LibStep.word(at) >> 224;
            bytes memory node = new bytes(len);
            bytes32 hash;
            assembly ("memory-safe") {
                calldatacopy(add(node, 0x20), add(at, 4), len)
                hash := keccak256(add(node, 0x20), len)
            }
            if (i != 0 && hash <= last) revert LibStep.MalformedWitness();
            last = hash;
            nodes[i] = node;
            hashes[i] = hash;
            at += 4 + len;
        }
        w.nodes = nodes;
        w.hashes = hashes;
        w.length = count;
    }

    /// @notice The whole code of `account` (§5.2): empty for code hash `H("")`, else the
    ///         account code section's, which must hash to the code hash.
    /// @return at  Calldata offset of the code.
    /// @return len Its length in bytes.
    function codeOf(Step memory s, Account memory a)
        internal
        pure
        returns (uint256 at, uint256 len)
    {
        if (a.codeHash == KECCAK_EMPTY) return (0, 0);
        uint256 secLen = s.len[SEC_ACCOUNT_CODE];
        at = s.sec[SEC_ACCOUNT_CODE];
        if (secLen == 0) revert BadAccountCode();
        if (LibStep.word(at) >> 248 != 1) revert LibStep.MalformedWitness();
        at += 1;
        len = secLen - 1;
        bytes32 hash;
        assembly ("memory-safe") {
            let p := mload(0x40)
            calldatacopy(p, at, len)
            hash := keccak256(p, len)
        }
        if (hash != a.codeHash) revert BadAccountCode();
    }

    // ---- keys (world.rs) ------------------------------------------------------------------

    /// @notice Key of `who` in the state trie and the warm-address set: `H(address)`.
    function addressKey(address who) internal pure returns (bytes32 key) {
        assembly ("memory-safe") {
            mstore(0x00, shl(96, who))
            key := keccak256(0x00, 20)
        }
    }

    /// @notice Key of `slot` in a storage trie: `H(slot)`.
    function slotKey(uint256 slot) internal pure returns (bytes32 key) {
        assembly ("memory-safe") {
            mstore(0x00, slot)
            key := keccak256(0x00, 32)
        }
    }

    /// @notice Key of `(who, slot)` in the warm-slot set and transient storage:
    ///         `H(address ‖ slot)`.
    function pairKey(address who, uint256 slot) internal pure returns (bytes32 key) {
        assembly ("memory-safe") {
            mstore(0x00, shl(96, who))
            mstore(20, slot)
            key := keccak256(0x00, 52)
        }
    }

    /// @notice Whether `who` is warm by rule and never in the warm-address set: the
    ///         precompiles `0x01…0x0a` (EIP-2929) and the block's coinbase (EIP-3651).
    function warmByRule(address who, address coinbase) internal pure returns (bool) {
        uint256 index = uint160(who);
        return who == coinbase || (index >= 1 && index <= 10);
    }

    // ---- reads and writes (world.rs `Tries`) -------------------------------------------

    /// @notice The account at `account` in the state trie with `root`.
    function account(LibMPT.Witness memory w, bytes32 root, address who)
        internal
        pure
        returns (Account memory a)
    {
        (bool found, bytes memory value) = LibMPT.get(w, root, addressKey(who));
        if (found) a = decodeAccount(value);
    }

    /// @notice The storage value of `slot` of account `a` (zero when `a` does not exist or the
    ///         slot is absent).
    function storageOf(LibMPT.Witness memory w, Account memory a, uint256 slot)
        internal
        pure
        returns (uint256)
    {
        if (!a.exists) return 0;
        (bool found, bytes memory value) = LibMPT.get(w, a.storageRoot, slotKey(slot));
        return found ? decodeWord(value) : 0;
    }

    /// @notice The state root after setting `slot` of `who`, whose account `a` in the state
    ///         trie with `root` must exist, to `value`.
    function setStorage(
        LibMPT.Witness memory w,
        bytes32 root,
        address who,
        Account memory a,
        uint256 slot,
        uint256 value
    ) internal pure returns (bytes32) {
        if (!a.exists) revert NoAccount();
        a.storageRoot = LibMPT.set(w, a.storageRoot, slotKey(slot), encodeWord(value));
        return LibMPT.set(w, root, addressKey(who), encodeAccount(a));
    }

    /// @notice Whether `key` is in the set with `root`.
    function contains(LibMPT.Witness memory w, bytes32 root, bytes32 key)
        internal
        pure
        returns (bool found)
    {
        (found,) = LibMPT.get(w, root, key);
    }

    /// @notice The root of the set with `root` after inserting `key` (value `0x01`).
    function insert(LibMPT.Witness memory w, bytes32 root, bytes32 key)
        internal
        pure
        returns (bytes32)
    {
        return LibMPT.set(w, root, key, hex"01");
    }

    /// @notice The word stored at `key` in the trie with `root` (zero when absent): a
    ///         transient value.
    function wordAt(LibMPT.Witness memory w, bytes32 root, bytes32 key)
        internal
        pure
        returns (uint256)
    {
        (bool found, bytes memory value) = LibMPT.get(w, root, key);
        return found ? decodeWord(value) : 0;
    }

    // ---- value encodings ------------------------------------------------------------------

    /// @notice `rlp(value)` as a trie stores it; empty (absent) for zero.
    function encodeWord(uint256 value) internal pure returns (bytes memory out) {
        if (value == 0) return out;
        out = new bytes(33);
        uint256 len = _writeInt(out, 0, value);
        assembly ("memory-safe") {
            mstore(out, len)
        }
    }

    /// @notice `rlp([nonce, balance, storage_root, code_hash])`.
    function encodeAccount(Account memory a) internal pure returns (bytes memory out) {
        out = new bytes(128);
        uint256 at = 3; // room for the list header (payload at most 9 + 33 + 33 + 33 bytes)
        at = _writeInt(out, at, a.nonce);
        at = _writeInt(out, at, a.balance);
        bytes32 storageRoot = a.storageRoot;
        bytes32 codeHash = a.codeHash;
        assembly ("memory-safe") {
            let p := add(add(out, 0x20), at)
            mstore8(p, 0xa0)
            mstore(add(p, 1), storageRoot)
            mstore8(add(p, 33), 0xa0)
            mstore(add(p, 34), codeHash)
        }
        uint256 payload = at + 66 - 3;
        uint256 start;
        assembly ("memory-safe") {
            let p := add(out, 0x20)
            switch lt(payload, 56)
            case 1 {
                start := 2
                mstore8(add(p, 2), add(0xc0, payload))
            }
            default {
                start := 1
                mstore8(add(p, 1), 0xf8)
                mstore8(add(p, 2), payload)
            }
            // Shift the encoding to the front of `out`.
            let len := sub(add(payload, 3), start)
            mcopy(p, add(p, start), len)
            mstore(out, len)
        }
    }

    /// @notice Writes the RLP of the integer `value` at byte `at` of `out`'s data; returns
    ///         the byte after it.
    function _writeInt(bytes memory out, uint256 at, uint256 value)
        private
        pure
        returns (uint256 next)
    {
        assembly ("memory-safe") {
            let p := add(add(out, 0x20), at)
            switch lt(value, 0x80)
            case 1 {
                switch value
                case 0 { mstore8(p, 0x80) }
                default { mstore8(p, value) }
                next := add(at, 1)
            }
            default {
                let n := 0
                for { let v := value } v { v := shr(8, v) } { n := add(n, 1) }
                mstore8(p, add(0x80, n))
                mstore(add(p, 1), shl(sub(256, mul(8, n)), value))
                next := add(at, add(1, n))
            }
        }
    }

    /// @notice Decodes `rlp(value)` (a storage or transient value): a canonical string of at
    ///         most 32 bytes without a leading zero; bytes after it are ignored, as
    ///         `U256::decode` ignores them.
    function decodeWord(bytes memory value) internal pure returns (uint256 v) {
        uint256 ptr;
        assembly ("memory-safe") {
            ptr := add(value, 0x20)
        }
        (v,) = _readInt(ptr, ptr + value.length, 32);
    }

    /// @notice Decodes an account's RLP as `TrieAccount::decode` does: one list holding
    ///         exactly a nonce (≤ 8 bytes), a balance (≤ 32 bytes), two 32-byte hashes; bytes
    ///         after the list are ignored.
    function decodeAccount(bytes memory value) internal pure returns (Account memory a) {
        uint256 ptr;
        uint256 end;
        assembly ("memory-safe") {
            ptr := add(value, 0x20)
            end := add(ptr, mload(value))
        }
        if (ptr >= end) revert BadWorldValue();
        uint256 b = _at(ptr);
        uint256 payload;
        if (b < 0xc0) revert BadWorldValue();
        if (b < 0xf8) {
            payload = b - 0xc0;
            ptr += 1;
        } else {
            (payload, ptr) = _longLength(ptr, end, b - 0xf7);
        }
        uint256 listEnd = ptr + payload;
        if (listEnd > end) revert BadWorldValue();
        a.exists = true;
        (a.nonce, ptr) = _readInt(ptr, listEnd, 8);
        (a.balance, ptr) = _readInt(ptr, listEnd, 32);
        (a.storageRoot, ptr) = _readHash(ptr, listEnd);
        (a.codeHash, ptr) = _readHash(ptr, listEnd);
        if (ptr != listEnd) revert BadWorldValue();
    }

    /// @notice Whether `a` is empty in the sense of EIP-161: no code, zero nonce and balance.
    function isEmpty(Account memory a) internal pure returns (bool) {
        return a.nonce == 0 && a.balance == 0 && a.codeHash == KECCAK_EMPTY;
    }

    function _at(uint256 ptr) private pure returns (uint256 b) {
        assembly ("memory-safe") {
            b := byte(0, mload(ptr))
        }
    }

    /// @notice A long-form length of `k` bytes after the header byte at `ptr`: at most 8
    ///         bytes, no leading zero, at least 56 (`alloy_rlp::Header::decode`).
    function _longLength(uint256 ptr, uint256 end, uint256 k)
        private
        pure
        returns (uint256 length, uint256 next)
    {
        next = ptr + 1 + k;
        if (k > 8 || next > end || _at(ptr + 1) == 0) revert BadWorldValue();
        assembly ("memory-safe") {
            length := shr(sub(256, mul(8, k)), mload(add(ptr, 1)))
        }
        if (length < 56) revert BadWorldValue();
    }

    /// @notice The string item at `ptr` (ending by `end`): its payload and the next item.
    function _readString(uint256 ptr, uint256 end)
        private
        pure
        returns (uint256 payload, uint256 len, uint256 next)
    {
        if (ptr >= end) revert BadWorldValue();
        uint256 b = _at(ptr);
        if (b < 0x80) return (ptr, 1, ptr + 1);
        if (b < 0xb8) {
            len = b - 0x80;
            payload = ptr + 1;
            if (len == 1 && _at(payload) < 0x80) revert BadWorldValue();
        } else if (b < 0xc0) {
            (len, payload) = _longLength(ptr, end, b - 0xb7);
        } else {
            revert BadWorldValue();
        }
        next = payload + len;
        if (next > end) revert BadWorldValue();
    }

    /// @notice An integer of at most `max` bytes without a leading zero.
    function _readInt(uint256 ptr, uint256 end, uint256 max)
        private
        pure
        returns (uint256 v, uint256 next)
    {
        uint256 payload;
        uint256 len;
        (payload, len, next) = _readString(ptr, end);
        if (len > max || (len != 0 && _at(payload) == 0)) revert BadWorldValue();
        if (len != 0) {
            assembly ("memory-safe") {
                v := shr(sub(256, mul(8, len)), mload(payload))
            }
        }
    }

    /// @notice A 32-byte string.
    function _readHash(uint256 ptr, uint256 end) private pure returns (bytes32 h, uint256 next) {
        uint256 payload;
        uint256 len;
        (payload, len, next) = _readString(ptr, end);
        if (len != 32) revert BadWorldValue();
        assembly ("memory-safe") {
            h := mload(payload)
        }
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {LibStep, Step} from "./LibStep.sol";
import {LibKeccak} from "./LibKeccak.sol";

/// @title  OpsMicro
/// @notice The instructions over unbounded data (docs/spec/step-machine.md §4.5, §5.5): the
///         opening steps of KECCAK256, LOG0–LOG4, CALLDATACOPY, CODECOPY, RETURNDATACOPY and
///         MCOPY (every charge, the operands popped, the pending operation opened), and the
///         sponge (KECCAK256, LOGn) and copy micro-steps after them (a copy's micro-steps
///         include EXTCODECOPY's, whose source root the opening committed). Rule for rule
///         engine/src/machine/micro.rs and sponge.rs.
/// @dev    The pending operation is the witness's section 9, `pending_kind u8 ‖
///         encode(Pending)`, checked against the header's kind and hash. Sponge state (210
///         bytes): `lanes 25 × u64 ‖ source u8 ‖ offset u32 ‖ remaining u32 ‖ purpose u8`;
///         Log (339): `topic_count u8 ‖ topics 4 × b32 ‖ sponge`; Copy (50): `source u8 ‖
///         source_root b32 ‖ source_len u32 ‖ source_offset u32 ‖ dest u8 ‖ dest_offset u32 ‖
///         remaining u32`.
library OpsMicro {
    /// @notice The pending section is missing, is not of the header's kind, does not hash to
    ///         the header's `pending_hash`, or holds a state no opening step commits (a sponge
    ///         of the wrong purpose, more than four topics, a copy with nothing left or past
    ///         its source).
    error BadPending();
    /// @notice A copy's source words or chunks are missing, too many, or do not verify
    ///         against the copy's source root.
    error BadSource();
    /// @notice A micro-step of a kind this version does not run (a sponge over a source other
    ///         than memory, a copy to a buffer other than memory): never a wrong answer.
    error UnsupportedMicroStep();

    uint256 internal constant SEC_PENDING = 9;
    uint256 internal constant SEC_SOURCE = 10;
    uint256 internal constant SEC_SOURCE_CODE = 11;

    uint256 internal constant PENDING_KECCAK = 1;
    uint256 internal constant PENDING_COPY = 2;
    uint256 internal constant PENDING_LOG = 3;

    uint256 internal constant SPONGE_LEN = 210;
    uint256 internal constant LOG_LEN = 339;
    uint256 internal constant COPY_LEN = 50;

    /// @notice `keccak256("")`.
    bytes32 internal constant KECCAK_EMPTY =
        0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470;

    // ---- opening steps (§5.5) -------------------------------------------------------------

    /// @notice Runs the opening step of a micro-stepped opcode (past its static gas).
    /// @dev    EXTCODECOPY's opening (0x3c) is not implemented: `Unsupported`, by the caller.
    function open(Step memory s) internal pure {
        uint256 op = s.opcode;
        if (op == 0x20) return _openKeccak(s);
        if (op >= 0xa0) return _openLog(s, op - 0xa0);
        _openCopy(s);
    }

    function _openKeccak(Step memory s) private pure {
        uint256 len = LibStep.arg(s, 1);
        if (len > type(uint32).max) return _halt(s);
        if (!LibStep.charge(s, 6 * ((len + 31) / 32))) return;
        if (len == 0) return LibStep.push(s, uint256(KECCAK_EMPTY));
        if (!LibStep.expand(s, LibStep.arg(s, 0), len)) return;
        bytes memory pending = _freshSponge(LibStep.arg(s, 0), len, 0);
        _open(s, PENDING_KECCAK, keccak256(pending));
    }

    function _openLog(Step memory s, uint256 count) private pure {
        uint256 len = LibStep.arg(s, 1);
        if (len > type(uint32).max) return _halt(s);
        if (!LibStep.charge(s, 375 * count + 8 * len)) return;
        bytes memory topics = new bytes(128);
        for (uint256 k = 0; k < count; ++k) {
            uint256 topic = LibStep.arg(s, 2 + k);
            assembly ("memory-safe") {
                mstore(add(add(topics, 0x20), shl(5, k)), topic)
            }
        }
        if (len == 0) return _appendLog(s, count, topics, KECCAK_EMPTY);
        if (!LibStep.expand(s, LibStep.arg(s, 0), len)) return;
        bytes memory pending =
            bytes.concat(bytes1(uint8(count)), topics, _freshSponge(LibStep.arg(s, 0), len, 1));
        _open(s, PENDING_LOG, keccak256(pending));
    }

    /// @notice CALLDATACOPY, CODECOPY, RETURNDATACOPY, MCOPY `(dest, source, len)`.
    function _openCopy(Step memory s) private pure {
        uint256 op = s.opcode;
        uint256 dest = LibStep.arg(s, 0);
        uint256 source = LibStep.arg(s, 1);
        uint256 len = LibStep.arg(s, 2);
        if (len > type(uint32).max) return _halt(s);
        uint256 f = s.frame;
        if (op == 0x3e) {
            // RETURNDATACOPY past the return data halts, whatever the length (EIP-211).
            uint256 rdLen = LibStep.get(f, LibStep.F_RETURNDATA_LEN, 4);
            if (source > rdLen || rdLen - source < len) return _halt(s);
        }
        if (!LibStep.charge(s, 3 * ((len + 31) / 32))) return;
        if (len == 0) return;
        if (op == 0x5e && !LibStep.expand(s, source, len)) return;
        if (!LibStep.expand(s, dest, len)) return;
        uint256 kind;
        uint256 root;
        uint256 sourceLen;
        if (op == 0x37) {
            (kind, root, sourceLen) =
            (
                1,
                LibStep.get(f, LibStep.F_CALLDATA_ROOT, 32),
                LibStep.get(f, LibStep.F_CALLDATA_LEN, 4)
            );
        } else if (op == 0x39) {
            (kind, root, sourceLen) =
            (3, LibStep.get(f, LibStep.F_CODE_ROOT, 32), LibStep.get(f, LibStep.F_CODE_SIZE, 4));
        } else if (op == 0x3e) {
            (kind, root, sourceLen) =
            (
                2,
                LibStep.get(f, LibStep.F_RETURNDATA_LEN + 4, 32),
                LibStep.get(f, LibStep.F_RETURNDATA_LEN, 4)
            );
        } else {
            // MCOPY: memory as it is after both expansions (which never change the root).
            (kind, root, sourceLen) = (0, uint256(s.memRoot), s.memLen * 32);
        }
        uint256 sourceOffset = source < sourceLen ? source : sourceLen;
        bytes memory pending = abi.encodePacked(
            uint8(kind),
            root,
            uint32(sourceLen),
            uint32(sourceOffset),
            uint8(0),
            uint32(dest),
            uint32(len)
        );
        _open(s, PENDING_COPY, keccak256(pending));
    }

    /// @notice A sponge state with zero lanes over memory `[offset, offset + len)`.
    function _freshSponge(uint256 offset, uint256 len, uint256 purpose)
        private
        pure
        returns (bytes memory)
    {
        return
            abi.encodePacked(new bytes(200), uint8(0), uint32(offset), uint32(len), uint8(purpose));
    }

    /// @notice Opens the pending operation `kind` with `hash`; `pc` stays on the instruction.
    function _open(Step memory s, uint256 kind, bytes32 hash) private pure {
        LibStep.put(s.header, LibStep.H_PENDING_KIND, 1, kind);
        LibStep.put(s.header, LibStep.H_PENDING_HASH, 32, uint256(hash));
        s.nextPc = s.pc;
    }

    /// @notice Appends the log item `H(address ‖ u8(count) ‖ topics ‖ data_hash)` (§2.5) of
    ///         the frame's address to the header's log chain; `topics` holds `count` topics.
    function _appendLog(Step memory s, uint256 count, bytes memory topics, bytes32 dataHash)
        private
        pure
    {
        bytes memory item = abi.encodePacked(
            address(uint160(LibStep.get(s.frame, LibStep.F_ADDRESS, 20))), uint8(count)
        );
        for (uint256 k = 0; k < count; ++k) {
            bytes32 topic;
            assembly ("memory-safe") {
                topic := mload(add(add(topics, 0x20), shl(5, k)))
            }
            item = bytes.concat(item, topic);
        }
        bytes32 itemHash = keccak256(bytes.concat(item, dataHash));
        uint256 header = s.header;
        uint256 logCount = LibStep.get(header, LibStep.H_LOGS_COUNT, 4);
        bytes32 acc = bytes32(LibStep.get(header, LibStep.H_LOGS_ACC, 32));
        LibStep.put(header, LibStep.H_LOGS_COUNT, 4, logCount + 1);
        LibStep.put(
            header, LibStep.H_LOGS_ACC, 32, uint256(keccak256(abi.encodePacked(acc, itemHash)))
        );
    }

    function _halt(Step memory s) private pure {
        s.halted = true;
    }

    // ---- micro-steps (§5.5) ---------------------------------------------------------------

    /// @notice One micro-step of the pending keccak, copy or log (`kind` the header's): the
    ///         post-state is then computed from `s` (`nextPc` set here).
    function step(Step memory s, uint256 kind) internal pure {
        uint256 at = _pending(s, kind);
        s.nextPc = s.pc;
        if (kind == PENDING_COPY) return _copyStep(s, at);
        uint256 sponge = kind == PENDING_LOG ? at + 129 : at;
        if (kind == PENDING_LOG && LibStep.word(at) >> 248 > 4) revert BadPending();
        uint256 purpose = LibStep.word(sponge + 209) >> 248;
        if (purpose != (kind == PENDING_LOG ? 1 : 0)) revert BadPending();
        (bool done, bytes32 d, bytes memory next) = _absorb(s, sponge);
        if (!done) {
            bytes32 hash;
            if (kind == PENDING_LOG) {
                hash = keccak256(bytes.concat(_calldata(at, 129), next));
            } else {
                hash = keccak256(next);
            }
            return LibStep.put(s.header, LibStep.H_PENDING_HASH, 32, uint256(hash));
        }
        if (kind == PENDING_KECCAK) {
            LibStep.push(s, uint256(d));
        } else {
            uint256 count = LibStep.word(at) >> 248;
            _appendLog(s, count, _calldata(at + 1, 32 * count), d);
        }
        _finish(s);
    }

    /// @notice The calldata offset of the pending body, checked: the section is
    ///         `u8(kind) ‖ body` with the header's kind, the body's size for it and its hash the
    ///         header's.
    function _pending(Step memory s, uint256 kind) private pure returns (uint256 at) {
        uint256 len = s.len[SEC_PENDING];
        at = s.sec[SEC_PENDING];
        if (len == 0) revert BadPending();
        uint256 size =
            kind == PENDING_KECCAK ? SPONGE_LEN : kind == PENDING_LOG ? LOG_LEN : COPY_LEN;
        if (len != 1 + size) revert LibStep.MalformedWitness();
        if (LibStep.word(at) >> 248 != kind) revert BadPending();
        at += 1;
        bytes32 hash;
        assembly ("memory-safe") {
            let p := mload(0x40)
            calldatacopy(p, at, size)
            hash := keccak256(p, size)
        }
        if (hash != bytes32(LibStep.get(s.header, LibStep.H_PENDING_HASH, 32))) {
            revert BadPending();
        }
    }

    /// @notice The last micro-step: the pending operation closes and `pc` moves past the
    ///         (one-byte) instruction.
    function _finish(Step memory s) private pure {
        LibStep.put(s.header, LibStep.H_PENDING_KIND, 1, 0);
        LibStep.put(s.header, LibStep.H_PENDING_HASH, 32, 0);
        s.nextPc = s.pc + 1;
    }

    /// @notice The sponge micro-step over the state at calldata `at`: with 136 bytes or more
    ///         left, absorbs the next block (`done` false, `next` the new state's encoding);
    ///         else pads the rest and squeezes (`done` true, `d` the digest).
    function _absorb(Step memory s, uint256 at)
        private
        pure
        returns (bool done, bytes32 d, bytes memory next)
    {
        if (LibStep.word(at + 200) >> 248 != 0) revert UnsupportedMicroStep();
        uint256 offset = LibStep.word(at + 201) >> 224;
        uint256 remaining = LibStep.word(at + 205) >> 224;
        uint256 take = remaining < LibKeccak.RATE ? remaining : LibKeccak.RATE;
        // The lanes, one u64 a word; then the block, zero-padded.
        uint256 lanes;
        uint256 block;
        assembly ("memory-safe") {
            lanes := mload(0x40)
            block := add(lanes, 800)
            mstore(0x40, add(block, 192))
            for { let k := 0 } lt(k, 25) { k := add(k, 1) } {
                mstore(add(lanes, shl(5, k)), shr(192, calldataload(add(at, shl(3, k)))))
            }
            mstore(add(block, 128), 0)
            mstore(add(block, 160), 0)
        }
        if (take == 0) {
            if (s.len[LibStep.SEC_MEMORY] != 0) revert LibStep.BadMemory();
        } else {
            uint256 src = _memoryRange(s, offset, take);
            assembly ("memory-safe") {
                mcopy(block, src, take)
            }
        }
        if (remaining >= LibKeccak.RATE) {
            LibKeccak.absorb(lanes, block);
            next = _encodeSponge(lanes, at, offset + LibKeccak.RATE, remaining - LibKeccak.RATE);
            return (false, 0, next);
        }
        assembly ("memory-safe") {
            // Zero the bytes after the data, then keccak's padding.
            let end := add(block, take)
            mstore(end, 0)
            mstore(add(end, 32), 0)
            mstore(add(end, 64), 0)
            mstore(add(end, 96), 0)
            mstore(add(end, 128), 0)
            mstore8(end, xor(byte(0, mload(end)), 0x01))
            let last := add(block, 135)
            mstore8(last, xor(byte(0, mload(last)), 0x80))
        }
        LibKeccak.absorb(lanes, block);
        return (true, LibKeccak.digest(lanes), next);
    }

    /// @notice The sponge state's encoding with `lanes`, the source and purpose of the state at
    ///         calldata `at`, and `offset`, `remaining`.
    function _encodeSponge(uint256 lanes, uint256 at, uint256 offset, uint256 remaining)
        private
        pure
        returns (bytes memory out)
    {
        out = new bytes(SPONGE_LEN);
        assembly ("memory-safe") {
            let p := add(out, 0x20)
            for { let k := 0 } lt(k, 25) { k := add(k, 1) } {
                mstore(add(p, shl(3, k)), shl(192, mload(add(lanes, shl(5, k)))))
            }
            mstore(add(p, 200), calldataload(add(at, 200))) // source (then overwritten)
            mstore(add(p, 201), shl(224, offset))
            mstore(add(p, 205), shl(224, remaining))
            mstore8(add(p, 209), shr(248, calldataload(add(at, 209))))
        }
    }

    /// @notice The memory words covering `[offset, offset + len)` (`len > 0`), verified in
    ///         order against the memory root, copied to memory: the address of byte `offset`.
    function _memoryRange(Step memory s, uint256 offset, uint256 len)
        private
        pure
        returns (uint256 ptr)
    {
        uint256 first = offset / 32;
        uint256 count = (offset + len - 1) / 32 - first + 1;
        uint256 secLen = s.len[LibStep.SEC_MEMORY];
        if (secLen % LibStep.WORD_ITEM != 0) revert LibStep.MalformedWitness();
        if (secLen != count * LibStep.WORD_ITEM) revert LibStep.BadMemory();
        uint256 buf;
        assembly ("memory-safe") {
            buf := mload(0x40)
            mstore(0x40, add(buf, shl(5, add(count, 1))))
        }
        for (uint256 k = 0; k < count; ++k) {
            uint256 item = s.sec[LibStep.SEC_MEMORY] + k * LibStep.WORD_ITEM;
            uint256 w = LibStep.word(item + 4);
            if (
                LibStep.word(item) >> 224 != first + k || (first + k) >> LibStep.WORD_DEPTH != 0
                    || LibStep.root(bytes32(w), first + k, item + 36, LibStep.WORD_DEPTH)
                        != s.memRoot
            ) revert LibStep.BadMemory();
            assembly ("memory-safe") {
                mstore(add(buf, shl(5, k)), w)
            }
        }
        return buf + offset % 32;
    }

    /// @notice `len` bytes of calldata from `at`, copied.
    function _calldata(uint256 at, uint256 len) private pure returns (bytes memory out) {
        out = new bytes(len);
        assembly ("memory-safe") {
            calldatacopy(add(out, 0x20), at, len)
        }
    }

    /// @notice A copy micro-step: the destination word holding `dest_offset` gets the next
    ///         `n = min(remaining, 32 − dest_offset mod 32)` bytes of the source.
    function _copyStep(Step memory s, uint256 at) private pure {
        uint256 sourceLen = LibStep.word(at + 33) >> 224;
        uint256 sourceOffset = LibStep.word(at + 37) >> 224;
        uint256 destOffset = LibStep.word(at + 42) >> 224;
        uint256 remaining = LibStep.word(at + 46) >> 224;
        if (LibStep.word(at + 41) >> 248 != 0) revert UnsupportedMicroStep();
        if (remaining == 0 || sourceOffset > sourceLen) revert BadPending();
        uint256 start = destOffset % 32;
        uint256 n = 32 - start;
        if (remaining < n) n = remaining;
        uint256 value = _sourceBytes(s, at, sourceOffset, n, sourceLen);
        _writeWord(s, destOffset, start, n, value);
        if (remaining == n) return _finish(s);
        uint256 nextSource = sourceOffset + n;
        if (nextSource > sourceLen) nextSource = sourceLen;
        bytes memory next = abi.encodePacked(
            _calldata(at, 37),
            uint32(nextSource),
            uint8(0),
            uint32(destOffset + n),
            uint32(remaining - n)
        );
        LibStep.put(s.header, LibStep.H_PENDING_HASH, 32, uint256(keccak256(next)));
    }

    /// @notice Source bytes `[start, start + n)` as the top `n` bytes of a word, zero at or
    ///         past `sourceLen`: the words below `sourceLen` the range touches, verified
    ///         against the copy's source root (code chunks for code sources, else word items).
    function _sourceBytes(Step memory s, uint256 at, uint256 start, uint256 n, uint256 sourceLen)
        private
        pure
        returns (uint256 value)
    {
        uint256 end = start + n < sourceLen ? start + n : sourceLen;
        uint256 words = s.len[SEC_SOURCE];
        uint256 chunks = s.len[SEC_SOURCE_CODE];
        if (start >= end) {
            if (words != 0 || chunks != 0) revert BadSource();
            return 0;
        }
        uint256 first = start / 32;
        uint256 count = (end - 1) / 32 - first + 1;
        uint256 kind = LibStep.word(at) >> 248;
        bytes32 root = bytes32(LibStep.word(at + 1));
        (uint256 w0, uint256 w1) = kind == 3 || kind == 4
            ? _sourceChunks(s, root, first, count, words, chunks)
            : _sourceWords(s, root, first, count, words, chunks);
        uint256 shift = 8 * (start % 32);
        uint256 real = end - start;
        assembly ("memory-safe") {
            value := or(shl(shift, w0), shr(sub(256, shift), w1))
            // Keep the `real` bytes below the source's length.
            value := and(value, not(sub(shl(sub(256, shl(3, real)), 1), 1)))
        }
    }

    /// @notice The `count` (1 or 2) code chunks from `first` of section 11, verified against
    ///         the code tree `root` (§2.2); section 10 must be empty.
    function _sourceChunks(
        Step memory s,
        bytes32 root,
        uint256 first,
        uint256 count,
        uint256 words,
        uint256 chunks
    ) private pure returns (uint256 w0, uint256 w1) {
        if (chunks % LibStep.CHUNK_ITEM != 0) revert LibStep.MalformedWitness();
        if (chunks != count * LibStep.CHUNK_ITEM || words != 0) revert BadSource();
        for (uint256 k = 0; k < count; ++k) {
            uint256 item = s.sec[SEC_SOURCE_CODE] + k * LibStep.CHUNK_ITEM;
            uint256 index = first + k;
            bytes32 leaf;
            assembly ("memory-safe") {
                mstore(0x00, calldataload(add(item, 5)))
                mstore8(0x20, shr(248, calldataload(add(item, 4))))
                leaf := keccak256(0x00, 33)
            }
            if (
                LibStep.word(item) >> 224 != index || index >> LibStep.CODE_DEPTH != 0
                    || LibStep.root(leaf, index, item + 37, LibStep.CODE_DEPTH) != root
            ) revert BadSource();
            if (k == 0) w0 = LibStep.word(item + 5);
            else w1 = LibStep.word(item + 5);
        }
    }

    /// @notice The `count` (1 or 2) words from `first` of section 10, verified against the
    ///         word tree `root` (§2.1); section 11 must be empty.
    function _sourceWords(
        Step memory s,
        bytes32 root,
        uint256 first,
        uint256 count,
        uint256 words,
        uint256 chunks
    ) private pure returns (uint256 w0, uint256 w1) {
        if (words % LibStep.WORD_ITEM != 0) revert LibStep.MalformedWitness();
        if (words != count * LibStep.WORD_ITEM || chunks != 0) revert BadSource();
        for (uint256 k = 0; k < count; ++k) {
            uint256 item = s.sec[SEC_SOURCE] + k * LibStep.WORD_ITEM;
            uint256 index = first + k;
            uint256 w = LibStep.word(item + 4);
            if (
                LibStep.word(item) >> 224 != index || index >> LibStep.WORD_DEPTH != 0
                    || LibStep.root(bytes32(w), index, item + 36, LibStep.WORD_DEPTH) != root
            ) revert BadSource();
            if (k == 0) w0 = w;
            else w1 = w;
        }
    }

    /// @notice Writes the top `n` bytes of `value` at byte `start` of memory word
    ///         `destOffset / 32`, proven against the memory root, and recomputes the root.
    function _writeWord(Step memory s, uint256 destOffset, uint256 start, uint256 n, uint256 value)
        private
        pure
    {
        uint256 index = destOffset / 32;
        uint256 secLen = s.len[LibStep.SEC_MEMORY];
        if (secLen % LibStep.WORD_ITEM != 0) revert LibStep.MalformedWitness();
        if (secLen != LibStep.WORD_ITEM) revert LibStep.BadMemory();
        uint256 item = s.sec[LibStep.SEC_MEMORY];
        uint256 w = LibStep.word(item + 4);
        if (
            LibStep.word(item) >> 224 != index || index >> LibStep.WORD_DEPTH != 0
                || LibStep.root(bytes32(w), index, item + 36, LibStep.WORD_DEPTH) != s.memRoot
        ) revert LibStep.BadMemory();
        uint256 written;
        assembly ("memory-safe") {
            // Bytes [start, start + n) of the word: the mask's top n bytes, shifted right.
            let mask := shr(shl(3, start), not(sub(shl(sub(256, shl(3, n)), 1), 1)))
            written := or(and(w, not(mask)), and(shr(shl(3, start), value), mask))
        }
        s.memRoot = LibStep.root(bytes32(written), index, item + 36, LibStep.WORD_DEPTH);
    }
}

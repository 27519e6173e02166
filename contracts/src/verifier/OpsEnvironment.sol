// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {LibStep, Step} from "./LibStep.sol";

/// @title  OpsEnvironment
/// @notice The frame's own environment and the transaction and block contexts
///         (docs/spec/step-machine.md §4.4, §5.2): ADDRESS, CALLER, CALLVALUE, CALLDATASIZE,
///         CODESIZE, RETURNDATASIZE from the frame; CALLDATALOAD from one or two calldata words
///         with word-tree proofs (zero at or past the end, no word read); ORIGIN, GASPRICE,
///         COINBASE … BLOBBASEFEE from the `TxContext` / `BlockContext` encodings checked
///         against the header; BLOCKHASH and BLOBHASH from a proven context-tree leaf.
library OpsEnvironment {
    uint256 internal constant BLOCK_LEN = 180;
    uint256 internal constant TX_LEN = 125;
    uint256 internal constant BLOCK_HASHES_DEPTH = 8;
    uint256 internal constant BLOB_HASHES_DEPTH = 4;

    /// @notice Runs a frame-environment opcode on `s`.
    function frame(Step memory s) internal pure {
        uint256 op = s.opcode;
        uint256 f = s.frame;
        uint256 v;
        if (op == 0x30) v = LibStep.get(f, LibStep.F_ADDRESS, 20);
        else if (op == 0x33) v = LibStep.get(f, LibStep.F_CALLER, 20);
        else if (op == 0x34) v = LibStep.get(f, LibStep.F_VALUE, 32);
        else if (op == 0x35) v = calldataWord(s, LibStep.arg(s, 0));
        else if (op == 0x36) v = LibStep.get(f, LibStep.F_CALLDATA_LEN, 4);
        else if (op == 0x38) v = LibStep.get(f, LibStep.F_CODE_SIZE, 4);
        else v = LibStep.get(f, LibStep.F_RETURNDATA_LEN, 4); // 0x3d
        LibStep.push(s, v);
    }

    /// @notice CALLDATALOAD: the 32 bytes at `offset`, zero past the end; the one or two
    ///         calldata words are verified against the calldata root.
    function calldataWord(Step memory s, uint256 offset) internal pure returns (uint256) {
        uint256 len = LibStep.get(s.frame, LibStep.F_CALLDATA_LEN, 4);
        if (offset >= len) return 0;
        uint256 first = offset / 32;
        uint256 start = offset % 32;
        uint256 count = start == 0 ? 1 : 2;
        uint256 secLen = s.len[LibStep.SEC_CALLDATA];
        if (secLen % LibStep.WORD_ITEM != 0) revert LibStep.MalformedWitness();
        if (secLen != count * LibStep.WORD_ITEM) revert LibStep.BadCalldata();
        bytes32 cdRoot = bytes32(LibStep.get(s.frame, LibStep.F_CALLDATA_ROOT, 32));
        uint256 at = s.sec[LibStep.SEC_CALLDATA];
        uint256 w0;
        uint256 w1;
        for (uint256 k = 0; k < count; ++k) {
            uint256 item = at + k * LibStep.WORD_ITEM;
            uint256 w = LibStep.word(item + 4);
            if (
                (LibStep.word(item) >> 224) != first + k || (first + k) >> LibStep.WORD_DEPTH != 0
                    || LibStep.root(bytes32(w), first + k, item + 36, LibStep.WORD_DEPTH) != cdRoot
            ) revert LibStep.BadCalldata();
            if (k == 0) w0 = w;
            else w1 = w;
        }
        return start == 0 ? w0 : (w0 << (8 * start)) | (w1 >> (256 - 8 * start));
    }

    /// @notice Runs a context opcode on `s`.
    function context(Step memory s) internal pure {
        uint256 op = s.opcode;
        if (op == 0x32 || op == 0x3a || op == 0x49) {
            uint256 t = txContext(s);
            if (op == 0x32) return LibStep.push(s, LibStep.word(t) >> 96);
            if (op == 0x3a) return LibStep.push(s, LibStep.word(t + 20));
            // BLOBHASH(i): leaf i of the versioned hashes when i < blob_count, else 0.
            uint256 i = LibStep.arg(s, 0);
            uint256 count = LibStep.word(t + 60) >> 248;
            if (i >= count) return LibStep.push(s, 0);
            return LibStep.push(s, _leaf(s, BLOB_HASHES_DEPTH, i, LibStep.word(t + 61)));
        }
        uint256 b = blockContext(s);
        uint256 number = LibStep.word(b) >> 192;
        uint256 v;
        if (op == 0x40) {
            // BLOCKHASH(n): leaf number − 1 − n when 1 ≤ number − n ≤ 256, else 0.
            uint256 requested = LibStep.arg(s, 0);
            if (requested > type(uint64).max || requested > number) return LibStep.push(s, 0);
            uint256 back = number - requested;
            if (back < 1 || back > 256) return LibStep.push(s, 0);
            v = _leaf(s, BLOCK_HASHES_DEPTH, back - 1, LibStep.word(b + 148));
        } else if (op == 0x41) {
            v = LibStep.word(b + 16) >> 96;
        } else if (op == 0x42) {
            v = LibStep.word(b + 8) >> 192;
        } else if (op == 0x43) {
            v = number;
        } else if (op == 0x44) {
            v = LibStep.word(b + 76);
        } else if (op == 0x45) {
            v = LibStep.word(b + 36) >> 192;
        } else if (op == 0x46) {
            v = LibStep.word(b + 108) >> 192;
        } else if (op == 0x48) {
            v = LibStep.word(b + 44);
        } else {
            v = LibStep.word(b + 116); // 0x4a BLOBBASEFEE
        }
        LibStep.push(s, v);
    }

    /// @notice The calldata offset of the `BlockContext` (§4.4), checked against the header:
    ///         `number u64 ‖ timestamp u64 ‖ coinbase ‖ gas_limit u64 ‖ base_fee ‖ prevrandao ‖
    ///         chain_id u64 ‖ blob_base_fee ‖ block_hashes`.
    function blockContext(Step memory s) internal pure returns (uint256 at) {
        at = s.sec[LibStep.SEC_BLOCK];
        uint256 len = s.len[LibStep.SEC_BLOCK];
        if (len == 0) revert LibStep.BadContext();
        if (len != BLOCK_LEN) revert LibStep.MalformedWitness();
        if (_hash(at, BLOCK_LEN) != bytes32(LibStep.get(s.header, LibStep.H_BLOCK_HASH, 32))) {
            revert LibStep.BadContext();
        }
    }

    /// @notice The calldata offset of the `TxContext` (§4.4), checked against the header:
    ///         `origin ‖ gas_price ‖ gas_limit u64 ‖ blob_count u8 ‖ blob_hashes ‖
    ///         start_state_root`.
    function txContext(Step memory s) internal pure returns (uint256 at) {
        at = s.sec[LibStep.SEC_TX];
        uint256 len = s.len[LibStep.SEC_TX];
        if (len == 0) revert LibStep.BadContext();
        if (len != TX_LEN) revert LibStep.MalformedWitness();
        if (_hash(at, TX_LEN) != bytes32(LibStep.get(s.header, LibStep.H_TX_HASH, 32))) {
            revert LibStep.BadContext();
        }
    }

    /// @notice Leaf `index` of the context tree of `depth` with root `treeRoot`, from the leaf
    ///         section `index u32 ‖ leaf ‖ siblings`, which must hold exactly `depth` siblings.
    function _leaf(Step memory s, uint256 depth, uint256 index, uint256 treeRoot)
        private
        pure
        returns (uint256 leaf)
    {
        uint256 len = s.len[LibStep.SEC_LEAF];
        if (len == 0) revert LibStep.BadContext();
        if (len < 36 || (len - 36) % 32 != 0) revert LibStep.MalformedWitness();
        uint256 at = s.sec[LibStep.SEC_LEAF];
        leaf = LibStep.word(at + 4);
        if (
            (len - 36) / 32 != depth || index >> depth != 0 || (LibStep.word(at) >> 224) != index
                || LibStep.root(bytes32(leaf), index, at + 36, depth) != bytes32(treeRoot)
        ) revert LibStep.BadContext();
    }

    function _hash(uint256 at, uint256 len) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            calldatacopy(p, at, len)
            h := keccak256(p, len)
        }
    }
}

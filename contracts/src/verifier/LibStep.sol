// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice One step in progress: where the witness's parts are, and the frame fields the step
///         reads and writes. Built by `LibStep.open`; the families change `pc`, `gas`, the stack
///         and memory fields; `LibStep.post` hashes the result.
/// @dev    Offsets `sec[k]` are absolute calldata offsets of section `k`'s body, `len[k]` its
///         length in bytes (docs/spec/verifier-abi.md §2). `header` and `frame` are memory
///         pointers to copies of the 402-byte header and the 336-byte frame (§4.1, §4.2).
struct Step {
    /// Calldata offset of the witness (its version byte).
    uint256 base;
    uint256 header;
    uint256 frame;
    uint256[20] sec;
    uint256[20] len;
    uint256 opcode;
    uint256 pc;
    uint256 nextPc;
    uint256 gas;
    uint256 inputs;
    /// Calldata offset of the popped operands, bottom-most first.
    uint256 operands;
    /// The stack's size and hash chain after the pops and pushes so far (spec §2.3).
    uint256 stackSize;
    bytes32 stackHash;
    /// Memory size in 32-byte words and word-tree root (spec §2.1).
    uint256 memLen;
    bytes32 memRoot;
    /// The step halted exceptionally (spec §5.4).
    bool halted;
}

/// @title  LibStep
/// @notice The shared machinery of the one-step verifier (docs/spec/step-machine.md §2–§5):
///         the witness's section table, the header and frame encodings, fixed-depth Merkle
///         proofs (word trees §2.1, code trees §2.2, context trees §4.4), the stack hash chain
///         (§2.3), gas charging and memory expansion (§5.1). Rule for rule the Rust executor
///         `refute_engine::machine::execute` (engine/src/machine/execute.rs).
library LibStep {
    // ---- errors --------------------------------------------------------------------------

    /// @notice The witness bytes do not follow docs/spec/verifier-abi.md (version, section
    ///         table, a section's shape).
    error MalformedWitness();
    /// @notice The header does not hash to the pre-state commitment, or holds an enum byte
    ///         out of range.
    error BadPreState();
    /// @notice The frame does not hash to the header's `frame_hash`, holds an enum byte out of
    ///         range, or the state is outside frames where a frame is needed.
    error BadFrame();
    /// @notice A code chunk does not verify against the frame's code root, or one the step
    ///         reads is missing.
    error BadCode();
    /// @notice The stack witness has the wrong number of operands or does not hash to the
    ///         frame's stack commitment.
    error BadStack();
    /// @notice A memory word does not verify against the memory root, or the count is wrong.
    error BadMemory();
    /// @notice A calldata word does not verify against the calldata root, or the count is wrong.
    error BadCalldata();
    /// @notice A context (block, transaction) or context leaf does not verify.
    error BadContext();

    // ---- layout (docs/spec/verifier-abi.md §1, step-machine.md §4) ------------------------

    uint256 internal constant HEADER_LEN = 402;
    uint256 internal constant FRAME_LEN = 336;
    uint256 internal constant SECTIONS = 20;
    /// @notice version (1) + header (402) + frame (336).
    uint256 internal constant FIXED_LEN = 739;
    uint256 internal constant CHUNK_ITEM = 421;
    uint256 internal constant WORD_ITEM = 740;
    uint256 internal constant CODE_DEPTH = 12;
    uint256 internal constant WORD_DEPTH = 22;

    uint256 internal constant SEC_CODE = 0;
    uint256 internal constant SEC_STACK = 1;
    uint256 internal constant SEC_MEMORY = 2;
    uint256 internal constant SEC_CALLDATA = 3;
    uint256 internal constant SEC_BLOCK = 4;
    uint256 internal constant SEC_TX = 5;
    uint256 internal constant SEC_LEAF = 6;

    // Header field offsets (§4.1).
    uint256 internal constant H_FORK = 1;
    uint256 internal constant H_STATUS = 2;
    uint256 internal constant H_PENDING_KIND = 3;
    uint256 internal constant H_PENDING_HASH = 4;
    uint256 internal constant H_BLOCK_HASH = 36;
    uint256 internal constant H_TX_HASH = 68;
    uint256 internal constant H_FRAME_HASH = 304;

    // Frame field offsets (§4.2).
    uint256 internal constant F_KIND = 0;
    uint256 internal constant F_STATIC = 1;
    uint256 internal constant F_ADDRESS = 2;
    uint256 internal constant F_CALLER = 22;
    uint256 internal constant F_VALUE = 42;
    uint256 internal constant F_CODE_ROOT = 74;
    uint256 internal constant F_CODE_SIZE = 106;
    uint256 internal constant F_PC = 142;
    uint256 internal constant F_GAS = 146;
    uint256 internal constant F_STACK_SIZE = 154;
    uint256 internal constant F_STACK_HASH = 156;
    uint256 internal constant F_MEM_LEN = 188;
    uint256 internal constant F_MEM_ROOT = 192;
    uint256 internal constant F_CALLDATA_LEN = 224;
    uint256 internal constant F_CALLDATA_ROOT = 228;
    uint256 internal constant F_RETURNDATA_LEN = 260;

    // World fields of the header (§4.1).
    uint256 internal constant H_STATE_ROOT = 100;
    uint256 internal constant H_WARM_ADDRESSES = 132;
    uint256 internal constant H_WARM_SLOTS = 164;
    uint256 internal constant H_TRANSIENT = 196;
    uint256 internal constant H_CREATED = 228;
    uint256 internal constant H_REFUND = 260;
    uint256 internal constant H_LOGS_COUNT = 268;
    uint256 internal constant H_LOGS_ACC = 272;

    /// @notice `pending_kind` of a frame exit (§4.5).
    uint256 internal constant PENDING_FRAME_EXIT = 17;
    /// @notice `H(encode(FrameExit(success 1, len 0, Z_22)))`: STOP's pending exit.
    bytes32 internal constant EXIT_STOP =
        0x6617ad6d74c85e7c85212a76a75454b4b1375cab37b97f60005ac3419bdbfa15;
    /// @notice `H(encode(FrameExit(success 0, len 0, Z_22)))`: an exceptional halt's.
    bytes32 internal constant EXIT_HALT =
        0x73c52746a26a9b48e353fb80f6a7832edf45ffb90c9e09c4075770e507d56cd3;
    /// @notice The root of the empty word tree, `Z_22` (§2.1).
    bytes32 internal constant EMPTY_WORD_ROOT =
        0x5a9c16dc00d6ef18b7933a6f8dc65ccb55667138776f7dea101070dc8796e377;

    // ---- reading the witness -------------------------------------------------------------

    /// @notice Copies the header and frame into memory, checks the header against `pre` and
    ///         its enum bytes, and reads the section table.
    /// @param  w The witness's calldata offset (`witness.offset`); `n` its length.
    function open(bytes32 pre, uint256 w, uint256 n) internal pure returns (Step memory s) {
        if (n < FIXED_LEN + 4 * SECTIONS || _byte(w) != 1) revert MalformedWitness();
        uint256 header;
        uint256 frame;
        bytes32 hash;
        assembly ("memory-safe") {
            header := mload(0x40)
            frame := add(header, 416)
            mstore(0x40, add(frame, 352))
            calldatacopy(header, add(w, 1), 402)
            calldatacopy(frame, add(w, 403), 336)
            hash := keccak256(header, 402)
        }
        if (hash != pre) revert BadPreState();
        s.base = w;
        s.header = header;
        s.frame = frame;
        // Header enum bytes (§4.1, §4.6, §10): version 1, fork Shanghai or Cancun, status,
        // pending kind.
        uint256 fork = get(header, H_FORK, 1);
        uint256 pk = get(header, H_PENDING_KIND, 1);
        if (
            get(header, 0, 1) != 1 || (fork != 1 && fork != 4) || get(header, H_STATUS, 1) > 3
                || (pk > 3 && (pk < 16 || pk > 21))
        ) revert BadPreState();
        // The section table: lengths must add up to the witness's length exactly.
        uint256 at = w + FIXED_LEN;
        uint256 end = w + n;
        for (uint256 k = 0; k < SECTIONS; ++k) {
            if (at + 4 > end) revert MalformedWitness();
            uint256 len = _u32(at);
            at += 4;
            s.sec[k] = at;
            s.len[k] = len;
            at += len;
        }
        if (at != end) revert MalformedWitness();
    }

    /// @notice Checks the frame against the header's `frame_hash` and its enum bytes, and
    ///         loads the fields the families change.
    function loadFrame(Step memory s) internal pure {
        uint256 frame = s.frame;
        bytes32 hash;
        assembly ("memory-safe") {
            hash := keccak256(frame, 336)
        }
        if (hash != bytes32(get(s.header, H_FRAME_HASH, 32))) revert BadFrame();
        if (get(frame, F_KIND, 1) > 6 || get(frame, F_STATIC, 1) > 1) revert BadFrame();
        s.pc = get(frame, F_PC, 4);
        s.gas = get(frame, F_GAS, 8);
        s.stackSize = get(frame, F_STACK_SIZE, 2);
        s.stackHash = bytes32(get(frame, F_STACK_HASH, 32));
        s.memLen = get(frame, F_MEM_LEN, 4);
        s.memRoot = bytes32(get(frame, F_MEM_ROOT, 32));
    }

    /// @notice A big-endian field of `width` bytes at `off` of a memory copy.
    function get(uint256 ptr, uint256 off, uint256 width) internal pure returns (uint256 v) {
        assembly ("memory-safe") {
            v := shr(sub(256, mul(8, width)), mload(add(ptr, off)))
        }
    }

    /// @notice Writes a big-endian field of `width` bytes at `off` of a memory copy, keeping
    ///         the bytes around it.
    function put(uint256 ptr, uint256 off, uint256 width, uint256 value) internal pure {
        assembly ("memory-safe") {
            let p := add(ptr, off)
            let shift := sub(256, mul(8, width))
            let mask := not(shl(shift, sub(shl(mul(8, width), 1), 1)))
            mstore(p, or(and(mload(p), mask), shl(shift, value)))
        }
    }

    function _byte(uint256 at) private pure returns (uint256 v) {
        assembly ("memory-safe") {
            v := shr(248, calldataload(at))
        }
    }

    function _u32(uint256 at) private pure returns (uint256 v) {
        assembly ("memory-safe") {
            v := shr(224, calldataload(at))
        }
    }

    /// @notice The 32-byte word at calldata offset `at`.
    function word(uint256 at) internal pure returns (uint256 v) {
        assembly ("memory-safe") {
            v := calldataload(at)
        }
    }

    // ---- Merkle proofs (§2.1, §2.2) -----------------------------------------------------

    /// @notice The root that `leaf` at `index` implies with the `depth` siblings at calldata
    ///         offset `siblings` (leaf level first).
    function root(bytes32 leaf, uint256 index, uint256 siblings, uint256 depth)
        internal
        pure
        returns (bytes32 node)
    {
        assembly ("memory-safe") {
            node := leaf
            for { let k := 0 } lt(k, depth) { k := add(k, 1) } {
                let sibling := calldataload(add(siblings, mul(k, 32)))
                switch and(shr(k, index), 1)
                case 0 {
                    mstore(0x00, node)
                    mstore(0x20, sibling)
                }
                default {
                    mstore(0x00, sibling)
                    mstore(0x20, node)
                }
                node := keccak256(0x00, 0x40)
            }
        }
    }

    /// @notice Verifies every code chunk of the witness against the frame's code root (as the
    ///         executor does before running any step): index below 2^12, leaf
    ///         `H(chunk ‖ u8(p))`.
    function verifyCode(Step memory s) internal pure {
        uint256 len = s.len[SEC_CODE];
        if (len % CHUNK_ITEM != 0) revert MalformedWitness();
        bytes32 codeRoot = bytes32(get(s.frame, F_CODE_ROOT, 32));
        uint256 at = s.sec[SEC_CODE];
        for (uint256 end = at + len; at < end; at += CHUNK_ITEM) {
            uint256 index = _u32(at);
            if (index >> CODE_DEPTH != 0) revert BadCode();
            bytes32 leaf;
            assembly ("memory-safe") {
                // chunk (32 bytes at at+5) ‖ p (1 byte at at+4)
                mstore(0x00, calldataload(add(at, 5)))
                mstore8(0x20, shr(248, calldataload(add(at, 4))))
                leaf := keccak256(0x00, 33)
            }
            if (root(leaf, index, at + 37, CODE_DEPTH) != codeRoot) revert BadCode();
        }
    }

    /// @notice The calldata offset of the first code chunk with `index` (verified by
    ///         `verifyCode`); reverts when the witness lacks it.
    function chunk(Step memory s, uint256 index) internal pure returns (uint256) {
        uint256 at = s.sec[SEC_CODE];
        for (uint256 end = at + s.len[SEC_CODE]; at < end; at += CHUNK_ITEM) {
            if (_u32(at) == index) return at;
        }
        revert BadCode();
    }

    /// @notice The code byte at `pc`: zero (STOP) at or past the code size (§5.1).
    function codeByte(Step memory s, uint256 pc) internal pure returns (uint256) {
        if (pc >= get(s.frame, F_CODE_SIZE, 4)) return 0;
        return _byte(chunk(s, pc / 32) + 5 + (pc % 32));
    }

    /// @notice Whether `target` is a valid jump destination (§2.2): below the code size, a
    ///         JUMPDEST byte reached by scanning its chunk from the chunk's push-data prefix.
    function isJumpdest(Step memory s, uint256 target) internal pure returns (bool) {
        if (target >= get(s.frame, F_CODE_SIZE, 4)) return false;
        uint256 at = chunk(s, target / 32);
        uint256 offset = target % 32;
        uint256 bytes_ = word(at + 5);
        uint256 i = _byte(at + 4);
        while (i < offset) {
            uint256 op = (bytes_ >> (8 * (31 - i))) & 0xff;
            i += (op >= 0x60 && op <= 0x7f) ? op - 0x5e : 1;
        }
        return i == offset && ((bytes_ >> (8 * (31 - offset))) & 0xff) == 0x5b;
    }

    // ---- gas, stack -----------------------------------------------------------------------

    /// @notice Charges `amount` gas; running out is an exceptional halt (§5.1 step 4).
    /// @return ok False when the step halted.
    function charge(Step memory s, uint256 amount) internal pure returns (bool ok) {
        if (amount > s.gas) {
            s.halted = true;
            return false;
        }
        s.gas -= amount;
        return true;
    }

    /// @notice Operand `k` counted from the top (0 is the top).
    function arg(Step memory s, uint256 k) internal pure returns (uint256) {
        return word(s.operands + 32 * (s.inputs - 1 - k));
    }

    /// @notice Pushes `value`: `h ← H(h ‖ value)` (§2.3).
    function push(Step memory s, uint256 value) internal pure {
        bytes32 h = s.stackHash;
        assembly ("memory-safe") {
            mstore(0x00, h)
            mstore(0x20, value)
            h := keccak256(0x00, 0x40)
        }
        s.stackHash = h;
        s.stackSize += 1;
    }

    // ---- memory (§2.1, §5.1) --------------------------------------------------------------

    /// @notice `3·a + a²/512` gas for `a` words.
    function memoryCost(uint256 words) internal pure returns (uint256) {
        return 3 * words + words * words / 512;
    }

    /// @notice Charges the expansion of memory to cover `[offset, offset + len)` (`len > 0`).
    ///         An offset past 2^32 − 1 or a range past 2^22 words halts (§2.1).
    /// @return ok False when the step halted.
    function expand(Step memory s, uint256 offset, uint256 len) internal pure returns (bool ok) {
        if (offset > type(uint32).max) {
            s.halted = true;
            return false;
        }
        uint256 words = (offset + len + 31) / 32;
        if (words > 1 << WORD_DEPTH) {
            s.halted = true;
            return false;
        }
        uint256 current = s.memLen;
        if (words > current) {
            if (!charge(s, memoryCost(words) - memoryCost(current))) return false;
            s.memLen = words;
        }
        return true;
    }

    /// @notice The memory words covering `[offset, offset + 32)` (`write` false) or
    ///         `[offset, offset + width)` written with the top `width` bytes of `value`
    ///         (`width` 32 or 1): each word verified in order against the memory root, each
    ///         next proof against the root after the previous write.
    /// @return loaded The 32 bytes at `offset` (reads).
    function memoryAccess(Step memory s, uint256 offset, uint256 width, bool write, uint256 value)
        internal
        pure
        returns (uint256 loaded)
    {
        uint256 first = offset / 32;
        uint256 count = (offset + width - 1) / 32 - first + 1;
        if (s.len[SEC_MEMORY] % WORD_ITEM != 0) revert MalformedWitness();
        if (s.len[SEC_MEMORY] != count * WORD_ITEM) revert BadMemory();
        uint256 start = offset % 32;
        for (uint256 k = 0; k < count; ++k) {
            uint256 item = s.sec[SEC_MEMORY] + k * WORD_ITEM;
            uint256 w = _memoryWord(s, first + k, item);
            if (k == 0) loaded = w << (8 * start);
            else loaded |= w >> (256 - 8 * start);
            if (write) {
                s.memRoot = root(
                    bytes32(_written(w, k, start, width, value)), first + k, item + 36, WORD_DEPTH
                );
            }
        }
    }

    /// @notice The word of the memory item at calldata offset `item`, verified to be word
    ///         `index` of the memory root.
    function _memoryWord(Step memory s, uint256 index, uint256 item)
        private
        pure
        returns (uint256 w)
    {
        w = word(item + 4);
        if (
            _u32(item) != index || index >> WORD_DEPTH != 0
                || root(bytes32(w), index, item + 36, WORD_DEPTH) != s.memRoot
        ) revert BadMemory();
    }

    /// @notice Word `k` (0 or 1) of a write of the top `width` bytes of `value` at byte
    ///         `start` of the first word.
    function _written(uint256 w, uint256 k, uint256 start, uint256 width, uint256 value)
        private
        pure
        returns (uint256)
    {
        if (width == 1) {
            uint256 shift = 8 * (31 - start);
            return (w & ~(uint256(0xff) << shift)) | ((value >> 248) << shift);
        }
        if (k == 0) {
            if (start == 0) return value;
            return (w & ~(type(uint256).max >> (8 * start))) | (value >> (8 * start));
        }
        return (w & (type(uint256).max >> (8 * start))) | (value << (256 - 8 * start));
    }

    // ---- the post-state (§4.5, §5.4) ------------------------------------------------------

    /// @notice The post-state commitment: the frame with the step's `pc`, gas, stack and
    ///         memory, the header with its hash; a halt leaves the pre-step frame with gas 0
    ///         and a pending failed exit (§5.4), and the pre-state header (whatever the step
    ///         wrote to it or the frame before halting: world roots, refund, a pending operation);
    ///         `exitHash` non-zero leaves a pending exit (STOP) with the step's frame.
    function post(Step memory s, bytes32 exitHash) internal pure returns (bytes32 commitment) {
        uint256 frame = s.frame;
        uint256 header = s.header;
        if (s.halted) {
            uint256 base = s.base;
            assembly ("memory-safe") {
                calldatacopy(header, add(base, 1), 402)
                calldatacopy(frame, add(base, 403), 336)
            }
            put(frame, F_GAS, 8, 0);
            exitHash = EXIT_HALT;
        } else {
            put(frame, F_PC, 4, s.nextPc);
            put(frame, F_GAS, 8, s.gas);
            put(frame, F_STACK_SIZE, 2, s.stackSize);
            put(frame, F_STACK_HASH, 32, uint256(s.stackHash));
            put(frame, F_MEM_LEN, 4, s.memLen);
            put(frame, F_MEM_ROOT, 32, uint256(s.memRoot));
        }
        bytes32 frameHash;
        assembly ("memory-safe") {
            frameHash := keccak256(frame, 336)
        }
        put(header, H_FRAME_HASH, 32, uint256(frameHash));
        if (exitHash != bytes32(0)) {
            put(header, H_PENDING_KIND, 1, PENDING_FRAME_EXIT);
            put(header, H_PENDING_HASH, 32, uint256(exitHash));
        }
        assembly ("memory-safe") {
            commitment := keccak256(header, 402)
        }
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TestBase} from "./lib/TestBase.sol";
import {LibKeccak} from "../src/verifier/LibKeccak.sol";
import {LibWorld, Account} from "../src/verifier/LibWorld.sol";
import {LibCode} from "../src/verifier/LibCode.sol";
import {OpsWorld} from "../src/verifier/OpsWorld.sol";

/// @notice The verifier's world, keccak and code-tree libraries behind external calls.
contract VerifierLibsHarness {
    /// keccak256 of `data` by the step machine's sponge: one `absorb` per 136-byte block, the
    /// last (possibly empty) block padded as the pad micro-step pads it.
    function sponge(bytes calldata data) external pure returns (bytes32) {
        uint256 lanes;
        uint256 block;
        assembly ("memory-safe") {
            lanes := mload(0x40)
            block := add(lanes, 800)
            mstore(0x40, add(block, 320))
            calldatacopy(lanes, calldatasize(), 800) // zero lanes
        }
        uint256 at = 0;
        while (data.length - at >= LibKeccak.RATE) {
            assembly ("memory-safe") {
                calldatacopy(block, add(data.offset, at), 136)
            }
            LibKeccak.absorb(lanes, block);
            at += LibKeccak.RATE;
        }
        uint256 take = data.length - at;
        assembly ("memory-safe") {
            calldatacopy(block, calldatasize(), 160) // zeros
            calldatacopy(block, add(data.offset, at), take)
            mstore8(add(block, take), xor(byte(0, mload(add(block, take))), 0x01))
            mstore8(add(block, 135), xor(byte(0, mload(add(block, 135))), 0x80))
        }
        LibKeccak.absorb(lanes, block);
        return LibKeccak.digest(lanes);
    }

    /// The gas of one keccak-f[1600] permutation.
    function permuteGas() external view returns (uint256 used) {
        uint256 lanes;
        assembly ("memory-safe") {
            lanes := mload(0x40)
            mstore(0x40, add(lanes, 800))
        }
        uint256 before = gasleft();
        LibKeccak.permute(lanes);
        used = before - gasleft();
    }

    function encodeWord(uint256 v) external pure returns (bytes memory) {
        return LibWorld.encodeWord(v);
    }

    function decodeWord(bytes memory value) external pure returns (uint256) {
        return LibWorld.decodeWord(value);
    }

    function encodeAccount(uint256 nonce, uint256 balance, bytes32 root, bytes32 codeHash)
        external
        pure
        returns (bytes memory)
    {
        return LibWorld.encodeAccount(Account(true, nonce, balance, root, codeHash));
    }

    function decodeAccount(bytes memory value)
        external
        pure
        returns (uint256, uint256, bytes32, bytes32)
    {
        Account memory a = LibWorld.decodeAccount(value);
        return (a.nonce, a.balance, a.storageRoot, a.codeHash);
    }

    function keys(address who, uint256 slot) external pure returns (bytes32, bytes32, bytes32) {
        return (LibWorld.addressKey(who), LibWorld.slotKey(slot), LibWorld.pairKey(who, slot));
    }

    function sstore(uint256 original, uint256 current, uint256 value, bool cold)
        external
        pure
        returns (uint256, int256)
    {
        return (
            OpsWorld.sstoreCost(original, current, value, cold),
            OpsWorld.sstoreRefund(original, current, value)
        );
    }

    function codeRoot(bytes calldata code) external pure returns (bytes32) {
        uint256 at;
        assembly ("memory-safe") {
            at := code.offset
        }
        return LibCode.root(at, code.length);
    }
}

/// @notice `LibKeccak`, `LibWorld`, `LibCode` and SSTORE's gas and refunds against reference
///         implementations written out here (keccak256, RLP by hand, the EIP-2200/3529 table,
///         a naive code tree). The opcode steps built on them are compared with the Rust
///         executor by tests/it/verifier.rs.
contract VerifierLibsTest is TestBase {
    VerifierLibsHarness internal lib;

    function setUp() public {
        lib = new VerifierLibsHarness();
    }

    /// The sponge, block by block, is keccak256 at the lengths around the rate.
    function test_spongeAtTheRateBoundaries() public view {
        uint256[10] memory lengths = [uint256(0), 1, 31, 32, 135, 136, 137, 271, 272, 273];
        for (uint256 k = 0; k < lengths.length; ++k) {
            bytes memory data = new bytes(lengths[k]);
            for (uint256 i = 0; i < data.length; ++i) {
                data[i] = bytes1(uint8(i * 7 + 3));
            }
            assertEq(lib.sponge(data), keccak256(data), "sponge");
        }
    }

    function testFuzz_spongeIsKeccak256(bytes calldata data) public view {
        assertEq(lib.sponge(data), keccak256(data), "sponge");
    }

    /// One permutation stays cheap enough for a sponge micro-step (§9: one block a step).
    function test_permutationGas() public view {
        uint256 used = lib.permuteGas();
        assertLe(used, 70_000, "keccak-f[1600] gas");
    }

    /// `rlp(value)` of a word: `0x80 + n ‖ bytes` without leading zeros, a byte below 0x80 as
    /// itself, nothing for zero; and back.
    function testFuzz_words(uint256 v) public view {
        bytes memory expected;
        if (v == 0) {
            expected = "";
        } else if (v < 0x80) {
            expected = abi.encodePacked(uint8(v));
        } else {
            uint256 n = 0;
            for (uint256 x = v; x != 0; x >>= 8) {
                ++n;
            }
            bytes memory be = abi.encodePacked(v);
            bytes memory tail = new bytes(n);
            for (uint256 i = 0; i < n; ++i) {
                tail[i] = be[32 - n + i];
            }
            expected = bytes.concat(bytes1(uint8(0x80 + n)), tail);
        }
        bytes memory got = lib.encodeWord(v);
        assertEq(keccak256(got), keccak256(expected), "encodeWord");
        if (v != 0) assertEq(lib.decodeWord(got), v, "decodeWord");
    }

    /// Values the executor's `U256::decode` refuses: a leading zero, `0x81` before a byte below
    /// 0x80, more than 32 bytes, a list.
    function test_wordsNotCanonicalAreRejected() public {
        bytes[4] memory bad = [
            bytes(hex"820001"),
            bytes(hex"8105"),
            bytes(hex"a1010101010101010101010101010101010101010101010101010101010101010101"),
            bytes(hex"c101")
        ];
        for (uint256 k = 0; k < bad.length; ++k) {
            vm.expectRevert(LibWorld.BadWorldValue.selector);
            lib.decodeWord(bad[k]);
        }
    }

    /// An account's RLP as `TrieAccount` encodes it, and back.
    function testFuzz_accounts(uint64 nonce, uint256 balance, bytes32 root, bytes32 codeHash)
        public
        view
    {
        bytes memory payload = bytes.concat(
            lib.encodeWord(nonce).length == 0 ? bytes(hex"80") : lib.encodeWord(nonce),
            lib.encodeWord(balance).length == 0 ? bytes(hex"80") : lib.encodeWord(balance),
            bytes1(0xa0),
            root,
            bytes1(0xa0),
            codeHash
        );
        bytes memory expected = payload.length < 56
            ? bytes.concat(bytes1(uint8(0xc0 + payload.length)), payload)
            : bytes.concat(bytes1(0xf8), bytes1(uint8(payload.length)), payload);
        bytes memory got = lib.encodeAccount(nonce, balance, root, codeHash);
        assertEq(keccak256(got), keccak256(expected), "encodeAccount");
        (uint256 n, uint256 b, bytes32 r, bytes32 c) = lib.decodeAccount(got);
        assertEq(n, nonce, "nonce");
        assertEq(b, balance, "balance");
        assertEq(r, root, "storage root");
        assertEq(c, codeHash, "code hash");
    }

    /// An account list with a field missing, an extra field, or a short hash is rejected.
    function test_accountsMalformedAreRejected() public {
        bytes32 h = keccak256("h");
        bytes[3] memory bad = [
            abi.encodePacked(hex"e3", hex"01", hex"80", hex"a0", h),
            abi.encodePacked(hex"f846", hex"01", hex"80", hex"a0", h, hex"a0", h, hex"80"),
            abi.encodePacked(hex"e3", hex"01", hex"80", hex"9f", bytes31(h), hex"80")
        ];
        for (uint256 k = 0; k < bad.length; ++k) {
            vm.expectRevert(LibWorld.BadWorldValue.selector);
            lib.decodeAccount(bad[k]);
        }
    }

    /// The keys of world.rs: `H(address)`, `H(slot)`, `H(address ‖ slot)`.
    function testFuzz_keys(address who, uint256 slot) public view {
        (bytes32 a, bytes32 s, bytes32 p) = lib.keys(who, slot);
        assertEq(a, keccak256(abi.encodePacked(who)), "address key");
        assertEq(s, keccak256(abi.encodePacked(slot)), "slot key");
        assertEq(p, keccak256(abi.encodePacked(who, slot)), "pair key");
    }

    /// SSTORE's gas and refund for every (original, current, new, cold) over three values,
    /// against EIP-2200/2929/3529 written out as the EIPs' case table.
    function test_sstoreTable() public view {
        for (uint256 o = 0; o < 3; ++o) {
            for (uint256 c = 0; c < 3; ++c) {
                for (uint256 n = 0; n < 3; ++n) {
                    for (uint256 cold = 0; cold < 2; ++cold) {
                        uint256 original = o * 5;
                        uint256 current = c * 5;
                        uint256 value = n * 5;
                        (uint256 cost, int256 refund) =
                            lib.sstore(original, current, value, cold == 1);
                        (uint256 eCost, int256 eRefund) =
                            _sstoreReference(original, current, value, cold == 1);
                        assertEq(cost, eCost, "cost");
                        assertTrue(refund == eRefund, "refund");
                    }
                }
            }
        }
    }

    function _sstoreReference(uint256 original, uint256 current, uint256 value, bool cold)
        internal
        pure
        returns (uint256 cost, int256 refund)
    {
        uint256 coldCost = cold ? 2100 : 0;
        if (value == current) return (coldCost + 100, 0);
        if (original == current) {
            cost = original == 0 ? 20_000 : 2900;
            refund = original != 0 && value == 0 ? int256(4800) : int256(0);
            return (coldCost + cost, refund);
        }
        if (original != 0) {
            if (current == 0) refund -= 4800;
            else if (value == 0) refund += 4800;
        }
        if (original == value) refund += original == 0 ? int256(19_900) : int256(2800);
        return (coldCost + 100, refund);
    }

    /// The code-tree root against a naive tree: prefixes by a byte-by-byte scan, all 4,096
    /// leaves hashed level by level.
    function testFuzz_codeRoot(bytes calldata code) public view {
        vm.assume(code.length <= 200);
        assertEq(lib.codeRoot(code), _naiveCodeRoot(code), "code root");
    }

    function test_codeRootOfPushesAcrossChunks() public view {
        bytes memory code = new bytes(70);
        for (uint256 i = 0; i < code.length; ++i) {
            code[i] = bytes1(uint8(i + 1));
        }
        code[20] = 0x7f; // PUSH32 from 21 to 52: chunk 1 starts with 21 bytes of push data
        code[60] = 0x7f; // PUSH32 past the end
        assertEq(lib.codeRoot(code), _naiveCodeRoot(code), "code root");
        assertEq(lib.codeRoot(""), _naiveCodeRoot(""), "empty code");
    }

    function _naiveCodeRoot(bytes memory code) internal pure returns (bytes32) {
        uint256 chunks = (code.length + 31) / 32;
        bytes32[] memory level = new bytes32[](4096);
        bytes32 zero = keccak256(abi.encodePacked(bytes32(0), uint8(0)));
        uint256 next = 0;
        for (uint256 j = 0; j < 4096; ++j) {
            if (j >= chunks) {
                level[j] = zero;
                continue;
            }
            while (next < 32 * j) {
                uint8 op = uint8(code[next]);
                next += op >= 0x60 && op <= 0x7f ? op - 0x5e : 1;
            }
            uint256 p = next - 32 * j > 32 ? 32 : next - 32 * j;
            bytes memory chunk = new bytes(32);
            for (uint256 i = 0; i < 32 && 32 * j + i < code.length; ++i) {
                chunk[i] = code[32 * j + i];
            }
            level[j] = keccak256(abi.encodePacked(chunk, uint8(p)));
        }
        for (uint256 n = 4096; n > 1; n /= 2) {
            for (uint256 i = 0; i < n / 2; ++i) {
                level[i] = keccak256(abi.encodePacked(level[2 * i], level[2 * i + 1]));
            }
        }
        return level[0];
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title  LibKeccak
/// @notice The keccak-f[1600] permutation (FIPS 202 §3.3, 24 rounds of θ, ρ, π, χ, ι) on 25
///         lanes in memory, and the sponge operations of the step machine's KECCAK256 and LOG
///         micro-steps (docs/spec/step-machine.md §4.5, §5.5): rule for rule
///         `refute_engine::machine::Sponge` (engine/src/machine/sponge.rs).
/// @dev    Lane `x + 5y` is the memory word at `lanes + 32·(x + 5y)`, holding a u64. The round
///         body is unrolled (generated), the rounds loop. About 60k gas a permutation.
library LibKeccak {
    /// @notice The rate of keccak256 in bytes: one block.
    uint256 internal constant RATE = 136;

    /// @notice Applies keccak-f[1600] to the 25 lanes at memory `lanes`.
    /// @dev    Runs at fixed addresses `[0, 0x9e0)` (lanes, the ρπ lanes, θ's column parities,
    ///         the round constants), so that every lane access is one `mload` of a constant:
    ///         the region (Solidity's scratch space, free memory pointer, zero slot and the
    ///         start of its heap) is saved above the free memory pointer and restored after,
    ///         so the function leaves memory as it found it but for the lanes (which must
    ///         lie below the free memory pointer, as allocated memory does).
    function permute(uint256 lanes) internal pure {
        assembly {
            let save := mload(0x40)
            if lt(save, 0x9e0) { save := 0x9e0 }
            let tmp := add(save, 0x9e0)
            mcopy(tmp, lanes, 0x320)
            mcopy(save, 0, 0x9e0)
            mcopy(0, tmp, 0x320)
            mstore(0x6e0, 0x1)
            mstore(0x700, 0x8082)
            mstore(0x720, 0x800000000000808a)
            mstore(0x740, 0x8000000080008000)
            mstore(0x760, 0x808b)
            mstore(0x780, 0x80000001)
            mstore(0x7a0, 0x8000000080008081)
            mstore(0x7c0, 0x8000000000008009)
            mstore(0x7e0, 0x8a)
            mstore(0x800, 0x88)
            mstore(0x820, 0x80008009)
            mstore(0x840, 0x8000000a)
            mstore(0x860, 0x8000808b)
            mstore(0x880, 0x800000000000008b)
            mstore(0x8a0, 0x8000000000008089)
            mstore(0x8c0, 0x8000000000008003)
            mstore(0x8e0, 0x8000000000008002)
            mstore(0x900, 0x8000000000000080)
            mstore(0x920, 0x800a)
            mstore(0x940, 0x800000008000000a)
            mstore(0x960, 0x8000000080008081)
            mstore(0x980, 0x8000000000008080)
            mstore(0x9a0, 0x80000001)
            mstore(0x9c0, 0x8000000080008008)
            for { let round := 0 } lt(round, 24) { round := add(round, 1) } {
                let d := 0
                let v := 0
                let b0 := 0
                let b1 := 0
                let b2 := 0
                let b3 := 0
                let b4 := 0
                mstore(
                    0x640,
                    xor(
                        xor(xor(mload(0x0), mload(0xa0)), xor(mload(0x140), mload(0x1e0))),
                        mload(0x280)
                    )
                )
                mstore(
                    0x660,
                    xor(
                        xor(xor(mload(0x20), mload(0xc0)), xor(mload(0x160), mload(0x200))),
                        mload(0x2a0)
                    )
                )
                mstore(
                    0x680,
                    xor(
                        xor(xor(mload(0x40), mload(0xe0)), xor(mload(0x180), mload(0x220))),
                        mload(0x2c0)
                    )
                )
                mstore(
                    0x6a0,
                    xor(
                        xor(xor(mload(0x60), mload(0x100)), xor(mload(0x1a0), mload(0x240))),
                        mload(0x2e0)
                    )
                )
                mstore(
                    0x6c0,
                    xor(
                        xor(xor(mload(0x80), mload(0x120)), xor(mload(0x1c0), mload(0x260))),
                        mload(0x300)
                    )
                )
                d := xor(
                    mload(0x6c0),
                    and(or(shl(1, mload(0x660)), shr(63, mload(0x660))), 0xffffffffffffffff)
                )
                mstore(0x320, xor(mload(0x0), d))
                v := xor(mload(0xa0), d)
                mstore(0x520, and(or(shl(36, v), shr(28, v)), 0xffffffffffffffff))
                v := xor(mload(0x140), d)
                mstore(0x400, and(or(shl(3, v), shr(61, v)), 0xffffffffffffffff))
                v := xor(mload(0x1e0), d)
                mstore(0x600, and(or(shl(41, v), shr(23, v)), 0xffffffffffffffff))
                v := xor(mload(0x280), d)
                mstore(0x4e0, and(or(shl(18, v), shr(46, v)), 0xffffffffffffffff))
                d := xor(
                    mload(0x640),
                    and(or(shl(1, mload(0x680)), shr(63, mload(0x680))), 0xffffffffffffffff)
                )
                v := xor(mload(0x20), d)
                mstore(0x460, and(or(shl(1, v), shr(63, v)), 0xffffffffffffffff))
                v := xor(mload(0xc0), d)
                mstore(0x340, and(or(shl(44, v), shr(20, v)), 0xffffffffffffffff))
                v := xor(mload(0x160), d)
                mstore(0x540, and(or(shl(10, v), shr(54, v)), 0xffffffffffffffff))
                v := xor(mload(0x200), d)
                mstore(0x420, and(or(shl(45, v), shr(19, v)), 0xffffffffffffffff))
                v := xor(mload(0x2a0), d)
                mstore(0x620, and(or(shl(2, v), shr(62, v)), 0xffffffffffffffff))
                d := xor(
                    mload(0x660),
                    and(or(shl(1, mload(0x6a0)), shr(63, mload(0x6a0))), 0xffffffffffffffff)
                )
                v := xor(mload(0x40), d)
                mstore(0x5a0, and(or(shl(62, v), shr(2, v)), 0xffffffffffffffff))
                v := xor(mload(0xe0), d)
                mstore(0x480, and(or(shl(6, v), shr(58, v)), 0xffffffffffffffff))
                v := xor(mload(0x180), d)
                mstore(0x360, and(or(shl(43, v), shr(21, v)), 0xffffffffffffffff))
                v := xor(mload(0x220), d)
                mstore(0x560, and(or(shl(15, v), shr(49, v)), 0xffffffffffffffff))
                v := xor(mload(0x2c0), d)
                mstore(0x440, and(or(shl(61, v), shr(3, v)), 0xffffffffffffffff))
                d := xor(
                    mload(0x680),
                    and(or(shl(1, mload(0x6c0)), shr(63, mload(0x6c0))), 0xffffffffffffffff)
                )
                v := xor(mload(0x60), d)
                mstore(0x3c0, and(or(shl(28, v), shr(36, v)), 0xffffffffffffffff))
                v := xor(mload(0x100), d)
                mstore(0x5c0, and(or(shl(55, v), shr(9, v)), 0xffffffffffffffff))
                v := xor(mload(0x1a0), d)
                mstore(0x4a0, and(or(shl(25, v), shr(39, v)), 0xffffffffffffffff))
                v := xor(mload(0x240), d)
                mstore(0x380, and(or(shl(21, v), shr(43, v)), 0xffffffffffffffff))
                v := xor(mload(0x2e0), d)
                mstore(0x580, and(or(shl(56, v), shr(8, v)), 0xffffffffffffffff))
                d := xor(
                    mload(0x6a0),
                    and(or(shl(1, mload(0x640)), shr(63, mload(0x640))), 0xffffffffffffffff)
                )
                v := xor(mload(0x80), d)
                mstore(0x500, and(or(shl(27, v), shr(37, v)), 0xffffffffffffffff))
                v := xor(mload(0x120), d)
                mstore(0x3e0, and(or(shl(20, v), shr(44, v)), 0xffffffffffffffff))
                v := xor(mload(0x1c0), d)
                mstore(0x5e0, and(or(shl(39, v), shr(25, v)), 0xffffffffffffffff))
                v := xor(mload(0x260), d)
                mstore(0x4c0, and(or(shl(8, v), shr(56, v)), 0xffffffffffffffff))
                v := xor(mload(0x300), d)
                mstore(0x3a0, and(or(shl(14, v), shr(50, v)), 0xffffffffffffffff))
                b0 := mload(0x320)
                b1 := mload(0x340)
                b2 := mload(0x360)
                b3 := mload(0x380)
                b4 := mload(0x3a0)
                mstore(0x0, xor(b0, and(not(b1), b2)))
                mstore(0x20, xor(b1, and(not(b2), b3)))
                mstore(0x40, xor(b2, and(not(b3), b4)))
                mstore(0x60, xor(b3, and(not(b4), b0)))
                mstore(0x80, xor(b4, and(not(b0), b1)))
                b0 := mload(0x3c0)
                b1 := mload(0x3e0)
                b2 := mload(0x400)
                b3 := mload(0x420)
                b4 := mload(0x440)
                mstore(0xa0, xor(b0, and(not(b1), b2)))
                mstore(0xc0, xor(b1, and(not(b2), b3)))
                mstore(0xe0, xor(b2, and(not(b3), b4)))
                mstore(0x100, xor(b3, and(not(b4), b0)))
                mstore(0x120, xor(b4, and(not(b0), b1)))
                b0 := mload(0x460)
                b1 := mload(0x480)
                b2 := mload(0x4a0)
                b3 := mload(0x4c0)
                b4 := mload(0x4e0)
                mstore(0x140, xor(b0, and(not(b1), b2)))
                mstore(0x160, xor(b1, and(not(b2), b3)))
                mstore(0x180, xor(b2, and(not(b3), b4)))
                mstore(0x1a0, xor(b3, and(not(b4), b0)))
                mstore(0x1c0, xor(b4, and(not(b0), b1)))
                b0 := mload(0x500)
                b1 := mload(0x520)
                b2 := mload(0x540)
                b3 := mload(0x560)
                b4 := mload(0x580)
                mstore(0x1e0, xor(b0, and(not(b1), b2)))
                mstore(0x200, xor(b1, and(not(b2), b3)))
                mstore(0x220, xor(b2, and(not(b3), b4)))
                mstore(0x240, xor(b3, and(not(b4), b0)))
                mstore(0x260, xor(b4, and(not(b0), b1)))
                b0 := mload(0x5a0)
                b1 := mload(0x5c0)
                b2 := mload(0x5e0)
                b3 := mload(0x600)
                b4 := mload(0x620)
                mstore(0x280, xor(b0, and(not(b1), b2)))
                mstore(0x2a0, xor(b1, and(not(b2), b3)))
                mstore(0x2c0, xor(b2, and(not(b3), b4)))
                mstore(0x2e0, xor(b3, and(not(b4), b0)))
                mstore(0x300, xor(b4, and(not(b0), b1)))
                mstore(0, xor(mload(0), mload(add(0x6e0, shl(5, round)))))
            }
            // The result out of the way, the region back, the result into `lanes`.
            mcopy(tmp, 0, 0x320)
            mcopy(0, save, 0x9e0)
            mcopy(lanes, tmp, 0x320)
        }
    }

    /// @notice `v`'s 8 bytes in the other order: a little-endian u64 read big-endian, or back.
    function rev64(uint256 v) internal pure returns (uint256) {
        v = ((v & 0xff00ff00ff00ff00) >> 8) | ((v & 0x00ff00ff00ff00ff) << 8);
        v = ((v & 0xffff0000ffff0000) >> 16) | ((v & 0x0000ffff0000ffff) << 16);
        return (v >> 32) | ((v & 0xffffffff) << 32);
    }

    /// @notice XORs the 136-byte block at memory `block` into lanes 0–16 (lane `k` takes bytes
    ///         `8k … 8k+7`, little-endian), then permutes: one sponge absorption.
    function absorb(uint256 lanes, uint256 block) internal pure {
        for (uint256 k = 0; k < 17; ++k) {
            uint256 chunk8;
            assembly ("memory-safe") {
                chunk8 := shr(192, mload(add(block, shl(3, k))))
            }
            uint256 le = rev64(chunk8);
            assembly ("memory-safe") {
                let p := add(lanes, shl(5, k))
                mstore(p, xor(mload(p), le))
            }
        }
        permute(lanes);
    }

    /// @notice The digest: the first 32 bytes of lanes 0–3, little-endian.
    function digest(uint256 lanes) internal pure returns (bytes32 d) {
        uint256 l0;
        uint256 l1;
        uint256 l2;
        uint256 l3;
        assembly ("memory-safe") {
            l0 := mload(lanes)
            l1 := mload(add(lanes, 0x20))
            l2 := mload(add(lanes, 0x40))
            l3 := mload(add(lanes, 0x60))
        }
        return bytes32((rev64(l0) << 192) | (rev64(l1) << 128) | (rev64(l2) << 64) | rev64(l3));
    }
}

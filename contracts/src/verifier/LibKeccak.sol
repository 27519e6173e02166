// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title  LibKeccak
/// @notice The keccak-f[1600] permutation (FIPS 202 §3.3, 24 rounds of θ, ρ, π, χ, ι) on 25
///         lanes in memory, and the sponge operations of the step machine's KECCAK256 and LOG
///         micro-steps (docs/spec/step-machine.md §4.5, §5.5): rule for rule
///         `refute_engine::machine::Sponge` (engine/src/machine/sponge.rs).
/// @dev    Lane `x + 5y` is the memory word at `lanes + 32·(x + 5y)`, holding a u64. The round
///         body is unrolled (generated), the rounds loop. About 45k gas a permutation.
library LibKeccak {
    /// @notice The rate of keccak256 in bytes: one block.
    uint256 internal constant RATE = 136;

    /// @notice Applies keccak-f[1600] to the 25 lanes at memory `lanes`.
    function permute(uint256 lanes) internal pure {
        assembly ("memory-safe") {
            let a := lanes
            let b := mload(0x40)
            let c := add(b, 0x320)
            let rc := add(c, 0xa0)
            mstore(add(rc, 0x0), 0x1)
            mstore(add(rc, 0x20), 0x8082)
            mstore(add(rc, 0x40), 0x800000000000808a)
            mstore(add(rc, 0x60), 0x8000000080008000)
            mstore(add(rc, 0x80), 0x808b)
            mstore(add(rc, 0xa0), 0x80000001)
            mstore(add(rc, 0xc0), 0x8000000080008081)
            mstore(add(rc, 0xe0), 0x8000000000008009)
            mstore(add(rc, 0x100), 0x8a)
            mstore(add(rc, 0x120), 0x88)
            mstore(add(rc, 0x140), 0x80008009)
            mstore(add(rc, 0x160), 0x8000000a)
            mstore(add(rc, 0x180), 0x8000808b)
            mstore(add(rc, 0x1a0), 0x800000000000008b)
            mstore(add(rc, 0x1c0), 0x8000000000008089)
            mstore(add(rc, 0x1e0), 0x8000000000008003)
            mstore(add(rc, 0x200), 0x8000000000008002)
            mstore(add(rc, 0x220), 0x8000000000000080)
            mstore(add(rc, 0x240), 0x800a)
            mstore(add(rc, 0x260), 0x800000008000000a)
            mstore(add(rc, 0x280), 0x8000000080008081)
            mstore(add(rc, 0x2a0), 0x8000000000008080)
            mstore(add(rc, 0x2c0), 0x80000001)
            mstore(add(rc, 0x2e0), 0x8000000080008008)
            for { let round := 0 } lt(round, 24) { round := add(round, 1) } {
                let d := 0
                let v := 0
                let b0 := 0
                let b1 := 0
                let b2 := 0
                let b3 := 0
                let b4 := 0
                mstore(
                    c,
                    xor(
                        xor(
                            xor(mload(a), mload(add(a, 0xa0))),
                            xor(mload(add(a, 0x140)), mload(add(a, 0x1e0)))
                        ),
                        mload(add(a, 0x280))
                    )
                )
                mstore(
                    add(c, 0x20),
                    xor(
                        xor(
                            xor(mload(add(a, 0x20)), mload(add(a, 0xc0))),
                            xor(mload(add(a, 0x160)), mload(add(a, 0x200)))
                        ),
                        mload(add(a, 0x2a0))
                    )
                )
                mstore(
                    add(c, 0x40),
                    xor(
                        xor(
                            xor(mload(add(a, 0x40)), mload(add(a, 0xe0))),
                            xor(mload(add(a, 0x180)), mload(add(a, 0x220)))
                        ),
                        mload(add(a, 0x2c0))
                    )
                )
                mstore(
                    add(c, 0x60),
                    xor(
                        xor(
                            xor(mload(add(a, 0x60)), mload(add(a, 0x100))),
                            xor(mload(add(a, 0x1a0)), mload(add(a, 0x240)))
                        ),
                        mload(add(a, 0x2e0))
                    )
                )
                mstore(
                    add(c, 0x80),
                    xor(
                        xor(
                            xor(mload(add(a, 0x80)), mload(add(a, 0x120))),
                            xor(mload(add(a, 0x1c0)), mload(add(a, 0x260)))
                        ),
                        mload(add(a, 0x300))
                    )
                )
                d := xor(
                    mload(add(c, 0x80)),
                    and(
                        or(shl(1, mload(add(c, 0x20))), shr(63, mload(add(c, 0x20)))),
                        0xffffffffffffffff
                    )
                )
                mstore(b, xor(mload(a), d))
                v := xor(mload(add(a, 0xa0)), d)
                mstore(add(b, 0x200), and(or(shl(36, v), shr(28, v)), 0xffffffffffffffff))
                v := xor(mload(add(a, 0x140)), d)
                mstore(add(b, 0xe0), and(or(shl(3, v), shr(61, v)), 0xffffffffffffffff))
                v := xor(mload(add(a, 0x1e0)), d)
                mstore(add(b, 0x2e0), and(or(shl(41, v), shr(23, v)), 0xffffffffffffffff))
                v := xor(mload(add(a, 0x280)), d)
                mstore(add(b, 0x1c0), and(or(shl(18, v), shr(46, v)), 0xffffffffffffffff))
                d := xor(
                    mload(c),
                    and(
                        or(shl(1, mload(add(c, 0x40))), shr(63, mload(add(c, 0x40)))),
                        0xffffffffffffffff
                    )
                )
                v := xor(mload(add(a, 0x20)), d)
                mstore(add(b, 0x140), and(or(shl(1, v), shr(63, v)), 0xffffffffffffffff))
                v := xor(mload(add(a, 0xc0)), d)
                mstore(add(b, 0x20), and(or(shl(44, v), shr(20, v)), 0xffffffffffffffff))
                v := xor(mload(add(a, 0x160)), d)
                mstore(add(b, 0x220), and(or(shl(10, v), shr(54, v)), 0xffffffffffffffff))
                v := xor(mload(add(a, 0x200)), d)
                mstore(add(b, 0x100), and(or(shl(45, v), shr(19, v)), 0xffffffffffffffff))
                v := xor(mload(add(a, 0x2a0)), d)
                mstore(add(b, 0x300), and(or(shl(2, v), shr(62, v)), 0xffffffffffffffff))
                d := xor(
                    mload(add(c, 0x20)),
                    and(
                        or(shl(1, mload(add(c, 0x60))), shr(63, mload(add(c, 0x60)))),
                        0xffffffffffffffff
                    )
                )
                v := xor(mload(add(a, 0x40)), d)
                mstore(add(b, 0x280), and(or(shl(62, v), shr(2, v)), 0xffffffffffffffff))
                v := xor(mload(add(a, 0xe0)), d)
                mstore(add(b, 0x160), and(or(shl(6, v), shr(58, v)), 0xffffffffffffffff))
                v := xor(mload(add(a, 0x180)), d)
                mstore(add(b, 0x40), and(or(shl(43, v), shr(21, v)), 0xffffffffffffffff))
                v := xor(mload(add(a, 0x220)), d)
                mstore(add(b, 0x240), and(or(shl(15, v), shr(49, v)), 0xffffffffffffffff))
                v := xor(mload(add(a, 0x2c0)), d)
                mstore(add(b, 0x120), and(or(shl(61, v), shr(3, v)), 0xffffffffffffffff))
                d := xor(
                    mload(add(c, 0x40)),
                    and(
                        or(shl(1, mload(add(c, 0x80))), shr(63, mload(add(c, 0x80)))),
                        0xffffffffffffffff
                    )
                )
                v := xor(mload(add(a, 0x60)), d)
                mstore(add(b, 0xa0), and(or(shl(28, v), shr(36, v)), 0xffffffffffffffff))
                v := xor(mload(add(a, 0x100)), d)
                mstore(add(b, 0x2a0), and(or(shl(55, v), shr(9, v)), 0xffffffffffffffff))
                v := xor(mload(add(a, 0x1a0)), d)
                mstore(add(b, 0x180), and(or(shl(25, v), shr(39, v)), 0xffffffffffffffff))
                v := xor(mload(add(a, 0x240)), d)
                mstore(add(b, 0x60), and(or(shl(21, v), shr(43, v)), 0xffffffffffffffff))
                v := xor(mload(add(a, 0x2e0)), d)
                mstore(add(b, 0x260), and(or(shl(56, v), shr(8, v)), 0xffffffffffffffff))
                d := xor(
                    mload(add(c, 0x60)),
                    and(or(shl(1, mload(c)), shr(63, mload(c))), 0xffffffffffffffff)
                )
                v := xor(mload(add(a, 0x80)), d)
                mstore(add(b, 0x1e0), and(or(shl(27, v), shr(37, v)), 0xffffffffffffffff))
                v := xor(mload(add(a, 0x120)), d)
                mstore(add(b, 0xc0), and(or(shl(20, v), shr(44, v)), 0xffffffffffffffff))
                v := xor(mload(add(a, 0x1c0)), d)
                mstore(add(b, 0x2c0), and(or(shl(39, v), shr(25, v)), 0xffffffffffffffff))
                v := xor(mload(add(a, 0x260)), d)
                mstore(add(b, 0x1a0), and(or(shl(8, v), shr(56, v)), 0xffffffffffffffff))
                v := xor(mload(add(a, 0x300)), d)
                mstore(add(b, 0x80), and(or(shl(14, v), shr(50, v)), 0xffffffffffffffff))
                b0 := mload(b)
                b1 := mload(add(b, 0x20))
                b2 := mload(add(b, 0x40))
                b3 := mload(add(b, 0x60))
                b4 := mload(add(b, 0x80))
                mstore(a, xor(b0, and(not(b1), b2)))
                mstore(add(a, 0x20), xor(b1, and(not(b2), b3)))
                mstore(add(a, 0x40), xor(b2, and(not(b3), b4)))
                mstore(add(a, 0x60), xor(b3, and(not(b4), b0)))
                mstore(add(a, 0x80), xor(b4, and(not(b0), b1)))
                b0 := mload(add(b, 0xa0))
                b1 := mload(add(b, 0xc0))
                b2 := mload(add(b, 0xe0))
                b3 := mload(add(b, 0x100))
                b4 := mload(add(b, 0x120))
                mstore(add(a, 0xa0), xor(b0, and(not(b1), b2)))
                mstore(add(a, 0xc0), xor(b1, and(not(b2), b3)))
                mstore(add(a, 0xe0), xor(b2, and(not(b3), b4)))
                mstore(add(a, 0x100), xor(b3, and(not(b4), b0)))
                mstore(add(a, 0x120), xor(b4, and(not(b0), b1)))
                b0 := mload(add(b, 0x140))
                b1 := mload(add(b, 0x160))
                b2 := mload(add(b, 0x180))
                b3 := mload(add(b, 0x1a0))
                b4 := mload(add(b, 0x1c0))
                mstore(add(a, 0x140), xor(b0, and(not(b1), b2)))
                mstore(add(a, 0x160), xor(b1, and(not(b2), b3)))
                mstore(add(a, 0x180), xor(b2, and(not(b3), b4)))
                mstore(add(a, 0x1a0), xor(b3, and(not(b4), b0)))
                mstore(add(a, 0x1c0), xor(b4, and(not(b0), b1)))
                b0 := mload(add(b, 0x1e0))
                b1 := mload(add(b, 0x200))
                b2 := mload(add(b, 0x220))
                b3 := mload(add(b, 0x240))
                b4 := mload(add(b, 0x260))
                mstore(add(a, 0x1e0), xor(b0, and(not(b1), b2)))
                mstore(add(a, 0x200), xor(b1, and(not(b2), b3)))
                mstore(add(a, 0x220), xor(b2, and(not(b3), b4)))
                mstore(add(a, 0x240), xor(b3, and(not(b4), b0)))
                mstore(add(a, 0x260), xor(b4, and(not(b0), b1)))
                b0 := mload(add(b, 0x280))
                b1 := mload(add(b, 0x2a0))
                b2 := mload(add(b, 0x2c0))
                b3 := mload(add(b, 0x2e0))
                b4 := mload(add(b, 0x300))
                mstore(add(a, 0x280), xor(b0, and(not(b1), b2)))
                mstore(add(a, 0x2a0), xor(b1, and(not(b2), b3)))
                mstore(add(a, 0x2c0), xor(b2, and(not(b3), b4)))
                mstore(add(a, 0x2e0), xor(b3, and(not(b4), b0)))
                mstore(add(a, 0x300), xor(b4, and(not(b0), b1)))
                mstore(a, xor(mload(a), mload(add(rc, shl(5, round)))))
            }
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

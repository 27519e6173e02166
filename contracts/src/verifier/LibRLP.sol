// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title  LibRLP
/// @notice The part of Recursive Length Prefix (Yellow Paper appendix B) that Merkle-Patricia
///         trie nodes need: reading one item's header, bounds-checked and canonical, and
///         writing string and list encodings.
/// @dev    Reads exactly what `alloy_rlp::Header::decode` (0.3) accepts, which is what the Rust
///         trie code (`refute_engine::machine::TrieWitness`) decodes with:
///         - a byte below `0x80` is a one-byte string, its own payload;
///         - `0x80 + n` (`n <= 55`) is a string of `n` bytes, `0xc0 + n` a list of `n` bytes;
///           a one-byte string below `0x80` written as `0x81 b` is rejected;
///         - `0xb7 + k` / `0xf7 + k` (`1 <= k <= 8`) carry a `k`-byte big-endian length, which
///           must not start with a zero byte and must be at least 56;
///         - the payload must fit in the bytes the caller allows (`end`).
///         Readers and writers work on raw memory addresses, so that callers can walk nested
///         items without copying. Writers assume the caller allocated enough memory, plus 32
///         bytes of slack: they store whole words.
library LibRLP {
    /// @notice An item's header or payload runs past the end of the bytes it must fit in (its
    ///         buffer, or the list it is in).
    error RLPTruncated();

    /// @notice An item that RLP can express shorter: a one-byte string below `0x80` in the
    ///         `0x81` form, a long-form length below 56, or a length with a leading zero byte.
    error RLPNonCanonical();

    /// @notice Splits the list that spans memory `[ptr, end)` into its items.
    /// @dev    Every item's header is read and checked (bounds, canonical form), each item
    ///         within the list. Item `i < max` is described at `items + 32 * i` as
    ///         `start << 128 | headerLength << 64 | payloadLength`: the item spans
    ///         `[start, start + headerLength + payloadLength)`, its payload starts at
    ///         `start + headerLength` (a one-byte string below `0x80` has no header: it is its
    ///         own payload), and it is a list when its first byte is `0xc0` or more. Items past
    ///         `max` are read and checked but not written.
    /// @param  ptr   The list's first byte (memory address).
    /// @param  end   Where the list must end (memory address).
    /// @param  items Where to write the item descriptors (memory address of `max` words).
    /// @param  max   How many descriptors fit at `items`.
    /// @return isList Whether `[ptr, end)` is exactly one list; when not, nothing else is read
    ///                and `count` is 0.
    /// @return count  The number of items.
    /// @custom:error RLPTruncated    A header or payload does not fit: the list's in `end`, an
    ///                               item's in the list.
    /// @custom:error RLPNonCanonical A header is not in its shortest form.
    function readList(uint256 ptr, uint256 end, uint256 items, uint256 max)
        internal
        pure
        returns (bool isList, uint256 count)
    {
        // 0: fine; 1: truncated; 2: not canonical.
        uint256 status;
        assembly ("memory-safe") {
            // The header of the item at `at`, which must end by `limit`: whether it is a list,
            // the payload's address and length, and a status as above.
            function header(at, limit) -> list, payload, length, fault {
                for {} 1 {} {
                    if iszero(lt(at, limit)) {
                        fault := 1
                        break
                    }
                    let prefix := byte(0, mload(at))
                    if lt(prefix, 0x80) {
                        payload := at
                        length := 1
                        break
                    }
                    payload := add(at, 1)
                    if lt(prefix, 0xb8) {
                        length := sub(prefix, 0x80)
                        if eq(length, 1) {
                            if iszero(lt(payload, limit)) {
                                fault := 1
                                break
                            }
                            if lt(byte(0, mload(payload)), 0x80) { fault := 2 }
                        }
                        break
                    }
                    if and(iszero(lt(prefix, 0xc0)), lt(prefix, 0xf8)) {
                        list := 1
                        length := sub(prefix, 0xc0)
                        break
                    }
                    // Long form: `count` bytes of big-endian length after the prefix.
                    list := iszero(lt(prefix, 0xc0))
                    let n := sub(prefix, add(0xb7, mul(list, 0x40)))
                    if gt(add(payload, n), limit) {
                        fault := 1
                        break
                    }
                    let word := mload(payload)
                    if iszero(byte(0, word)) {
                        fault := 2
                        break
                    }
                    length := shr(sub(256, mul(8, n)), word)
                    payload := add(payload, n)
                    if lt(length, 56) { fault := 2 }
                    break
                }
                // payload <= limit when fine: a short header is one byte and at < limit; a long
                // one was checked to fit.
                if iszero(fault) { if gt(length, sub(limit, payload)) { fault := 1 } }
            }

            let list, at, length, fault := header(ptr, end)
            status := fault
            if and(iszero(status), and(list, eq(add(at, length), end))) {
                isList := 1
                for {} lt(at, end) {} {
                    let itemPayload := add(at, 1)
                    let itemLength := 0
                    // Fast paths for a branch's children: a hash, or none.
                    switch byte(0, mload(at))
                    case 0xa0 {
                        itemLength := 32
                        if gt(add(itemPayload, 32), end) { status := 1 }
                    }
                    case 0x80 {}
                    default { list, itemPayload, itemLength, status := header(at, end) }
                    if status { break }
                    if lt(count, max) {
                        mstore(
                            add(items, shl(5, count)),
                            or(or(shl(128, at), shl(64, sub(itemPayload, at))), itemLength)
                        )
                    }
                    count := add(count, 1)
                    at := add(itemPayload, itemLength)
                }
            }
        }
        if (status == 1) revert RLPTruncated();
        if (status == 2) revert RLPNonCanonical();
    }

    /// @notice The memory address of the first byte of `buf`.
    function dataPtr(bytes memory buf) internal pure returns (uint256 ptr) {
        assembly ("memory-safe") {
            ptr := add(buf, 0x20)
        }
    }

    /// @notice The length of the header of an item with `length` bytes of payload: 1 below 56
    ///         bytes, else 1 plus the length's big-endian byte count.
    function headerLength(uint256 length) internal pure returns (uint256) {
        if (length < 56) return 1;
        return 1 + _byteCount(length);
    }

    /// @notice The length of the encoding of the `length` bytes at `ptr` as a string: 1 for a
    ///         single byte below `0x80`, else header plus payload.
    function stringLength(uint256 ptr, uint256 length) internal pure returns (uint256) {
        if (length == 1 && _byteAt(ptr) < 0x80) return 1;
        return headerLength(length) + length;
    }

    /// @notice Writes the header of a string (`isList` false) or list with `length` bytes of
    ///         payload at memory address `ptr`; returns the address after it.
    function writeHeader(uint256 ptr, uint256 length, bool isList) internal pure returns (uint256) {
        uint256 short = isList ? 0xc0 : 0x80;
        if (length < 56) {
            assembly ("memory-safe") {
                mstore8(ptr, add(short, length))
            }
            return ptr + 1;
        }
        uint256 count = _byteCount(length);
        assembly ("memory-safe") {
            mstore8(ptr, add(add(short, 55), count))
            // The length, big-endian, in the `count` bytes after the prefix.
            mstore(add(ptr, 1), shl(sub(256, mul(8, count)), length))
        }
        return ptr + 1 + count;
    }

    /// @notice Writes the string encoding of the `length` bytes at `src` at memory address
    ///         `ptr`; returns the address after it.
    function writeString(uint256 ptr, uint256 src, uint256 length) internal pure returns (uint256) {
        if (!(length == 1 && _byteAt(src) < 0x80)) ptr = writeHeader(ptr, length, false);
        assembly ("memory-safe") {
            mcopy(ptr, src, length)
        }
        return ptr + length;
    }

    function _byteAt(uint256 ptr) private pure returns (uint256 b) {
        assembly ("memory-safe") {
            b := byte(0, mload(ptr))
        }
    }

    /// @notice The number of bytes of `x` big-endian without leading zeros (`x > 0`).
    function _byteCount(uint256 x) private pure returns (uint256 count) {
        while (x != 0) {
            ++count;
            x >>= 8;
        }
    }
}

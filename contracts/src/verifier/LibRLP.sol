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
///         Offsets are byte offsets into a `bytes memory` buffer (not counting its length word).
///         Writers take and return raw memory pointers; callers allocate first.
library LibRLP {
    /// @notice An item's header or payload runs past `end` (the end of its buffer, or of the
    ///         list it is in). `offset` is where the item starts.
    error RLPTruncated(uint256 offset);

    /// @notice An item at `offset` that RLP can express shorter: a one-byte string below
    ///         `0x80` in the `0x81` form, a long-form length below 56, or a length with a
    ///         leading zero byte.
    error RLPNonCanonical(uint256 offset);

    /// @notice The header of the item at `offset` of `buf`, an item that must end by `end`.
    /// @dev    For a one-byte string below `0x80` the payload is that byte: `payloadOffset` is
    ///         `offset`. On return `payloadOffset + payloadLength <= end`.
    /// @param  buf    The bytes holding the item.
    /// @param  offset Where the item starts, in bytes.
    /// @param  end    Where the item must end by, in bytes; at most `buf.length`.
    /// @return isList        Whether the item is a list (else a byte string).
    /// @return payloadOffset Where the payload starts, in bytes.
    /// @return payloadLength The payload's length, in bytes.
    /// @custom:error RLPTruncated    The header or payload does not fit before `end`.
    /// @custom:error RLPNonCanonical The header is not in its shortest form.
    function readHeader(bytes memory buf, uint256 offset, uint256 end)
        internal
        pure
        returns (bool isList, uint256 payloadOffset, uint256 payloadLength)
    {
        if (end > buf.length || offset >= end) revert RLPTruncated(offset);
        uint256 prefix = byteAt(buf, offset);
        if (prefix < 0x80) return (false, offset, 1);
        payloadOffset = offset + 1;
        if (prefix < 0xb8) {
            payloadLength = prefix - 0x80;
            if (payloadLength == 1) {
                if (payloadOffset >= end) revert RLPTruncated(offset);
                if (byteAt(buf, payloadOffset) < 0x80) revert RLPNonCanonical(offset);
            }
        } else if (prefix < 0xc0) {
            (payloadOffset, payloadLength) = _longLength(buf, offset, end, prefix - 0xb7);
        } else if (prefix < 0xf8) {
            isList = true;
            payloadLength = prefix - 0xc0;
        } else {
            isList = true;
            (payloadOffset, payloadLength) = _longLength(buf, offset, end, prefix - 0xf7);
        }
        // payloadOffset <= end here: a short header is one byte and offset < end; a long one
        // was checked to fit.
        if (payloadLength > end - payloadOffset) revert RLPTruncated(offset);
    }

    /// @notice The byte of `buf` at `offset`, unchecked: the caller keeps `offset` below
    ///         `buf.length`.
    function byteAt(bytes memory buf, uint256 offset) internal pure returns (uint256 b) {
        assembly ("memory-safe") {
            b := byte(0, mload(add(add(buf, 0x20), offset)))
        }
    }

    /// @notice The length of the header of an item with `payloadLength` bytes of payload:
    ///         1 below 56 bytes, else 1 plus the length's big-endian byte count.
    function headerLength(uint256 payloadLength) internal pure returns (uint256) {
        if (payloadLength < 56) return 1;
        return 1 + _byteCount(payloadLength);
    }

    /// @notice The length of the encoding of the byte string `s`: 1 for a single byte below
    ///         `0x80`, else header plus payload.
    function stringLength(bytes memory s) internal pure returns (uint256) {
        if (s.length == 1 && uint8(s[0]) < 0x80) return 1;
        return headerLength(s.length) + s.length;
    }

    /// @notice Writes the header of a string (`isList` false) or list with `payloadLength`
    ///         bytes of payload at memory pointer `ptr`; returns the pointer after it.
    function writeHeader(uint256 ptr, uint256 payloadLength, bool isList)
        internal
        pure
        returns (uint256)
    {
        uint256 short = isList ? 0xc0 : 0x80;
        if (payloadLength < 56) {
            assembly ("memory-safe") {
                mstore8(ptr, add(short, payloadLength))
            }
            return ptr + 1;
        }
        uint256 count = _byteCount(payloadLength);
        assembly ("memory-safe") {
            mstore8(ptr, add(add(short, 55), count))
            // The length, big-endian, in the `count` bytes after the prefix.
            mstore(add(ptr, 1), shl(sub(256, mul(8, count)), payloadLength))
        }
        return ptr + 1 + count;
    }

    /// @notice Writes the encoding of the byte string `s` at memory pointer `ptr`; returns the
    ///         pointer after it. The caller has `stringLength(s)` bytes there.
    function writeString(uint256 ptr, bytes memory s) internal pure returns (uint256) {
        if (!(s.length == 1 && uint8(s[0]) < 0x80)) ptr = writeHeader(ptr, s.length, false);
        return copy(ptr, s, 0, s.length);
    }

    /// @notice Copies `length` bytes of `src` from `offset` to memory pointer `ptr`; returns
    ///         the pointer after them.
    function copy(uint256 ptr, bytes memory src, uint256 offset, uint256 length)
        internal
        pure
        returns (uint256)
    {
        assembly ("memory-safe") {
            mcopy(ptr, add(add(src, 0x20), offset), length)
        }
        return ptr + length;
    }

    /// @notice The long-form length of `count` bytes after the prefix at `offset`.
    function _longLength(bytes memory buf, uint256 offset, uint256 end, uint256 count)
        private
        pure
        returns (uint256 payloadOffset, uint256 payloadLength)
    {
        payloadOffset = offset + 1 + count;
        if (payloadOffset > end) revert RLPTruncated(offset);
        if (byteAt(buf, offset + 1) == 0) revert RLPNonCanonical(offset);
        assembly ("memory-safe") {
            payloadLength := shr(sub(256, mul(8, count)), mload(add(add(buf, 0x21), offset)))
        }
        if (payloadLength < 56) revert RLPNonCanonical(offset);
    }

    /// @notice The number of bytes of `x` big-endian without leading zeros (`x > 0`).
    function _byteCount(uint256 x) private pure returns (uint256 count) {
        while (x != 0) {
            ++count;
            x >>= 8;
        }
    }
}

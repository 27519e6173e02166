// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {LibMPT} from "./LibMPT.sol";
import {LibStep, Step} from "./LibStep.sol";
import {LibWorld, Account} from "./LibWorld.sol";
import {OpsEnvironment} from "./OpsEnvironment.sol";
import {LibCode} from "./LibCode.sol";

/// @title  OpsWorld
/// @notice The world family (docs/spec/step-machine.md §5.2, §5.3): BALANCE, SELFBALANCE,
///         EXTCODESIZE, EXTCODEHASH (EIP-2929 account access), SLOAD and SSTORE (EIP-2929 slot
///         access, EIP-2200/3529 gas and refunds with the original value proven against the
///         transaction's `start_state_root`, the EIP-2200 stipend rule), TLOAD and TSTORE
///         (EIP-1153), every read and write proven by the step's trie nodes (`LibWorld`,
///         `LibMPT`) against the header's roots. Rule for rule `Step::world` in
///         engine/src/machine/execute.rs, in the same order, so that a witness is accepted
///         and rejected as the executor accepts and rejects it.
/// @dev    The header's world fields are written as the executor writes them; a step that
///         halts after writing leaves the pre-state header (`LibStep.post`).
library OpsWorld {
    /// @notice The refund counter would leave the range of a u64 (below zero never happens in
    ///         a valid trace).
    error BadRefund();

    /// @notice Runs a world opcode on `s`.
    function run(Step memory s) internal pure {
        uint256 op = s.opcode;
        address me = address(uint160(LibStep.get(s.frame, LibStep.F_ADDRESS, 20)));
        bytes32 root = bytes32(LibStep.get(s.header, LibStep.H_STATE_ROOT, 32));
        if (op == 0x55) return _sstore(s, me, root);
        LibMPT.Witness memory w = LibWorld.tries(s);
        if (op == 0x47) return LibStep.push(s, LibWorld.account(w, root, me).balance);
        if (op == 0x5c) {
            bytes32 transient = bytes32(LibStep.get(s.header, LibStep.H_TRANSIENT, 32));
            return
                LibStep.push(
                    s, LibWorld.wordAt(w, transient, LibWorld.pairKey(me, LibStep.arg(s, 0)))
                );
        }
        if (op == 0x5d) {
            bytes32 transient = bytes32(LibStep.get(s.header, LibStep.H_TRANSIENT, 32));
            bytes32 key = LibWorld.pairKey(me, LibStep.arg(s, 0));
            bytes32 next = LibMPT.set(w, transient, key, LibWorld.encodeWord(LibStep.arg(s, 1)));
            LibStep.put(s.header, LibStep.H_TRANSIENT, 32, uint256(next));
            return;
        }
        if (op == 0x54) {
            uint256 slot = LibStep.arg(s, 0);
            if (!_accessSlot(s, w, me, slot, true)) return;
            Account memory mine = LibWorld.account(w, root, me);
            return LibStep.push(s, LibWorld.storageOf(w, mine, slot));
        }
        // BALANCE, EXTCODESIZE, EXTCODEHASH: the account access, then the account.
        address who = address(uint160(LibStep.arg(s, 0)));
        if (!accessAccount(s, w, who)) return;
        Account memory a = LibWorld.account(w, root, who);
        if (op == 0x31) return LibStep.push(s, a.balance);
        if (!a.exists || LibWorld.isEmpty(a)) return LibStep.push(s, 0);
        if (op == 0x3f) return LibStep.push(s, uint256(a.codeHash));
        (, uint256 len) = LibWorld.codeOf(s, a);
        LibStep.push(s, len);
    }

    /// @notice EXTCODECOPY's opening step (§5.2, §5.5) `(address, dest, source, len)`: the
    ///         `len ≥ 2^32` halt, the account access (as BALANCE), the copy cost, then for
    ///         `len > 0` the memory expansion, the account and its code (checked against its code
    ///         hash), whose code tree becomes the source of a pending Copy (source 4).
    function extCodeCopy(Step memory s) internal pure {
        address who = address(uint160(LibStep.arg(s, 0)));
        uint256 dest = LibStep.arg(s, 1);
        uint256 len = LibStep.arg(s, 3);
        if (len > type(uint32).max) {
            s.halted = true;
            return;
        }
        LibMPT.Witness memory w = LibWorld.tries(s);
        if (!accessAccount(s, w, who)) return;
        if (!LibStep.charge(s, 3 * ((len + 31) / 32))) return;
        if (len == 0) return;
        if (!LibStep.expand(s, dest, len)) return;
        bytes32 root = bytes32(LibStep.get(s.header, LibStep.H_STATE_ROOT, 32));
        Account memory a = LibWorld.account(w, root, who);
        (uint256 at, uint256 size) = a.exists ? LibWorld.codeOf(s, a) : (0, 0);
        uint256 source = LibStep.arg(s, 2);
        bytes memory pending = abi.encodePacked(
            uint8(4),
            LibCode.root(at, size),
            uint32(size),
            uint32(source < size ? source : size),
            uint8(0),
            uint32(dest),
            uint32(len)
        );
        LibStep.put(s.header, LibStep.H_PENDING_KIND, 1, 2);
        LibStep.put(s.header, LibStep.H_PENDING_HASH, 32, uint256(keccak256(pending)));
        s.nextPc = s.pc;
    }

    /// @notice Charges the EIP-2929 account access (100 warm, 2,600 cold; the coinbase and the
    ///         precompiles warm by rule) and inserts a cold `who` into `warm_addresses`.
    /// @return ok False when the step halted (out of gas).
    function accessAccount(Step memory s, LibMPT.Witness memory w, address who)
        internal
        pure
        returns (bool ok)
    {
        uint256 b = OpsEnvironment.blockContext(s);
        address coinbase = address(uint160(LibStep.word(b + 16) >> 96));
        bytes32 key = LibWorld.addressKey(who);
        bytes32 warmRoot = bytes32(LibStep.get(s.header, LibStep.H_WARM_ADDRESSES, 32));
        bool warm = LibWorld.warmByRule(who, coinbase) || LibWorld.contains(w, warmRoot, key);
        if (!LibStep.charge(s, warm ? 100 : 2600)) return false;
        if (!warm) {
            bytes32 next = LibWorld.insert(w, warmRoot, key);
            LibStep.put(s.header, LibStep.H_WARM_ADDRESSES, 32, uint256(next));
        }
        return true;
    }

    /// @notice Warms slot `slot` of `me` (inserting it into `warm_slots` when cold); SLOAD
    ///         (`charge`) pays 100 warm, 2,100 cold before the insert.
    /// @return ok False when the step halted. For SSTORE (`charge` false): whether it was cold.
    function _accessSlot(
        Step memory s,
        LibMPT.Witness memory w,
        address me,
        uint256 slot,
        bool charge
    ) private pure returns (bool ok) {
        bytes32 key = LibWorld.pairKey(me, slot);
        bytes32 warmRoot = bytes32(LibStep.get(s.header, LibStep.H_WARM_SLOTS, 32));
        bool cold = !LibWorld.contains(w, warmRoot, key);
        if (charge && !LibStep.charge(s, cold ? 2100 : 100)) return false;
        if (cold) {
            bytes32 next = LibWorld.insert(w, warmRoot, key);
            LibStep.put(s.header, LibStep.H_WARM_SLOTS, 32, uint256(next));
        }
        return charge ? true : cold;
    }

    /// @notice SSTORE: EIP-2200 as amended by EIP-2929 and EIP-3529 (§5.3).
    function _sstore(Step memory s, address me, bytes32 root) private pure {
        if (s.gas <= 2300) {
            s.halted = true; // EIP-2200: the call stipend cannot store
            return;
        }
        bytes32 startRoot = bytes32(LibStep.word(OpsEnvironment.txContext(s) + 93));
        uint256 slot = LibStep.arg(s, 0);
        uint256 value = LibStep.arg(s, 1);
        LibMPT.Witness memory w = LibWorld.tries(s);
        Account memory mine = LibWorld.account(w, root, me);
        uint256 current = LibWorld.storageOf(w, mine, slot);
        // The original value: read as the executor reads it, against `start_state_root`;
        // the same trie (the same root, or an account with the same storage root) holds the
        // same value, read from the same nodes.
        uint256 original = current;
        if (startRoot != root) {
            Account memory start = LibWorld.account(w, startRoot, me);
            if (start.exists != mine.exists || start.storageRoot != mine.storageRoot) {
                original = LibWorld.storageOf(w, start, slot);
            }
        }
        bool cold = _accessSlot(s, w, me, slot, false);
        if (!LibStep.charge(s, sstoreCost(original, current, value, cold))) return;
        int256 refund = int256(LibStep.get(s.header, LibStep.H_REFUND, 8))
            + sstoreRefund(original, current, value);
        if (value != current) {
            bytes32 next = LibWorld.setStorage(w, root, me, mine, slot, value);
            LibStep.put(s.header, LibStep.H_STATE_ROOT, 32, uint256(next));
        }
        if (refund < 0 || refund > int256(uint256(type(uint64).max))) revert BadRefund();
        LibStep.put(s.header, LibStep.H_REFUND, 8, uint256(refund));
    }

    /// @notice SSTORE's gas: `2100·cold` + (`new = current`: 100; else `original =
    ///         current`: 20,000 if `original = 0` else 2,900; else 100) (§5.3).
    function sstoreCost(uint256 original, uint256 current, uint256 value, bool cold)
        internal
        pure
        returns (uint256 cost)
    {
        cost = cold ? 2100 : 0;
        if (value == current) cost += 100;
        else if (original == current) cost += original == 0 ? 20_000 : 2900;
        else cost += 100;
    }

    /// @notice SSTORE's change of the refund counter (EIP-3529, §5.3): clearing a slot earns
    ///         4,800; restoring the original value earns back what its first write cost beyond
    ///         a warm read.
    function sstoreRefund(uint256 original, uint256 current, uint256 value)
        internal
        pure
        returns (int256 refund)
    {
        if (value == current) return 0;
        if (original == current) {
            if (original != 0 && value == 0) refund += 4800;
            return refund;
        }
        if (original != 0) {
            if (current == 0) refund -= 4800;
            else if (value == 0) refund += 4800;
        }
        if (original == value) refund += original == 0 ? int256(19_900) : int256(2800);
    }
}

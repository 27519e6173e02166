//! Opcodes of the step machine (Cancun): stack arity, static gas and which executor family
//! handles each (spec §5.1, §5.2). Gas figures are the execution specs' Cancun constants.

/// How the one-step executor treats an opcode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// Arithmetic, comparison, bitwise: pure functions of the popped operands.
    Pure,
    /// POP, PUSH0–PUSH32, DUP1–16, SWAP1–16.
    Stack,
    /// JUMP, JUMPI, JUMPDEST, PC, GAS.
    Control,
    /// MLOAD, MSTORE, MSTORE8, MSIZE.
    Memory,
    /// Frame fields: ADDRESS, CALLER, CALLVALUE, CALLDATASIZE, CODESIZE, RETURNDATASIZE,
    /// and CALLDATALOAD.
    Frame,
    /// Instructions over unbounded data, run as an opening step and micro-steps (spec §5.5):
    /// KECCAK256, CALLDATACOPY, CODECOPY, EXTCODECOPY, RETURNDATACOPY, MCOPY, LOG0–LOG4.
    /// EXTCODECOPY's opening step also reads the world (see [`reads_world`]).
    Micro,
    /// The transaction and block contexts: ORIGIN, GASPRICE, BLOCKHASH, COINBASE, TIMESTAMP,
    /// NUMBER, PREVRANDAO, GASLIMIT, CHAINID, BASEFEE, BLOBHASH, BLOBBASEFEE.
    Context,
    /// STOP: the frame ends with success and empty output (a pending frame exit).
    Exit,
    /// The world: BALANCE, SELFBALANCE, EXTCODESIZE, EXTCODEHASH (accounts), SLOAD, SSTORE
    /// (storage), TLOAD, TSTORE (transient storage).
    World,
    /// Frame boundaries (spec §6): CALL, CALLCODE, DELEGATECALL, STATICCALL, CREATE, CREATE2
    /// (an opening step, input-copy micro-steps, the entry step), RETURN and REVERT
    /// (output-copy micro-steps), SELFDESTRUCT; each frame ends with the exit step.
    Boundary,
    /// Undefined bytes and INVALID (0xFE): an exceptional halt.
    Invalid,
}

/// Static facts about one opcode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OpInfo {
    /// Items popped.
    pub inputs: u8,
    /// Items pushed.
    pub outputs: u8,
    /// Gas charged before any dynamic cost.
    pub static_gas: u64,
    /// Who executes it.
    pub family: Family,
}

const fn op(inputs: u8, outputs: u8, static_gas: u64, family: Family) -> OpInfo {
    OpInfo { inputs, outputs, static_gas, family }
}

const INVALID: OpInfo = op(0, 0, 0, Family::Invalid);

/// The Cancun opcode table.
pub const OPCODES: [OpInfo; 256] = {
    use Family::*;
    let mut t = [INVALID; 256];
    t[0x00] = op(0, 0, 0, Exit); // STOP
    t[0x01] = op(2, 1, 3, Pure); // ADD
    t[0x02] = op(2, 1, 5, Pure); // MUL
    t[0x03] = op(2, 1, 3, Pure); // SUB
    t[0x04] = op(2, 1, 5, Pure); // DIV
    t[0x05] = op(2, 1, 5, Pure); // SDIV
    t[0x06] = op(2, 1, 5, Pure); // MOD
    t[0x07] = op(2, 1, 5, Pure); // SMOD
    t[0x08] = op(3, 1, 8, Pure); // ADDMOD
    t[0x09] = op(3, 1, 8, Pure); // MULMOD
    t[0x0a] = op(2, 1, 10, Pure); // EXP (+50 per exponent byte)
    t[0x0b] = op(2, 1, 5, Pure); // SIGNEXTEND
    let mut i = 0x10;
    while i <= 0x1d {
        // LT GT SLT SGT EQ ISZERO AND OR XOR NOT BYTE SHL SHR SAR
        t[i] = op(if i == 0x15 || i == 0x19 { 1 } else { 2 }, 1, 3, Pure);
        i += 1;
    }
    t[0x20] = op(2, 1, 30, Micro); // KECCAK256
    t[0x30] = op(0, 1, 2, Frame); // ADDRESS
    t[0x31] = op(1, 1, 0, World); // BALANCE
    t[0x32] = op(0, 1, 2, Context); // ORIGIN
    t[0x33] = op(0, 1, 2, Frame); // CALLER
    t[0x34] = op(0, 1, 2, Frame); // CALLVALUE
    t[0x35] = op(1, 1, 3, Frame); // CALLDATALOAD
    t[0x36] = op(0, 1, 2, Frame); // CALLDATASIZE
    t[0x37] = op(3, 0, 3, Micro); // CALLDATACOPY
    t[0x38] = op(0, 1, 2, Frame); // CODESIZE
    t[0x39] = op(3, 0, 3, Micro); // CODECOPY
    t[0x3a] = op(0, 1, 2, Context); // GASPRICE
    t[0x3b] = op(1, 1, 0, World); // EXTCODESIZE
    t[0x3c] = op(4, 0, 0, Micro); // EXTCODECOPY (+ the EIP-2929 account access)
    t[0x3d] = op(0, 1, 2, Frame); // RETURNDATASIZE
    t[0x3e] = op(3, 0, 3, Micro); // RETURNDATACOPY
    t[0x3f] = op(1, 1, 0, World); // EXTCODEHASH
    t[0x40] = op(1, 1, 20, Context); // BLOCKHASH
    let mut i = 0x41;
    while i <= 0x4a {
        // COINBASE TIMESTAMP NUMBER PREVRANDAO GASLIMIT CHAINID BASEFEE BLOBBASEFEE
        t[i] = op(0, 1, 2, Context);
        i += 1;
    }
    t[0x47] = op(0, 1, 5, World); // SELFBALANCE (EIP-1884)
    t[0x49] = op(1, 1, 3, Context); // BLOBHASH (EIP-4844)
    t[0x50] = op(1, 0, 2, Stack); // POP
    t[0x51] = op(1, 1, 3, Memory); // MLOAD
    t[0x52] = op(2, 0, 3, Memory); // MSTORE
    t[0x53] = op(2, 0, 3, Memory); // MSTORE8
    t[0x54] = op(1, 1, 0, World); // SLOAD
    t[0x55] = op(2, 0, 0, World); // SSTORE
    t[0x56] = op(1, 0, 8, Control); // JUMP
    t[0x57] = op(2, 0, 10, Control); // JUMPI
    t[0x58] = op(0, 1, 2, Control); // PC
    t[0x59] = op(0, 1, 2, Memory); // MSIZE
    t[0x5a] = op(0, 1, 2, Control); // GAS
    t[0x5b] = op(0, 0, 1, Control); // JUMPDEST
    t[0x5c] = op(1, 1, 100, World); // TLOAD
    t[0x5d] = op(2, 0, 100, World); // TSTORE
    t[0x5e] = op(3, 0, 3, Micro); // MCOPY
    t[0x5f] = op(0, 1, 2, Stack); // PUSH0
    let mut i = 0x60;
    while i <= 0x7f {
        t[i] = op(0, 1, 3, Stack); // PUSH1..PUSH32
        i += 1;
    }
    let mut n = 1;
    while n <= 16 {
        t[0x7f + n] = op(n as u8, n as u8 + 1, 3, Stack); // DUPn
        t[0x8f + n] = op(n as u8 + 1, n as u8 + 1, 3, Stack); // SWAPn
        n += 1;
    }
    let mut n = 0;
    while n <= 4 {
        t[0xa0 + n] = op(2 + n as u8, 0, 375, Micro); // LOGn
        n += 1;
    }
    t[0xf0] = op(3, 1, 32_000, Boundary); // CREATE
    t[0xf1] = op(7, 1, 100, Boundary); // CALL (warm access; the rest is dynamic)
    t[0xf2] = op(7, 1, 100, Boundary); // CALLCODE
    t[0xf3] = op(2, 0, 0, Boundary); // RETURN
    t[0xf4] = op(6, 1, 100, Boundary); // DELEGATECALL
    t[0xf5] = op(4, 1, 32_000, Boundary); // CREATE2
    t[0xfa] = op(6, 1, 100, Boundary); // STATICCALL
    t[0xfd] = op(2, 0, 0, Boundary); // REVERT
    t[0xff] = op(1, 0, 5_000, Boundary); // SELFDESTRUCT
    t
};

/// Whether a step of `opcode` reads the world (accounts, storage, warm sets, transient
/// storage; spec §2.4): the [`Family::World`] opcodes, EXTCODECOPY, whose opening step
/// accesses an account and reads its code (spec §5.2), and the calls and SELFDESTRUCT, which
/// access an account (spec §6).
pub const fn reads_world(opcode: u8) -> bool {
    matches!(OPCODES[opcode as usize].family, Family::World)
        || matches!(opcode, 0x3c | 0xf0 | 0xf1 | 0xf2 | 0xf4 | 0xf5 | 0xfa | 0xff)
}

/// Immediate bytes of a PUSHn (0 for every other opcode).
pub(crate) const fn immediate_len(opcode: u8) -> usize {
    if opcode >= 0x60 && opcode <= 0x7f { (opcode - 0x5f) as usize } else { 0 }
}

/// The memory region `(offset, len)` in bytes that an in-frame instruction writes, from its
/// operands (`stack` bottom first, top last); `None` for instructions that write no memory.
/// Offsets and lengths past 2^64 are clamped to `u64::MAX` (such a step runs out of gas).
/// CALL's return window is written when the caller resumes, not by the CALL step: callers
/// that need it add it.
#[inline]
pub(crate) fn memory_write(opcode: u8, stack: &[alloy_primitives::U256]) -> Option<(u64, u64)> {
    let arg = |k: usize| {
        let value = *stack.get(stack.len().checked_sub(1 + k)?)?;
        Some(u64::try_from(value).unwrap_or(u64::MAX))
    };
    match opcode {
        0x52 => Some((arg(0)?, 32)),
        0x53 => Some((arg(0)?, 1)),
        0x37 | 0x39 | 0x3e | 0x5e => Some((arg(0)?, arg(2)?)),
        0x3c => Some((arg(1)?, arg(3)?)),
        _ => None,
    }
}

/// The memory cost of `words` 32-byte words: `3·a + a²/512` gas (Yellow Paper eq. 326).
pub const fn memory_cost(words: u64) -> u64 {
    3 * words + words * words / 512
}

#[cfg(test)]
mod tests {
    use super::*;
    use revm::bytecode::opcode::OPCODE_INFO;

    /// Our table's stack arity matches revm's for every opcode both define, and we define
    /// exactly the Cancun set (revm's table also holds later forks' opcodes).
    #[test]
    fn arity_matches_revm() {
        let mut later = Vec::new();
        for byte in 0..=255u8 {
            let ours = OPCODES[byte as usize];
            let Some(theirs) = OPCODE_INFO[byte as usize] else {
                assert_eq!(ours.family, Family::Invalid, "0x{byte:02x} is not an opcode");
                continue;
            };
            if ours.family == Family::Invalid {
                // Defined by revm for a later fork (e.g. CLZ, DUPN): undefined in Cancun.
                later.push(theirs.name());
                continue;
            }
            assert_eq!(ours.inputs, theirs.inputs(), "inputs of {}", theirs.name());
            assert_eq!(ours.outputs, theirs.outputs(), "outputs of {}", theirs.name());
        }
        // Opcodes of later forks (Osaka's CLZ; Amsterdam's SLOTNUM, DUPN, SWAPN, EXCHANGE) and
        // INVALID (0xFE), which halts like any undefined byte.
        assert_eq!(later, ["CLZ", "SLOTNUM", "DUPN", "SWAPN", "EXCHANGE", "INVALID"]);
    }
}

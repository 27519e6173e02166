// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TestBase} from "./lib/TestBase.sol";
import {StepVerifier} from "../src/verifier/StepVerifier.sol";
import {StepCore} from "../src/verifier/StepCore.sol";
import {WorldVerifier} from "../src/verifier/WorldVerifier.sol";
import {MicroVerifier} from "../src/verifier/MicroVerifier.sol";
import {OpsMicro} from "../src/verifier/OpsMicro.sol";
import {LibStep} from "../src/verifier/LibStep.sol";

/// @notice LibStep's primitives behind external calls.
contract LibStepHarness {
    function root(bytes32 leaf, uint256 index, bytes calldata siblings, uint256 depth)
        external
        pure
        returns (bytes32)
    {
        uint256 at;
        assembly ("memory-safe") {
            at := siblings.offset
        }
        return LibStep.root(leaf, index, at, depth);
    }

    function putGet(bytes32 a, bytes32 b, uint256 off, uint256 width, uint256 value)
        external
        pure
        returns (bytes32, bytes32, uint256)
    {
        bytes memory buf = abi.encodePacked(a, b);
        uint256 ptr;
        assembly ("memory-safe") {
            ptr := add(buf, 32)
        }
        LibStep.put(ptr, off, width, value);
        return (
            bytes32(LibStep.get(ptr, 0, 32)),
            bytes32(LibStep.get(ptr, 32, 32)),
            LibStep.get(ptr, off, width)
        );
    }
}

/// @notice The verifier's core on hand-built witnesses (docs/spec/verifier-abi.md): the
///         constants, the final-state rule, STOP past the code's end, the rejections of a
///         wrong pre-state, version or length, the frameless and pending states; and LibStep's
///         primitives against reference implementations. The opcode families are tested
///         against the Rust executor by tests/it/verifier.rs (every step of random programs and
///         of state tests, with mutations).
contract StepVerifierTest is TestBase {
    StepVerifier internal verifier;
    LibStepHarness internal lib;

    function setUp() public {
        verifier = new StepVerifier(address(new WorldVerifier()), address(new MicroVerifier()));
        lib = new LibStepHarness();
    }

    function _emptyWordRoot() internal pure returns (bytes32 z) {
        for (uint256 k = 0; k < 22; ++k) {
            z = keccak256(abi.encodePacked(z, z));
        }
    }

    /// A frame at `pc` past its empty code with `gas` and an empty stack.
    function _frame(uint32 pc, uint64 gas) internal pure returns (bytes memory) {
        bytes32 z = _emptyWordRoot();
        bytes memory head = abi.encodePacked(
            uint8(6),
            uint8(0),
            address(0xc0de),
            address(0xf00d),
            uint256(0),
            bytes32(0),
            uint32(0),
            keccak256(""),
            pc,
            gas
        );
        bytes memory tail = abi.encodePacked(
            uint16(0),
            bytes32(0),
            uint32(0),
            z,
            uint32(0),
            z,
            uint32(0),
            z,
            uint32(0),
            uint32(0),
            bytes32(uint256(7))
        );
        return bytes.concat(head, tail);
    }

    function _header(uint8 status, uint8 pendingKind, bytes32 pendingHash, bytes32 frameHash)
        internal
        pure
        returns (bytes memory)
    {
        bytes memory head = abi.encodePacked(
            uint8(1),
            uint8(4),
            status,
            pendingKind,
            pendingHash,
            bytes32(uint256(1)),
            bytes32(uint256(2)),
            bytes32(uint256(3)),
            bytes32(uint256(4)),
            bytes32(uint256(5)),
            bytes32(uint256(6))
        );
        bytes memory tail = abi.encodePacked(
            bytes32(uint256(8)),
            uint64(9),
            uint32(10),
            bytes32(uint256(11)),
            frameHash,
            uint16(0),
            bytes32(0),
            bytes32(uint256(12))
        );
        return bytes.concat(head, tail);
    }

    /// The witness `version ‖ header ‖ frame ‖ sections` with the stack section `0^32` and
    /// the callers' rest.
    function _witness(bytes memory header, bytes memory frame)
        internal
        pure
        returns (bytes memory w)
    {
        w = abi.encodePacked(uint8(1), header, frame, uint32(0), uint32(32), bytes32(0));
        for (uint256 k = 2; k < 20; ++k) {
            w = k == 14
                ? abi.encodePacked(w, uint32(32), bytes32(0))
                : abi.encodePacked(w, uint32(0));
        }
    }

    function test_constants() public pure {
        bytes32 z = _emptyWordRoot();
        assertEq(LibStep.EMPTY_WORD_ROOT, z, "Z_22");
        assertEq(
            LibStep.EXIT_STOP, keccak256(abi.encodePacked(uint8(1), uint32(0), z)), "stop exit"
        );
        assertEq(
            LibStep.EXIT_HALT, keccak256(abi.encodePacked(uint8(0), uint32(0), z)), "halt exit"
        );
    }

    function test_stopPastTheCodeEnd() public view {
        bytes memory frame = _frame(5, 1000);
        bytes memory header = _header(0, 0, 0, keccak256(frame));
        bytes32 pre = keccak256(header);
        bytes32 post = verifier.step(pre, _witness(header, frame));
        assertEq(
            post,
            keccak256(_header(0, 17, LibStep.EXIT_STOP, keccak256(frame))),
            "STOP's post-state"
        );
    }

    function test_finalStateStepsToItself() public view {
        bytes memory frame = _frame(5, 1000);
        for (uint8 status = 1; status <= 3; ++status) {
            bytes memory header = _header(status, 21, bytes32(uint256(1)), 0);
            bytes32 pre = keccak256(header);
            assertEq(verifier.step(pre, _witness(header, frame)), pre, "final");
        }
    }

    function test_rejections() public {
        bytes memory frame = _frame(5, 1000);
        bytes memory header = _header(0, 0, 0, keccak256(frame));
        bytes memory w = _witness(header, frame);
        bytes32 pre = keccak256(header);

        vm.expectRevert(LibStep.BadPreState.selector);
        verifier.step(bytes32(uint256(pre) ^ 1), w);

        vm.expectRevert(LibStep.MalformedWitness.selector);
        verifier.step(pre, bytes.concat(w, hex"00"));

        bytes memory v2 = bytes.concat(w);
        v2[0] = 0x02;
        vm.expectRevert(LibStep.MalformedWitness.selector);
        verifier.step(pre, v2);

        // A frame that does not hash to the header's frame hash.
        vm.expectRevert(LibStep.BadFrame.selector);
        verifier.step(pre, _witness(header, _frame(5, 999)));

        // A status byte out of range.
        bytes memory bad = _header(4, 0, 0, keccak256(frame));
        vm.expectRevert(LibStep.BadPreState.selector);
        verifier.step(keccak256(bad), _witness(bad, frame));
    }

    function test_unsupportedAndFrameless() public {
        bytes memory frame = _frame(5, 1000);
        bytes memory begin = _header(0, 16, bytes32(uint256(1)), 0);
        vm.expectRevert(abi.encodeWithSelector(StepCore.Unsupported.selector, uint8(16), uint8(0)));
        verifier.step(keccak256(begin), _witness(begin, frame));

        bytes memory stray = _header(0, 0, 0, 0);
        vm.expectRevert(StepCore.OutsideFrame.selector);
        verifier.step(keccak256(stray), _witness(stray, frame));

        // A keccak micro-step without its pending section: forwarded to `MicroVerifier`.
        bytes memory keccakPending = _header(0, 1, bytes32(uint256(1)), keccak256(frame));
        vm.expectRevert(OpsMicro.BadPending.selector);
        verifier.step(keccak256(keccakPending), _witness(keccakPending, frame));

        // A call between its opening and its entry (§6.1): not implemented yet.
        bytes memory callPending = _header(0, 18, bytes32(uint256(1)), keccak256(frame));
        vm.expectRevert(abi.encodeWithSelector(StepCore.Unsupported.selector, uint8(18), uint8(0)));
        verifier.step(keccak256(callPending), _witness(callPending, frame));

        vm.expectRevert(abi.encodeWithSelector(StepCore.Unsupported.selector, uint8(16), uint8(0)));
        verifier.lowerPrestate(0, 0, 0);
    }

    /// `LibStep.root` against a plain Solidity fold.
    function testFuzz_rootMatchesAReference(bytes32 leaf, uint256 index, bytes32 seed, uint8 depth)
        public
        view
    {
        uint256 d = depth % 23;
        index = index % (1 << d);
        bytes memory siblings;
        bytes32 node = leaf;
        for (uint256 k = 0; k < d; ++k) {
            bytes32 sibling = keccak256(abi.encodePacked(seed, k));
            siblings = bytes.concat(siblings, sibling);
            node = (index >> k) & 1 == 0
                ? keccak256(abi.encodePacked(node, sibling))
                : keccak256(abi.encodePacked(sibling, node));
        }
        assertEq(lib.root(leaf, index, siblings, d), node, "root");
    }

    /// `put` writes exactly the field's bytes; `get` reads them back.
    function testFuzz_putKeepsTheNeighbours(
        bytes32 a,
        bytes32 b,
        uint256 off,
        uint256 width,
        uint256 value
    ) public view {
        width = 1 + width % 32;
        off = off % (64 - width + 1);
        value = width == 32 ? value : value % (1 << (8 * width));
        (bytes32 x, bytes32 y, uint256 got) = lib.putGet(a, b, off, width, value);
        assertEq(got, value, "read back");
        bytes memory before = abi.encodePacked(a, b);
        bytes memory afterwards = abi.encodePacked(x, y);
        for (uint256 i = 0; i < 64; ++i) {
            if (i < off || i >= off + width) {
                assertTrue(before[i] == afterwards[i], "a neighbour changed");
            }
        }
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {DisputeGame} from "./DisputeGame.sol";
import {DisputeGameFactory} from "./DisputeGameFactory.sol";
import {Claim, GameStatus} from "./lib/Types.sol";

/// @title  Proposals
/// @notice Where proposers post L2 batches and the output roots they claim, and where those
///         claims become final. A proposal builds on a parent proposal (the genesis, id 0, is
///         final from the start), carries its batch as calldata (its keccak256 is stored, so the
///         batch can be rebuilt from L1 alone) and is bonded with the game's root bond. During
///         the challenge window anyone can open the dispute game against it; after the window
///         an unchallenged proposal, or one whose game the defender won, becomes final once its
///         parent is. A proposal whose game the challenger won is invalidated, and so is every
///         proposal built on an invalidated one.
/// @dev    Bonds: an unchallenged proposal's bond returns to its proposer at finalization; a
///         challenged proposal's bond is the game's root bond and goes where the game says; a
///         proposal invalidated because its parent fell gets its bond back (no game judged it).
///         Payments are pulled with `withdraw`.
contract Proposals {
    /// @notice A proposal's life: posted (`PENDING`), under a game (`CHALLENGED`), final
    ///         (`FINALIZED`) or rejected (`INVALIDATED`).
    enum State {
        PENDING,
        CHALLENGED,
        FINALIZED,
        INVALIDATED
    }

    /// @notice A proposal.
    /// @param proposer   Who posted it.
    /// @param parent     The proposal it builds on (its output root is this one's anchor).
    /// @param postedAt   When it was posted, in seconds.
    /// @param state      Its state.
    /// @param game       Its dispute game (zero until challenged).
    /// @param batchHash  keccak256 of its batch bytes.
    /// @param outputRoot The output root claimed after the batch.
    /// @param bond       Its bond, in wei.
    struct Proposal {
        address proposer;
        uint64 parent;
        uint64 postedAt;
        State state;
        DisputeGame game;
        bytes32 batchHash;
        Claim outputRoot;
        uint256 bond;
    }

    /// @notice The factory games are opened with.
    DisputeGameFactory public immutable FACTORY;
    /// @notice The challenge window, in seconds.
    uint64 public immutable CHALLENGE_WINDOW;

    Proposal[] internal _proposals;
    /// @notice Wei each address can withdraw.
    mapping(address account => uint256 amount) public balanceOf;

    /// @notice No proposal with this id.
    error UnknownProposal(uint256 id);
    /// @notice A proposal must send exactly the game's root bond, in wei.
    error WrongProposalBond(uint256 expected, uint256 paid);
    /// @notice A proposal cannot build on an invalidated proposal.
    error ParentInvalidated(uint256 parent);
    /// @notice The challenge window of proposal `id` closed at `deadline` (seconds).
    error ChallengeWindowClosed(uint256 id, uint64 deadline);
    /// @notice The challenge window of proposal `id` is open until `deadline` (seconds).
    error ChallengeWindowOpen(uint256 id, uint64 deadline);
    /// @notice The action needs proposal `id` in another state; it is in `state`.
    error WrongState(uint256 id, State state);
    /// @notice Proposal `id` cannot be final before its parent.
    error ParentNotFinalized(uint256 id, uint256 parent);
    /// @notice The game of proposal `id` has status `status`, not the one the action needs.
    error GameUndecided(uint256 id, GameStatus status);
    /// @notice Nothing stands against proposal `id`: its game was not won by the challenger and
    ///         its parent is not invalidated.
    error NotInvalid(uint256 id);
    /// @notice Nothing to withdraw.
    error NothingToWithdraw(address account);
    /// @notice Paying `amount` wei to `account` failed.
    error WithdrawFailed(address account, uint256 amount);

    /// @notice Proposal `id` was posted; its batch is the calldata of this transaction.
    event Proposed(
        uint256 indexed id,
        uint256 indexed parent,
        address indexed proposer,
        bytes32 batchHash,
        Claim outputRoot,
        uint256 bond,
        uint64 deadline
    );
    /// @notice `challenger` opened `game` against proposal `id`.
    event Challenged(uint256 indexed id, DisputeGame indexed game, address indexed challenger);
    /// @notice Proposal `id` is final.
    event Finalized(uint256 indexed id, Claim outputRoot);
    /// @notice Proposal `id` is invalidated: by its game (`byGame`) or because its parent fell.
    event Invalidated(uint256 indexed id, bool byGame);
    /// @notice `account` withdrew `amount` wei.
    event Withdrawn(address indexed account, uint256 amount);

    /// @notice Proposals decided by `factory`'s games, with a challenge window of
    ///         `challengeWindow` seconds, from the final state `genesisOutputRoot` (proposal 0).
    constructor(DisputeGameFactory factory, uint64 challengeWindow, Claim genesisOutputRoot) {
        FACTORY = factory;
        CHALLENGE_WINDOW = challengeWindow;
        _proposals.push(
            Proposal({
                proposer: address(0),
                parent: 0,
                postedAt: uint64(block.timestamp),
                state: State.FINALIZED,
                game: DisputeGame(address(0)),
                batchHash: bytes32(0),
                outputRoot: genesisOutputRoot,
                bond: 0
            })
        );
        emit Finalized(0, genesisOutputRoot);
    }

    /// @notice The number of proposals, the genesis included.
    function proposalCount() external view returns (uint256) {
        return _proposals.length;
    }

    /// @notice Proposal `id`. Reverts `UnknownProposal`.
    function proposal(uint256 id) external view returns (Proposal memory) {
        return _get(id);
    }

    /// @notice The bond a proposal needs, in wei: the games' root bond.
    function proposalBond() public view returns (uint256) {
        return FACTORY.rootBond();
    }

    /// @notice When proposal `id`'s challenge window closes, in seconds.
    function deadline(uint256 id) public view returns (uint64) {
        return _get(id).postedAt + CHALLENGE_WINDOW;
    }

    /// @notice Posts `batch` (an L2 batch, kept as calldata) and the output root it leads to
    ///         from proposal `parent`'s, bonded with exactly `proposalBond()` wei.
    ///         Reverts `UnknownProposal`, `ParentInvalidated`, `WrongProposalBond`.
    /// @return id The new proposal's id.
    function propose(uint256 parent, bytes calldata batch, Claim outputRoot)
        external
        payable
        returns (uint256 id)
    {
        Proposal storage p = _get(parent);
        if (p.state == State.INVALIDATED) revert ParentInvalidated(parent);
        uint256 expected = proposalBond();
        if (msg.value != expected) revert WrongProposalBond(expected, msg.value);
        id = _proposals.length;
        bytes32 batchHash = keccak256(batch);
        _proposals.push(
            Proposal({
                proposer: msg.sender,
                parent: uint64(parent),
                postedAt: uint64(block.timestamp),
                state: State.PENDING,
                game: DisputeGame(address(0)),
                batchHash: batchHash,
                outputRoot: outputRoot,
                bond: msg.value
            })
        );
        emit Proposed(
            id,
            parent,
            msg.sender,
            batchHash,
            outputRoot,
            msg.value,
            uint64(block.timestamp) + CHALLENGE_WINDOW
        );
    }

    /// @notice Opens the dispute game against proposal `id` within its challenge window: the
    ///         root claim is the proposal's output root, the proposer's, bonded with the
    ///         proposal's bond; the anchor is the parent's output root. One game per proposal;
    ///         anyone may then play in it. Reverts `UnknownProposal`, `WrongState` (not
    ///         pending), `ChallengeWindowClosed`.
    /// @return game The game.
    function challenge(uint256 id) external returns (DisputeGame game) {
        Proposal storage p = _get(id);
        if (p.state != State.PENDING) revert WrongState(id, p.state);
        uint64 closes = p.postedAt + CHALLENGE_WINDOW;
        if (block.timestamp >= closes) revert ChallengeWindowClosed(id, closes);
        bytes32 anchor = Claim.unwrap(_proposals[p.parent].outputRoot);
        p.state = State.CHALLENGED;
        game = FACTORY.create{value: p.bond}(p.outputRoot, anchor, p.batchHash, p.proposer);
        p.game = game;
        emit Challenged(id, game, msg.sender);
    }

    /// @notice Makes proposal `id` final once its parent is: an unchallenged proposal after its
    ///         window (its bond is credited back to the proposer), a challenged one once its game
    ///         resolved with the defender winning. Reverts `UnknownProposal`, `WrongState`,
    ///         `ParentNotFinalized`, `ChallengeWindowOpen`, `GameUndecided`.
    function finalize(uint256 id) external {
        Proposal storage p = _get(id);
        if (p.state != State.PENDING && p.state != State.CHALLENGED) {
            revert WrongState(id, p.state);
        }
        if (_proposals[p.parent].state != State.FINALIZED) revert ParentNotFinalized(id, p.parent);
        if (p.state == State.PENDING) {
            uint64 closes = p.postedAt + CHALLENGE_WINDOW;
            if (block.timestamp < closes) revert ChallengeWindowOpen(id, closes);
            balanceOf[p.proposer] += p.bond;
        } else {
            GameStatus result = p.game.status();
            if (result != GameStatus.DEFENDER_WINS) revert GameUndecided(id, result);
        }
        p.state = State.FINALIZED;
        emit Finalized(id, p.outputRoot);
    }

    /// @notice Invalidates proposal `id`: when the challenger won its game, or when its parent
    ///         is invalidated (then an unchallenged proposal's bond is credited back to its
    ///         proposer; a challenged one's stays with its game). Permissionless, so a fallen
    ///         proposal's descendants are invalidated one call each. Reverts
    ///         `UnknownProposal`, `WrongState`, `NotInvalid`.
    function invalidate(uint256 id) external {
        Proposal storage p = _get(id);
        if (p.state != State.PENDING && p.state != State.CHALLENGED) {
            revert WrongState(id, p.state);
        }
        bool byGame = p.state == State.CHALLENGED && p.game.status() == GameStatus.CHALLENGER_WINS;
        if (!byGame) {
            if (_proposals[p.parent].state != State.INVALIDATED) revert NotInvalid(id);
            if (p.state == State.PENDING) balanceOf[p.proposer] += p.bond;
        }
        p.state = State.INVALIDATED;
        emit Invalidated(id, byGame);
    }

    /// @notice Pays the caller's balance (returned proposal bonds), in wei. Reverts
    ///         `NothingToWithdraw`, `WithdrawFailed`.
    function withdraw() external {
        uint256 amount = balanceOf[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        balanceOf[msg.sender] = 0;
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert WithdrawFailed(msg.sender, amount);
        emit Withdrawn(msg.sender, amount);
    }

    function _get(uint256 id) internal view returns (Proposal storage) {
        if (id >= _proposals.length) revert UnknownProposal(id);
        return _proposals[id];
    }
}

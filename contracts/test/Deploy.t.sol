// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TestBase} from "./lib/TestBase.sol";
import {Deploy} from "../script/Deploy.s.sol";
import {DisputeGameFactory} from "../src/DisputeGameFactory.sol";
import {Proposals} from "../src/Proposals.sol";
import {Claim, GameParams} from "../src/lib/Types.sol";
import {IStepVerifier} from "../src/interfaces/IStepVerifier.sol";
import {InvalidParams} from "../src/lib/Errors.sol";

contract DeployTest is TestBase {
    function _config() internal pure returns (Deploy.Config memory c) {
        c.params = GameParams(73, 30, 302_400, 10_800, 21_600, 97_200, 8e16, 10_949);
        c.verifier = IStepVerifier(address(0x7E5));
        c.challengeWindow = 604_800;
        c.genesisOutputRoot = Claim.wrap(keccak256("genesis"));
    }

    function test_deploysTheSystem() public {
        Deploy script = new Deploy();
        (DisputeGameFactory factory, Proposals proposals) = script.deploy(_config());
        assertEq(address(factory.VERIFIER()), address(0x7E5), "verifier");
        assertEq(factory.params().maxDepth, 73, "max depth");
        assertEq(factory.rootBond(), 8e16, "root bond");
        assertEq(address(proposals.FACTORY()), address(factory), "factory");
        assertEq(proposals.CHALLENGE_WINDOW(), 604_800, "window");
        assertEq(Claim.unwrap(proposals.proposal(0).outputRoot), keccak256("genesis"), "genesis");
    }

    function test_rejectsInvalidParameters() public {
        Deploy script = new Deploy();
        Deploy.Config memory c = _config();
        c.params.splitDepth = 73;
        vm.expectRevert(
            abi.encodeWithSelector(InvalidParams.selector, "need 1 <= split_depth < max_depth")
        );
        script.deploy(c);
    }
}

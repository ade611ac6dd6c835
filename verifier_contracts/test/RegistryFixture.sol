// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {MarginRegistry} from "../MarginRegistry.sol";
import {ForgeBase} from "./utils/ForgeBase.sol";
import {RegistryHandler} from "./RegistryHandler.sol";

/// @title RegistryFixture
/// @notice A MarginRegistry v3 after a real genesis, for the forge tests: N = 4 accounts per
///         group, 2 groups, 2 assets (two MockPriceFeeds at 8 decimals), no options, maxAge 64
///         blocks, keeperStall 20 blocks; the handler is venue, keeper, guardian and the
///         timelock's proposer and executor; the genesis state holds the close of day 20000
///         and the clock starts at 01:00 UTC of day 20001 (no step possible before day 20002).
///         Genesis ends with finalizeGenesis to an OpenZeppelin TimelockController (1 day).
abstract contract RegistryFixture is ForgeBase {
    uint64 internal constant GENESIS_DAY = 20000;
    uint256 internal constant GROUPS = 2;
    uint256 internal constant N = 4;
    uint256 internal constant DELAY = 86400;
    uint64 internal constant MAX_AGE = 64;
    uint32 internal constant KEEPER_STALL = 20;
    bytes4 internal constant MARGIN_SEL =
        bytes4(keccak256("verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[5])"));

    MarginRegistry internal reg;
    RegistryHandler internal handler;
    TimelockController internal timelock;
    address[] internal owners;

    function _deploy() internal {
        vm.warp(uint256(GENESIS_DAY + 1) * 86400 + 3600);
        vm.roll(1000);
        reg = new MarginRegistry(N, 2, 0, MAX_AGE, 3 * 86400, 86400, KEEPER_STALL);
        handler = new RegistryHandler(reg, address(this));
        address[] memory gov = new address[](1);
        gov[0] = address(handler);
        timelock = new TimelockController(DELAY, gov, gov, address(0));
        reg.grantRole(reg.VENUE_ROLE(), address(handler));
        reg.grantRole(reg.KEEPER_ROLE(), address(handler));
        reg.grantRole(reg.GUARDIAN_ROLE(), address(handler));
        reg.setParamHash(uint256(keccak256("params")) >> 8);
        reg.setModelState(uint256(keccak256("genesis")) >> 8, GENESIS_DAY);
        reg.setModelVerifiers(address(handler.verifier()), address(handler.verifier()), address(0));
        reg.setMarginVerifier(address(handler.verifier()));
        reg.setPriceFeeds(handler.feedAddresses());
        for (uint256 leaf = 0; leaf < N * GROUPS; ++leaf) {
            address owner = address(uint160(0xA000 + leaf));
            vm.prank(address(handler));
            reg.registerAccount(owner, uint32(leaf));
            owners.push(owner);
        }
        reg.finalizeGenesis(address(timelock));
        handler.start(timelock);
    }
}

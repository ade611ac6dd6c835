// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {MarginRegistry} from "../MarginRegistry.sol";
import {MockPriceFeed} from "../MockPriceFeed.sol";
import {Groth16Call} from "../Groth16Call.sol";
import {RegistryFixture} from "./RegistryFixture.sol";
import {bound} from "./utils/ForgeBase.sol";

/// @title MarginRegistryFuzz
/// @notice forge fuzz tests of the bad-input custom errors (issue 13 "Bad input"), each with
///         its pass case at the boundary, and a fixed walk through the handler showing that
///         every kind of action the invariant runs rely on can land.
contract MarginRegistryFuzz is RegistryFixture {
    uint256 internal constant PRICE_BOUND = uint256(1) << 48; // micro-USD, exclusive

    function setUp() public {
        _deploy();
    }

    // ---------------------------------------------------------------- helpers

    /// @dev Publish `answer` (8 decimals) on feed `i` now.
    function _round(uint256 i, int256 answer) internal {
        MockPriceFeed f = handler.feeds(i);
        vm.prank(address(handler));
        f.setRoundData(answer, block.timestamp);
    }

    /// @dev Move to 00:01 UTC of the day after the next close (a step is due) plus a block.
    function _toStepTime() internal {
        vm.warp(reg.stepBoundary() + 60);
        vm.roll(block.number + 1);
    }

    /// @dev One landed daily step at normal prices; returns the rounds it used.
    function _step() internal returns (uint80[] memory rounds) {
        uint64 dayBefore = reg.day();
        _toStepTime();
        _round(0, 50_000e8);
        _round(1, 3_000e8);
        handler.step(0, 0, 0, 0, false);
        _check(reg.day() == dayBefore + 1, "step did not land");
        rounds = new uint80[](2);
        rounds[0] = handler.feeds(0).latestRound();
        rounds[1] = handler.feeds(1).latestRound();
    }

    function _anyProof() internal pure returns (Groth16Call.Proof memory p) {
        p.a = [uint256(1), 2];
    }

    // ---------------------------------------------------------------- the handler can land everything

    /// @notice A fixed walk: step, root, batch (tier 0 everywhere: withdrawals open), a
    ///         stranger's batch after the keeper stall, an early and a timely timelock execution.
    function test_handlerLandsEveryKind() public {
        _step();
        handler.postRoot();
        handler.margin(0, 0, 0, 0, false);
        _check(handler.batches() == 1, "batch did not land");
        _check(reg.canWithdraw(owners[0]) && reg.canIncreaseRisk(owners[0]), "tier 0 cannot withdraw");
        vm.roll(block.number + KEEPER_STALL);
        handler.margin(1, 0xff, 0, 0, true); // tiers 3,3,3,3 for group 1
        _check(handler.strangerSubmissions() == 1, "stranger batch after the stall did not land");
        _check(reg.isLiquidatable(owners[N]) && !reg.canWithdraw(owners[N]), "tier 3 gating");
        handler.govSchedule(0, 100); // setMaxAge(100)
        vm.warp(block.timestamp + DELAY - 1);
        handler.govExecute(0);
        _check(handler.govRefused() == 1 && reg.maxAge() == MAX_AGE, "executed before the delay");
        vm.warp(block.timestamp + 1);
        handler.govExecute(0);
        _check(handler.govExecuted() == 1 && reg.maxAge() == 100, "not executed after the delay");
        _check(handler.violations() == 0, handler.lastViolation());
    }

    // ---------------------------------------------------------------- bad input: price bound

    /// @notice A close at or above 2**48 micro-USD: PriceOutOfRange(asset, answer).
    function testFuzz_priceAtOrAboveBound(uint256 answer) public {
        answer = bound(answer, PRICE_BOUND * 100, uint256(type(int256).max));
        _toStepTime();
        _round(0, int256(answer));
        _round(1, 3_000e8);
        uint80[] memory rounds = new uint80[](2);
        (rounds[0], rounds[1]) = (handler.feeds(0).latestRound(), handler.feeds(1).latestRound());
        vm.expectRevert(abi.encodeWithSelector(MarginRegistry.MarginRegistry__PriceOutOfRange.selector, 0, int256(answer)));
        vm.prank(address(handler));
        reg.submitModelStep(_anyProof(), block.number, rounds, 1, 1);
    }

    /// @notice The largest price below the bound (2**48 - 1 micro-USD, any sub-micro digits) steps.
    function testFuzz_priceJustBelowBoundSteps(uint8 subMicro) public {
        _toStepTime();
        _round(0, int256((PRICE_BOUND - 1) * 100 + (subMicro % 100)));
        _round(1, 3_000e8);
        uint64 dayBefore = reg.day();
        handler.step(0, 0, 0, 0, false);
        _check(reg.day() == dayBefore + 1, "price 2**48 - 1 refused");
    }

    // ---------------------------------------------------------------- bad input: batch shape

    /// @notice A margin batch whose packed N is not groupSize: WrongShape(n, groupSize).
    function testFuzz_wrongShape(uint8 n, uint8 tiers) public {
        vm.assume(n != N);
        _step();
        handler.postRoot();
        uint256 packed = handler.packResult(0, n, tiers);
        uint32 version = reg.modelVersion();
        vm.expectRevert(abi.encodeWithSelector(MarginRegistry.MarginRegistry__WrongShape.selector, uint256(n), N));
        vm.prank(address(handler));
        reg.submitMarginBatch(_anyProof(), block.number, version, 0, packed);
    }

    // ---------------------------------------------------------------- bad input: old round

    /// @notice A step naming a round older than the one the last step used: RoundTooOld.
    function testFuzz_oldRound(uint256 seed) public {
        _round(0, 49_000e8); // rounds before the first boundary, so the step's rounds are > 1
        _round(1, 2_900e8);
        uint80[] memory used = _step();
        _toStepTime();
        _round(0, 51_000e8);
        _round(1, 3_100e8);
        uint80[] memory rounds = new uint80[](2);
        rounds[0] = uint80(bound(seed, 1, used[0] - 1));
        rounds[1] = handler.feeds(1).latestRound();
        vm.expectRevert(abi.encodeWithSelector(
            MarginRegistry.MarginRegistry__RoundTooOld.selector, 0, rounds[0], used[0]));
        vm.prank(address(handler));
        reg.submitModelStep(_anyProof(), block.number, rounds, 1, 1);
    }

    // ---------------------------------------------------------------- bad input: outside the timelock

    /// @notice After genesis, any direct admin call (even by the former admin or the timelock's
    ///         proposer) reverts with OpenZeppelin's AccessControlUnauthorizedAccount.
    function testFuzz_adminOutsideTimelock(address caller, uint64 blocks, uint256 hash) public {
        vm.assume(caller != address(timelock));
        blocks = uint64(bound(blocks, 0, reg.MAX_MAX_AGE()));
        bytes memory err = abi.encodeWithSelector(
            IAccessControl.AccessControlUnauthorizedAccount.selector, caller, reg.DEFAULT_ADMIN_ROLE());
        vm.expectRevert(err);
        vm.prank(caller);
        reg.setMaxAge(blocks);
        vm.expectRevert(err);
        vm.prank(caller);
        reg.setParamHash(hash >> 8);
        vm.expectRevert(err);
        vm.prank(caller);
        reg.setMarginVerifier(caller);
    }

    /// @notice setModelState is genesis-only, whoever calls (the timelock included).
    function test_setModelStateGenesisOnly() public {
        vm.expectRevert(abi.encodeWithSelector(
            IAccessControl.AccessControlUnauthorizedAccount.selector, address(this), bytes32(0)));
        reg.setModelState(1, 1);
        vm.expectRevert(MarginRegistry.MarginRegistry__GenesisOver.selector);
        vm.prank(address(timelock));
        reg.setModelState(1, 1);
    }

    /// @notice A scheduled change is refused 1 s before the delay and lands at it.
    function testFuzz_timelockDelay(uint64 blocks, uint256 early) public {
        blocks = uint64(bound(blocks, 1, reg.MAX_MAX_AGE()));
        early = bound(early, 1, DELAY);
        bytes memory data = abi.encodeCall(MarginRegistry.setMaxAge, (blocks));
        vm.prank(address(handler));
        timelock.schedule(address(reg), 0, data, bytes32(0), bytes32(0), DELAY);
        uint256 readyAt = block.timestamp + DELAY;
        vm.warp(readyAt - early);
        vm.expectRevert();
        vm.prank(address(handler));
        timelock.execute(address(reg), 0, data, bytes32(0), bytes32(0));
        _check(reg.maxAge() == MAX_AGE, "changed before the delay");
        vm.warp(readyAt);
        vm.prank(address(handler));
        timelock.execute(address(reg), 0, data, bytes32(0), bytes32(0));
        _check(reg.maxAge() == blocks, "not changed at the delay");
    }
}

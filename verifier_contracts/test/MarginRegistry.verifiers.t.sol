// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {MarginRegistry} from "../MarginRegistry.sol";
import {MockPriceFeed} from "../MockPriceFeed.sol";
import {Groth16Call} from "../Groth16Call.sol";
import {StandInVerifier} from "./utils/StandInVerifier.sol";
import {ForgeBase} from "./utils/ForgeBase.sol";

/// @title MarginRegistryVerifierSwitch
/// @notice forge tests of review finding F1: a verifier or parameter change clears what model
///         proofs established under the old circuits (linCommitment, optCommitment, optState,
///         the option chain in progress), so a commitment written under the old layout is never
///         opened by a proof of the new circuits. Margin batches revert NoModelCommitment until
///         a revaluation (and the option parts) land under the new verifiers; recorded tiers
///         stay stored but invalid. Registry: N = 2, 2 assets, nParts = 2 (options), genesis
///         finalized to a TimelockController (admin calls are made as the timelock).
contract MarginRegistryVerifierSwitch is ForgeBase {
    uint64 internal constant GENESIS_DAY = 20000;
    uint256 internal constant N = 2;
    uint256 internal constant PARTS = 2;
    bytes4 internal constant MARGIN_SEL =
        bytes4(keccak256("verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[5])"));

    MarginRegistry internal reg;
    TimelockController internal timelock;
    StandInVerifier internal v1;
    MockPriceFeed[2] internal feeds;
    address[2] internal owners = [address(0xA000), address(0xA001)];
    uint256 internal root = 0xA11CE;
    uint256 private _nonce;

    function setUp() public {
        vm.warp(uint256(GENESIS_DAY + 1) * 86400 + 3600);
        vm.roll(1000);
        reg = new MarginRegistry(N, 2, PARTS, 64, 3 * 86400, 86400, 20);
        v1 = new StandInVerifier();
        feeds[0] = new MockPriceFeed(8, "A / USD");
        feeds[1] = new MockPriceFeed(8, "B / USD");
        address[] memory fa = new address[](2);
        (fa[0], fa[1]) = (address(feeds[0]), address(feeds[1]));
        address[] memory gov = new address[](1);
        gov[0] = address(this);
        timelock = new TimelockController(86400, gov, gov, address(0));
        reg.grantRole(reg.VENUE_ROLE(), address(this));
        reg.grantRole(reg.KEEPER_ROLE(), address(this));
        reg.setParamHash(_fresh());
        reg.setModelState(_fresh(), GENESIS_DAY);
        reg.setModelVerifiers(address(v1), address(v1), address(v1));
        reg.setMarginVerifier(address(v1));
        reg.setPriceFeeds(fa);
        reg.registerAccount(owners[0], 0);
        reg.registerAccount(owners[1], 1);
        reg.finalizeGenesis(address(timelock));
        reg.postAccountsRoot(root);
        _prices();
    }

    // ---------------------------------------------------------------- helpers

    function _fresh() internal returns (uint256) {
        return uint256(keccak256(abi.encode("calcm.forge.switch", ++_nonce))) >> 8;
    }

    /// @dev Fresh answers on both feeds, dated now.
    function _prices() internal {
        feeds[0].setRoundData(50_000e8, block.timestamp);
        feeds[1].setRoundData(3_000e8, block.timestamp);
    }

    /// @dev A fresh proof that `v` accepts for exactly `signals` under `selector`.
    function _proof(StandInVerifier v, bytes4 selector, uint256[] memory signals)
        internal
        returns (Groth16Call.Proof memory p)
    {
        uint256[8] memory w;
        for (uint256 i = 0; i < 8; ++i) w[i] = _fresh();
        (p.a, p.b, p.c) = ([w[0], w[1]], [[w[2], w[3]], [w[4], w[5]]], [w[6], w[7]]);
        v.accept(selector, w, signals);
    }

    /// @dev An intraday revaluation proven by `v`; returns the new linear commitment.
    function _reval(StandInVerifier v) internal returns (uint256 lin) {
        lin = _fresh();
        uint256[] memory s = new uint256[](5);
        (s[0], s[1], s[2], s[3], s[4]) =
            (reg.stateCommitment(), lin, reg.paramHash(), reg.contextOf(block.number), reg.packedPrices()[0]);
        reg.submitModelReval(_proof(v, reg.revalSelector(), s), block.number, lin);
    }

    /// @dev Option part `part` proven by `v` (part 0 at the feeds' latest answers).
    function _part(StandInVerifier v, uint256 part) internal returns (uint256 next) {
        next = _fresh();
        (, uint256 sponge,,) = reg.pendingOptions();
        uint256 packed = part == 0 ? reg.packedPrices()[0] : reg.pendingOptionPrices()[0];
        uint256[] memory s = new uint256[](6);
        (s[0], s[1], s[2], s[3], s[4], s[5]) =
            (reg.stateCommitment(), part == 0 ? 0 : sponge, next, reg.paramHash(), part, packed);
        reg.submitOptionPart(_proof(v, reg.optionSelector(), s), part, next);
    }

    /// @dev Group 0's margin batch at `tiers` for the given commitments, proven by `v`.
    function _batch(StandInVerifier v, uint256 lin, uint256 opt, uint256 tiers)
        internal
        returns (Groth16Call.Proof memory proof, uint256 packed)
    {
        packed = (N << 32) + (tiers << 40);
        uint256[] memory s = new uint256[](5);
        (s[0], s[1], s[2], s[3], s[4]) = (root, lin, opt, reg.contextOf(block.number), packed);
        proof = _proof(v, MARGIN_SEL, s);
    }

    /// @dev A usable model proven by `model` (revaluation and both option parts) and group 0
    ///      recorded at `tiers`, proven by `margin`.
    function _usableAndRecorded(StandInVerifier model, StandInVerifier margin, uint256 tiers) internal {
        uint256 lin = _reval(model);
        _part(model, 0);
        uint256 opt = _part(model, 1);
        _check(reg.modelUsable(), "model not usable after reval and options");
        (Groth16Call.Proof memory p, uint256 packed) = _batch(margin, lin, opt, tiers);
        reg.submitMarginBatch(p, block.number, reg.modelVersion(), 0, packed);
    }

    function _expectNoCommitment() internal {
        vm.expectRevert(abi.encodeWithSelector(
            MarginRegistry.MarginRegistry__NoModelCommitment.selector, reg.modelVersion()));
    }

    // ---------------------------------------------------------------- tests

    /// @notice setMarginVerifier clears both commitments (event), keeps the recorded tiers but
    ///         invalid; a proof of the new circuit over the OLD commitments reverts
    ///         NoModelCommitment; after a revaluation and option parts, a batch lands again.
    function test_marginVerifierSwitchClearsTheModel() public {
        _usableAndRecorded(v1, v1, 0);
        _check(reg.canWithdraw(owners[0]), "tier 0 cannot withdraw");
        (uint256 oldLin, uint256 oldOpt) = (reg.linCommitment(), reg.optCommitment());
        uint32 v0 = reg.modelVersion();
        StandInVerifier v2 = new StandInVerifier();
        vm.expectEmit(address(reg));
        emit MarginRegistry.ModelCommitmentsCleared(oldLin, oldOpt, v0 + 1);
        vm.expectEmit(address(reg));
        emit MarginRegistry.MarginVerifierSet(address(v2), v0 + 1);
        vm.prank(address(timelock));
        reg.setMarginVerifier(address(v2));
        _check(reg.modelVersion() == v0 + 1, "version not bumped once");
        _check(reg.linCommitment() == 0 && reg.optCommitment() == 0 && reg.optState() == 0,
               "commitments survived the switch");
        _check(!reg.modelUsable(), "model usable without commitments");
        (uint256 tiers, uint64 blockNo,, uint32 mv) = reg.recordOf(0);
        _check(blockNo != 0 && tiers == 0 && mv == v0, "recorded tiers not kept");
        (,, bool valid) = reg.healthOf(owners[0]);
        _check(!valid && !reg.canWithdraw(owners[0]), "an old-circuit record still gates");

        (Groth16Call.Proof memory p, uint256 packed) = _batch(v2, oldLin, oldOpt, 0);
        uint32 v1Version = reg.modelVersion();
        _expectNoCommitment();
        reg.submitMarginBatch(p, block.number, v1Version, 0, packed);

        vm.roll(block.number + 1);
        uint256 lin = _reval(v1); // model verifiers unchanged: v1 proves the new commitment
        (p, packed) = _batch(v2, lin, 0, 0);
        uint32 cur = reg.modelVersion();
        vm.expectRevert(abi.encodeWithSelector(MarginRegistry.MarginRegistry__OptionsStale.selector,
                                               uint256(0), reg.stateCommitment(), uint64(0)));
        reg.submitMarginBatch(p, block.number, cur, 0, packed);
        _part(v1, 0);
        uint256 opt = _part(v1, 1);
        (p, packed) = _batch(v2, lin, opt, 0);
        reg.submitMarginBatch(p, block.number, reg.modelVersion(), 0, packed);
        _check(reg.canWithdraw(owners[0]), "not re-proven under the new verifier");
    }

    /// @notice setModelVerifiers clears the commitments and the option chain in progress (its
    ///         next part is refused); the new model verifiers re-establish the model.
    function test_modelVerifierSwitchClearsThePendingOptionChain() public {
        _usableAndRecorded(v1, v1, 0);
        vm.roll(block.number + 1);
        _part(v1, 0); // a new option revaluation, half done
        (, , uint32 nextPart,) = reg.pendingOptions();
        _check(nextPart == 1, "part 0 did not land");
        StandInVerifier v2 = new StandInVerifier();
        uint32 v0 = reg.modelVersion();
        vm.expectEmit(address(reg));
        emit MarginRegistry.ModelCommitmentsCleared(reg.linCommitment(), reg.optCommitment(), v0 + 1);
        vm.prank(address(timelock));
        reg.setModelVerifiers(address(v2), address(v2), address(v2));
        (uint256 st, uint256 sponge, uint32 next, uint64 pricesAt) = reg.pendingOptions();
        _check(st == 0 && sponge == 0 && next == 0 && pricesAt == 0, "option chain survived the switch");
        _check(reg.pendingOptionPrices().length == 0, "pending prices survived the switch");
        _check(reg.linCommitment() == 0 && reg.optCommitment() == 0, "commitments survived the switch");
        vm.expectRevert(abi.encodeWithSelector(
            MarginRegistry.MarginRegistry__OptionPartOutOfOrder.selector, uint256(1), uint256(0)));
        reg.submitOptionPart(Groth16Call.Proof([uint256(1), 2], [[uint256(3), 4], [uint256(5), 6]], [uint256(7), 8]), 1, 1);
        (Groth16Call.Proof memory p, uint256 packed) = _batch(v1, 0, 0, 0);
        _expectNoCommitment();
        reg.submitMarginBatch(p, block.number, v0 + 1, 0, packed);
        // The old verifier no longer proves anything; the new one re-establishes the model.
        uint256 lin = _fresh();
        uint256[] memory s = new uint256[](5);
        (s[0], s[1], s[2], s[3], s[4]) =
            (reg.stateCommitment(), lin, reg.paramHash(), reg.contextOf(block.number), reg.packedPrices()[0]);
        Groth16Call.Proof memory old = _proof(v1, reg.revalSelector(), s);
        vm.expectRevert(MarginRegistry.MarginRegistry__InvalidProof.selector);
        reg.submitModelReval(old, block.number, lin);
        _usableAndRecorded(v2, v1, 3);
        _check(reg.isLiquidatable(owners[1]) == false && reg.isLiquidatable(owners[0]), "tiers not re-proven");
    }

    /// @notice setParamHash and upgradeModel clear the option chain in progress too, with the event.
    function test_parameterChangesClearTheModel() public {
        _usableAndRecorded(v1, v1, 0);
        vm.roll(block.number + 1);
        _part(v1, 0);
        uint32 v0 = reg.modelVersion();
        vm.expectEmit(address(reg));
        emit MarginRegistry.ModelCommitmentsCleared(reg.linCommitment(), reg.optCommitment(), v0 + 1);
        vm.prank(address(timelock));
        reg.setParamHash(_fresh());
        (,, uint32 next,) = reg.pendingOptions();
        _check(next == 0 && reg.linCommitment() == 0 && reg.optCommitment() == 0, "setParamHash kept the model");
        _usableAndRecorded(v1, v1, 0);
        vm.roll(block.number + 1);
        _part(v1, 0);
        vm.prank(address(timelock));
        reg.upgradeModel(_fresh(), _fresh(), GENESIS_DAY);
        (,, next,) = reg.pendingOptions();
        _check(next == 0 && reg.linCommitment() == 0 && reg.optCommitment() == 0 && reg.optState() == 0,
               "upgradeModel kept the model");
        (Groth16Call.Proof memory p, uint256 packed) = _batch(v1, 0, 0, 0);
        uint32 cur = reg.modelVersion();
        _expectNoCommitment();
        reg.submitMarginBatch(p, block.number, cur, 0, packed);
    }
}

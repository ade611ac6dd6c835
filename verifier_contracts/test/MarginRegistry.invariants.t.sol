// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {RegistryFixture} from "./RegistryFixture.sol";
import {RegistryHandler} from "./RegistryHandler.sol";

/// @title MarginRegistryInvariants
/// @notice forge invariant tests of the MarginRegistry v3 (issue 13 item 3), driven by
///         RegistryHandler after a real genesis (roles, feeds, verifiers, model state, then
///         finalizeGenesis to an OpenZeppelin TimelockController with a 1-day delay).
///         Calls per invariant = [invariant] runs x depth in foundry.toml (40 x 256 = 10,240).
///         Proofs go to a StandInVerifier that accepts exactly the pairs the handler registered
///         (forge cannot prove); the Python chain tests run the real generated verifiers.
contract MarginRegistryInvariants is RegistryFixture {
    function setUp() public {
        _deploy();
        _targetContract(address(handler));
        bytes4[] memory sel = new bytes4[](11);
        sel[0] = RegistryHandler.advance.selector;
        sel[1] = RegistryHandler.pushRound.selector;
        sel[2] = RegistryHandler.step.selector;
        sel[3] = RegistryHandler.reval.selector;
        sel[4] = RegistryHandler.postRoot.selector;
        sel[5] = RegistryHandler.margin.selector;
        sel[6] = RegistryHandler.pause.selector;
        sel[7] = RegistryHandler.govSchedule.selector;
        sel[8] = RegistryHandler.govExecute.selector;
        sel[9] = RegistryHandler.govDirect.selector;
        sel[10] = RegistryHandler.pushRound.selector; // listed twice: a step needs a round per feed
        _targetSelector(address(handler), sel);
    }

    /// @notice No handler call broke a rule it checks right after its effect: day +1 per step
    ///         from first rounds after the boundary only, records at the current root and model,
    ///         nothing lands while paused, strangers only after the keeper stall, no timelock
    ///         operation executed before its delay, no admin call outside the timelock.
    function invariant_noViolation() public view {
        if (handler.violations() != 0) revert Check(handler.lastViolation());
    }

    /// @notice No model step without a new daily round: the day moves only by +1 per step (or
    ///         to the day an executed upgradeModel sets).
    function invariant_dayRisesOnePerStep() public view {
        _check(reg.day() == handler.expectedDay(), "day is not genesis + steps (+ upgrades)");
    }

    /// @notice No tier is recorded without a verified proof: the verifier accepted a proof for
    ///         exactly the signals of the record's root version's root, its model version's
    ///         linear commitment, its block's context and its tiers.
    function invariant_noRecordWithoutProof() public view {
        for (uint256 g = 0; g < GROUPS; ++g) {
            (uint256 tiers, uint64 blockNo, uint32 rootV, uint32 modelV) = reg.recordOf(g);
            if (blockNo == 0) continue;
            _check(rootV <= reg.rootVersion() && modelV <= reg.modelVersion(), "record from the future");
            uint256[] memory s = handler.marginSignals(g, tiers, blockNo, rootV, modelV);
            _check(handler.verifier().accepted(MARGIN_SEL, s), "record without an accepted proof");
        }
    }

    /// @notice No commitment outlives a verifier or parameter change (review F1): linCommitment
    ///         is 0 or was set by a step or revaluation after the last such change.
    function invariant_noCommitmentAcrossVerifierChange() public view {
        _check(reg.linCommitment() == 0 || handler.linProvenAt() >= handler.clearedAt(),
               "a commitment proven before a verifier or parameter change is still in use");
    }

    /// @notice Gating is exactly the design's: canWithdraw and canIncreaseRisk iff a valid
    ///         record at tier <= 1, isLiquidatable iff a valid record at tier 3, where valid =
    ///         current model version AND current root version (posted after registration) AND
    ///         block <= the record's own expiry AND not paused; canReduceRisk always.
    function invariant_gatingExact() public view {
        bool paused = reg.paused();
        for (uint256 i = 0; i < owners.length; ++i) {
            (uint256 tiers, uint64 blockNo, uint32 rootV, uint32 modelV) = reg.recordOf(i / N);
            uint256 tier = (tiers >> (2 * (i % N))) & 3;
            bool valid = blockNo != 0 && modelV == reg.modelVersion() && rootV == reg.rootVersion()
                && rootV >= handler.registeredAtRoot() && block.number <= handler.expiryAt(i / N) && !paused;
            _check(reg.canWithdraw(owners[i]) == (valid && tier <= 1), "canWithdraw != valid && tier <= 1");
            _check(reg.canIncreaseRisk(owners[i]) == (valid && tier <= 1), "canIncreaseRisk != valid && tier <= 1");
            _check(reg.isLiquidatable(owners[i]) == (valid && tier == 3), "isLiquidatable != valid && tier == 3");
            _check(reg.canReduceRisk(owners[i]), "canReduceRisk gated");
        }
    }

    /// @notice Governance changes take effect only through executed timelock operations: every
    ///         parameter equals what the last executed operation set (none before its delay:
    ///         invariant_noViolation), and the timelock alone holds the admin role.
    function invariant_governanceOnlyThroughTimelock() public view {
        _check(reg.maxAge() == handler.expectedMaxAge(), "maxAge changed outside an executed operation");
        _check(reg.keeperStall() == handler.expectedKeeperStall(), "keeperStall changed outside an executed operation");
        _check(reg.paramHash() == handler.expectedParamHash(), "paramHash changed outside an executed operation");
        _check(reg.hasRole(reg.DEFAULT_ADMIN_ROLE(), address(timelock)), "timelock lost the admin role");
        _check(!reg.hasRole(reg.DEFAULT_ADMIN_ROLE(), address(this)), "deployer kept the admin role");
        _check(!reg.hasRole(reg.DEFAULT_ADMIN_ROLE(), address(handler)), "proposer holds the admin role");
    }

    /// @notice After each run: append what landed in it to $CALCM_FORGE_COVERAGE (a CSV the
    ///         pytest wrapper sums, so a campaign that never lands a step, a batch, a stranger's
    ///         submission or a timelock execution fails there; per-run counts may be 0).
    function afterInvariant() public {
        string memory path = vm.envOr("CALCM_FORGE_COVERAGE", string(""));
        if (bytes(path).length == 0) return;
        vm.writeLine(path, string.concat(
            vm.toString(handler.steps()), ",", vm.toString(handler.batches()), ",",
            vm.toString(handler.strangerSubmissions()), ",", vm.toString(handler.govExecuted()), ",",
            vm.toString(handler.govRefused()), ",", vm.toString(handler.violations())));
    }
}

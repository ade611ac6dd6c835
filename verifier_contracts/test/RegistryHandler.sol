// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {MarginRegistry} from "../MarginRegistry.sol";
import {MockPriceFeed} from "../MockPriceFeed.sol";
import {Groth16Call} from "../Groth16Call.sol";
import {StandInVerifier} from "./utils/StandInVerifier.sol";
import {Vm, bound} from "./utils/ForgeBase.sol";

/// @title RegistryHandler
/// @notice Drives a MarginRegistry (v3) through random but meaningful sequences for forge's
///         invariant runner. It is the venue, the keeper, the guardian and the timelock's
///         proposer and executor; it also acts as a stranger (no role) and as the former
///         genesis admin. Actions: clock moves (warp + roll), feed rounds on two
///         MockPriceFeeds, daily model steps, intraday revaluations, accounts-root posts,
///         margin batches, pause, and governance through the TimelockController (schedule,
///         execute early or late, direct calls that must fail).
/// @dev Every proof goes to a StandInVerifier that accepts exactly what this handler
///      registered. Many submissions are built to be wrong (a round before the day boundary
///      or not the first after it, a carried-over or reused round, a stale root or model
///      commitment, other tiers than proven, another batch shape) with a proof that IS
///      registered for the wrong signals, so only the registry's own checks can stop them.
///      Ghost state mirrors what the registry should hold; `violations` counts every successful
///      call whose effect broke a rule, checked right after the call. Handler functions do not
///      revert on purpose: failed submissions are caught, so a run keeps going.
contract RegistryHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    uint256 internal constant DAY = 86400;
    uint256 internal constant N = 4; // group size (the margin circuit's batch size)
    uint256 internal constant GROUPS = 2;
    uint256 internal constant FEED_DECIMALS = 8;
    address internal constant STRANGER = address(0xBEEF);
    bytes4 internal constant MARGIN_SEL =
        bytes4(keccak256("verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[5])"));

    MarginRegistry public immutable reg;
    StandInVerifier public immutable verifier;
    address public immutable deployer;
    TimelockController public timelock;
    MockPriceFeed[2] public feeds;

    // ---------------------------------------------------------------- ghost state

    /// @notice accounts root posted at each root version (index 0: none).
    mapping(uint32 => uint256) public rootAt;
    /// @notice linear commitment of each model version (0: none).
    mapping(uint32 => uint256) public linAt;
    /// @notice Expiry block of each group's record, from the maxAge in force when it was written.
    mapping(uint256 => uint256) public expiryAt;
    /// @notice The day the registry must hold: +1 per step, or set by an executed upgradeModel.
    uint64 public expectedDay;
    /// @notice Parameters as the executed timelock operations set them.
    uint64 public expectedMaxAge;
    uint32 public expectedKeeperStall;
    uint256 public expectedParamHash;
    /// @notice Model version right after the last executed verifier or parameter change
    ///         (setParamHash, upgradeModel, setMarginVerifier, setModelVerifiers), and the
    ///         version at which the last step or revaluation set linCommitment (review F1: a
    ///         commitment must never outlive a verifier or parameter change).
    uint32 public clearedAt;
    uint32 public linProvenAt;
    /// @notice Root version at which the test registered the accounts (records must be later).
    uint32 public registeredAtRoot;
    /// @notice Successes per action (a run that lands none of a kind proves nothing about it).
    uint256 public steps;
    uint256 public batches;
    uint256 public strangerSubmissions;
    uint256 public govExecuted;
    uint256 public govRefused;
    /// @notice Calls whose effect broke a rule (must stay 0); `lastViolation` says which.
    uint256 public violations;
    string public lastViolation;
    uint256 private _nonce;

    /// @dev A scheduled timelock operation.
    struct Op {
        bytes data;
        bytes32 salt;
        uint256 readyAt; // scheduled at + minDelay
        uint8 kind;      // 0 setMaxAge, 1 setKeeperStall, 2 setParamHash, 3 unpause, 4 upgradeModel,
                         // 5 setMarginVerifier, 6 setModelVerifiers (same stand-in verifier)
        uint256 value;   // maxAge, keeperStall, or the day of an upgrade
        uint256 hash;    // the parameter hash of kinds 2 and 4
        bool done;
    }

    Op[] internal _ops;

    constructor(MarginRegistry reg_, address deployer_) {
        reg = reg_;
        deployer = deployer_;
        verifier = new StandInVerifier();
        feeds[0] = new MockPriceFeed(uint8(FEED_DECIMALS), "A / USD");
        feeds[1] = new MockPriceFeed(uint8(FEED_DECIMALS), "B / USD");
    }

    /// @notice Called by the test once genesis is over: the timelock and the state to mirror.
    function start(TimelockController timelock_) external {
        timelock = timelock_;
        expectedDay = reg.day();
        expectedMaxAge = reg.maxAge();
        expectedKeeperStall = reg.keeperStall();
        expectedParamHash = reg.paramHash();
        registeredAtRoot = reg.rootVersion() + 1;
    }

    /// @notice The feeds, for the registry's setPriceFeeds.
    function feedAddresses() external view returns (address[] memory a) {
        a = new address[](2);
        a[0] = address(feeds[0]);
        a[1] = address(feeds[1]);
    }

    // ---------------------------------------------------------------- actions: clock and oracle

    /// @notice Move the clock: up to 2 days and up to 40 blocks.
    function advance(uint256 secs, uint256 blocks) external {
        vm.warp(block.timestamp + bound(secs, 1, 2 * DAY));
        vm.roll(block.number + bound(blocks, 1, 40));
    }

    /// @notice A new round on feed `which`, dated now: mostly a normal price, sometimes one at or
    ///         above the circuits' bound 2**48 (micro-USD), sometimes a carried-over answer.
    function pushRound(uint256 which, uint256 price, uint256 kind) external {
        MockPriceFeed f = feeds[which % 2];
        kind = kind % 16;
        int256 answer = kind == 0
            ? int256((uint256(1) << 48) * 100 + bound(price, 0, 1e12)) // >= 2**48 at 1e6
            : int256(bound(price, 1e8, 1e14)); // 1 .. 1e6 USD at 8 decimals
        if (kind == 1 && f.latestRound() > 0) f.setCarriedRound(answer, block.timestamp, f.latestRound());
        else f.setRoundData(answer, block.timestamp);
    }

    // ---------------------------------------------------------------- actions: model

    /// @notice A daily model step. mode 0..2: the right rounds (each feed's first at or after the
    ///         boundary); 3: the latest rounds; 4: random rounds. A proof is registered for exactly
    ///         the signals these rounds give, so only the registry's round checks decide.
    function step(uint256 mode, uint256 r0, uint256 r1, uint256 ageSeed, bool asStranger) external {
        (uint64 dayBefore,,,) = reg.model();
        uint256 boundary = DAY * (uint256(dayBefore) + 2);
        uint80[] memory rounds = new uint80[](2);
        mode = mode % 5;
        for (uint256 i = 0; i < 2; ++i) {
            uint80 latest = feeds[i].latestRound();
            if (latest == 0) return;
            if (mode < 3) rounds[i] = _firstRoundAtOrAfter(feeds[i], boundary);
            else if (mode == 3) rounds[i] = latest;
            else rounds[i] = uint80(bound(i == 0 ? r0 : r1, 1, latest));
            if (rounds[i] == 0) rounds[i] = latest;
        }
        (bool pricesOk, uint256 packed) = _packedRoundPrices(rounds);
        uint256 newState = _fresh();
        uint256 newLin = _fresh();
        uint256 blockNo = _contextBlock(ageSeed);
        uint256[] memory s = new uint256[](6);
        (s[0], s[1], s[2], s[3], s[4], s[5]) =
            (reg.stateCommitment(), newState, newLin, reg.paramHash(), _context(blockNo), packed);
        Groth16Call.Proof memory proof = _register(reg.stepSelector(), s);
        uint256 openAt = reg.openSubmissionBlock();
        if (asStranger) vm.prank(STRANGER);
        try reg.submitModelStep(proof, blockNo, rounds, newState, newLin) {
            steps++;
            expectedDay += 1;
            (uint64 dayAfter, uint32 v,,) = reg.model();
            linAt[v] = newLin;
            linProvenAt = v;
            _afterSubmission(asStranger, openAt);
            _require(dayAfter == dayBefore + 1, "step: day did not rise by exactly one");
            _require(block.timestamp >= boundary, "step: before the day boundary");
            _require(pricesOk, "step: accepted a price outside [1, 2**48)");
            _checkStepRounds(rounds, boundary);
            _require(reg.stateCommitment() == newState, "step: state not stored");
        } catch {}
    }

    /// @dev A landed step used, per feed, a complete round dated at or after the boundary
    ///      whose predecessor is dated before it (the first round of the new day).
    function _checkStepRounds(uint80[] memory rounds, uint256 boundary) internal {
        for (uint256 i = 0; i < 2; ++i) {
            (,,, uint256 updatedAt, uint80 answeredIn) = feeds[i].getRoundData(rounds[i]);
            _require(updatedAt >= boundary, "step: round dated before the boundary");
            _require(answeredIn >= rounds[i], "step: carried-over round");
            if (rounds[i] > 1) {
                (,,, uint256 prevAt,) = feeds[i].getRoundData(rounds[i] - 1);
                _require(prevAt < boundary, "step: round not the first after the boundary");
            }
        }
    }

    /// @notice An intraday revaluation at the feeds' latest answers (refused when a step is
    ///         due); `staleState`: the proof is for another state than the current one.
    function reval(uint256 ageSeed, bool staleState, bool asStranger) external {
        uint80[] memory rounds = new uint80[](2);
        for (uint256 i = 0; i < 2; ++i) {
            rounds[i] = feeds[i].latestRound();
            if (rounds[i] == 0) return;
        }
        (, uint256 packed) = _packedRoundPrices(rounds);
        uint256 newLin = _fresh();
        uint256 blockNo = _contextBlock(ageSeed);
        uint256[] memory s = new uint256[](5);
        (s[0], s[1], s[2], s[3], s[4]) =
            (staleState ? _fresh() : reg.stateCommitment(), newLin, reg.paramHash(), _context(blockNo), packed);
        Groth16Call.Proof memory proof = _register(reg.revalSelector(), s);
        (uint64 dayBefore,,,) = reg.model();
        uint256 openAt = reg.openSubmissionBlock();
        if (asStranger) vm.prank(STRANGER);
        try reg.submitModelReval(proof, blockNo, newLin) {
            (uint64 dayAfter, uint32 v,,) = reg.model();
            linAt[v] = newLin;
            linProvenAt = v;
            _afterSubmission(asStranger, openAt);
            _require(!staleState, "reval: accepted a proof for another state");
            _require(dayAfter == dayBefore, "reval: moved the day");
        } catch {}
    }

    // ---------------------------------------------------------------- actions: venue and margins

    /// @notice The venue posts a new accounts root.
    function postRoot() external {
        uint256 root = _fresh();
        try reg.postAccountsRoot(root) {
            rootAt[reg.rootVersion()] = root;
            _require(!reg.paused(), "postRoot: landed while paused");
        } catch {}
    }

    /// @dev One margin submission being built (kept in memory: too many locals for the stack).
    struct Batch {
        uint256 mode;
        uint256 group;
        uint256 tiers;
        uint256 blockNo;
        uint256 packed;
        uint32 named;
        bool asStranger;
        uint256[] signals;
    }

    /// @notice A margin batch for `group`. mode 0..2: right signals; 3: proof for the previous
    ///         root; 4: proof for another linear commitment; 5: proof for other tiers than
    ///         submitted; 6: an older model version named; 7: another batch shape N.
    function margin(uint256 groupSeed, uint256 tiersSeed, uint256 mode, uint256 ageSeed, bool asStranger)
        external
    {
        Batch memory b;
        b.mode = mode % 8;
        b.group = groupSeed % GROUPS;
        b.tiers = tiersSeed & ((uint256(1) << (2 * N)) - 1);
        b.asStranger = asStranger;
        uint32 version = reg.modelVersion();
        uint32 rootV = reg.rootVersion();
        b.blockNo = _contextBlock(ageSeed);
        b.packed = packResult(b.group, b.mode == 7 ? 2 * N : N, b.tiers);
        uint256[] memory s = new uint256[](5);
        (s[0], s[1], s[2], s[3], s[4]) = (reg.accountsRoot(), reg.linCommitment(), 0, _context(b.blockNo), b.packed);
        if (b.mode == 3) s[0] = rootAt[rootV > 0 ? rootV - 1 : 0];
        if (b.mode == 4) s[1] = linAt[version > 0 ? version - 1 : 0];
        if (b.mode == 5) s[4] = packResult(b.group, N, b.tiers ^ 1);
        b.signals = s;
        b.named = b.mode == 6 && version > 0 ? version - 1 : version;
        _submitBatch(b, _register(MARGIN_SEL, s));
    }

    function _submitBatch(Batch memory b, Groth16Call.Proof memory proof) internal {
        uint256 openAt = reg.openSubmissionBlock();
        if (b.asStranger) vm.prank(STRANGER);
        try reg.submitMarginBatch(proof, b.blockNo, b.named, b.group, b.packed) {
            batches++;
            expiryAt[b.group] = b.blockNo + expectedMaxAge; // the maxAge in force (timelock ghost)
            _afterSubmission(b.asStranger, openAt);
            (uint256 t, uint64 blockNo, uint32 rv, uint32 mv) = reg.recordOf(b.group);
            bool signalsRight = b.mode < 3 || (b.mode == 3 && b.signals[0] == reg.accountsRoot())
                || (b.mode == 4 && b.signals[1] == reg.linCommitment()) || (b.mode == 6 && b.named == mv);
            _require(signalsRight, "margin: accepted a proof for other signals");
            _require(t == b.tiers && blockNo == b.blockNo, "margin: record is not what was proven");
            _require(rv == reg.rootVersion() && mv == reg.modelVersion(), "margin: record not current");
            _require(linProvenAt >= clearedAt, "margin: landed on a commitment from before a verifier change");
        } catch {}
    }

    // ---------------------------------------------------------------- actions: guardian, governance

    /// @notice The guardian pauses (only the timelock can unpause), on one call in 64 so that
    ///         most of a run is unpaused.
    function pause(uint256 seed) external {
        if (seed % 64 == 0 && !reg.paused()) reg.pause();
    }

    /// @notice Propose a parameter change through the timelock (kind: maxAge, keeperStall,
    ///         paramHash, unpause, upgradeModel, margin verifier, model verifiers), delay = the
    ///         timelock's minimum.
    function govSchedule(uint256 kind, uint256 value) external {
        kind = kind % 7;
        bytes memory data;
        uint256 hash = _fresh();
        if (kind == 0) {
            value = bound(value, 1, 200);
            data = abi.encodeCall(MarginRegistry.setMaxAge, (uint64(value)));
        } else if (kind == 1) {
            value = bound(value, 0, 100);
            data = abi.encodeCall(MarginRegistry.setKeeperStall, (uint32(value)));
        } else if (kind == 2) {
            data = abi.encodeCall(MarginRegistry.setParamHash, (hash));
        } else if (kind == 3) {
            data = abi.encodeCall(MarginRegistry.unpause, ());
        } else if (kind == 5) {
            data = abi.encodeCall(MarginRegistry.setMarginVerifier, (address(verifier)));
        } else if (kind == 6) {
            data = abi.encodeCall(MarginRegistry.setModelVerifiers, (address(verifier), address(verifier), address(0)));
        } else {
            value = bound(value, 0, 3); // day offset from now's day - 2 (a step may be due at once)
            value = block.timestamp / DAY - 2 + value;
            data = abi.encodeCall(MarginRegistry.upgradeModel, (hash, _fresh(), uint64(value)));
        }
        bytes32 salt = bytes32(_ops.length);
        uint256 delay = timelock.getMinDelay();
        timelock.schedule(address(reg), 0, data, bytes32(0), salt, delay);
        _ops.push(Op(data, salt, block.timestamp + delay, uint8(kind), value, hash, false));
    }

    /// @notice Try to execute scheduled operation `idx` now (early attempts must fail).
    function govExecute(uint256 idx) external {
        uint256 n = _ops.length;
        if (n == 0) return;
        idx = idx % n;
        for (uint256 k = 0; k < n && _ops[idx].done; ++k) idx = (idx + 1) % n; // next pending one
        Op storage op = _ops[idx];
        if (op.done) return;
        try timelock.execute(address(reg), 0, op.data, bytes32(0), op.salt) {
            op.done = true;
            govExecuted++;
            _require(block.timestamp >= op.readyAt, "governance: executed before the timelock delay");
            if (op.kind == 0) expectedMaxAge = uint64(op.value);
            else if (op.kind == 1) expectedKeeperStall = uint32(op.value);
            else if (op.kind == 2) expectedParamHash = op.hash;
            else if (op.kind == 4) {
                expectedParamHash = op.hash;
                expectedDay = uint64(op.value);
            }
            if (op.kind == 2 || op.kind >= 4) {
                clearedAt = reg.modelVersion();
                _require(reg.linCommitment() == 0 && !reg.modelUsable(), "governance: a change kept the commitments");
            }
        } catch {
            govRefused++;
        }
    }

    /// @notice Calls outside their role, all of which must fail: admin setters by the proposer,
    ///         the former genesis admin or a stranger; the genesis-only setModelState even from
    ///         the timelock; unpause by the guardian; pause by a non-guardian.
    function govDirect(uint256 who, uint256 value) external {
        address caller = who % 3 == 0 ? address(this) : who % 3 == 1 ? deployer : STRANGER;
        vm.prank(caller);
        try reg.setMaxAge(uint64(bound(value, 1, 200))) {
            _require(false, "governance: setMaxAge outside the timelock");
        } catch {}
        vm.prank(caller);
        try reg.setParamHash(value >> 8) {
            _require(false, "governance: setParamHash outside the timelock");
        } catch {}
        vm.prank(address(timelock));
        try reg.setModelState(value >> 8, 1) {
            _require(false, "governance: setModelState after genesis");
        } catch {}
        if (reg.paused()) {
            try reg.unpause() { // the guardian (this handler) may pause, never unpause
                _require(false, "governance: the guardian unpaused");
            } catch {}
        } else {
            vm.prank(caller == address(this) ? STRANGER : caller);
            try reg.pause() {
                _require(false, "governance: a non-guardian paused");
            } catch {}
        }
    }

    // ---------------------------------------------------------------- helpers (also for the test)

    /// @notice packedResult of the margin circuit: group + 2**32 * n + 2**40 * tiers.
    function packResult(uint256 group, uint256 n, uint256 tiers) public pure returns (uint256) {
        return group + (n << 32) + (tiers << 40);
    }

    /// @notice The margin batch signals a record must have been proven for.
    function marginSignals(uint256 group, uint256 tiers, uint64 blockNo, uint32 rootV, uint32 modelV)
        external
        view
        returns (uint256[] memory s)
    {
        s = new uint256[](5);
        (s[0], s[1], s[2], s[3], s[4]) =
            (rootAt[rootV], linAt[modelV], 0, _context(blockNo), packResult(group, N, tiers));
    }

    /// @notice Operations scheduled so far.
    function opCount() external view returns (uint256) {
        return _ops.length;
    }

    /// @dev A stranger's submission may land only once keeperStall blocks have passed.
    function _afterSubmission(bool asStranger, uint256 openAt) internal {
        if (asStranger) {
            strangerSubmissions++;
            _require(block.number >= openAt, "submission: a stranger landed before the keeper stall");
        }
        _require(!reg.paused(), "submission: landed while paused");
    }

    /// @dev Context signal, computed independently of the registry's contextOf.
    function _context(uint256 blockNo) internal view returns (uint256) {
        return uint256(keccak256(abi.encodePacked(block.chainid, address(reg), blockNo))) >> 3;
    }

    /// @dev The proof's context block: mostly this block, one time in four up to 80 blocks back
    ///      (maxAge is 64 at genesis: sometimes stale, sometimes before the model version).
    function _contextBlock(uint256 ageSeed) internal view returns (uint256) {
        uint256 back = ageSeed % 4 == 0 ? bound(ageSeed >> 2, 0, 80) : 0;
        return block.number > back ? block.number - back : block.number;
    }

    /// @dev Feed f's first round dated at or after `boundary` (0 when none).
    function _firstRoundAtOrAfter(MockPriceFeed f, uint256 boundary) internal view returns (uint80) {
        uint80 latest = f.latestRound();
        for (uint80 id = latest; id >= 1; --id) {
            (,,, uint256 updatedAt,) = f.getRoundData(id);
            if (updatedAt < boundary) return id == latest ? 0 : id + 1;
        }
        return 1;
    }

    /// @dev Prices of `rounds` at 1e6 packed in 50-bit lanes; ok is false if one is outside [1, 2**48).
    function _packedRoundPrices(uint80[] memory rounds) internal view returns (bool ok, uint256 packed) {
        ok = true;
        for (uint256 i = 0; i < rounds.length; ++i) {
            (, int256 answer,,,) = feeds[i].getRoundData(rounds[i]);
            uint256 p = uint256(answer) / 10 ** (FEED_DECIMALS - 6);
            if (p == 0 || p >= uint256(1) << 48) ok = false;
            packed |= (p & ((uint256(1) << 50) - 1)) << (50 * i);
        }
    }

    /// @dev A fresh field element (nonzero).
    function _fresh() internal returns (uint256) {
        return uint256(keccak256(abi.encode("calcm.forge", ++_nonce))) >> 8;
    }

    /// @dev Registers a fresh proof as valid for `signals` and returns it.
    function _register(bytes4 selector, uint256[] memory signals) internal returns (Groth16Call.Proof memory p) {
        uint256[8] memory w;
        for (uint256 i = 0; i < 8; ++i) w[i] = _fresh();
        p.a = [w[0], w[1]];
        p.b = [[w[2], w[3]], [w[4], w[5]]];
        p.c = [w[6], w[7]];
        verifier.accept(selector, w, signals);
    }

    function _require(bool ok, string memory what) internal {
        if (!ok) {
            violations++;
            lastViolation = what;
        }
    }
}

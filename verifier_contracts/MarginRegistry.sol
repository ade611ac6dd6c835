// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {AggregatorV3Interface} from "./interfaces/AggregatorV3Interface.sol";
import {IMarginVerifier} from "./interfaces/IMarginVerifier.sol";
import {ModelSignals} from "./interfaces/IModelVerifiers.sol";
import {Groth16Call} from "./Groth16Call.sol";

/// @title MarginRegistry (v3)
/// @notice Records zero-knowledge proven portfolio-margin health per account and gates
///         liquidations and withdrawals on it, without ever seeing a portfolio. The model the
///         margins are proven against is itself proven: one GARCH step per UTC day from the
///         oracle rounds that close the day, intraday revaluations at fresh prices, and the
///         option revaluation in chained parts (docs/PROVING.md sections 5 and 6).
/// @dev Governance (docs/CHAIN.md, issue 13 M2), with OpenZeppelin AccessControl and Pausable:
///        - DEFAULT_ADMIN_ROLE: parameters, verifiers, feeds, roles, unpause. The deployer
///          holds it during the genesis phase, then `finalizeGenesis(timelock)` hands it to an
///          OpenZeppelin TimelockController and renounces it: every admin call after genesis
///          waits out the timelock's delay. `setModelState` is genesis-only; later model
///          changes go through `upgradeModel`.
///        - VENUE_ROLE: the accounts root and account registration.
///        - KEEPER_ROLE: proof submissions; anyone may submit (same checks) once no keeper
///          submission has landed for `keeperStall` blocks (issue 13 liveness).
///        - GUARDIAN_ROLE: `pause()` only (never unpause, never a parameter).
///      Model data:
///        - the state (`stateCommitment`, UTC `day` of the close it holds) moves only by
///          `submitModelStep`, exactly one day at a time, from each feed's first round dated
///          at or after 00:00 UTC of day + 2 (the close of day + 1);
///        - `linCommitment` is set by the step (at the close) and by `submitModelReval`;
///        - `optCommitment` is the end of a chain of `nParts` option-part proofs.
///      A model version number (`modelVersion`) is bumped whenever the state, a commitment, the
///      parameter hash or a verifier changes. A record (one word per group) is valid iff it was
///      proven under the current model version AND the current accounts-root version AND the
///      block is at most its own expiry (block + maxAge at write time) AND the registry is not
///      paused (issue 13 M1, L3, L4, A6). Replays are rejected by the record key (group, block,
///      root version, model version): Groth16 proofs are malleable, so a proof hash would not
///      stop a replay.
///      Verifier and parameter changes (review F1): `setMarginVerifier`, `setModelVerifiers`,
///      `setParamHash` and `upgradeModel` clear everything model proofs established under the
///      old circuits or parameters (`linCommitment`, `optCommitment`, `optState` and any option
///      revaluation in progress) and emit `ModelCommitmentsCleared`. New circuits may lay out a
///      commitment's preimage differently, so an old commitment must never be opened by them:
///      margin batches revert `NoModelCommitment` until a step or revaluation (and, with
///      options, a full option revaluation) is proven under the new verifiers. The state
///      commitment and the parameter hash stay (if the new circuits hash the state or the
///      parameters differently, the same timelock batch must call `upgradeModel`). Recorded tiers stay stored (`recordOf`, events) but
///      name the old model version, so `healthOf` reports them invalid and gating fails safe
///      until groups are re-proven under the new version.
contract MarginRegistry is AccessControl, Pausable {
    // ---------------------------------------------------------------- constants

    /// @notice The venue role: posts accounts roots and registers accounts.
    bytes32 public constant VENUE_ROLE = keccak256("VENUE_ROLE");
    /// @notice The keeper role: submits proofs (always; others only after a keeper stall).
    bytes32 public constant KEEPER_ROLE = keccak256("KEEPER_ROLE");
    /// @notice The guardian role: may pause, nothing else.
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");
    /// @notice BN254 scalar field order: every public signal must be below it.
    uint256 public constant SNARK_SCALAR_FIELD =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @notice Fixed point of the prices the model circuits take (micro-USD per unit).
    uint256 public constant PRICE_SCALE = 1e6;
    /// @notice Largest group size: N tiers of 2 bits fill the record's 128 tier bits.
    uint256 public constant MAX_GROUP_SIZE = 64;
    /// @notice Margin batch public signals: accountsRoot, linCommitment, optCommitment, context, packedResult.
    uint256 public constant MARGIN_SIGNALS = 5;
    /// @notice Largest maxAge (blocks): a record stores its own maxAge in 16 bits.
    uint256 public constant MAX_MAX_AGE = type(uint16).max;

    uint256 private constant GROUP_BITS = 32;
    uint256 private constant SHAPE_BITS = 8;
    uint256 private constant TIERS_SHIFT = GROUP_BITS + SHAPE_BITS;
    uint256 private constant MAX_FEED_DECIMALS = 36;
    uint256 private constant TIER_LIQUIDATABLE = 3;
    uint256 private constant TIER_MAX_WITHDRAW = 1;

    // ---------------------------------------------------------------- immutables

    /// @notice Accounts per margin batch (the margin circuit's N; a power of two).
    uint256 public immutable groupSize;
    /// @notice Number of priced assets (one feed each) the model proofs consume.
    uint256 public immutable nAssets;
    /// @notice Option-part proofs per option revaluation (n_opt * C of the structure; 0: no options).
    uint256 public immutable nParts;
    /// @notice Selector of verifyProof for the step proof's 5 + K signals.
    bytes4 public immutable stepSelector;
    /// @notice Selector of verifyProof for the revaluation proof's 4 + K signals.
    bytes4 public immutable revalSelector;
    /// @notice Selector of verifyProof for an option-part proof's 5 + K signals.
    bytes4 public immutable optionSelector;

    // ---------------------------------------------------------------- storage

    /// @notice The admin: the deployer during genesis, the TimelockController after it.
    address public governance;
    /// @notice The TimelockController holding DEFAULT_ADMIN_ROLE (zero during genesis).
    address public timelock;

    /// @notice The margin batch verifier (generated, 5 signals).
    IMarginVerifier public marginVerifier;
    /// @notice The daily-step verifier (generated, 5 + K signals).
    address public stepVerifier;
    /// @notice The intraday-revaluation verifier (generated, 4 + K signals).
    address public revalVerifier;
    /// @notice The option-part verifier (generated, 5 + K signals; unused when nParts = 0).
    address public optionVerifier;

    /// @notice Hash of the public model parameters (docs/PROVING.md section 4).
    uint256 public paramHash;
    /// @notice The current model state commitment.
    uint256 public stateCommitment;
    /// @notice Linear P&L commitment of the current model version (0: none proven since the state,
    ///         the parameter hash or a verifier was set).
    uint256 public linCommitment;
    /// @notice The latest complete option commitment (0 when the structure has no options).
    uint256 public optCommitment;
    /// @notice The state `optCommitment` was proven at.
    uint256 public optState;
    /// @notice The venue's current accounts root.
    uint256 public accountsRoot;

    /// @dev Model counters read together: one storage slot.
    struct ModelClock {
        uint64 day;          // UTC day number of the close in the state
        uint32 version;      // model version number (bumped on every change of the model)
        uint64 versionBlock; // block at which the current version was set
        uint64 optPricesAt;  // oldest updatedAt of the prices optCommitment was proven at
    }

    /// @dev Accounts, freshness and liveness counters read by every submission: one slot.
    struct Clock {
        uint32 rootVersion;     // bumped by every postAccountsRoot
        uint16 maxAge;          // blocks a record written now stays fresh
        uint64 maxPriceAge;     // seconds a feed answer stays usable (revaluations, option part 0)
        uint64 optionMaxAge;    // seconds an option commitment stays usable for margin batches
        uint48 lastKeeperBlock; // block of the latest keeper-role submission (or of genesis end)
        uint32 keeperStall;     // blocks without a keeper submission after which anyone may submit
    }

    /// @dev The option revaluation in progress (parts land in order).
    struct PendingOptions {
        uint256 state;      // state of the chain (parts must all be at it)
        uint256 sponge;     // sponge state after the last part that landed
        uint32 nextPart;    // the part expected next
        uint64 pricesAt;    // oldest updatedAt of the chain's prices
    }

    ModelClock private _model;
    Clock private _clock;
    PendingOptions private _pending;
    uint256[] private _pendingPrices;

    /// @dev Feed address, its decimals and the last round id a model proof used: one slot per asset.
    struct Feed {
        AggregatorV3Interface feed;
        uint8 decimals;
        uint80 lastRound;
    }

    Feed[] private _feeds;

    /// @dev Per registered owner: leaf + 1 (bits 0..63; 0: not registered) and the first root
    ///      version a record must have to speak for it (bits 64..95: the root version after
    ///      the one current at registration).
    mapping(address owner => uint256) private _accounts;
    /// @notice Owner registered at each leaf (zero: free).
    mapping(uint256 leaf => address) public ownerOf;
    /// @dev One packed word per group: tiers (bits 0..127, 2 bits per leaf, leaf a at 2a),
    ///      block (bits 128..175), maxAge at write time (176..191; expiry = block + maxAge),
    ///      root version (192..223), model version (224..255).
    mapping(uint256 group => uint256) private _records;

    // ---------------------------------------------------------------- events

    /// @notice Genesis ended: DEFAULT_ADMIN_ROLE moved to `timelock`, the deployer renounced it.
    event GenesisFinalized(address indexed timelock, address indexed deployer);
    /// @notice The model-parameter hash changed (a new model version starts).
    event ParamHashSet(uint256 paramHash, uint32 modelVersion);
    /// @notice Genesis set the model state: no linear commitment until the next step or
    ///         revaluation, so margin batches wait for one.
    event ModelStateSet(uint256 stateCommitment, uint64 day, uint32 modelVersion);
    /// @notice Governance upgraded the model (parameter hash, state, day) through the timelock.
    event ModelUpgraded(uint256 paramHash, uint256 stateCommitment, uint64 day, uint32 modelVersion);
    /// @notice The margin verifier changed (a new model version starts).
    event MarginVerifierSet(address indexed verifier, uint32 modelVersion);
    /// @notice The three model verifiers changed (a new model version starts).
    event ModelVerifiersSet(address indexed step, address indexed reval, address indexed option, uint32 modelVersion);
    /// @notice A verifier or parameter change cleared the commitments proven under the old ones
    ///         (`linCommitment`, `optCommitment` before the change; the pending option chain too):
    ///         margin batches wait for model proofs under version `modelVersion` or later.
    event ModelCommitmentsCleared(uint256 linCommitment, uint256 optCommitment, uint32 modelVersion);
    /// @notice The price feeds changed (one per asset, in the model's asset order).
    event PriceFeedsSet(address[] feeds);
    /// @notice The freshness window of records written from now on changed.
    event MaxAgeSet(uint64 blocks);
    /// @notice The maximum feed answer age changed.
    event MaxPriceAgeSet(uint64 secondsOld);
    /// @notice The maximum age of an option commitment usable by margin batches changed.
    event OptionMaxAgeSet(uint64 secondsOld);
    /// @notice The keeper stall (blocks without a keeper submission before anyone may submit) changed.
    event KeeperStallSet(uint32 blocks);
    /// @notice The venue posted a new accounts root: every record of an older root is invalid.
    event AccountsRootPosted(uint256 root, uint32 indexed rootVersion);
    /// @notice The venue registered `owner` at `leaf` of the accounts tree.
    event AccountRegistered(address indexed owner, uint32 leaf);
    /// @notice One daily GARCH step: the state moved to `day` (the close of that day is
    ///         `prices`, read from feed rounds `rounds`), with the linear commitment at it.
    event ModelStepped(
        uint64 indexed day,
        uint256 prevState,
        uint256 newState,
        uint256 linCommitment,
        uint32 modelVersion,
        uint80[] rounds,
        uint256[] prices,
        uint256 blockNo,
        address indexed keeper
    );
    /// @notice An intraday revaluation at `prices` (feed rounds `rounds`), state unchanged.
    event ModelRevalued(
        uint64 indexed day,
        uint256 state,
        uint256 linCommitment,
        uint32 modelVersion,
        uint80[] rounds,
        uint256[] prices,
        uint256 blockNo,
        address indexed keeper
    );
    /// @notice An option revaluation started (part 0) at `state` and `prices` (rounds `rounds`,
    ///         oldest answer dated `pricesAt`).
    event OptionRevaluationStarted(uint256 indexed state, uint80[] rounds, uint256[] prices, uint64 pricesAt);
    /// @notice Option part `part` moved the sponge from `prevSponge` to `nextSponge`.
    event OptionPartProven(uint256 indexed state, uint32 part, uint256 prevSponge, uint256 nextSponge,
                           address indexed keeper);
    /// @notice The last option part landed: `optCommitment` holds for `state`.
    event OptionsRevalued(uint256 indexed state, uint256 optCommitment, uint32 modelVersion, uint64 pricesAt);
    /// @notice A margin batch was proven: `tiers` packs 2 bits per leaf of `group`; the record
    ///         is valid until block `expiry` (while root and model versions stay current).
    event MarginBatchRecorded(
        uint256 indexed blockNo,
        uint256 indexed group,
        uint32 rootVersion,
        uint32 modelVersion,
        uint256 tiers,
        uint256 expiry,
        address indexed keeper
    );

    // ---------------------------------------------------------------- errors

    /// @notice A genesis-only call after `finalizeGenesis` (use the timelock and `upgradeModel`).
    error MarginRegistry__GenesisOver();
    /// @notice A non-keeper submission while the keeper is live: open to anyone from block `openAt`.
    error MarginRegistry__KeeperActive(uint256 lastKeeperBlock, uint256 openAt);
    /// @notice packedResult encodes batch size `n`, but the registry's groupSize is `groupSize` (L1).
    error MarginRegistry__WrongShape(uint256 n, uint256 groupSize);
    /// @notice An oracle round older than the last one a model proof used for this asset.
    error MarginRegistry__RoundTooOld(uint256 asset, uint80 roundId, uint80 lastRoundId);
    /// @notice A zero address where an account or contract is required.
    error MarginRegistry__ZeroAddress();
    /// @notice Bad constructor or configuration value (group size, nAssets, feed decimals, maxAge).
    error MarginRegistry__BadConfig();
    /// @notice A value meant as a public signal is not below the scalar field order.
    error MarginRegistry__NotInField(uint256 value);
    /// @notice The proof's block is older than maxAge, or before the current model version.
    error MarginRegistry__StaleBlock(uint256 blockNo, uint256 versionBlock, uint256 currentBlock);
    /// @notice The proof's block is after the current block.
    error MarginRegistry__FutureBlock(uint256 blockNo, uint256 currentBlock);
    /// @notice This group already has a record at this root and model version from this block
    ///         or a later one.
    error MarginRegistry__AlreadyRecorded(uint256 group, uint256 blockNo, uint32 rootVersion, uint32 modelVersion);
    /// @notice The group encoded in packedResult is not the group submitted.
    error MarginRegistry__GroupMismatch(uint256 group, uint256 packedGroup);
    /// @notice packedResult has bits set above the N tiers.
    error MarginRegistry__ResultOutOfRange(uint256 packedResult);
    /// @notice The verifier rejected the proof for the public signals the registry built.
    error MarginRegistry__InvalidProof();
    /// @notice A required parameter (verifier, param hash, model state, feeds, ...) is unset.
    error MarginRegistry__NotConfigured(string what);
    /// @notice The number of feeds (or of rounds) is not nAssets.
    error MarginRegistry__WrongFeedCount(uint256 got, uint256 want);
    /// @notice A feed answer is not positive or its price is outside [1, 2**48) at PRICE_SCALE.
    error MarginRegistry__PriceOutOfRange(uint256 asset, int256 answer);
    /// @notice A feed answer is older than maxPriceAge or dated after the current block.
    error MarginRegistry__StalePrice(uint256 asset, uint256 updatedAt);
    /// @notice No step is possible: the chain's clock has not reached 00:00 UTC of day + 2,
    ///         so the close of day + 1 does not exist yet (this is how repeated model updates
    ///         at unchanged prices are refused, whoever submits: issue 13 H1).
    error MarginRegistry__NoNewDay(uint64 day);
    /// @notice The round is dated before the step boundary 86400 * (day + 2).
    error MarginRegistry__RoundBeforeBoundary(uint256 asset, uint80 roundId, uint256 updatedAt, uint256 boundary);
    /// @notice The round is not the first at or after the boundary: its predecessor already is.
    error MarginRegistry__RoundNotFirst(uint256 asset, uint80 roundId, uint256 prevUpdatedAt, uint256 boundary);
    /// @notice The round's answer was carried over from an earlier round (answeredInRound < roundId).
    error MarginRegistry__IncompleteRound(uint256 asset, uint80 roundId, uint80 answeredInRound);
    /// @notice A feed cannot return the round (getRoundData reverted or returned another id).
    error MarginRegistry__NoSuchRound(uint256 asset, uint80 roundId);
    /// @notice Every feed has a round past the step boundary: the day must be stepped before
    ///         revaluing (a revaluation never moves the GARCH state).
    error MarginRegistry__StepDue(uint64 day);
    /// @notice The structure has no options (nParts = 0).
    error MarginRegistry__NoOptions();
    /// @notice The option part is not the one expected next (parts land in order from 0).
    error MarginRegistry__OptionPartOutOfOrder(uint256 part, uint256 expected);
    /// @notice The pending option revaluation is for another state than the current one.
    error MarginRegistry__OptionStateMismatch(uint256 pendingState, uint256 state);
    /// @notice The option commitment is not for the current state or older than optionMaxAge.
    error MarginRegistry__OptionsStale(uint256 optState, uint256 state, uint64 pricesAt);
    /// @notice A margin batch names another model version than the current one.
    error MarginRegistry__StaleModel(uint32 modelVersion, uint32 currentVersion);
    /// @notice No linear commitment at model version `modelVersion`: none has been proven since
    ///         genesis, the last upgrade or the last verifier or parameter change. Margin batches
    ///         wait for a step or revaluation proven under the current verifiers.
    error MarginRegistry__NoModelCommitment(uint32 modelVersion);
    /// @notice The owner is already registered.
    error MarginRegistry__AlreadyRegistered(address owner);
    /// @notice The leaf already has an owner.
    error MarginRegistry__LeafTaken(uint32 leaf);

    // ---------------------------------------------------------------- modifiers

    /// @dev Genesis-only calls.
    modifier inGenesis() {
        if (timelock != address(0)) revert MarginRegistry__GenesisOver();
        _;
    }

    /// @dev Proof submissions: not paused; a KEEPER_ROLE sender (its block is recorded), or
    ///      anyone once `keeperStall` blocks have passed since the last keeper submission.
    modifier onlySubmitter() {
        _requireNotPaused();
        _checkSubmitter();
        _;
    }

    // ---------------------------------------------------------------- setup

    /// @notice Deploy a registry; the deployer holds DEFAULT_ADMIN_ROLE for the genesis phase.
    /// @param groupSize_ Accounts per margin batch (the margin circuit's N): a power of two, <= 64.
    /// @param nAssets_ Number of priced assets (one feed each).
    /// @param nParts_ Option-part proofs per option revaluation (n_opt * C; 0 without options).
    /// @param maxAge_ Blocks a record (and a proof's context block) stays fresh (<= 65535).
    /// @param maxPriceAge_ Seconds a feed answer stays usable for a revaluation.
    /// @param optionMaxAge_ Seconds an option commitment stays usable for margin batches.
    /// @param keeperStall_ Blocks without a keeper submission after which anyone may submit.
    constructor(uint256 groupSize_, uint256 nAssets_, uint256 nParts_, uint64 maxAge_, uint64 maxPriceAge_,
                uint64 optionMaxAge_, uint32 keeperStall_) {
        if (groupSize_ == 0 || groupSize_ > MAX_GROUP_SIZE || groupSize_ & (groupSize_ - 1) != 0
            || nAssets_ == 0 || nParts_ > type(uint32).max || maxAge_ > MAX_MAX_AGE) {
            revert MarginRegistry__BadConfig();
        }
        groupSize = groupSize_;
        nAssets = nAssets_;
        nParts = nParts_;
        uint256 k = ModelSignals.priceSignals(nAssets_);
        stepSelector = Groth16Call.selectorFor(ModelSignals.STEP_FIXED + k);
        revalSelector = Groth16Call.selectorFor(ModelSignals.REVAL_FIXED + k);
        optionSelector = Groth16Call.selectorFor(ModelSignals.OPTION_FIXED + k);
        governance = msg.sender;
        _grantRole(DEFAULT_ADMIN_ROLE, msg.sender);
        _clock.maxAge = uint16(maxAge_);
        _clock.maxPriceAge = maxPriceAge_;
        _clock.optionMaxAge = optionMaxAge_;
        _clock.keeperStall = keeperStall_;
        _clock.lastKeeperBlock = uint48(block.number);
        emit MaxAgeSet(maxAge_);
        emit MaxPriceAgeSet(maxPriceAge_);
        emit OptionMaxAgeSet(optionMaxAge_);
        emit KeeperStallSet(keeperStall_);
    }

    // ---------------------------------------------------------------- governance

    /// @notice End the genesis phase: grant DEFAULT_ADMIN_ROLE to `timelock_` (an OpenZeppelin
    ///         TimelockController) and renounce the caller's. Every admin call after this
    ///         waits out the timelock's delay; `setModelState` is no longer available.
    /// @param timelock_ The TimelockController (a contract).
    function finalizeGenesis(address timelock_) external onlyRole(DEFAULT_ADMIN_ROLE) inGenesis {
        if (timelock_.code.length == 0) revert MarginRegistry__ZeroAddress();
        timelock = timelock_;
        governance = timelock_;
        _grantRole(DEFAULT_ADMIN_ROLE, timelock_);
        _revokeRole(DEFAULT_ADMIN_ROLE, msg.sender);
        _clock.lastKeeperBlock = uint48(block.number);
        emit GenesisFinalized(timelock_, msg.sender);
    }

    /// @notice Publish the hash of the public model parameters. Prospective: a new model version
    ///         starts, the linear and option commitments and any option chain in progress
    ///         (proven under the old hash) are cleared (`ModelCommitmentsCleared`), so no record
    ///         or commitment of the old parameters stays usable.
    /// @param paramHash_ The hash (a field element).
    function setParamHash(uint256 paramHash_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setParamHash(paramHash_);
        emit ParamHashSet(paramHash_, _model.version);
    }

    /// @notice Genesis only: set the model state commitment and the UTC day of the close it
    ///         holds. Clears the commitments and the pending option chain; the next step
    ///         starts from this state with the close of `day + 1`.
    /// @param state The state commitment (a field element).
    /// @param day_ The UTC day number (updatedAt / 86400) of the state's close.
    function setModelState(uint256 state, uint64 day_) external onlyRole(DEFAULT_ADMIN_ROLE) inGenesis {
        _setModelState(state, day_);
        emit ModelStateSet(state, day_, _model.version);
    }

    /// @notice Versioned model upgrade (through the timelock after genesis): a new parameter
    ///         hash, state and day in one call; a new model version starts, so every record
    ///         and commitment of the old version expires (issue 13 M1, M2).
    function upgradeModel(uint256 paramHash_, uint256 state, uint64 day_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setParamHash(paramHash_);
        _setModelState(state, day_);
        emit ModelUpgraded(paramHash_, state, day_, _model.version);
    }

    /// @notice Set the margin batch verifier. A new model version starts and the model
    ///         commitments are cleared (`ModelCommitmentsCleared`): the new margin circuit may
    ///         open them with another layout, so margin batches wait (`NoModelCommitment`) for a
    ///         step or revaluation proven after the switch. Recorded tiers stay stored but invalid.
    function setMarginVerifier(address verifier) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (verifier == address(0)) revert MarginRegistry__ZeroAddress();
        marginVerifier = IMarginVerifier(verifier);
        _clearCommitments();
        emit MarginVerifierSet(verifier, _model.version);
    }

    /// @notice Set the three model verifiers (the option verifier may be zero when nParts = 0).
    ///         As `setMarginVerifier`: a new model version starts, the commitments proven by
    ///         the old circuits and any option chain in progress are cleared.
    function setModelVerifiers(address step, address reval, address option) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (step == address(0) || reval == address(0) || (nParts != 0 && option == address(0))) {
            revert MarginRegistry__ZeroAddress();
        }
        stepVerifier = step;
        revalVerifier = reval;
        optionVerifier = option;
        _clearCommitments();
        emit ModelVerifiersSet(step, reval, option, _model.version);
    }

    /// @notice Set the price feeds, one per asset in the model's asset order.
    /// @param feeds Exactly nAssets AggregatorV3 feeds.
    function setPriceFeeds(address[] calldata feeds) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (feeds.length != nAssets) revert MarginRegistry__WrongFeedCount(feeds.length, nAssets);
        delete _feeds;
        for (uint256 i = 0; i < feeds.length; ++i) {
            if (feeds[i] == address(0)) revert MarginRegistry__ZeroAddress();
            AggregatorV3Interface f = AggregatorV3Interface(feeds[i]);
            uint8 decimals = f.decimals();
            if (decimals > MAX_FEED_DECIMALS) revert MarginRegistry__BadConfig();
            _feeds.push(Feed(f, decimals, 0));
        }
        emit PriceFeedsSet(feeds);
    }

    /// @notice Set how many blocks a record written from now on stays fresh (prospective: a
    ///         record keeps the expiry it was written with).
    function setMaxAge(uint64 blocks) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (blocks > MAX_MAX_AGE) revert MarginRegistry__BadConfig();
        _clock.maxAge = uint16(blocks);
        emit MaxAgeSet(blocks);
    }

    /// @notice Set the maximum age (seconds) of a feed answer a revaluation accepts.
    function setMaxPriceAge(uint64 secondsOld) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _clock.maxPriceAge = secondsOld;
        emit MaxPriceAgeSet(secondsOld);
    }

    /// @notice Set the maximum age (seconds, from the oldest price it was proven at) of an
    ///         option commitment that margin batches may use.
    function setOptionMaxAge(uint64 secondsOld) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _clock.optionMaxAge = secondsOld;
        emit OptionMaxAgeSet(secondsOld);
    }

    /// @notice Set the keeper stall: blocks without a keeper submission after which anyone may submit.
    function setKeeperStall(uint32 blocks) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _clock.keeperStall = blocks;
        emit KeeperStallSet(blocks);
    }

    /// @notice Guardian: stop proof submissions and root posts; gating views fail safe
    ///         (withdraw, add risk and liquidate all false) until the admin unpauses.
    function pause() external onlyRole(GUARDIAN_ROLE) {
        _pause();
    }

    /// @notice Admin (the timelock after genesis): resume.
    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _unpause();
    }

    // ---------------------------------------------------------------- venue

    /// @notice Post a new accounts root: O(1) gas. Every record proven against an older root
    ///         is invalid from now on (issue 13 A6, L4: no changed-leaf list is trusted).
    /// @param root The new Poseidon Merkle root of the account commitments.
    function postAccountsRoot(uint256 root) external onlyRole(VENUE_ROLE) whenNotPaused {
        if (root >= SNARK_SCALAR_FIELD) revert MarginRegistry__NotInField(root);
        uint32 version = _clock.rootVersion + 1;
        _clock.rootVersion = version;
        accountsRoot = root;
        emit AccountsRootPosted(root, version);
    }

    /// @notice Register `owner` as the account at `leaf` of the accounts tree. No record of a
    ///         root posted before this speaks for `owner`: its record becomes valid once a
    ///         batch is proven against a later root.
    function registerAccount(address owner, uint32 leaf) external onlyRole(VENUE_ROLE) {
        if (owner == address(0)) revert MarginRegistry__ZeroAddress();
        if (_accounts[owner] != 0) revert MarginRegistry__AlreadyRegistered(owner);
        if (ownerOf[leaf] != address(0)) revert MarginRegistry__LeafTaken(leaf);
        _accounts[owner] = (uint256(leaf) + 1) | (uint256(_clock.rootVersion + 1) << 64);
        ownerOf[leaf] = owner;
        emit AccountRegistered(owner, leaf);
    }

    // ---------------------------------------------------------------- keepers: the model

    /// @notice One daily GARCH step: from the stored state (close of `day`) to the close of
    ///         `day + 1`, given by each feed's first round dated at or after 00:00 UTC of
    ///         `day + 2`, plus the linear revaluation at that close.
    /// @dev Public signals: [stateCommitment, newState, newLinCommitment, paramHash,
    ///      context(blockNo), packedPrices(rounds)...]. Stores day + 1, the new state and the
    ///      linear commitment, and starts a new model version. Whoever submits, there is
    ///      exactly one valid step per day and the day only rises by one.
    /// @param proof The Groth16 proof.
    /// @param blockNo The block the proof's context binds (not in the future, at most maxAge old).
    /// @param rounds Per asset, the round id of the close of day + 1.
    /// @param newState The new state commitment.
    /// @param newLinCommitment The linear P&L commitment at the new close.
    function submitModelStep(
        Groth16Call.Proof calldata proof,
        uint256 blockNo,
        uint80[] calldata rounds,
        uint256 newState,
        uint256 newLinCommitment
    ) external onlySubmitter {
        address verifier = stepVerifier;
        if (verifier == address(0)) revert MarginRegistry__NotConfigured("stepVerifier");
        _checkContextBlock(blockNo);
        _checkModelConfigured();
        if (newState >= SNARK_SCALAR_FIELD) revert MarginRegistry__NotInField(newState);
        if (newLinCommitment >= SNARK_SCALAR_FIELD) revert MarginRegistry__NotInField(newLinCommitment);
        ModelClock memory m = _model;
        uint256 boundary = ModelSignals.DAY * (uint256(m.day) + 2);
        if (block.timestamp < boundary) revert MarginRegistry__NoNewDay(m.day);
        uint256[] memory prices = _closePrices(rounds, boundary);
        uint256 prev = stateCommitment;
        _verifyStep(proof, verifier, [prev, newState, newLinCommitment, contextOf(blockNo)], prices);
        _useRounds(rounds);
        stateCommitment = newState;
        linCommitment = newLinCommitment;
        m.day += 1;
        _bumpVersion(m);
        _emitStepped(m, [prev, newState, newLinCommitment, blockNo], rounds, prices);
    }

    /// @dev Verifies a step proof for [prev, new, lin, paramHash, context, packed(prices)...].
    function _verifyStep(Groth16Call.Proof calldata proof, address verifier, uint256[4] memory v,
                         uint256[] memory prices) private view {
        uint256[] memory packed = _pack(prices);
        uint256[] memory signals = new uint256[](ModelSignals.STEP_FIXED + packed.length);
        signals[0] = v[0];
        signals[1] = v[1];
        signals[2] = v[2];
        signals[3] = paramHash;
        signals[4] = v[3];
        _copy(signals, ModelSignals.STEP_FIXED, packed);
        if (!Groth16Call.verify(verifier, stepSelector, proof, signals)) revert MarginRegistry__InvalidProof();
    }

    /// @dev Emits ModelStepped; v = [prevState, newState, linCommitment, blockNo].
    function _emitStepped(ModelClock memory m, uint256[4] memory v, uint80[] calldata rounds,
                          uint256[] memory prices) private {
        emit ModelStepped(m.day, v[0], v[1], v[2], m.version, rounds, prices, v[3], msg.sender);
    }

    /// @notice An intraday linear revaluation at the feeds' latest answers with the current
    ///         state (unchanged). Refused while a step is due (every feed past the boundary).
    /// @dev Public signals: [stateCommitment, newLinCommitment, paramHash, context(blockNo),
    ///      packedPrices()...]; the answers must be at most maxPriceAge old.
    /// @param proof The Groth16 proof.
    /// @param blockNo The block the proof's context binds.
    /// @param newLinCommitment The linear P&L commitment at the latest prices.
    function submitModelReval(Groth16Call.Proof calldata proof, uint256 blockNo, uint256 newLinCommitment)
        external
        onlySubmitter
    {
        address verifier = revalVerifier;
        if (verifier == address(0)) revert MarginRegistry__NotConfigured("revalVerifier");
        _checkContextBlock(blockNo);
        _checkModelConfigured();
        if (newLinCommitment >= SNARK_SCALAR_FIELD) revert MarginRegistry__NotInField(newLinCommitment);
        (uint80[] memory rounds, uint256[] memory prices,) = _freshPrices();
        uint256[] memory packed = _pack(prices);
        uint256[] memory signals = new uint256[](ModelSignals.REVAL_FIXED + packed.length);
        signals[0] = stateCommitment;
        signals[1] = newLinCommitment;
        signals[2] = paramHash;
        signals[3] = contextOf(blockNo);
        _copy(signals, ModelSignals.REVAL_FIXED, packed);
        if (!Groth16Call.verify(verifier, revalSelector, proof, signals)) revert MarginRegistry__InvalidProof();
        _useRounds(rounds);
        linCommitment = newLinCommitment;
        ModelClock memory m = _model;
        _bumpVersion(m);
        emit ModelRevalued(m.day, signals[0], newLinCommitment, m.version, rounds, prices, blockNo, msg.sender);
    }

    /// @notice Part `part` of the option revaluation (docs/PROVING.md section 3): parts land in
    ///         order; part 0 starts a chain at the current state and the feeds' latest fresh
    ///         answers (a later part 0 restarts it); parts 1.. use the chain's state, prices
    ///         and sponge. When part nParts - 1 lands, its sponge becomes optCommitment for
    ///         that state and a new model version starts.
    /// @dev Public signals: [state, prevOptSponge, nextOptSponge, paramHash, part, packedPrices...].
    /// @param proof The Groth16 proof.
    /// @param part The part index j = o * C + c.
    /// @param nextOptSponge The sponge state after this part.
    function submitOptionPart(Groth16Call.Proof calldata proof, uint256 part, uint256 nextOptSponge)
        external
        onlySubmitter
    {
        uint256 total = nParts;
        if (total == 0) revert MarginRegistry__NoOptions();
        address verifier = optionVerifier;
        if (verifier == address(0)) revert MarginRegistry__NotConfigured("optionVerifier");
        _checkModelConfigured();
        if (nextOptSponge >= SNARK_SCALAR_FIELD) revert MarginRegistry__NotInField(nextOptSponge);
        PendingOptions memory p = _pending;
        uint256 state = stateCommitment;
        if (part == 0) {
            (uint80[] memory rounds, uint256[] memory prices, uint64 pricesAt) = _freshPrices();
            uint256[] memory packed = _pack(prices);
            delete _pendingPrices;
            for (uint256 j = 0; j < packed.length; ++j) _pendingPrices.push(packed[j]);
            p = PendingOptions(state, 0, 0, pricesAt);
            emit OptionRevaluationStarted(state, rounds, prices, pricesAt);
        } else {
            if (part != p.nextPart) revert MarginRegistry__OptionPartOutOfOrder(part, p.nextPart);
            if (p.state != state) revert MarginRegistry__OptionStateMismatch(p.state, state);
        }
        uint256[] memory stored = _pendingPrices;
        uint256[] memory signals = new uint256[](ModelSignals.OPTION_FIXED + stored.length);
        signals[0] = state;
        signals[1] = p.sponge;
        signals[2] = nextOptSponge;
        signals[3] = paramHash;
        signals[4] = part;
        _copy(signals, ModelSignals.OPTION_FIXED, stored);
        if (!Groth16Call.verify(verifier, optionSelector, proof, signals)) revert MarginRegistry__InvalidProof();
        emit OptionPartProven(state, uint32(part), p.sponge, nextOptSponge, msg.sender);
        if (part + 1 == total) {
            delete _pending;
            optCommitment = nextOptSponge;
            optState = state;
            ModelClock memory m = _model;
            m.optPricesAt = p.pricesAt;
            _bumpVersion(m);
            emit OptionsRevalued(state, nextOptSponge, m.version, p.pricesAt);
        } else {
            _pending = PendingOptions(state, nextOptSponge, uint32(part + 1), p.pricesAt);
        }
    }

    // ---------------------------------------------------------------- keepers: margins

    /// @notice Record the tiers of one aligned group of N leaves, proven against the current
    ///         model version and accounts root, with its context bound to `blockNo`. The record
    ///         expires at block `blockNo + maxAge` (maxAge as of now).
    /// @dev Public signals: [accountsRoot, linCommitment, optCommitment, context(blockNo),
    ///      packedResult], all but packedResult from storage. The model version must be usable:
    ///      a linear commitment set, and (with options) the option commitment for the current
    ///      state with prices at most optionMaxAge old.
    /// @param proof The Groth16 proof.
    /// @param blockNo The context block: not in the future, at most maxAge old, and not before
    ///        the block at which the current model version was set.
    /// @param version The model version the proof was made for (must be current).
    /// @param group The group index: leaves [group * N, (group + 1) * N).
    /// @param packedResult group + 2**32 * N + 2**40 * sum_a tier[a] * 4**a, as the circuit
    ///        outputs it (N binds the circuit's batch size to groupSize, issue 13 L1).
    function submitMarginBatch(
        Groth16Call.Proof calldata proof,
        uint256 blockNo,
        uint32 version,
        uint256 group,
        uint256 packedResult
    ) external onlySubmitter {
        (uint256 lin, uint256 opt, Clock memory clock) = _usableModel(blockNo, version);
        uint256 tiers = _tiersOf(group, packedResult);
        _checkReplay(group, blockNo, clock.rootVersion, version);
        _verifyMargin(proof, [accountsRoot, lin, opt, contextOf(blockNo), packedResult]);
        _record(group, tiers, blockNo, clock, version);
    }

    /// @dev A record of the same root and model version from `blockNo` or later blocks the
    ///      submission: a replay (or an older proof) never overwrites a fresher record.
    function _checkReplay(uint256 group, uint256 blockNo, uint32 rootV, uint32 version) private view {
        uint256 old = _records[group];
        if (uint48(old >> 128) >= blockNo && uint32(old >> 192) == rootV && uint32(old >> 224) == version) {
            revert MarginRegistry__AlreadyRecorded(group, blockNo, rootV, version);
        }
    }

    /// @dev Stores a group's record (expiry = blockNo + maxAge now) and emits MarginBatchRecorded.
    function _record(uint256 group, uint256 tiers, uint256 blockNo, Clock memory clock, uint32 version) private {
        _records[group] = tiers | (blockNo << 128) | (uint256(clock.maxAge) << 176)
            | (uint256(clock.rootVersion) << 192) | (uint256(version) << 224);
        emit MarginBatchRecorded(blockNo, group, clock.rootVersion, version, tiers, blockNo + clock.maxAge,
                                 msg.sender);
    }

    /// @dev The tiers of packedResult = group + 2**32 * N + 2**40 * tiers, after checking it is
    ///      a field element, names `group`, N == groupSize (L1) and no bit above the N tiers.
    function _tiersOf(uint256 group, uint256 packedResult) private view returns (uint256 tiers) {
        if (packedResult >= SNARK_SCALAR_FIELD) revert MarginRegistry__NotInField(packedResult);
        uint256 packedGroup = packedResult & ((1 << GROUP_BITS) - 1);
        if (packedGroup != group) revert MarginRegistry__GroupMismatch(group, packedGroup);
        uint256 n = (packedResult >> GROUP_BITS) & ((1 << SHAPE_BITS) - 1);
        if (n != groupSize) revert MarginRegistry__WrongShape(n, groupSize);
        tiers = packedResult >> TIERS_SHIFT;
        if (tiers >> (2 * n) != 0) revert MarginRegistry__ResultOutOfRange(packedResult);
    }

    /// @dev The commitments of the current model version, after checking that `version` is it,
    ///      that it is usable (linear commitment set; option commitment for the current state
    ///      and at most optionMaxAge old) and that `blockNo` is a fresh context block not
    ///      before the version was set.
    function _usableModel(uint256 blockNo, uint32 version)
        private
        view
        returns (uint256 lin, uint256 opt, Clock memory clock)
    {
        ModelClock memory m = _model;
        clock = _clock;
        if (version != m.version) revert MarginRegistry__StaleModel(version, m.version);
        if (blockNo > block.number) revert MarginRegistry__FutureBlock(blockNo, block.number);
        if (block.number - blockNo > clock.maxAge || blockNo < m.versionBlock) {
            revert MarginRegistry__StaleBlock(blockNo, m.versionBlock, block.number);
        }
        lin = linCommitment;
        if (lin == 0) revert MarginRegistry__NoModelCommitment(m.version);
        if (nParts != 0) {
            opt = optCommitment;
            uint256 state = stateCommitment;
            if (optState != state || opt == 0 || block.timestamp > uint256(m.optPricesAt) + clock.optionMaxAge) {
                revert MarginRegistry__OptionsStale(optState, state, m.optPricesAt);
            }
        }
    }

    /// @dev Verifies a margin batch proof for its 5 signals (a reverting or code-less verifier rejects).
    function _verifyMargin(Groth16Call.Proof calldata proof, uint256[5] memory v) private view {
        address verifier = address(marginVerifier);
        if (verifier == address(0)) revert MarginRegistry__NotConfigured("marginVerifier");
        uint256[] memory signals = new uint256[](MARGIN_SIGNALS);
        for (uint256 i = 0; i < MARGIN_SIGNALS; ++i) signals[i] = v[i];
        if (!Groth16Call.verify(verifier, IMarginVerifier.verifyProof.selector, proof, signals)) {
            revert MarginRegistry__InvalidProof();
        }
    }

    // ---------------------------------------------------------------- views

    /// @notice The context public signal that binds a proof to this chain, this registry and a block.
    /// @return uint256(keccak256(abi.encodePacked(chainid, address(this), blockNo))) >> 3.
    function contextOf(uint256 blockNo) public view returns (uint256) {
        return uint256(keccak256(abi.encodePacked(block.chainid, address(this), blockNo))) >> 3;
    }

    /// @notice The feeds' latest answers as a revaluation reads them, packed 5 per field element.
    /// @dev Reverts as submitModelReval would on a stale or out-of-range answer, or a step due.
    function packedPrices() external view returns (uint256[] memory) {
        (, uint256[] memory prices,) = _freshPrices();
        return _pack(prices);
    }

    /// @notice The close prices of the next step from `rounds`, packed (reverts as the step would).
    function packedClosePrices(uint80[] calldata rounds) external view returns (uint256[] memory) {
        uint256 boundary = stepBoundary();
        if (block.timestamp < boundary) revert MarginRegistry__NoNewDay(_model.day);
        return _pack(_closePrices(rounds, boundary));
    }

    /// @notice The instant the next step's rounds must be dated at or after: 86400 * (day + 2).
    function stepBoundary() public view returns (uint256) {
        return ModelSignals.DAY * (uint256(_model.day) + 2);
    }

    /// @notice The packed prices of the pending option revaluation (empty when none).
    function pendingOptionPrices() external view returns (uint256[] memory) {
        return _pendingPrices;
    }

    /// @notice The pending option revaluation: its state, sponge, next part and prices' time.
    function pendingOptions() external view returns (uint256 state, uint256 sponge, uint32 nextPart, uint64 pricesAt) {
        PendingOptions memory p = _pending;
        return (p.state, p.sponge, p.nextPart, p.pricesAt);
    }

    /// @notice The current model: UTC day of the state's close, version number, the block the
    ///         version was set at, and the time of the option commitment's prices.
    function model() external view returns (uint64 day_, uint32 version, uint64 versionBlock, uint64 optPricesAt) {
        ModelClock memory m = _model;
        return (m.day, m.version, m.versionBlock, m.optPricesAt);
    }

    /// @notice The UTC day number of the close held in the current state.
    function day() external view returns (uint64) {
        return _model.day;
    }

    /// @notice The current model version number.
    function modelVersion() external view returns (uint32) {
        return _model.version;
    }

    /// @notice Whether margin batches can be proven against the current model version now.
    function modelUsable() public view returns (bool) {
        if (linCommitment == 0) return false;
        if (nParts == 0) return true;
        return optState == stateCommitment && optCommitment != 0
            && block.timestamp <= uint256(_model.optPricesAt) + _clock.optionMaxAge;
    }

    /// @notice The feeds, in asset order.
    function priceFeeds() external view returns (address[] memory feeds) {
        feeds = new address[](_feeds.length);
        for (uint256 i = 0; i < feeds.length; ++i) feeds[i] = address(_feeds[i].feed);
    }

    /// @notice The current accounts root version.
    function rootVersion() external view returns (uint32) {
        return _clock.rootVersion;
    }

    /// @notice How many blocks a record stays fresh.
    function maxAge() external view returns (uint64) {
        return _clock.maxAge;
    }

    /// @notice Seconds a feed answer stays usable for a revaluation.
    function maxPriceAge() external view returns (uint64) {
        return _clock.maxPriceAge;
    }

    /// @notice Seconds an option commitment stays usable for margin batches.
    function optionMaxAge() external view returns (uint64) {
        return _clock.optionMaxAge;
    }

    /// @notice The leaf of a registered owner.
    function leafOf(address owner) external view returns (bool registered, uint32 leaf) {
        uint256 p = uint64(_accounts[owner]);
        return (p != 0, p == 0 ? 0 : uint32(p - 1));
    }

    /// @notice Blocks without a keeper submission after which anyone may submit.
    function keeperStall() external view returns (uint32) {
        return _clock.keeperStall;
    }

    /// @notice The block of the latest keeper-role submission (or of the end of genesis).
    function lastKeeperBlock() external view returns (uint48) {
        return _clock.lastKeeperBlock;
    }

    /// @notice The first block at which anyone (not only a keeper) may submit proofs.
    function openSubmissionBlock() public view returns (uint256) {
        return uint256(_clock.lastKeeperBlock) + _clock.keeperStall;
    }

    /// @notice Whether `account` holds the venue role.
    function isVenue(address account) external view returns (bool) {
        return hasRole(VENUE_ROLE, account);
    }

    /// @notice Whether `account` holds the keeper role.
    function isKeeper(address account) external view returns (bool) {
        return hasRole(KEEPER_ROLE, account);
    }

    /// @notice Whether genesis is over (admin calls go through the timelock).
    function genesisOver() external view returns (bool) {
        return timelock != address(0);
    }

    /// @notice The stored record of a group.
    /// @return tiers 2 bits per leaf (leaf a of the group at bits 2a, 2a+1).
    /// @return blockNo The context block it was proven for (0: never).
    /// @return version The root version it was proven against.
    /// @return modelVersion_ The model version it was proven under.
    function recordOf(uint256 group)
        external
        view
        returns (uint256 tiers, uint64 blockNo, uint32 version, uint32 modelVersion_)
    {
        uint256 r = _records[group];
        return (r & type(uint128).max, uint48(r >> 128), uint32(r >> 192), uint32(r >> 224));
    }

    /// @notice The last block at which a group's record can be valid (its block + the maxAge
    ///         in force when it was written; 0 when never recorded).
    function expiryOf(uint256 group) external view returns (uint256) {
        uint256 r = _records[group];
        return r == 0 ? 0 : uint256(uint48(r >> 128)) + uint16(r >> 176);
    }

    /// @notice The latest proven health of an account.
    /// @return tier 0 healthy, 1 warning, 2 no new risk, 3 liquidatable (0 when none proven).
    /// @return provenBlock The block the tier was proven for (0 when none).
    /// @return valid True iff the record was proven under the current model version and the
    ///         current accounts-root version (a root posted after the owner registered), the
    ///         block is at most its expiry, and the registry is not paused.
    function healthOf(address owner) public view returns (uint8 tier, uint64 provenBlock, bool valid) {
        uint256 acct = _accounts[owner];
        uint256 p = uint64(acct);
        if (p == 0) return (0, 0, false);
        uint256 leaf = p - 1;
        uint256 r = _records[leaf / groupSize];
        provenBlock = uint48(r >> 128);
        if (provenBlock == 0) return (0, 0, false);
        tier = uint8((r >> (2 * (leaf % groupSize))) & 3);
        uint32 rootV = uint32(r >> 192);
        valid = rootV == _clock.rootVersion && rootV >= uint32(acct >> 64)
            && uint32(r >> 224) == _model.version
            && block.number <= uint256(provenBlock) + uint16(r >> 176)
            && !paused();
    }

    /// @notice Whether the account is proven liquidatable: tier 3 in a valid record (a
    ///         liquidation needs a fresh proof; false when stale, missing or paused).
    function isLiquidatable(address owner) external view returns (bool) {
        (uint8 tier,, bool valid) = healthOf(owner);
        return valid && tier == TIER_LIQUIDATABLE;
    }

    /// @notice Whether the account may withdraw: a valid record proves equity >= IM (tier <= 1).
    ///         Fails safe: false when the record is stale, missing or the registry paused.
    function canWithdraw(address owner) external view returns (bool) {
        (uint8 tier,, bool valid) = healthOf(owner);
        return valid && tier <= TIER_MAX_WITHDRAW;
    }

    /// @notice Whether the account may take a trade that adds risk: as canWithdraw (tier <= 1
    ///         in a valid record), false when stale, missing or paused.
    function canIncreaseRisk(address owner) external view returns (bool) {
        (uint8 tier,, bool valid) = healthOf(owner);
        return valid && tier <= TIER_MAX_WITHDRAW;
    }

    /// @notice Risk-reducing trades (and deposits) are never gated: always true, even when the
    ///         records are stale or the registry is paused, so traders are never locked in.
    function canReduceRisk(address) external pure returns (bool) {
        return true;
    }

    // ---------------------------------------------------------------- internals

    /// @dev The context block must not be in the future nor more than maxAge blocks old.
    function _checkContextBlock(uint256 blockNo) private view {
        if (blockNo > block.number) revert MarginRegistry__FutureBlock(blockNo, block.number);
        if (block.number - blockNo > _clock.maxAge) {
            revert MarginRegistry__StaleBlock(blockNo, _model.versionBlock, block.number);
        }
    }

    /// @dev A KEEPER_ROLE sender records its block; anyone else needs keeperStall blocks
    ///      since the last keeper submission (docs/CHAIN.md, liveness).
    function _checkSubmitter() private {
        if (hasRole(KEEPER_ROLE, msg.sender)) {
            if (_clock.lastKeeperBlock != block.number) _clock.lastKeeperBlock = uint48(block.number);
            return;
        }
        uint256 openAt = openSubmissionBlock();
        if (block.number < openAt) revert MarginRegistry__KeeperActive(_clock.lastKeeperBlock, openAt);
    }

    /// @dev Sets the parameter hash; clears the commitments proven under the old one and the
    ///      pending option chain; starts a new model version.
    function _setParamHash(uint256 paramHash_) private {
        if (paramHash_ >= SNARK_SCALAR_FIELD) revert MarginRegistry__NotInField(paramHash_);
        paramHash = paramHash_;
        _clearCommitments();
    }

    /// @dev After a verifier or parameter change: clears what model proofs established under
    ///      the old ones (linear and option commitments, the option state and prices' time, the
    ///      pending option chain and its prices), starts a new model version and emits
    ///      ModelCommitmentsCleared with the cleared commitments. The state and day stay.
    function _clearCommitments() private {
        uint256 lin = linCommitment;
        uint256 opt = optCommitment;
        linCommitment = 0;
        optCommitment = 0;
        optState = 0;
        delete _pending;
        delete _pendingPrices;
        ModelClock memory m = _model;
        m.optPricesAt = 0;
        _bumpVersion(m);
        emit ModelCommitmentsCleared(lin, opt, m.version);
    }

    /// @dev Sets the state and its day; clears the linear commitment and the pending option
    ///      chain; starts a new model version.
    function _setModelState(uint256 state, uint64 day_) private {
        if (state >= SNARK_SCALAR_FIELD) revert MarginRegistry__NotInField(state);
        stateCommitment = state;
        linCommitment = 0;
        delete _pending;
        ModelClock memory m = _model;
        m.day = day_;
        _bumpVersion(m);
    }

    /// @dev Records each asset's round as the last used (rounds were checked not older).
    function _useRounds(uint80[] memory rounds) private {
        for (uint256 i = 0; i < rounds.length; ++i) {
            if (_feeds[i].lastRound != rounds[i]) _feeds[i].lastRound = rounds[i];
        }
    }

    /// @dev Parameters and a state must be set before any model proof.
    function _checkModelConfigured() private view {
        if (paramHash == 0) revert MarginRegistry__NotConfigured("paramHash");
        if (stateCommitment == 0) revert MarginRegistry__NotConfigured("stateCommitment");
        if (_feeds.length == 0) revert MarginRegistry__NotConfigured("priceFeeds");
    }

    /// @dev New model version number, set at this block; stores the clock.
    function _bumpVersion(ModelClock memory m) private {
        m.version += 1;
        m.versionBlock = uint64(block.number);
        _model = m;
    }

    /// @dev The close prices of a step: per feed, round rounds[i] must exist, be complete
    ///      (answeredInRound >= roundId), be dated in [boundary, now], and its predecessor
    ///      must be dated before the boundary (or not exist).
    function _closePrices(uint80[] calldata rounds, uint256 boundary) private view returns (uint256[] memory prices) {
        uint256 n = _feeds.length;
        if (n == 0) revert MarginRegistry__NotConfigured("priceFeeds");
        if (rounds.length != n) revert MarginRegistry__WrongFeedCount(rounds.length, n);
        prices = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            Feed memory f = _feeds[i];
            uint80 id = rounds[i];
            (bool ok, int256 answer, uint256 updatedAt, uint80 answeredIn) = _round(f.feed, id);
            if (!ok) revert MarginRegistry__NoSuchRound(i, id);
            if (id < f.lastRound) revert MarginRegistry__RoundTooOld(i, id, f.lastRound);
            if (updatedAt < boundary) revert MarginRegistry__RoundBeforeBoundary(i, id, updatedAt, boundary);
            if (updatedAt > block.timestamp) revert MarginRegistry__StalePrice(i, updatedAt);
            if (answeredIn < id) revert MarginRegistry__IncompleteRound(i, id, answeredIn);
            if (id > 1) {
                (bool okPrev,, uint256 prevAt,) = _round(f.feed, id - 1);
                if (okPrev && prevAt >= boundary) revert MarginRegistry__RoundNotFirst(i, id, prevAt, boundary);
            }
            prices[i] = _scale(i, f.decimals, answer);
        }
    }

    /// @dev The latest answers, each at most maxPriceAge old and not in the future; reverts
    ///      StepDue when every feed is past the step boundary. Returns rounds, prices and the
    ///      oldest updatedAt.
    function _freshPrices() private view returns (uint80[] memory rounds, uint256[] memory prices, uint64 oldest) {
        uint256 n = _feeds.length;
        if (n == 0) revert MarginRegistry__NotConfigured("priceFeeds");
        rounds = new uint80[](n);
        prices = new uint256[](n);
        uint256 boundary = stepBoundary();
        uint256 maxPriceAge_ = _clock.maxPriceAge;
        bool allPast = true;
        oldest = type(uint64).max;
        for (uint256 i = 0; i < n; ++i) {
            Feed memory f = _feeds[i];
            (uint80 id, int256 answer, uint256 updatedAt, uint80 answeredIn) = _latest(f.feed);
            if (updatedAt == 0 || updatedAt > block.timestamp || block.timestamp - updatedAt > maxPriceAge_) {
                revert MarginRegistry__StalePrice(i, updatedAt);
            }
            if (answeredIn < id) revert MarginRegistry__IncompleteRound(i, id, answeredIn);
            if (id < f.lastRound) revert MarginRegistry__RoundTooOld(i, id, f.lastRound);
            if (updatedAt < boundary) allPast = false;
            if (updatedAt < oldest) oldest = uint64(updatedAt);
            rounds[i] = id;
            prices[i] = _scale(i, f.decimals, answer);
        }
        if (allPast) revert MarginRegistry__StepDue(_model.day);
    }

    /// @dev latestRoundData without reverting: a feed that reverts reads as never updated
    ///      (updatedAt 0), so the caller reverts StalePrice(asset, 0) instead of bubbling the feed's error.
    function _latest(AggregatorV3Interface feed)
        private
        view
        returns (uint80 id, int256 answer, uint256 updatedAt, uint80 answeredIn)
    {
        try feed.latestRoundData() returns (uint80 rid, int256 a, uint256, uint256 u, uint80 air) {
            return (rid, a, u, air);
        } catch {
            return (0, 0, 0, 0);
        }
    }

    /// @dev getRoundData without reverting: ok is false when the feed reverts or answers for another round.
    function _round(AggregatorV3Interface feed, uint80 id)
        private
        view
        returns (bool ok, int256 answer, uint256 updatedAt, uint80 answeredIn)
    {
        try feed.getRoundData(id) returns (uint80 rid, int256 a, uint256, uint256 u, uint80 air) {
            return (rid == id, a, u, air);
        } catch {
            return (false, 0, 0, 0);
        }
    }

    /// @dev Asset i's answer at PRICE_SCALE (rounded down), checked in [1, 2**48).
    function _scale(uint256 i, uint8 decimals, int256 answer) private pure returns (uint256 price) {
        // An answer >= 2**200 is out of range whatever the decimals (<= 36); rejecting it here
        // keeps the scaling from overflowing.
        if (answer <= 0 || uint256(answer) >> 200 != 0) revert MarginRegistry__PriceOutOfRange(i, answer);
        price = decimals >= 6 ? uint256(answer) / 10 ** (decimals - 6) : uint256(answer) * 10 ** (6 - decimals);
        if (price == 0 || price >> ModelSignals.PRICE_BITS != 0) revert MarginRegistry__PriceOutOfRange(i, answer);
    }

    /// @dev 5 prices per field element at 50-bit lanes.
    function _pack(uint256[] memory prices) private pure returns (uint256[] memory packed) {
        packed = new uint256[](ModelSignals.priceSignals(prices.length));
        for (uint256 i = 0; i < prices.length; ++i) {
            packed[i / ModelSignals.PRICES_PER_SIGNAL] |=
                prices[i] << (ModelSignals.PRICE_LANE_BITS * (i % ModelSignals.PRICES_PER_SIGNAL));
        }
    }

    /// @dev signals[offset + j] = tail[j].
    function _copy(uint256[] memory signals, uint256 offset, uint256[] memory tail) private pure {
        for (uint256 j = 0; j < tail.length; ++j) signals[offset + j] = tail[j];
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AggregatorV3Interface} from "./interfaces/AggregatorV3Interface.sol";
import {IMarginVerifier} from "./interfaces/IMarginVerifier.sol";
import {ModelVerifierABI} from "./interfaces/IModelVerifier.sol";
import {Groth16Call} from "./Groth16Call.sol";

/// @title MarginRegistry
/// @notice Records zero-knowledge proven portfolio-margin health per account and gates
///         liquidations and withdrawals on it, without ever seeing a portfolio.
/// @dev Roles: governance (parameters, verifiers, feeds, roles), venues (post the accounts
///      root, register accounts), keepers (submit proofs). The data flow per block:
///        1. a keeper proves the model update from the stored model state and the feeds'
///           prices (`submitModelUpdate`): this fixes the block's scenario commitment;
///        2. keepers prove margin batches, one aligned group of N leaves of the venue's
///           accounts tree each, against the current accounts root and that scenario
///           commitment (`submitMarginBatch`); one storage word per group holds the N tiers
///           (2 bits each), the block and the root version.
///      A group record tells the health of a leaf while it is fresh (at most `maxAge` blocks
///      old) and the leaf has not changed since the root version the proof was made against.
///      Replays are rejected by the record key (group, block, root version) rather than by a
///      proof hash: Groth16 proofs are malleable (anyone can re-randomise A, B into a fresh
///      valid proof), so a hash would not stop a replay, while the key stops every proof of
///      the same statement. Full design: docs/CHAIN.md.
contract MarginRegistry {
    // ---------------------------------------------------------------- constants

    /// @notice BN254 scalar field order: every public signal must be below it.
    uint256 public constant SNARK_SCALAR_FIELD =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @notice Fixed point of the prices the model circuit takes (micro-USD per unit).
    uint256 public constant PRICE_SCALE = 1e6;
    /// @notice Largest group size: N tiers of 2 bits fill the record's 128 tier bits.
    uint256 public constant MAX_GROUP_SIZE = 64;

    uint256 private constant GROUP_BITS = 32;
    uint256 private constant MAX_FEED_DECIMALS = 36;
    uint256 private constant TIER_LIQUIDATABLE = 3;
    uint256 private constant TIER_MAX_WITHDRAW = 1;

    // ---------------------------------------------------------------- storage

    /// @notice Accounts per margin batch (the margin circuit's N; a power of two).
    uint256 public immutable groupSize;
    /// @notice Number of priced assets (one feed each) the model update consumes.
    uint256 public immutable nAssets;
    /// @notice Selector of the model verifier's verifyProof for 5 + ceil(nAssets / 5) signals.
    bytes4 public immutable modelVerifierSelector;

    /// @notice The governance address.
    address public governance;
    /// @notice Whether an address holds the venue role.
    mapping(address => bool) public isVenue;
    /// @notice Whether an address holds the keeper role.
    mapping(address => bool) public isKeeper;

    /// @notice The margin batch verifier (generated).
    IMarginVerifier public marginVerifier;
    /// @notice The model-update verifier (generated); zero while the model is attested.
    address public modelVerifier;

    /// @notice Hash of the public model parameters (GARCH, scenarios, haircuts, ...).
    uint256 public paramHash;
    /// @notice The model state commitment the next model update must start from.
    uint256 public stateCommitment;
    /// @notice The scenario (P&L) commitment of `latestModelBlock`.
    uint256 public latestScenario;
    /// @notice The venue's current accounts root.
    uint256 public accountsRoot;

    /// @dev Counters read together by every margin batch: one storage slot.
    struct Clock {
        uint64 rootVersion;      // bumped by every postAccountsRoot
        uint64 latestModelBlock; // block of the latest model update (0: none yet)
        uint64 maxAge;           // blocks a proof stays fresh
    }

    Clock private _clock;

    /// @notice Maximum age (seconds) of a feed answer the model update accepts.
    uint256 public maxPriceAge;

    /// @dev Feed address and its decimals, one slot per asset.
    struct Feed {
        AggregatorV3Interface feed;
        uint8 decimals;
    }

    Feed[] private _feeds;

    /// @notice Root version at which each leaf last changed.
    mapping(uint256 leaf => uint64) public lastChangedVersion;
    /// @dev leaf + 1 of each registered owner (0: not registered).
    mapping(address owner => uint256) private _leafPlusOne;
    /// @notice Owner registered at each leaf (zero: free).
    mapping(uint256 leaf => address) public ownerOf;
    /// @dev One packed word per group: tiers (bits 0..127, 2 bits per leaf, leaf a at 2a),
    ///      block (bits 128..191), root version (bits 192..255).
    mapping(uint256 group => uint256) private _records;

    // ---------------------------------------------------------------- events

    /// @notice Governance moved to a new address.
    event GovernanceTransferred(address indexed previous, address indexed next);
    /// @notice The venue role of `account` was granted (`enabled`) or revoked.
    event VenueSet(address indexed account, bool enabled);
    /// @notice The keeper role of `account` was granted (`enabled`) or revoked.
    event KeeperSet(address indexed account, bool enabled);
    /// @notice The model-parameter hash changed.
    event ParamHashSet(uint256 paramHash);
    /// @notice Governance set the model state commitment (genesis or reset).
    event ModelStateSet(uint256 stateCommitment);
    /// @notice The margin verifier changed.
    event MarginVerifierSet(address verifier);
    /// @notice The model verifier changed (zero: model updates are attested by governance).
    event ModelVerifierSet(address verifier);
    /// @notice The price feeds changed (one per asset, in the model's asset order).
    event PriceFeedsSet(address[] feeds);
    /// @notice The freshness window of proofs changed.
    event MaxAgeSet(uint64 blocks);
    /// @notice The maximum feed answer age changed.
    event MaxPriceAgeSet(uint256 secondsOld);
    /// @notice The venue posted a new accounts root.
    event AccountsRootPosted(uint256 root, uint64 indexed rootVersion, uint32[] changedLeaves);
    /// @notice The venue registered `owner` at `leaf` of the accounts tree.
    event AccountRegistered(address indexed owner, uint32 leaf);
    /// @notice The model advanced to `blockNo` (`proven`: by a proof, else attested).
    event ModelUpdated(
        uint256 indexed blockNo,
        uint256 prevState,
        uint256 newState,
        uint256 scenarioCommitment,
        address indexed submitter,
        bool proven
    );
    /// @notice A margin batch was proven: `tiers` packs 2 bits per leaf of `group`.
    event MarginBatchRecorded(
        uint256 indexed blockNo,
        uint256 indexed group,
        uint64 rootVersion,
        uint256 tiers,
        address indexed keeper
    );

    // ---------------------------------------------------------------- errors

    /// @notice The caller is not governance.
    error MarginRegistry__NotGovernance(address caller);
    /// @notice The caller does not hold the venue role.
    error MarginRegistry__NotVenue(address caller);
    /// @notice The caller does not hold the keeper role.
    error MarginRegistry__NotKeeper(address caller);
    /// @notice A zero address where an account or contract is required.
    error MarginRegistry__ZeroAddress();
    /// @notice Group size is not a power of two in [1, MAX_GROUP_SIZE], nAssets is zero, or a
    ///         feed has more than 36 decimals.
    error MarginRegistry__BadConfig();
    /// @notice A value meant as a public signal is not below the scalar field order.
    error MarginRegistry__NotInField(uint256 value);
    /// @notice The proof's block is not the latest model block, or is older than maxAge.
    error MarginRegistry__StaleBlock(uint256 blockNo, uint256 latestModelBlock, uint256 currentBlock);
    /// @notice The proof's block is after the current block.
    error MarginRegistry__FutureBlock(uint256 blockNo, uint256 currentBlock);
    /// @notice This group is already recorded for this block at this root version.
    error MarginRegistry__AlreadyRecorded(uint256 group, uint256 blockNo, uint64 rootVersion);
    /// @notice The group encoded in packedResult is not the group submitted.
    error MarginRegistry__GroupMismatch(uint256 group, uint256 packedGroup);
    /// @notice packedResult has bits set above the N tiers.
    error MarginRegistry__ResultOutOfRange(uint256 packedResult);
    /// @notice The verifier rejected the proof for the public signals the registry built.
    error MarginRegistry__InvalidProof();
    /// @notice A required parameter (verifier, param hash, model state, feeds) is unset.
    error MarginRegistry__NotConfigured(string what);
    /// @notice Model updates need a proof: governance attestation is off once a model verifier is set.
    error MarginRegistry__AttestationDisabled();
    /// @notice The number of feeds is not nAssets.
    error MarginRegistry__WrongFeedCount(uint256 got, uint256 want);
    /// @notice A feed answer is not positive or does not fit a 50-bit price lane at PRICE_SCALE.
    error MarginRegistry__BadPrice(uint256 asset, int256 answer);
    /// @notice A feed answer is older than maxPriceAge (or dated in the future).
    error MarginRegistry__StalePrice(uint256 asset, uint256 updatedAt);
    /// @notice The owner is already registered.
    error MarginRegistry__AlreadyRegistered(address owner);
    /// @notice The leaf already has an owner.
    error MarginRegistry__LeafTaken(uint32 leaf);

    // ---------------------------------------------------------------- modifiers

    modifier onlyGovernance() {
        if (msg.sender != governance) revert MarginRegistry__NotGovernance(msg.sender);
        _;
    }

    modifier onlyVenue() {
        if (!isVenue[msg.sender]) revert MarginRegistry__NotVenue(msg.sender);
        _;
    }

    modifier onlyKeeper() {
        if (!isKeeper[msg.sender]) revert MarginRegistry__NotKeeper(msg.sender);
        _;
    }

    // ---------------------------------------------------------------- setup

    /// @notice Deploy a registry; the deployer becomes governance.
    /// @param groupSize_ Accounts per margin batch (the margin circuit's N): a power of two, <= 64.
    /// @param nAssets_ Number of priced assets the model update reads (one feed each).
    /// @param maxAge_ Blocks a proof stays fresh.
    /// @param maxPriceAge_ Seconds a feed answer stays usable.
    constructor(uint256 groupSize_, uint256 nAssets_, uint64 maxAge_, uint256 maxPriceAge_) {
        if (groupSize_ == 0 || groupSize_ > MAX_GROUP_SIZE || groupSize_ & (groupSize_ - 1) != 0
            || nAssets_ == 0) revert MarginRegistry__BadConfig();
        groupSize = groupSize_;
        nAssets = nAssets_;
        modelVerifierSelector = Groth16Call.selectorFor(
            ModelVerifierABI.FIXED_SIGNALS
                + (nAssets_ + ModelVerifierABI.PRICES_PER_SIGNAL - 1) / ModelVerifierABI.PRICES_PER_SIGNAL);
        governance = msg.sender;
        _clock.maxAge = maxAge_;
        maxPriceAge = maxPriceAge_;
        emit GovernanceTransferred(address(0), msg.sender);
        emit MaxAgeSet(maxAge_);
        emit MaxPriceAgeSet(maxPriceAge_);
    }

    // ---------------------------------------------------------------- governance

    /// @notice Hand governance to `next`.
    /// @param next The new governance address (non-zero).
    function transferGovernance(address next) external onlyGovernance {
        if (next == address(0)) revert MarginRegistry__ZeroAddress();
        emit GovernanceTransferred(governance, next);
        governance = next;
    }

    /// @notice Grant or revoke the venue role.
    /// @param account The address.
    /// @param enabled True to grant, false to revoke.
    function setVenue(address account, bool enabled) external onlyGovernance {
        if (account == address(0)) revert MarginRegistry__ZeroAddress();
        isVenue[account] = enabled;
        emit VenueSet(account, enabled);
    }

    /// @notice Grant or revoke the keeper role.
    /// @param account The address.
    /// @param enabled True to grant, false to revoke.
    function setKeeper(address account, bool enabled) external onlyGovernance {
        if (account == address(0)) revert MarginRegistry__ZeroAddress();
        isKeeper[account] = enabled;
        emit KeeperSet(account, enabled);
    }

    /// @notice Publish the hash of the public model parameters.
    /// @param paramHash_ The hash (a field element).
    function setParamHash(uint256 paramHash_) external onlyGovernance {
        if (paramHash_ >= SNARK_SCALAR_FIELD) revert MarginRegistry__NotInField(paramHash_);
        paramHash = paramHash_;
        emit ParamHashSet(paramHash_);
    }

    /// @notice Set the model state commitment the next model update starts from (genesis).
    /// @param state The state commitment (a field element).
    function setModelState(uint256 state) external onlyGovernance {
        if (state >= SNARK_SCALAR_FIELD) revert MarginRegistry__NotInField(state);
        stateCommitment = state;
        emit ModelStateSet(state);
    }

    /// @notice Set the margin batch verifier.
    /// @param verifier The generated verifier contract (non-zero).
    function setMarginVerifier(address verifier) external onlyGovernance {
        if (verifier == address(0)) revert MarginRegistry__ZeroAddress();
        marginVerifier = IMarginVerifier(verifier);
        emit MarginVerifierSet(verifier);
    }

    /// @notice Set the model-update verifier; zero switches to governance attestation.
    /// @param verifier The generated verifier contract, or zero.
    function setModelVerifier(address verifier) external onlyGovernance {
        modelVerifier = verifier;
        emit ModelVerifierSet(verifier);
    }

    /// @notice Set the price feeds, one per asset in the model's asset order.
    /// @param feeds Exactly nAssets AggregatorV3 feeds.
    function setPriceFeeds(address[] calldata feeds) external onlyGovernance {
        if (feeds.length != nAssets) revert MarginRegistry__WrongFeedCount(feeds.length, nAssets);
        delete _feeds;
        for (uint256 i = 0; i < feeds.length; ++i) {
            if (feeds[i] == address(0)) revert MarginRegistry__ZeroAddress();
            AggregatorV3Interface f = AggregatorV3Interface(feeds[i]);
            uint8 decimals = f.decimals();
            // 10**(decimals - 6) must not overflow when converting to PRICE_SCALE.
            if (decimals > MAX_FEED_DECIMALS) revert MarginRegistry__BadConfig();
            _feeds.push(Feed(f, decimals));
        }
        emit PriceFeedsSet(feeds);
    }

    /// @notice Set how many blocks a proof stays fresh.
    /// @param blocks The window in blocks.
    function setMaxAge(uint64 blocks) external onlyGovernance {
        _clock.maxAge = blocks;
        emit MaxAgeSet(blocks);
    }

    /// @notice Set the maximum age of a feed answer the model update accepts.
    /// @param secondsOld The age in seconds.
    function setMaxPriceAge(uint256 secondsOld) external onlyGovernance {
        maxPriceAge = secondsOld;
        emit MaxPriceAgeSet(secondsOld);
    }

    // ---------------------------------------------------------------- venue

    /// @notice Post a new accounts root; every changed leaf invalidates its older records.
    /// @dev The venue lists every leaf whose commitment differs from the previous root's
    ///      (including leaves of newly registered accounts). Records proven against an older
    ///      root stay valid for the leaves that did not change.
    /// @param root The new Poseidon Merkle root of the account commitments.
    /// @param changedLeaves The leaves whose commitment changed.
    function postAccountsRoot(uint256 root, uint32[] calldata changedLeaves) external onlyVenue {
        if (root >= SNARK_SCALAR_FIELD) revert MarginRegistry__NotInField(root);
        uint64 version = _clock.rootVersion + 1;
        _clock.rootVersion = version;
        accountsRoot = root;
        for (uint256 i = 0; i < changedLeaves.length; ++i) {
            lastChangedVersion[changedLeaves[i]] = version;
        }
        emit AccountsRootPosted(root, version, changedLeaves);
    }

    /// @notice Register `owner` as the account at `leaf` of the accounts tree.
    /// @dev Marks the leaf changed at the next root version, so that no record proven before
    ///      the venue posts a root containing this account's commitment speaks for it.
    /// @param owner The account's address.
    /// @param leaf Its leaf index.
    function registerAccount(address owner, uint32 leaf) external onlyVenue {
        if (owner == address(0)) revert MarginRegistry__ZeroAddress();
        if (_leafPlusOne[owner] != 0) revert MarginRegistry__AlreadyRegistered(owner);
        if (ownerOf[leaf] != address(0)) revert MarginRegistry__LeafTaken(leaf);
        _leafPlusOne[owner] = uint256(leaf) + 1;
        ownerOf[leaf] = owner;
        lastChangedVersion[leaf] = _clock.rootVersion + 1;
        emit AccountRegistered(owner, leaf);
    }

    // ---------------------------------------------------------------- keepers

    /// @notice Advance the model by a proven update for `blockNo`.
    /// @dev Public signals: [stateCommitment, newState, scenarioCommitment, paramHash,
    ///      context(blockNo), packedPrices...] (see IModelVerifier.sol); the prices are read
    ///      from the feeds now, so the proof must be for the prices on-chain at submission.
    /// @param proof The Groth16 proof.
    /// @param blockNo The block the update is for (after the latest model block, not in the
    ///        future, at most maxAge old).
    /// @param newState The new model state commitment.
    /// @param scenarioCommitment The block's scenario (P&L) commitment.
    function submitModelUpdate(
        Groth16Call.Proof calldata proof,
        uint256 blockNo,
        uint256 newState,
        uint256 scenarioCommitment
    ) external onlyKeeper {
        address verifier = modelVerifier;
        if (verifier == address(0)) revert MarginRegistry__NotConfigured("modelVerifier");
        _checkModelUpdate(blockNo, newState, scenarioCommitment);
        uint256[] memory prices = packedPrices();
        uint256[] memory signals = new uint256[](ModelVerifierABI.FIXED_SIGNALS + prices.length);
        signals[0] = stateCommitment;
        signals[1] = newState;
        signals[2] = scenarioCommitment;
        signals[3] = paramHash;
        signals[4] = contextOf(blockNo);
        for (uint256 j = 0; j < prices.length; ++j) {
            signals[ModelVerifierABI.FIXED_SIGNALS + j] = prices[j];
        }
        if (!Groth16Call.verify(verifier, modelVerifierSelector, proof, signals)) {
            revert MarginRegistry__InvalidProof();
        }
        _applyModelUpdate(blockNo, newState, scenarioCommitment, true);
    }

    /// @notice Advance the model without a proof, while no model verifier is set.
    /// @dev The trusted bootstrap until the model-update circuit exists: governance vouches
    ///      for the scenario commitment. Disabled as soon as a model verifier is set.
    /// @param blockNo The block the update is for (same rules as submitModelUpdate).
    /// @param newState The new model state commitment.
    /// @param scenarioCommitment The block's scenario (P&L) commitment.
    function attestModelUpdate(uint256 blockNo, uint256 newState, uint256 scenarioCommitment)
        external
        onlyGovernance
    {
        if (modelVerifier != address(0)) revert MarginRegistry__AttestationDisabled();
        _checkModelUpdate(blockNo, newState, scenarioCommitment);
        _applyModelUpdate(blockNo, newState, scenarioCommitment, false);
    }

    /// @notice Record the tiers of one aligned group of N leaves, proven for `blockNo`.
    /// @dev Public signals: [accountsRoot, latestScenario, context(blockNo), packedResult],
    ///      all but packedResult taken from storage, so a proof against another root, another
    ///      scenario commitment, chain, registry or block fails verification.
    /// @param proof The Groth16 proof.
    /// @param blockNo The latest model block (and at most maxAge old).
    /// @param group The group index: leaves [group * N, (group + 1) * N).
    /// @param packedResult group + 2**32 * sum_a tier[a] * 4**a, as the circuit outputs it.
    function submitMarginBatch(
        Groth16Call.Proof calldata proof,
        uint256 blockNo,
        uint256 group,
        uint256 packedResult
    ) external onlyKeeper {
        Clock memory clock = _clock;
        _checkFresh(blockNo, clock);
        if (blockNo != clock.latestModelBlock) {
            revert MarginRegistry__StaleBlock(blockNo, clock.latestModelBlock, block.number);
        }
        if (packedResult >= SNARK_SCALAR_FIELD) revert MarginRegistry__NotInField(packedResult);
        uint256 packedGroup = packedResult & ((1 << GROUP_BITS) - 1);
        if (packedGroup != group) revert MarginRegistry__GroupMismatch(group, packedGroup);
        uint256 tiers = packedResult >> GROUP_BITS;
        if (tiers >> (2 * groupSize) != 0) revert MarginRegistry__ResultOutOfRange(packedResult);
        uint256 old = _records[group];
        if (uint64(old >> 128) == blockNo && uint64(old >> 192) == clock.rootVersion) {
            revert MarginRegistry__AlreadyRecorded(group, blockNo, clock.rootVersion);
        }
        IMarginVerifier verifier = marginVerifier;
        if (address(verifier) == address(0)) revert MarginRegistry__NotConfigured("marginVerifier");
        uint256[] memory signals = new uint256[](4);
        signals[0] = accountsRoot;
        signals[1] = latestScenario;
        signals[2] = contextOf(blockNo);
        signals[3] = packedResult;
        // Low-level call: a verifier that reverts or has no code rejects, like one returning false.
        if (!Groth16Call.verify(address(verifier), IMarginVerifier.verifyProof.selector, proof, signals)) {
            revert MarginRegistry__InvalidProof();
        }
        _records[group] = tiers | (blockNo << 128) | (uint256(clock.rootVersion) << 192);
        emit MarginBatchRecorded(blockNo, group, clock.rootVersion, tiers, msg.sender);
    }

    // ---------------------------------------------------------------- views

    /// @notice The context public signal that binds a proof to this chain, this registry and a block.
    /// @param blockNo The block.
    /// @return uint256(keccak256(abi.encodePacked(chainid, address(this), blockNo))) >> 3 (below the field order).
    function contextOf(uint256 blockNo) public view returns (uint256) {
        return uint256(keccak256(abi.encodePacked(block.chainid, address(this), blockNo))) >> 3;
    }

    /// @notice The feeds' current prices, packed 5 per field element (the model update's last signals).
    /// @dev price_i = answer_i * PRICE_SCALE / 10**decimals_i (rounded down); element j is
    ///      sum_{i<5} price_{5j+i} * 2**(50 i). Reverts on a stale, non-positive or too large answer.
    /// @return packed ceil(nAssets / 5) field elements.
    function packedPrices() public view returns (uint256[] memory packed) {
        uint256 n = _feeds.length;
        if (n == 0) revert MarginRegistry__NotConfigured("priceFeeds");
        packed = new uint256[]((n + ModelVerifierABI.PRICES_PER_SIGNAL - 1) / ModelVerifierABI.PRICES_PER_SIGNAL);
        for (uint256 i = 0; i < n; ++i) {
            uint256 price = _price(i);
            packed[i / ModelVerifierABI.PRICES_PER_SIGNAL] |=
                price << (ModelVerifierABI.PRICE_LANE_BITS * (i % ModelVerifierABI.PRICES_PER_SIGNAL));
        }
    }

    /// @notice The feeds, in asset order.
    /// @return feeds The feed addresses.
    function priceFeeds() external view returns (address[] memory feeds) {
        feeds = new address[](_feeds.length);
        for (uint256 i = 0; i < feeds.length; ++i) feeds[i] = address(_feeds[i].feed);
    }

    /// @notice The current accounts root version.
    function rootVersion() external view returns (uint64) {
        return _clock.rootVersion;
    }

    /// @notice The block of the latest model update (0: none yet).
    function latestModelBlock() external view returns (uint64) {
        return _clock.latestModelBlock;
    }

    /// @notice How many blocks a proof stays fresh.
    function maxAge() external view returns (uint64) {
        return _clock.maxAge;
    }

    /// @notice The scenario commitment of `blockNo` (only the latest model block is kept; 0 otherwise).
    /// @dev History lives in the ModelUpdated events: batches are only accepted for the latest block.
    /// @param blockNo The block.
    function scenarioOf(uint256 blockNo) external view returns (uint256) {
        Clock memory clock = _clock;
        return blockNo == clock.latestModelBlock && blockNo != 0 ? latestScenario : 0;
    }

    /// @notice The leaf of a registered owner.
    /// @param owner The account's address.
    /// @return registered Whether the owner is registered.
    /// @return leaf Its leaf (0 when not registered).
    function leafOf(address owner) external view returns (bool registered, uint32 leaf) {
        uint256 p = _leafPlusOne[owner];
        return (p != 0, p == 0 ? 0 : uint32(p - 1));
    }

    /// @notice The stored record of a group.
    /// @param group The group index.
    /// @return tiers 2 bits per leaf (leaf a of the group at bits 2a, 2a+1).
    /// @return blockNo The block it was proven for (0: never).
    /// @return version The root version it was proven against.
    function recordOf(uint256 group) external view returns (uint256 tiers, uint64 blockNo, uint64 version) {
        uint256 r = _records[group];
        return (r & type(uint128).max, uint64(r >> 128), uint64(r >> 192));
    }

    /// @notice The latest proven health of an account.
    /// @param owner The account's address.
    /// @return tier 0 healthy, 1 warning, 2 no new risk, 3 liquidatable (0 when none proven).
    /// @return provenBlock The block the tier was proven for (0 when none).
    /// @return valid True when the record is fresh (at most maxAge blocks old) and the account's
    ///         leaf has not changed since the root version the proof was made against.
    function healthOf(address owner) public view returns (uint8 tier, uint64 provenBlock, bool valid) {
        uint256 p = _leafPlusOne[owner];
        if (p == 0) return (0, 0, false);
        uint256 leaf = p - 1;
        uint256 r = _records[leaf / groupSize];
        provenBlock = uint64(r >> 128);
        if (provenBlock == 0) return (0, 0, false);
        tier = uint8((r >> (2 * (leaf % groupSize))) & 3);
        valid = uint64(r >> 192) >= lastChangedVersion[leaf]
            && block.number <= uint256(provenBlock) + _clock.maxAge;
    }

    /// @notice Whether the account is proven liquidatable (tier 3 in a valid record).
    /// @param owner The account's address.
    function isLiquidatable(address owner) external view returns (bool) {
        (uint8 tier,, bool valid) = healthOf(owner);
        return valid && tier == TIER_LIQUIDATABLE;
    }

    /// @notice Whether the account may withdraw: a valid record proves equity >= IM (tier <= 1).
    /// @dev The venue posts the post-withdrawal commitment first; the keeper then proves it.
    /// @param owner The account's address.
    function canWithdraw(address owner) external view returns (bool) {
        (uint8 tier,, bool valid) = healthOf(owner);
        return valid && tier <= TIER_MAX_WITHDRAW;
    }

    // ---------------------------------------------------------------- internals

    /// @dev Reverts unless blockNo <= block.number and block.number - blockNo <= maxAge.
    function _checkFresh(uint256 blockNo, Clock memory clock) private view {
        if (blockNo > block.number) revert MarginRegistry__FutureBlock(blockNo, block.number);
        if (block.number - blockNo > clock.maxAge) {
            revert MarginRegistry__StaleBlock(blockNo, clock.latestModelBlock, block.number);
        }
    }

    /// @dev The checks shared by proven and attested model updates: fresh, after the latest
    ///      model block, outputs in the field, parameters and genesis state set.
    function _checkModelUpdate(uint256 blockNo, uint256 newState, uint256 scenarioCommitment) private view {
        Clock memory clock = _clock;
        _checkFresh(blockNo, clock);
        if (blockNo <= clock.latestModelBlock) {
            revert MarginRegistry__StaleBlock(blockNo, clock.latestModelBlock, block.number);
        }
        if (newState >= SNARK_SCALAR_FIELD) revert MarginRegistry__NotInField(newState);
        if (scenarioCommitment >= SNARK_SCALAR_FIELD) revert MarginRegistry__NotInField(scenarioCommitment);
        if (paramHash == 0) revert MarginRegistry__NotConfigured("paramHash");
        if (stateCommitment == 0) revert MarginRegistry__NotConfigured("stateCommitment");
    }

    /// @dev Stores the new state, the block's scenario commitment and the block; emits ModelUpdated.
    function _applyModelUpdate(uint256 blockNo, uint256 newState, uint256 scenarioCommitment, bool proven)
        private
    {
        uint256 prev = stateCommitment;
        stateCommitment = newState;
        latestScenario = scenarioCommitment;
        _clock.latestModelBlock = uint64(blockNo);
        emit ModelUpdated(blockNo, prev, newState, scenarioCommitment, msg.sender, proven);
    }

    /// @dev Asset i's feed answer at PRICE_SCALE (rounded down), checked fresh and in (0, 2**50).
    function _price(uint256 i) private view returns (uint256 price) {
        Feed memory f = _feeds[i];
        (, int256 answer,, uint256 updatedAt,) = f.feed.latestRoundData();
        if (updatedAt == 0 || updatedAt > block.timestamp || block.timestamp - updatedAt > maxPriceAge) {
            revert MarginRegistry__StalePrice(i, updatedAt);
        }
        // Any answer >= 2**200 is out of the lane whatever the decimals (<= 36), and rejecting
        // it here keeps the scaling below from overflowing.
        if (answer <= 0 || uint256(answer) >> 200 != 0) revert MarginRegistry__BadPrice(i, answer);
        price = f.decimals >= 6
            ? uint256(answer) / 10 ** (f.decimals - 6)
            : uint256(answer) * 10 ** (6 - f.decimals);
        if (price == 0 || price >> ModelVerifierABI.PRICE_LANE_BITS != 0) revert MarginRegistry__BadPrice(i, answer);
    }
}

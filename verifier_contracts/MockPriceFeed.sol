// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AggregatorV3Interface} from "./interfaces/AggregatorV3Interface.sol";

/// @title MockPriceFeed
/// @notice A Chainlink-style price feed whose answers an owner sets: the oracle of the local
///         chain and of the demo's historical replays.
/// @dev Keeps every round, so `getRoundData` answers for past rounds as Chainlink does. Rounds
///      may carry any `updatedAt` (several intraday rounds per day, rounds across midnight,
///      replays of history), as long as it never goes back in time: the registry's daily step
///      relies on it ("the first round at or after midnight" is the one whose predecessor is
///      older). `answeredInRound` equals the round id unless set (to test carried-over answers).
contract MockPriceFeed is AggregatorV3Interface {
    struct Round {
        int256 answer;
        uint64 updatedAt;
        uint80 answeredInRound;
    }

    /// @notice The address allowed to set answers.
    address public immutable owner;
    /// @inheritdoc AggregatorV3Interface
    uint8 public immutable decimals;
    /// @inheritdoc AggregatorV3Interface
    string public description;
    /// @inheritdoc AggregatorV3Interface
    uint256 public constant version = 1;

    /// @notice The latest round id (0: no answer yet).
    uint80 public latestRound;
    mapping(uint80 => Round) private _rounds;

    /// @notice Chainlink's event for a new answer.
    event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);

    /// @notice The caller is not the owner.
    error MockPriceFeed__NotOwner(address caller);
    /// @notice No such round.
    error MockPriceFeed__NoRound(uint80 roundId);
    /// @notice A round dated before the latest one (or at 0, or beyond uint64).
    error MockPriceFeed__BadTimestamp(uint256 updatedAt, uint256 latestUpdatedAt);
    /// @notice answers and timestamps of different lengths.
    error MockPriceFeed__LengthMismatch(uint256 answers, uint256 timestamps);

    /// @notice Create a feed owned by the deployer.
    /// @param decimals_ Decimals of the answers.
    /// @param description_ The feed's name, e.g. "BTC / USD".
    constructor(uint8 decimals_, string memory description_) {
        owner = msg.sender;
        decimals = decimals_;
        description = description_;
    }

    /// @notice Publish `answer` now (updatedAt = this block's timestamp).
    /// @param answer The price, scaled by 10**decimals.
    function setAnswer(int256 answer) external {
        _push(answer, block.timestamp, 0);
    }

    /// @notice Publish `answer` dated `updatedAt` (replays, intraday rounds, stale-price tests).
    /// @param answer The price, scaled by 10**decimals.
    /// @param updatedAt Timestamp (seconds) to report: not before the latest round's.
    function setRoundData(int256 answer, uint256 updatedAt) external {
        _push(answer, updatedAt, 0);
    }

    /// @notice Publish several rounds in order, each with its own timestamp (non-decreasing).
    /// @param answers The prices, scaled by 10**decimals.
    /// @param updatedAts Their timestamps (seconds).
    function setRounds(int256[] calldata answers, uint256[] calldata updatedAts) external {
        if (answers.length != updatedAts.length) {
            revert MockPriceFeed__LengthMismatch(answers.length, updatedAts.length);
        }
        for (uint256 i = 0; i < answers.length; ++i) _push(answers[i], updatedAts[i], 0);
    }

    /// @notice Publish a round whose answer was carried over from round `answeredInRound`
    ///         (Chainlink's incomplete-round case; for tests).
    function setCarriedRound(int256 answer, uint256 updatedAt, uint80 answeredInRound) external {
        _push(answer, updatedAt, answeredInRound);
    }

    /// @inheritdoc AggregatorV3Interface
    function getRoundData(uint80 roundId)
        external
        view
        returns (uint80, int256, uint256, uint256, uint80)
    {
        if (roundId == 0 || roundId > latestRound) revert MockPriceFeed__NoRound(roundId);
        return _data(roundId);
    }

    /// @inheritdoc AggregatorV3Interface
    function latestRoundData()
        external
        view
        returns (uint80, int256, uint256, uint256, uint80)
    {
        uint80 id = latestRound;
        if (id == 0) revert MockPriceFeed__NoRound(0);
        return _data(id);
    }

    function _data(uint80 id) private view returns (uint80, int256, uint256, uint256, uint80) {
        Round memory r = _rounds[id];
        return (id, r.answer, r.updatedAt, r.updatedAt, r.answeredInRound == 0 ? id : r.answeredInRound);
    }

    function _push(int256 answer, uint256 updatedAt, uint80 answeredInRound) private {
        if (msg.sender != owner) revert MockPriceFeed__NotOwner(msg.sender);
        uint80 id = latestRound + 1;
        uint256 last = id > 1 ? _rounds[id - 1].updatedAt : 0;
        if (updatedAt == 0 || updatedAt < last || updatedAt > type(uint64).max) {
            revert MockPriceFeed__BadTimestamp(updatedAt, last);
        }
        latestRound = id;
        _rounds[id] = Round(answer, uint64(updatedAt), answeredInRound);
        emit AnswerUpdated(answer, id, updatedAt);
    }
}

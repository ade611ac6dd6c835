// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AggregatorV3Interface} from "./interfaces/AggregatorV3Interface.sol";

/// @title MockPriceFeed
/// @notice A Chainlink-style price feed whose answers an owner sets: the oracle of the local
///         chain and of the demo's historical replays.
/// @dev Keeps every round, so `getRoundData` answers for past rounds as Chainlink does.
contract MockPriceFeed is AggregatorV3Interface {
    struct Round {
        int256 answer;
        uint256 updatedAt;
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
        _push(answer, block.timestamp);
    }

    /// @notice Publish `answer` dated `updatedAt` (replays and stale-price tests).
    /// @param answer The price, scaled by 10**decimals.
    /// @param updatedAt Timestamp (seconds) to report.
    function setRoundData(int256 answer, uint256 updatedAt) external {
        _push(answer, updatedAt);
    }

    /// @inheritdoc AggregatorV3Interface
    function getRoundData(uint80 roundId)
        external
        view
        returns (uint80, int256, uint256, uint256, uint80)
    {
        if (roundId == 0 || roundId > latestRound) revert MockPriceFeed__NoRound(roundId);
        Round memory r = _rounds[roundId];
        return (roundId, r.answer, r.updatedAt, r.updatedAt, roundId);
    }

    /// @inheritdoc AggregatorV3Interface
    function latestRoundData()
        external
        view
        returns (uint80, int256, uint256, uint256, uint80)
    {
        uint80 id = latestRound;
        if (id == 0) revert MockPriceFeed__NoRound(0);
        Round memory r = _rounds[id];
        return (id, r.answer, r.updatedAt, r.updatedAt, id);
    }

    function _push(int256 answer, uint256 updatedAt) private {
        if (msg.sender != owner) revert MockPriceFeed__NotOwner(msg.sender);
        uint80 id = latestRound + 1;
        latestRound = id;
        _rounds[id] = Round(answer, updatedAt);
        emit AnswerUpdated(answer, id, updatedAt);
    }
}

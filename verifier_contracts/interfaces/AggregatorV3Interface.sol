// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title AggregatorV3Interface
/// @notice The read side of a Chainlink-style price feed (the subset calcm uses).
/// @dev Same function names and return tuples as Chainlink's AggregatorV3Interface, so a
///      registry deployed against real feeds and one deployed against `MockPriceFeed`
///      call exactly the same code.
interface AggregatorV3Interface {
    /// @notice Number of decimals of `answer` (a price of 1.5 USD with 8 decimals is 150000000).
    function decimals() external view returns (uint8);

    /// @notice Human-readable name of the feed, e.g. "BTC / USD".
    function description() external view returns (string memory);

    /// @notice Version of the aggregator implementation.
    function version() external view returns (uint256);

    /// @notice The data of one past round.
    /// @param roundId The round to read.
    /// @return roundId The round read.
    /// @return answer The price, scaled by 10**decimals().
    /// @return startedAt Timestamp (seconds) the round started.
    /// @return updatedAt Timestamp (seconds) the answer was last updated.
    /// @return answeredInRound The round in which the answer was computed.
    function getRoundData(uint80 roundId)
        external
        view
        returns (uint80, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);

    /// @notice The latest round's data (same fields as `getRoundData`).
    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ModelSignals (calling convention of the three model verifiers)
/// @notice The public-signal layouts of the v2 model circuits (docs/PROVING.md section 6), as
///         the registry builds them. Each circuit is a snarkjs Groth16 verifier with
///
///             verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[n])
///
///         and is called through `Groth16Call` with the selector for its n (fixed at the
///         registry's construction from nAssets). K = ceil(nAssets / 5).
/// @dev Layouts, in order:
///      - ModelStep (daily GARCH step + linear revaluation at the new close), n = 5 + K:
///          [prevState, newState, linCommitment, paramHash, context, packedPrices[0..K-1]]
///      - ModelReval (intraday linear revaluation, state unchanged), n = 4 + K:
///          [state, linCommitment, paramHash, context, packedPrices[0..K-1]]
///      - OptionPart (part j = o * C + c of the option revaluation), n = 5 + K:
///          [state, prevOptSponge, nextOptSponge, paramHash, part, packedPrices[0..K-1]]
///      where
///      - state / prevState / newState: stateCommitment = sponge([STATE_DOMAIN_V2, U, day]
///        ++ sigma2 ++ price) of the model state (docs/PROVING.md section 5);
///      - context = uint256(keccak256(abi.encodePacked(chainid, registry, blockNo))) >> 3;
///      - packedPrices[j] = sum_{i<5} price[5j + i] * 2**(50 i), price in PRICE_SCALE = 1e6
///        fixed point (rounded down), each 1 <= price < 2**48 (the circuits' price bound);
///        absent lanes of the last element are 0.
library ModelSignals {
    /// @notice Signals of the step proof before the packed prices.
    uint256 internal constant STEP_FIXED = 5;
    /// @notice Signals of the revaluation proof before the packed prices.
    uint256 internal constant REVAL_FIXED = 4;
    /// @notice Signals of an option-part proof before the packed prices.
    uint256 internal constant OPTION_FIXED = 5;
    /// @notice Prices packed per field element.
    uint256 internal constant PRICES_PER_SIGNAL = 5;
    /// @notice Bits per packed price lane.
    uint256 internal constant PRICE_LANE_BITS = 50;
    /// @notice Every price is below 2**PRICE_BITS (and at least 1): the circuits' range check.
    uint256 internal constant PRICE_BITS = 48;
    /// @notice Seconds per UTC day (day numbers are updatedAt / 86400).
    uint256 internal constant DAY = 86400;

    /// @notice Number of packed-price signals for `nAssets` assets.
    function priceSignals(uint256 nAssets) internal pure returns (uint256) {
        return (nAssets + PRICES_PER_SIGNAL - 1) / PRICES_PER_SIGNAL;
    }
}

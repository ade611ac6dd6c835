// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IModelVerifier (calling convention)
/// @notice The Groth16 verifier of the per-block model-update circuit, as snarkjs generates it.
/// @dev Solidity cannot declare an interface generic in the array length, and the generated
///      verifier takes a fixed-size array, so the registry calls it through `Groth16Call` with
///      the selector of
///
///          verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[5 + K])
///
///      where K = ceil(nAssets / 5) is the number of packed-price inputs. The public signals
///      are, in this order:
///
///          [prevStateCommitment, newStateCommitment, scenarioCommitment, paramHash, context,
///           packedPrices[0], ..., packedPrices[K - 1]]
///
///      - prevStateCommitment: the registry's stored model state (chained block to block);
///      - paramHash: the model-parameter hash governance published;
///      - context: uint256(keccak256(abi.encodePacked(chainid, registry, blockNo))) >> 3;
///      - packedPrices[j] = sum_{i<5} price[5j + i] * 2**(50 i), price in PRICE_SCALE = 1e6
///        fixed point (micro-USD per unit, rounded down), read from the price feeds, each
///        0 < price < 2**50; absent lanes of the last element are 0.
///      A model circuit that exposes these signals in this order is a drop-in model verifier.
library ModelVerifierABI {
    /// @notice Number of public signals before the packed prices.
    uint256 internal constant FIXED_SIGNALS = 5;
    /// @notice Prices packed per field element.
    uint256 internal constant PRICES_PER_SIGNAL = 5;
    /// @notice Bits per packed price lane.
    uint256 internal constant PRICE_LANE_BITS = 50;
}

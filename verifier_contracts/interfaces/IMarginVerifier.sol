// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IMarginVerifier
/// @notice The Groth16 verifier of the margin batch circuit, as snarkjs generates it
///         (`snarkjs zkey export solidityverifier`, see `generated/`).
/// @dev Public signals, in this order (docs/PROVING.md section 6, v2):
///      [accountsRoot, linCommitment, optCommitment, context, packedResult].
///      The generated verifier returns false (it never reverts) on a bad proof, on a public
///      signal >= the BN254 scalar field order, and when a precompile runs out of gas.
interface IMarginVerifier {
    /// @notice Whether `(pA, pB, pC)` is a valid proof for `pubSignals`.
    /// @param pA Proof point A (G1, affine x, y).
    /// @param pB Proof point B (G2, affine, each coordinate as [c1, c0] as snarkjs exports it).
    /// @param pC Proof point C (G1, affine x, y).
    /// @param pubSignals The 5 public signals.
    /// @return True when the proof verifies.
    function verifyProof(
        uint256[2] calldata pA,
        uint256[2][2] calldata pB,
        uint256[2] calldata pC,
        uint256[5] calldata pubSignals
    ) external view returns (bool);
}

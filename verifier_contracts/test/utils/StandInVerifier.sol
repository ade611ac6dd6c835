// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title StandInVerifier
/// @notice A stand-in for the generated Groth16 verifiers in forge runs: it accepts exactly
///         the (proof, public signals) pairs its owner registered as valid, for any
///         `verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[n])`. forge cannot run the
///         circuits' provers, so the invariants test the registry's binding of public signals,
///         not the pairing; the Python chain tests use the real generated verifiers.
/// @dev The key of a pair is keccak256 of the exact calldata Groth16Call sends
///      (selector ++ A ++ B ++ C ++ signals). `signalsAccepted` also remembers the signals
///      alone, so an invariant can ask whether any registered proof was for given signals.
contract StandInVerifier {
    address public immutable owner = msg.sender;
    mapping(bytes32 callKey => bool) public valid;
    mapping(bytes32 signalsKey => bool) public signalsAccepted;

    error StandInVerifier__NotOwner();

    /// @notice Register `proof` (8 words: A, B[0], B[1], C) as valid for `signals` under `selector`.
    function accept(bytes4 selector, uint256[8] calldata proof, uint256[] calldata signals) external {
        if (msg.sender != owner) revert StandInVerifier__NotOwner();
        valid[keccak256(abi.encodePacked(selector, proof, signals))] = true;
        signalsAccepted[keccak256(abi.encodePacked(selector, signals))] = true;
    }

    /// @notice Whether a proof was registered for `signals` under `selector`.
    function accepted(bytes4 selector, uint256[] calldata signals) external view returns (bool) {
        return signalsAccepted[keccak256(abi.encodePacked(selector, signals))];
    }

    /// @dev Any verifyProof: 32-byte true for a registered pair, false otherwise.
    fallback(bytes calldata data) external returns (bytes memory) {
        return abi.encode(valid[keccak256(data)]);
    }
}

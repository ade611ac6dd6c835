// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Groth16Call
/// @notice Calls a snarkjs-generated Groth16 verifier whose public-signal count is only known
///         at run time.
/// @dev snarkjs verifiers take `uint[n]` (a static array), whose ABI encoding is the n words
///      inline, so the calldata is `selector ++ A ++ B ++ C ++ signals` with the selector of
///      `verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[n])`. A verifier built for a
///      different n has a different selector and no fallback, so a count mismatch is a failed
///      call, never a misread.
library Groth16Call {
    /// @notice A Groth16 proof as snarkjs exports it for Solidity (`zkey export soliditycalldata`).
    struct Proof {
        uint256[2] a;
        uint256[2][2] b;
        uint256[2] c;
    }

    /// @notice The selector of `verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[n])`.
    /// @param n Number of public signals.
    /// @return The 4-byte function selector.
    function selectorFor(uint256 n) internal pure returns (bytes4) {
        return bytes4(keccak256(abi.encodePacked(
            "verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[", _decimal(n), "])")));
    }

    /// @notice Whether `verifier` accepts `proof` for `signals`.
    /// @dev False when the call reverts, when the target has no code (empty return data) or
    ///      when it returns anything but a 32-byte true.
    /// @param verifier The generated verifier contract.
    /// @param selector `selectorFor(signals.length)`.
    /// @param proof The proof.
    /// @param signals The public signals, in the circuit's order.
    /// @return ok True when the proof verifies.
    function verify(address verifier, bytes4 selector, Proof calldata proof, uint256[] memory signals)
        internal
        view
        returns (bool ok)
    {
        bytes memory data = abi.encodePacked(selector, proof.a, proof.b[0], proof.b[1], proof.c, signals);
        (bool success, bytes memory ret) = verifier.staticcall(data);
        ok = success && ret.length == 32 && abi.decode(ret, (bool));
    }

    function _decimal(uint256 v) private pure returns (bytes memory s) {
        if (v == 0) return "0";
        uint256 len = 0;
        for (uint256 t = v; t != 0; t /= 10) len++;
        s = new bytes(len);
        for (; v != 0; v /= 10) s[--len] = bytes1(uint8(48 + (v % 10)));
    }
}

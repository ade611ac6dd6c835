// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Vm (the forge cheatcodes the calcm tests use)
/// @dev A subset of forge-std's Vm interface, declared here because the npm forge-std 1.1.2 is
///      older than forge 1.7.1 (no StdInvariant, and it imports ds-test, which npm does not ship).
interface Vm {
    function warp(uint256 timestamp) external;
    function roll(uint256 blockNumber) external;
    function prank(address sender) external;
    function startPrank(address sender) external;
    function stopPrank() external;
    function expectRevert(bytes calldata revertData) external;
    function expectRevert(bytes4 revertSelector) external;
    function expectRevert() external;
    function expectEmit(address emitter) external;
    function assume(bool condition) external pure;
    function label(address account, string calldata name) external;
    function writeLine(string calldata path, string calldata data) external;
    function toString(uint256 value) external pure returns (string memory);
    function envOr(string calldata name, string calldata defaultValue) external view returns (string memory);
}

/// @title ForgeBase
/// @notice The minimal test base: cheatcodes, `bound`, and the target functions forge's
///         invariant runner reads (`targetContracts()`, `targetSelectors()`), as forge-std's
///         StdInvariant declares them.
abstract contract ForgeBase {
    /// @dev forge-std's FuzzSelector: the invariant runner calls only `selectors` of `addr`.
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    /// @notice A check of the test failed (the message says which).
    error Check(string what);

    bool public IS_TEST = true;
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    address[] private _targetContracts;
    FuzzSelector[] private _targetSelectors;

    /// @notice Contracts the invariant runner calls.
    function targetContracts() public view returns (address[] memory) {
        return _targetContracts;
    }

    /// @notice Functions the invariant runner calls, per target contract.
    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _targetSelectors;
    }

    function _targetContract(address target) internal {
        _targetContracts.push(target);
    }

    function _targetSelector(address target, bytes4[] memory selectors) internal {
        _targetSelectors.push(FuzzSelector(target, selectors));
    }

    /// @dev Fails the test (reverts) unless `ok`.
    function _check(bool ok, string memory what) internal pure {
        if (!ok) revert Check(what);
    }
}

/// @dev `x` itself when in [lo, hi] (lo <= hi), else mapped into it (uniform enough for fuzzing).
function bound(uint256 x, uint256 lo, uint256 hi) pure returns (uint256) {
    if (x >= lo && x <= hi) return x;
    uint256 span = hi - lo;
    return span == type(uint256).max ? x : lo + (x % (span + 1));
}

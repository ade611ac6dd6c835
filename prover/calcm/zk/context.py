"""The ``context`` public signal: binds a margin proof to one chain, registry and block.

``context = uint256(keccak256(abi.encodePacked(uint256 chainid, address registry,
uint256 block))) >> 3`` (docs/ARCHITECTURE.md). The shift keeps it below the
BN254 scalar field, so the contract can pass it as a public input unchanged.
"""
from __future__ import annotations

from eth_utils import keccak, to_canonical_address

from ..fixedpoint import FIELD_PRIME


def batch_context(chain_id: int, registry: str | bytes, block: int) -> int:
    """The context field element for ``(chain_id, registry, block)``."""
    addr = to_canonical_address(registry) if isinstance(registry, str) else bytes(registry)
    if len(addr) != 20:
        raise ValueError("registry must be a 20-byte address")
    packed = int(chain_id).to_bytes(32, "big") + addr + int(block).to_bytes(32, "big")
    ctx = int.from_bytes(keccak(packed), "big") >> 3
    assert ctx < FIELD_PRIME
    return ctx

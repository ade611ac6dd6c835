"""The Poseidon sponge, from wherever it lives during the move to ``calcm.poseidon``."""
from __future__ import annotations

try:
    from ...poseidon import poseidon, poseidon_sponge  # noqa: F401
except ImportError:  # pragma: no cover - before the move lands
    from ...zk.poseidon import poseidon, poseidon_sponge  # noqa: F401

RATE = 15


def pad15(xs: list[int]) -> list[int]:
    """Zero-pad to a whole number of 15-element sponge chunks (docs/PROVING.md §3)."""
    return list(xs) + [0] * (-len(xs) % RATE)


def absorb(h: int, xs: list[int]) -> int:
    """Continue a sponge from state ``h`` over ``pad15(xs)``: ``h = Poseidon16([h] + chunk)``.

    ``absorb(0, xs) == poseidon_sponge(xs)`` for non-empty ``xs``.
    """
    xs = pad15(xs)
    for j in range(0, len(xs), RATE):
        h = poseidon([h] + xs[j:j + RATE])
    return h

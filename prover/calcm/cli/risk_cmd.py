"""CLI commands of the risk stage."""
from __future__ import annotations


def register(main, bench, chain) -> None:
    """Attach this stage's commands to the root, `bench` and `chain` groups."""

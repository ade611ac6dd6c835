"""Which groups to prove at a head: the selection rules, as one pure function.

The v3 registry records one proof per aligned group of ``N`` leaves with the model version
and the accounts-root version it was proven under (docs/CHAIN.md). A record is valid while
it was proven under the *current* model version and the *current* root version and its
expiry block (``blockNo + maxAge`` at write time) has not passed. Every model version (a
daily step, an intraday revaluation, a completed option revaluation) and every new accounts
root therefore invalidates every record: the venue's list of changed leaves is not trusted.

A group holding at least one account (padding leaves never trigger anything) is selected
when one of its leaves has a reason:

``unproven``           the group has no record yet;
``model_version``      the record was proven under an older model version;
``root_version``       the record was proven under an older accounts root;
``refresh``            the record is ``refresh_blocks`` or more blocks old (``N < maxAge``
                       keeps records valid while the keeper runs).

Labels added to a selected group's leaves (never a trigger on their own): ``withdrawal``
(the venue asked for the post-withdrawal account to be proven) and ``near_mm`` (equity
within ``near_mm_buffer`` of MM, liquidatable accounts included).

Invariants (tests/keeper/test_selection.py): a group whose record is at the current model
version and the current root version, not older than ``refresh_blocks``, is never
selected; every other group holding an account is.
"""
from __future__ import annotations

from dataclasses import dataclass, field

REASONS = ("unproven", "model_version", "root_version", "refresh", "withdrawal", "near_mm")


@dataclass(frozen=True)
class SelectionPolicy:
    """``near_mm_buffer``: fraction of MM (0.10: equity within 10% above MM) for the
    ``near_mm`` label; ``refresh_blocks``: the rolling refresh period N, in blocks (>= 1)."""

    near_mm_buffer: float = 0.10
    refresh_blocks: int = 16

    def __post_init__(self):
        if not 0 <= self.near_mm_buffer < 10:
            raise ValueError("near_mm_buffer must be in [0, 10)")
        if self.refresh_blocks < 1:
            raise ValueError("refresh_blocks must be >= 1")


@dataclass(frozen=True)
class GroupRecord:
    """The registry's record of one group (``block`` 0: never proven): the context block,
    root version and model version it was proven under, tiers per leaf."""

    group: int
    block: int
    root_version: int
    model_version: int
    tiers: tuple[int, ...]


@dataclass(frozen=True)
class LeafState:
    """One account leaf now: fixed-point tier, equity and MM (money ints), and whether the
    venue asks for its post-withdrawal account to be proven (``withdrawal``)."""

    leaf: int
    tier: int
    equity: int
    mm: int
    withdrawal: bool = False


@dataclass(frozen=True)
class Selection:
    """Groups to prove, each with the reasons per leaf that selected it."""

    groups: dict[int, dict[int, tuple[str, ...]]] = field(default_factory=dict)

    @property
    def group_ids(self) -> list[int]:
        return sorted(self.groups)

    def reasons(self) -> dict[str, int]:
        """How many leaves gave each reason (a leaf may give several)."""
        out = {r: 0 for r in REASONS}
        for leaves in self.groups.values():
            for rs in leaves.values():
                for r in rs:
                    out[r] += 1
        return {r: n for r, n in out.items() if n}


def leaf_reasons(leaf: LeafState, record: GroupRecord, head: int, model_version: int,
                 policy: SelectionPolicy, root_version: int = 0) -> tuple[str, ...]:
    """The triggers leaf ``leaf`` gives for a new proof of its group at ``head`` under the
    current ``model_version`` and accounts ``root_version``."""
    if record.block == 0:
        return ("unproven",)
    out = []
    if record.model_version != model_version:
        out.append("model_version")
    if record.root_version != root_version:
        out.append("root_version")
    if head - record.block >= policy.refresh_blocks:
        out.append("refresh")
    return tuple(out)


def labels(leaf: LeafState, policy: SelectionPolicy) -> tuple[str, ...]:
    out = []
    if leaf.withdrawal:
        out.append("withdrawal")
    if leaf.mm > 0 and leaf.equity * 10_000 <= leaf.mm * round(10_000 * (1 + policy.near_mm_buffer)):
        out.append("near_mm")
    return tuple(out)


def select(leaves: list[LeafState], records: dict[int, GroupRecord], group_size: int, head: int,
           model_version: int, policy: SelectionPolicy, root_version: int = 0) -> Selection:
    """Groups to prove at ``head`` under ``model_version`` and ``root_version`` (see the
    module docstring).

    ``leaves``: the accounts (any order); ``records``: the registry's record of each group
    that holds an account (a group missing from it counts as never proven).
    """
    triggered: set[int] = set()
    per_leaf: dict[int, tuple[int, tuple[str, ...]]] = {}
    for leaf in leaves:
        g = leaf.leaf // group_size
        rec = records.get(g) or GroupRecord(g, 0, 0, 0, (0,) * group_size)
        rs = leaf_reasons(leaf, rec, head, model_version, policy, root_version)
        if rs:
            triggered.add(g)
        per_leaf[leaf.leaf] = (g, rs + labels(leaf, policy))
    by_group: dict[int, dict[int, tuple[str, ...]]] = {}
    for leaf, (g, rs) in per_leaf.items():
        if g in triggered and rs:
            by_group.setdefault(g, {})[leaf] = rs
        elif g in triggered:
            by_group.setdefault(g, {})
    return Selection(by_group)

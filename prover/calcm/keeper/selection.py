"""Which groups to prove in a block: the selection rules, as one pure function.

The registry records one proof per aligned group of ``N`` leaves, keyed by
``(group, model block, root version)``: a group can be recorded at most once per *epoch*
(the latest model block and the current root version), and a record stays valid for a
leaf while it is at most ``maxAge`` blocks old and the leaf has not changed since.

A group is selected when it has not been recorded in the current epoch and at least one of
its leaves (accounts; padding leaves never trigger anything) has a reason:

``unproven``           the group has no record yet;
``positions_changed``  the leaf changed after the record's root version (new commitment);
``tier_changed``       the fixed-point tier now differs from the recorded one;
``near_mm``            equity is within ``near_mm_buffer`` of maintenance margin
                       (``equity <= MM * (1 + buffer)``, liquidatable accounts included):
                       proven every epoch so liquidations act on fresh tiers;
``withdrawal``         the venue asked for a proof of the post-withdrawal account;
``refresh``            the record is ``refresh_blocks`` or more blocks old (a rolling
                       refresh: every account is proven at least every N blocks while the
                       keeper runs, and ``N < maxAge`` keeps records valid in between).

Invariants (tests/keeper/test_selection.py): a group recorded in the current epoch is
never selected; a tier change, a changed leaf, a withdrawal request, a missing record and
a record at least ``refresh_blocks`` old always select their group; nothing else does.
"""
from __future__ import annotations

from dataclasses import dataclass, field

REASONS = ("unproven", "positions_changed", "tier_changed", "near_mm", "withdrawal", "refresh")


@dataclass(frozen=True)
class SelectionPolicy:
    """``near_mm_buffer``: fraction of MM (0.10: equity within 10% above MM);
    ``refresh_blocks``: the rolling refresh period N, in blocks (>= 1)."""

    near_mm_buffer: float = 0.10
    refresh_blocks: int = 16

    def __post_init__(self):
        if not 0 <= self.near_mm_buffer < 10:
            raise ValueError("near_mm_buffer must be in [0, 10)")
        if self.refresh_blocks < 1:
            raise ValueError("refresh_blocks must be >= 1")


@dataclass(frozen=True)
class GroupRecord:
    """The registry's record of one group (``block`` 0: never proven); tiers per leaf."""

    group: int
    block: int
    root_version: int
    tiers: tuple[int, ...]


@dataclass(frozen=True)
class LeafState:
    """One account leaf now: fixed-point tier, equity and MM (money ints), and what the
    chain says about it (``last_changed_version``) and the venue asks (``withdrawal``)."""

    leaf: int
    tier: int
    equity: int
    mm: int
    last_changed_version: int = 0
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


def leaf_reasons(leaf: LeafState, record: GroupRecord, slot: int, head: int,
                 policy: SelectionPolicy) -> tuple[str, ...]:
    """The reasons leaf ``leaf`` (slot ``slot`` of its group) gives for a new proof."""
    out = []
    if record.block == 0:
        out.append("unproven")
    else:
        if leaf.last_changed_version > record.root_version:
            out.append("positions_changed")
        if record.tiers[slot] != leaf.tier:
            out.append("tier_changed")
        if head - record.block >= policy.refresh_blocks:
            out.append("refresh")
    if leaf.mm > 0 and leaf.equity * 10_000 <= leaf.mm * round(10_000 * (1 + policy.near_mm_buffer)):
        out.append("near_mm")
    if leaf.withdrawal:
        out.append("withdrawal")
    return tuple(out)


def select(leaves: list[LeafState], records: dict[int, GroupRecord], group_size: int, head: int,
           model_block: int, root_version: int, policy: SelectionPolicy) -> Selection:
    """Groups to prove at ``head`` for the epoch ``(model_block, root_version)``.

    ``leaves``: the accounts (any order); ``records``: the registry's record of each group
    that holds an account (a group missing from it counts as never proven).
    """
    by_group: dict[int, dict[int, tuple[str, ...]]] = {}
    for leaf in leaves:
        g, slot = divmod(leaf.leaf, group_size)
        rec = records.get(g) or GroupRecord(g, 0, 0, (0,) * group_size)
        if rec.block == model_block and rec.root_version == root_version and rec.block != 0:
            continue  # already recorded in this epoch: the registry would refuse it
        rs = leaf_reasons(leaf, rec, slot, head, policy)
        if rs:
            by_group.setdefault(g, {})[leaf.leaf] = rs
    return Selection(by_group)

"""Selection rules (calcm.keeper.selection): which groups a block proves, and why."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from calcm.keeper.selection import GroupRecord, LeafState, SelectionPolicy, leaf_reasons, select

N = 2
POLICY = SelectionPolicy(near_mm_buffer=0.10, refresh_blocks=8)
HEALTHY = dict(tier=0, equity=10_000, mm=1_000)


def rec(group, block, version=1, tiers=(0, 0)):
    return GroupRecord(group, block, version, tuple(tiers))


def test_unproven_groups_are_selected():
    sel = select([LeafState(0, **HEALTHY), LeafState(3, **HEALTHY)], {}, N, head=10,
                 model_block=10, root_version=1, policy=POLICY)
    assert sel.group_ids == [0, 1]
    assert sel.groups[1] == {3: ("unproven",)}


def test_recorded_in_this_epoch_is_never_selected():
    # Even a tier change cannot select it: the registry refuses a second record per epoch.
    leaves = [LeafState(0, tier=3, equity=1, mm=100, withdrawal=True)]
    sel = select(leaves, {0: rec(0, 10, 1, (0, 0))}, N, 12, 10, 1, POLICY)
    assert sel.group_ids == []


def test_each_reason_alone():
    r = rec(0, 10, 1, (0, 0))
    head = 11
    assert leaf_reasons(LeafState(0, **HEALTHY), r, 0, head, POLICY) == ()
    assert leaf_reasons(LeafState(0, **{**HEALTHY, "tier": 1}), r, 0, head, POLICY) == ("tier_changed",)
    assert leaf_reasons(LeafState(0, **HEALTHY, last_changed_version=2), r, 0, head, POLICY) == \
        ("positions_changed",)
    assert leaf_reasons(LeafState(0, **HEALTHY, withdrawal=True), r, 0, head, POLICY) == ("withdrawal",)
    assert leaf_reasons(LeafState(0, **HEALTHY), r, 0, 10 + 8, POLICY) == ("refresh",)
    assert leaf_reasons(LeafState(0, **HEALTHY), r, 0, 10 + 7, POLICY) == ()


def test_near_mm_boundary():
    r = rec(0, 10, 1, (2, 0))
    at = LeafState(0, tier=2, equity=1_100, mm=1_000)       # equity == MM * 1.10
    above = LeafState(0, tier=2, equity=1_101, mm=1_000)
    assert leaf_reasons(at, r, 0, 11, POLICY) == ("near_mm",)
    assert leaf_reasons(above, r, 0, 11, POLICY) == ()
    # MM = 0 (no positions) is never "near" it, whatever the equity.
    assert leaf_reasons(LeafState(0, tier=0, equity=0, mm=0), rec(0, 10), 0, 11, POLICY) == ()


def test_padding_leaves_never_select():
    # Group 1 holds no account: no record and no leaf, so nothing to prove there.
    sel = select([LeafState(0, **HEALTHY)], {0: rec(0, 9)}, N, 10, 10, 1, POLICY)
    assert sel.group_ids == []


leaf_st = st.builds(
    LeafState, leaf=st.integers(0, 15), tier=st.integers(0, 3), equity=st.integers(-10**6, 10**6),
    mm=st.integers(0, 10**6), last_changed_version=st.integers(0, 5), withdrawal=st.booleans())


@settings(max_examples=200, deadline=None)
@given(leaves=st.lists(leaf_st, max_size=12, unique_by=lambda x: x.leaf),
       blocks=st.lists(st.integers(0, 40), min_size=8, max_size=8),
       versions=st.lists(st.integers(0, 5), min_size=8, max_size=8),
       head_gap=st.integers(0, 20), refresh=st.integers(1, 16), same_epoch=st.booleans())
def test_selection_invariants(leaves, blocks, versions, head_gap, refresh, same_epoch):
    policy = SelectionPolicy(0.10, refresh)
    records = {g: GroupRecord(g, blocks[g], versions[g], tuple((g + a) % 4 for a in range(N)))
               for g in range(8)}
    model_block, root_version = 40, 5
    if same_epoch:
        records[0] = GroupRecord(0, model_block, root_version, records[0].tiers)
    head = model_block + head_gap
    sel = select(leaves, records, N, head, model_block, root_version, policy)
    for leaf in leaves:
        g, slot = divmod(leaf.leaf, N)
        r = records[g]
        in_epoch = r.block == model_block and r.root_version == root_version and r.block != 0
        must = (r.block == 0 or leaf.last_changed_version > r.root_version or
                r.tiers[slot] != leaf.tier or leaf.withdrawal or head - r.block >= refresh)
        if in_epoch:
            assert g not in sel.groups
        elif must:
            assert leaf.leaf in sel.groups.get(g, {})
    # Nothing is selected without a reason, and reasons are from the documented list.
    for g, per_leaf in sel.groups.items():
        assert per_leaf and all(rs for rs in per_leaf.values())
        assert all(leaf // N == g for leaf in per_leaf)

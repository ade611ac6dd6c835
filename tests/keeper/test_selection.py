"""Selection rules (calcm.keeper.selection, v3): a group is proven when its record is not
at the current model version or the current accounts-root version, or is due for a refresh."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from calcm.keeper.selection import GroupRecord, LeafState, SelectionPolicy, leaf_reasons, select

N = 2
POLICY = SelectionPolicy(near_mm_buffer=0.10, refresh_blocks=8)
HEALTHY = dict(tier=0, equity=10_000, mm=1_000)


def rec(group, block, root_version=1, model_version=5, tiers=(0, 0)):
    return GroupRecord(group, block, root_version, model_version, tuple(tiers))


def test_unproven_groups_are_selected():
    sel = select([LeafState(0, **HEALTHY), LeafState(3, **HEALTHY)], {}, N, head=10,
                 model_version=5, policy=POLICY)
    assert sel.group_ids == [0, 1]
    assert sel.groups[1] == {3: ("unproven",)}


def test_a_current_record_is_not_selected_whatever_the_labels():
    leaves = [LeafState(0, tier=3, equity=1, mm=100, withdrawal=True)]
    assert select(leaves, {0: rec(0, 10)}, N, 12, 5, POLICY, root_version=1).group_ids == []


def test_each_trigger_alone():
    r = rec(0, 10)
    assert leaf_reasons(LeafState(0, **HEALTHY), r, 11, 5, POLICY, root_version=1) == ()
    assert leaf_reasons(LeafState(0, **HEALTHY), r, 11, 6, POLICY, root_version=1) == ("model_version",)
    assert leaf_reasons(LeafState(0, **HEALTHY), r, 11, 5, POLICY, root_version=2) == \
        ("root_version",)
    assert leaf_reasons(LeafState(0, **HEALTHY), r, 18, 5, POLICY, root_version=1) == ("refresh",)


def test_labels_ride_along_with_a_trigger():
    leaves = [LeafState(0, tier=3, equity=100, mm=100, withdrawal=True),
              LeafState(1, **HEALTHY)]
    sel = select(leaves, {0: rec(0, 10)}, N, 11, 5, POLICY, root_version=2)
    assert sel.groups == {0: {0: ("root_version", "withdrawal", "near_mm"), 1: ("root_version",)}}
    assert sel.reasons() == {"root_version": 2, "withdrawal": 1, "near_mm": 1}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 7), st.integers(0, 3), st.integers(0, 3),
                          st.booleans()), min_size=1, max_size=8, unique_by=lambda t: t[0]),
       st.dictionaries(st.integers(0, 3), st.tuples(st.integers(1, 30), st.integers(0, 3),
                                                    st.integers(3, 6)), max_size=4),
       st.integers(30, 40), st.integers(3, 6), st.integers(0, 3))
def test_selected_iff_the_record_is_not_valid_now(leaves, recs, head, version, root_version):
    ls = [LeafState(leaf, tier, 1_000, 100, wd) for leaf, tier, _, wd in leaves]
    records = {g: rec(g, b, rv, mv) for g, (b, rv, mv) in recs.items()}
    sel = select(ls, records, N, head, version, POLICY, root_version)
    for g in {leaf.leaf // N for leaf in ls}:
        r = records.get(g)
        valid = r is not None and r.model_version == version and head - r.block < 8 and \
            r.root_version == root_version
        assert (g in sel.groups) == (not valid)

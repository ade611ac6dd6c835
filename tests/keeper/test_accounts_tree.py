"""The accounts tree is incremental and nothing is rescanned from block 0.

- :func:`calcm.keeper.margins.update_leaves` rehashes only the changed leaves' paths and
  gives the same tree as a full rebuild;
- a keeper restarted on its store reads only the blocks that are new since its last one
  (their hashes, to coalesce them) and no event log at all: the model states, prices and
  accounts it needs are in its store and the venue's book, not re-read from the chain.
"""
from __future__ import annotations

import random
from collections import Counter

import pytest

from calcm.chain.evm import mine_blocks
from calcm.keeper import margins
from calcm.poseidon import AccountsTree


def test_update_leaves_matches_a_full_rebuild_with_depth_hashes_per_leaf(monkeypatch):
    rng = random.Random(7)
    depth = 5
    leaves = [rng.randrange(1, 2**200) for _ in range(27)]
    tree = AccountsTree(leaves, depth)
    calls = []
    real = margins.poseidon
    monkeypatch.setattr(margins, "poseidon", lambda xs: calls.append(1) or real(xs))
    for changed in ({3: 11}, {0: 5, 1: 6}, {26: 9, 4: 8, 17: 1}):
        new = margins.update_leaves(tree, changed)
        full_leaves = list(leaves)
        for i, v in changed.items():
            full_leaves[i] = v
        full = AccountsTree(full_leaves, depth)
        assert new.root == full.root and new.levels == full.levels
        assert tree.root == AccountsTree(leaves, depth).root          # the input is untouched
    # 1 leaf: depth hashes; 2 siblings: depth; 3 spread leaves: at most 3 x depth
    assert len(calls) <= depth + depth + 3 * depth
    calls.clear()
    margins.update_leaves(tree, {3: 11})
    assert len(calls) == depth


@pytest.mark.slow
def test_restart_reads_only_new_blocks_and_no_logs(make_world, make_keeper, monkeypatch):
    world = make_world(days=1)
    first = make_keeper(world, "k", refresh_blocks=60)
    rep = first.step()                                   # genesis: reval, options, margins
    assert rep.status == "processed" and rep.groups == 2, rep.reason
    while first.step() is not None:                      # the blocks of its own transactions
        pass
    first.store.close()
    last = world.w3.eth.block_number
    mine_blocks(world.w3, 30)

    counts: Counter = Counter()
    ranges = []
    provider = world.w3.provider
    real = provider.make_request

    def counting(method, params):
        counts[method] += 1
        if method == "eth_getLogs":
            ranges.append(params)
        return real(method, params)
    monkeypatch.setattr(provider, "make_request", counting)
    monkeypatch.setattr(provider, "_request_func_cache", (None, None))   # rebuild the chain
    again = make_keeper(world, "k", refresh_blocks=60)   # same store, a new process
    rep = again.step()
    assert rep.status == "processed" and rep.coalesced == 30 - 1 and rep.groups == 0
    assert counts["eth_getLogs"] == 0, ranges
    # the 29 coalesced blocks' hashes, the head, and a constant number of other reads
    assert counts["eth_getBlockByNumber"] <= 30 + 5, counts
    assert world.w3.eth.block_number == last + 30      # nothing was re-sent

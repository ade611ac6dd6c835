"""The v2 model circuits (docs/PROVING.md §3-§6) against the Python reference, on a small shape.

Reference-only checks (fast) and witness-level checks (``ModelStep``, ``ModelReval``,
``OptionPart`` compiled for the small shape of tests/model/conftest.py).
"""
from __future__ import annotations

import dataclasses

import pytest

from calcm.risk.modelfx import (opt_commitment, option_part, option_parts, param_tree, reval, step, update)
from calcm.zk.model_witness import compute_checked_witness, part_input, reval_input, step_input
from calcm.zk.witness import WitnessRejected

from .conftest import compiled, small_params


def params(chunks: int = 2, seed: int = 1):
    return small_params(seed, chunks)


def test_step_then_reval_at_the_close_gives_the_same_lin(model):
    p, st, close = model
    s = step(st, close, p)
    assert s.state.day == st.day + 1 and s.state.price == close
    r = reval(s.state, close, p)
    assert r.state == s.state and r.lin == s.lin and r.lin_commitment == s.lin_commitment


def test_option_values_do_not_depend_on_the_chunking(model):
    p, st, close = model
    a, b = update(st, close, params(1)), update(st, close, p)
    assert (a.opt, a.opt_mark, a.opt_expo, a.lin) == (b.opt, b.opt_mark, b.opt_expo, b.lin)
    assert a.opt_commitment != b.opt_commitment          # the chunking is in the sponge layout


def test_chained_parts_reproduce_opt_commitment(model):
    p, st, close = model
    up = update(st, close, p)
    assert up.opt_commitment == opt_commitment(p.chunks, up.opt_mark, up.opt_expo, up.opt)
    assert [x.part for x in up.parts] == list(range(p.n_parts))
    assert up.parts[0].prev == 0 and all(x.prev == y.next for x, y in zip(up.parts[1:], up.parts))


@pytest.mark.parametrize("field, leaf", [("z", "hz"), ("skew_shock", "hs")])
def test_param_tree_leaf_changes_only_its_own_hash(field, leaf):
    """hz[u][c] and hs[u][c] hash asset u's values of chunk c only (docs/PROVING.md §4)."""
    p = params()
    rows = [list(r) for r in getattr(p, field)]
    rows[-1][1] += 1                                    # the last chunk (1) of asset 1
    q = dataclasses.replace(p, **{field: tuple(tuple(r) for r in rows)})
    a, b = param_tree(p), param_tree(q)
    ta, tb = getattr(a, leaf), getattr(b, leaf)
    assert len(ta) == p.n_assets and all(len(row) == p.chunks for row in ta)
    assert ta[0] == tb[0] and ta[1][0] == tb[1][0] and ta[1][1] != tb[1][1]
    others = [k for k in ("common", "hz", "hs", "ht") if k != leaf]
    assert [getattr(a, k) for k in others] == [getattr(b, k) for k in others] and a.root != b.root


def test_horizon_coefficients_are_in_every_z_chunk_of_their_asset():
    """[A_u, B_u, F_u] head each hz[u][c] (docs/PROVING.md §4): the APC floor of asset 0 is bound
    by both of its chunks and by nothing else."""
    p = params()
    q = dataclasses.replace(p, var_floor=(p.var_floor[0] + 1, p.var_floor[1]))
    a, b = param_tree(p), param_tree(q)
    assert q.horizon_floor[0] == p.horizon_floor[0] + p.horizon_days
    assert all(x != y for x, y in zip(a.hz[0], b.hz[0])) and a.hz[1] == b.hz[1]
    assert (a.common, a.hs, a.ht) == (b.common, b.hs, b.ht) and a.root != b.root


def test_chunks_must_divide_the_scenarios():
    with pytest.raises(ValueError, match="divide"):
        params(3)


# ---- circuits (witness level) ---------------------------------------------------------------

def _circuit(p, kind):
    return compiled(p, kind)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["step", "reval"])
def test_linear_circuits_match_the_reference(model, kind, tmp_path):
    p, st, close = model
    c = _circuit(p, kind)
    inp, exp = (step_input if kind == "step" else reval_input)(c.config, st, close, p, 77)
    _, compared = compute_checked_witness(c.wasm, c.sym_path, inp, exp, kind, tmp_path / "w.wtns")
    assert "linCommitment" in compared and "paramHash" in compared


@pytest.mark.slow
def test_option_parts_chain_to_opt_commitment_in_circuit(model, tmp_path):
    p, st, close = model
    c = _circuit(p, "option")
    up = update(st, close, p)
    h = 0
    for j in range(p.n_parts):
        inp, exp = part_input(c.config, up.state, close, p, j, h)
        wit, _ = compute_checked_witness(c.wasm, c.sym_path, inp, exp, "option", tmp_path / f"w{j}.wtns")
        h = wit[3]                                       # nextOptSponge
    assert h == up.opt_commitment


@pytest.mark.slow
@pytest.mark.parametrize("field,delta", [("prevOptSponge", 1), ("part", 1)])
def test_option_part_rejects_tampering(model, tmp_path, field, delta):
    p, st, close = model
    c = _circuit(p, "option")
    first = option_part(st, close, p, 0, 0)
    inp, _ = part_input(c.config, st, close, p, 0, 0)
    assert int(inp["nextOptSponge"]) == first.next
    inp[field] = str(int(inp[field]) + delta)            # another chain position / another part
    from calcm.zk.witness import calculate_witness
    with pytest.raises(WitnessRejected):
        calculate_witness(c.wasm, inp, tmp_path / "bad.wtns")


def test_option_parts_helper_is_the_chain(model):
    p, st, close = model
    parts = option_parts(st, close, p)
    assert parts[-1].next == update(st, close, p, daily=False).opt_commitment

"""Boundaries: 2^n - 1 against 2^n at every account range check, and the tier comparisons
and ceil divisions at exact equality (one money unit either side)."""
from __future__ import annotations

import random
from types import SimpleNamespace

import pytest

from calcm.fixedpoint import QTY_BITS, FixedPointRangeError
from calcm.risk.fixed_margin import AccountFx, MarginModelFx, margin_fx
from calcm.zk.config import SMALL
from calcm.zk.synthetic import random_model
from calcm.zk.witness import (WitnessRejected, batch_input, calculate_witness, group_accounts,
                              unpack_result, venue_tree)

from .conftest import PROP, run_batch

pytestmark = pytest.mark.slow

n, m, S, K = PROP.n, PROP.m, PROP.S, PROP.k


def _model(lin0=None) -> MarginModelFx:
    """Underlying 0 carries scenario P&L (instruments 0 and 2 are spot on it), both prices are
    1 money unit per quantity unit (so instrument 1, spot on underlying 1, moves equity by exactly
    one unit), collateral is 1-USD stablecoins without haircut; no add-on; IM buffer 25%,
    warning buffer 20%."""
    lin0 = lin0 or [-(s + 1) * 1_000_000 for s in range(S)]   # q0 = 1: loss[s] = (s+1) x 1e6
    return MarginModelFx(
        price=(1, 1), lin=tuple((v, 0) for v in lin0), opt=(), opt_mark=(), opt_expo=(),
        haircut_bps=(0,) * m, adv=(1,) * PROP.U, liquidity_weight_bps=(0,) * PROP.U, k_tail=K,
        im_buffer_bps=2500, warn_buffer_bps=2000, kinds=PROP.kinds, under=PROP.under, coll=PROP.coll,
        chunks=PROP.C)


def raw(qty, coll, salt=1):
    """An account that skips AccountFx's range validation (to probe the circuit's own checks)."""
    return SimpleNamespace(qty=tuple(qty), collateral=tuple(coll), salt=salt)


def _run(circuit, tmp_path, accs):
    fill = [raw((0,) * n, (0,) * m, 5 + i) for i in range(PROP.N - len(accs))]
    return run_batch(circuit, _model([0] * S), list(accs) + fill, tmp_path)


@pytest.mark.parametrize("q, ok", [(2**QTY_BITS - 1, True), (2**QTY_BITS, False),
                                   (-(2**QTY_BITS), True), (-(2**QTY_BITS) - 1, False)])
def test_quantity_bounds_in_circuit(prop_circuit, tmp_path, q, ok):
    acc = raw((0, 0, q), (0, 0))           # instrument 2: no P&L, mark 1, so no overflow elsewhere
    if ok:
        _run(prop_circuit, tmp_path, [acc])
    else:
        with pytest.raises(WitnessRejected):
            _run(prop_circuit, tmp_path, [acc])


def test_quantity_bounds_in_python():
    # Python's range is the documented (-2^40, 2^40); the circuit's power-of-two check also
    # admits -2^40, which the reference rejects before anything is proven.
    AccountFx((2**QTY_BITS - 1, 0, 0), (0, 0), 1)
    AccountFx((-(2**QTY_BITS) + 1, 0, 0), (0, 0), 1)
    for q in (2**QTY_BITS, -(2**QTY_BITS)):
        with pytest.raises(FixedPointRangeError, match=r"qty\[0\]"):
            AccountFx((q, 0, 0), (0, 0), 1)


@pytest.mark.parametrize("c, ok", [(2**QTY_BITS - 1, True), (2**QTY_BITS, False), (0, True), (-1, False)])
def test_collateral_bounds_in_circuit(prop_circuit, tmp_path, c, ok):
    acc = raw((0,) * n, (0, c))
    if ok:
        _run(prop_circuit, tmp_path, [acc])
    else:
        with pytest.raises(WitnessRejected):
            _run(prop_circuit, tmp_path, [acc])
    if not ok:
        with pytest.raises(FixedPointRangeError):
            AccountFx((0,) * n, (0, c), 1)


def _equity_account(equity: int, q0: int = 1) -> AccountFx:
    """An account long ``q0`` of instrument 0 whose equity is exactly ``equity`` money units
    (collateral in whole USD, the rest in instrument 1 at 1 unit each, possibly short)."""
    rest = equity - q0                      # instrument 0 is marked at 1 per unit too
    c0, r = divmod(rest, 1_000_000)
    if c0 < 0:
        c0, r = 0, rest
    return AccountFx((q0, r, 0), (c0, 0), 7)


def test_tier_boundaries(prop_circuit, tmp_path):
    model = _model()
    # q0 = 1: top-3 losses 10, 9, 8 (x1e6): ES = 9e6 = MM; IM = 11.25e6; warning line 13.5e6.
    mm, im, warn = 9_000_000, 11_250_000, 13_500_000
    cases = [(mm - 1, 3), (mm, 2), (im - 1, 2), (im, 1), (warn - 1, 1), (warn, 0), (0, 3), (10**12, 0)]
    for i in range(0, len(cases), PROP.N):
        chunk = cases[i:i + PROP.N]
        accounts = [_equity_account(e) for e, _ in chunk]
        for acc, (e, tier) in zip(accounts, chunk):
            r = margin_fx(model, acc)
            assert (r.mm, r.im, r.equity, r.tier) == (mm, im, e, tier)
        run = run_batch(prop_circuit, model, accounts, tmp_path)
        _, tiers = unpack_result(run.value("main.packedResult"), PROP.N)   # as the verifier sees them
        for a, (e, tier) in enumerate(chunk):
            assert tiers[a] == tier, (e, tier)
            assert run.value(f"main.margin[{a}].equity") == e


def test_es_ceil_division_boundaries(prop_circuit, tmp_path):
    # Tail sums 30, 31, 32 (k = 3): ceil(T/3) = 10, 11, 11; a short's negative tail: max(., 0).
    accounts = [AccountFx((q, 0, 0), (10**6, 0), 3 + a) for a, q in enumerate([1, 1, 1, -1])]
    sums = []
    for shift in (0, 1, 2):
        pm = _model([-1] * (S - 3) + [-10, -10, -10 - shift])
        r = margin_fx(pm, accounts[0])
        sums.append((r.tail_sum, r.es_raw))
        run = run_batch(prop_circuit, pm, accounts, tmp_path)
        assert run.value("main.margin[0].es") == r.es == -(-(30 + shift) // 3)
        assert run.value("main.margin[3].es") == 0                 # short: tail mean < 0
        assert margin_fx(pm, accounts[3]).es_raw < 0
    assert [s for s, _ in sums] == [30, 31, 32]
    assert [e for _, e in sums] == [10, 11, 11]


def test_group_index_bounds(small_circuit, tmp_path):
    """The last group (2^(D - log2 N) - 1) proves; an index one bit wider is rejected."""
    model = random_model(SMALL, random.Random(2))
    accounts = [AccountFx((a,) + (0,) * (SMALL.n - 1), (0,) * SMALL.m, a + 1) for a in range(SMALL.capacity)]
    tree = venue_tree(accounts, SMALL)
    last = SMALL.capacity // SMALL.N - 1
    inp, exp = batch_input(SMALL, model, group_accounts(accounts, last, SMALL), last, tree, 9)
    wit = calculate_witness(small_circuit.wasm, inp, tmp_path / "last.wtns")
    assert wit[small_circuit.sym["main.packedResult"]] % 2**32 == last
    # Same low bits, one bit too many; packedResult adjusted so only the index range check can fail.
    wide = last + 2 ** SMALL.path_levels
    inp["group"] = str(wide)
    inp["packedResult"] = str(int(inp["packedResult"]) - last + wide)
    with pytest.raises(WitnessRejected):
        calculate_witness(small_circuit.wasm, inp, tmp_path / "wide.wtns")

"""The margin modules against textbook references, at their exact boundaries.

Written to kill the mutants mutmut makes of risk/margin.py, risk/fixed_margin.py and
risk/fixed_margin_batch.py (tools/mutation/run.sh margin):

- ``margin_fx`` against an exact-rational reference written from the raw model fields
  (per instrument, :class:`fractions.Fraction` ceilings and floors, the tail by counting),
  on random models with forced ties and on hand-built accounts exactly at every tier line;
- ``PortfolioMargin`` against a plain per-account loop (full sort, explicit sums);
- every validation rule of the models at its boundary, with the message that names the field.
"""
from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calcm.fixedpoint import BPS, MONEY_SCALE, PRICE_SCALE, QTY_SCALE, FixedPointRangeError
from calcm.risk.fixed_margin import (AccountFx, MarginModelFx, empty_account, margin_fx, margins_fx, net_linear,
                                     tail_selection)
from calcm.risk.fixed_margin_batch import (BatchModelFx, exact_int_matmul, limb_plan, margins_fx_arrays,
                                           margins_fx_batch)
from calcm.risk.margin import (MarginModel, MarginParams, PortfolioMargin, Tier, top_k, top_k_reference,
                               top_k_sorted_reference, tiers)

from .strategies import margin_models_fx, structures

# ---- the exact reference -----------------------------------------------------------------------------------


def _reference_fx(m: MarginModelFx, acc: AccountFx) -> dict:
    """Every MarginResultFx field from the raw model fields (docs/PROVING.md §2), exact rationals."""
    q, c = acc.qty, acc.collateral
    n, S, U = len(m.kinds), len(m.lin), len(m.price)
    opts = [i for i in range(n) if m.kinds[i] in (2, 3)]
    pos = {i: o for o, i in enumerate(opts)}

    def pnl(s, i):
        return m.opt[s][pos[i]] if i in pos else m.lin[s][m.under[i]]

    pq = [sum(q[i] for i in range(n) if m.kinds[i] == 1 and m.under[i] == u) for u in range(U)]
    charge = sum(abs(p) * v for p, v in zip(pq, m.perp_move))       # the perp basis + funding loss
    losses = tuple(charge - sum(q[i] * pnl(s, i) for i in range(n)) for s in range(S))
    # Tail by counting: s is in the tail iff fewer than k scenarios come before it in (loss desc, index asc).
    before = [sum(1 for t in range(S) if losses[t] > losses[s] or (losses[t] == losses[s] and t < s))
              for s in range(S)]
    bits = tuple(int(b < m.k_tail) for b in before)
    last = before.index(m.k_tail - 1)
    tail_sum = sum(L for L, b in zip(losses, bits) if b)
    es_raw = math.ceil(Fraction(tail_sum, m.k_tail))
    es = max(es_raw, 0)
    x = tuple(sum(q[i] * (m.opt_expo[pos[i]] if i in pos else m.price[u]) for i in range(n) if m.under[i] == u)
              for u in range(U))
    terms = tuple(math.ceil(Fraction(w * xu * xu, a * BPS * MONEY_SCALE))
                  for w, xu, a in zip(m.liquidity_weight_bps, x, m.adv))
    mm = es + sum(terms)
    im = math.ceil(Fraction(mm * (BPS + m.im_buffer_bps), BPS))
    cprice = [PRICE_SCALE if j < 0 else m.price[j] for j in m.coll]
    cv = math.floor(Fraction(sum(cj * p * (BPS - h) for cj, p, h in zip(c, cprice, m.haircut_bps)), BPS))
    marks = sum(q[i] * (m.opt_mark[pos[i]] if i in pos else (m.price[m.under[i]] if m.kinds[i] == 0 else 0))
                for i in range(n))
    equity = cv + marks
    warn_line = Fraction(im * (BPS + m.warn_buffer_bps), BPS)
    tier = 3 if equity < mm else 2 if equity < im else 1 if equity < warn_line else 0
    return {"losses": losses, "tail_bits": bits, "threshold": losses[last], "tail_last": last,
            "tail_sum": tail_sum, "perp_charge": charge, "es_raw": es_raw, "es": es, "exposure": x,
            "addon_terms": terms, "addon": sum(terms), "mm": mm, "im": im, "collateral_value": cv, "equity": equity, "tier": tier}


def _as_dict(r) -> dict:
    return {f: getattr(r, f) for f in r.__dataclass_fields__}


@st.composite
def small_models(draw):
    """Small models; values from a few levels so ties and exact ceilings happen often."""
    s = draw(structures(max_instruments=5, max_scenarios=7))
    val = st.one_of(st.sampled_from([-3, -1, 0, 1, 2, 10**6, -(10**6)]), st.integers(-(10**9), 10**9))
    model = draw(margin_models_fx(
        s, price=st.integers(1, 10**9), value=val, haircut_bps=st.sampled_from([0, 1, 2500, BPS - 1]),
        adv=st.sampled_from([1, 3, 10**6, 2**48 - 1]),
        liquidity_weight_bps=st.sampled_from([0, 1, 7, 10**4, 2**16 - 1]),
        im_buffer_bps=st.sampled_from([0, 1, 2500, 2**16 - 1]),
        warn_buffer_bps=st.sampled_from([0, 1, 2000, 2**16 - 1]),
        perp_move=st.sampled_from([0, 1, 7, 10**6])))
    qv = st.one_of(st.sampled_from([-1, 0, 1, 3, -(10**4), 10**4]), st.integers(-(10**8), 10**8))
    acc = AccountFx(tuple(draw(st.lists(qv, min_size=s.n, max_size=s.n))),
                    tuple(draw(st.lists(st.integers(0, 10**8), min_size=s.m, max_size=s.m))), 0)
    return model, acc


MONEY_FIELDS = ("losses", "exposure", "addon", "mm", "im", "collateral_value", "equity")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_models())
def test_margin_fx_equals_the_exact_reference_on_every_field(case):
    model, acc = case
    want = _reference_fx(model, acc)
    try:
        got = margin_fx(model, acc)
    except FixedPointRangeError as exc:        # only when a money value really leaves (-2**63, 2**63)
        vals = [v for f in MONEY_FIELDS for v in (want[f] if isinstance(want[f], tuple) else (want[f],))]
        assert any(abs(v) >= 2**63 for v in vals), exc
        return
    assert _as_dict(got) == want


# ---- a hand-built model: every tier line, one unit either side --------------------------------------------

#: One perp on u0 (P&L -10, -9, -8, +1 USD per unit), a spot on u1 priced 1e-6 USD (so equity moves by
#: one money unit per QTY unit), USDC collateral. With 1 perp unit, k = 3: ES = MM = 9e10,
#: IM = 9e10 * 1.25 = 1.125e11, warning line IM * 1.2 = 1.35e11 (money, 1e10 = 1 USD).
LINES = MarginModelFx(price=(10**6, 1), lin=((-10**7, 0), (-9 * 10**6, 0), (-8 * 10**6, 0), (10**6, 0)),
                      opt=((), (), (), ()), opt_mark=(), opt_expo=(), haircut_bps=(0,), adv=(10**6, 10**6),
                      liquidity_weight_bps=(0, 0), k_tail=3, im_buffer_bps=2500, warn_buffer_bps=2000,
                      kinds=(1, 0), under=(0, 1), coll=(-1,))
MM, IM, WARN = 9 * 10**10, 1125 * 10**8, 135 * 10**9


@pytest.mark.parametrize("equity, tier", [
    (MM - 1, 3), (MM, 2), (IM - 1, 2), (IM, 1), (WARN - 1, 1), (WARN, 0), (0, 3), (2 * WARN, 0),
])
def test_tier_lines_exactly(equity, tier):
    acc = AccountFx((QTY_SCALE, equity), (0,), 0)
    r = margin_fx(LINES, acc)
    assert (r.es, r.mm, r.im, r.equity, r.tier) == (MM, MM, IM, equity, tier)
    assert (r.tail_bits, r.threshold, r.tail_last, r.tail_sum, r.es_raw) == ((1, 1, 1, 0), 8 * 10**10, 2,
                                                                             27 * 10**10, MM)
    assert margins_fx_batch(LINES, [acc]).result(0) == r


def test_collateral_credit_rounds_down_and_requirements_round_up():
    """1 USDC unit (1e-4 USD) at a 1 bp haircut: 1e6 * 9999 / 1e4 = 999_900 money, exact; an ES
    tail sum that k does not divide rounds up (and a negative one toward zero, floored at 0)."""
    model = replace(LINES, haircut_bps=(1,), k_tail=2)
    r = margin_fx(model, AccountFx((QTY_SCALE, 0), (1,), 0))
    assert r.collateral_value == 999_900 and r.equity == 999_900
    assert (r.tail_sum, r.es_raw, r.es) == (19 * 10**10, 95 * 10**9, 95 * 10**9)
    odd = replace(LINES, lin=((-1, 0), (-2, 0), (0, 0), (5, 0)), k_tail=2, haircut_bps=(BPS - 1,))
    r = margin_fx(odd, AccountFx((1, 0), (3,), 0))                # losses 1, 2, 0, -5: tail {1, 0}
    assert (r.losses, r.tail_sum, r.es_raw, r.es) == ((1, 2, 0, -5), 3, 2, 2)
    assert r.collateral_value == 3 * 10**6 * 1 // BPS == 300      # floor(3e6 / 1e4)
    assert r.im == math.ceil(Fraction(2 * 12500, BPS)) == 3
    short = margin_fx(odd, AccountFx((-1, 0), (0,), 0))           # losses -1, -2, 0, 5: tail {3, 2}
    assert (short.tail_sum, short.es_raw, short.threshold, short.tail_last) == (5, 3, 0, 2)
    hedged = margin_fx(replace(odd, k_tail=4), AccountFx((1, 0), (0,), 0))
    assert (hedged.tail_sum, hedged.es_raw, hedged.es) == (-2, 0, 0)   # ceil(-2/4) = 0 (not -1)
    neg = margin_fx(replace(odd, lin=((3, 0), (3, 0), (3, 0), (3, 0)), k_tail=2), AccountFx((1, 0), (0,), 0))
    assert (neg.tail_sum, neg.es_raw, neg.es) == (-6, -3, 0)


def test_addon_is_a_ceiling_of_the_squared_exposure():
    """X = 2 units x 1 USD = 2e10 money; w = 1 bp, adv = 3 USD: 4e20 / (3 * 1e4 * 1e10) = 1333333.3 -> 1333334."""
    model = replace(LINES, liquidity_weight_bps=(1, 0), adv=(3, 10**6))
    r = margin_fx(model, AccountFx((2 * QTY_SCALE, 0), (0,), 0))
    assert r.exposure == (2 * 10**10, 0) and r.addon_terms == (1333334, 0) and r.addon == 1333334
    assert r.mm == r.es + 1333334


def test_tail_selection_ties_go_to_the_lower_index():
    assert tail_selection((5, 7, 7, 1, 7), 2) == ((0, 1, 1, 0, 0), 7, 2)
    assert tail_selection((5, 7, 7, 1, 7), 4) == ((1, 1, 1, 0, 1), 5, 0)
    assert tail_selection((0, 0, 0), 1) == ((1, 0, 0), 0, 0)
    assert tail_selection((-4, -1, -9), 3) == ((1, 1, 1), -9, 2)


def test_net_linear_sums_spot_and_perp_and_skips_options():
    model = replace(LINES, kinds=(0, 1, 1, 2, 3), under=(0, 0, 1, 0, 1), opt=((1, 1),) * 4,
                    opt_mark=(0, 0), opt_expo=(0, 0))
    assert net_linear(model, (1, 2, 4, 8, 16)) == [3, 4]


def test_views_of_the_model():
    model = MarginModelFx(price=(7, 11), lin=((1, 2), (3, 4)), opt=((5, 6), (8, 9)), opt_mark=(13, 17),
                          opt_expo=(19, 23), haircut_bps=(0, 1, 2), adv=(1, 1), liquidity_weight_bps=(0, 0),
                          k_tail=2, im_buffer_bps=0, warn_buffer_bps=0, kinds=(0, 2, 1, 3), under=(1, 0, 1, 1),
                          coll=(-1, 1, 0), chunks=2)
    assert (model.n_scenarios, model.n_instruments, model.n_underlyings, model.n_collateral) == (2, 4, 2, 3)
    assert model.options == (1, 3) and model.n_options == 2
    assert model.collateral_price == (PRICE_SCALE, 11, 7)
    assert model.mark == (11, 13, 0, 17)
    assert model.exposure == ((0, 19, 0, 0), (11, 0, 11, 23))
    assert model.pnl == ((2, 5, 2, 6), (4, 8, 4, 9))
    assert model.structure() == {"kinds": [0, 2, 1, 3], "under": [1, 0, 1, 1], "coll": [-1, 1, 0],
                                 "S": 2, "U": 2, "n": 4, "m": 3, "k": 2, "C": 2}
    assert empty_account(4, 3) == AccountFx((0, 0, 0, 0), (0, 0, 0), 0)
    r = margin_fx(model, empty_account(4, 3))
    assert (r.losses, r.es, r.addon, r.mm, r.im, r.collateral_value, r.equity, r.tier) == \
        ((0, 0), 0, 0, 0, 0, 0, 0, 0)


def test_option_segments_split_the_scenarios_by_chunk():
    from calcm.risk.modelfx.commit import opt_segment
    model = MarginModelFx(price=(7,), lin=((1,), (2,), (3,), (4,)), opt=((10, 20), (11, 21), (12, 22), (13, 23)),
                          opt_mark=(5, 6), opt_expo=(8, 9), haircut_bps=(), adv=(1,), liquidity_weight_bps=(0,),
                          k_tail=1, im_buffer_bps=0, warn_buffer_bps=0, kinds=(2, 3, 0), under=(0, 0, 0),
                          coll=(), chunks=2)
    assert model.opt_segments() == [opt_segment(5, 8, [10, 11]), opt_segment(5, 8, [12, 13]),
                                    opt_segment(6, 9, [20, 21]), opt_segment(6, 9, [22, 23])]
    assert opt_segment(5, 8, [10, 11]) != opt_segment(5, 8, [12, 13])


# ---- validation: every rule at its boundary, naming the field ---------------------------------------------

def _ok(**kw) -> MarginModelFx:
    base = dict(price=(10**6, 2 * 10**6), lin=((1, 2), (3, 4)), opt=((5,), (6,)), opt_mark=(7,), opt_expo=(8,),
                haircut_bps=(0, BPS - 1), adv=(1, 2**48 - 1), liquidity_weight_bps=(0, 2**16 - 1), k_tail=2,
                im_buffer_bps=2**16 - 1, warn_buffer_bps=0, kinds=(0, 2), under=(0, 1), coll=(-1, 1), chunks=2)
    return MarginModelFx(**{**base, **kw})


def test_the_base_model_is_valid_at_every_upper_edge():
    m = _ok(price=(1, 2**48 - 1), lin=((-(2**48) + 1, 2**48 - 1), (0, 0)), opt=((2**48 - 1,), (-(2**48) + 1,)),
            opt_mark=(-(2**48) + 1,), opt_expo=(2**48 - 1,), k_tail=1, warn_buffer_bps=2**16 - 1, coll=(0, 1))
    assert m.n_scenarios == 2


@pytest.mark.parametrize("kw, exc, msg", [
    ({"price": ()}, ValueError, "^a margin model needs at least one underlying, scenario and instrument$"),
    ({"lin": (), "opt": ()}, ValueError, "^a margin model needs at least one underlying, scenario and instrument$"),
    ({"kinds": (), "under": ()}, ValueError, "^a margin model needs at least one underlying, scenario and"),
    ({"under": (0,)}, ValueError, "^kinds and under must have one entry per instrument$"),
    ({"kinds": (0, 4)}, ValueError, r"^kinds\[1\]=4 is not 0..3 \(spot, perp, call, put\)$"),
    ({"kinds": (-1, 2)}, ValueError, r"^kinds\[0\]=-1 is not 0..3"),
    ({"under": (0, 2)}, ValueError, r"^under\[1\]=2 not in \[0, 2\)$"),
    ({"under": (-1, 1)}, ValueError, r"^under\[0\]=-1 not in \[0, 2\)$"),
    ({"coll": (-2, 1)}, ValueError, r"^coll\[0\]=-2 not in \[-1, 2\)$"),
    ({"coll": (-1, 2)}, ValueError, r"^coll\[1\]=2 not in \[-1, 2\)$"),
    ({"haircut_bps": (0,)}, ValueError, "^haircut_bps must have one value per collateral asset$"),
    ({"adv": (1,)}, ValueError, "^adv and liquidity_weight_bps must have one value per underlying$"),
    ({"liquidity_weight_bps": (1, 2, 3)}, ValueError, "^adv and liquidity_weight_bps must have one value per"),
    ({"opt_mark": ()}, ValueError, r"^opt_mark and opt_expo must have one value per option \(1\)$"),
    ({"opt_expo": (1, 2)}, ValueError, r"^opt_mark and opt_expo must have one value per option \(1\)$"),
    ({"chunks": 0}, ValueError, r"^chunks=0 must divide the scenario count S=2$"),
    ({"chunks": 3}, ValueError, r"^chunks=3 must divide the scenario count S=2$"),
    ({"price": (0, 1)}, FixedPointRangeError, r"price\[0\]: 0 is outside"),
    ({"price": (1, 2**48)}, FixedPointRangeError, r"price\[1\]: 281474976710656 is outside"),
    ({"lin": ((1, 2), (3,))}, ValueError, r"^lin\[1\] must have 2 values$"),
    ({"lin": ((1, 2**48), (3, 4))}, FixedPointRangeError, r"lin\[0\]\[1\]: "),
    ({"lin": ((1, 2), (-(2**48), 4))}, FixedPointRangeError, r"lin\[1\]\[0\]: "),
    ({"opt": ((5,),)}, ValueError, "^opt must have one row per scenario$"),
    ({"opt": ((5,), (6, 7))}, ValueError, r"^opt\[1\] must have 1 values$"),
    ({"opt": ((5,), (2**48,))}, FixedPointRangeError, r"opt\[1\]\[0\]: "),
    ({"opt_mark": (2**48,)}, FixedPointRangeError, r"opt_mark\[0\]: "),
    ({"opt_expo": (-(2**48),)}, FixedPointRangeError, r"opt_expo\[0\]: "),
    ({"haircut_bps": (0, BPS)}, FixedPointRangeError, r"haircut_bps\[1\]: 10000 is outside .*\[0, 10000\)"),
    ({"haircut_bps": (-1, 0)}, FixedPointRangeError, r"haircut_bps\[0\]: -1 is outside"),
    ({"adv": (0, 1)}, FixedPointRangeError, r"adv\[0\]: 0 is outside .*\[1, 281474976710656\)"),
    ({"adv": (1, 2**48)}, FixedPointRangeError, r"adv\[1\]: "),
    ({"liquidity_weight_bps": (0, 2**16)}, FixedPointRangeError, r"liquidity_weight_bps\[1\]: 65536 is outside"),
    ({"liquidity_weight_bps": (-1, 0)}, FixedPointRangeError, r"liquidity_weight_bps\[0\]: "),
    ({"im_buffer_bps": 2**16}, FixedPointRangeError, r"^im_buffer_bps: 65536 is outside"),
    ({"warn_buffer_bps": -1}, FixedPointRangeError, r"^warn_buffer_bps: -1 is outside"),
    ({"k_tail": 0}, ValueError, r"^k_tail=0 not in \[1, 2\]$"),
    ({"k_tail": 3}, ValueError, r"^k_tail=3 not in \[1, 2\]$"),
])
def test_model_validation_names_the_field(kw, exc, msg):
    with pytest.raises(exc, match=msg):
        _ok(**kw)


def test_no_options_needs_no_option_rows():
    m = _ok(kinds=(0, 1), opt=(), opt_mark=(), opt_expo=())
    assert m.n_options == 0 and m.pnl == ((1, 2), (3, 4))


@pytest.mark.parametrize("qty, coll, msg", [
    ((2**40, 0), (0, 0), r"^qty\[0\]: "), ((0, -(2**40)), (0, 0), r"^qty\[1\]: "),
    ((0, 0), (2**40, 0), r"^collateral\[0\]: "), ((0, 0), (0, -1), r"^collateral\[1\]: "),
])
def test_account_ranges_name_the_field(qty, coll, msg):
    AccountFx((2**40 - 1, -(2**40) + 1), (2**40 - 1, 0), 0)
    with pytest.raises(FixedPointRangeError, match=msg):
        AccountFx(qty, coll, 0)


def test_account_encode_names_the_instrument_and_asset():
    a = AccountFx.encode([1.5, -0.00005], [2.0], "7", name="account 'bob'")
    assert a == AccountFx((15_000, -1), (20_000,), 7) and type(a.salt) is int
    with pytest.raises(FixedPointRangeError) as e:
        AccountFx.encode([0.0, 2e8], [0.0], 0, name="account 'bob'", qty_names=["X", "Y"])
    assert e.value.what == "account 'bob' position Y"
    with pytest.raises(FixedPointRangeError) as e:
        AccountFx.encode([0.0], [0.0, -1.0], 0, name="account 'bob'")
    assert e.value.what == "account 'bob' collateral #1"
    with pytest.raises(FixedPointRangeError) as e:
        AccountFx.encode([0.0], [0.0, -1.0], 0, collateral_names=["USDC", "BTC"])
    assert e.value.what == "account collateral BTC"


def test_shape_mismatch_is_refused():
    for acc in (AccountFx((0,), (0, 0), 0), AccountFx((0, 0), (0,), 0)):
        with pytest.raises(ValueError, match="^account shape does not match the model$"):
            margin_fx(_ok(), acc)
        with pytest.raises(ValueError, match="^account shape does not match the model$"):
            margins_fx_batch(_ok(), [AccountFx((0, 0), (0, 0), 0), acc])


def test_intermediate_range_errors_name_the_intermediate():
    top = 2**48 - 1
    big = MarginModelFx(price=(top,), lin=((top,),), opt=((),), opt_mark=(), opt_expo=(), haircut_bps=(0,),
                        adv=(1,), liquidity_weight_bps=(1,), k_tail=1, im_buffer_bps=2**16 - 1,
                        warn_buffer_bps=0, kinds=(0,), under=(0,), coll=(0,))
    q = 2**40 - 1
    with pytest.raises(FixedPointRangeError, match=r"^loss\[0\]: "):
        margin_fx(big, AccountFx((-q,), (0,), 0))
    with pytest.raises(FixedPointRangeError, match=r"^loss\[0\]: "):
        margins_fx_batch(big, [AccountFx((-q,), (0,), 0)])
    with pytest.raises(FixedPointRangeError, match=r"^loss\[0\]: "):
        margin_fx(big, AccountFx((q,), (0,), 0))
    calm = replace(big, lin=((0,),))
    with pytest.raises(FixedPointRangeError, match=r"^exposure\[0\]: "):
        margin_fx(calm, AccountFx((q,), (0,), 0))
    with pytest.raises(FixedPointRangeError, match=r"^addon: "):       # X = 2**40 2**20: w X^2 / 1e14 > 2**63
        margin_fx(replace(calm, price=(2**20,)), AccountFx((q,), (0,), 0))
    with pytest.raises(FixedPointRangeError, match=r"^collateral_value: "):
        margin_fx(replace(calm, liquidity_weight_bps=(0,)), AccountFx((0,), (q,), 0))
    with pytest.raises(FixedPointRangeError, match=r"^mm: "):            # es 4.6e18 + addon 4.8e18
        margin_fx(replace(calm, lin=((-(2**22),),), price=(20_000,)), AccountFx((q,), (0,), 0))
    for fn in (margin_fx, lambda m, a: margins_fx_batch(m, [a])):   # the batch's screens send these to margin_fx
        with pytest.raises(FixedPointRangeError, match=r"^im: "):        # mm = addon 3.2e18, im = mm 7.55
            fn(replace(calm, price=(2**14,)), AccountFx((q,), (0,), 0))
        with pytest.raises(FixedPointRangeError, match=r"^equity: "):    # cv 6e18 + spot marks 6e18
            fn(replace(calm, price=(5_500_000,), liquidity_weight_bps=(0,)), AccountFx((q,), (q,), 0))
        with pytest.raises(FixedPointRangeError, match=r"^exposure\[0\]: "):   # perp 2**62.3 + call 2**62.3
            fn(OPT_X, AccountFx((q, q), (0,), 0))


#: A perp and a call on one underlying, no P&L, no marks, no add-on weight: only the exposure
#: X = q (price + expo) can leave the money range (each term alone stays inside it).
OPT_X = MarginModelFx(price=(5_000_000,), lin=((0,),), opt=((0,),), opt_mark=(0,), opt_expo=(5_000_000,),
                      haircut_bps=(0,), adv=(1,), liquidity_weight_bps=(0,), k_tail=1, im_buffer_bps=0,
                      warn_buffer_bps=0, kinds=(1, 2), under=(0, 0), coll=(-1,))


# ---- the float model ---------------------------------------------------------------------------------------

def _float_model(rng, S=9, n=4, U=2, m=2, params=None) -> MarginModel:
    return MarginModel(instrument_ids=tuple(f"i{i}" for i in range(n)), underlyings=tuple(f"u{u}" for u in range(U)),
                       collateral_assets=tuple(f"c{j}" for j in range(m)),
                       pnl=rng.normal(size=(S, n)), mark=rng.normal(size=n), exposure=rng.normal(size=(U, n)),
                       collateral_price=rng.uniform(0.5, 2, size=m), haircut=np.array([0.0, 0.3])[:m],
                       adv=rng.uniform(1, 3, size=U), liquidity_weight=rng.uniform(0, 1, size=U),
                       params=params or MarginParams(es_level=0.75, im_buffer=0.25, warn_buffer=0.2))


def _reference_float(model: MarginModel, q, c) -> dict:
    """Per account: full sort of the losses, explicit sums (the module docstring's formulas)."""
    out = {f: [] for f in ("var", "es", "addon", "mm", "im", "collateral_value", "equity", "ratio", "tier",
                           "contributions")}
    k, p = model.k_tail, model.params
    for qa, ca in zip(q, c):
        L = -(model.pnl @ qa)
        order = sorted(range(len(L)), key=lambda s: (-L[s], s))[:k]
        es = max(np.mean(L[order]), 0.0)
        x = model.exposure @ qa
        addon = float(np.sum(model.liquidity_weight * x**2 / model.adv))
        mm = es + addon
        im = mm * (1 + p.im_buffer)
        cv = float(np.sum(ca * model.collateral_price * (1 - model.haircut)))
        eq = cv + float(qa @ model.mark)
        tier = 3 if eq < mm else 2 if eq < im else 1 if eq < im * (1 + p.warn_buffer) else 0
        for f, v in (("var", L[order[-1]]), ("es", es), ("addon", addon), ("mm", mm), ("im", im),
                     ("collateral_value", cv), ("equity", eq), ("ratio", eq / mm if mm > 0 else np.inf),
                     ("tier", tier), ("contributions", -qa * model.pnl[order].mean(axis=0))):
            out[f].append(v)
    return {f: np.array(v) for f, v in out.items()}


@pytest.mark.parametrize("threads, chunk", [(1, 512), (2, 3)])
def test_portfolio_margin_equals_the_per_account_loop(threads, chunk):
    rng = np.random.default_rng(11)
    model = _float_model(rng)
    q = rng.normal(size=(7, 4)) * 3
    q[0] = 0.0                                                        # no risk: mm = 0, ratio inf
    c = rng.uniform(0, 2, size=(7, 2))
    pm = PortfolioMargin(model, chunk=chunk, threads=threads)
    pm.MIN_PARALLEL = 1
    got = pm.compute(q, c)
    want = _reference_float(model, q, c)
    for f, v in want.items():
        np.testing.assert_allclose(getattr(got, f), v, rtol=1e-12, atol=1e-12, err_msg=f)
    assert got.ratio[0] == np.inf and got.tier[0] == Tier.HEALTHY
    np.testing.assert_allclose(pm.losses(q), -(q @ model.pnl.T), rtol=1e-12, atol=1e-12)


def test_identical_pnl_columns_are_netted_without_changing_results():
    rng = np.random.default_rng(2)
    base = _float_model(rng, n=4)
    pnl = base.pnl.copy()
    pnl[:, 2] = pnl[:, 0]                                             # a spot and a perp on one underlying
    model = replace(base, pnl=pnl)
    q, c = rng.normal(size=(5, 4)), rng.uniform(0, 1, size=(5, 2))
    pm = PortfolioMargin(model, threads=1)
    assert pm._net is not None and pm._neg_pnl_t.shape == (3, 9)
    np.testing.assert_allclose(pm.losses(q), -(q @ pnl.T), rtol=1e-12, atol=1e-12)
    want = _reference_float(model, q, c)
    got = pm.compute(q, c)
    for f in ("var", "es", "mm", "tier", "contributions"):
        np.testing.assert_allclose(getattr(got, f), want[f], rtol=1e-12, atol=1e-12, err_msg=f)
    assert PortfolioMargin(base, threads=1)._net is None


def test_default_threads_are_cores_capped_at_4():
    import os
    model = _float_model(np.random.default_rng(0))
    assert PortfolioMargin(model).threads == max(1, min(os.cpu_count() or 1, 4))
    assert PortfolioMargin(model, threads=0).threads == 1 and PortfolioMargin(model, threads=3).threads == 3
    assert PortfolioMargin(model, chunk="7").chunk == 7


def test_tiers_at_each_line():
    eq = np.array([0.9, 1.0, 1.24, 1.25, 1.49, 1.5, 2.0])
    got = tiers(eq, np.full(7, 1.0), np.full(7, 1.25), 0.2)
    assert got.tolist() == [3, 2, 2, 1, 1, 0, 0] and got.dtype == np.int8


@pytest.mark.parametrize("level, S, k", [(0.99, 1000, 10), (0.99, 1001, 11), (0.975, 534, 14), (0.99, 534, 6),
                                         (0.5, 3, 2), (0.99, 1, 1), (0.99, 50, 1), (0.98, 50, 1), (0.97, 50, 2)])
def test_k_tail(level, S, k):
    assert MarginParams(es_level=level).k_tail(S) == k


@pytest.mark.parametrize("kw, ok", [
    ({"es_level": 0.5}, True), ({"es_level": 0.4999}, False), ({"es_level": 0.9999}, True),
    ({"es_level": 1.0}, False), ({"im_buffer": 0.0}, True), ({"im_buffer": -1e-9}, False),
    ({"im_buffer": 4.999}, True), ({"im_buffer": 5.0}, False),
    ({"warn_buffer": 0.0}, True), ({"warn_buffer": -1e-9}, False), ({"warn_buffer": 4.999}, True),
    ({"warn_buffer": 5.0}, False),
])
def test_margin_params_bounds(kw, ok):
    if ok:
        assert MarginParams(**kw)
    else:
        msg = r"^es_level must be in \[0.5, 1\), got |^im_buffer and warn_buffer must be in \[0, 5\)$"
        with pytest.raises(ValueError, match=msg):
            MarginParams(**kw)


@pytest.mark.parametrize("field, value, msg", [
    ("mark", np.zeros(3), r"mark has shape \(3,\), expected \(4,\)"),
    ("exposure", np.zeros((2, 3)), r"exposure has shape \(2, 3\), expected \(2, 4\)"),
    ("collateral_price", np.ones(3), r"collateral_price has shape"),
    ("haircut", np.zeros(1), r"haircut has shape"),
    ("adv", np.ones(3), r"adv has shape"),
    ("liquidity_weight", np.ones(1), r"liquidity_weight has shape"),
    ("instrument_ids", ("a",), "^instrument_ids does not match pnl columns$"),
    ("mark", np.array([0, 0, np.nan, 0]), "^mark has non-finite values$"),
    ("pnl", np.full((9, 4), np.inf), "^pnl has non-finite values$"),
    ("adv", np.array([1.0, 0.0]), r"^adv must be > 0$"),
    ("haircut", np.array([0.0, 1.0]), r"^haircut must be in \[0, 1\)$"),
    ("haircut", np.array([-1e-12, 0.0]), r"^haircut must be in \[0, 1\)$"),
])
def test_margin_model_validation(field, value, msg):
    model = _float_model(np.random.default_rng(0))
    assert replace(model, haircut=np.array([0.0, 0.999999]), adv=np.array([1e-300, 1.0])).n_scenarios == 9
    with pytest.raises(ValueError, match=msg):
        replace(model, **{field: value})


def test_top_k_rejects_k_outside_1_to_S_and_agrees_with_the_references():
    loss = np.array([[3.0, 1.0, 3.0, 2.0], [0.0, 0.0, 0.0, 0.0]])
    for k in (0, 5):
        with pytest.raises(ValueError, match=rf"^k={k} not in \[1, 4\]$"):
            top_k(loss, k)
    assert top_k(loss, 3).tolist() == [[0, 2, 3], [0, 1, 2]]
    assert top_k(loss, 4).tolist() == top_k_sorted_reference(loss, 4).tolist() == [[0, 2, 3, 1], [0, 1, 2, 3]]
    assert sorted(top_k_reference(loss, 2)[0].tolist()) == [0, 2]
    ints = np.array([[2**62, -(2**62), 2**62, 5]], dtype=np.int64)
    assert top_k(ints, 2).tolist() == [[0, 2]] and top_k(ints, 4).tolist() == [[0, 2, 3, 1]]


# ---- the batch twin's arithmetic helpers ------------------------------------------------------------------

@pytest.mark.parametrize("zb, wb, K, plan", [
    (1, 1, 1, (1, 1, 1, 1)), (0, 0, 1, (1, 1, 1, 1)), (20, 33, 1, (1, 20, 1, 33)), (20, 34, 1, (1, 20, 2, 17)),
    (20, 33, 2, (1, 20, 2, 17)), (40, 48, 72, (2, 20, 2, 24)), (50, 48, 72, (2, 25, 3, 16)),
])
def test_limb_plan_is_the_fewest_products(zb, wb, K, plan):
    assert limb_plan(zb, wb, K) == plan


def test_limb_plan_refuses_what_no_split_fits():
    with pytest.raises(ValueError, match=r"^no limb split of 100 x 100 bits over K=1024 fits float64$"):
        limb_plan(100, 100, 1024)


def test_exact_int_matmul_caches_the_limbs_of_w_and_writes_into_out():
    rng = np.random.default_rng(4)
    z = rng.integers(-(2**40), 2**40, size=(3, 5), dtype=np.int64)
    w = rng.integers(-(2**20), 2**20, size=(5, 4), dtype=np.int64)
    want = [[sum(int(a) * int(b) for a, b in zip(z[i], w[:, j])) for j in range(4)] for i in range(3)]
    cache: dict = {}
    out = np.zeros((3, 4), np.int64)
    got = exact_int_matmul(z, w, cache, out=out)
    assert got.tolist() == want and out.tolist() == want and len(cache) == 1
    (key, stack), = cache.items()
    assert stack.shape == (5, key[0] * 4)
    assert exact_int_matmul(z, w, cache).tolist() == want and len(cache) == 1


def test_batch_model_and_result_shapes():
    bm = BatchModelFx(LINES)
    assert bm.w.shape == (2, 4) and bm.lin_map.tolist() == [[1, 0], [0, 1]] and bm.opt_idx.tolist() == []
    accs = [AccountFx((QTY_SCALE, e), (0,), 0) for e in (MM - 1, WARN)]
    out = margins_fx_batch(bm, accs)
    assert len(out) == 2 and out.results() == margins_fx(LINES, accs) and out.tier.tolist() == [3, 0]
    arr = margins_fx_arrays(LINES, np.array([[QTY_SCALE, MM - 1], [QTY_SCALE, WARN]]), np.zeros((2, 1)), chunk=1,
                            threads=2)
    assert arr.results() == out.results() and not arr.fallback.any()
    many = replace(LINES, coll=(-1,) * 257, haircut_bps=(0,) * 257)
    with pytest.raises(ValueError, match="^the batch twin assumes at most 256 collateral assets$"):
        BatchModelFx(many)
    assert BatchModelFx(replace(LINES, coll=(-1,) * 256, haircut_bps=(0,) * 256)).coll_a.shape == (256,)


# ---- quantising a float model, commitments' preimages, book errors ----------------------------------------

def _float_for_fx(**kw) -> MarginModel:
    base = dict(instrument_ids=("s0", "p1", "c0"), underlyings=("u0", "u1"), collateral_assets=("USDC", "U0"),
                pnl=np.array([[-0.1234564, 0.5, 1.2e-6], [0.25, -0.75, -2.7e-6]]),
                mark=np.array([20.0, 0.0, 1.234567]), exposure=np.array([[20.0, 0.0, 0.5], [0.0, 30.0, 0.0]]),
                collateral_price=np.array([1.0, 20.0]), haircut=np.array([0.0, 0.05]),
                adv=np.array([1234.4, 5e9]), liquidity_weight=np.array([0.1, 0.0001]),
                params=MarginParams(es_level=0.5, im_buffer=0.25, warn_buffer=0.2))
    return MarginModel(**{**base, **kw})


def test_from_float_quantises_every_field():
    fx = MarginModelFx.from_float(_float_for_fx(), (0, 1, 2), (0, 1, 0), (-1, 0))
    assert fx.price == (20_000_000, 30_000_000)                     # from the first linear instrument's exposure
    assert fx.lin == ((-123_456, 500_000), (250_000, -750_000))
    assert fx.opt == ((1,), (-3,)) and fx.opt_mark == (1_234_567,) and fx.opt_expo == (500_000,)
    assert fx.haircut_bps == (0, 500) and fx.adv == (1234, 5_000_000_000) and fx.liquidity_weight_bps == (1000, 1)
    assert (fx.k_tail, fx.im_buffer_bps, fx.warn_buffer_bps) == (1, 2500, 2000)
    assert (fx.kinds, fx.under, fx.coll) == ((0, 1, 2), (0, 1, 0), (-1, 0))
    given_px = MarginModelFx.from_float(_float_for_fx(), (0, 1, 2), (0, 1, 0), (-1, 0), price=[21.0, 31.5])
    assert given_px.price == (21_000_000, 31_500_000) and given_px.lin == fx.lin


def test_from_float_needs_a_linear_instrument_or_a_price_per_underlying():
    model = _float_for_fx()
    with pytest.raises(ValueError, match="^from_float needs a linear instrument or a price on every underlying$"):
        MarginModelFx.from_float(model, (0, 2, 2), (0, 1, 0), (-1, 0))
    fx = MarginModelFx.from_float(model, (0, 2, 2), (0, 1, 0), (-1, 0), price=[20.0, 30.0])
    assert fx.lin == ((-123_456, 0), (250_000, 0))                  # no linear instrument on u1: zero column
    assert fx.opt == ((500_000, 1), (-750_000, -3)) and fx.opt_expo == (30_000_000, 500_000)
    with pytest.raises(FixedPointRangeError, match=r"^price\[1\]: "):
        MarginModelFx.from_float(model, (0, 1, 2), (0, 1, 0), (-1, 0), price=[20.0, 0.0])
    with pytest.raises(FixedPointRangeError, match=r"^lin\[1\]\[1\]: "):
        MarginModelFx.from_float(_float_for_fx(pnl=np.array([[0.0, 0.0, 0.0], [0.0, 3e8, 0.0]])),
                                 (0, 1, 2), (0, 1, 0), (-1, 0))


def test_commitment_preimages_have_the_documented_layout():
    from calcm.poseidon import structure_id
    from calcm.risk.modelfx.commit import MODEL_DOMAIN
    m = _ok()
    sid = structure_id((0, 2), (0, 1), (-1, 1), 2, 2, 2, 2)
    assert m.structure_id == sid
    assert sid != structure_id((0, 2), (1, 0), (-1, 1), 2, 2, 2, 2)
    el = m.lin_elements()
    assert el[:9] == [MODEL_DOMAIN, sid, 2, 2, 2, 2, 2, 2**16 - 1, 0]          # S, U, n, m, k, im, warn
    assert el[9:] == [10**6, 2 * 10**6, 1, 2**48 - 1, 0, 2**16 - 1, 0, BPS - 1, 0, 0, 1, 3, 2, 4]   # perp_move 0, 0


def test_book_errors_name_the_collateral_field(small_book):
    from calcm.errors import InputError
    from calcm.risk.fixed_margin import encode_book_accounts
    bk = small_book({"a": {"BTC": 1.0}, "b": {"ETH-PERP": -2.0}})
    q, c = bk.quantities(), bk.collateral_amounts()
    accs = encode_book_accounts(bk)
    assert [a.salt for a in accs] == [1, 2] and accs[1].qty[bk.instrument_ids.index("ETH-PERP")] == -20_000
    c = c.copy()
    c[1, 1] = -0.5
    with pytest.raises(InputError) as e:
        encode_book_accounts(bk, q, c)
    assert (e.value.record, e.value.field) == ("account 'b'", "collateral.BTC")
    assert "-0.5 units is outside the fixed-point range [0, 1.09951e+08)" in e.value.message
    q = q.copy()
    q[0, 0] = 2e8
    with pytest.raises(InputError) as e:
        encode_book_accounts(bk, q, bk.collateral_amounts())
    assert (e.value.record, e.value.field) == ("account 'a'", "positions.BTC")
    assert "2e+08 units is outside the fixed-point range [-1.09951e+08, 1.09951e+08)" in e.value.message


def test_default_threads_follow_the_core_count(monkeypatch):
    import calcm.risk.margin as margin_mod
    model = _float_model(np.random.default_rng(0))
    for cores, want in ((8, 4), (3, 3), (1, 1), (None, 1)):
        monkeypatch.setattr(margin_mod.os, "cpu_count", lambda c=cores: c)
        assert PortfolioMargin(model).threads == want


def test_from_float_errors_name_the_field():
    kinds, under, coll = (0, 1, 2), (0, 1, 0), (-1, 0)
    pnl = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 3e8]])
    cases = [(dict(pnl=pnl), r"^opt\[1\]: "), (dict(mark=np.array([20.0, 0.0, 3e8])), "^opt_mark: "),
             (dict(exposure=np.array([[20.0, 0.0, -3e8], [0.0, 30.0, 0.0]])), "^opt_expo: "),
             (dict(adv=np.array([0.4, 1.0])), "^adv: "), (dict(adv=np.array([1.0, 3e14])), "^adv: "),
             (dict(liquidity_weight=np.array([0.1, 7.0])), "^liquidity_weight: ")]
    for kw, msg in cases:
        with pytest.raises(FixedPointRangeError, match=msg):
            MarginModelFx.from_float(_float_for_fx(**kw), kinds, under, coll)


def test_book_errors_name_the_book_file(fixtures_dir):
    from calcm.errors import InputError
    from calcm.risk.book import load_book
    from calcm.risk.fixed_margin import encode_book_accounts
    with pytest.raises(InputError) as e:
        encode_book_accounts(load_book(fixtures_dir / "book_overflow.json"))
    assert e.value.file.endswith("book_overflow.json") and e.value.record == "account 'long_btc'"


def test_blas_pinning_is_found_and_restored():
    """Where numpy ships OpenBLAS the per-thread setter is found; inside single_blas_thread this
    thread's BLAS runs on one thread, and the previous count is restored afterwards."""
    import calcm.risk.blas as mg
    fresh = mg._blas_local_threads()
    assert (fresh is None) == (mg._SET_LOCAL is None)
    if fresh is None:
        assert mg.single_blas_thread(lambda a, b: a + b, 2, 3) == 5
        return
    assert fresh.restype is __import__("ctypes").c_int and fresh.argtypes == [__import__("ctypes").c_int]

    def inside():                          # the setter returns the previous count: read it, put it back
        cur = mg._SET_LOCAL(3)
        mg._SET_LOCAL(cur)
        return cur

    before = mg._SET_LOCAL(2)
    try:
        assert mg.single_blas_thread(inside) == 1
        assert mg._SET_LOCAL(2) == 2                                   # restored after the call
    finally:
        mg._SET_LOCAL(before)


def test_a_thread_pool_leaves_blas_threads_as_it_found_them():
    """numpy's OpenBLAS applies the 'local' setter process-wide: workers that each pinned and
    restored it raced, and left every later product of the process on one BLAS thread
    (`bench risk`'s baseline matrix product ran single-threaded after the full margin)."""
    import calcm.risk.blas as mg
    if mg._SET_LOCAL is None:
        pytest.skip("numpy's BLAS here cannot be pinned (not its bundled OpenBLAS)")
    rng = np.random.default_rng(11)
    model = _float_model(rng)
    q = rng.normal(0, 3, (4096, model.pnl.shape[1]))
    c = rng.uniform(0, 1e5, (4096, len(model.collateral_assets)))
    before = mg._SET_LOCAL(2)
    try:
        for _ in range(5):
            PortfolioMargin(model, chunk=64, threads=2).compute(q, c)
            assert mg._SET_LOCAL(2) == 2          # still 2 after the pool (read, then put back)
        # two pools at once, from two threads: the last one out restores the count
        with ThreadPoolExecutor(2) as outer:
            list(outer.map(lambda _: PortfolioMargin(model, chunk=64, threads=2).compute(q, c), range(8)))
        assert mg._SET_LOCAL(2) == 2
    finally:
        mg._SET_LOCAL(before)


def test_ratio_below_one_dollar_and_a_one_scenario_tail():
    """MM between 0 and 1 USD still divides (ratio = equity / mm); k = 1 takes the worst scenario."""
    rng = np.random.default_rng(5)
    model = _float_model(rng, params=MarginParams(es_level=0.9, im_buffer=0.25, warn_buffer=0.2))
    assert model.k_tail == 1
    q = np.vstack([rng.normal(size=(3, 4)), np.full((1, 4), 1e-3)])
    c = rng.uniform(0, 2, size=(4, 2))
    got = PortfolioMargin(model, threads=1).compute(q, c)
    want = _reference_float(model, q, c)
    assert 0 < got.mm[3] < 1
    for f, v in want.items():
        np.testing.assert_allclose(getattr(got, f), v, rtol=1e-12, atol=1e-15, err_msg=f)


#: As LINES with losses 10001 x (10.000003, 9.000001, 8.000005) USD: MM = 90_009_030_003 money, so
#: IM = 112_511_287_504 and the warning line IM * 1.2 = 135_013_545_004.8 are not multiples of BPS.
ODD = replace(LINES, lin=((-10_000_003, 0), (-9_000_001, 0), (-8_000_005, 0), (10**6, 0)))


@pytest.mark.parametrize("equity, tier", [
    (90_009_030_002, 3), (90_009_030_003, 2), (112_511_287_503, 2), (112_511_287_504, 1),
    (135_013_545_004, 1), (135_013_545_005, 0),
])
def test_tier_lines_off_the_bps_grid(equity, tier):
    acc = AccountFx((10_001, equity), (0,), 0)
    r = margin_fx(ODD, acc)
    assert (r.mm, r.im, r.tier) == (90_009_030_003, 112_511_287_504, tier)
    assert _as_dict(r) == _reference_fx(ODD, acc)
    assert margins_fx_batch(ODD, [acc]).result(0) == r


def test_batch_caches_the_limbs_and_accepts_float_arrays():
    bm = BatchModelFx(ODD)
    assert bm.w_limbs == {}
    accs = [AccountFx((10_001, e), (3,), 0) for e in (0, 135_013_545_005)]
    out = margins_fx_batch(bm, accs)
    assert len(bm.w_limbs) == 1 and out.results() == margins_fx(ODD, accs)
    # float arrays of integers are read as int64 (a view of the float bits would be garbage)
    arr = margins_fx_arrays(bm, np.array([[10_001.0, 0.0], [10_001.0, 135_013_545_005.0]]), np.array([[3.0], [3.0]]))
    assert arr.results() == out.results()


def test_top_k_keeps_int64_losses_exact_near_2_62():
    """Integer losses one unit apart at 2**62 (equal as float64) keep their order."""
    x = np.array([[2**62, 2**62 + 1, 5, 2**62 + 1]], dtype=np.int64)
    assert top_k(x, 3).tolist() == top_k_sorted_reference(x, 3).tolist() == [[1, 3, 0]]


def test_collateral_credit_split_is_exact_for_large_prices():
    """cprice (BPS - h) = a BPS + r with cprice near 2**48: p (BPS - 1) = k BPS - 1, whose float
    quotient rounds up to k; the batch twin must use the integer floor (k - 1, remainder 9999)."""
    p = 281_474_976_700_001                                   # < 2**48, p = 1 (mod BPS)
    model = replace(LINES, price=(p, 1), haircut_bps=(1,), coll=(0,))
    bm = BatchModelFx(model)
    assert (int(bm.coll_a[0]), int(bm.coll_r[0])) == divmod(p * (BPS - 1), BPS)
    accs = [AccountFx((0, 0), (1,), 0), AccountFx((0, 0), (7,), 0)]
    assert margins_fx_batch(bm, accs).results() == margins_fx(model, accs)


@pytest.mark.parametrize("model, acc, field", [
    # the exposure screen alone: a perp at 9 USD x 2**40 units is X = 9.9e18 >= 2**63
    (replace(OPT_X, price=(9_000_000,)), AccountFx((2**40 - 1, 0), (0,), 0), "exposure"),
    # the IM screen alone: add-on 1.98e18 (< 2**61, passes the add-on screen), IM = 7.55 x that >= 2**63
    (replace(OPT_X, price=(12_800,), opt_expo=(0,), liquidity_weight_bps=(1,), im_buffer_bps=2**16 - 1),
     AccountFx((2**40 - 1, 0), (0,), 0), "im"),
    # the equity screen alone: spot marks 4.4e18 (exposure < 2**62) + collateral 5.5e18 >= 2**63
    (MarginModelFx(price=(4_000_000, 5_000_000), lin=((0, 0),), opt=((),), opt_mark=(), opt_expo=(),
                   haircut_bps=(0,), adv=(1, 1), liquidity_weight_bps=(0, 0), k_tail=1, im_buffer_bps=0,
                   warn_buffer_bps=0, kinds=(0,), under=(0,), coll=(1,)),
     AccountFx((2**40 - 1,), (2**40 - 1,), 0), "equity"),
])
def test_batch_screens_send_out_of_range_accounts_to_margin_fx(model, acc, field):
    with pytest.raises(FixedPointRangeError, match=rf"^{field}(\[0\])?: ") as scalar:
        margin_fx(model, acc)
    with pytest.raises(FixedPointRangeError) as batch:
        margins_fx_batch(model, [acc])
    assert str(batch.value) == str(scalar.value)


@pytest.mark.parametrize("zb, wb, K, plan", [
    (100, 20, 1024, (4, 25, 2, 10)), (20, 100, 1024, (2, 10, 4, 25)),   # at most 4 limbs a side
    (31, 25, 1024, (2, 16, 1, 25)),                                     # 2 products, not 3
])
def test_limb_plan_caps_limbs_and_minimises_the_product_count(zb, wb, K, plan):
    assert limb_plan(zb, wb, K) == plan

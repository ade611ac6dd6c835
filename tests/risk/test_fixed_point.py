"""The published fixed-point model against the float model, within the bound derived from the rounding;
margin_fx v2 (net linear per underlying) against the v1 per-instrument arithmetic."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from calcm.errors import InputError
from calcm.fixedpoint import MONEY_SCALE, QTY_BITS, QTY_SCALE, FixedPointRangeError
from calcm.risk.book import load_book
from calcm.risk.fixed_margin import AccountFx, MarginModelFx, encode_book_accounts, margin_fx
from calcm.risk.fx_bound import fx_error_bounds
from calcm.risk.margin import PortfolioMargin, Tier


@pytest.fixture(scope="module")
def model_fx(market, book, risk):
    """The published model (what `calcm margin` prints and `calcm prove` proves)."""
    from calcm.risk.published import published_model
    return published_model(market, book, risk=risk).model


def _fixed(model_fx, q, c):
    out = [margin_fx(model_fx, AccountFx.encode(q[a], c[a], 0)) for a in range(len(q))]
    get = lambda f: np.array([getattr(r, f) / MONEY_SCALE for r in out])  # noqa: E731
    return {f: get(f) for f in ("es", "addon", "mm", "im", "collateral_value", "equity")} | \
        {"tier": np.array([r.tier for r in out])}


qty = st.floats(-300, 300, allow_subnormal=False)
books = st.tuples(arrays(np.float64, (4, 32), elements=qty),
                  arrays(np.float64, (4, 8), elements=st.floats(0, 1e4, allow_subnormal=False)))


@settings(max_examples=40, deadline=None)
@given(books)
def test_fixed_point_within_documented_bound(model, model_fx, qc):
    q, c = qc[0][:, : model.pnl.shape[1]], qc[1][:, : len(model.collateral_assets)]
    f = PortfolioMargin(model).compute(q, c)
    x = _fixed(model_fx, q, c)
    b = fx_error_bounds(model, q, c, model_fx)
    for name in ("es", "addon", "mm", "im", "collateral_value", "equity"):
        err = np.abs(x[name] - getattr(f, name))
        assert np.all(err <= getattr(b, name)), name
    # The bound is tight enough to matter: a few dollars, at most 1e-5 of the gross scenario P&L
    # and 1e-6 of the gross value (the model update's rounding and Black-76 polynomials included).
    aq = np.abs(q)
    assert np.all(b.es < 5.0 + 1e-5 * (aq @ np.abs(model.pnl).max(axis=0)))
    assert np.all(b.equity < 5.0 + 1e-6 * (aq @ np.abs(model.mark) + c @ model.collateral_price))
    # Requirements round up: never below the float model by more than the quantisation.
    assert np.all(x["es"] >= f.es - b.es)
    # Tiers agree wherever equity is farther than the bounds from every threshold.
    warn = 1 + model.params.warn_buffer
    gap = np.min(np.abs(np.stack([f.equity - f.mm, f.equity - f.im, f.equity - f.im * warn])), axis=0)
    margin = b.equity + b.im * warn
    sure = gap > margin
    np.testing.assert_array_equal(x["tier"][sure], f.tier[sure])


@pytest.mark.parametrize("impl", ["float", "fixed"])
def test_shared_laws_on_both_implementations(model, model_fx, book, risk, impl):
    """The same laws, run on the float model and on its exact twin (py_ecc style)."""
    q, c = book.quantities(), book.collateral_amounts()
    if impl == "float":
        r = PortfolioMargin(model).compute(q, c)
        res = {f: getattr(r, f) for f in ("es", "mm", "im", "equity", "tier")}
    else:
        res = _fixed(model_fx, q, c)
    ids = [a.id for a in book.accounts]
    assert np.all(res["es"] >= 0) and np.all(res["mm"] >= res["es"]) and np.all(res["im"] >= res["mm"])
    # Cash and carry (10 BTC long spot, 10 short perp): only the perp basis + funding charge remains.
    u = risk.underlyings.index("BTC")
    charge = 10 * risk.price[u] * risk.perp_shock_bps[u] / 1e4
    assert res["es"][ids.index("basis_btc")] == pytest.approx(charge, abs=1e-3) and charge > 0
    assert res["es"][ids.index("idle")] == 0
    eq, mm, im = res["equity"], res["mm"], res["im"]
    expect = np.where(eq < mm, 3, np.where(eq < im, 2, np.where(eq < im * 1.2, 1, 0)))
    np.testing.assert_array_equal(res["tier"], expect)
    assert int(res["tier"][ids.index("near_liq_long")]) == Tier.LIQUIDATABLE


def test_quantity_range_boundary():
    top = (2**QTY_BITS - 1) / QTY_SCALE
    assert AccountFx.encode([top, -top], [top], 0).qty == (2**QTY_BITS - 1, -(2**QTY_BITS - 1))
    with pytest.raises(FixedPointRangeError):
        AccountFx.encode([2**QTY_BITS / QTY_SCALE], [0.0], 0)
    with pytest.raises(FixedPointRangeError):
        AccountFx.encode([0.0], [-1 / QTY_SCALE], 0)   # collateral is never negative
    with pytest.raises(FixedPointRangeError):
        AccountFx.encode([float("nan")], [0.0], 0)


def test_overflow_book_names_file_account_field(fixtures_dir):
    bk = load_book(fixtures_dir / "book_overflow.json")
    with pytest.raises(InputError) as e:
        encode_book_accounts(bk)
    assert e.value.file.endswith("book_overflow.json")
    assert e.value.record == "account 'long_btc'"
    assert e.value.field == "positions.BTC-PERP"


def test_negative_rounding_is_symmetric():
    from calcm.fixedpoint import QTY, encode, round_half_away

    assert [round_half_away(x) for x in (0.5, -0.5, 2.5, -2.5, 2.4999, -2.4999)] == [1, -1, 3, -3, 2, -2]
    assert encode(-0.75, 2, QTY) == -2 and encode(0.75, 2, QTY) == 2   # exact halves in binary


def test_bound_uses_the_worst_case_steps(model):
    from calcm.risk.fx_bound import DP, DQ, quantisation_error

    assert np.all(quantisation_error(model.pnl, 1e6) <= DP + 1e-12)
    assert quantisation_error(np.array([0.05]), 1e4)[0] < 1e-15        # on the grid: no error
    assert DQ == 0.5e-4 and DP == 0.5e-6


def test_published_model_has_the_float_models_scenarios_and_tail(model, model_fx):
    assert model_fx.n_scenarios == model.n_scenarios == 534 and model_fx.k_tail == model.k_tail == 6
    assert model_fx.n_instruments == 13 and model_fx.n_collateral == 5 and model_fx.n_underlyings == 5


def test_risk_haircuts_are_published(model, model_fx):
    """On by default and provable: the published haircuts are the float model's, as integers
    (tests/risk/test_haircuts.py checks the rule)."""
    assert tuple(model_fx.haircut_bps) == tuple(int(h) for h in np.round(model.haircut * 1e4))
    assert model_fx.haircut_bps[2] > 500                     # BTC: its ES, above the 5% table


def _v1_margin(m: MarginModelFx, acc: AccountFx) -> tuple:
    """The v1 arithmetic: per-instrument sums over the pnl / mark / exposure views."""
    from calcm.fixedpoint import BPS, ceil_div, floor_div
    from calcm.risk.fixed_margin import tail_selection
    dot = lambda a, b: sum(x * y for x, y in zip(a, b))  # noqa: E731
    losses = tuple(-dot(acc.qty, row) for row in m.pnl)
    bits, t, _ = tail_selection(losses, m.k_tail)
    es = max(ceil_div(sum(L for L, b in zip(losses, bits) if b), m.k_tail), 0)
    x = [dot(acc.qty, row) for row in m.exposure]
    addon = sum(ceil_div(w * v * v, a * BPS * MONEY_SCALE) for w, v, a in zip(m.liquidity_weight_bps, x, m.adv))
    cv = floor_div(sum(c * p * (BPS - h) for c, p, h in zip(acc.collateral, m.collateral_price, m.haircut_bps)),
                   BPS)
    return losses, es, tuple(x), es + addon, cv + dot(acc.qty, m.mark)


@st.composite
def v2_books(draw):
    U = draw(st.integers(1, 3))
    n = draw(st.integers(1, 6))
    S = draw(st.integers(1, 8))
    kinds = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    under = draw(st.lists(st.integers(0, U - 1), min_size=n, max_size=n))
    m = draw(st.integers(1, 3))
    coll = draw(st.lists(st.integers(-1, U - 1), min_size=m, max_size=m))
    n_opt = sum(1 for k in kinds if k >= 2)
    p = st.integers(-(10**10), 10**10)
    model = MarginModelFx(
        price=tuple(draw(st.lists(st.integers(1, 10**11), min_size=U, max_size=U))),
        lin=tuple(tuple(draw(st.lists(p, min_size=U, max_size=U))) for _ in range(S)),
        opt=tuple(tuple(draw(st.lists(p, min_size=n_opt, max_size=n_opt))) for _ in range(S)) if n_opt else (),
        opt_mark=tuple(draw(st.lists(st.integers(0, 10**10), min_size=n_opt, max_size=n_opt))),
        opt_expo=tuple(draw(st.lists(p, min_size=n_opt, max_size=n_opt))),
        haircut_bps=tuple(draw(st.lists(st.integers(0, 9999), min_size=m, max_size=m))),
        adv=tuple(draw(st.lists(st.integers(10**6, 10**10), min_size=U, max_size=U))),
        liquidity_weight_bps=tuple(draw(st.lists(st.integers(0, 10**4), min_size=U, max_size=U))),
        k_tail=draw(st.integers(1, S)), im_buffer_bps=2500, warn_buffer_bps=2000,
        kinds=tuple(kinds), under=tuple(under), coll=tuple(coll))
    q = st.integers(-(10**7), 10**7)
    acc = AccountFx(tuple(draw(st.lists(q, min_size=n, max_size=n))),
                    tuple(draw(st.lists(st.integers(0, 10**7), min_size=m, max_size=m))), 0)
    return model, acc


@settings(max_examples=200, deadline=None)
@given(v2_books())
def test_v2_net_linear_equals_v1_per_instrument(case):
    """Netting linear positions per underlying changes the arithmetic order, never the numbers."""
    model, acc = case
    try:
        r = margin_fx(model, acc)
    except FixedPointRangeError:
        assume(False)
    losses, es, x, mm, equity = _v1_margin(model, acc)
    assert (r.losses, r.es, r.exposure, r.mm, r.equity) == (losses, es, x, mm, equity)

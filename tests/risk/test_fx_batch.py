"""The vectorised fixed-point twin against the scalar margin_fx (the integers the circuits prove).

Cross-implementation: every field of every account, bit for bit, on random models and
accounts across the whole fixed-point ranges (so the wrap-around screens, the limb split
and the Python-int fallbacks all run), on forced ties, and on the bundled book at the
published parameters.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calcm.fixedpoint import BPS, PRICE_BITS, QTY_BITS, FixedPointRangeError
from calcm.risk.fixed_margin import AccountFx, MarginModelFx, encode_book_accounts, margin_fx, margins_fx
from calcm.risk.fixed_margin_batch import (BatchModelFx, exact_int_matmul, limb_plan, margins_fx_arrays,
                                           margins_fx_batch)

from .strategies import margin_models_fx, structures


def _ints(bits: int, signed: bool = True, low: int | None = None):
    hi = 2**bits - 1
    return st.integers(-hi if signed else (0 if low is None else low), hi)


@st.composite
def model_and_accounts(draw):
    """A random MarginModelFx (any structure) and accounts; magnitudes from tiny to the range limits."""
    s = draw(structures(max_instruments=6, max_scenarios=30))
    vb = draw(st.sampled_from([3, 20, 36, PRICE_BITS]))        # model value bits
    # Quantity bits: spread, or near the 2**62 screen edge (q v around 2**58..2**64).
    qb = draw(st.one_of(st.sampled_from([2, 12, 24, QTY_BITS]),
                        st.integers(min(QTY_BITS, 58 - vb), min(QTY_BITS, 64 - vb))))
    model = draw(margin_models_fx(
        s, price=st.integers(1, 2**vb - 1), value=_ints(vb), haircut_bps=st.integers(0, BPS - 1),
        adv=st.sampled_from([1, 7, 10**6, 10**10, 2**48 - 1]), liquidity_weight_bps=st.integers(0, 2**16 - 1),
        im_buffer_bps=st.integers(0, 2**16 - 1), warn_buffer_bps=st.integers(0, 2**16 - 1),
        perp_move=st.one_of(st.just(0), st.integers(0, 2**vb - 1))))
    A = draw(st.integers(1, 6))
    accounts = [AccountFx(tuple(draw(st.lists(_ints(qb), min_size=s.n, max_size=s.n))),
                          tuple(draw(st.lists(_ints(qb, signed=False), min_size=s.m, max_size=s.m))), a)
                for a in range(A)]
    return model, accounts


def _outcome(fn):
    try:
        return fn()
    except FixedPointRangeError as exc:
        return ("raises", str(exc))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model_and_accounts())
def test_batch_equals_scalar_margin_fx_for_every_field(ma):
    model, accounts = ma
    scalar = _outcome(lambda: margins_fx(model, accounts))
    batch = _outcome(lambda: margins_fx_batch(model, accounts).results())
    assert batch == scalar


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(0, 2**32 - 1))
def test_ties_go_to_the_lower_scenario_index(S, seed):
    """Losses drawn from a handful of values: the tail, threshold and tail_last follow the published rule."""
    rng = np.random.default_rng(seed)
    lin = rng.integers(-2, 3, (S, 1))
    model = MarginModelFx(price=(10**6,), lin=tuple(map(tuple, lin.tolist())), opt=tuple(() for _ in range(S)),
                          opt_mark=(), opt_expo=(), haircut_bps=(0,), adv=(10**9,), liquidity_weight_bps=(0,),
                          k_tail=int(rng.integers(1, S + 1)), im_buffer_bps=2500, warn_buffer_bps=2000,
                          kinds=(1,), under=(0,), coll=(-1,))
    accs = [AccountFx((int(v),), (int(cv),), 0) for v, cv in zip(rng.integers(-3, 4, 5), rng.integers(0, 10, 5))]
    assert margins_fx_batch(model, accs).results() == margins_fx(model, accs)


@pytest.mark.parametrize("zb,wb,K", [(1, 1, 72), (18, 34, 72), (QTY_BITS, PRICE_BITS, 72), (50, PRICE_BITS, 72),
                                     (50, PRICE_BITS, 4096)])
def test_exact_int_matmul_at_the_bit_limits(zb, wb, K):
    """Limb products against Python ints, modulo 2**64 (K = 4096 needs 3 x 3 limbs, shifts past 64)."""
    rng = np.random.default_rng(zb * 100 + wb)
    S = 9
    z = rng.integers(-(2**zb) + 1, 2**zb, (5, K), dtype=np.int64)
    w = rng.integers(-(2**wb) + 1, 2**wb, (K, S), dtype=np.int64)
    z[0], w[:, 0] = 2**zb - 1, -(2**wb) + 1                     # the extreme corner
    got = exact_int_matmul(z, w)
    want = [[sum(int(a) * int(b) for a, b in zip(z[i], w[:, j])) for j in range(S)] for i in range(5)]
    assert [[int(v) for v in row] for row in got] == [[(v + 2**63) % 2**64 - 2**63 for v in row] for row in want]
    nz, a, nw, c = limb_plan(zb, wb, K)
    assert K * 2**(a + c) <= 2**53 and nz * a >= zb and nw * c >= wb


def test_fallback_accounts_are_flagged_and_exact():
    """A whale whose losses pass 2**62 leaves the int64 path; its numbers come from margin_fx."""
    model = MarginModelFx(price=(2**47,), lin=((2**47,), (-(2**47),)), opt=((), ()), opt_mark=(), opt_expo=(),
                          haircut_bps=(0,), adv=(2**40,), liquidity_weight_bps=(1,), k_tail=1,
                          im_buffer_bps=0, warn_buffer_bps=0, kinds=(1,), under=(0,), coll=(-1,))
    accs = [AccountFx((3,), (5,), 0), AccountFx((2**15 + 1,), (0,), 0)]
    out = margins_fx_batch(model, accs)
    assert out.fallback.tolist() == [False, True]
    assert out.results() == margins_fx(model, accs)
    big = [AccountFx((2**16,), (0,), 0)]                       # loss 2**63: outside MONEY
    with pytest.raises(FixedPointRangeError) as batch_err:
        margins_fx_batch(model, big)
    with pytest.raises(FixedPointRangeError) as scalar_err:
        margin_fx(model, big[0])
    assert str(batch_err.value) == str(scalar_err.value)


def test_giant_requirements_take_the_exact_tier_comparison():
    """im w / BPS above 2**62: the warning test runs on Python ints (screened equity < 2**62 is then
    always below the warning boundary im (1 + w/BPS) > 2**62; a larger equity is a fallback account)."""
    p = 2**47
    model = MarginModelFx(price=(p,), lin=((p,), (-p,)), opt=((), ()), opt_mark=(), opt_expo=(),
                          haircut_bps=(0,), adv=(1,), liquidity_weight_bps=(0,), k_tail=1,
                          im_buffer_bps=0, warn_buffer_bps=2**16 - 1, kinds=(1,), under=(0,), coll=(0,))
    q = 2**13                                                  # loss = mm = im = 2**60
    accs = [AccountFx((q,), (cv,), 0) for cv in (2**13 - 1, 3 * 2**12, 2**14, 2**15 + 2**14, 2**16 - 1)]
    out = margins_fx_batch(model, accs)
    assert out.fallback.tolist() == [False, False, False, True, True]
    assert out.results() == margins_fx(model, accs)
    assert out.tier.tolist() == [3, 1, 1, 1, 0]


@pytest.fixture(scope="module")
def published(market, book, risk):
    """The published model of the bundled book (what `calcm margin` prints and `calcm prove` proves)."""
    from calcm.risk.published import published_model
    return published_model(market, book, risk=risk).model


def test_arrays_entry_point_and_chunks_agree(published, book):
    model = published
    accs = encode_book_accounts(book)
    q = np.array([a.qty for a in accs], dtype=np.int64)
    c = np.array([a.collateral for a in accs], dtype=np.int64)
    one = margins_fx_arrays(BatchModelFx(model), q, c, chunk=3)
    assert one.results() == margins_fx_batch(model, accs).results()


def test_bundled_book_at_published_parameters_is_bit_identical(published, book):
    """The whole bundled book on the published model: what `calcm margin` publishes as proven."""
    model = published
    accs = encode_book_accounts(book)
    out = margins_fx_batch(model, accs)
    assert out.results() == margins_fx(model, accs)
    assert not out.fallback.any()                              # the real book stays on the fast path
    assert set(out.tier.tolist()) == {0, 1, 2, 3}


def test_bench_fx_small():
    """`calcm bench fx` runs, agrees with the scalar twin on its sample and reports a same-run baseline."""
    import json

    from click.testing import CliRunner

    from calcm.cli import main
    res = CliRunner().invoke(main, ["bench", "fx", "--accounts", "300", "--instruments", "16",
                                    "--scenarios", "200", "--repeat", "1", "--check", "3", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["matches_scalar"] is True and doc["checked_accounts"] == 3
    assert doc["accounts_per_s"] == pytest.approx(300 / doc["batch_s"])
    assert doc["ratio_to_matmul"] == pytest.approx(doc["batch_s"] / doc["matmul_s"])
    assert doc["fallback_accounts"] == 0

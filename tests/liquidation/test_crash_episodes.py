"""Evidence on real crashes (../shared/data/prices): cascades and backtests per episode.

Per episode (March 2020, May 2021, June 2022, November 2022):

- cascade replay of a synthetic book (seed 0, 60 accounts) under the three regimes:
  the calcm regime has no more bad debt than static or siloed, and carries the
  hedged and the diversified accounts with less margin than siloed;
- one-day 99% VaR backtest over the year ending with the episode: Kupiec does not
  reject at 5% (for the long/short books, see docs/LIQUIDATION.md: they are only
  checked for under-coverage).
"""
from __future__ import annotations

import pytest

from calcm.liquidation.backtest import default_books, run_backtest
from calcm.liquidation.episodes import EPISODES, REAL_EPISODES
from calcm.liquidation.replay import run_replay
from calcm.market import load_market_ohlcv

pytestmark = pytest.mark.realdata

#: Listed with enough history before every episode's backtest year.
UNIVERSE = ("BTC", "ETH", "BNB", "XRP", "LTC", "ADA")
HEDGED = ("btc_eth_hedge", "majors_vs_alts")


@pytest.fixture(scope="module")
def real_market(shared_prices):
    md = load_market_ohlcv(shared_prices / "daily_close.csv")
    assert md.high is not None and md.volumes is not None     # picked up from ohlcv/
    return md


@pytest.mark.parametrize("name", REAL_EPISODES)
def test_cascade_evidence(real_market, name):
    e = EPISODES[name]
    _, res = run_replay(real_market, e.start, e.end, seed=0, n_accounts=60)
    s = {r: x.summary for r, x in res.items()}
    tol = 1e-6
    assert s["calcm"]["bad_debt"] <= s["static"]["bad_debt"] + tol
    assert s["calcm"]["bad_debt"] <= s["siloed"]["bad_debt"] + tol
    for group in ("hedged", "diversified"):
        calcm, siloed = (s[r]["margin_by_group"][group] for r in ("calcm", "siloed"))
        assert calcm["initial_margin_held"] < siloed["initial_margin_held"]
        assert calcm["avg_book_margin"] < siloed["avg_book_margin"]
    for x in res.values():
        lhs = x.final_net_value + x.fund_final + x.liquidator_income + x.impact_costs + x.unrecovered
        assert lhs == pytest.approx(x.initial_net_value + x.fund_initial + x.mtm_pnl, rel=1e-9)


@pytest.mark.parametrize("name", REAL_EPISODES)
def test_var_backtest_not_rejected(real_market, name):
    e = EPISODES[name]
    books = [b for b in default_books(UNIVERSE) if b.family != "option"]
    rep = run_backtest(real_market, e.backtest_start, e.end, books=books, n_sims=300, margin=False, levels=(0.99,))
    assert all(b.at(0.99).var_test.n >= 360 for b in rep.books)
    for b in rep.books:
        vt = b.at(0.99).var_test
        if b.book.name in HEDGED:
            # Long/short books are margined conservatively: reject only for too many exceptions.
            assert vt.kupiec_p > 0.05 or vt.exceptions < vt.expected, (b.book.name, vt)
        else:
            assert vt.kupiec_p > 0.05, (b.book.name, vt)



"""Market data loading and validation: every bad file fails with one line naming file, record, field."""
from __future__ import annotations

import numpy as np
import pytest

from calcm.errors import InputError
from calcm.market import check_history, join_fit_test, load_market


def test_bundled_market_loads(market):
    assert market.assets == ("BTC", "ETH", "SOL", "LINK", "DOGE")
    assert market.dates.dtype == np.dtype("datetime64[D]")
    assert np.all(np.diff(market.dates) > np.timedelta64(0, "D"))
    assert market.closes.shape == (len(market.dates), 5)
    # SOL lists later: blank before, prices after.
    sol = market.closes[:, market.index("SOL")]
    first = market.first_listed()[market.index("SOL")]
    assert first > 0 and np.all(np.isnan(sol[:first])) and np.all(sol[first:] > 0)
    assert market.volumes is not None and market.volumes.shape == market.closes.shape
    assert market.gaps == ()


def test_simple_and_log_returns(market):
    r = market.simple_returns()
    lr = market.log_returns()
    p = market.closes
    assert np.allclose(r[10], p[11] / p[10] - 1, equal_nan=True)
    ok = np.isfinite(r)
    assert np.allclose(np.log1p(r[ok]), lr[ok])


@pytest.mark.parametrize("name, record, field", [
    ("market_nan.csv", "line 152", "BTC"),
    ("market_negative.csv", "line 202", "ETH"),
    ("market_empty.csv", "-", "date"),
    ("market_unsorted.csv", "line 103", "date"),
])
def test_bad_market_names_file_record_field(fixtures_dir, name, record, field):
    with pytest.raises(InputError) as e:
        load_market(fixtures_dir / name)
    assert e.value.file.endswith(name)
    assert e.value.record.startswith(record)
    assert e.value.field == field
    assert "\n" not in str(e.value)


def test_a_calendar_gap_is_an_error(fixtures_dir):
    """market_gap.csv lacks 2021-02-20..22: the first row after the hole is named, nothing is filled."""
    with pytest.raises(InputError) as e:
        load_market(fixtures_dir / "market_gap.csv")
    assert e.value.file.endswith("market_gap.csv")
    assert e.value.record == "line 52 (2021-02-23)" and e.value.field == "date"
    assert "3 missing day(s) after 2021-02-19" in e.value.message and "\n" not in str(e.value)


def test_a_gap_in_one_asset_of_a_long_file_names_the_asset(tmp_path):
    p = tmp_path / "long.csv"
    p.write_text("date,asset,close\n2021-01-01,BTC,1\n2021-01-01,ETH,1\n2021-01-02,BTC,2\n"
                 "2021-01-03,BTC,3\n2021-01-03,ETH,3\n")
    with pytest.raises(InputError) as e:
        load_market(p)
    assert e.value.record == "line 6 (2021-01-03)" and e.value.field == "ETH" and "calendar gap" in e.value.message


def test_check_history_names_file_date_and_column(market):
    sol = market.index("SOL")
    first = market.first_listed()[sol]
    asof = market.dates[first + 250]                      # exactly 250 SOL returns
    check_history(market, ("BTC", "SOL"), 250, asof=asof)
    with pytest.raises(InputError) as e:
        check_history(market, ("BTC", "SOL"), 251, asof=asof)
    assert e.value.file == market.source and e.value.record == f"asof {asof}" and e.value.field == "SOL"
    assert f"250 returns (first close {market.dates[first]})" in e.value.message
    with pytest.raises(InputError, match="not an asset"):
        check_history(market, ("XRP",), 1)


def _cut(market, lo, hi):
    """Rows lo..hi (inclusive indices) as a MarketData, named after the cut."""
    from dataclasses import replace
    return replace(market, dates=market.dates[lo:hi + 1], closes=market.closes[lo:hi + 1], volumes=None,
                   source=f"cut{lo}-{hi}.csv")


def test_join_fit_test(market):
    a, b = _cut(market, 0, 399), _cut(market, 400, 499)
    j = join_fit_test(a, b)
    np.testing.assert_array_equal(j.closes, market.closes[:500])
    assert j.source == "cut400-499.csv" and j.volumes is None
    # Column order of the test file does not matter.
    jr = join_fit_test(a, b.select(tuple(reversed(b.assets))))
    np.testing.assert_array_equal(jr.closes, j.closes)


@pytest.mark.parametrize("lo, hi, assets, record, field, words", [
    (401, 499, None, "first row", "date", "gap of 1 day"),
    (399, 499, None, "first row", "date", "overlap"),
    (400, 499, ("BTC", "ETH"), "line 1", "SOL", "same assets"),
])
def test_join_fit_test_errors(market, lo, hi, assets, record, field, words):
    a, b = _cut(market, 0, 399), _cut(market, lo, hi)
    if assets:
        b = b.select(assets)
    with pytest.raises(InputError) as e:
        join_fit_test(a, b)
    assert e.value.file == b.source and e.value.record.startswith(record) and e.value.field == field
    assert words in e.value.message


@pytest.mark.parametrize("text, record, field", [
    ("date,BTC\n2021-01-01,1\n2021-01-02,abc\n", "line 3", "BTC"),
    ("date,BTC\n2021-01-01,1\n2021-01-02,0\n", "line 3", "BTC"),
    ("date,BTC\n2021-01-01,1\n2021-01-01,2\n", "line 3", "date"),
    ("date,BTC\n2021-01-01,1\n2021/01/02,2\n", "line 3", "date"),
    ("date,BTC\n2021-01-01,1\n2021-01-02,inf\n", "line 3", "BTC"),
    ("date,BTC,ETH\n2021-01-01,1,2\n2021-01-02,2,\n", "line 3", "ETH"),   # hole after listing
    ("date,BTC\n2021-01-01,1\n2021-01-02,2,3\n", "line 3", "-"),
    ("date,BTC,BTC\n2021-01-01,1,1\n2021-01-02,2,2\n", "line 1", "BTC"),
    ("date,BTC\n2021-01-01,1\n", "-", "date"),                           # one row: no return
    ("date,BTC,ETH\n2021-01-01,1,\n2021-01-02,2,\n", "-", "ETH"),        # never listed
])
def test_validation_rules(tmp_path, text, record, field):
    p = tmp_path / "m.csv"
    p.write_text(text)
    with pytest.raises(InputError) as e:
        load_market(p)
    assert e.value.record.startswith(record) and e.value.field == field


def test_blank_before_listing_is_fine(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text("date,BTC,ETH\n2021-01-01,1,\n2021-01-02,2,\n2021-01-03,3,5\n")
    md = load_market(p)
    assert np.isnan(md.closes[:2, 1]).all() and md.closes[2, 1] == 5


def test_long_format_with_volume(tmp_path):
    p = tmp_path / "long.csv"
    p.write_text("date,asset,close,volume\n2021-01-01,BTC,100,10\n2021-01-01,ETH,10,5\n"
                 "2021-01-02,BTC,110,20\n2021-01-02,ETH,11,7\n2021-01-03,BTC,121,30\n2021-01-03,ETH,12,9\n")
    md = load_market(p)
    assert md.assets == ("BTC", "ETH")
    assert np.allclose(md.simple_returns()[:, 0], [0.1, 0.1])
    assert np.allclose(md.trailing_adv(2), [25, 8])


def test_missing_file():
    with pytest.raises(InputError, match="file not found"):
        load_market("/nonexistent/market.csv")


def test_upto_truncates(market):
    d = market.dates[500]
    sub = market.upto(str(d))
    assert sub.dates[-1] == d and len(sub.dates) == 501


@pytest.mark.realdata
def test_real_daily_close_and_ohlcv(shared_prices):
    md = load_market(shared_prices / "daily_close.csv")
    assert md.assets[:2] == ("BTC", "ETH")
    assert len(md.dates) > 2000 and np.isfinite(md.closes[:, 0]).all()
    ohlcv = load_market(shared_prices / "ohlcv")
    assert ohlcv.volumes is not None and ohlcv.high is not None
    btc = ohlcv.index("BTC")
    assert np.all(ohlcv.high[:, btc] >= ohlcv.low[:, btc])
    assert 1e8 < ohlcv.trailing_adv(30)[btc] < 1e11   # USD per day
    # The two sources agree on BTC closes.
    i = np.searchsorted(md.dates, ohlcv.dates[-1])
    assert md.closes[i, 0] == pytest.approx(ohlcv.closes[-1, btc])


def test_short_history_in_the_model_names_file_date_and_column(fixtures_dir):
    """Fewer than min_history returns at the model date: file, date and column in one line."""
    from calcm.risk.book import load_book
    from calcm.risk.model import build_risk_model

    md = load_market(fixtures_dir / "market_short.csv")
    with pytest.raises(InputError) as e:
        build_risk_model(md, load_book(fixtures_dir / "book.json"))
    assert e.value.file.endswith("market_short.csv")
    assert e.value.record == f"asof {md.dates[-1]}" and e.value.field == "BTC"
    assert "199 returns, need 250" in e.value.message

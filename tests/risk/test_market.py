"""Market data loading and validation: every bad file fails with one line naming file, record, field."""
from __future__ import annotations

import numpy as np
import pytest

from calcm.errors import InputError
from calcm.market import load_market
from calcm.paths import SHARED_DATA


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


def test_gaps_are_reported_not_fatal(fixtures_dir):
    md = load_market(fixtures_dir / "market_gap.csv")
    assert [g.days for g in md.gaps] == [4, 2]
    # The return across a gap is the multi-day return.
    k = int(np.flatnonzero(md.dates == md.gaps[0].before)[0])
    assert np.allclose(md.simple_returns()[k - 1], md.closes[k] / md.closes[k - 1] - 1, equal_nan=True)


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
    assert SHARED_DATA.exists()

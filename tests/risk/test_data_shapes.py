"""Market files shaped unlike the bundled history (spreadsheet exports, timestamps, candles,
delisted and pegged assets, sub-cent tickers): each loads as the same data or fails with one
line naming file, record and field; a degenerate fit is reported per asset, never replaced."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from calcm.cli import main
from calcm.errors import InputError
from calcm.market import load_market
from calcm.paths import FIXTURES

ROWS = "2024-01-01,100,1.0\n2024-01-02,101,1.1\n2024-01-03,99,1.2\n"


def _same(md, ref):
    return (md.assets == ref.assets and np.array_equal(md.dates, ref.dates)
            and np.array_equal(md.closes, ref.closes, equal_nan=True))


def test_bom_crlf_trailing_comma_and_midnight_stamps_load_as_the_plain_file(tmp_path):
    plain = tmp_path / "plain.csv"
    plain.write_text("date,BTC,ETH\n" + ROWS)
    ref = load_market(plain)
    variants = {
        "bom_crlf.csv": ("\ufeffdate,BTC,ETH\r\n" + ROWS.replace("\n", "\r\n")).encode("utf-8"),
        "trailing.csv": ("date,BTC,ETH,\n" + ROWS.replace("\n", ",\n")).encode(),
        "stamped.csv": ("date,BTC,ETH\n" + ROWS.replace(",1", " 00:00:00,1", 1)
                        .replace("2024-01-02,", "2024-01-02T00:00:00Z,")
                        .replace("2024-01-03,", "2024-01-03T00:00+00:00,")).encode(),
    }
    for name, raw in variants.items():
        (tmp_path / name).write_bytes(raw)
        assert _same(load_market(tmp_path / name), ref), name
    long = tmp_path / "long.csv"
    long.write_bytes(("\ufeffdate,asset,close\r\n2024-01-01T00:00:00Z,BTC,100\r\n"
                      "2024-01-02T00:00:00Z,BTC,101\r\n2024-01-03T00:00:00Z,BTC,99\r\n").encode())
    assert np.array_equal(load_market(long).closes[:, 0], ref.closes[:, 0])


@pytest.mark.parametrize("body, record, field, words", [
    ("date,BTC,ETH\n2024-01-01 12:00:00,100,1\n2024-01-02,101,1\n", "line 2", "date", "midnight UTC"),
    ("date,BTC,ETH\n2024-01-01T00:00:00+08:00,100,1\n2024-01-02,101,1\n", "line 2", "date", "midnight UTC"),
    ("date,BTC,ETH,\n2024-01-01,100,1,7\n2024-01-02,101,1,\n", "line 2", "-", "expected 3 fields, got 4"),
    ("date,BTC,ETH\n2024-01-01,100,1\n2024-01-02,101,1\n2024-01-03,102,\n2024-01-04,103,\n",
     "line 4 (2024-01-03)", "ETH", "no close from here to the end of the file (last close 2024-01-02)"),
])
def test_bad_shapes_name_file_record_field(tmp_path, body, record, field, words):
    """A non-midnight stamp, a filled cell under an unnamed column, a delisted (blank-to-the-end) asset."""
    p = tmp_path / "m.csv"
    p.write_text(body)
    with pytest.raises(InputError) as e:
        load_market(p)
    assert e.value.record == record and e.value.field == field and words in e.value.message
    assert "\n" not in str(e.value)


def _candles(d, rows, other=None):
    """An OHLCV directory: AAA.csv with ``rows`` and, if given, BBB.csv with ``other`` before it."""
    d.mkdir()
    for name, rs in (("AAA", rows), ("BBB", other)):
        if rs is not None:
            (d / f"{name}.csv").write_text("date,open,high,low,close,volume\n" + "".join(
                f"2024-01-0{k + 1},{r}\n" for k, r in enumerate(rs)))
    return d


def test_ohlcv_candle_checks_and_blank_volume(tmp_path):
    """high < low or a close outside the candle names the asset's own file and line (not the
    directory and a row number of the merged rows), and a blank volume is NaN."""
    ok = ["10,11,9,10,5", "10,11,9,10.5,", "10,12,9,11,0"]
    md = load_market(_candles(tmp_path / "ok", ok))
    assert np.isnan(md.volumes[1, 0]) and md.volumes[0, 0] == 50 and md.volumes[2, 0] == 0
    for name, bad, field, words in (("swap", "10,9,11,10,5", "high", "high 9 is below its low 11"),
                                    ("under", "10,11,9,8.5,5", "low", "close 8.5 is outside the candle's low 9")):
        with pytest.raises(InputError) as e:
            load_market(_candles(tmp_path / name, ok, [ok[0], bad, ok[2]]))
        assert e.value.file.endswith("BBB.csv") and e.value.record == "line 3 (2024-01-02)"
        assert e.value.field == field and words in e.value.message


def _flat_market(tmp_path, n=400):
    """AAA: a random walk; USDT: 1.000 every day (every return 0) from 2022-01-01."""
    rng = np.random.default_rng(1)
    a = 100 * np.cumprod(1 + 0.03 * rng.standard_normal(n))
    d = np.datetime64("2022-01-01") + np.arange(n)
    p = tmp_path / "flat.csv"
    p.write_text("date,AAA,USDT\n" + "".join(f"{d[i]},{a[i]:.6f},1.000\n" for i in range(n)))
    return p


def test_a_constant_close_is_a_per_asset_fit_error_also_in_the_cap_evidence(tmp_path):
    """The fit says why (a constant close) instead of 'invalid GARCH parameters omega=0'; the cap
    evidence reports USDT per asset and still scores AAA (it used to raise a traceback)."""
    from calcm.risk.persistence import cap_evidence
    from calcm.risk.volatility import GJRGARCH

    md = load_market(_flat_market(tmp_path))
    with pytest.raises(ValueError, match="all 399 returns equal 0 .a constant close"):
        GJRGARCH(0.999).fit(md.simple_returns()[:, 1])
    ev = cap_evidence(md, caps=(0.999,), years=(2023,))
    assert len(ev["errors"]) == 1 and ev["errors"][0].startswith("USDT: all 399 returns equal 0")
    assert ev["years"] == [2023] and ev["n_forecasts"] == 399 - 364 - 1
    assert np.isfinite(ev["qlike"]["0.999"]["mean_diff_vs_arch"])


def test_a_sub_resolution_close_is_refused_not_published(tmp_path):
    """DOGE scaled to ~1e-6 USD: its published price would be one quantum (1e-6 USD) and its
    published margin wrong by far more than the move; `calcm margin` names file, date, column."""
    lines = (FIXTURES / "market.csv").read_text().splitlines()
    k = lines[0].split(",").index("DOGE")
    out = [lines[0]]
    for row in lines[1:]:
        c = row.split(",")
        c[k] = f"{float(c[k]) * 1e-5:.6g}" if c[k] else ""
        out.append(",".join(c))
    p = tmp_path / "tiny_doge.csv"
    p.write_text("\n".join(out) + "\n")
    res = CliRunner().invoke(main, ["margin", "--market", str(p), "--json"])
    assert res.exit_code == 2, res.output
    last = res.output.strip().splitlines()[-1]
    assert f"{p}: asof 2023-12-30: DOGE: close" in last and "below the published model's price resolution" in last
    assert "Traceback" not in res.output


def test_min_published_price_is_below_every_bundled_close():
    """The resolution rule changes no published number on the bundled data (smallest close DOGE's)."""
    from calcm.risk.published import MIN_PUBLISHED_PRICE

    md = load_market(FIXTURES / "market.csv")
    assert np.nanmin(md.closes) > 5 * MIN_PUBLISHED_PRICE and MIN_PUBLISHED_PRICE == 1e-4


def test_an_asset_listed_in_the_test_window_joins_with_one_note(market):
    """A held-out file with a ticker the fit history lacks (a new listing): joined, NaN before the
    test window, named in one warning line; the backtest is not refused for it."""
    import warnings
    from dataclasses import replace

    from calcm.errors import DataFallbackWarning
    from calcm.market import MarketData, join_fit_test

    fit = replace(market, dates=market.dates[:400], closes=market.closes[:400], volumes=None, source="fit.csv")
    t = slice(400, 500)
    new = np.full((100, 1), np.nan)
    new[30:, 0] = 1e-3 * (1 + np.arange(70))
    test = MarketData(market.dates[t], ("NEW",) + market.assets, np.hstack([new, market.closes[t]]),
                      source="test.csv")
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        j = join_fit_test(fit, test)
    assert j.assets == market.assets + ("NEW",) and j.source == "test.csv"
    np.testing.assert_array_equal(j.closes[:, :-1], market.closes[:500])
    assert np.isnan(j.closes[:430, -1]).all() and np.array_equal(j.closes[430:, -1], new[30:, 0])
    (w,) = [str(x.message) for x in got if issubclass(x.category, DataFallbackWarning)]
    assert w.startswith("test.csv: line 1: NEW: not in the fit file fit.csv")


def test_a_degenerate_fit_the_encoding_cannot_hold_names_file_date_asset(market, book, risk):
    """A non-converged fit with omega ~1e-16 (a stablecoin with months of exact zeros, 2025-09-01
    of /tmp/s8/shapes/stable.csv) used to end `calcm margin` with 'omega: 0 is outside the
    fixed-point range' (no file, date or asset): now the one-line InputError with the fit."""
    from dataclasses import replace

    from calcm.risk.published import published_model

    f = risk.fits["ETH"]
    bad = replace(risk, fits={**risk.fits, "ETH": replace(f, params=replace(f.params, omega=7e-16), converged=False)})
    with pytest.raises(InputError) as e:
        published_model(market, book, risk=bad)
    assert e.value.file == market.source and e.value.record == f"asof {risk.asof}"
    assert e.value.field == "asset ETH omega" and "did NOT converge" in e.value.message
    assert "omega=7e-16" in e.value.message and "\n" not in str(e.value)


@pytest.mark.parametrize("args", [["margin", "--json"],
                                  ["explain", "--account", "whale", "--no-moves", "--json"],
                                  ["whatif", "--account", "whale", "--deposit", "USDC:1000", "--json"]])
def test_margin_reports_a_fit_that_did_not_converge(monkeypatch, args):
    """`calcm margin` (and the trader's `explain`, `whatif`) used a non-converged fit without a
    word (risk garch and backtest report theirs): now one stderr line per asset; stdout (the
    published numbers) is unchanged."""
    from dataclasses import replace

    from calcm.risk import volatility

    orig = volatility._ArchGarchT.fit
    monkeypatch.setattr(volatility._ArchGarchT, "fit",
                        lambda self, r: replace(orig(self, r), converged=not abs(r[0] + 0.0283431) < 1e-6))
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    warn = [ln for ln in res.stderr.splitlines() if "did not converge" in ln]
    assert len(warn) == 1    # ETH's first return is -0.02834315: its fit alone "did not converge"
    assert warn[0].startswith(f"calcm: warning: {FIXTURES / 'market.csv'}: asof 2023-12-31: ETH: GARCH fit")

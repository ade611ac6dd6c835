"""`calcm backtest`: levels, separate fit/test files, random books, fit reporting, bad input.

Windows are short (10-15 forecast days, no margin check) to keep the run small.
"""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from click.testing import CliRunner

from calcm.cli import main
from calcm.errors import InputError
from calcm.liquidation.backtest import BacktestBook, run_backtest
from calcm.market import join_fit_test, load_market
from calcm.paths import FIXTURES
from calcm.risk import volatility


@pytest.fixture(scope="module")
def runner():
    return CliRunner()


@pytest.fixture(scope="module")
def split_files(tmp_path_factory):
    """The bundled market cut into a fit file (..2022-12-31) and a test file (2023-01-01..2023-01-12)."""
    d = tmp_path_factory.mktemp("split")
    lines = (FIXTURES / "market.csv").read_text().splitlines()
    head, rows = lines[0], lines[1:]
    fit = [r for r in rows if r[:10] <= "2022-12-31"]
    test = [r for r in rows if "2023-01-01" <= r[:10] <= "2023-01-12"]
    (d / "fit.csv").write_text("\n".join([head, *fit]) + "\n")
    (d / "test.csv").write_text("\n".join([head, *test]) + "\n")
    return d / "fit.csv", d / "test.csv"


def _one_line_error(res, *words):
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("calcm: error:"), res.stderr
    for w in words:
        assert w in lines[0]


@pytest.mark.parametrize("level", ["1", "1.0", "0.4999", "-0.1", "1.5"])
def test_es_level_is_validated(runner, level):
    _one_line_error(runner.invoke(main, ["backtest", "--es-level", level, "--json"]), "--es-level", level)


def test_fit_and_test_files_once_is_out_of_sample(runner, split_files, tmp_path):
    fit, test = split_files
    res = runner.invoke(main, ["backtest", "--fit-market", str(fit), "--test-market", str(test), "--refit", "once",
                               "--es-level", "0.975", "--no-margin", "--sims", "200", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    # First forecast at the fit window's last close; last one the day before the test file ends.
    assert (doc["start"], doc["end"]) == ("2022-12-31", "2023-01-11")
    assert doc["levels"] == [0.975] and doc["refit"] == "once"
    # Estimated once per asset, on the fit window only.
    assert all(f["estimations"] == 1 for f in doc["fits"].values())
    assert {b["family"] for b in doc["books"]} == {"single", "diversified", "long_short", "option"}
    assert all(b["days"] == 12 and b["margin_exceedances"] is None for b in doc["books"])


def test_two_files_equal_one_file(split_files, fixture_market):
    """Joining the fit and test files gives the same forecasts as the single file."""
    fit, test = (load_market(p) for p in split_files)
    joined = join_fit_test(fit, test)
    books = [BacktestBook("pair", {"BTC": 0.5, "ETH": -0.5})]
    a = run_backtest(joined, "2023-01-02", "2023-01-08", books, n_sims=100, margin=False)
    b = run_backtest(fixture_market, "2023-01-02", "2023-01-08", books, n_sims=100, margin=False)
    for lv in a.levels:
        np.testing.assert_array_equal(a.books[0].at(lv).var, b.books[0].at(lv).var)
        np.testing.assert_array_equal(a.books[0].at(lv).es, b.books[0].at(lv).es)


def test_random_books_smoke(runner, tmp_path):
    """The make-test smoke of the 1,000-book report: 5 books, 8 days, the p-value figure."""
    args = ["backtest", "--random-books", "5", "--seed", "1", "--start", "2023-01-02", "--end", "2023-01-09",
            "--no-margin", "--sims", "200", "--json"]
    res = runner.invoke(main, args + ["--out", str(tmp_path / "figs")])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc.pop("plots") == [str(tmp_path / "figs" / "pvalues.png")]    # no per-book figure for random books
    assert (tmp_path / "figs" / "pvalues.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list((tmp_path / "figs").glob(".*.tmp"))          # atomic writes leave no temp file
    assert [b["book"] for b in doc["books"]] == [f"random_{k:04d}" for k in range(5)]
    for b in doc["books"]:
        for lv in ("0.975", "0.99"):
            r = b["levels"][lv]
            assert 0 <= r["es_p_aggressive"] <= 1 and 0 <= r["es_p_conservative"] <= 1
            assert r["es_p"] == pytest.approx(min(1, 2 * min(r["es_p_aggressive"], r["es_p_conservative"])))
    assert json.loads(runner.invoke(main, args).stdout) == doc       # seeded: same books, same draws


def test_unconverged_fit_is_reported_and_used(monkeypatch, fixture_market):
    """A fit arch flags as not converged is used as estimated (same forecasts) and reported per asset."""
    books = [BacktestBook("long_BTC", {"BTC": 1.0})]
    ok = run_backtest(fixture_market, "2023-01-02", "2023-01-05", books, n_sims=100, margin=False)
    orig = volatility._ArchGarchT.fit
    monkeypatch.setattr(volatility._ArchGarchT, "fit",
                        lambda self, r: dataclasses.replace(orig(self, r), converged=False))
    bad = run_backtest(fixture_market, "2023-01-02", "2023-01-05", books, n_sims=100, margin=False)
    assert bad.fit_summary()["BTC"]["not_converged"] == ["2023-01-02"]
    assert ok.fit_summary()["BTC"]["not_converged"] == []
    np.testing.assert_array_equal(ok.books[0].at(0.99).var, bad.books[0].at(0.99).var)


def test_failed_fit_is_an_error_naming_asset_and_date(monkeypatch, fixture_market):
    def boom(self, r):
        raise ValueError("Student-t nu must be > 2 for a finite variance, got 1.9")
    monkeypatch.setattr(volatility._ArchGarchT, "fit", boom)
    with pytest.raises(InputError) as e:
        run_backtest(fixture_market, "2023-01-02", "2023-01-03", [BacktestBook("b", {"ETH": 1.0})],
                     n_sims=100, margin=False)
    assert e.value.field == "ETH" and e.value.record == "asof 2023-01-02" and "nu" in e.value.message


@pytest.mark.parametrize("args, words", [
    (["--fit-market", "{fit}"], ["--fit-market/--test-market", "both"]),
    (["--fit-market", "{test}", "--test-market", "{fit}"], ["test window must start the day after"]),
    (["--fit-market", "{fit}", "--test-market", str(FIXTURES / "market_gap.csv")], ["market_gap.csv", "calendar gap"]),
    (["--random-books", "-1"], ["--random-books"]),
    (["--sims", "10"], ["--sims"]),
])
def test_bad_backtest_input(runner, split_files, args, words):
    fit, test = split_files
    args = [a.format(fit=fit, test=test) for a in args]
    _one_line_error(runner.invoke(main, ["backtest", *args, "--json"]), *words)


def test_short_fit_window_names_file_date_and_column(runner, tmp_path):
    lines = (FIXTURES / "market.csv").read_text().splitlines()
    (tmp_path / "fit.csv").write_text("\n".join([lines[0], *[r for r in lines[1:] if r[:10] <= "2021-06-30"]]) + "\n")
    (tmp_path / "test.csv").write_text("\n".join([lines[0], *[r for r in lines[1:] if "2021-07-01" <= r[:10] <= "2021-07-09"]]) + "\n")
    res = runner.invoke(main, ["backtest", "--fit-market", str(tmp_path / "fit.csv"), "--test-market",
                               str(tmp_path / "test.csv"), "--json"])
    _one_line_error(res, "test.csv", "no asset has enough history")
    books = [BacktestBook("b", {"BTC": 1.0})]
    md = join_fit_test(load_market(tmp_path / "fit.csv"), load_market(tmp_path / "test.csv"))
    with pytest.raises(InputError) as e:
        run_backtest(md, "2021-06-30", "2021-07-08", books, n_sims=100, margin=False)
    assert e.value.record == "asof 2021-06-30" and e.value.field == "BTC"
    assert "history too short: 180 returns" in e.value.message and "min_history = 250" in e.value.message


def test_apc_switch_separates_the_floor_from_the_model(runner):
    """By default (and with --apc none) the core model is tested, without the APC variance floor
    (ESMA91-372-2811: add-ons are excluded from core-model back tests); --apc floor adds it."""
    args = ["backtest", "--random-books", "3", "--seed", "2", "--start", "2023-06-01", "--end", "2023-06-08",
            "--no-margin", "--sims", "200", "--json"]
    floor, none = (json.loads(runner.invoke(main, args + ["--apc", a]).stdout) for a in ("floor", "none"))
    assert (floor["apc"], none["apc"]) == ("floor", "none")
    assert json.loads(runner.invoke(main, args).stdout) == none
    # The fixture market is calm in mid-2023, so the floor binds and the forecasts differ. (Not
    # always upwards: a floor on one leg of a long/short book can lower its VaR.)
    assert [b["book"] for b in floor["books"]] == [b["book"] for b in none["books"]]
    assert any(bn["levels"]["0.99"]["mean_var"] != bf["levels"]["0.99"]["mean_var"]
               for bf, bn in zip(floor["books"], none["books"]))


def test_an_end_past_the_data_is_cut_back_with_one_warning(runner):
    args = ["backtest", "--start", "2023-12-20", "--no-margin", "--sims", "100", "--random-books", "2", "--json"]
    past = runner.invoke(main, args + ["--end", "2024-03-01"])
    assert past.exit_code == 0 and json.loads(past.stdout)["end"] == "2023-12-30"
    warn = [ln for ln in past.stderr.splitlines() if "is past the data" in ln]
    assert len(warn) == 1 and warn[0].startswith("calcm: warning:") and "ends 2023-12-30" in warn[0]
    inside = runner.invoke(main, args + ["--end", "2023-12-28"])
    assert inside.exit_code == 0 and "is past the data" not in inside.stderr

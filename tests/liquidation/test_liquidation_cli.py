"""The liquidation stage's CLI: liquidate, simulate, backtest; bad input is one line and exit 2."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from calcm.cli import main
from calcm.paths import FIXTURES


@pytest.fixture(scope="module")
def runner():
    return CliRunner()


def test_liquidate_json_on_the_bundled_book(runner, fixture_book):
    res = runner.invoke(main, ["liquidate", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    plans = {p["account"]: p for p in doc["plans"]}
    assert list(plans) == [a.id for a in fixture_book.accounts]
    p = plans["near_liq_long"]
    assert p["status"] == "partial"
    assert p["after"]["equity"] >= 1.1 * p["after"]["mm"] * (1 - 1e-9)
    assert p["trades"][0]["asset"] == "ETH-PERP" and 0 < p["trades"][0]["fraction"] < 1
    assert plans["basis_btc"]["status"] == "healthy"
    assert doc["totals"]["liquidatable"] == sum(q["status"] != "healthy" for q in doc["plans"])


def test_liquidate_table_and_risk_haircuts(runner):
    res = runner.invoke(main, ["liquidate", "--target-ratio", "1.3"])
    assert res.exit_code == 0, res.output
    assert "near_liq_long" in res.output and "partial" in res.output
    plain = json.loads(runner.invoke(main, ["liquidate", "--json", "--table-haircuts"]).stdout)
    risky = json.loads(runner.invoke(main, ["liquidate", "--json"]).stdout)   # the default: published rule
    assert risky["haircuts"]["BTC"] > plain["haircuts"]["BTC"] == 0.05
    assert risky["haircuts"]["USDC"] == plain["haircuts"]["USDC"]


@pytest.mark.parametrize("args, field", [
    (["liquidate", "--portfolios", str(FIXTURES / "book_unknown_instrument.json")], "positions."),
    (["liquidate", "--market", str(FIXTURES / "market_nan.csv")], "line"),
    (["liquidate", "--target-ratio", "0.5"], "target_ratio"),
    (["simulate", "--episode", "1999-01"], "episode"),
    (["backtest", "--start", "2030-01-01", "--end", "2030-02-01", "--sims", "200"], "date"),
])
def test_bad_input_is_one_line_and_exit_2(runner, args, field, tmp_path):
    res = runner.invoke(main, args + ["--json"])
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("calcm: error:") and field in lines[0]
    assert res.stdout == ""


def test_simulate_json_and_plots(runner, tmp_path):
    res = runner.invoke(main, ["simulate", "--regime", "calcm", "--start", "2023-01-18", "--end", "2023-01-24",
                               "--accounts", "12", "--seed", "5", "--json", "--plot", str(tmp_path)])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["regime"] == "calcm" and doc["accounts"] == 12
    assert len(doc["days"]) == 7 and doc["days"][0]["date"] == "2023-01-18"
    for key in ("liquidated_notional", "liquidations", "bad_debt", "insurance_fund_low", "adl_events",
                "avg_margin_held"):
        assert key in doc["summary"]
    assert sorted(p.split("/")[-1] for p in doc["plots"]) == [
        "insurance_fund.png", "margin_held.png", "price_liquidations.png"]
    for p in doc["plots"]:
        assert open(p, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_simulate_with_a_book_file_table(runner):
    res = runner.invoke(main, ["simulate", "--book", str(FIXTURES / "book.json"), "--regime", "all",
                               "--start", "2023-01-19", "--end", "2023-01-22"])
    assert res.exit_code == 0, res.output
    for r in ("static", "siloed", "calcm"):
        assert r in res.output


def test_backtest_json_and_plots(runner, tmp_path):
    res = runner.invoke(main, ["backtest", "--start", "2023-01-02", "--end", "2023-01-20", "--sims", "200",
                               "--json", "--plot", str(tmp_path)])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    names = [b["book"] for b in doc["books"]]
    assert "long_BTC" in names and "diversified" in names and "btc_eth_hedge" in names
    b = doc["books"][0]
    assert b["days"] == 19 and "margin_exceedances" in b and list(b["levels"]) == ["0.975", "0.99"]
    for key in ("exceptions", "kupiec_p", "christoffersen_p", "es_z2", "es_p"):
        assert key in b["levels"]["0.99"]
    assert any(p.endswith("exceedances_long_BTC.png") for p in doc["plots"])

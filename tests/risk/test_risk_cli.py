"""The risk stage's CLI: margin, scenarios, bench risk; bad input gives one line and exit 2."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from calcm.cli import main
from calcm.paths import DEFAULT_BOOK, DEFAULT_MARKET


@pytest.fixture(scope="module")
def runner():
    return CliRunner()


def test_margin_json(runner, book):
    res = runner.invoke(main, ["margin", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert [a["id"] for a in doc["accounts"]] == [a.id for a in book.accounts]
    acc = {a["id"]: a for a in doc["accounts"]}
    pair = acc["pair_btc_eth"]
    for key in ("es", "var", "addon", "im", "mm", "collateral_value", "equity", "ratio", "tier",
                "contributions", "siloed", "static", "fixed_point"):
        assert key in pair
    assert pair["siloed"]["mm"] > pair["mm"]
    assert sum(pair["contributions"].values()) == pytest.approx(pair["es"], rel=1e-9)
    assert abs(pair["fixed_point"]["es"] - pair["es"]) <= pair["fixed_point"]["bound"]["es"]
    assert acc["idle"]["ratio"] == "inf"
    # eth_strangle_seller (short OTM put + call) crossed to liquidatable (ratio 1.038 -> 0.9996)
    # when the crash scenarios gained the skew shock (scenarios v3, docs/MODEL.md §4).
    assert doc["totals"]["tiers"]["liquidatable"] == 2
    assert {a for a in acc if acc[a]["tier"] == "liquidatable"} == {"near_liq_long", "eth_strangle_seller"}
    assert len(doc["model"]["scenario_hash"]) == 64
    # The publication's haircut per collateral asset and its source (calcm.risk.haircuts).
    hc = doc["model"]["collateral"]
    assert list(hc) == ["USDC", "USDT", "BTC", "ETH", "SOL"]
    assert hc["USDC"] == {"haircut_bps": 100, "haircut": 0.01, "source": "table", "table_bps": 100, "es_bps": None}
    assert hc["BTC"]["source"] == "es" and hc["BTC"]["haircut_bps"] == hc["BTC"]["es_bps"] > 500
    assert hc["SOL"]["source"] == "table" and hc["SOL"]["haircut_bps"] == 3000
    whale = acc["whale"]
    assert whale["collateral_value"] == pytest.approx(2e6 * 0.99 + sum(
        n * doc["model"]["underlyings"][a]["price"] * (1 - hc[a]["haircut"]) for a, n in (("BTC", 150), ("ETH", 1500))))
    # The published perp basis + funding shock per underlying (defaults, h = 2: calcm.risk.perp_shocks).
    assert {a: u["perp_shock_bps"] for a, u in doc["model"]["underlyings"].items()} == \
        {"BTC": 726, "ETH": 950, "SOL": 1700, "LINK": 1700, "DOGE": 1700}
    # The published fixed-point model: full scenario set, k = 6, and its commitments per account.
    pub = doc["model"]["published"]
    assert (pub["structure"]["S"], pub["structure"]["k"]) == (534, 6)
    for a in doc["accounts"]:
        fx = a["fixed_point"]
        assert (fx["lin_commitment"], fx["opt_commitment"]) == (pub["lin_commitment"], pub["opt_commitment"])
        assert fx["param_hash"] == pub["param_hash"] and int(fx["raw"]["mm"]) >= 0
    # The published (proven) MM is the fixed-point model's, within its bound of the float MM.
    assert abs(pair["fixed_point"]["mm"] - pair["mm"]) <= pair["fixed_point"]["bound"]["mm"]


def test_margin_table(runner):
    # `calcm demo` is the keeper stage's now (a chain and proofs): tests/keeper covers it.
    res = runner.invoke(main, ["margin"])
    assert res.exit_code == 0, res.output
    assert "near_liq_long" in res.stdout and "liquidatable" in res.stdout
    assert "haircuts (published bps; source) USDC 100 (table)" in res.stdout and "SOL 3000 (table)" in res.stdout


def test_demo_margins_is_reusable(capsys):
    from calcm.cli.risk_cmd import demo_margins

    doc = demo_margins(as_json=True)
    assert doc["totals"]["tiers"]["warning"] == sum(a["tier"] == "warning" for a in doc["accounts"]) >= 1
    assert '"scenario_hash"' in capsys.readouterr().out


def test_margin_at_975(runner):
    a = json.loads(runner.invoke(main, ["margin", "--json", "--es-level", "0.975"]).stdout)
    b = json.loads(runner.invoke(main, ["margin", "--json"]).stdout)
    assert a["model"]["k_tail"] > b["model"]["k_tail"]
    assert a["model"]["params_hash"] != b["model"]["params_hash"]


def test_scenarios_export(runner, tmp_path, risk):
    out = tmp_path / "scen.json"
    res = runner.invoke(main, ["scenarios", "--market", str(DEFAULT_MARKET), "--volumes",
                               str(DEFAULT_MARKET.parent / "volumes.csv"), "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    assert doc["scenario_hash"] == risk.scenarios.hash == json.loads(res.stdout)["scenario_hash"]
    assert doc["model_params_hash"] == risk.params.hash
    from calcm.risk.scenarios import ScenarioSet
    assert ScenarioSet.from_json(doc["scenarios"]).hash == doc["scenario_hash"]
    assert list(tmp_path.iterdir()) == [out]   # no temp file left behind


@pytest.mark.parametrize("args, fragments", [
    (["--market", "{fx}/market_nan.csv"], ["market_nan.csv", "line 152", "BTC"]),
    (["--market", "{fx}/market_negative.csv"], ["market_negative.csv", "line 202", "ETH"]),
    (["--market", "{fx}/market_empty.csv"], ["market_empty.csv", "date", "empty history"]),
    (["--market", "{fx}/market_unsorted.csv"], ["market_unsorted.csv", "line 103", "date"]),
    (["--market", "{fx}/market_short.csv"], ["market_short.csv", "BTC", "history too short"]),
    (["--portfolios", "{fx}/book_unknown_instrument.json"],
     ["book_unknown_instrument.json", "account 'pair_btc_eth'", "positions.XRP-PERP", "unknown instrument"]),
    (["--portfolios", "{fx}/book_duplicate_account.json"],
     ["book_duplicate_account.json", "account 'basis_btc'", "id", "duplicate"]),
])
@pytest.mark.parametrize("command", ["scenarios", "margin"])
def test_bad_input_one_line_exit_2_no_output(runner, tmp_path, fixtures_dir, command, args, fragments):
    args = [a.format(fx=fixtures_dir) for a in args]
    out = tmp_path / "out.json"
    extra = ["--out", str(out)] if command == "scenarios" else ["--json"]
    res = runner.invoke(main, [command, *args, *extra])
    assert res.exit_code == 2, res.output
    err = res.stderr.strip()
    assert len(err.splitlines()) == 1 and err.startswith("calcm: error: ")
    for frag in fragments:
        assert frag in err
    assert res.stdout == ""
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_overflow_position_exit_2(runner, fixtures_dir):
    res = runner.invoke(main, ["margin", "--json", "--portfolios", str(fixtures_dir / "book_overflow.json")])
    assert res.exit_code == 2
    assert "book_overflow.json: account 'long_btc': positions.BTC-PERP:" in res.stderr
    assert res.stdout == ""


def test_bench_risk_small(runner):
    res = runner.invoke(main, ["bench", "risk", "--accounts", "300", "--instruments", "16",
                               "--scenarios", "200", "--repeat", "1", "--fx-accounts", "3", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    # The shapes asked for are the shapes measured (timings are reported, never asserted: no timed tests).
    assert (doc["accounts"], doc["instruments"], doc["scenarios"], doc["repeat"]) == (300, 16, 200, 1)
    assert doc["fixed_point_accounts"] == 3
    assert doc["ratio"] == pytest.approx(doc["full_margin_s"] / doc["matmul_s"])
    # tracemalloc saw at least the scenario P&L matrix (scenarios x instruments float64).
    assert doc["peak_traced_mib"] * 2**20 >= 200 * 16 * 8
    table = runner.invoke(main, ["bench", "risk", "--accounts", "100", "--instruments", "8",
                                 "--scenarios", "100", "--repeat", "1", "--fx-accounts", "1"])
    assert table.exit_code == 0, table.output
    assert "100 accounts x 8 instruments x 100 scenarios" in table.stdout and "matrix product" in table.stdout


def test_default_paths_exist():
    assert DEFAULT_MARKET.exists() and DEFAULT_BOOK.exists()

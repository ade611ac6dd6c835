"""`calcm keeper`, `calcm demo` and `calcm bench keeper` on the command line: bad input is one
line and exit code 2 with nothing written; the demo runs end to end and checks itself."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from calcm.cli import main
from calcm.keeper.demo import DemoSettings, build_world, run_demo
from calcm.keeper.log import EventLog

from .conftest import TEST_PROFILE


@pytest.fixture
def runner():
    return CliRunner()


def one_line_error(res, *needles, code=2):
    assert res.exit_code == code, res.output
    lines = [x for x in res.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("calcm: error: "), res.stderr
    for n in needles:
        assert n in lines[0], lines[0]


def test_keeper_bad_inputs(runner, tmp_path):
    import shutil

    from calcm.paths import DEFAULT_BOOK
    shutil.copy(DEFAULT_BOOK, tmp_path / "book.json")       # every path exists but the one under test
    base = ["keeper", "--rpc", "http://127.0.0.1:9", "--registry", "0x" + "11" * 20,
            "--book", str(tmp_path / "book.json"), "--state", str(tmp_path / "k.sqlite")]
    res = runner.invoke(main, base + ["--model", str(tmp_path / "missing.json")])
    one_line_error(res, "missing.json", "file not found")
    bad = tmp_path / "model.json"
    bad.write_text('{"kind": "calcm-model-state", "params": ')
    one_line_error(runner.invoke(main, base + ["--model", str(bad)]), "model.json", "invalid JSON")
    bad.write_text('{"kind": "something else"}')
    one_line_error(runner.invoke(main, base + ["--model", str(bad)]), "model.json", "kind")
    res = runner.invoke(main, base + ["--model", str(bad), "--refresh-blocks", "0"])
    one_line_error(res, "--refresh-blocks")
    res = runner.invoke(main, base + ["--model", str(bad), "--workers", "0"])
    one_line_error(res, "--workers")
    assert not (tmp_path / "k.sqlite").exists()


def test_keeper_needs_a_live_node_and_a_registry(runner, tmp_path, test_book):
    world = build_world(DemoSettings(days=1, venue_actions=False, group_size=2,
                                     scenarios=TEST_PROFILE), book=test_book)
    try:
        from .conftest import write_keeper_inputs
        files = write_keeper_inputs(world, tmp_path)
        common = ["--model", str(files["model"]), "--book", str(files["book"]),
                  "--state", str(tmp_path / "k.sqlite")]
        res = runner.invoke(main, ["keeper", "--rpc", "http://127.0.0.1:9",
                                   "--deployment", str(files["deployment"])] + common)
        one_line_error(res, "does not answer JSON-RPC", code=4)    # 4: chain unavailable
        res = runner.invoke(main, ["keeper", "--rpc", world.node.url,
                                   "--registry", world.reg.keeper] + common)
        one_line_error(res, "--registry", "no contract")
        # A book whose model instruments are missing is refused before anything starts.
        book = json.loads(files["book"].read_text())
        book["instruments"] = [i for i in book["instruments"] if i["id"] != "ETH-PERP"]
        book["accounts"] = [a for a in book["accounts"] if "ETH-PERP" not in a["positions"]]
        files["book"].write_text(json.dumps(book))
        res = runner.invoke(main, ["keeper", "--rpc", world.node.url,
                                   "--deployment", str(files["deployment"])] + common)
        one_line_error(res, "book.json", "ETH-PERP")
        assert not (tmp_path / "k.sqlite").exists()
    finally:
        world.close()


def test_demo_and_bench_bad_inputs(runner, tmp_path):
    one_line_error(runner.invoke(main, ["demo", "--days", "0", "--out", str(tmp_path / "d")]), "--days")
    res = runner.invoke(main, ["demo", "--start", "1999-01-01", "--out", str(tmp_path / "d")])
    one_line_error(res, "market.csv", "--start/--days")
    one_line_error(runner.invoke(main, ["bench", "keeper", "--workers", "one"]), "--workers")
    assert not (tmp_path / "d" / "report.json").exists()


def test_demo_profiles(runner, tmp_path):
    one_line_error(runner.invoke(main, ["demo", "--intraday", "-1", "--out", str(tmp_path / "d")]),
                   "--intraday")
    res = runner.invoke(main, ["demo", "--profile", "nope", "--out", str(tmp_path / "d")])
    assert res.exit_code == 2 and "nope" in res.output


@pytest.mark.slow
@pytest.mark.bench  # `make demo` runs the demo itself
def test_demo_end_to_end(tmp_path, test_book):
    """Two days of the fixture crash on the test book: daily steps, intraday revaluations,
    option chains and margin batches land; gating matches Python; the venue acts."""
    s = DemoSettings(days=2, intraday=1, group_size=2, scenarios=TEST_PROFILE, workers=2,
                     processes=False, out_dir=tmp_path / "demo")
    rep = run_demo(s, EventLog(quiet=True), say=lambda m: None, book=test_book)
    assert rep == json.loads((tmp_path / "demo" / "report.json").read_text())
    p = rep["proofs_verified_on_chain"]
    assert p["daily_steps"] == 2                 # each day's close
    assert p["intraday_revaluations"] >= 3       # genesis and one intraday round a day
    assert p["option_revaluations"] >= 3 and p["option_parts"] == 2 * p["option_revaluations"]
    assert p["margin_batches"] >= 2 * (p["daily_steps"] + p["intraday_revaluations"])
    assert rep["gating"]["checks"] > 0 and rep["gating"]["failures"] == []
    assert rep["blocks"]["skipped"] == 0
    for a in rep["accounts"]:
        if a["became_liquidatable"]:
            assert a["liquidations"] and a["liquidations"][0]["status"] in ("partial", "full")
    # The book has an account liquidatable at once: reported (and liquidated) at the genesis block.
    genesis = rep["blocks_detail"][0]
    assert genesis["why"] == "genesis" and genesis["liquidatable"] >= 1
    assert sum(b["block"] == genesis["block"] for b in rep["became_liquidatable"]) == genesis["liquidatable"]
    assert [w["account"] for w in rep["withdrawals"]] == ["long_btc"] or rep["withdrawals"] == []
    for w in rep["withdrawals"]:
        assert w["can_withdraw"] == (w["tier_after"] <= 1)
    assert rep["time"]["per_block_mean_seconds"] > 0


def test_intraday_path_is_a_pinned_deterministic_bridge():
    from calcm.keeper.demo import intraday_path
    prev, close = (20_000.0, 1_500.0), (21_000.0, 1_400.0)
    sigma2 = (int(0.03**2 * 2**48), int(0.04**2 * 2**48))
    path = intraday_path(prev, close, 3, sigma2, "2023-01-20")
    assert path == intraday_path(prev, close, 3, sigma2, "2023-01-20")      # seeded
    assert path != intraday_path(prev, close, 3, sigma2, "2023-01-21")
    assert len(path) == 3 and all(len(p) == 2 and min(p) > 0 for p in path)
    # Zero variance: the geometric interpolation between the closes, exactly.
    flat = intraday_path(prev, close, 1, (0, 0), "x")[0]
    assert flat == pytest.approx(((20_000 * 21_000) ** 0.5, (1_500 * 1_400) ** 0.5))

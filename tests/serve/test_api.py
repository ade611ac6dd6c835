"""The dashboard's JSON API (``/api/...``) through starlette's TestClient, on the session's warm model."""
from __future__ import annotations

import json

import pytest

from calcm.paths import DEFAULT_BOOK

from .conftest import PROFILE, WHATIF_ACCOUNT, WHATIF_DEPOSIT, WHATIF_TRADES

BOOK = json.loads(DEFAULT_BOOK.read_text())
IDS = [a["id"] for a in BOOK["accounts"]]


def test_book_lists_every_account_with_the_published_tier(client, warm):
    doc = client.get("/api/book").json()
    rep = warm.get("report")
    assert [a["id"] for a in doc["accounts"]] == IDS
    for a, fx in zip(doc["accounts"], rep.fixed):
        assert a["fixed_point"]["tier_code"] == fx.tier          # the proven tier, not the float one
    assert sorted(i for ids in doc["by_tier"].values() for i in ids) == sorted(IDS)
    t = doc["totals"]
    # portfolio margin <= siloed (subadditive tail mean; same add-on) and the static rule is reported
    assert t["mm"] <= t["siloed_mm"] + 1e-6 and t["static_mm"] > 0
    assert t["published_mm"] == pytest.approx(sum(a["fixed_point"]["mm"] for a in doc["accounts"]))


def test_book_page_shows_every_account_and_its_tier(client):
    html = client.get("/book").text
    doc = client.get("/api/book").json()
    for a in doc["accounts"]:
        assert f'href="/account/{a["id"]}"' in html
    assert html.count('class="tier-cell"') == len(IDS)


def test_whatif_api_is_the_trader_function(client, warm):
    from calcm.trader.trades import parse_cash, parse_trade
    from calcm.trader.whatif import whatif
    body = {"trades": WHATIF_TRADES, "deposits": [WHATIF_DEPOSIT]}
    got = client.post(f"/api/account/{WHATIF_ACCOUNT}/whatif", json=body).json()
    ctx = warm.get("service").ctx
    want = whatif(ctx, WHATIF_ACCOUNT, [parse_trade(t, ctx.book) for t in WHATIF_TRADES],
                  [parse_cash(WHATIF_DEPOSIT, ctx.book)]).to_json()
    assert got["after"]["raw"] == want["after"]["raw"] and got["per_trade"] == json.loads(json.dumps(want["per_trade"]))
    assert got["after"]["tier"] == want["after"]["tier"]


@pytest.mark.parametrize("body, field", [
    ({"trades": ["NOPE-PERP:+1"]}, "instrument"),
    ({"trades": ["BTC-PERP:abc"]}, "amount"),
    ({"trades": ["BTC-PERP:0"]}, "amount"),
    ({"trades": []}, "--trade"),
    ({"trades": "BTC-PERP:+1"}, "trades"),
    ({"trades": ["BTC-PERP:+1"], "search_factor": "x"}, "search_factor"),
    ({"deposits": ["DOGE:5"]}, "asset"),
])
def test_whatif_bad_input_is_one_line_400(client, body, field):
    r = client.post(f"/api/account/{WHATIF_ACCOUNT}/whatif", json=body)
    assert r.status_code == 400
    err = r.json()["error"]
    assert "\n" not in err and field in err


def test_unknown_account_is_400(client):
    r = client.get("/api/account/nobody")
    assert r.status_code == 400 and "nobody" in r.json()["error"]
    assert client.get("/account/nobody").status_code == 400


def test_inclusion_passes_for_the_bundled_account_and_fails_when_tampered(client):
    acc = next(a for a in BOOK["accounts"] if a["id"] == WHATIF_ACCOUNT)
    mine = {"positions": acc["positions"], "collateral": acc["collateral"], "salt": acc["salt"]}
    ok = client.post(f"/api/account/{WHATIF_ACCOUNT}/inclusion", json=mine).json()
    assert ok["ok"] and ok["failed"] is None
    assert {c["name"] for c in ok["checks"]} >= {"leaf", "registered", "merkle_path", "model", "tier"}
    tampered = {**mine, "positions": {**mine["positions"], "BTC-PERP": mine["positions"].get("BTC-PERP", 0) + 1}}
    bad = client.post(f"/api/account/{WHATIF_ACCOUNT}/inclusion", json=tampered).json()
    assert not bad["ok"] and bad["failed"] == "merkle_path"
    wrong_salt = client.post(f"/api/account/{WHATIF_ACCOUNT}/inclusion", json={**mine, "salt": "0x1"}).json()
    assert not wrong_salt["ok"] and wrong_salt["failed"] == "merkle_path"


def test_inclusion_bad_input(client):
    r = client.post(f"/api/account/{WHATIF_ACCOUNT}/inclusion", content=b"{not json")
    assert r.status_code == 400 and "invalid JSON" in r.json()["error"]
    r = client.post(f"/api/account/{WHATIF_ACCOUNT}/inclusion", json={"positons": {}})
    assert r.status_code == 400 and "positons" in r.json()["error"]


def test_account_document_explains_the_published_margin(client, warm):
    doc = client.get(f"/api/account/{WHATIF_ACCOUNT}").json()
    e = doc["explain"]
    assert doc["account"]["id"] == WHATIF_ACCOUNT and e["k"] == len(e["tail"])
    idx = IDS.index(WHATIF_ACCOUNT)
    assert e["margin"]["raw"]["mm"] == str(warm.get("report").fixed[idx].mm)
    assert doc["instruments"] == [i["id"] for i in BOOK["instruments"]]


def test_model_document(client, warm):
    doc = client.get("/api/model").json()
    risk = warm.get("report").risk
    assert [v["underlying"] for v in doc["vol"]] == list(risk.underlyings)
    U = len(doc["correlation_assets"])
    assert len(doc["correlation"]) == U and all(abs(doc["correlation"][i][i] - 1) < 1e-9 for i in range(U))
    assert len(doc["scenarios"]["returns"]) == doc["scenarios"]["n"] == risk.scenarios.n_scenarios
    assert doc["backtest_error"] is None and doc["backtest"]["series"]
    s = doc["backtest"]["series"][0]
    row = next(r for r in doc["backtest"]["table"] if r["book"] == s["book"] and f'{r["level"]:g}' == max(s["levels"]))
    assert sum(s["levels"][max(s["levels"])]["exceptions"]) == row["exceptions"]


def test_cascade_document_has_each_regime_over_the_window(client, settings):
    doc = client.get("/api/cascade").json()
    assert list(doc["regimes"]) == list(settings.regimes)
    for r in doc["regimes"].values():
        ser = r["series"]
        assert ser["dates"][0] >= settings.cascade_start and ser["dates"][-1] <= settings.cascade_end
        assert sum(ser["liquidations"]) == r["summary"]["liquidations"]
        assert len(ser["fund"]) == len(ser["dates"])


def test_keeper_document_from_the_store(client):
    doc = client.get("/api/keeper").json()
    assert doc["exists"] and doc["counts"]["blocks"] == {"processed": 2, "skipped": 1}
    assert doc["per_kind"]["margin"]["mined"] == 1 and doc["per_kind"]["margin"]["gas"] == 412_345
    assert doc["counts"]["gas_used"] == 301_000 + 412_345
    assert {s["status"] for s in doc["submissions"]} == {"mined", "rejected"}


def test_keeper_empty_state_without_a_store(missing_store_settings, warm):
    from starlette.testclient import TestClient

    from calcm.cli.serve_cmd import build_app
    with TestClient(build_app(missing_store_settings, warm)) as c:
        assert c.get("/api/keeper").json() == {"store": str(missing_store_settings.store), "exists": False}
        html = c.get("/keeper").text
        assert 'id="keeper-empty"' in html
    assert not missing_store_settings.store.exists()          # reading never creates a store


def test_static_assets_are_local(client):
    r = client.get("/", follow_redirects=False)
    assert r.status_code in (302, 307) and r.headers["location"] == "/book"
    assert client.get("/static/chart.umd.js").status_code == 200
    assert client.get("/static/dashboard.js").status_code == 200
    html = client.get("/book").text
    assert "http://" not in html.replace("http://127.0.0.1", "") and "https://" not in html


def test_bad_settings_are_input_errors(settings):
    from dataclasses import replace

    from calcm.errors import InputError
    from calcm.serve.settings import check_settings
    for bad, name in ((replace(settings, episode="1999-01"), "--episode"),
                      (replace(settings, backtest_days=1), "--backtest-days"),
                      (replace(settings, rpc="http://127.0.0.1:1"), "--rpc"),
                      (replace(settings, cascade_start="yesterday"), "--cascade-start")):
        with pytest.raises(InputError, match=name):
            check_settings(bad)


def test_cli_bad_options_exit_2_before_any_fit(tmp_path):
    from click.testing import CliRunner

    from calcm.cli import main
    for args, needle in ((["--episode", "nope"], "--episode"), (["--book", str(tmp_path / "none.json")], "--book"),
                         (["--backtest-sims", "5"], "--backtest-sims"), (["--rpc", "http://127.0.0.1:1"], "--rpc"),
                         (["--proof-dir", str(tmp_path / "nodir")], "--proof-dir")):
        r = CliRunner().invoke(main, ["serve", *args])
        assert r.exit_code == 2, (args, r.output)
        assert needle in r.output and "Traceback" not in r.output

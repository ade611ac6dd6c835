"""`calcm risk garch --evidence` scores the data's own years: it used to score 2019-2023 only, so
on 2024-26 data it printed "0 2-day forecasts" and zero differences without saying why."""
from __future__ import annotations

from datetime import date, timedelta

import numpy as np

import calcm.risk.persistence as persistence
from calcm.cli.garch_cmd import garch_report
from calcm.market import load_market
from calcm.paths import FIXTURES
from calcm.risk.persistence import year_windows


def _shifted(tmp_path, days: int):
    lines = (FIXTURES / "market.csv").read_text().splitlines()
    out = [lines[0]] + [f"{date.fromisoformat(ln[:10]) + timedelta(days)}{ln[10:]}" for ln in lines[1:]]
    p = tmp_path / "market.csv"
    p.write_text("\n".join(out) + "\n")
    return p


def _years(path, years=None):
    md = load_market(path)
    r = md.simple_returns()[:, md.index("BTC")]
    return [y for y, _, _ in year_windows(md.dates[1:][np.isfinite(r)], years)]


def test_evidence_years_follow_the_data(tmp_path):
    # fixtures/market.csv (2021-2023): 2022 and 2023, what the former fixed 2019-2023 scored on it.
    assert _years(FIXTURES / "market.csv") == [2022, 2023] == _years(FIXTURES / "market.csv", range(2019, 2024))
    assert _years(_shifted(tmp_path, 1095)) == [2025, 2026]     # 2024-01-01..2026-12-30
    p = tmp_path / "short.csv"                 # 250 returns before 2022 are needed: none here
    p.write_text("\n".join((FIXTURES / "market.csv").read_text().splitlines()[:300]) + "\n")
    assert _years(p) == []


def test_report_scores_the_data_years_and_publishes_them(tmp_path, monkeypatch):
    monkeypatch.setattr(persistence, "persistence_report", lambda md, vm, cap: [])
    doc = garch_report([], _shifted(tmp_path, 1095), "gjr", None, evidence=True)
    ev = doc["markets"][0]["evidence"]
    assert ev["years"] == [2025, 2026] and ev["n_forecasts"] > 0


def test_no_year_is_said_not_hidden(capsys):
    from calcm.cli.garch_cmd import _print
    _print({"vol_model": "gjr", "cap": 0.999, "skipped": [], "not_converged": [], "errors": [],
            "markets": [{"market": "m.csv", "first": "2024-01-01", "last": "2024-06-01", "assets": [],
                         "evidence": {"n_forecasts": 0, "years": [], "likelihood": {}, "qlike": {}}}]})
    assert "0 2-day forecasts (yearly refits; no year" in capsys.readouterr().out.replace("\n", " ")

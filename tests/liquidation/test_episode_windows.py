"""User windows for the episode reports (`calcm risk apc`, `calcm cascade ablation|crowd`):
``--window NAME:START:END`` besides the bundled names, data that does not cover a window gives
one InputError naming the file, the window and ``date``, and the APC full window ends at the
data's last date. Uses the bundled fixture market and a copy of it relabelled to 2024-26."""
from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from click.testing import CliRunner

from calcm.cli import main
from calcm.errors import InputError
from calcm.liquidation.episodes import EPISODES, Episode, from_args, parse_window, select
from calcm.market import load_market
from calcm.paths import FIXTURES

SHIFT = 1095            # days: 2021-01-01 -> 2024-01-01 (the fixture's closes, dates in 2024-26)


@pytest.fixture(scope="module")
def shifted_csv(tmp_path_factory):
    """fixtures/market.csv with every date moved forward by SHIFT days (2024-01-01..2026-12-30)."""
    lines = (FIXTURES / "market.csv").read_text().splitlines()
    out = [lines[0]] + [f"{date.fromisoformat(ln[:10]) + timedelta(SHIFT)}{ln[10:]}" for ln in lines[1:]]
    p = tmp_path_factory.mktemp("shifted") / "market.csv"
    p.write_text("\n".join(out) + "\n")
    return p


def test_parse_window_forms_and_boundaries():
    assert parse_window("oct25:2025-10-01:2025-10-31") == Episode("oct25", "2025-10-01", "2025-10-31",
                                                                  "user window 2025-10-01..2025-10-31")
    assert parse_window("2025-10-10:2025-10-10").name == "2025-10-10..2025-10-10"   # one day is a window
    for bad in ("2025-10-01", "a:b:c", ":2025-10-01:2025-10-02", "x:2025-13-01:2025-12-01"):
        with pytest.raises(InputError) as e:
            parse_window(bad)
        assert (e.value.file, e.value.field) == ("--window", "window")
    with pytest.raises(InputError, match="after end"):
        parse_window("x:2025-10-02:2025-10-01")


def test_select_checks_coverage_and_defaults_to_the_covered_bundled_episodes(fixture_market, shifted_csv):
    # The fixture market (2021-2023) covers three of the four real episodes, not 2020-03.
    assert [e.name for e in select(fixture_market)] == ["2021-05", "2022-06", "2022-11"]
    md = load_market(shifted_csv)
    with pytest.raises(InputError) as e:      # 2024-26 data: no bundled episode, one must be named
        select(md)
    assert (e.value.file, e.value.record, e.value.field) == (str(shifted_csv), "episodes", "date")
    assert "--window" in e.value.message
    assert select(md, from_args(windows=["oct25:2025-10-01:2025-10-31"]))[0].name == "oct25"
    # A window needs a day before its start (the crowd is drawn at that close) and a day inside.
    for w in ("first:2024-01-01:2024-01-31", "late:2026-12-31:2027-01-31", "x:2023-01-01:2023-12-31"):
        with pytest.raises(InputError) as e:
            select(md, from_args(windows=[w]))
        assert e.value.file == str(shifted_csv) and e.value.field == "date" and w.split(":")[0] in e.value.record
    assert select(md, from_args(windows=["second:2024-01-02:2024-01-31"]))
    with pytest.raises(InputError, match="unknown episode"):
        from_args(["2025-10"])


def test_ablation_replays_a_user_window_as_the_same_named_episode(fixture_market):
    from calcm.liquidation.ablation import run_episode

    fx = EPISODES["fixture"]
    kw = dict(n_accounts=30, seed=1, days=4, matched=False)
    named = run_episode(fixture_market, "fixture", **kw)
    user = run_episode(fixture_market, parse_window(f"mine:{fx.start}:{fx.end}"), **kw)
    assert user["episode"] == "mine" and named["episode"] == "fixture"
    def drop_time(rows):
        return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]
    assert drop_time(user["rows"]) == drop_time(named["rows"]) and user["rows"]
    assert (user["start"], user["end"]) == (named["start"], named["end"])
    # A window on the first row has no close to draw the crowd at: it used to wrap to the last row.
    with pytest.raises(InputError, match="before its start"):
        run_episode(fixture_market, Episode("w", "2021-01-01", "2021-01-20", ""), **kw)


def test_cascade_cli_takes_a_window_and_rejects_uncovered_data(shifted_csv):
    args = ["cascade", "crowd", "--prices", str(shifted_csv), "--accounts", "20", "--days", "3", "--json"]
    res = CliRunner().invoke(main, args + ["--window", "crash:2026-01-10:2026-02-28"])
    assert res.exit_code == 0, res.output
    ep = json.loads(res.stdout)["episodes"][0]
    assert (ep["episode"], ep["start"], ep["end"]) == ("crash", "2026-01-10", "2026-01-12") and ep["rows"]
    res = CliRunner().invoke(main, args[:-3] + ["--json", "--window", "tail:2026-12-29:2027-01-31"])
    ep = json.loads(res.stdout)["episodes"][0]
    assert (ep["start"], ep["end"]) == ("2026-12-29", "2026-12-30")      # reported end: the data's last day
    for extra in ([], ["--episode", "2022-11"], ["--window", "x:2027-01-01:2027-01-31"]):
        bad = CliRunner().invoke(main, args + extra)
        assert bad.exit_code == 2 and "Traceback" not in bad.output, bad.output
        err = bad.stderr.strip()
        assert len(err.splitlines()) == 1 and str(shifted_csv) in err and ": date:" in err, err


def _windows_asked(monkeypatch):
    """Replace the (slow) APC build by a recorder of the windows asked for."""
    import calcm.liquidation.apc as apc

    asked = []

    class Stub:
        def __init__(self, name, s, e):
            self.args = (name, str(s), str(e))

        def summary(self):
            return {"window": self.args[0]}

    def run_window(md, name, start, end, grid=None):
        asked.append((name, str(start), str(end)))
        return Stub(name, start, end)
    monkeypatch.setattr(apc, "run_window", run_window)
    return asked


def test_apc_full_window_ends_at_the_data_and_takes_user_windows(monkeypatch, fixture_market, shifted_csv):
    from calcm.cli.apc_cmd import apc_report

    asked = _windows_asked(monkeypatch)
    apc_report(shifted_csv, full=True, windows=("oct25:2025-10-01:2025-10-31", "tail:2026-12-20:2027-01-31"))
    assert [a[0] for a in asked] == ["full", "oct25", "tail"]
    assert asked[0][2] == "2026-12-30" and asked[1][1:] == ("2025-10-01", "2025-10-31")
    assert asked[2][1:] == ("2026-12-20", "2026-12-30")                  # reported end: the data's last day
    asked.clear()
    apc_report(shifted_csv, full=True)                      # --full alone: no bundled episode needed
    assert [a[0] for a in asked] == ["full"]
    asked.clear()
    apc_report(FIXTURES / "market.csv", full=True)          # data ending 2023-12-31: the end stays there
    assert asked[0][2] == "2023-12-31" and [a[0] for a in asked[1:]] == ["2021-05", "2022-06", "2022-11"]
    res = CliRunner().invoke(main, ["risk", "apc", "--prices", str(shifted_csv), "--json"])
    assert res.exit_code == 2 and len(res.stderr.strip().splitlines()) == 1 and ": episodes: date:" in res.stderr


@pytest.mark.parametrize("cut", ["rows", "btc"])
def test_apc_full_on_too_little_history_is_one_line(tmp_path, cut):
    """--full used to raise IndexError (200 closes) or ValueError (no BTC column) in first_eligible."""
    lines = (FIXTURES / "market.csv").read_text().splitlines()
    if cut == "rows":
        lines = lines[:201]
    else:
        lines = [",".join(c for i, c in enumerate(ln.split(",")) if i != 1) for ln in lines]
    p = tmp_path / "m.csv"
    p.write_text("\n".join(lines) + "\n")
    res = CliRunner().invoke(main, ["risk", "apc", "--prices", str(p), "--full", "--json"])
    assert res.exit_code == 2 and "Traceback" not in res.output, res.output
    assert res.stderr.strip() == (f"calcm: error: {p}: window full: BTC: "
                                  f"{200 if cut == 'rows' else 0} closes; the full window needs more than 281")


def _rejected_fit(*a, **k):
    """What arch's optimiser can return beyond the projection tolerance (alpha + gamma below 0)
    and GarchParams rejects with a ValueError."""
    from calcm.risk.volatility import GarchParams
    GarchParams(omega=1.4e-11, alpha=0.0, gamma=-6.4e-5, beta=0.998, nu=3.57)


def test_rejected_garch_fit_is_one_line_not_a_traceback(monkeypatch, shifted_csv):
    """Every command that fits the model reports a failed fit in one line (risk.model), exit 2."""
    from calcm.risk import volatility

    monkeypatch.setattr(volatility._ArchGarchT, "fit", _rejected_fit)
    m = str(shifted_csv)
    for args in (["cascade", "crowd", "--prices", m, "--window", "dec:2025-12-01:2025-12-31"],
                 ["risk", "apc", "--prices", m, "--window", "dec:2025-12-01:2025-12-31"],
                 ["simulate", "--prices", m, "--start", "2025-12-01", "--end", "2025-12-31"],
                 ["backtest", "--prices", m, "--start", "2025-12-01", "--end", "2025-12-08", "--no-margin"],
                 ["margin", "--market", m, "--asof", "2025-12-01"]):
        res = CliRunner().invoke(main, args + ["--json"])
        assert res.exit_code == 2 and "Traceback" not in res.output, (args, res.output)
        err = res.stderr.strip().splitlines()
        assert len(err) == 1 and f"{shifted_csv}: asof 2025-" in err[0], (args, err)
        assert ": GARCH fit failed: invalid GARCH parameters" in err[0], (args, err)

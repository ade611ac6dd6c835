"""`calcm demo` on other dates than the bundled ones (2024-2026 prices): its default replay
window comes from the data (the preset 2022-11-05 only when it lies in it), `--market`
replays any market file, and a window outside the data is one line naming the file, exit 2,
nothing written."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from calcm.cli import main
from calcm.keeper.demo_settings import (MIN_HISTORY, REAL_WINDOW, WORST_DAY_LEAD, DemoSettings,
                                        check_window, default_window, load_history)
from calcm.market import load_market
from calcm.market.data import MarketData

CRASH = 420          # row of the crash day (2025-02-24 when the data starts 2024-01-01)


def _market(n: int = 700, start: str = "2024-01-01", late: int | None = None) -> MarketData:
    """Two assets of seeded random walks from ``start``, a -30% day at row CRASH (and a
    -20% day at row 100, before the fits have their history); ``late``: the second asset is
    listed from that row only."""
    rng = np.random.default_rng(7)
    r = rng.normal(0, 0.01, (n, 2))
    r[100] = -0.2
    r[CRASH] = -0.3
    closes = 100 * np.exp(np.cumsum(r, axis=0))
    if late is not None:
        closes[:late, 1] = np.nan
    dates = np.datetime64(start, "D") + np.arange(n)
    return MarketData(dates, ("BTC", "ETH"), closes, source="two.csv")


def test_default_window_is_the_datas_worst_day():
    m = _market()
    start = default_window(m, *REAL_WINDOW)   # 2022-11-05 is not in 2024-2026 data
    assert start == str(m.dates[CRASH - WORST_DAY_LEAD])
    check_window(m, start, REAL_WINDOW[1])
    assert DemoSettings(market="two.csv").window(m) == (start, REAL_WINDOW[1])
    # the preset wins when it lies in the data; an explicit --start always wins
    assert default_window(m, str(m.dates[300]), 14) == str(m.dates[300])
    assert DemoSettings(start="2024-12-01").window(m)[0] == "2024-12-01"


def test_default_window_waits_for_every_assets_history_and_fits_the_end():
    m = _market(late=200)                      # ETH listed late: fits need it too
    start = default_window(m, *REAL_WINDOW)
    # every asset has MIN_HISTORY returns at the model's date, the close before the window
    assert np.datetime64(start) >= m.dates[200 + MIN_HISTORY + 1]
    m = _market(n=CRASH + 3)                   # the crash is the data's third-last day
    start = default_window(m, *REAL_WINDOW)
    assert start == str(m.dates[len(m.dates) - REAL_WINDOW[1]])   # window ends with the data
    check_window(m, start, REAL_WINDOW[1])


def _csv(tmp_path):
    m = _market()
    p = tmp_path / "closes.csv"
    rows = ["date,BTC,ETH"] + [f"{d},{a:.6f},{b:.6f}" for d, (a, b) in zip(m.dates, m.closes)]
    p.write_text("\n".join(rows) + "\n")
    return p


def test_demo_market_file(tmp_path):
    p = _csv(tmp_path)
    m = load_history("fixture", p)
    assert str(m.dates[0]) == "2024-01-01" and m.assets == ("BTC", "ETH")
    out = tmp_path / "demo"
    res = CliRunner().invoke(main, ["demo", "--market", str(p), "--start", "2022-11-05",
                                    "--out", str(out)])
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("calcm: error:"), res.output
    assert str(p) in lines[0] and "2022-11-05" in lines[0] and "command line" not in lines[0]
    assert not out.exists()                     # bad input writes nothing

"""Figures of cascade replays and backtests (matplotlib, Agg backend, PNG written atomically).

- ``price_liquidations.png``: each asset's close (normalised to 1 at the start),
  with the calcm regime's liquidation notional per day as bars;
- ``insurance_fund.png``: the insurance fund per regime over the replay;
- ``margin_held.png``: margin held per regime over the replay;
- backtest figures: :mod:`calcm.liquidation.backtest_plots`.
"""
from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .. import atomic  # noqa: E402


def _save(fig, path: Path) -> Path:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return atomic.write_bytes(path, buf.getvalue())


def _dates(days) -> np.ndarray:
    return np.array([np.datetime64(d.date, "D") for d in days])


def plot_simulation(market, results: dict, out_dir) -> list[Path]:
    """Figures of one replay (``results``: regime -> SimulationResult); returns the paths."""
    out = Path(out_dir)
    paths = []
    first = next(iter(results.values()))
    dates = _dates(first.days)
    assets = list(first.days[0].prices)
    fig, ax = plt.subplots(figsize=(10, 5))
    for a in assets:
        px = np.array([d.prices[a] for d in first.days])
        ax.plot(dates, px / px[0], lw=1, label=a)
    ax.set_ylabel("price / first day")
    key = "calcm" if "calcm" in results else first.regime
    ax2 = ax.twinx()
    ax2.bar(dates, [d.liquidated_notional / 1e6 for d in results[key].days], color="black", alpha=0.3,
            label=f"{key} liquidations")
    ax2.set_ylabel(f"{key} liquidated notional (M USD)")
    ax.legend(loc="lower left", fontsize=7, ncol=3)
    ax.set_title(f"price path and liquidations ({first.start}..{first.end})")
    fig.autofmt_xdate()
    paths.append(_save(fig, out / "price_liquidations.png"))

    for name, field, label in (("insurance_fund.png", "fund", "insurance fund (USD)"),
                               ("margin_held.png", "margin_held", "margin held (USD)")):
        fig, ax = plt.subplots(figsize=(10, 4))
        for r, res in results.items():
            ax.plot(_dates(res.days), [getattr(d, field) for d in res.days], label=r)
        ax.set_ylabel(label)
        ax.legend()
        fig.autofmt_xdate()
        paths.append(_save(fig, out / name))
    return paths


def plot_backtest(report, out_dir) -> list[Path]:
    """Figures of one backtest report: see :mod:`calcm.liquidation.backtest_plots`."""
    from .backtest_plots import plot_backtest as plot

    return plot(report, out_dir)

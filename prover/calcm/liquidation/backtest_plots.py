"""Figures of a backtest report (matplotlib, Agg backend, PNGs written atomically).

- ``exceedances_<book>.png`` (named books only): the realised one-day loss against
  each level's VaR and ES, exceptions marked; below it, when the margin check ran,
  the full-model margin against the realised MPOR loss;
- ``pvalues.png``: Kupiec, Christoffersen and Acerbi-Szekely p-values per book and
  level (log scale, the 5% line drawn); for more than 40 books (random books), their
  histograms instead.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .backtest_tests import TEST_SIZE
from .plots import _save, plt

TESTS = (("kupiec_p", "Kupiec"), ("christoffersen_p", "Christoffersen"), ("es_p", "Acerbi-Szekely Z2"))
MAX_BOOK_FIGURES = 40


def plot_backtest(report, out_dir) -> list[Path]:
    """Write the figures of ``report`` (a :class:`~calcm.liquidation.backtest.BacktestReport`)."""
    out = Path(out_dir)
    paths = []
    named = [b for b in report.books if b.book.family != "random"][:MAX_BOOK_FIGURES]
    for b in named:
        name = b.book.name
        margin = b.margin_exceedances is not None
        fig, axes = plt.subplots(2 if margin else 1, 1, figsize=(10, 7 if margin else 4), squeeze=False, sharex=True)
        ax = axes[0, 0]
        ax.plot(b.dates, b.loss, lw=0.6, color="grey", label="realised one-day loss")
        for lv in b.levels:
            ax.plot(b.dates, lv.var, lw=0.9, label=f"{lv.level:.1%} VaR")
            ax.plot(b.dates, lv.es, lw=0.9, ls="--", label=f"{lv.level:.1%} ES")
        lv = b.levels[-1]
        ax.scatter(b.dates[lv.exceptions], b.loss[lv.exceptions], color="red", s=8, zorder=3,
                   label=f"{lv.level:.1%} exceptions ({int(lv.exceptions.sum())})")
        ax.set_title(f"{name}: " + ", ".join(f"{x.level:.1%}: Kupiec p {x.var_test.kupiec_p:.3f}, "
                                             f"Z2 p {x.es_test.p_value:.3f}" for x in b.levels), fontsize=9)
        ax.legend(fontsize=7)
        if margin:
            ax = axes[1, 0]
            ax.plot(b.dates, b.loss_mpor, lw=0.7, color="grey", label=f"realised {report.margin_mpor_days}-day loss")
            ax.plot(b.dates, b.margin, lw=1, label=f"margin ({report.margin_level:.1%} ES, full model)")
            ax.set_title(f"margin vs realised loss ({b.margin_exceedances} exceedances)", fontsize=9)
            ax.legend(fontsize=7)
        fig.autofmt_xdate()
        paths.append(_save(fig, out / f"exceedances_{name}.png"))
    paths.append(_plot_pvalues(report, out / "pvalues.png"))
    return paths


def _plot_pvalues(report, path: Path) -> Path:
    summ = [b.summary() for b in report.books]
    fig, axes = plt.subplots(len(TESTS), 1, figsize=(11, 3 * len(TESTS)), squeeze=False)
    for ax, (key, title) in zip(axes[:, 0], TESTS):
        if len(summ) > MAX_BOOK_FIGURES:
            for lv in report.levels:
                ps = [s["levels"][f"{lv:g}"][key] for s in summ]
                ax.hist(ps, bins=np.linspace(0, 1, 21), alpha=0.5, label=f"{lv:.1%}")
            ax.axvline(TEST_SIZE, color="red", lw=0.8)
            ax.set_xlabel("p-value")
        else:
            x = np.arange(len(summ))
            wdt = 0.8 / len(report.levels)
            for i, lv in enumerate(report.levels):
                ps = [max(s["levels"][f"{lv:g}"][key], 1e-4) for s in summ]
                ax.bar(x + i * wdt, ps, wdt, label=f"{lv:.1%}")
            ax.set_yscale("log")
            ax.axhline(TEST_SIZE, color="red", lw=0.8)
            ax.set_xticks(x + 0.4 - wdt / 2, [s["book"] for s in summ], rotation=45, ha="right", fontsize=7)
        ax.set_title(f"{title} p-values (two-sided; red: {TEST_SIZE:.0%})")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, path)

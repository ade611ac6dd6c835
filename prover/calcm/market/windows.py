"""History windows: enough history up to a date, and a fit window joined to a test window."""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from .data import MarketData


def check_history(market: MarketData, assets, min_returns: int, asof=None) -> None:
    """Each of ``assets`` has at least ``min_returns`` daily returns up to ``asof`` (default: the end).

    The error names the file, the date (``asof``) and the column (the asset), with
    the asset's first close, so a user can see how much history is missing.
    """
    md = market if asof is None else market.upto(asof)
    d = md.dates[-1]
    for a in assets:
        if a not in md.assets:
            raise InputError(md.source, f"asof {d}", a, "not an asset of the market data")
        col = np.isfinite(md.closes[:, md.index(a)])
        n = max(int(col.sum()) - 1, 0)
        if n < min_returns:
            first = f"first close {md.dates[int(col.argmax())]}" if col.any() else "no close"
            raise InputError(md.source, f"asof {d}", a,
                             f"history too short: {n} returns ({first}), need min_history = {min_returns}")


def join_fit_test(fit: MarketData, test: MarketData) -> MarketData:
    """One history from a fit window followed by a test window (two files).

    The test file must hold every asset of the fit file (same order not required) and start
    the day after the fit file's last date, so the joined history is gap-free;
    an asset listed in the fit window must trade on every test day. An asset only in the
    test file is a listing inside the test window: it joins after the fit's assets with no
    close in the fit window, and one ``DataFallbackWarning`` line names it. Volumes and
    high/low are kept only when both files have them. ``source`` is the test
    file (forecast days and realisations come from it).
    """
    missing = [a for a in fit.assets if a not in test.assets]
    extra = tuple(a for a in test.assets if a not in fit.assets)
    if missing:
        raise InputError(test.source, "line 1", missing[0],
                         f"fit and test files must hold the same assets ({fit.source}: {', '.join(fit.assets)})")
    if extra:
        import warnings

        from ..errors import DataFallbackWarning
        warnings.warn(f"{test.source}: line 1: {', '.join(extra)}: not in the fit file {fit.source}: joined as "
                      "listed in the test window (no close before it)", DataFallbackWarning, stacklevel=2)
        pad = lambda a: None if a is None else np.hstack([a, np.full((len(a), len(extra)), np.nan)])  # noqa: E731
        fit = MarketData(fit.dates, fit.assets + extra, pad(fit.closes), pad(fit.volumes), pad(fit.high),
                         pad(fit.low), source=fit.source)
    step = int((test.dates[0] - fit.dates[-1]) / np.timedelta64(1, "D"))
    if step != 1:
        raise InputError(test.source, f"first row ({test.dates[0]})", "date",
                         f"the test window must start the day after the fit window ends ({fit.dates[-1]} "
                         f"in {fit.source}); got {'an overlap' if step <= 0 else f'a gap of {step - 1} day(s)'}")
    t = test.select(fit.assets)
    listed = np.isfinite(fit.closes[-1])
    hole = listed & ~np.isfinite(t.closes[0])
    if hole.any():
        raise InputError(test.source, f"first row ({test.dates[0]})", fit.assets[int(np.argmax(hole))],
                         "missing close for an asset listed in the fit window")
    cat = lambda a, b: None if a is None or b is None else np.vstack([a, b])  # noqa: E731
    return MarketData(np.concatenate([fit.dates, t.dates]), fit.assets, np.vstack([fit.closes, t.closes]),
                      cat(fit.volumes, t.volumes), cat(fit.high, t.high), cat(fit.low, t.low),
                      source=test.source)

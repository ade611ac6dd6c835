"""Daily market data: the validated prices, volumes and highs/lows of ``U`` assets over ``T`` days.

Loading and validation live beside it: :mod:`.load` (:func:`~calcm.market.load.load_market`),
:mod:`.formats` (wide, long and OHLCV files), :mod:`.validate` (the record checks) and
:mod:`.windows` (history length, fit and test windows).

Returns: the model is defined on **simple returns** ``r_t = P_t / P_{t-1} - 1``
so that the model-update circuit can prove them exactly with one division, no
fixed-point logarithm. :meth:`MarketData.log_returns` is there for analysis.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..errors import InputError


@dataclass(frozen=True)
class Gap:
    """Missing calendar days between two consecutive rows (``days`` > 1)."""

    after: np.datetime64
    before: np.datetime64

    @property
    def days(self) -> int:
        return int((self.before - self.after) / np.timedelta64(1, "D"))


@dataclass(frozen=True)
class MarketData:
    """Daily prices of ``U`` assets over ``T`` days.

    dates:   (T,)   numpy ``datetime64[D]``, strictly increasing.
    assets:  (U,)   asset symbols (column order of the file).
    closes:  (T, U) USD close; NaN before the asset's listing, finite and > 0 after.
    volumes: (T, U) USD volume per day, or None when no volume data was given.
    high, low: (T, U) USD intraday extremes, or None.
    gaps:    calendar gaps between consecutive rows; always ``()`` from the loaders (a gap
             is an input error), kept for data built in memory.
    """

    dates: np.ndarray
    assets: tuple[str, ...]
    closes: np.ndarray
    volumes: np.ndarray | None = None
    high: np.ndarray | None = None
    low: np.ndarray | None = None
    gaps: tuple[Gap, ...] = ()
    source: str = "<memory>"

    def __post_init__(self):
        T, U = np.shape(self.closes)
        if np.shape(self.dates) != (T,) or len(self.assets) != U:
            raise ValueError("dates/assets do not match the closes matrix")
        for name in ("volumes", "high", "low"):
            a = getattr(self, name)
            if a is not None and np.shape(a) != (T, U):
                raise ValueError(f"{name} has shape {np.shape(a)}, expected {(T, U)}")

    @property
    def n_days(self) -> int:
        return len(self.dates)

    def index(self, asset: str) -> int:
        return self.assets.index(asset)

    def listed(self) -> np.ndarray:
        """(T, U) bool: the asset has a close on that day."""
        return np.isfinite(self.closes)

    def first_listed(self) -> np.ndarray:
        """(U,) index of each asset's first close (T if never listed)."""
        lst = self.listed()
        return np.where(lst.any(axis=0), lst.argmax(axis=0), len(self.dates))

    def simple_returns(self) -> np.ndarray:
        """(T-1, U) ``P_t / P_{t-1} - 1``; NaN where either close is missing."""
        return self.closes[1:] / self.closes[:-1] - 1.0

    def log_returns(self) -> np.ndarray:
        """(T-1, U) ``log(P_t / P_{t-1})``; for analysis only (the model uses simple returns)."""
        return np.log(self.closes[1:] / self.closes[:-1])

    def last_close(self) -> np.ndarray:
        """(U,) the close on the last day (NaN for an asset not yet listed)."""
        return self.closes[-1]

    def upto(self, asof) -> "MarketData":
        """The data up to and including ``asof`` (a date or ISO string)."""
        d = np.datetime64(asof, "D")
        n = int(np.searchsorted(self.dates, d, side="right"))
        if n < 2:
            raise InputError(self.source, f"asof {d}", "date", "fewer than two rows up to this date")
        cut = lambda a: None if a is None else a[:n]  # noqa: E731
        return replace(self, dates=self.dates[:n], closes=self.closes[:n], volumes=cut(self.volumes),
                       high=cut(self.high), low=cut(self.low),
                       gaps=tuple(g for g in self.gaps if g.before <= d))

    def select(self, assets) -> "MarketData":
        """The columns of ``assets`` only (in that order)."""
        idx = [self.index(a) for a in assets]
        pick = lambda a: None if a is None else a[:, idx]  # noqa: E731
        return replace(self, assets=tuple(assets), closes=self.closes[:, idx],
                       volumes=pick(self.volumes), high=pick(self.high), low=pick(self.low))

    def trailing_adv(self, window: int = 30) -> np.ndarray | None:
        """(U,) mean USD volume over the last ``window`` days with data, or None."""
        if self.volumes is None:
            return None
        v = self.volumes[-window:]
        seen = np.isfinite(v)
        # NaN for an asset with no volume in the window (the model falls back for it).
        return np.where(seen.any(axis=0), np.nansum(v, axis=0) / np.maximum(seen.sum(axis=0), 1), np.nan)

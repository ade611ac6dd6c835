"""What ``calcm demo`` runs: its settings, parameter profiles, replay windows and history.

:class:`DemoSettings` is the whole run's configuration (window, profile, group size, workers,
the registry's ages); :class:`Profile` a published parameter set; :func:`load_history` the
market data, :func:`default_window` the window when ``--start`` is not given (the preset when
it lies in the data, else the data's own worst day) and :func:`check_window` the check that a
replay window lies in it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..paths import DEFAULT_MARKET, DEFAULT_VOLUMES, REPO_ROOT, SHARED_DATA

DEFAULT_OUT = REPO_ROOT / "out" / "demo"
DAY = 86400
#: Replay windows: the fixture's crash (starts 2023-01-20) and a real episode (FTX, Nov 2022).
FIXTURE_WINDOW = ("2023-01-19", 3)
REAL_WINDOW = ("2022-11-05", 14)
#: Data-driven default window: this many days before the worst day, after this many returns
#: of every asset (the published model's GARCH fits need ``min_history`` = 250 returns).
WORST_DAY_LEAD = 4
MIN_HISTORY = 250
#: Mid-episode withdrawal requests: (replay day index, account, fraction of stablecoin).
WITHDRAWALS = ((1, "short_eth", 0.5), (1, "long_btc", 0.9))
#: Seconds after midnight UTC at which a day's close is published (the first round after it).
CLOSE_AT = 30


@dataclass(frozen=True)
class Profile:
    """A demo run's published parameter set: a named risk profile, or explicit FHS count and
    option chunks C (tests: tiny shapes). C = None is the published default
    (:func:`calcm.risk.modelfx.default_chunks`)."""

    name: str
    n_fhs: int | None = None
    chunks: int | None = None
    n_extreme: int = 5


#: ``published``: the published parameters (S = 534, C = 6); ``fast``: the risk stage's ``fast``
#: profile (20 FHS days, S = 54, C = 1), published as the demo's own parameter set (not a refit):
#: ``calcm margin --profile fast`` prints exactly what the demo's chain holds.
PROFILES = {name: Profile(name) for name in ("published", "fast")}


@dataclass(frozen=True)
class DemoSettings:
    """What ``calcm demo`` runs (see the module docstring)."""

    history: str = "fixture"
    market: Path | None = None            # a market file instead of the history (any dates)
    start: str | None = None
    days: int | None = None
    profile: str = "fast"
    intraday: int = 2
    group_size: int = 4
    workers: int = 2
    processes: bool = True
    scheduler: str | None = None
    backend: str = "auto"
    out_dir: Path = DEFAULT_OUT
    max_age: int = 64
    refresh_blocks: int = 32
    max_price_age: int = 3600
    option_max_age: int = DAY
    near_mm_buffer: float = 0.10
    venue_actions: bool = True
    scenarios: Profile | None = None      # overrides the profile (tests: tiny shapes)

    def window(self, market=None) -> tuple[str, int]:
        """``(start, days)``: the given ones, else :func:`default_window` on ``market``."""
        start, days = FIXTURE_WINDOW if self.history == "fixture" and self.market is None \
            else REAL_WINDOW
        days = self.days or days
        if self.start is None and market is not None:
            return default_window(market, start, days), days
        return self.start or start, days

    @property
    def parameters(self) -> Profile:
        if self.scenarios is not None:
            return self.scenarios
        if self.profile not in PROFILES:
            raise InputError("command line", "--profile", "-",
                             f"{self.profile!r}: one of {', '.join(PROFILES)}")
        return PROFILES[self.profile]


def load_history(history: str, market: Path | None = None):
    """The market data: ``market`` (any file :func:`calcm.market.load_market` reads), else the
    bundled fixture or the real history beside the repo."""
    from ..market import load_market
    if market is not None:
        return load_market(market)
    if history == "fixture":
        return load_market(DEFAULT_MARKET, DEFAULT_VOLUMES)
    if history != "real":
        raise InputError("command line", "--history", "-", f"{history!r}: fixture or real")
    path = SHARED_DATA / "prices" / "daily_close.csv"
    if not path.exists():
        raise InputError(str(path), "-", "-", "real price history not found (needs ../shared/data)")
    return load_market(path)


def default_window(market, preset: str, days: int) -> str:
    """The replay's first day when none is given: ``preset`` when its window lies in the data,
    else ``WORST_DAY_LEAD`` days before the data's worst day (lowest mean log return over the
    listed assets) among the days with ``MIN_HISTORY`` returns of every asset before the window,
    moved earlier if the window would run past the data's end. Other data than the bundled
    (e.g. 2024-2026 prices) thus gets its own crash, never an error about 2022 dates."""
    dates = market.dates
    i0 = int(np.searchsorted(dates, np.datetime64(preset, "D")))
    if 1 <= i0 < len(dates) and dates[i0] == np.datetime64(preset, "D") and i0 + days <= len(dates):
        return preset
    logp = np.log(np.asarray(market.closes, float))
    seen = np.isfinite(logp).cumsum(axis=0)            # (T, U) prices up to each day
    full = seen[-1] >= MIN_HISTORY + 1                 # assets that ever have the history
    if not full.any() or len(dates) < 2:
        return preset                                  # no window fits: check_window says why
    first = int(np.argmax((seen[:, full] >= MIN_HISTORY + 1).all(axis=1)))
    last = len(dates) - days                           # the latest start that fits
    if first + 1 > last:
        return preset
    with np.errstate(invalid="ignore"):
        move = np.nanmean(np.diff(logp[:, full], axis=0), axis=1)  # move[t - 1]: day t's
    worst = first + 1 + int(np.nanargmin(move[first:])) if first < len(move) else first
    # first + 1: the model is published at the close before the window (world.build_world)
    return str(dates[min(max(worst - WORST_DAY_LEAD, first + 1), last)])


def check_window(market, start: str, days: int) -> None:
    """The replay window lies in the market data, with history before it (InputError)."""
    d0 = np.datetime64(start, "D")
    i0 = int(np.searchsorted(market.dates, d0))
    if days < 1 or i0 < 1 or i0 >= len(market.dates) or market.dates[i0] != d0 or \
            i0 + days > len(market.dates):
        raise InputError(str(market.source), f"window {start} + {days} days", "--start/--days",
                         f"must lie within {market.dates[1]} .. {market.dates[-1]}")

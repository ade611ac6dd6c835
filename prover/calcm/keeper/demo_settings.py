"""What ``calcm demo`` runs: its settings, parameter profiles, replay windows and history.

:class:`DemoSettings` is the whole run's configuration (window, profile, group size, workers,
the registry's ages); :class:`Profile` a published parameter set; :func:`load_history` the
market data and :func:`check_window` the check that a replay window lies in it.
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

    def window(self) -> tuple[str, int]:
        start, days = FIXTURE_WINDOW if self.history == "fixture" else REAL_WINDOW
        return self.start or start, self.days or days

    @property
    def parameters(self) -> Profile:
        if self.scenarios is not None:
            return self.scenarios
        if self.profile not in PROFILES:
            raise InputError("command line", "--profile", "-",
                             f"{self.profile!r}: one of {', '.join(PROFILES)}")
        return PROFILES[self.profile]


def load_history(history: str):
    """The market data: the bundled fixture, or the real history beside the repo."""
    from ..market import load_market
    if history == "fixture":
        return load_market(DEFAULT_MARKET, DEFAULT_VOLUMES)
    if history != "real":
        raise InputError("command line", "--history", "-", f"{history!r}: fixture or real")
    path = SHARED_DATA / "prices" / "daily_close.csv"
    if not path.exists():
        raise InputError(str(path), "-", "-", "real price history not found (needs ../shared/data)")
    return load_market(path)


def check_window(market, start: str, days: int) -> None:
    """The replay window lies in the market data, with history before it (InputError)."""
    d0 = np.datetime64(start, "D")
    i0 = int(np.searchsorted(market.dates, d0))
    if days < 1 or i0 < 1 or i0 >= len(market.dates) or market.dates[i0] != d0 or \
            i0 + days > len(market.dates):
        raise InputError(str(market.source), f"window {start} + {days} days", "--start/--days",
                         f"must lie within {market.dates[1]} .. {market.dates[-1]}")

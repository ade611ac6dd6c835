"""What ``calcm serve`` reads, and the windows of the expensive views.

``ServeSettings`` is plain data; :func:`check_settings` turns a bad value into one
:class:`~calcm.errors.InputError` naming the option (before any model is fitted).
Dates are ISO ``YYYY-MM-DD``; ``backtest_days`` counts calendar days ending on the
market's last date; ``cascade_start``/``cascade_end`` default to the bundled ``fixture``
episode (:data:`calcm.liquidation.episodes.EPISODES`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..paths import DEFAULT_BOOK, DEFAULT_MARKET, DEFAULT_VOLUMES, REPO_ROOT

#: Where ``calcm keeper run`` keeps its state by default (calcm.cli.keeper_cmd.DEFAULT_STATE).
DEFAULT_STORE = REPO_ROOT / "out" / "keeper.sqlite"
REGIMES = ("static", "siloed", "calcm")


@dataclass(frozen=True)
class ServeSettings:
    market: Path = DEFAULT_MARKET
    volumes: Path | None = None           # None: the bundled volumes with the bundled market only
    book: Path = DEFAULT_BOOK
    profile: str = "published"
    es_level: float = 0.99
    vol_model: str = "gjr"
    store: Path = DEFAULT_STORE           # keeper SQLite state (may not exist: empty keeper view)
    proof_dir: Path | None = None         # inclusion against a proof directory ...
    rpc: str | None = None                # ... or against a registry (rpc + registry) ...
    registry: str | None = None           # ... else against the venue's root of the book (local record)
    episode: str = "fixture"
    cascade_start: str | None = None
    cascade_end: str | None = None
    regimes: tuple[str, ...] = REGIMES
    backtest_days: int = 180
    backtest_sims: int = 500
    explain_moves: bool = True
    prefetch_accounts: bool = True         # explain every account after the other pieces (warm account pages)

    @property
    def volumes_path(self) -> Path | None:
        if self.volumes is not None:
            return self.volumes
        return DEFAULT_VOLUMES if Path(self.market).resolve() == DEFAULT_MARKET.resolve() else None

    @property
    def cascade_window(self) -> tuple[str, str]:
        from ..liquidation.episodes import episode
        ep = episode(self.episode)
        return self.cascade_start or ep.start, self.cascade_end or ep.end


def check_settings(s: ServeSettings) -> None:
    """One InputError naming the option for any value out of range (files are checked when read)."""
    from ..liquidation.episodes import EPISODES
    if s.episode not in EPISODES:
        raise InputError("--episode", repr(s.episode), "-", f"unknown episode (one of {', '.join(EPISODES)})")
    if not (0 < s.es_level < 1):
        raise InputError("--es-level", repr(s.es_level), "-", "must be in (0, 1)")
    if not (5 <= s.backtest_days <= 3650):
        raise InputError("--backtest-days", repr(s.backtest_days), "-", "must be in [5, 3650]")
    if not (100 <= s.backtest_sims <= 100_000):
        raise InputError("--backtest-sims", repr(s.backtest_sims), "-", "must be in [100, 100000]")
    bad = [r for r in s.regimes if r not in REGIMES]
    if bad or not s.regimes:
        raise InputError("--regime", repr(bad or s.regimes), "-", f"regimes are {', '.join(REGIMES)}")
    if (s.rpc is None) != (s.registry is None):
        raise InputError("--rpc/--registry", "-", "-", "give both --rpc and --registry, or neither")
    if s.proof_dir is not None and s.rpc is not None:
        raise InputError("--proof-dir/--rpc", "-", "-", "give --proof-dir or --rpc/--registry, not both")
    if s.proof_dir is not None and not Path(s.proof_dir).is_dir():
        raise InputError(str(s.proof_dir), "-", "--proof-dir", "not a directory")
    import numpy as np
    for name, d in (("--cascade-start", s.cascade_start), ("--cascade-end", s.cascade_end)):
        if d is not None:
            try:
                np.datetime64(d, "D")
            except ValueError:
                raise InputError(name, repr(d), "-", "expected a date YYYY-MM-DD") from None
    a, b = s.cascade_window
    if np.datetime64(b, "D") < np.datetime64(a, "D"):
        raise InputError("--cascade-end", repr(b), "-", f"before the cascade start {a}")

"""Named stress episodes of the real price history (``../shared/data/prices``).

Each episode is a replay window (calendar dates, inclusive) around a crash; the
backtest of an episode uses the ``backtest_days`` calendar days that end on the
window's last day, so that each Kupiec test has enough observations. A report can also
replay a user window (:func:`parse_window`, ``--window NAME:START:END``) of any data;
:func:`select` checks that the data covers each window.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError


@dataclass(frozen=True)
class Episode:
    name: str
    start: str
    end: str
    description: str
    backtest_days: int = 365

    @property
    def backtest_start(self) -> str:
        return str(np.datetime64(self.end, "D") - np.timedelta64(self.backtest_days - 1, "D"))


EPISODES: dict[str, Episode] = {e.name: e for e in (
    Episode("2020-03", "2020-02-24", "2020-04-05",
            "COVID crash: BTC -39% on 12 March 2020, BitMEX cascade"),
    Episode("2021-05", "2021-05-05", "2021-06-10",
            "China mining ban and leverage flush: BTC -14% on 19 May 2021"),
    Episode("2022-06", "2022-05-01", "2022-07-05",
            "Terra/LUNA collapse (May) then Celsius and 3AC (13-18 June 2022)"),
    Episode("2022-11", "2022-10-25", "2022-12-10",
            "FTX collapse: BTC close 15,922.81 on 9 November 2022"),
    Episode("fixture", "2023-01-10", "2023-02-28",
            "the bundled fixtures' synthetic crash (five days from 2023-01-20)"),
)}

#: The real-history episodes (the ``fixture`` one lives in ``fixtures/market.csv``).
REAL_EPISODES = ("2020-03", "2021-05", "2022-06", "2022-11")


def episode(name: str) -> Episode:
    try:
        return EPISODES[name]
    except KeyError:
        raise ValueError(f"unknown episode {name!r}; one of {sorted(EPISODES)}") from None


def parse_window(text: str) -> Episode:
    """A user window ``NAME:START:END`` or ``START:END`` (YYYY-MM-DD, inclusive; the name
    defaults to ``START..END``), e.g. ``oct25:2025-10-01:2025-10-31``. Bad text or
    ``START > END`` is an :class:`~calcm.errors.InputError` naming ``--window``."""
    parts = text.split(":")
    if len(parts) == 2:
        parts = [f"{parts[0]}..{parts[1]}"] + parts
    try:
        if len(parts) != 3 or not parts[0]:
            raise ValueError
        d0, d1 = (np.datetime64(p.strip(), "D") for p in parts[1:])
    except ValueError:
        raise InputError("--window", text, "window", "expected NAME:START:END or START:END (YYYY-MM-DD)") from None
    if d0 > d1:
        raise InputError("--window", text, "window", f"start {d0} is after end {d1}")
    return Episode(parts[0], str(d0), str(d1), f"user window {d0}..{d1}")


def check_covered(market, ep: Episode, before: int = 1) -> None:
    """:class:`~calcm.errors.InputError` (file, window, ``date``) unless ``market`` has at least
    ``before`` days before ``ep.start`` and a day in ``ep.start..ep.end``."""
    d0, d1 = np.datetime64(ep.start, "D"), np.datetime64(ep.end, "D")
    k = int(np.searchsorted(market.dates, d0, side="left"))
    if k < before or k >= market.n_days or market.dates[k] > d1:
        raise InputError(market.source, f"window {ep.name} ({ep.start}..{ep.end})", "date",
                         f"needs {before} day(s) before its start and a day inside it; the data covers "
                         f"{market.dates[0]}..{market.dates[-1]}")


def from_args(names=(), windows=()) -> tuple[Episode, ...]:
    """The bundled episodes ``names`` (:data:`EPISODES`) then the user ``windows``
    (:func:`parse_window` text); an unknown name is an InputError naming ``--episode``."""
    for n in names:
        if n not in EPISODES:
            raise InputError("--episode", n, "episode", f"unknown episode; one of {sorted(EPISODES)}")
    return tuple(EPISODES[n] for n in names) + tuple(parse_window(w) for w in windows)


def select(market, chosen: tuple[Episode, ...] = (), before: int = 1) -> tuple[Episode, ...]:
    """``chosen`` (:func:`from_args`), each checked by :func:`check_covered`; if empty, the
    :data:`REAL_EPISODES` that ``market`` covers (an InputError if it covers none)."""
    if not chosen:
        chosen = covered(market, before)
        if not chosen:
            raise InputError(market.source, "episodes", "date",
                             f"no bundled episode ({', '.join(REAL_EPISODES)}) inside the data "
                             f"({market.dates[0]}..{market.dates[-1]}); name one: --window NAME:START:END")
    for e in chosen:
        check_covered(market, e, before)
    return tuple(chosen)


def covered(market, before: int = 1) -> tuple[Episode, ...]:
    """The :data:`REAL_EPISODES` that ``market`` covers (:func:`check_covered`), maybe none."""
    out = []
    for n in REAL_EPISODES:
        try:
            check_covered(market, EPISODES[n], before)
        except InputError:
            continue
        out.append(EPISODES[n])
    return tuple(out)

"""Named stress episodes of the real price history (``../shared/data/prices``).

Each episode is a replay window (calendar dates, inclusive) around a crash; the
backtest of an episode uses the ``backtest_days`` calendar days that end on the
window's last day, so that each Kupiec test has enough observations.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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

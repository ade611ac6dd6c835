"""Reading a market CSV and checking its records.

Every error is an :class:`~calcm.errors.InputError` naming the file, the record -- line
number and date -- and the field -- the column: dates parse as ISO ``YYYY-MM-DD`` and are
strictly increasing (unsorted or duplicate dates are an error); every price is finite and
> 0; an asset once listed has a close on every later row; no close moves more than x10 (or
/10) in one day (``MAX_DAILY_RATIO``: a typo, such as a close x1000); the file has at least
two rows; there is no **calendar gap** (a missing day between two rows): crypto trades every
day, so a gap is missing data, and a multi-day return across it would enter the GARCH
filter as if it were one day (nothing is filled, ever). The history-length rule is checked
where the model knows ``min_history``: :func:`calcm.market.windows.check_history`.
"""
from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from ..errors import InputError
from .data import Gap


def read_rows(path: Path) -> list[list[str]]:
    """The CSV rows of ``path``; a missing or undecodable file is an :class:`InputError`."""
    try:
        with path.open(newline="") as fh:
            return [row for row in csv.reader(fh)]
    except FileNotFoundError:
        raise InputError(str(path), "-", "-", "file not found") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(str(path), "-", "-", f"unreadable CSV: {exc}") from None


def parse_date(file: str, line: int, raw: str) -> np.datetime64:
    """``raw`` as a day; anything but ``YYYY-MM-DD`` is an :class:`InputError` at ``line``."""
    try:
        if len(raw.strip()) != 10:
            raise ValueError
        return np.datetime64(raw.strip(), "D")
    except ValueError:
        raise InputError(file, f"line {line}", "date", f"not an ISO date (YYYY-MM-DD): {raw!r}") from None


def parse_value(file: str, line: int, date: str, col: str, raw: str, what: str,
                 allow_zero: bool = False) -> float:
    """``raw`` as a finite number > 0 (>= 0 with ``allow_zero``); ``what`` names it in the error."""
    rec = f"line {line} ({date})"
    try:
        x = float(raw)
    except ValueError:
        raise InputError(file, rec, col, f"{what} is not a number: {raw!r}") from None
    if not math.isfinite(x):
        raise InputError(file, rec, col, f"{what} is not finite: {raw!r}")
    if x < 0 or (x == 0 and not allow_zero):
        raise InputError(file, rec, col, f"{what} must be {'>= 0' if allow_zero else '> 0'}, got {raw}")
    return x


def check_dates(file: str, dates: list[np.datetime64], lines: list[int],
                 column: str = "date") -> tuple[Gap, ...]:
    """Strictly increasing, consecutive calendar days; ``column`` names the field in errors.

    Returns ``()``: a gap is an error (see the module docstring); the return type is
    kept for :attr:`MarketData.gaps`.
    """
    if len(dates) < 2:
        raise InputError(file, "-", column, f"empty history: {len(dates)} data row(s), need at least 2")
    steps = [int((dates[k] - dates[k - 1]) / np.timedelta64(1, "D")) for k in range(1, len(dates))]
    for k, step in enumerate(steps, start=1):   # order first: a swapped row also looks like a gap
        if step <= 0:
            raise InputError(file, f"line {lines[k]} ({dates[k]})", column,
                             f"dates must be strictly increasing (previous row {dates[k - 1]})")
    for k, step in enumerate(steps, start=1):
        if step > 1:
            raise InputError(file, f"line {lines[k]} ({dates[k]})", column,
                             f"calendar gap: {step - 1} missing day(s) after {dates[k - 1]} "
                             "(daily data must have every day; nothing is filled)")
    return ()


#: A one-day close ratio beyond this (either way) is an input error, a mistyped close (x1000)
#: rather than a market move: the largest in the bundled and the real 2020-2024 history is x4.9.
MAX_DAILY_RATIO = 10.0


def check_listing(file: str, closes: np.ndarray, dates, lines, assets) -> None:
    """An asset once listed must have a close on every later row (no silent holes)."""
    fin = np.isfinite(closes)
    for u, a in enumerate(assets):
        col = fin[:, u]
        if not col.any():
            raise InputError(file, "-", a, "no prices at all (empty history)")
        first = int(col.argmax())
        holes = np.flatnonzero(~col[first:])
        if holes.size:
            t = first + int(holes[0])
            raise InputError(file, f"line {lines[t]} ({dates[t]})", a,
                             "missing close after the asset's listing (no forward fill: fill or drop the row)")
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = closes[1:] / closes[:-1]
    jump = np.isfinite(ratio) & ((ratio > MAX_DAILY_RATIO) | (ratio < 1 / MAX_DAILY_RATIO))
    if jump.any():
        t, u = (int(x[0]) for x in np.nonzero(jump))
        raise InputError(file, f"line {lines[t + 1]} ({dates[t + 1]})", assets[u],
                         f"close moves x{ratio[t, u]:.4g} in one day (limit x{MAX_DAILY_RATIO} either way): "
                         "a mistyped close?")

"""Reading a market CSV and checking its records.

Every error is an :class:`~calcm.errors.InputError` naming the file, the record -- line
number and date -- and the field -- the column: dates parse as ISO ``YYYY-MM-DD`` (a midnight
UTC timestamp such as ``2024-01-01 00:00:00`` or ``2024-01-01T00:00:00Z`` is that day; any
other time of day is an error, since it does not say which day's close it is) and are
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
import re
from pathlib import Path

import numpy as np

from ..errors import InputError
from .data import Gap


def read_rows(path: Path) -> list[list[str]]:
    """The CSV rows of ``path``; a missing or undecodable file is an :class:`InputError`.

    UTF-8, with or without a byte-order mark (spreadsheet exports write one), any line ending."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            return [row for row in csv.reader(fh)]
    except FileNotFoundError:
        raise InputError(str(path), "-", "-", "file not found") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(str(path), "-", "-", f"unreadable CSV: {exc}") from None


#: A midnight UTC time after the day (``T`` or a space): ``00:00[:00[.000]]`` then ``Z``/``+00:00``/nothing.
_MIDNIGHT = re.compile(r"[T ]00:00(:00(\.0+)?)?(Z|[+-]00:?00)?")


def parse_date(file: str, line: int, raw: str) -> np.datetime64:
    """``raw`` as a day: ``YYYY-MM-DD``, optionally followed by a midnight UTC time (``_MIDNIGHT``).

    Anything else is an :class:`InputError` at ``line``; a time other than midnight UTC is refused
    rather than truncated (a close stamped ``23:59:59`` or ``+08:00`` may be another day's)."""
    s = raw.strip()
    try:
        if len(s) < 10 or (len(s) > 10 and not _MIDNIGHT.fullmatch(s[10:])):
            raise ValueError
        return np.datetime64(s[:10], "D")
    except ValueError:
        hint = " (a time of day must be midnight UTC)" if len(s) > 10 else ""
        raise InputError(file, f"line {line}", "date", f"not an ISO date (YYYY-MM-DD){hint}: {raw!r}") from None


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


def check_range(file: str, line: int, date: str, asset: str, low: float, close: float, high: float) -> None:
    """A candle's ``low <= close <= high`` (NaN: not given, not checked); the error names the field
    (``high`` when ``high < low``, else the bound the close breaks). The replays liquidate at the
    low/high, so a swapped pair would replay a crash as a rally."""
    rec = f"line {line} ({date})"
    if high < low:
        raise InputError(file, rec, "high", f"{asset} high {high:g} is below its low {low:g}")
    if close < low or close > high:
        fld, b = ("low", low) if close < low else ("high", high)
        raise InputError(file, rec, fld, f"{asset} close {close:g} is outside the candle's {fld} {b:g}")


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
            if not col[t:].any():   # blank to the end: the asset stopped trading (delisted)
                raise InputError(file, f"line {lines[t]} ({dates[t]})", a,
                                 f"no close from here to the end of the file (last close {dates[t - 1]}): "
                                 "a delisted asset cannot be margined past its last close; drop the column "
                                 "or end the file there")
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

"""Daily market data: loading, validation and returns.

Formats accepted by :func:`load_market`:

- **wide closes** (``../shared/data/prices/daily_close.csv``, ``fixtures/market.csv``)::

      date,BTC,ETH,...
      2021-01-01,29374.15,730.97,...

  One row per day, a blank cell before the asset's listing and nowhere else.
- **long format** with a volume column::

      date,asset,close[,volume][,high][,low]

  ``volume`` is USD (quote) volume.
- **an OHLCV directory** of ``<ASSET>.csv`` files with header
  ``date,open,high,low,close,volume`` (``../shared/data/prices/ohlcv``); there
  ``volume`` is in base units (Binance klines), converted to USD as
  ``volume * close``.

Volumes for a wide close file come from a second wide file of USD volumes
(:func:`load_volumes`, ``fixtures/volumes.csv``).

Validation (every error is an :class:`~calcm.errors.InputError` naming the
file, the record -- line number and date -- and the field -- the column):
dates parse as ISO ``YYYY-MM-DD`` and are strictly increasing (unsorted or
duplicate dates are an error); every price is finite and > 0; an asset once
listed has a close on every later row; no close moves more than x10 (or /10) in
one day (``MAX_DAILY_RATIO``: a typo, such as a close x1000); the file has at least two rows; there
is no **calendar gap** (a missing day between two rows): crypto trades every
day, so a gap is missing data, and a multi-day return across it would enter
the GARCH filter as if it were one day (nothing is filled, ever). The
history-length rule (fewer than ``min_history`` returns for an asset) is
checked where the model knows ``min_history``: :func:`check_history`.

Returns: the model is defined on **simple returns** ``r_t = P_t / P_{t-1} - 1``
so that the model-update circuit can prove them exactly with one division, no
fixed-point logarithm. :meth:`MarketData.log_returns` is there for analysis.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass, replace
from pathlib import Path

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


# ----------------------------------------------------------------------------- parsing


def _read_rows(path: Path) -> list[list[str]]:
    try:
        with path.open(newline="") as fh:
            return [row for row in csv.reader(fh)]
    except FileNotFoundError:
        raise InputError(str(path), "-", "-", "file not found") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(str(path), "-", "-", f"unreadable CSV: {exc}") from None


def _parse_date(file: str, line: int, raw: str) -> np.datetime64:
    try:
        if len(raw.strip()) != 10:
            raise ValueError
        return np.datetime64(raw.strip(), "D")
    except ValueError:
        raise InputError(file, f"line {line}", "date", f"not an ISO date (YYYY-MM-DD): {raw!r}") from None


def _parse_value(file: str, line: int, date: str, col: str, raw: str, what: str,
                 allow_zero: bool = False) -> float:
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


def _check_dates(file: str, dates: list[np.datetime64], lines: list[int],
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


def _check_listing(file: str, closes: np.ndarray, dates, lines, assets) -> None:
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


def _parse_wide(path: Path, rows: list[list[str]], what: str, allow_zero: bool):
    file = str(path)
    if not rows or not rows[0] or rows[0][0].strip().lower() != "date":
        raise InputError(file, "line 1", "date", "header must start with 'date'")
    assets = tuple(h.strip() for h in rows[0][1:])
    if not assets:
        raise InputError(file, "line 1", "-", "no asset columns")
    for a in assets:
        if not a or assets.count(a) > 1:
            raise InputError(file, "line 1", a or "-", "empty or duplicate column name")
    dates, lines, vals = [], [], []
    for n, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(assets) + 1:
            raise InputError(file, f"line {n}", "-", f"expected {len(assets) + 1} fields, got {len(row)}")
        d = _parse_date(file, n, row[0])
        dates.append(d)
        lines.append(n)
        vals.append([np.nan if not c.strip() else _parse_value(file, n, row[0], a, c.strip(), what, allow_zero)
                     for a, c in zip(assets, row[1:])])
    gaps = _check_dates(file, dates, lines)
    return np.array(dates, dtype="datetime64[D]"), assets, np.array(vals, dtype=float), gaps, lines


def load_volumes(path: str | Path) -> tuple[np.ndarray, tuple[str, ...], np.ndarray]:
    """A wide file of USD volumes: ``(dates, assets, volumes (T, U))``; blanks are NaN."""
    path = Path(path)
    dates, assets, vols, _, _ = _parse_wide(path, _read_rows(path), "volume", allow_zero=True)
    return dates, assets, vols


def _align_volumes(market_file: str, dates, assets, vpath: Path) -> np.ndarray:
    vdates, vassets, vols = load_volumes(vpath)
    out = np.full((len(dates), len(assets)), np.nan)
    pos = {d: k for k, d in enumerate(vdates.tolist())}
    rows = np.array([pos.get(d, -1) for d in dates.tolist()])
    for u, a in enumerate(assets):
        if a not in vassets:
            continue  # no volume for this asset: ADV falls back (docs/MODEL.md)
        col = vols[:, vassets.index(a)]
        out[rows >= 0, u] = col[rows[rows >= 0]]
    return out


def _load_long(path: Path, rows: list[list[str]]):
    file = str(path)
    header = [h.strip().lower() for h in rows[0]]
    need = {"date", "asset", "close"}
    if not need <= set(header):
        raise InputError(file, "line 1", "-", f"long format needs columns {sorted(need)}")
    col = {h: k for k, h in enumerate(header)}
    recs: dict[str, dict] = {}
    all_dates: dict[np.datetime64, int] = {}
    for n, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise InputError(file, f"line {n}", "-", f"expected {len(header)} fields, got {len(row)}")
        d = _parse_date(file, n, row[col["date"]])
        a = row[col["asset"]].strip()
        if not a:
            raise InputError(file, f"line {n}", "asset", "empty asset")
        r = recs.setdefault(a, {"dates": [], "lines": [], "close": [], "volume": [], "high": [], "low": []})
        r["dates"].append(d)
        r["lines"].append(n)
        ds = row[col["date"]]
        r["close"].append(_parse_value(file, n, ds, "close", row[col["close"]].strip(), f"{a} close"))
        for f in ("volume", "high", "low"):
            if f in col:
                raw = row[col[f]].strip()
                r[f].append(np.nan if not raw else _parse_value(file, n, ds, f, raw, f"{a} {f}",
                                                                allow_zero=(f == "volume")))
        all_dates.setdefault(d, n)
    if not recs:
        raise InputError(file, "-", "date", "empty history: no data rows")
    for a, r in recs.items():
        if len(r["dates"]) > 1:  # per asset: strictly increasing, no duplicate day, no gap
            _check_dates(file, r["dates"], r["lines"], column=a)
    dates = np.array(sorted(all_dates), dtype="datetime64[D]")
    gaps = _check_dates(file, list(dates), [all_dates[d] for d in dates])
    assets = tuple(recs)
    pos = {d: k for k, d in enumerate(dates.tolist())}
    mats = {f: np.full((len(dates), len(assets)), np.nan) for f in ("close", "volume", "high", "low")}
    for u, a in enumerate(assets):
        idx = [pos[d] for d in np.array(recs[a]["dates"], dtype="datetime64[D]").tolist()]
        for f in mats:
            if recs[a][f]:
                mats[f][idx, u] = recs[a][f]
    _check_listing(file, mats["close"], dates, [all_dates[d] for d in dates], assets)
    opt = lambda f: mats[f] if f in col else None  # noqa: E731
    return MarketData(dates, assets, mats["close"], opt("volume"), opt("high"), opt("low"), gaps, file)


def _load_ohlcv_dir(path: Path) -> MarketData:
    files = sorted(path.glob("*.csv"))
    if not files:
        raise InputError(str(path), "-", "-", "no <ASSET>.csv files in directory")
    long_rows = [["date", "asset", "close", "volume", "high", "low"]]
    for f in files:
        rows = _read_rows(f)
        header = [h.strip().lower() for h in rows[0]] if rows else []
        if not {"date", "close", "volume"} <= set(header):
            raise InputError(str(f), "line 1", "-", "OHLCV needs columns date, close, volume")
        c = {h: k for k, h in enumerate(header)}
        for n, row in enumerate(rows[1:], start=2):
            if not row:
                continue
            close = _parse_value(str(f), n, row[c["date"]], "close", row[c["close"]], "close")
            vol = _parse_value(str(f), n, row[c["date"]], "volume", row[c["volume"]], "volume", True)
            # Binance volume is in base units; the model wants USD.
            long_rows.append([row[c["date"]], f.stem, row[c["close"]], repr(vol * close),
                              row[c["high"]] if "high" in c else "", row[c["low"]] if "low" in c else ""])
    return _load_long(path, long_rows)


def load_market(path: str | Path, volumes: str | Path | None = None) -> MarketData:
    """Load and validate market data (see the module docstring for formats and checks).

    ``volumes``: optional wide file of USD volumes aligned by date (for a wide close file).
    """
    path = Path(path)
    if path.is_dir():
        md = _load_ohlcv_dir(path)
    else:
        rows = _read_rows(path)
        if not rows:
            raise InputError(str(path), "-", "date", "empty file")
        header = [h.strip().lower() for h in rows[0]]
        if "asset" in header and "close" in header:
            md = _load_long(path, rows)
        else:
            dates, assets, closes, gaps, lines = _parse_wide(path, rows, "close", allow_zero=False)
            _check_listing(str(path), closes, dates, lines, assets)
            md = MarketData(dates, assets, closes, gaps=gaps, source=str(path))
    if volumes is not None:
        md = replace(md, volumes=_align_volumes(md.source, md.dates, md.assets, Path(volumes)))
    return md


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

    The test file must hold the same assets (same order not required) and start
    the day after the fit file's last date, so the joined history is gap-free;
    an asset listed in the fit window must trade on every test day. Volumes and
    high/low are kept only when both files have them. ``source`` is the test
    file (forecast days and realisations come from it).
    """
    missing = [a for a in fit.assets if a not in test.assets]
    extra = [a for a in test.assets if a not in fit.assets]
    if missing or extra:
        col = (missing or extra)[0]
        raise InputError(test.source, "line 1", col,
                         f"fit and test files must hold the same assets ({fit.source}: {', '.join(fit.assets)})")
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


def load_market_ohlcv(path: str | Path, volumes: str | Path | None = None) -> MarketData:
    """Market data for a replay: closes, and high/low/volume where they exist.

    ``path`` is anything :func:`calcm.market.load_market` reads. A close file with no
    high/low picks them up (with USD volumes) from an ``ohlcv/`` directory beside it
    when there is one (``../shared/data/prices/ohlcv``), aligned by date and asset.
    """
    md = load_market(path, volumes)
    side = Path(path).parent / "ohlcv"
    if md.high is not None or not Path(path).is_file() or not side.is_dir():
        return md
    ox = load_market(side)
    pos = {d: k for k, d in enumerate(ox.dates.tolist())}
    rows = np.array([pos.get(d, -1) for d in md.dates.tolist()])
    out = {f: np.full(md.closes.shape, np.nan) for f in ("high", "low", "volumes")}
    for u, a in enumerate(md.assets):
        if a not in ox.assets:
            continue
        j = ox.index(a)
        for f in out:
            src = getattr(ox, f)
            if src is not None:
                out[f][rows >= 0, u] = src[rows[rows >= 0], j]
    vols = md.volumes if md.volumes is not None else out["volumes"]
    return replace(md, high=out["high"], low=out["low"], volumes=vols)

"""The three file formats of daily market data, parsed and validated into arrays.

- **wide closes** (``../shared/data/prices/daily_close.csv``, ``fixtures/market.csv``)::

      date,BTC,ETH,...
      2021-01-01,29374.15,730.97,...

  One row per day, a blank cell before the asset's listing and nowhere else. Its USD
  volumes come from a second wide file (:func:`load_volumes`, ``fixtures/volumes.csv``).
- **long format** with a volume column::

      date,asset,close[,volume][,high][,low]

  ``volume`` is USD (quote) volume.
- **an OHLCV directory** of ``<ASSET>.csv`` files with header
  ``date,open,high,low,close,volume`` (``../shared/data/prices/ohlcv``); there
  ``volume`` is in base units (Binance klines), converted to USD as ``volume * close``.

The record checks are those of :mod:`calcm.market.validate`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError
from .data import MarketData
from .validate import check_dates, check_listing, check_range, parse_date, parse_value, read_rows


def parse_wide(path: Path, rows: list[list[str]], what: str, allow_zero: bool):
    """A wide file's ``(dates (T,), assets (U,), values (T, U) with NaN blanks, gaps, line numbers)``."""
    file = str(path)
    if not rows or not rows[0] or rows[0][0].strip().lower() != "date":
        raise InputError(file, "line 1", "date", "header must start with 'date'")
    assets = tuple(h.strip() for h in rows[0][1:])
    while assets and not assets[-1]:   # a trailing comma (spreadsheet export): dropped if its cells are blank
        assets = assets[:-1]
    width = len(assets) + 1
    if not assets:
        raise InputError(file, "line 1", "-", "no asset columns")
    for a in assets:
        if not a or assets.count(a) > 1:
            raise InputError(file, "line 1", a or "-", "empty or duplicate column name")
    dates, lines, vals = [], [], []
    for n, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) > width and not any(c.strip() for c in row[width:]):
            row = row[:width]
        if len(row) != width:
            raise InputError(file, f"line {n}", "-", f"expected {width} fields, got {len(row)}")
        d = parse_date(file, n, row[0])
        dates.append(d)
        lines.append(n)
        vals.append([np.nan if not c.strip() else parse_value(file, n, row[0], a, c.strip(), what, allow_zero)
                     for a, c in zip(assets, row[1:])])
    gaps = check_dates(file, dates, lines)
    return np.array(dates, dtype="datetime64[D]"), assets, np.array(vals, dtype=float), gaps, lines


def load_volumes(path: str | Path) -> tuple[np.ndarray, tuple[str, ...], np.ndarray]:
    """A wide file of USD volumes: ``(dates, assets, volumes (T, U))``; blanks are NaN."""
    path = Path(path)
    dates, assets, vols, _, _ = parse_wide(path, read_rows(path), "volume", allow_zero=True)
    return dates, assets, vols


def align_volumes(market_file: str, dates, assets, vpath: Path) -> np.ndarray:
    """(T, U) USD volumes of the wide file ``vpath`` on ``dates`` x ``assets`` (NaN where it has none)."""
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


def parse_long(path: Path, rows: list[list[str]]) -> MarketData:
    """A long file (one row per date and asset), each asset's dates checked on their own."""
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
        d = parse_date(file, n, row[col["date"]])
        a = row[col["asset"]].strip()
        if not a:
            raise InputError(file, f"line {n}", "asset", "empty asset")
        r = recs.setdefault(a, {"dates": [], "lines": [], "close": [], "volume": [], "high": [], "low": []})
        r["dates"].append(d)
        r["lines"].append(n)
        ds = row[col["date"]]
        r["close"].append(parse_value(file, n, ds, "close", row[col["close"]].strip(), f"{a} close"))
        for f in ("volume", "high", "low"):
            if f in col:
                raw = row[col[f]].strip()
                r[f].append(np.nan if not raw else parse_value(file, n, ds, f, raw, f"{a} {f}",
                                                                allow_zero=(f == "volume")))
        check_range(file, n, ds, a, *(r[f][-1] if f in col else np.nan for f in ("low", "close", "high")))
        all_dates.setdefault(d, n)
    if not recs:
        raise InputError(file, "-", "date", "empty history: no data rows")
    for a, r in recs.items():
        if len(r["dates"]) > 1:  # per asset: strictly increasing, no duplicate day, no gap
            check_dates(file, r["dates"], r["lines"], column=a)
    dates = np.array(sorted(all_dates), dtype="datetime64[D]")
    gaps = check_dates(file, list(dates), [all_dates[d] for d in dates])
    assets = tuple(recs)
    pos = {d: k for k, d in enumerate(dates.tolist())}
    mats = {f: np.full((len(dates), len(assets)), np.nan) for f in ("close", "volume", "high", "low")}
    for u, a in enumerate(assets):
        idx = [pos[d] for d in np.array(recs[a]["dates"], dtype="datetime64[D]").tolist()]
        for f in mats:
            if recs[a][f]:
                mats[f][idx, u] = recs[a][f]
    check_listing(file, mats["close"], dates, [all_dates[d] for d in dates], assets)
    opt = lambda f: mats[f] if f in col else None  # noqa: E731
    return MarketData(dates, assets, mats["close"], opt("volume"), opt("high"), opt("low"), gaps, file)


def parse_ohlcv_dir(path: Path) -> MarketData:
    """A directory of ``<ASSET>.csv`` OHLCV files, as one long file with USD volumes."""
    files = sorted(path.glob("*.csv"))
    if not files:
        raise InputError(str(path), "-", "-", "no <ASSET>.csv files in directory")
    long_rows = [["date", "asset", "close", "volume", "high", "low"]]
    for f in files:
        rows = read_rows(f)
        header = [h.strip().lower() for h in rows[0]] if rows else []
        if not {"date", "close", "volume"} <= set(header):
            raise InputError(str(f), "line 1", "-", "OHLCV needs columns date, close, volume")
        c = {h: k for k, h in enumerate(header)}
        days, lines = [], []
        for n, row in enumerate(rows[1:], start=2):
            if not row:
                continue
            # The per-file checks here, so that an error names this file and its line (the long
            # rows built below are numbered across every file).
            if len(row) != len(header):
                raise InputError(str(f), f"line {n}", "-", f"expected {len(header)} fields, got {len(row)}")
            ds = row[c["date"]]
            days.append(parse_date(str(f), n, ds))
            lines.append(n)
            close = parse_value(str(f), n, ds, "close", row[c["close"]], "close")
            hl = [parse_value(str(f), n, ds, k, row[c[k]].strip(), k) if k in c and row[c[k]].strip() else np.nan
                  for k in ("low", "high")]
            check_range(str(f), n, ds, f.stem, hl[0], close, hl[1])
            raw = row[c["volume"]].strip()   # blank: no volume that day (NaN, as in the long format)
            vol = parse_value(str(f), n, ds, "volume", raw, "volume", True) if raw else None
            # Binance volume is in base units; the model wants USD.
            long_rows.append([row[c["date"]], f.stem, row[c["close"]], "" if vol is None else repr(vol * close),
                              row[c["high"]] if "high" in c else "", row[c["low"]] if "low" in c else ""])
        if len(days) > 1:
            check_dates(str(f), days, lines)
    return parse_long(path, long_rows)

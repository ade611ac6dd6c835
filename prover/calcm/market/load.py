"""Loading daily market data: any of the formats of :mod:`calcm.market.formats`, validated
(:mod:`calcm.market.validate`), into one :class:`~calcm.market.data.MarketData`."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from ..errors import InputError
from .data import MarketData
from .formats import align_volumes, parse_long, parse_ohlcv_dir, parse_wide
from .validate import check_listing, read_rows


def load_market(path: str | Path, volumes: str | Path | None = None) -> MarketData:
    """Load and validate market data (formats: :mod:`.formats`; checks: :mod:`.validate`).

    ``volumes``: optional wide file of USD volumes aligned by date (for a wide close file).
    """
    path = Path(path)
    if path.is_dir():
        md = parse_ohlcv_dir(path)
    else:
        rows = read_rows(path)
        if not rows:
            raise InputError(str(path), "-", "date", "empty file")
        header = [h.strip().lower() for h in rows[0]]
        if "asset" in header and "close" in header:
            md = parse_long(path, rows)
        else:
            dates, assets, closes, gaps, lines = parse_wide(path, rows, "close", allow_zero=False)
            check_listing(str(path), closes, dates, lines, assets)
            md = MarketData(dates, assets, closes, gaps=gaps, source=str(path))
    if volumes is not None:
        md = replace(md, volumes=align_volumes(md.source, md.dates, md.assets, Path(volumes)))
    return md


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

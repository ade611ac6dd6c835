"""Collateral haircuts of one model publication: the seed's table as the floor, the asset's own ES above it.

The one rule (docs/MODEL.md §6), evaluated once per model publication (at the model date T,
over the published scenario set) for every collateral asset ``j`` of the book:

- ``table_bps_j = round_half_away(table_j * 10^4)``: the book's haircut (default: the seed's
  table, :data:`calcm.risk.book.DEFAULT_HAIRCUTS`);
- ``ES_j = max(0, mean of the k largest of -r[s, u_j])``: the model's ES of one long unit of
  asset ``j`` as a fraction of its price, with ``r`` (S, U) the MPOR scenario returns over the
  FULL scenario set and ``k = ceil((1 - es_level) S)`` (the margin's tail rule, no subset);
- ``es_bps_j = ceil(ES_j * 10^4)`` (a ``1e-9`` bp tolerance so float noise on an exact grid
  value does not add a basis point, as :meth:`~calcm.risk.margin.MarginParams.k_tail`);
- ``bps_j = max(table_bps_j, min(es_bps_j, 9500))``. For every table haircut <= 95% (the
  seed's are <= 30%) this is ``min(max(table, ES), 9500)``; above 95% the table still wins, so
  the rule never credits a collateral more than its table does.

Stablecoins (and USD), collateral assets that are not underlyings of the book, and a model
with ``risk_haircuts`` off keep ``table_bps``. Why: the margin's ES covers positions only;
collateral is credited at ``1 - haircut``, so a 5% BTC haircut leaves a long book funded with
BTC exposed to the whole crash (wrong-way risk; BTC fell 44% intraday on 2020-03-12).
Standalone (no offset against positions) is conservative, as CCP collateral haircuts are.

The integers ``bps`` are THE haircuts of the publication: the float margin model uses
``bps / 10^4`` (:attr:`CollateralHaircuts.fraction`) and the fixed-point twin publishes
``bps`` in its parameters (hashed into the common leaf), so the haircut adds no float vs
fixed error. They come from the float scenario returns, not the fixed-point ``lin``
columns: the haircuts are an input of the fixed-point daily step that produces ``lin``,
and the liquidation regimes re-derive them from each day's float model; a verifier checks
the hashed integers, not their derivation.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..fixedpoint import BPS, RATE, encode
from .margin import top_k

#: Cap on an ES-based haircut, bps (a haircut stays below 10^4 bps).
MAX_HAIRCUT_BPS = 9500
#: Where a haircut came from: the table (floor or stablecoin), the ES, or the ES capped.
SOURCES = ("table", "es", "cap")


@dataclass(frozen=True)
class CollateralHaircuts:
    """Per collateral asset (m,), book order: the published ``bps`` (int, < 10^4), the book's
    ``table_bps``, ``es_bps`` (``None`` where the ES does not apply) and ``source`` (:data:`SOURCES`)."""

    assets: tuple[str, ...]
    bps: tuple[int, ...]
    table_bps: tuple[int, ...]
    es_bps: tuple[int | None, ...]
    source: tuple[str, ...]

    @property
    def fraction(self) -> np.ndarray:
        """(m,) the haircuts as fractions, ``bps / 10^4`` exactly as the fixed twin reads them."""
        return np.array(self.bps, float) / BPS

    def to_json(self) -> dict:
        return {a: {"haircut_bps": b, "haircut": b / BPS, "source": s, "table_bps": t, "es_bps": e}
                for a, b, t, e, s in zip(self.assets, self.bps, self.table_bps, self.es_bps, self.source)}


def es_bps(returns: np.ndarray, k: int) -> int:
    """``ceil(ES * 10^4)`` of one long unit whose MPOR scenario returns are ``returns`` (S,)."""
    loss = -np.asarray(returns, float)[None, :]
    es = max(0.0, float(loss[0, top_k(loss, k)[0]].mean()))     # the margin's own tail selection
    return max(0, math.ceil(es * BPS - 1e-9))


def collateral_haircuts(book, underlyings, returns: np.ndarray, k: int, risk: bool = True) -> CollateralHaircuts:
    """The haircuts of ``book``'s collateral (see the module docstring).

    underlyings (U,) names the columns of ``returns`` (S, U), the full set of MPOR scenario
    returns; ``k`` the ES tail size; ``risk``: apply the ES rule (else the table for all).
    """
    und = list(underlyings)
    bps, table, es, src = [], [], [], []
    for c in book.collateral:
        t = encode(c.haircut, BPS, RATE, f"collateral {c.asset} haircut")
        e = es_bps(np.asarray(returns)[:, und.index(c.asset)], k) \
            if risk and not c.is_stable and c.asset in und else None
        h = t if e is None else max(t, min(e, MAX_HAIRCUT_BPS))
        table.append(t)
        es.append(e)
        bps.append(h)
        src.append("table" if h == t else "cap" if e > MAX_HAIRCUT_BPS else "es")
    return CollateralHaircuts(tuple(c.asset for c in book.collateral), tuple(bps), tuple(table), tuple(es),
                              tuple(src))


def haircuts_for(rm, book, risk: bool) -> np.ndarray:
    """(m,) haircut fractions of ``book``'s collateral under the publication ``rm`` (a
    :class:`~calcm.risk.model.RiskModel` whose underlyings cover the book's collateral): the rule
    above (``risk``) or the table for every asset, whatever ``rm.params.risk_haircuts`` says."""
    return collateral_haircuts(book, rm.underlyings, rm.returns, rm.margin_model.k_tail, risk).fraction

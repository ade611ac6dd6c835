"""Perp basis and funding shocks: the adverse perp-vs-index charge of every scenario.

A perp is not "spot with mark 0": over the MPOR of ``h`` days its price can also move
against the index (the *basis*) and the holder can pay *funding* for ``h`` days. Both
are model parameters per underlying ``u`` (integer bps, data not code)::

    perp_shock_bps[u] = basis_bps[u] + h * funding_bps_per_day[u]        (published, < BPS)

and in EVERY scenario the account's net perp quantity ``pq_u = sum_{perp i on u} q[i]``
loses ``perp_shock_bps[u] / 10**4 * S_u * |pq_u|`` (``S_u`` the index price, USD), in
the direction that hurts it (a long perp loses when the basis falls or it pays funding,
a short when the basis rises or it pays). Spot legs carry no basis, so a cash-and-carry
book (long spot, short perp) no longer nets to zero margin. The charge
``c = sum_u perp_shock_bps[u] S_u |pq_u| / 10**4`` is the same in every scenario: the
tail set is unchanged and ES rises by exactly ``c`` (SPAN's intra-commodity spread charge
written as a scenario term). The float model carries it as
:attr:`calcm.risk.margin.MarginModel.perp_charge`; the fixed-point twin as
``MarginModelFx.perp_move``, ``ceil(price perp_shock_bps / BPS)`` (the model circuit proves it).

Defaults (``"*"`` is every asset without an entry of its own; bps, bps/day; h = 2 gives
``perp_shock_bps`` BTC 726, ETH 950, others 1700):

==========  =========  ===================  ==================================================
asset       basis_bps  funding_bps_per_day  source
==========  =========  ===================  ==================================================
BTC         500        113                  funding: BitMEX XBTUSD cap, 0.375% per 8 h
                                            (+/-1.125%/day, BitMEX blog "Important changes to
                                            Bitcoin / USD Swap funding"; 112.5 rounded up);
                                            OKX BTC clamp +/-0.375%/8 h
ETH         500        225                  funding: OKX clamp +/-0.75%/8 h (ETH tier)
``"*"``     800        450                  funding: OKX "other currencies" +/-1.50%/8 h
==========  =========  ===================  ==================================================

Funding is the venue cap binding for the whole MPOR (OKX support, "Introduction to perpetual
swap funding fee"). Basis is the venue's hard price band around the index: OKX perpetual
price limits, index x (1 +/- 5%) for tier-1 assets (BTC, ETH, ...) and 8% for the others
(OKX "Price limit rules", help-center article 6974388462605; Huobi's BTC band is 6%). Episodes
checked against: 12-13 March 2020, BitMEX XBTUSD ~10% below spot during an outage (CryptoSlate,
LedgerPrime), a transient single-venue gap beyond the band; Aug 2023 Deribit BTC perp ~8% below
spot. Caps are not absolute (BitMEX may shorten the interval to 2 h; Binance allows +/-3% per
interval for small contracts): every value is a per-asset parameter (``ModelParams.perp_shocks``).
The rule and its sources: docs/MODEL.md, "Perps: basis and funding".
"""
from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral

import numpy as np

from ..fixedpoint import BPS

#: The key of the entry that applies to every asset without an entry of its own.
DEFAULT_KEY = "*"

DEFAULT_BASIS_BPS = (("*", 800), ("BTC", 500), ("ETH", 500))
DEFAULT_FUNDING_BPS_PER_DAY = (("*", 450), ("BTC", 113), ("ETH", 225))

_FIELDS = ("basis_bps", "funding_bps_per_day")


def _table(name: str, value) -> tuple[tuple[str, int], ...]:
    """A per-asset table as sorted ``(asset, bps)`` pairs with a ``"*"`` entry; ValueError if bad."""
    items = list(value.items()) if isinstance(value, dict) else list(value)
    out = {}
    for item in items:
        if not (isinstance(item, (tuple, list)) and len(item) == 2):
            raise ValueError(f"perp_shocks.{name}: entries must be (asset, bps) pairs, got {item!r}")
        asset, bps = item
        if not isinstance(asset, str) or not asset:
            raise ValueError(f"perp_shocks.{name}: asset must be a non-empty string, got {asset!r}")
        if isinstance(bps, bool) or not isinstance(bps, Integral) or bps < 0:
            raise ValueError(f"perp_shocks.{name}[{asset}] must be an integer >= 0 (bps), got {bps!r}")
        if asset in out:
            raise ValueError(f"perp_shocks.{name}: asset {asset!r} listed twice")
        out[asset] = int(bps)
    if DEFAULT_KEY not in out:
        raise ValueError(f"perp_shocks.{name} needs a {DEFAULT_KEY!r} entry (every other asset)")
    return tuple(sorted(out.items()))


@dataclass(frozen=True)
class PerpShocks:
    """Per-asset perp basis and funding shocks (integer bps; see the module docstring).

    basis_bps:            ``((asset, bps), ...)``: adverse basis move over the MPOR, bps of
                          the index price; ``"*"`` is the default entry.
    funding_bps_per_day:  ``((asset, bps), ...)``: adverse funding rate, bps of notional per
                          day; ``"*"`` is the default entry.

    Both tables are stored sorted by asset (hashable, canonical; a dict is accepted and
    converted). Invariant: every value is an int >= 0 and each table has a ``"*"`` entry.
    """

    basis_bps: tuple[tuple[str, int], ...] = DEFAULT_BASIS_BPS
    funding_bps_per_day: tuple[tuple[str, int], ...] = DEFAULT_FUNDING_BPS_PER_DAY

    def __post_init__(self):
        for name in _FIELDS:
            object.__setattr__(self, name, _table(name, getattr(self, name)))

    @staticmethod
    def _lookup(table, asset: str) -> int:
        d = dict(table)
        return d.get(asset, d[DEFAULT_KEY])

    def basis(self, asset: str) -> int:
        """Adverse basis move of ``asset`` (bps of the index price)."""
        return self._lookup(self.basis_bps, asset)

    def funding(self, asset: str) -> int:
        """Adverse funding rate of ``asset`` (bps of notional per day)."""
        return self._lookup(self.funding_bps_per_day, asset)

    def rate_bps(self, asset: str, mpor_days: int) -> int:
        """``basis + mpor_days * funding`` (int bps) of ``asset``: its published ``perp_shock_bps``.

        Raises ValueError unless ``0 <= rate < BPS`` (a perp cannot lose its whole index price
        against spot; this also keeps the proven move ``ceil(price rate / BPS)`` below the price,
        inside PRICE) and ``mpor_days`` is an int >= 1.
        """
        if isinstance(mpor_days, bool) or not isinstance(mpor_days, Integral) or mpor_days < 1:
            raise ValueError(f"mpor_days must be an integer >= 1, got {mpor_days!r}")
        r = self.basis(asset) + int(mpor_days) * self.funding(asset)
        if r >= BPS:
            raise ValueError(f"perp shock of {asset} over {mpor_days} days is {r} bps: "
                             f"not below {BPS} (100% of the index price)")
        return r

    def rates_bps(self, assets, mpor_days: int) -> tuple[int, ...]:
        """(U,) :meth:`rate_bps` of each asset."""
        return tuple(self.rate_bps(a, mpor_days) for a in assets)

    def check(self, mpor_days: int) -> None:
        """ValueError unless every listed asset (and the default) has a rate below BPS (:meth:`rate_bps`)."""
        for a in {a for name in _FIELDS for a, _ in getattr(self, name)}:
            self.rate_bps(a, mpor_days)

    def to_json(self) -> dict:
        """``{"basis_bps": {asset: bps}, "funding_bps_per_day": {asset: bps}}``."""
        return {name: dict(getattr(self, name)) for name in _FIELDS}

    @classmethod
    def from_json(cls, d: dict) -> "PerpShocks":
        """Inverse of :meth:`to_json`; a missing table takes its default; unknown keys: ValueError."""
        if not isinstance(d, dict):
            raise ValueError(f"perp_shocks must be an object, got {type(d).__name__}")
        extra = set(d) - set(_FIELDS)
        if extra:
            raise ValueError(f"perp_shocks: unknown keys {sorted(extra)} (expected {', '.join(_FIELDS)})")
        return cls(**{k: d[k] for k in _FIELDS if k in d})


def perp_charge_matrix(kind, underlying_index, price, shock_bps) -> np.ndarray:
    """(U, n) USD per unit: ``price[u] * shock_bps[u] / 1e4`` for a perp on ``u``, else 0.

    ``kind`` (n,) instrument kinds: code 1 (:class:`calcm.risk.instruments.InstrumentTable`,
    ``fixed_margin.KINDS``) or the name ``"perp"`` (books, ``InstrumentFx``) marks a perp;
    ``underlying_index`` (n,), ``price`` (U,) USD index prices, ``shock_bps`` (U,) int bps.
    """
    under = np.asarray(underlying_index, int)
    price, bps = np.asarray(price, float), np.asarray(shock_bps, float)
    out = np.zeros((len(price), len(under)))
    perp = np.flatnonzero([(k == "perp") if isinstance(k, str) else (k == 1) for k in kind])
    out[under[perp], perp] = price[under[perp]] * bps[under[perp]] / 1e4
    return out


def perp_loss(perp_charge: np.ndarray | None, q: np.ndarray) -> np.ndarray:
    """(A,) USD >= 0: ``sum_u |sum_i q[i] perp_charge[u, i]|`` for positions q (A, n).

    With :func:`perp_charge_matrix` this is ``sum_u |pq_u| S_u perp_shock_bps[u] / 1e4``
    (``pq_u`` the net perp quantity on ``u``): the same in every scenario; zeros when
    ``perp_charge`` is None.
    """
    q = np.atleast_2d(q)
    if perp_charge is None:
        return np.zeros(len(q))
    return np.abs(q @ perp_charge.T).sum(axis=1)


def perp_contributions(perp_charge: np.ndarray | None, q: np.ndarray) -> np.ndarray:
    """(A, n) USD: ``q[i] * sum_u sign(x_u) perp_charge[u, i]``, ``x_u = sum_j q[j] perp_charge[u, j]``
    (``sign(x_u) = sign(pq_u)``); rows sum to :func:`perp_loss`.

    The Euler allocation of the charge (it is homogeneous of degree 1 in ``q``): a perp
    adds its signed share of its underlying's ``|pq_u|``; spot and options add 0.
    """
    q = np.atleast_2d(q)
    if perp_charge is None:
        return np.zeros(q.shape)
    return q * (np.sign(q @ perp_charge.T) @ perp_charge)

"""The book: instruments, collateral assets and accounts (the risk stage's portfolio input).

A book file is JSON::

    {
      "instruments": [
        {"id": "BTC-PERP", "kind": "perp", "underlying": "BTC"},
        {"id": "ETH", "kind": "spot", "underlying": "ETH"},
        {"id": "ETH-C-3000-30D", "kind": "option", "underlying": "ETH",
         "option_type": "call", "strike": 3000, "expiry_days": 30, "implied_vol": 0.7}
      ],
      "collateral": [
        {"asset": "USDC", "haircut": 0.01},
        {"asset": "BTC", "haircut": 0.05}
      ],
      "accounts": [
        {"id": "alice", "salt": "0x1234...",
         "positions": {"BTC-PERP": -1.5, "ETH": 20},
         "collateral": {"USDC": 50000, "BTC": 0.5}}
      ]
    }

Units: positions are signed quantities of the underlying (1.0 = one BTC of
exposure; an option on 1.0 unit); collateral amounts are token units (>= 0).
``implied_vol`` is annualised; ``expiry_days`` in calendar days. A stablecoin
collateral asset is priced at 1 USD; any other collateral asset is priced at its
market close (so it must be an asset of the market data).
"""
from __future__ import annotations

import math
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ..errors import InputError, read_json_file

InstrumentKind = Literal["spot", "perp", "option"]
KINDS: tuple[str, ...] = ("spot", "perp", "option")
STABLECOINS = frozenset({"USD", "USDC", "USDT", "DAI"})

#: Default collateral haircuts (fraction of value), after the seed table:
#: stablecoins 1%, BTC 5%, majors 10%, small caps 30%.
DEFAULT_HAIRCUTS = {"USDC": 0.01, "USDT": 0.01, "DAI": 0.01, "USD": 0.0,
                    "BTC": 0.05, "ETH": 0.10}
SMALL_CAP_HAIRCUT = 0.30

#: Liquidity weights ``w`` of the one impact law (:mod:`.liquidity`): fractional impact
#: ``w x / ADV``, add-on ``w X^2 / ADV``. ``liquidity.sqrt_law_weight(sigma_d)`` at the class's
#: stressed daily vol (BTC/ETH 6.1%, others 8.85%), rounded to 0.01 (see ``docs/MODEL.md``).
DEFAULT_LIQUIDITY_WEIGHTS = {"BTC": 0.27, "ETH": 0.27}
SMALL_CAP_LIQUIDITY_WEIGHT = 0.40


@dataclass(frozen=True)
class Instrument:
    """One tradable instrument on one underlying asset."""

    id: str
    kind: InstrumentKind
    underlying: str
    option_type: Literal["call", "put"] | None = None
    strike: float | None = None          # USD
    expiry_days: float | None = None     # calendar days to expiry
    implied_vol: float | None = None     # annualised, e.g. 0.7

    @property
    def is_option(self) -> bool:
        return self.kind == "option"


@dataclass(frozen=True)
class CollateralAsset:
    """A collateral token and its haircut (fraction of market value not credited)."""

    asset: str
    haircut: float

    @property
    def is_stable(self) -> bool:
        return self.asset in STABLECOINS


@dataclass(frozen=True)
class Account:
    """One account: signed positions per instrument id and collateral per asset.

    ``salt`` is the secret that blinds the account's on-chain commitment; the
    venue and its keepers know it, the public never does.
    """

    id: str
    positions: dict[str, float]
    collateral: dict[str, float]
    salt: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Book:
    """Instruments, collateral assets and accounts, validated against each other."""

    instruments: tuple[Instrument, ...]
    collateral: tuple[CollateralAsset, ...]
    accounts: tuple[Account, ...]
    source: str = "<memory>"

    @property
    def instrument_ids(self) -> tuple[str, ...]:
        return tuple(i.id for i in self.instruments)

    @property
    def underlyings(self) -> tuple[str, ...]:
        """Underlyings in first-appearance order (the add-on's axis)."""
        seen: dict[str, None] = {}
        for i in self.instruments:
            seen.setdefault(i.underlying, None)
        return tuple(seen)

    @property
    def collateral_assets(self) -> tuple[str, ...]:
        return tuple(c.asset for c in self.collateral)

    def quantities(self):
        """Position matrix ``Q`` of shape ``(accounts, instruments)`` (float units)."""
        return self._matrix(self.instrument_ids, lambda acc: acc.positions)

    def collateral_amounts(self):
        """Collateral matrix ``C`` of shape ``(accounts, collateral assets)`` (token units)."""
        return self._matrix(self.collateral_assets, lambda acc: acc.collateral)

    def _matrix(self, columns: tuple[str, ...], entries):
        """(accounts, len(columns)) float matrix of each account's ``entries(acc)`` {column: amount}."""
        import numpy as np

        idx = {name: j for j, name in enumerate(columns)}
        out = np.zeros((len(self.accounts), len(columns)))
        for a, acc in enumerate(self.accounts):
            for name, amount in entries(acc).items():
                out[a, idx[name]] = amount
        return out


def default_haircut(asset: str) -> float:
    return DEFAULT_HAIRCUTS.get(asset, SMALL_CAP_HAIRCUT)


def default_liquidity_weight(asset: str) -> float:
    return DEFAULT_LIQUIDITY_WEIGHTS.get(asset, SMALL_CAP_LIQUIDITY_WEIGHT)


#: The fields of an account record; any other key (``positons``) is a typo, not a default.
ACCOUNT_KEYS = frozenset({"id", "salt", "positions", "collateral"})


#: No quantity or amount reaches this (1e15 units): a larger one is a typo, not a book. The
#: proven fixed-point range is narrower and is checked where the book is encoded (fixedpoint.QTY).
MAX_QUANTITY = 1e15


def _bounded(file: str, record: str, fld: str, x: float) -> float:
    if abs(x) >= MAX_QUANTITY:
        raise InputError(file, record, fld, f"{x:g} is out of range (|x| < {MAX_QUANTITY:g})")
    return x


def _finite(file: str, record: str, fld: str, v, *, positive=False, nonneg=False) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise InputError(file, record, fld, f"expected a number, got {v!r}")
    x = float(v)
    if not math.isfinite(x):
        raise InputError(file, record, fld, f"not a finite number: {v!r}")
    if positive and x <= 0:
        raise InputError(file, record, fld, f"must be > 0, got {v!r}")
    if nonneg and x < 0:
        raise InputError(file, record, fld, f"must be >= 0, got {v!r}")
    return x


def _parse_instrument(file: str, n: int, raw: dict) -> Instrument:
    rec = f"instrument #{n}"
    if not isinstance(raw, dict):
        raise InputError(file, rec, "-", "expected an object")
    iid = raw.get("id")
    if not isinstance(iid, str) or not iid:
        raise InputError(file, rec, "id", "missing or empty")
    rec = f"instrument '{iid}'"
    kind = raw.get("kind")
    if kind not in KINDS:
        raise InputError(file, rec, "kind", f"must be one of {', '.join(KINDS)}, got {kind!r}")
    und = raw.get("underlying")
    if not isinstance(und, str) or not und:
        raise InputError(file, rec, "underlying", "missing or empty")
    if kind != "option":
        return Instrument(iid, kind, und)
    ot = raw.get("option_type")
    if ot not in ("call", "put"):
        raise InputError(file, rec, "option_type", f"must be call or put, got {ot!r}")
    strike = _finite(file, rec, "strike", raw.get("strike"), positive=True)
    expiry = _finite(file, rec, "expiry_days", raw.get("expiry_days"), positive=True)
    iv = _finite(file, rec, "implied_vol", raw.get("implied_vol", 0.8), positive=True)
    return Instrument(iid, "option", und, ot, strike, expiry, iv)


def _parse_salt(file: str, rec: str, raw) -> int:
    if raw is None:
        return secrets.randbits(248)
    try:
        s = int(raw, 0) if isinstance(raw, str) else int(raw)
    except (TypeError, ValueError):
        raise InputError(file, rec, "salt", f"not an integer: {raw!r}") from None
    if not (0 <= s < 2**248):
        raise InputError(file, rec, "salt", "must be in [0, 2**248)")
    return s


def parse_book(obj: dict, source: str = "<memory>") -> Book:
    """Validate a decoded book; raises :class:`InputError` naming file, record and field."""
    file = source
    if not isinstance(obj, dict):
        raise InputError(file, "-", "-", "top level must be an object")
    for key in ("instruments", "collateral", "accounts"):
        if not isinstance(obj.get(key), list):
            raise InputError(file, "-", key, "missing or not a list")
    instruments = tuple(_parse_instrument(file, n, r) for n, r in enumerate(obj["instruments"]))
    ids = [i.id for i in instruments]
    for iid in ids:
        if ids.count(iid) > 1:
            raise InputError(file, f"instrument '{iid}'", "id", "duplicate instrument id")
    if not instruments:
        raise InputError(file, "-", "instruments", "empty")

    collateral = []
    for n, raw in enumerate(obj["collateral"]):
        rec = f"collateral #{n}"
        asset = raw.get("asset") if isinstance(raw, dict) else None
        if not isinstance(asset, str) or not asset:
            raise InputError(file, rec, "asset", "missing or empty")
        rec = f"collateral '{asset}'"
        hc = _finite(file, rec, "haircut", raw.get("haircut", default_haircut(asset)), nonneg=True)
        if hc >= 1:
            raise InputError(file, rec, "haircut", f"must be < 1, got {hc}")
        if any(c.asset == asset for c in collateral):
            raise InputError(file, rec, "asset", "duplicate collateral asset")
        collateral.append(CollateralAsset(asset, hc))
    assets = {c.asset for c in collateral}

    accounts = []
    seen: set[str] = set()
    for n, raw in enumerate(obj["accounts"]):
        rec = f"account #{n}"
        if not isinstance(raw, dict):
            raise InputError(file, rec, "-", "expected an object")
        aid = raw.get("id")
        if not isinstance(aid, str) or not aid:
            raise InputError(file, rec, "id", "missing or empty")
        rec = f"account '{aid}'"
        if aid in seen:
            raise InputError(file, rec, "id", "duplicate account id")
        seen.add(aid)
        unknown = sorted(set(raw) - ACCOUNT_KEYS)
        if unknown:
            raise InputError(file, rec, unknown[0], f"unknown field (an account has {', '.join(sorted(ACCOUNT_KEYS))})")
        if "positions" not in raw:
            raise InputError(file, rec, "positions", "missing (an account without positions has \"positions\": {})")
        pos_raw = raw["positions"]
        col_raw = raw.get("collateral", {})
        if not isinstance(pos_raw, dict):
            raise InputError(file, rec, "positions", "must be an object")
        if not isinstance(col_raw, dict):
            raise InputError(file, rec, "collateral", "must be an object")
        positions = {}
        for iid, q in pos_raw.items():
            if iid not in ids:
                raise InputError(file, rec, f"positions.{iid}", "unknown instrument")
            positions[iid] = _bounded(file, rec, f"positions.{iid}", _finite(file, rec, f"positions.{iid}", q))
        coll = {}
        for asset, c in col_raw.items():
            if asset not in assets:
                raise InputError(file, rec, f"collateral.{asset}", "unknown collateral asset")
            coll[asset] = _bounded(file, rec, f"collateral.{asset}",
                                   _finite(file, rec, f"collateral.{asset}", c, nonneg=True))
        accounts.append(Account(aid, positions, coll, _parse_salt(file, rec, raw.get("salt"))))
    return Book(instruments, tuple(collateral), tuple(accounts), source=file)


def load_book(path: str | Path) -> Book:
    """Load and validate a book file (see the module docstring for the format)."""
    path = Path(path)
    obj = read_json_file(path)
    return parse_book(obj, source=str(path))


def book_to_json(book: Book) -> dict:
    """The inverse of :func:`parse_book` (salts as hex strings)."""
    def inst(i: Instrument) -> dict:
        d = {"id": i.id, "kind": i.kind, "underlying": i.underlying}
        if i.is_option:
            d.update(option_type=i.option_type, strike=i.strike,
                     expiry_days=i.expiry_days, implied_vol=i.implied_vol)
        return d

    return {
        "instruments": [inst(i) for i in book.instruments],
        "collateral": [{"asset": c.asset, "haircut": c.haircut} for c in book.collateral],
        "accounts": [{"id": a.id, "salt": hex(a.salt), "positions": dict(a.positions),
                      "collateral": dict(a.collateral)} for a in book.accounts],
    }

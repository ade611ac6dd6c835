"""Hypothetical trades and collateral moves: parsing ``INSTRUMENT:+2`` / ``ASSET:1000`` and applying them.

Public functions::

    parse_trade(spec: str, book: Book, flag: str = "--trade") -> Trade
    parse_cash(spec: str, book: Book, flag: str = "--deposit") -> CashMove     (withdrawals: sign -1)
    apply(account: Account, trades=(), cash=(), source="--trade") -> Account

A trade's size is a signed quantity of the instrument (the book's unit: 1.0 = one unit of
the underlying); it adds to the position. A cash move's amount is > 0 token units; a
withdrawal subtracts and may not take the balance below 0. Every bad spec is a one-line
:class:`~calcm.errors.InputError` naming the option (the "field"): unknown instrument or
asset, malformed or non-finite number, zero size, an instrument or asset given twice.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ..errors import InputError
from ..risk.book import Account, Book


@dataclass(frozen=True)
class Trade:
    instrument: str
    size: float           # signed units

    def to_json(self) -> dict:
        return {"instrument": self.instrument, "size": self.size}


@dataclass(frozen=True)
class CashMove:
    asset: str
    amount: float         # signed token units: + deposit, - withdrawal

    def to_json(self) -> dict:
        return {"asset": self.asset, "amount": self.amount}


def _split(spec: str, flag: str, what: str) -> tuple[str, float]:
    if not isinstance(spec, str) or spec.count(":") != 1:
        raise InputError(flag, repr(spec), "-", f"expected {what}:AMOUNT, e.g. BTC-PERP:+2")
    key, num = (s.strip() for s in spec.split(":"))
    if not key:
        raise InputError(flag, repr(spec), what.lower(), "missing")
    try:
        x = float(num)
    except ValueError:
        raise InputError(flag, repr(spec), "amount", f"{num!r} is not a number") from None
    if not math.isfinite(x):
        raise InputError(flag, repr(spec), "amount", f"{num!r} is not a finite number")
    if x == 0:
        raise InputError(flag, repr(spec), "amount", "must be non-zero")
    return key, x


def parse_trade(spec: str, book: Book, flag: str = "--trade") -> Trade:
    iid, x = _split(spec, flag, "INSTRUMENT")
    if iid not in book.instrument_ids:
        raise InputError(flag, repr(spec), "instrument",
                         f"unknown instrument {iid!r} (the book lists {', '.join(book.instrument_ids)})")
    return Trade(iid, x)


def parse_cash(spec: str, book: Book, flag: str = "--deposit") -> CashMove:
    asset, x = _split(spec, flag, "ASSET")
    if asset not in book.collateral_assets:
        raise InputError(flag, repr(spec), "asset", f"unknown collateral asset {asset!r} "
                         f"(the book lists {', '.join(book.collateral_assets)})")
    if x < 0:
        raise InputError(flag, repr(spec), "amount", "must be > 0 (use --deposit or --withdraw)")
    return CashMove(asset, -x if flag == "--withdraw" else x)


def check_unique(trades, cash) -> None:
    seen = set()
    for t in trades:
        if t.instrument in seen:
            raise InputError("--trade", repr(t.instrument), "instrument", "given twice (give one net size)")
        seen.add(t.instrument)
    seen = set()
    for c in cash:
        if c.asset in seen:
            raise InputError("--deposit/--withdraw", repr(c.asset), "asset",
                             "given twice (give one net amount)")
        seen.add(c.asset)


def apply(account: Account, trades=(), cash=()) -> Account:
    """``account`` with ``trades`` added to its positions and ``cash`` to its collateral."""
    pos, col = dict(account.positions), dict(account.collateral)
    for t in trades:
        pos[t.instrument] = pos.get(t.instrument, 0.0) + t.size
    for c in cash:
        new = col.get(c.asset, 0.0) + c.amount
        if new < 0:
            raise InputError("--withdraw", f"account '{account.id}'", f"collateral.{c.asset}",
                             f"withdrawing {-c.amount:g} exceeds the balance {col.get(c.asset, 0.0):g}")
        col[c.asset] = new
    return replace(account, positions=pos, collateral=col)

"""Fitting a book and its risk model to a circuit's fixed shape (the documented mapping).

A circuit has fixed ``n`` instruments, ``m`` collateral assets, ``U`` underlyings,
``S`` scenarios and tail size ``k``; a real book has more (the bundled fixture:
13 instruments, 5 collateral assets, 5 underlyings, ~530 scenarios). To prove
a book with a small circuit, calcm proves a **sub-book** with a **shape-fitted
model**, never a silently truncated portfolio:

1. Sub-book: the chosen instruments (default: the book's first ``n``) and
   collateral assets (default: the first ``m``). Their underlyings must number
   exactly ``U``.
2. Accounts: only accounts whose positions and collateral all lie in the
   sub-book are proven; every other account is listed as skipped with the
   reason (dropping part of a portfolio would misstate its risk).
3. Model: the regular risk model (:func:`calcm.risk.model.build_margin_model`)
   on the sub-book, with the scenario set sized to ``S``: the fixed stress
   scenarios (crash, rally, ``U(U-1)`` pair breakdowns, vol spike, vol crush),
   then up to the default number of worst/best historical days, then filtered
   historical days; and ``es_level = 1 - k/S`` so the tail has ``k`` scenarios.
   The result is quantised with :meth:`MarginModelFx.from_float`.

For the bundled fixture and the ``small`` config (n=4, m=2, U=2, S=8, k=2), this
is BTC, ETH, BTC-PERP, ETH-PERP with USDC and USDT collateral, the 8 stress and
extreme-day scenarios, and ES at 75% (the mean of the 2 worst of 8).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from ..errors import InputError
from ..risk.book import Book
from ..risk.fixed_margin import AccountFx, MarginModelFx, encode_book_accounts
from .config import CircuitConfig


@dataclass(frozen=True)
class CircuitBook:
    """A sub-book fitted to a circuit, its fixed-point model and accounts."""

    book: Book
    model: MarginModelFx
    accounts: tuple[AccountFx, ...]
    names: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]      # (account id, reason)
    scenario_params: dict
    es_level: float

    def summary(self) -> dict:
        return {"instruments": list(self.book.instrument_ids),
                "collateral": list(self.book.collateral_assets),
                "underlyings": list(self.book.underlyings),
                "scenarios": self.model.n_scenarios, "k_tail": self.model.k_tail,
                "es_level": self.es_level, "scenario_params": self.scenario_params,
                "proven_accounts": list(self.names),
                "skipped_accounts": [{"id": a, "reason": r} for a, r in self.skipped]}


def _pick(book_ids: Sequence[str], chosen: Sequence[str] | None, count: int, what: str, source: str):
    ids = list(chosen) if chosen else list(book_ids[:count])
    for i in ids:
        if i not in book_ids:
            raise InputError(source, "-", what, f"{i!r} is not in the book")
    if len(ids) != count or len(set(ids)) != count:
        raise InputError(source, "-", what, f"the circuit takes exactly {count} distinct {what}, got {ids}")
    return ids


def sub_book(book: Book, config: CircuitConfig, instruments: Sequence[str] | None = None,
             collateral: Sequence[str] | None = None) -> tuple[Book, list[tuple[str, str]]]:
    """The sub-book of ``config``'s shape and the accounts it cannot hold (with reasons)."""
    ins_ids = _pick(book.instrument_ids, instruments, config.n, "instruments", book.source)
    col_ids = _pick(book.collateral_assets, collateral, config.m, "collateral", book.source)
    ins = tuple(i for i in book.instruments if i.id in ins_ids)
    col = tuple(c for c in book.collateral if c.asset in col_ids)
    kept, skipped = [], []
    for acc in book.accounts:
        extra = [i for i, q in acc.positions.items() if q != 0 and i not in ins_ids]
        extra += [c for c, v in acc.collateral.items() if v != 0 and c not in col_ids]
        if extra:
            skipped.append((acc.id, "holds " + ", ".join(extra) + " (outside the circuit's sub-book)"))
            continue
        kept.append(replace(acc, positions={i: q for i, q in acc.positions.items() if i in ins_ids},
                            collateral={c: v for c, v in acc.collateral.items() if c in col_ids}))
    sub = Book(ins, col, tuple(kept), source=book.source)
    if len(sub.underlyings) != config.U:
        raise InputError(book.source, "-", "instruments",
                         f"the sub-book {ins_ids} has {len(sub.underlyings)} underlyings "
                         f"{list(sub.underlyings)}; circuit {config.name!r} needs {config.U}")
    return sub, skipped


def fitted_scenario_counts(config: CircuitConfig, default_extreme: int) -> tuple[int, int]:
    """``(n_fhs, n_extreme)`` giving exactly ``S`` scenarios on ``U`` underlyings."""
    fixed = 2 + config.U * (config.U - 1) + 2      # crash, rally, breakdowns, vol spike/crush
    rest = config.S - fixed
    if rest < 0:
        raise ValueError(f"S={config.S} is below the {fixed} stress scenarios of U={config.U}")
    n_extreme = min(default_extreme, rest // 2)
    return rest - 2 * n_extreme, n_extreme


def circuit_book(market, book: Book, config: CircuitConfig, instruments: Sequence[str] | None = None,
                 collateral: Sequence[str] | None = None, params=None) -> CircuitBook:
    """Fit ``book`` on ``market`` to ``config`` (see the module docstring)."""
    from ..risk.model import ModelParams, build_margin_model

    sub, skipped = sub_book(book, config, instruments, collateral)
    base = params or ModelParams()
    n_fhs, n_extreme = fitted_scenario_counts(config, base.scenarios.n_extreme)
    es_level = 1 - config.k / config.S
    p = replace(base, es_level=es_level,
                scenarios=replace(base.scenarios, n_fhs=n_fhs, n_extreme=n_extreme))
    fmodel = build_margin_model(market, sub, p)
    model = MarginModelFx.from_float(fmodel)
    if (model.n_scenarios, model.k_tail) != (config.S, config.k):
        raise ValueError(f"fitted model has S={model.n_scenarios}, k={model.k_tail}; "
                         f"circuit needs S={config.S}, k={config.k}")
    accounts = tuple(encode_book_accounts(sub))
    return CircuitBook(sub, model, accounts, tuple(a.id for a in sub.accounts), tuple(skipped),
                       {"n_fhs": n_fhs, "n_extreme": n_extreme}, es_level)

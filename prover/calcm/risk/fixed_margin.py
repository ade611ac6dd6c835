"""The exact fixed-point margin model: what the margin circuit proves, bit for bit.

Same formulas as :mod:`calcm.risk.margin`, on integers (scales, rounding and
ranges from :mod:`calcm.fixedpoint`):

- ``L[s]  = -sum_i q[i] * pnl[s][i]``                                  money
- tail    = the k largest ``L`` (ties broken by lower scenario index);
  ``threshold`` = the smallest tail loss; ``tail_bits[s]`` = 1 in the tail
- ``es_raw = ceil(sum_tail L / k)``, ``es = max(es_raw, 0)``            money, rounds up
- ``X[u]  = sum_i q[i] * exposure[u][i]``                               money
- ``addon[u] = ceil(w_bps[u] * X[u]**2 / (adv[u] * BPS * MONEY_SCALE))`` money, rounds up
- ``mm = es + sum_u addon[u]``
- ``im = ceil(mm * (BPS + im_buffer_bps) / BPS)``                       rounds up
- ``cv = floor(sum_j c[j] * cprice[j] * (BPS - haircut_bps[j]) / BPS)`` rounds down
- ``equity = cv + sum_i q[i] * mark[i]``
- ``tier = 3`` if equity < mm, ``2`` if equity < im,
  ``1`` if ``equity * BPS < im * (BPS + warn_buffer_bps)``, else ``0``

``adv`` is in whole USD (scale 1) so that real volumes (1e10 USD) fit.

Every intermediate is checked against its range; a value that does not fit
raises :class:`~calcm.fixedpoint.FixedPointRangeError` before anything is proven.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..fixedpoint import (BPS, COLLATERAL, MONEY, MONEY_SCALE, PRICE, PRICE_SCALE, QTY,
                          QTY_SCALE, RATE, FixedPointRangeError, Range, ceil_div, encode, floor_div,
                          to_field)
from .margin import MarginModel, Tier

#: ADV in whole USD, strictly positive.
ADV = Range("average daily volume (USD)", 1, 2**48)
#: Domain tag that starts the model's field encoding ("calcm-margin-v1" as an int).
MODEL_DOMAIN = int.from_bytes(b"calcm-margin-v1", "big")


@dataclass(frozen=True)
class MarginModelFx:
    """Integer margin model; the public data the margin circuit's commitment covers.

    Shapes as in :class:`~calcm.risk.margin.MarginModel`; tuples of ints.
    """

    pnl: tuple[tuple[int, ...], ...]          # (S, n) PRICE
    mark: tuple[int, ...]                     # (n,)   PRICE
    exposure: tuple[tuple[int, ...], ...]     # (U, n) PRICE
    collateral_price: tuple[int, ...]         # (m,)   PRICE, >= 0
    haircut_bps: tuple[int, ...]              # (m,)   RATE, < BPS
    adv: tuple[int, ...]                      # (U,)   ADV (whole USD)
    liquidity_weight_bps: tuple[int, ...]     # (U,)   RATE
    k_tail: int
    im_buffer_bps: int
    warn_buffer_bps: int

    def __post_init__(self):
        for s, row in enumerate(self.pnl):
            for i, v in enumerate(row):
                PRICE.check(v, f"pnl[{s}][{i}]")
        for i, v in enumerate(self.mark):
            PRICE.check(v, f"mark[{i}]")
        for u, row in enumerate(self.exposure):
            for i, v in enumerate(row):
                PRICE.check(v, f"exposure[{u}][{i}]")
        for j, v in enumerate(self.collateral_price):
            Range("collateral price", 0, PRICE.high).check(v, f"collateral_price[{j}]")
        for j, v in enumerate(self.haircut_bps):
            Range("haircut (bps)", 0, BPS).check(v, f"haircut_bps[{j}]")
        for u, v in enumerate(self.adv):
            ADV.check(v, f"adv[{u}]")
        for u, v in enumerate(self.liquidity_weight_bps):
            RATE.check(v, f"liquidity_weight_bps[{u}]")
        RATE.check(self.im_buffer_bps, "im_buffer_bps")
        RATE.check(self.warn_buffer_bps, "warn_buffer_bps")
        if not (1 <= self.k_tail <= self.n_scenarios):
            raise ValueError(f"k_tail={self.k_tail} not in [1, {self.n_scenarios}]")

    @property
    def n_scenarios(self) -> int:
        return len(self.pnl)

    @property
    def n_instruments(self) -> int:
        return len(self.mark)

    @property
    def n_underlyings(self) -> int:
        return len(self.adv)

    @property
    def n_collateral(self) -> int:
        return len(self.collateral_price)

    def field_elements(self) -> list[int]:
        """The model's canonical encoding as field elements (what its commitment hashes).

        Order: domain tag, S, n, U, m, k, im_buffer_bps, warn_buffer_bps, then pnl
        (row-major, scenario by scenario), mark, exposure (row-major), collateral
        price, haircut_bps, adv, liquidity_weight_bps. Signed values map to the
        field with :func:`~calcm.fixedpoint.to_field`.
        """
        head = [MODEL_DOMAIN, self.n_scenarios, self.n_instruments, self.n_underlyings,
                self.n_collateral, self.k_tail, self.im_buffer_bps, self.warn_buffer_bps]
        body = [v for row in self.pnl for v in row] + list(self.mark)
        body += [v for row in self.exposure for v in row] + list(self.collateral_price)
        body += list(self.haircut_bps) + list(self.adv) + list(self.liquidity_weight_bps)
        return head + [to_field(v) for v in body]

    @classmethod
    def from_float(cls, model: MarginModel) -> "MarginModelFx":
        """Quantise a float model (round half away from zero; ranges checked)."""
        def vec(a, scale, rng, name):
            return tuple(encode(x, scale, rng, f"{name}[{i}]") for i, x in enumerate(a))

        def mat(a, scale, rng, name):
            return tuple(vec(row, scale, rng, f"{name}[{r}]") for r, row in enumerate(a))

        p = model.params
        return cls(
            pnl=mat(model.pnl, PRICE_SCALE, PRICE, "pnl"),
            mark=vec(model.mark, PRICE_SCALE, PRICE, "mark"),
            exposure=mat(model.exposure, PRICE_SCALE, PRICE, "exposure"),
            collateral_price=vec(model.collateral_price, PRICE_SCALE, PRICE, "collateral_price"),
            haircut_bps=vec(model.haircut, BPS, RATE, "haircut"),
            adv=vec(model.adv, 1, ADV, "adv"),
            liquidity_weight_bps=vec(model.liquidity_weight, BPS, RATE, "liquidity_weight"),
            k_tail=model.k_tail,
            im_buffer_bps=encode(p.im_buffer, BPS, RATE, "im_buffer"),
            warn_buffer_bps=encode(p.warn_buffer, BPS, RATE, "warn_buffer"),
        )


@dataclass(frozen=True)
class AccountFx:
    """One account's private inputs: positions (n,) QTY, collateral (m,) COLLATERAL, salt."""

    qty: tuple[int, ...]
    collateral: tuple[int, ...]
    salt: int

    def __post_init__(self):
        for i, v in enumerate(self.qty):
            QTY.check(v, f"qty[{i}]")
        for j, v in enumerate(self.collateral):
            COLLATERAL.check(v, f"collateral[{j}]")

    @classmethod
    def encode(cls, q, c, salt: int, name: str = "account", qty_names=None,
               collateral_names=None) -> "AccountFx":
        """Encode float positions and collateral (raises naming the account and field).

        ``qty_names`` / ``collateral_names``: instrument ids and collateral assets for
        error messages (default: ``#index``).
        """
        qn = qty_names or [f"#{i}" for i in range(len(q))]
        cn = collateral_names or [f"#{j}" for j in range(len(c))]
        return cls(tuple(encode(x, QTY_SCALE, QTY, f"{name} position {qn[i]}") for i, x in enumerate(q)),
                   tuple(encode(x, QTY_SCALE, COLLATERAL, f"{name} collateral {cn[j]}")
                         for j, x in enumerate(c)),
                   int(salt))


@dataclass(frozen=True)
class MarginResultFx:
    """Every public output and key intermediate of one account's margin (money ints)."""

    losses: tuple[int, ...]
    tail_bits: tuple[int, ...]
    threshold: int
    tail_sum: int
    es_raw: int
    es: int
    exposure: tuple[int, ...]
    addon_terms: tuple[int, ...]
    addon: int
    mm: int
    im: int
    collateral_value: int
    equity: int
    tier: int


def _dot(a, b) -> int:
    return sum(x * y for x, y in zip(a, b))


def tail_selection(losses: tuple[int, ...], k: int) -> tuple[tuple[int, ...], int]:
    """The k largest losses as indicator bits, and the threshold (smallest selected).

    Ties at the threshold are broken toward the lower scenario index; the tail
    *sum* does not depend on the tie-break, which is why the circuit may accept
    any valid selection.
    """
    order = sorted(range(len(losses)), key=lambda s: (-losses[s], s))[:k]
    chosen = set(order)
    return tuple(int(s in chosen) for s in range(len(losses))), losses[order[-1]]


def margin_fx(model: MarginModelFx, acc: AccountFx) -> MarginResultFx:
    """The exact integer margin of one account (see the module docstring)."""
    if len(acc.qty) != model.n_instruments or len(acc.collateral) != model.n_collateral:
        raise ValueError("account shape does not match the model")
    losses = tuple(MONEY.check(-_dot(acc.qty, row), f"loss[{s}]") for s, row in enumerate(model.pnl))
    bits, threshold = tail_selection(losses, model.k_tail)
    tail_sum = sum(L for L, b in zip(losses, bits) if b)
    es_raw = ceil_div(tail_sum, model.k_tail)
    es = max(es_raw, 0)
    x = tuple(MONEY.check(_dot(acc.qty, row), f"exposure[{u}]") for u, row in enumerate(model.exposure))
    terms = tuple(ceil_div(w * xu * xu, adv * BPS * MONEY_SCALE)
                  for w, xu, adv in zip(model.liquidity_weight_bps, x, model.adv))
    addon = MONEY.check(sum(terms), "addon")
    mm = MONEY.check(es + addon, "mm")
    im = MONEY.check(ceil_div(mm * (BPS + model.im_buffer_bps), BPS), "im")
    cv = MONEY.check(floor_div(sum(c * p * (BPS - h) for c, p, h in
                                   zip(acc.collateral, model.collateral_price, model.haircut_bps)), BPS),
                     "collateral_value")
    equity = MONEY.check(cv + _dot(acc.qty, model.mark), "equity")
    if equity < mm:
        tier = Tier.LIQUIDATABLE
    elif equity < im:
        tier = Tier.NO_NEW_RISK
    elif equity * BPS < im * (BPS + model.warn_buffer_bps):
        tier = Tier.WARNING
    else:
        tier = Tier.HEALTHY
    return MarginResultFx(losses, bits, threshold, tail_sum, es_raw, es, x, terms, addon,
                          mm, im, cv, equity, int(tier))


def margins_fx(model: MarginModelFx, accounts: list[AccountFx]) -> list[MarginResultFx]:
    """:func:`margin_fx` for many accounts (exact; for the accounts about to be proven)."""
    return [margin_fx(model, a) for a in accounts]


def encode_book_accounts(book, q: np.ndarray | None = None, c: np.ndarray | None = None) -> list[AccountFx]:
    """Fixed-point accounts of a :class:`~calcm.risk.book.Book`.

    A value outside its range raises :class:`~calcm.errors.InputError` naming the
    book file, the account and the field (``positions.<id>`` / ``collateral.<asset>``).
    """
    q = book.quantities() if q is None else q
    c = book.collateral_amounts() if c is None else c
    out = []
    for a, acc in enumerate(book.accounts):
        try:
            out.append(AccountFx.encode(q[a], c[a], acc.salt, name=f"account '{acc.id}'",
                                        qty_names=book.instrument_ids,
                                        collateral_names=book.collateral_assets))
        except FixedPointRangeError as exc:
            # exc.what is "<account> position <id>" or "<account> collateral <asset>".
            _, kind, key = exc.what.rsplit(" ", 2)
            fld = ("positions." if kind == "position" else "collateral.") + key
            raise InputError(book.source, f"account '{acc.id}'", fld,
                             f"{exc.value / QTY_SCALE:g} units is outside the fixed-point range "
                             f"[{exc.low / QTY_SCALE:g}, {exc.high / QTY_SCALE:g})") from exc
    return out

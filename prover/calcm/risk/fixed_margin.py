"""The exact fixed-point margin model: what the margin circuit proves, bit for bit.

Same formulas as :mod:`calcm.risk.margin`, on integers (scales, rounding and
ranges from :mod:`calcm.fixedpoint`), in the v2 arithmetic order of
docs/PROVING.md §2 (same numbers as per-instrument sums: integer addition is exact):

- ``nq[u] = sum_{i linear on u} q[i]``                                 net linear quantity
- ``pq[u] = sum_{i perp on u} q[i]``                                   net perp quantity
- ``charge = sum_u |pq[u]| perp_move[u]``                               money: the adverse perp
  basis + funding loss of docs/MODEL.md, which every scenario carries
- ``L[s]  = charge - (sum_u nq[u] lin[s][u] + sum_o q[o] opt[s][o])``    money
- tail    = the k largest ``L``, ties to the lower scenario index;
  ``threshold`` = the smallest tail loss, ``tail_last`` its scenario
- ``es_raw = ceil(sum_tail L / k)``, ``es = max(es_raw, 0)``            money, rounds up
- ``X[u]  = nq[u] price[u] + sum_{o on u} q[o] opt_expo[o]``            money
- ``addon[u] = ceil(w_bps[u] * X[u]**2 / (adv[u] * BPS * MONEY_SCALE))`` money, rounds up
- ``mm = es + sum_u addon[u]``
- ``im = ceil(mm * (BPS + im_buffer_bps) / BPS)``                       rounds up
- ``cv = floor(sum_j c[j] * cprice[j] * (BPS - haircut_bps[j]) / BPS)`` rounds down,
  ``cprice[j] = price[coll[j]]`` (or ``PRICE_SCALE`` for a stablecoin, ``coll[j] = -1``)
- ``equity = cv + sum_{spot i} q[i] price[under[i]] + sum_o q[o] opt_mark[o]``
- ``tier = 3`` if equity < mm, ``2`` if equity < im,
  ``1`` if ``equity * BPS < im * (BPS + warn_buffer_bps)``, else ``0``

``adv`` is in whole USD (scale 1) so that real volumes (1e10 USD) fit.

Every intermediate is checked against its range; a value that does not fit
raises :class:`~calcm.fixedpoint.FixedPointRangeError` before anything is proven.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..errors import InputError
from ..fixedpoint import (BPS, COLLATERAL, MONEY, MONEY_SCALE, PRICE, PRICE_BITS, PRICE_SCALE, QTY,
                          QTY_SCALE, RATE, FixedPointRangeError, Range, ceil_div, encode, floor_div)
from .margin import MarginModel, Tier

#: ADV in whole USD, strictly positive.
ADV = Range("average daily volume (USD)", 1, 2**48)
#: Model prices: strictly positive PRICE values.
PRICE_POS = Range("price", 1, 2**PRICE_BITS)
#: Per-unit adverse perp move: a non-negative PRICE value.
PERP_MOVE = Range("perp basis + funding move", 0, 2**PRICE_BITS)
#: Instrument kind codes (structure ``kinds[i]``).
KINDS = ("spot", "perp", "call", "put")
SPOT, PERP, CALL, PUT = range(4)


@dataclass(frozen=True)
class MarginModelFx:
    """Integer margin model v2 (docs/PROVING.md §2): structure plus values.

    Structure (compile-time constants of the margin circuit): ``kinds`` (n,) codes
    0 spot, 1 perp, 2 call, 3 put; ``under`` (n,) underlying index; ``coll`` (m,)
    underlying index or -1 (stablecoin at 1 USD); ``k_tail``; ``chunks`` C (S % C == 0).

    Values (PRICE unless stated): ``price`` (U,) > 0; ``lin`` (S, U) per-unit P&L of
    the linear instruments on ``u``; ``opt`` (S, n_opt), ``opt_mark`` (n_opt,),
    ``opt_expo`` (n_opt,) for the options in instrument order; ``haircut_bps`` (m,)
    < BPS; ``adv`` (U,) whole USD; ``liquidity_weight_bps`` (U,); buffers in bps;
    ``perp_move`` (U,) PRICE >= 0, the adverse per-unit perp basis + funding move over the
    MPOR, ``ceil(price perp_shock_bps / BPS)`` (empty: all 0).
    ``pnl``, ``mark``, ``exposure`` and ``collateral_price`` are derived views.
    """

    price: tuple[int, ...]
    lin: tuple[tuple[int, ...], ...]
    opt: tuple[tuple[int, ...], ...]
    opt_mark: tuple[int, ...]
    opt_expo: tuple[int, ...]
    haircut_bps: tuple[int, ...]
    adv: tuple[int, ...]
    liquidity_weight_bps: tuple[int, ...]
    k_tail: int
    im_buffer_bps: int
    warn_buffer_bps: int
    kinds: tuple[int, ...]
    under: tuple[int, ...]
    coll: tuple[int, ...]
    chunks: int = 1
    perp_move: tuple[int, ...] = ()

    def __post_init__(self):
        U, S, n_opt = len(self.price), len(self.lin), len(self.options)
        if U < 1 or S < 1 or not self.kinds:
            raise ValueError("a margin model needs at least one underlying, scenario and instrument")
        if len(self.under) != len(self.kinds):
            raise ValueError("kinds and under must have one entry per instrument")
        for i, (kd, u) in enumerate(zip(self.kinds, self.under)):
            if kd not in range(4):
                raise ValueError(f"kinds[{i}]={kd} is not 0..3 (spot, perp, call, put)")
            if not 0 <= u < U:
                raise ValueError(f"under[{i}]={u} not in [0, {U})")
        for j, c in enumerate(self.coll):
            if not -1 <= c < U:
                raise ValueError(f"coll[{j}]={c} not in [-1, {U})")
        if len(self.haircut_bps) != len(self.coll):
            raise ValueError("haircut_bps must have one value per collateral asset")
        if len(self.adv) != U or len(self.liquidity_weight_bps) != U:
            raise ValueError("adv and liquidity_weight_bps must have one value per underlying")
        if len(self.opt_mark) != n_opt or len(self.opt_expo) != n_opt:
            raise ValueError(f"opt_mark and opt_expo must have one value per option ({n_opt})")
        if self.chunks < 1 or S % self.chunks:
            raise ValueError(f"chunks={self.chunks} must divide the scenario count S={S}")
        for u, v in enumerate(self.price):
            PRICE_POS.check(v, f"price[{u}]")
        for s, row in enumerate(self.lin):
            if len(row) != U:
                raise ValueError(f"lin[{s}] must have {U} values")
            for u, v in enumerate(row):
                PRICE.check(v, f"lin[{s}][{u}]")
        if n_opt and len(self.opt) != S:
            raise ValueError("opt must have one row per scenario")
        for s, row in enumerate(self.opt):
            if len(row) != n_opt:
                raise ValueError(f"opt[{s}] must have {n_opt} values")
            for o, v in enumerate(row):
                PRICE.check(v, f"opt[{s}][{o}]")
        for o, (mk, ex) in enumerate(zip(self.opt_mark, self.opt_expo)):
            PRICE.check(mk, f"opt_mark[{o}]")
            PRICE.check(ex, f"opt_expo[{o}]")
        for j, v in enumerate(self.haircut_bps):
            Range("haircut (bps)", 0, BPS).check(v, f"haircut_bps[{j}]")
        for u, v in enumerate(self.adv):
            ADV.check(v, f"adv[{u}]")
        for u, v in enumerate(self.liquidity_weight_bps):
            RATE.check(v, f"liquidity_weight_bps[{u}]")
        if self.perp_move == ():
            object.__setattr__(self, "perp_move", (0,) * U)
        if len(self.perp_move) != U:
            raise ValueError("perp_move must have one value per underlying")
        for u, v in enumerate(self.perp_move):
            PERP_MOVE.check(v, f"perp_move[{u}]")
        RATE.check(self.im_buffer_bps, "im_buffer_bps")
        RATE.check(self.warn_buffer_bps, "warn_buffer_bps")
        if not (1 <= self.k_tail <= S):
            raise ValueError(f"k_tail={self.k_tail} not in [1, {S}]")

    # ---- structure -----------------------------------------------------------------------
    @property
    def n_scenarios(self) -> int:
        return len(self.lin)

    @property
    def n_instruments(self) -> int:
        return len(self.kinds)

    @property
    def n_underlyings(self) -> int:
        return len(self.price)

    @property
    def n_collateral(self) -> int:
        return len(self.coll)

    @cached_property
    def options(self) -> tuple[int, ...]:
        """Instrument indices of the options (kind call/put), in instrument order."""
        return tuple(i for i, kd in enumerate(self.kinds) if kd >= CALL)

    @property
    def n_options(self) -> int:
        return len(self.options)

    def structure(self) -> dict:
        """The compile-time constants of the margin circuit (docs/PROVING.md §2)."""
        return {"kinds": list(self.kinds), "under": list(self.under), "coll": list(self.coll),
                "S": self.n_scenarios, "U": self.n_underlyings, "n": self.n_instruments,
                "m": self.n_collateral, "k": self.k_tail, "C": self.chunks}

    @cached_property
    def structure_id(self) -> int:
        """Poseidon sponge of the structure (:func:`calcm.poseidon.structure_id`)."""
        from ..poseidon import structure_id
        return structure_id(self.kinds, self.under, self.coll, self.n_scenarios, self.k_tail,
                            self.chunks, self.n_underlyings)

    # ---- derived views (free linear combinations in the circuit) -------------------------
    @cached_property
    def collateral_price(self) -> tuple[int, ...]:
        """(m,) PRICE: ``price[coll[j]]``, or ``PRICE_SCALE`` (1 USD) for a stablecoin."""
        return tuple(PRICE_SCALE if c < 0 else self.price[c] for c in self.coll)

    @cached_property
    def mark(self) -> tuple[int, ...]:
        """(n,) PRICE: spot ``price[u]``, perp 0, option ``opt_mark``."""
        pos = {i: o for o, i in enumerate(self.options)}
        return tuple(self.opt_mark[pos[i]] if i in pos else (self.price[u] if kd == SPOT else 0)
                     for i, (kd, u) in enumerate(zip(self.kinds, self.under)))

    @cached_property
    def exposure(self) -> tuple[tuple[int, ...], ...]:
        """(U, n) PRICE: ``price[u]`` (linear) or ``opt_expo`` on the instrument's own underlying."""
        pos = {i: o for o, i in enumerate(self.options)}
        return tuple(tuple((self.opt_expo[pos[i]] if i in pos else self.price[u]) if u == v else 0
                           for i, u in enumerate(self.under)) for v in range(self.n_underlyings))

    @cached_property
    def pnl(self) -> tuple[tuple[int, ...], ...]:
        """(S, n) PRICE: ``lin[s][under[i]]`` (linear) or ``opt[s][o]`` (option)."""
        pos = {i: o for o, i in enumerate(self.options)}
        return tuple(tuple(self.opt[s][pos[i]] if i in pos else self.lin[s][u]
                           for i, u in enumerate(self.under)) for s in range(self.n_scenarios))

    # ---- commitments (docs/PROVING.md §3) --------------------------------------------------
    def lin_elements(self) -> list[int]:
        """Preimage of ``linCommitment`` (:func:`calcm.risk.modelfx.commit.lin_elements`, the one encoding)."""
        from .modelfx.commit import lin_elements
        return lin_elements(self.structure_id, self.n_scenarios, self.n_underlyings, self.n_instruments,
                            self.n_collateral, self.k_tail, self.im_buffer_bps, self.warn_buffer_bps,
                            self.price, self.adv, self.liquidity_weight_bps, self.haircut_bps,
                            self.perp_move, self.lin)

    def opt_segments(self) -> list[list[int]]:
        """``seg(o, c)`` for o, then c, unpadded (:func:`calcm.risk.modelfx.commit.opt_segment`)."""
        from .modelfx.commit import opt_segment
        L = self.n_scenarios // self.chunks
        return [opt_segment(self.opt_mark[o], self.opt_expo[o], [self.opt[s][o] for s in range(c * L, (c + 1) * L)])
                for o in range(self.n_options) for c in range(self.chunks)]

    @classmethod
    def from_float(cls, model: MarginModel, kinds, under, coll, price=None) -> "MarginModelFx":
        """Quantise a float model with the given structure (:func:`calcm.risk.fixed_quantise.quantise`)."""
        from .fixed_quantise import quantise
        return quantise(model, kinds, under, coll, price)


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


def empty_account(n_instruments: int, n_collateral: int) -> AccountFx:
    """The account that fills unused leaves of a batch: salt 0, no positions, no collateral (tier 0)."""
    return AccountFx((0,) * n_instruments, (0,) * n_collateral, 0)


@dataclass(frozen=True)
class MarginResultFx:
    """Every public output and key intermediate of one account's margin (money ints)."""

    losses: tuple[int, ...]
    tail_bits: tuple[int, ...]
    threshold: int
    tail_last: int          # scenario index of the threshold (the k-th in tail order)
    tail_sum: int
    perp_charge: int
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


def tail_selection(losses: tuple[int, ...], k: int) -> tuple[tuple[int, ...], int, int]:
    """The k largest losses as indicator bits, the threshold and its scenario index.

    The published tie rule: order scenarios by (loss descending, index ascending)
    and take the first k; the threshold is the k-th one's loss, ``last`` its index.
    The circuit (``TailSum``) accepts exactly this selection and no other.
    """
    order = sorted(range(len(losses)), key=lambda s: (-losses[s], s))[:k]
    chosen = set(order)
    return tuple(int(s in chosen) for s in range(len(losses))), losses[order[-1]], order[-1]


def net_linear(model: MarginModelFx, qty) -> list[int]:
    """``nq[u] = sum_{i linear on u} q[i]`` (U,) QTY."""
    nq = [0] * model.n_underlyings
    for i, (kd, u) in enumerate(zip(model.kinds, model.under)):
        if kd < CALL:
            nq[u] += qty[i]
    return nq


def net_perp(model: MarginModelFx, qty) -> list[int]:
    """``pq[u] = sum_{i perp on u} q[i]`` (U,) QTY."""
    pq = [0] * model.n_underlyings
    for i, (kd, u) in enumerate(zip(model.kinds, model.under)):
        if kd == PERP:
            pq[u] += qty[i]
    return pq


def perp_charge_fx(model: MarginModelFx, qty) -> int:
    """``sum_u |pq[u]| perp_move[u]`` MONEY, >= 0 (exact)."""
    return MONEY.check(sum(abs(p) * v for p, v in zip(net_perp(model, qty), model.perp_move)), "perp_charge")


def margin_fx(model: MarginModelFx, acc: AccountFx) -> MarginResultFx:
    """The exact integer margin of one account (see the module docstring)."""
    if len(acc.qty) != model.n_instruments or len(acc.collateral) != model.n_collateral:
        raise ValueError("account shape does not match the model")
    nq = net_linear(model, acc.qty)
    qo = [acc.qty[i] for i in model.options]
    U = model.n_underlyings
    charge = perp_charge_fx(model, acc.qty)
    losses = tuple(MONEY.check(charge - (_dot(nq, model.lin[s]) + (_dot(qo, model.opt[s]) if qo else 0)),
                               f"loss[{s}]") for s in range(model.n_scenarios))
    bits, threshold, last = tail_selection(losses, model.k_tail)
    tail_sum = sum(L for L, b in zip(losses, bits) if b)
    es_raw = ceil_div(tail_sum, model.k_tail)
    es = max(es_raw, 0)
    xs = [nq[u] * model.price[u] for u in range(U)]
    for o, i in enumerate(model.options):
        xs[model.under[i]] += acc.qty[i] * model.opt_expo[o]
    x = tuple(MONEY.check(v, f"exposure[{u}]") for u, v in enumerate(xs))
    terms = tuple(ceil_div(w * xu * xu, adv * BPS * MONEY_SCALE)
                  for w, xu, adv in zip(model.liquidity_weight_bps, x, model.adv))
    addon = MONEY.check(sum(terms), "addon")
    mm = MONEY.check(es + addon, "mm")
    im = MONEY.check(ceil_div(mm * (BPS + model.im_buffer_bps), BPS), "im")
    cv = MONEY.check(floor_div(sum(c * p * (BPS - h) for c, p, h in
                                   zip(acc.collateral, model.collateral_price, model.haircut_bps)), BPS),
                     "collateral_value")
    marks = sum(acc.qty[i] * model.price[u] for i, (kd, u) in enumerate(zip(model.kinds, model.under))
                if kd == SPOT) + _dot(qo, model.opt_mark)
    equity = MONEY.check(cv + marks, "equity")
    if equity < mm:
        tier = Tier.LIQUIDATABLE
    elif equity < im:
        tier = Tier.NO_NEW_RISK
    elif equity * BPS < im * (BPS + model.warn_buffer_bps):
        tier = Tier.WARNING
    else:
        tier = Tier.HEALTHY
    return MarginResultFx(losses, bits, threshold, last, tail_sum, charge, es_raw, es, x, terms, addon,
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

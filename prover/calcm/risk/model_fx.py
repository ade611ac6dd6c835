"""The per-block model update in exact fixed point: what ``circuits/model/`` proves, bit for bit.

Given the previous model state (per-asset GARCH variance and last price), the
block's prices and the public parameters, :func:`update` produces the new state
and the :class:`~calcm.risk.fixed_margin.MarginModelFx` that the margin circuit
consumes. The float twin is the risk stage (``risk.volatility.garch_update``,
``risk.scenarios.ScenarioSet.returns``, ``risk.instruments.value_instruments``);
:func:`float_update` runs it on the same inputs for the error tests.

Steps, per asset ``u`` (scales in :mod:`calcm.fixedpoint`; ``rdiv(x, k)`` is a
round-half-up shift ``floor((x + 2**(k-1)) / 2**k)``)::

    eps      = floor((P1 - P0) * 2**40 / P0)                       simple return, floor
    sigma2'  = rdiv(omega * 2**64 + alpha*eps^2 + gamma*eps^2*[eps<0] + beta*sigma2 * 2**32, 64)
    sigma    = isqrt(sigma2' * 2**16)                              s^2 <= x < (s+1)^2
    a_u      = rdiv(P1 * sigma * sqrt_h, 60)                       P sigma sqrt(h), PRICE * 2**4
    floor_u  = -floor(P1 * (-min_return_bps) / 10**4)              the -95% return floor

per scenario ``s`` (``z`` at 2**16)::

    lin[s,u] = max(rdiv(z[s,u] * a_u, 20), floor_u)                P1 * r[s,u], PRICE

``r = max(z sigma sqrt(h), MIN_RETURN)`` is the float model's scenario return
(:mod:`calcm.risk.scenarios`); spot and perp P&L are ``lin`` exactly (the float
model's ``S * r``, rounded once).

Options (European, Black-76 at zero rates, full revaluation; expiry longer than
the MPOR): with ``F = P1``, ``F_s = P1 + lin[s,u]``, ``x = ln_fx(F) - ln K``::

    d1, d2  = rdiv(x * (1/v) * w_s  +/-  v * (1 + shock_s) * 2**39, 68)   (2**20)
    V       = rdiv(F * N(d1) - K * N(d2), 32)                             call value, PRICE

with ``v = iv sqrt(T/365)`` at the base and ``iv sqrt((T - h)/365)`` in the
scenarios, ``w_s = 1/(1 + shock_s)``; puts by parity (``put = call - F + K``).
``ln_fx`` and ``N`` are the piecewise polynomials of
:mod:`calcm.risk.fixed_transcendental` (error bounds there). P&L = scenario
value - base value; mark = base value; exposure = ``N(d1) F`` (call) or
``N(d1) F - F`` (put). ``ln K``, ``v``, ``1/v`` and ``w`` are derived from the
published terms by the exact integer routines of :class:`ModelParamsFx` and
covered by the parameter hash.

Every intermediate is range-checked; a value out of range raises
:class:`~calcm.fixedpoint.FixedPointRangeError` before anything is proven.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ..fixedpoint import (BPS, D_FRAC, D_INT_BITS, GARCH_FRAC, IV_FRAC, LN_FRAC, MAX_HORIZON_DAYS,
                          MOVE_BITS, MOVE_FRAC, PRICE, PRICE_BITS, PRICE_SCALE, RATE, RET_FRAC,
                          RET_HI_BITS, SHOCK_FRAC, SHOCK_INT_BITS, SHOCK_MIN_DEN, SHOCK_MIN_NUM,
                          SQRTH_FRAC, T_FRAC, VAR_BITS, VAR_FRAC, VOL_FRAC, VSQRT_INT_BITS,
                          VSQRT_MIN_FRAC_BITS, W_FRAC, Z_FRAC, Z_INT_BITS, FixedPointRangeError,
                          Range, encode, round_half_away, to_field)
from .fixed_margin import ADV, MarginModelFx
from .fixed_transcendental import ln_fx, norm_cdf_fx, rdiv

KINDS = ("spot", "perp", "call", "put")
#: Domain tags (ASCII as big-endian integers) of the model's three hashed encodings.
PARAM_DOMAIN = int.from_bytes(b"calcm-params-v1", "big")
STATE_DOMAIN = int.from_bytes(b"calcm-state-v1", "big")
STRUCT_DOMAIN = int.from_bytes(b"calcm-struct-v1", "big")
DAYS_PER_YEAR = 365

#: Shifts of the update (see the module docstring).
GARCH_SHIFT = GARCH_FRAC + 2 * RET_FRAC - VAR_FRAC          # 64
SQRT_PRESHIFT = 2 * VOL_FRAC - VAR_FRAC                     # 16
MOVE_SHIFT = VOL_FRAC + SQRTH_FRAC - MOVE_FRAC              # 60
LIN_SHIFT = Z_FRAC + MOVE_FRAC                              # 20
D_SHIFT = LN_FRAC + LN_FRAC + W_FRAC - D_FRAC               # 68
HALF_V_SHIFT = D_SHIFT + D_FRAC - LN_FRAC - SHOCK_FRAC - 1  # 39: v (1+shock) / 2 to the d numerator
VALUE_SHIFT = 32                                            # F N(d) at PRICE * 2**CDF_FRAC

PRICE_POS = Range("price", 1, 2**PRICE_BITS)
RETURN = Range("simple return (2**40)", -(2**RET_FRAC), 2**RET_HI_BITS)
VARIANCE = Range("GARCH variance (2**48)", 0, 2**VAR_BITS)
OMEGA = Range("GARCH omega (2**48)", 1, 2**VAR_FRAC)
UNIT = Range("GARCH alpha/beta (2**32)", 0, 2**GARCH_FRAC + 1)
GAMMA = Range("GARCH gamma (2**32)", -(2**GARCH_FRAC), 2**GARCH_FRAC + 1)
Z = Range("scenario z (2**16)", -(2**(Z_FRAC + Z_INT_BITS)) + 1, 2**(Z_FRAC + Z_INT_BITS))
SHOCK = Range("vol shock (2**16)", SHOCK_MIN_NUM * 2**SHOCK_FRAC // SHOCK_MIN_DEN,
              2**(SHOCK_FRAC + SHOCK_INT_BITS))
LIN_OFFSET = Range("scenario move above the return floor", -(2**PRICE_BITS), 2**PRICE_BITS)
MIN_RETURN_BPS = Range("min return (bps)", -(BPS - 1), 1)
EXPIRY = Range("expiry (days, 2**16)", 1, 2**(T_FRAC + 16))
IV = Range("implied vol (2**32)", 1, 2**(IV_FRAC + VSQRT_INT_BITS))
VSQRT = Range("iv sqrt(T) (2**32)", 2**(LN_FRAC - VSQRT_MIN_FRAC_BITS), 2**(LN_FRAC + VSQRT_INT_BITS))
D_RANGE = Range("Black-76 d (2**20)", -(2**(D_FRAC + D_INT_BITS)), 2**(D_FRAC + D_INT_BITS))
VALUE = Range("option value", -(2**(PRICE_BITS + 1)), 2**(PRICE_BITS + 1))


@dataclass(frozen=True)
class InstrumentFx:
    """One instrument: ``kind`` in spot/perp/call/put on asset index ``underlying``.

    Options: ``strike`` (PRICE), ``expiry`` (days at 2**16, constant maturity:
    the series keeps its time to expiry from block to block, as the float model
    does), ``iv`` (annualised implied vol at 2**32).
    """

    id: str
    kind: str
    underlying: int
    strike: int = 0
    expiry: int = 0
    iv: int = 0

    @property
    def code(self) -> int:
        return KINDS.index(self.kind)

    @property
    def is_option(self) -> bool:
        return self.kind in ("call", "put")


@dataclass(frozen=True)
class CollateralFx:
    """A collateral asset: ``underlying`` is its asset index, or -1 for a stablecoin (1 USD)."""

    asset: str
    underlying: int
    haircut_bps: int


@dataclass(frozen=True)
class OptionTermsFx:
    """Constants of one option series, derived from (strike, expiry, iv) by :func:`option_terms`.

    ln_k = ln_fx(strike); v = iv sqrt(T/365), v_after = iv sqrt((T-h)/365) (2**32);
    inv_v, inv_v_after = round(2**64 / v) (1/v at 2**32).
    """

    ln_k: int
    v: int
    inv_v: int
    v_after: int
    inv_v_after: int

    def field_elements(self) -> list[int]:
        return [self.ln_k, self.v, self.inv_v, self.v_after, self.inv_v_after]


def vol_sqrt_time(iv: int, expiry: int) -> int:
    """``floor(iv sqrt(expiry / 365))`` at 2**32: ``isqrt(iv^2 * expiry // (2**16 * 365))``."""
    return math.isqrt(iv * iv * expiry // (2**T_FRAC * DAYS_PER_YEAR))


def reciprocal(v: int, frac: int) -> int:
    """``round(2**(2 frac) / v)``: 1/v at scale 2**frac for v at 2**frac."""
    return (2 ** (2 * frac + 1) + v) // (2 * v)


def option_terms(ins: InstrumentFx, horizon_days: int) -> OptionTermsFx:
    """The derived constants of an option series (exact integer routines)."""
    what = f"instrument '{ins.id}'"
    if ins.expiry <= horizon_days * 2**T_FRAC:
        raise FixedPointRangeError(f"{what} expiry (must exceed the {horizon_days}-day MPOR)",
                                   ins.expiry / 2**T_FRAC, horizon_days, EXPIRY.high)
    v = VSQRT.check(vol_sqrt_time(ins.iv, ins.expiry), f"{what} iv*sqrt(T)")
    va = VSQRT.check(vol_sqrt_time(ins.iv, ins.expiry - horizon_days * 2**T_FRAC),
                     f"{what} iv*sqrt(T - MPOR)")
    return OptionTermsFx(ln_fx(ins.strike), v, reciprocal(v, LN_FRAC), va, reciprocal(va, LN_FRAC))


def shock_weight(shock: int) -> int:
    """``w = round(2**40 / (2**16 + shock))``: 1/(1 + shock) at 2**24."""
    u = 2**SHOCK_FRAC + shock
    return (2 ** (W_FRAC + SHOCK_FRAC + 1) + u) // (2 * u)


@dataclass(frozen=True)
class ModelParamsFx:
    """The public model parameters, fixed per epoch and bound by :meth:`param_hash`.

    Shapes: U assets (the underlyings, in price-feed order), S scenarios, n
    instruments, m collateral assets. Integers at the scales of
    :mod:`calcm.fixedpoint`: GARCH ``omega`` (2**48), ``alpha``/``gamma``/``beta``
    (2**32); ``z`` (S, U) at 2**16; ``vol_shock`` (S,) at 2**16; ``adv`` whole
    USD; rates in bps. ``k_tail`` is part of the circuit's structure (a template
    parameter of the margin commitment).
    """

    assets: tuple[str, ...]
    instruments: tuple[InstrumentFx, ...]
    collateral: tuple[CollateralFx, ...]
    omega: tuple[int, ...]
    alpha: tuple[int, ...]
    gamma: tuple[int, ...]
    beta: tuple[int, ...]
    z: tuple[tuple[int, ...], ...]
    vol_shock: tuple[int, ...]
    horizon_days: int
    k_tail: int
    im_buffer_bps: int
    warn_buffer_bps: int
    min_return_bps: int
    adv: tuple[int, ...]
    liquidity_weight_bps: tuple[int, ...]

    def __post_init__(self):
        U, S = len(self.assets), len(self.z)
        if U < 1 or S < 1 or not self.instruments:
            raise ValueError("a model needs at least one asset, one scenario and one instrument")
        if len(set(self.assets)) != U:
            raise ValueError("asset names must be unique")
        for name in ("omega", "alpha", "gamma", "beta", "adv", "liquidity_weight_bps"):
            if len(getattr(self, name)) != U:
                raise ValueError(f"{name} must have one value per asset ({U})")
        for u, a in enumerate(self.assets):
            OMEGA.check(self.omega[u], f"asset {a} omega")
            UNIT.check(self.alpha[u], f"asset {a} alpha")
            UNIT.check(self.beta[u], f"asset {a} beta")
            GAMMA.check(self.gamma[u], f"asset {a} gamma")
            if self.alpha[u] + self.gamma[u] < 0:
                raise FixedPointRangeError(f"asset {a} alpha + gamma", self.alpha[u] + self.gamma[u],
                                           0, 2**(GARCH_FRAC + 1))
            ADV.check(self.adv[u], f"asset {a} adv")
            RATE.check(self.liquidity_weight_bps[u], f"asset {a} liquidity weight")
        for s, row in enumerate(self.z):
            if len(row) != U:
                raise ValueError(f"z[{s}] must have {U} values")
            for u, v in enumerate(row):
                Z.check(v, f"scenario {s} z[{self.assets[u]}]")
        if len(self.vol_shock) != S:
            raise ValueError("vol_shock must have one value per scenario")
        for s, v in enumerate(self.vol_shock):
            SHOCK.check(v, f"scenario {s} vol shock")
        if not 1 <= self.horizon_days <= MAX_HORIZON_DAYS:
            raise FixedPointRangeError("horizon (days)", self.horizon_days, 1, MAX_HORIZON_DAYS + 1)
        if not 1 <= self.k_tail <= S:
            raise ValueError(f"k_tail={self.k_tail} not in [1, {S}]")
        RATE.check(self.im_buffer_bps, "im_buffer_bps")
        RATE.check(self.warn_buffer_bps, "warn_buffer_bps")
        MIN_RETURN_BPS.check(self.min_return_bps, "min_return_bps")
        ids = [i.id for i in self.instruments]
        if len(set(ids)) != len(ids):
            raise ValueError("instrument ids must be unique")
        for ins in self.instruments:
            if ins.kind not in KINDS:
                raise ValueError(f"instrument '{ins.id}': kind must be one of {KINDS}")
            if not 0 <= ins.underlying < U:
                raise ValueError(f"instrument '{ins.id}': underlying index {ins.underlying} not in [0, {U})")
            if ins.is_option:
                PRICE_POS.check(ins.strike, f"instrument '{ins.id}' strike")
                EXPIRY.check(ins.expiry, f"instrument '{ins.id}' expiry")
                IV.check(ins.iv, f"instrument '{ins.id}' implied vol")
            elif (ins.strike, ins.expiry, ins.iv) != (0, 0, 0):
                raise ValueError(f"instrument '{ins.id}': option terms on a {ins.kind}")
        for c in self.collateral:
            if not -1 <= c.underlying < U:
                raise ValueError(f"collateral '{c.asset}': underlying index {c.underlying} not in [-1, {U})")
            Range("haircut (bps)", 0, BPS).check(c.haircut_bps, f"collateral '{c.asset}' haircut")
        _ = self.option_terms  # derive (and range-check) the option constants now

    # ---- shapes and structure ---------------------------------------------------------
    @property
    def n_assets(self) -> int:
        return len(self.assets)

    @property
    def n_scenarios(self) -> int:
        return len(self.z)

    @property
    def n_instruments(self) -> int:
        return len(self.instruments)

    @property
    def n_collateral(self) -> int:
        return len(self.collateral)

    @property
    def options(self) -> tuple[int, ...]:
        """Indices of the option instruments, in instrument order."""
        return tuple(i for i, ins in enumerate(self.instruments) if ins.is_option)

    @property
    def option_assets(self) -> tuple[int, ...]:
        """Asset indices that carry at least one option (their scenario prices need ln)."""
        return tuple(sorted({self.instruments[i].underlying for i in self.options}))

    @cached_property
    def sqrt_h(self) -> int:
        """``floor(sqrt(h) * 2**32)``."""
        return math.isqrt(self.horizon_days << (2 * SQRTH_FRAC))

    @cached_property
    def option_terms(self) -> tuple[OptionTermsFx, ...]:
        return tuple(option_terms(self.instruments[i], self.horizon_days) for i in self.options)

    @cached_property
    def shock_weights(self) -> tuple[int, ...]:
        return tuple(shock_weight(v) for v in self.vol_shock)

    def structure(self) -> dict:
        """What the circuit fixes at compile time: shapes, kinds, underlyings, collateral map, k."""
        return {"U": self.n_assets, "S": self.n_scenarios, "n": self.n_instruments,
                "m": self.n_collateral, "k": self.k_tail,
                "kinds": [ins.code for ins in self.instruments],
                "underlyings": [ins.underlying for ins in self.instruments],
                "collateral": [c.underlying for c in self.collateral]}

    def structure_elements(self) -> list[int]:
        st = self.structure()
        return ([STRUCT_DOMAIN, st["U"], st["S"], st["n"], st["m"], st["k"]] + st["kinds"]
                + st["underlyings"] + [c + 1 for c in st["collateral"]])

    def structure_id(self) -> int:
        """Poseidon sponge of :meth:`structure_elements` (a constant of the circuit)."""
        from ..zk.poseidon import poseidon_sponge
        return poseidon_sponge(self.structure_elements())

    # ---- the hashed encoding -----------------------------------------------------------
    def field_elements(self) -> list[int]:
        """The canonical encoding that :meth:`param_hash` hashes (circuit order).

        ``[PARAM_DOMAIN, structure_id, h, sqrt_h, im_buffer_bps, warn_buffer_bps,
        min_return_bps]``, then per asset ``omega, alpha, gamma, beta, adv, weight``,
        per collateral ``haircut``, ``z`` row-major, and when there are options:
        per scenario ``shock, w``, per option ``strike, expiry, iv, ln_k, v, inv_v,
        v_after, inv_v_after``. Signed values map with :func:`to_field`.
        """
        out = [PARAM_DOMAIN, self.structure_id(), self.horizon_days, self.sqrt_h,
               self.im_buffer_bps, self.warn_buffer_bps, self.min_return_bps]
        for u in range(self.n_assets):
            out += [self.omega[u], self.alpha[u], self.gamma[u], self.beta[u], self.adv[u],
                    self.liquidity_weight_bps[u]]
        out += [c.haircut_bps for c in self.collateral]
        out += [v for row in self.z for v in row]
        if self.options:
            for v, w in zip(self.vol_shock, self.shock_weights):
                out += [v, w]
            for i, t in zip(self.options, self.option_terms):
                ins = self.instruments[i]
                out += [ins.strike, ins.expiry, ins.iv] + t.field_elements()
        return [to_field(v) for v in out]

    def param_hash(self) -> int:
        """``poseidon_sponge(field_elements())``: what governance publishes on-chain."""
        from ..zk.poseidon import poseidon_sponge
        return poseidon_sponge(self.field_elements())

    # ---- JSON ----------------------------------------------------------------------------
    def to_json(self) -> dict:
        return {
            "assets": list(self.assets),
            "instruments": [{"id": i.id, "kind": i.kind, "underlying": i.underlying,
                             **({"strike": i.strike, "expiry": i.expiry, "iv": i.iv} if i.is_option else {})}
                            for i in self.instruments],
            "collateral": [{"asset": c.asset, "underlying": c.underlying, "haircut_bps": c.haircut_bps}
                           for c in self.collateral],
            "omega": list(self.omega), "alpha": list(self.alpha), "gamma": list(self.gamma),
            "beta": list(self.beta), "z": [list(r) for r in self.z], "vol_shock": list(self.vol_shock),
            "horizon_days": self.horizon_days, "k_tail": self.k_tail,
            "im_buffer_bps": self.im_buffer_bps, "warn_buffer_bps": self.warn_buffer_bps,
            "min_return_bps": self.min_return_bps, "adv": list(self.adv),
            "liquidity_weight_bps": list(self.liquidity_weight_bps),
        }

    @classmethod
    def from_json(cls, d: dict) -> "ModelParamsFx":
        ins = tuple(InstrumentFx(str(i["id"]), str(i["kind"]), int(i["underlying"]),
                                 int(i.get("strike", 0)), int(i.get("expiry", 0)), int(i.get("iv", 0)))
                    for i in d["instruments"])
        col = tuple(CollateralFx(str(c["asset"]), int(c["underlying"]), int(c["haircut_bps"]))
                    for c in d["collateral"])
        ints = lambda k: tuple(int(v) for v in d[k])  # noqa: E731
        return cls(tuple(str(a) for a in d["assets"]), ins, col, ints("omega"), ints("alpha"),
                   ints("gamma"), ints("beta"), tuple(tuple(int(v) for v in r) for r in d["z"]),
                   ints("vol_shock"), int(d["horizon_days"]), int(d["k_tail"]),
                   int(d["im_buffer_bps"]), int(d["warn_buffer_bps"]), int(d["min_return_bps"]),
                   ints("adv"), ints("liquidity_weight_bps"))


@dataclass(frozen=True)
class ModelStateFx:
    """The chained state: update count ``step``, per-asset variance (2**48) and last price (PRICE).

    ``sigma2[u]`` is the GARCH variance of the *next* simple return of asset u
    (the one-step forecast); ``price[u]`` the last block's price.
    """

    step: int
    sigma2: tuple[int, ...]
    price: tuple[int, ...]

    def __post_init__(self):
        if len(self.sigma2) != len(self.price):
            raise ValueError("sigma2 and price must have one value per asset")
        if not 0 <= self.step < 2**64:
            raise FixedPointRangeError("state step", self.step, 0, 2**64)
        for u, (s2, p) in enumerate(zip(self.sigma2, self.price)):
            VARIANCE.check(s2, f"state sigma2[{u}]")
            PRICE_POS.check(p, f"state price[{u}]")

    def field_elements(self) -> list[int]:
        """``[STATE_DOMAIN, U, step] + sigma2 + price``."""
        return [STATE_DOMAIN, len(self.price), self.step] + list(self.sigma2) + list(self.price)

    def commitment(self) -> int:
        from ..zk.poseidon import poseidon_sponge
        return poseidon_sponge(self.field_elements())

    def to_json(self) -> dict:
        return {"step": self.step, "sigma2": list(self.sigma2), "price": list(self.price)}

    @classmethod
    def from_json(cls, d: dict) -> "ModelStateFx":
        return cls(int(d["step"]), tuple(int(v) for v in d["sigma2"]), tuple(int(v) for v in d["price"]))


# ----------------------------------------------------------------------------------------
# The update.

@dataclass(frozen=True)
class AssetStepFx:
    """Per-asset intermediates: return, new variance, vol, move a_u, return floor."""

    eps: int
    sigma2: int
    sigma: int
    move: int
    floor: int


@dataclass(frozen=True)
class OptionValueFx:
    """One Black-76 valuation: d1, d2 (2**20), N(d1), N(d2) (2**32), call value (PRICE)."""

    d1: int
    d2: int
    n1: int
    n2: int
    value: int


@dataclass(frozen=True)
class UpdateFx:
    """The result of one block: new state, margin model, and every intermediate the circuit has.

    lin (S, U) scenario price moves; ln_price (U,) and ln_scenario (S, U) only
    for assets with options (else 0); base (n_opt,) and scen (S, n_opt) valuations.
    """

    state: ModelStateFx
    model: MarginModelFx
    assets: tuple[AssetStepFx, ...]
    lin: tuple[tuple[int, ...], ...]
    ln_price: tuple[int, ...]
    ln_scenario: tuple[tuple[int, ...], ...]
    base: tuple[OptionValueFx, ...]
    scen: tuple[tuple[OptionValueFx, ...], ...] = field(default=())


def simple_return(p0: int, p1: int, what: str = "return") -> int:
    """``floor((P1 - P0) * 2**40 / P0)``, range-checked (P1 < 16 P0)."""
    return RETURN.check(((p1 - p0) << RET_FRAC) // p0, what)


def garch_step(omega: int, alpha: int, gamma: int, beta: int, sigma2: int, eps: int,
               what: str = "sigma2") -> int:
    """``rdiv(omega 2**64 + alpha e^2 + gamma e^2 [e<0] + beta sigma2 2**32, 64)`` in [0, 2**58)."""
    e2 = eps * eps
    num = (omega << GARCH_SHIFT) + alpha * e2 + (gamma * e2 if eps < 0 else 0) + ((beta * sigma2) << 32)
    return VARIANCE.check(rdiv(num, GARCH_SHIFT), what)


def asset_step(params: ModelParamsFx, u: int, sigma2: int, p0: int, p1: int) -> AssetStepFx:
    a = params.assets[u]
    eps = simple_return(p0, p1, f"asset {a} return")
    s2 = garch_step(params.omega[u], params.alpha[u], params.gamma[u], params.beta[u], sigma2, eps,
                    f"asset {a} sigma2")
    sigma = math.isqrt(s2 << SQRT_PRESHIFT)
    move = Range("move", 0, 2**MOVE_BITS).check(rdiv(p1 * sigma * params.sqrt_h, MOVE_SHIFT),
                                                f"asset {a} move")
    floor = -((p1 * -params.min_return_bps) // BPS)
    return AssetStepFx(eps, s2, sigma, move, floor)


def scenario_move(z: int, move: int, floor: int, what: str) -> int:
    """``max(rdiv(z * a_u, 20), floor)``, with ``rdiv(z a_u, 20) - floor`` in [-2**48, 2**48)."""
    off = LIN_OFFSET.check(rdiv(z * move, LIN_SHIFT) - floor, what)
    return floor + max(off, 0)


def black76_fx(ln_f: int, f: int, strike: int, ln_k: int, inv_v: int, v: int, w: int, u: int,
               what: str) -> OptionValueFx:
    """Call value at (F, K) with ``1/v * w`` and ``v * u`` (u = 2**16 (1 + shock))."""
    x = ln_f - ln_k
    a = x * inv_v * w
    b = (v * u) << HALF_V_SHIFT
    d1 = D_RANGE.check(rdiv(a + b, D_SHIFT), f"{what} d1")
    d2 = D_RANGE.check(rdiv(a - b, D_SHIFT), f"{what} d2")
    n1, n2 = norm_cdf_fx(d1), norm_cdf_fx(d2)
    value = VALUE.check(rdiv(f * n1 - strike * n2, VALUE_SHIFT), f"{what} value")
    return OptionValueFx(d1, d2, n1, n2, value)


def update(state: ModelStateFx, prices, params: ModelParamsFx) -> UpdateFx:
    """One block: ``(state, prices) -> (new state, MarginModelFx)`` (see the module docstring).

    ``prices`` (U,) PRICE integers in the order of ``params.assets``.
    """
    U, S = params.n_assets, params.n_scenarios
    prices = tuple(int(p) for p in prices)
    if len(prices) != U or len(state.price) != U:
        raise ValueError(f"expected {U} prices and a state over {U} assets")
    for u, p in enumerate(prices):
        PRICE_POS.check(p, f"price of {params.assets[u]}")
    steps = tuple(asset_step(params, u, state.sigma2[u], state.price[u], prices[u]) for u in range(U))
    lin = tuple(tuple(scenario_move(params.z[s][u], steps[u].move, steps[u].floor,
                                    f"scenario {s} move of {params.assets[u]}") for u in range(U))
                for s in range(S))

    opt_assets = set(params.option_assets)
    ln_price = tuple(ln_fx(prices[u]) if u in opt_assets else 0 for u in range(U))
    ln_scen = tuple(tuple(ln_fx(prices[u] + lin[s][u]) if u in opt_assets else 0 for u in range(U))
                    for s in range(S))
    base, scen = [], [[] for _ in range(S)]
    one_w, one_u = 2**W_FRAC, 2**SHOCK_FRAC
    for i, t in zip(params.options, params.option_terms):
        ins = params.instruments[i]
        u = ins.underlying
        base.append(black76_fx(ln_price[u], prices[u], ins.strike, t.ln_k, t.inv_v, t.v, one_w, one_u,
                               f"instrument '{ins.id}' base"))
        for s in range(S):
            scen[s].append(black76_fx(ln_scen[s][u], prices[u] + lin[s][u], ins.strike, t.ln_k,
                                      t.inv_v_after, t.v_after, params.shock_weights[s],
                                      one_u + params.vol_shock[s], f"instrument '{ins.id}' scenario {s}"))

    n = params.n_instruments
    pnl = [[0] * n for _ in range(S)]
    mark, expo = [0] * n, [[0] * n for _ in range(U)]
    opt_pos = {i: k for k, i in enumerate(params.options)}
    for i, ins in enumerate(params.instruments):
        u, p = ins.underlying, prices[ins.underlying]
        if not ins.is_option:
            for s in range(S):
                pnl[s][i] = lin[s][u]
            mark[i] = p if ins.kind == "spot" else 0
            expo[u][i] = p
            continue
        k = opt_pos[i]
        b = base[k]
        put = ins.kind == "put"
        for s in range(S):
            pnl[s][i] = scen[s][k].value - b.value - (lin[s][u] if put else 0)
        mark[i] = b.value - (p - ins.strike if put else 0)
        expo[u][i] = rdiv(b.n1 * p, VALUE_SHIFT) - (p if put else 0)

    model = MarginModelFx(
        pnl=tuple(tuple(r) for r in pnl), mark=tuple(mark), exposure=tuple(tuple(r) for r in expo),
        collateral_price=tuple(PRICE_SCALE if c.underlying < 0 else prices[c.underlying]
                               for c in params.collateral),
        haircut_bps=tuple(c.haircut_bps for c in params.collateral), adv=params.adv,
        liquidity_weight_bps=params.liquidity_weight_bps, k_tail=params.k_tail,
        im_buffer_bps=params.im_buffer_bps, warn_buffer_bps=params.warn_buffer_bps)
    new_state = ModelStateFx(state.step + 1, tuple(a.sigma2 for a in steps), prices)
    return UpdateFx(new_state, model, steps, lin, ln_price, ln_scen, tuple(base),
                    tuple(tuple(r) for r in scen))


# ----------------------------------------------------------------------------------------
# Encoding from the float model, and the float twin of one update.

def encode_prices(params: ModelParamsFx, prices: dict, what: str = "prices") -> tuple[int, ...]:
    """USD prices by asset name -> PRICE integers in asset order (missing asset: error)."""
    out = []
    for a in params.assets:
        if a not in prices:
            raise KeyError(a)
        out.append(PRICE_POS.check(encode(prices[a], PRICE_SCALE, PRICE), f"{what} {a}"))
    return tuple(out)


def encode_instrument(ins, underlyings: tuple[str, ...]) -> InstrumentFx:
    """A :class:`~calcm.risk.book.Instrument` in fixed point (options: strike, expiry, iv)."""
    u = underlyings.index(ins.underlying)
    if not ins.is_option:
        return InstrumentFx(ins.id, ins.kind, u)
    what = f"instrument '{ins.id}'"
    return InstrumentFx(ins.id, ins.option_type, u,
                        encode(ins.strike, PRICE_SCALE, PRICE, f"{what} strike"),
                        encode(ins.expiry_days, 2**T_FRAC, EXPIRY, f"{what} expiry"),
                        encode(ins.implied_vol, 2**IV_FRAC, IV, f"{what} implied vol"))


def select_scenarios(kinds: tuple[str, ...], n: int) -> list[int]:
    """``n`` scenario indices of a float :class:`~calcm.risk.scenarios.ScenarioSet`, deterministically.

    Stress scenarios first (crash, rally, breakdowns, worst days, vol, best days, in
    that priority), then FHS days evenly spaced over the set; returned in the
    set's original order.
    """
    if n >= len(kinds):
        return list(range(len(kinds)))
    priority = ("crash", "rally", "breakdown", "worst", "vol", "best")
    chosen: list[int] = []
    for kind in priority:
        chosen += [s for s, k in enumerate(kinds) if k == kind]
    chosen = chosen[:n]
    rest = [s for s, k in enumerate(kinds) if s not in chosen]
    need = n - len(chosen)
    if need > 0:
        picks = np.unique(np.linspace(0, len(rest) - 1, need).round().astype(int))
        chosen += [rest[i] for i in picks]
    return sorted(chosen)


def sub_book(book, instrument_ids=None, collateral_assets=None):
    """The book restricted to ``instrument_ids`` and ``collateral_assets``, in the order given.

    The order fixes the model's structure (instrument order, and the underlyings in
    first-appearance order), so a list can target an existing circuit. Accounts are
    dropped: the model does not depend on them.
    """
    from .book import Book

    ins = book.instruments
    if instrument_ids:
        by_id = {i.id: i for i in ins}
        missing = [i for i in instrument_ids if i not in by_id]
        if missing:
            raise ValueError(f"unknown instrument ids {missing}")
        ins = tuple(by_id[i] for i in instrument_ids)
    col = book.collateral
    if collateral_assets:
        by_asset = {c.asset: c for c in col}
        missing = [c for c in collateral_assets if c not in by_asset]
        if missing:
            raise ValueError(f"unknown collateral assets {missing}")
        col = tuple(by_asset[c] for c in collateral_assets)
    return Book(tuple(ins), tuple(col), (), source=book.source)


def params_from_risk_model(rm, book, n_scenarios: int | None = None,
                           k_tail: int | None = None) -> tuple[ModelParamsFx, list[int]]:
    """Fixed-point parameters from a float :class:`~calcm.risk.model.RiskModel` built on ``book``.

    The same GARCH fits and scenario vectors, a deterministic subset of
    ``n_scenarios`` of them (:func:`select_scenarios`), ``k_tail`` from the ES level
    unless given. Returns the parameters and the indices of the chosen scenarios.
    """
    from ..risk.scenarios import MIN_RETURN

    und = tuple(rm.underlyings)
    scen = rm.scenarios
    idx = select_scenarios(tuple(scen.kinds), n_scenarios or scen.n_scenarios)
    col = []
    for c in book.collateral:
        hc = encode(c.haircut, BPS, RATE, f"collateral {c.asset} haircut")
        if c.is_stable:
            col.append(CollateralFx(c.asset, -1, hc))
        elif c.asset in und:
            col.append(CollateralFx(c.asset, und.index(c.asset), hc))
        else:
            raise ValueError(f"collateral '{c.asset}' is neither a stablecoin nor an underlying")
    fits = [rm.fits[a].params for a in und]
    k = k_tail if k_tail is not None else rm.params.margin_params.k_tail(len(idx))
    p = ModelParamsFx(
        assets=und, instruments=tuple(encode_instrument(i, und) for i in book.instruments),
        collateral=tuple(col),
        omega=tuple(encode(f.omega, 2**VAR_FRAC, OMEGA, "omega") for f in fits),
        alpha=tuple(encode(f.alpha, 2**GARCH_FRAC, UNIT, "alpha") for f in fits),
        gamma=tuple(encode(f.gamma, 2**GARCH_FRAC, GAMMA, "gamma") for f in fits),
        beta=tuple(encode(f.beta, 2**GARCH_FRAC, UNIT, "beta") for f in fits),
        # The scenario set may order its assets differently from the book: map by name.
        z=tuple(tuple(encode(scen.z[s][scen.assets.index(a)], 2**Z_FRAC, Z, f"scenario {s} z[{a}]")
                      for a in und) for s in idx),
        vol_shock=tuple(encode(scen.vol_shock[s], 2**SHOCK_FRAC, SHOCK, f"scenario {s} vol shock") for s in idx),
        horizon_days=int(rm.params.mpor_days), k_tail=k,
        im_buffer_bps=encode(rm.params.im_buffer, BPS, RATE, "im_buffer"),
        warn_buffer_bps=encode(rm.params.warn_buffer, BPS, RATE, "warn_buffer"),
        min_return_bps=round_half_away(MIN_RETURN * BPS),
        adv=tuple(encode(v, 1, ADV, "adv") for v in rm.adv),
        liquidity_weight_bps=tuple(encode(w, BPS, RATE, "liquidity weight")
                                   for w in rm.margin_model.liquidity_weight))
    return p, idx


def genesis(rm, market) -> tuple[ModelStateFx, tuple[int, ...]]:
    """The genesis state and the first block's prices, from the float model at its date ``T``.

    The state is the day before (``sigma2`` = each fit's variance of day T's return,
    ``price`` = the close of T-1), so that the first update, with the closes of T,
    reproduces the float model at T: the new variance is the fit's ``sigma2_next``
    (up to the fixed-point rounding) and the margin model is the float one on the
    same scenarios.
    """
    md = market.upto(rm.asof)
    if md.n_days < 2:
        raise ValueError("genesis needs two closes")
    prev, last = md.closes[-2], md.closes[-1]
    sig, p0, p1 = [], [], []
    for a in rm.underlyings:
        k = md.index(a)
        if not (np.isfinite(prev[k]) and np.isfinite(last[k])):
            raise ValueError(f"{a}: no close on both of the last two dates")
        sig.append(encode(rm.fits[a].sigma2[-2], 2**VAR_FRAC, VARIANCE, f"{a} sigma2"))
        p0.append(encode(prev[k], PRICE_SCALE, PRICE_POS, f"{a} price"))
        p1.append(encode(last[k], PRICE_SCALE, PRICE_POS, f"{a} price"))
    return ModelStateFx(0, tuple(sig), tuple(p0)), tuple(p1)


@dataclass(frozen=True)
class FloatUpdate:
    """The float model on the same inputs: sigma2 (U,), returns (S, U), pnl (S, n), mark, exposure."""

    sigma2: np.ndarray
    returns: np.ndarray
    pnl: np.ndarray
    mark: np.ndarray
    exposure: np.ndarray


def float_update(state: ModelStateFx, prices, params: ModelParamsFx) -> FloatUpdate:
    """The float risk stage's update on the decoded parameters (the error tests' reference).

    GARCH by :func:`calcm.risk.volatility.garch_update`, scenario returns by
    :meth:`calcm.risk.scenarios.ScenarioSet.returns`, full Black-76 revaluation
    by :func:`calcm.risk.instruments.value_instruments`.
    """
    from .instruments import InstrumentTable, value_instruments
    from .scenarios import ScenarioSet
    from .volatility import GarchParams, garch_update

    U = params.n_assets
    p0 = np.array(state.price, float) / PRICE_SCALE
    p1 = np.array(prices, float) / PRICE_SCALE
    s2 = np.empty(U)
    for u in range(U):
        gp = GarchParams(params.omega[u] / 2**VAR_FRAC, params.alpha[u] / 2**GARCH_FRAC,
                         params.gamma[u] / 2**GARCH_FRAC, params.beta[u] / 2**GARCH_FRAC, 5.0)
        s2[u] = garch_update(gp, state.sigma2[u] / 2**VAR_FRAC, p1[u] / p0[u] - 1.0)
    z = np.array(params.z, float) / 2**Z_FRAC
    shock = np.array(params.vol_shock, float) / 2**SHOCK_FRAC
    S = params.n_scenarios
    scen = ScenarioSet(params.assets, tuple(f"s{s}" for s in range(S)), ("fhs",) * S, z, shock)
    r = scen.returns(np.sqrt(s2), params.horizon_days)
    ins = params.instruments
    table = InstrumentTable(
        tuple(i.id for i in ins), np.array([i.underlying for i in ins]),
        np.array([0 if i.kind == "spot" else 1 if i.kind == "perp" else 2 for i in ins]),
        np.array([i.strike / PRICE_SCALE if i.is_option else 1.0 for i in ins]),
        np.array([i.expiry / 2**T_FRAC / DAYS_PER_YEAR if i.is_option else 0.0 for i in ins]),
        np.array([i.iv / 2**IV_FRAC if i.is_option else 0.0 for i in ins]),
        np.array([i.kind == "call" for i in ins]))
    val = value_instruments(table, p1, r, shock, params.horizon_days)
    return FloatUpdate(s2, r, val.pnl, val.mark, val.exposure)


def pnl_error_bound(up: UpdateFx, params: ModelParamsFx, prices) -> np.ndarray:
    """(S, n) bound, in PRICE units (micro-USD), on ``|pnl_fx - pnl_float|`` (docs/MODEL_CIRCUIT.md).

    Against :func:`float_update` on the same decoded parameters and state:

    - spot / perp: ``4 + |lin| (2**-32 / sigma + 2**-30)``: the two roundings of
      ``a_u`` and ``lin`` (0.5 each), ``|z| 2**-5 <= 2`` from ``a_u``'s rounding,
      the ``-95%`` floor's integer rounding (1), and the relative error of
      ``sigma`` (isqrt floors by at most 2**-32) and of ``sqrt(h)``;
    - options: ``(F_s + K) eps_s + (F + K) eps_0 + 4`` (+ the linear bound for puts),
      with ``eps = NORM_CDF_ERROR + phi_max (2**-21 + 2 LN_ERROR / v + 2**-24 (|d| + 1))``:
      the normal-CDF approximation, the rounding of d, the ln errors divided
      by ``v = iv sqrt(T) (1 + shock)``, the relative rounding of 1/v and w.
    """
    from .fixed_transcendental import LN_ERROR, NORM_CDF_ERROR

    phi_max = 0.3989422804014327
    S, n = params.n_scenarios, params.n_instruments
    out = np.zeros((S, n))
    lin_bound = np.zeros((S, params.n_assets))
    for u, a in enumerate(up.assets):
        sigma = max(a.sigma / 2**VOL_FRAC, 2**-32)
        for s in range(S):
            lin_bound[s, u] = 4 + abs(up.lin[s][u]) * (2**-32 / sigma + 2**-30)

    def eps(val: OptionValueFx, v_real: float) -> float:
        d = max(abs(val.d1), abs(val.d2)) / 2**D_FRAC
        return NORM_CDF_ERROR + phi_max * (2**-21 + 2 * LN_ERROR / v_real + 2**-24 * (d + 1))

    opt_pos = {i: k for k, i in enumerate(params.options)}
    for i, ins in enumerate(params.instruments):
        u = ins.underlying
        if not ins.is_option:
            out[:, i] = lin_bound[:, u]
            continue
        k = opt_pos[i]
        t = params.option_terms[k]
        f, strike = prices[u], ins.strike
        e0 = (f + strike) * eps(up.base[k], t.v / 2**LN_FRAC)
        for s in range(S):
            vs = t.v_after / 2**LN_FRAC * (1 + params.vol_shock[s] / 2**SHOCK_FRAC)
            es = (f + up.lin[s][u] + strike) * eps(up.scen[s][k], vs)
            out[s, i] = es + e0 + 4 + (lin_bound[s, u] if ins.kind == "put" else 0)
    return out

"""The published model parameters ``ModelParamsFx`` (docs/PROVING.md §1, §2, §4).

Shapes: U assets (the underlyings, in price-feed order), S scenarios, n
instruments, m collateral assets, C scenario chunks of the option parts
(``S % C == 0``). Integers at the scales of :mod:`calcm.fixedpoint`: GARCH
``omega`` (2**48), ``alpha``/``gamma``/``beta`` (2**32); ``z`` (S, U) at 2**16;
``vol_shock`` and ``skew_shock`` (S, U) at 2**16 (relative ATM vol shock and
skew shock per scenario and underlying, docs/PROVING.md §1); ``var_floor`` (U,) the APC floor on the daily
variance at 2**48 (docs/MODEL.md §4), or under APC tool (b) ``apc_stress_weight_bps`` > 0 and
``var_stress`` (U,) the stressed daily variance at 2**48 (then no floor: ``var_floor`` all 0);
``adv`` whole USD; rates in bps. The structure
(shapes, kinds, underlyings, collateral map, k, C) is a compile-time constant of
every circuit, hashed into ``structure_id``; the values are bound by the
parameter tree hash (:mod:`calcm.risk.modelfx.paramhash`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

from ...fixedpoint import (BPS, GARCH_FRAC, MAX_HORIZON_DAYS, RATE, SHOCK_FRAC, SQRTH_FRAC, FixedPointRangeError,
                           Range)
from ..fixed_margin import ADV
from ._sponge import poseidon_sponge
from .constants import (EXPIRY, GAMMA, HORIZON_A, HVAR, IV, KINDS, MIN_RETURN_BPS, OMEGA, PRICE_POS, SHOCK,
                        SKEW, STRUCT_DOMAIN, UNIT, VAR_FLOOR, VOL_MULT, Z)
from .terms import CollateralFx, InstrumentFx, OptionTermsFx, option_terms

#: A perp's adverse basis + funding move (bps of the index price): below 100% of it.
PERP_SHOCK = Range("perp shock (bps)", 0, BPS)


@dataclass(frozen=True)
class ModelParamsFx:
    """The public model parameters, fixed per epoch and bound by :meth:`param_hash`."""

    assets: tuple[str, ...]
    instruments: tuple[InstrumentFx, ...]
    collateral: tuple[CollateralFx, ...]
    omega: tuple[int, ...]
    alpha: tuple[int, ...]
    gamma: tuple[int, ...]
    beta: tuple[int, ...]
    z: tuple[tuple[int, ...], ...]
    vol_shock: tuple[tuple[int, ...], ...]
    skew_shock: tuple[tuple[int, ...], ...]
    horizon_days: int
    k_tail: int
    im_buffer_bps: int
    warn_buffer_bps: int
    min_return_bps: int
    adv: tuple[int, ...]
    liquidity_weight_bps: tuple[int, ...]
    chunks: int = 1
    var_floor: tuple[int, ...] = ()     # () = no floor (all 0); JSON always carries it
    perp_shock_bps: tuple[int, ...] = ()    # () = no perp basis/funding shock (all 0)
    apc_stress_weight_bps: int = 0      # APC tool (b) weight w (bps); 0 = off; JSON only when > 0
    var_stress: tuple[int, ...] = ()    # () = all 0; must be all 0 when the weight is 0

    def __post_init__(self):
        U, S = len(self.assets), len(self.z)
        for name in ("var_floor", "perp_shock_bps", "var_stress"):
            if not getattr(self, name):
                object.__setattr__(self, name, (0,) * U)
        if U < 1 or S < 1 or not self.instruments:
            raise ValueError("a model needs at least one asset, one scenario and one instrument")
        if len(set(self.assets)) != U:
            raise ValueError("asset names must be unique")
        if self.chunks < 1 or S % self.chunks:
            raise ValueError(f"chunks={self.chunks} must divide the scenario count S={S}")
        for name in ("omega", "alpha", "gamma", "beta", "adv", "liquidity_weight_bps", "var_floor",
                     "perp_shock_bps", "var_stress"):
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
            VAR_FLOOR.check(self.var_floor[u], f"asset {a} var_floor")
            PERP_SHOCK.check(self.perp_shock_bps[u], f"asset {a} perp shock")
            VAR_FLOOR.check(self.var_stress[u], f"asset {a} var_stress")
        if self.apc_stress_weight_bps:     # Art. 28(1)(b): at least 25% on the stressed observations
            Range("APC stress weight (bps)", BPS // 4, BPS).check(self.apc_stress_weight_bps, "apc_stress_weight_bps")
        if self.apc_stress_weight_bps and any(self.var_floor):
            raise ValueError("var_floor must be all 0 when apc_stress_weight_bps > 0 (one APC tool at a time)")
        if not self.apc_stress_weight_bps and any(self.var_stress):
            raise ValueError("var_stress must be all 0 when apc_stress_weight_bps is 0")
        for s, row in enumerate(self.z):
            if len(row) != U:
                raise ValueError(f"z[{s}] must have {U} values")
            for u, v in enumerate(row):
                Z.check(v, f"scenario {s} z[{self.assets[u]}]")
        for name, rng in (("vol_shock", SHOCK), ("skew_shock", SKEW)):
            rows = getattr(self, name)
            if len(rows) != S or any(len(r) != U for r in rows):
                raise ValueError(f"{name} must be (S, U) = ({S}, {U})")
            for s, row in enumerate(rows):
                for u, v in enumerate(row):
                    rng.check(v, f"scenario {s} {name.replace('_', ' ')}[{self.assets[u]}]")
        for s, (vs, ks) in enumerate(zip(self.vol_shock, self.skew_shock)):
            for u, (v, k) in enumerate(zip(vs, ks)):   # any |m| <= 1/2: no option proof can fail on u
                for sign in (-1, 1):
                    VOL_MULT.check(2**SHOCK_FRAC + v + sign * ((abs(k) + 1) // 2),
                                   f"scenario {s} vol multiplier 1 + v +/- |kappa|/2 [{self.assets[u]}]")
        if not 1 <= self.horizon_days <= MAX_HORIZON_DAYS:
            raise FixedPointRangeError("horizon (days)", self.horizon_days, 1, MAX_HORIZON_DAYS + 1)
        for u, a in enumerate(self.assets):   # the derived horizon coefficients (PROVING.md §4)
            HORIZON_A.check(self.horizon_a[u], f"asset {a} horizon coefficient A")
            HVAR.check(self.horizon_b[u], f"asset {a} horizon coefficient B")
            HVAR.check(self.horizon_floor[u], f"asset {a} horizon floor F")
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
    def chunk_size(self) -> int:
        """Scenarios per option part: chunk ``c`` is ``[c S/C, (c+1) S/C)``."""
        return self.n_scenarios // self.chunks

    @property
    def options(self) -> tuple[int, ...]:
        """Indices of the option instruments, in instrument order."""
        return tuple(i for i, ins in enumerate(self.instruments) if ins.is_option)

    @property
    def n_options(self) -> int:
        return len(self.options)

    @property
    def n_parts(self) -> int:
        """Option parts of one option revaluation: ``n_opt C`` (part ``j = o C + c``)."""
        return self.n_options * self.chunks

    @cached_property
    def sqrt_h(self) -> int:
        """``floor(sqrt(h) * 2**32)``: still a common-leaf element (layout frozen), used by no circuit."""
        return math.isqrt(self.horizon_days << (2 * SQRTH_FRAC))

    @cached_property
    def phi(self) -> tuple[int, ...]:
        """Per asset ``alpha + beta + (gamma + 1) // 2`` (2**32): the GJR persistence, gamma/2 rounded half up."""
        return tuple(a + b + (g + 1) // 2 for a, g, b in zip(self.alpha, self.gamma, self.beta))

    @cached_property
    def horizon_a(self) -> tuple[int, ...]:
        """Per asset ``A_u`` (2**32): ``pw = 2**32; A = 0; h times: A += pw; pw = rdiv(pw phi, 32)``,
        so ``A_u ~ sum_{j<h} phi**j``, the weight of sigma2_{T+1} in the h-day variance."""
        out = []
        for phi in self.phi:
            pw, acc = 1 << GARCH_FRAC, 0
            for _ in range(self.horizon_days):
                acc += pw
                pw = (pw * phi + (1 << (GARCH_FRAC - 1))) >> GARCH_FRAC
            out.append(acc)
        w = self.apc_stress_weight_bps
        return tuple(((BPS - w) * a + BPS // 2) // BPS for a in out)

    @cached_property
    def horizon_b(self) -> tuple[int, ...]:
        """Per asset ``B_u`` (2**48): ``c = 0; B = 0; for j in 1..h-1: c = omega + rdiv(c phi, 32); B += c``,
        the omega part of the h-day variance (``B = 0`` for h = 1).

        APC tool (b) (``w = apc_stress_weight_bps`` > 0) folds the stressed variance into the
        coefficients, so no circuit changes: with ``A0, B0`` the recursions above and
        ``rb(x) = floor((x + 5000) / 10**4)`` (round half up),
        ``A_u = rb((10**4 - w) A0)``, ``B_u = rb((10**4 - w) B0 + w h var_stress_u)`` (one rounding
        each), ``F_u = 0``; then ``rdiv(A sigma2, 32) + B`` is ``(1 - w) V_h + w h var_stress``,
        ``V_h = rdiv(A0 sigma2, 32) + B0`` the unweighted fixed-point h-day variance.
        The error is at most ``sigma2 2**-33 + 3/2`` units of 2**-48 (three roundings of at
        most 1/2, one of them scaled by sigma2 2**-32). ``w = 0`` leaves ``A0, B0`` unchanged exactly."""
        out = []
        for omega, phi in zip(self.omega, self.phi):
            c, acc = 0, 0
            for _ in range(1, self.horizon_days):
                c = omega + ((c * phi + (1 << (GARCH_FRAC - 1))) >> GARCH_FRAC)
                acc += c
            out.append(acc)
        w, h = self.apc_stress_weight_bps, self.horizon_days
        return tuple(((BPS - w) * b + w * h * vs + BPS // 2) // BPS for b, vs in zip(out, self.var_stress))

    @cached_property
    def horizon_floor(self) -> tuple[int, ...]:
        """Per asset ``F_u = h * var_floor_u`` (2**48): the APC floor on the h-day variance (all 0
        under tool (b), where ``var_floor`` must be 0)."""
        return tuple(self.horizon_days * v for v in self.var_floor)

    @cached_property
    def option_terms(self) -> tuple[OptionTermsFx, ...]:
        return tuple(option_terms(self.instruments[i], self.horizon_days) for i in self.options)

    def structure(self) -> dict:
        """What every circuit fixes at compile time (docs/PROVING.md §2)."""
        return {"U": self.n_assets, "S": self.n_scenarios, "n": self.n_instruments,
                "m": self.n_collateral, "k": self.k_tail, "C": self.chunks,
                "kinds": [ins.code for ins in self.instruments],
                "underlyings": [ins.underlying for ins in self.instruments],
                "collateral": [c.underlying for c in self.collateral]}

    def structure_elements(self) -> list[int]:
        """``[STRUCT_DOMAIN, U, S, n, m, k, C] + kinds + under + [coll + 1]``."""
        st = self.structure()
        return ([STRUCT_DOMAIN, st["U"], st["S"], st["n"], st["m"], st["k"], st["C"]] + st["kinds"]
                + st["underlyings"] + [c + 1 for c in st["collateral"]])

    def structure_id(self) -> int:
        """Poseidon sponge of :meth:`structure_elements` (a constant of every circuit)."""
        return poseidon_sponge(self.structure_elements())

    def param_hash(self) -> int:
        """The parameter tree hash of docs/PROVING.md §4 (what governance publishes)."""
        from .paramhash import param_tree
        return param_tree(self).root

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
            "beta": list(self.beta), "z": [list(r) for r in self.z],
            "vol_shock": [list(r) for r in self.vol_shock], "skew_shock": [list(r) for r in self.skew_shock],
            "horizon_days": self.horizon_days, "k_tail": self.k_tail,
            "im_buffer_bps": self.im_buffer_bps, "warn_buffer_bps": self.warn_buffer_bps,
            "min_return_bps": self.min_return_bps, "adv": list(self.adv),
            "liquidity_weight_bps": list(self.liquidity_weight_bps), "chunks": self.chunks,
            "var_floor": list(self.var_floor), "perp_shock_bps": list(self.perp_shock_bps),
            **({"apc_stress_weight_bps": self.apc_stress_weight_bps, "var_stress": list(self.var_stress)}
               if self.apc_stress_weight_bps else {}),
        }

    @classmethod
    def from_json(cls, d: dict) -> "ModelParamsFx":
        ins = tuple(InstrumentFx(str(i["id"]), str(i["kind"]), int(i["underlying"]),
                                 int(i.get("strike", 0)), int(i.get("expiry", 0)), int(i.get("iv", 0)))
                    for i in d["instruments"])
        col = tuple(CollateralFx(str(c["asset"]), int(c["underlying"]), int(c["haircut_bps"]))
                    for c in d["collateral"])
        ints = lambda k: tuple(int(v) for v in d[k])  # noqa: E731
        rows = lambda k: tuple(tuple(int(v) for v in r) for r in d[k])  # noqa: E731
        for key, version in (("var_floor", 3), ("perp_shock_bps", 3), ("skew_shock", 4)):
            if key not in d:
                raise ValueError(f"model parameters: no '{key}' (written before model v{version}): regenerate them")
        return cls(tuple(str(a) for a in d["assets"]), ins, col, ints("omega"), ints("alpha"),
                   ints("gamma"), ints("beta"), rows("z"), rows("vol_shock"), rows("skew_shock"),
                   int(d["horizon_days"]), int(d["k_tail"]),
                   int(d["im_buffer_bps"]), int(d["warn_buffer_bps"]), int(d["min_return_bps"]),
                   ints("adv"), ints("liquidity_weight_bps"), int(d.get("chunks", 1)), ints("var_floor"),
                   ints("perp_shock_bps"), int(d.get("apc_stress_weight_bps", 0)),
                   tuple(int(v) for v in d.get("var_stress", ())))

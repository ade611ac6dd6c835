"""Model-update circuit configurations, their generated ``main`` files and generated tables.

A :class:`ModelCircuitConfig` is the compile-time structure of
``ModelUpdate(U, S, n, m, k, kinds, under, coll, STRUCT_ID)``
(``circuits/model/model_update.circom``): shapes, instrument kinds and
underlyings, the collateral map and the ES tail size ``k``. It is derived from
:meth:`calcm.risk.model_fx.ModelParamsFx.structure`, and ``STRUCT_ID`` (the
sponge of that structure) is hashed into the parameter hash, so governance's
published hash names the circuit it is for.

``circuits/model/tables.circom`` (the piecewise-polynomial coefficients and the
domain tags) is generated from Python by :func:`tables_source` and checked in;
:func:`check_tables` refuses a stale file.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .. import atomic
from ..paths import CIRCUITS
from ..risk.fixed_transcendental import tables_circom
from ..risk.model_fx import KINDS, PARAM_DOMAIN, STATE_DOMAIN, ModelParamsFx

TOP_FILE = "model/model_update.circom"
TOP_TEMPLATE = "ModelUpdate"
TABLES_FILE = CIRCUITS / "model" / "tables.circom"
#: Fixed public inputs, before the packed prices (the registry's order).
HEAD_SIGNALS = ("prevStateCommitment", "newStateCommitment", "scenarioCommitment", "paramHash", "context")
PRICES_PER_FIELD = 5
PRICE_LANE_BITS = 50


def packed_count(n_assets: int) -> int:
    return -(-n_assets // PRICES_PER_FIELD)


def pack_prices(prices) -> list[int]:
    """``packed[j] = sum_i price[5j + i] * 2**(50 i)`` (the registry's price packing).

    Prices are ``PRICE_SCALE`` fixed point, each in ``(0, 2**50)`` (the registry reverts
    on anything else).
    """
    prices = [int(p) for p in prices]
    for i, p in enumerate(prices):
        if not 0 < p < 2**PRICE_LANE_BITS:
            raise ValueError(f"prices[{i}] = {p} does not fit (0, 2**{PRICE_LANE_BITS})")
    return [sum(p << (PRICE_LANE_BITS * i) for i, p in enumerate(prices[j:j + PRICES_PER_FIELD]))
            for j in range(0, len(prices), PRICES_PER_FIELD)]


def unpack_prices(packed, n_assets: int) -> list[int]:
    """Inverse of :func:`pack_prices` for ``n_assets`` prices."""
    out = []
    for u in range(n_assets):
        out.append((int(packed[u // PRICES_PER_FIELD]) >> (PRICE_LANE_BITS * (u % PRICES_PER_FIELD)))
                   & (2**PRICE_LANE_BITS - 1))
    return out


@dataclass(frozen=True)
class ModelCircuitConfig:
    """The compile-time structure of one model-update circuit (see the module docstring)."""

    name: str
    U: int
    S: int
    n: int
    m: int
    k: int
    kinds: tuple[int, ...]
    under: tuple[int, ...]
    coll: tuple[int, ...]
    struct_id: int

    def __post_init__(self):
        if len(self.kinds) != self.n or len(self.under) != self.n or len(self.coll) != self.m:
            raise ValueError("kinds/under must have n entries and coll m entries")
        if any(k not in range(len(KINDS)) for k in self.kinds):
            raise ValueError(f"instrument kinds must be codes 0..{len(KINDS) - 1}")
        if any(not 0 <= u < self.U for u in self.under) or any(not -1 <= c < self.U for c in self.coll):
            raise ValueError("underlying / collateral indices out of range")
        if not 1 <= self.k <= self.S:
            raise ValueError(f"k={self.k} not in [1, S={self.S}]")

    @classmethod
    def from_params(cls, params: ModelParamsFx, name: str | None = None) -> "ModelCircuitConfig":
        st = params.structure()
        cfg = cls(name or "model", st["U"], st["S"], st["n"], st["m"], st["k"], tuple(st["kinds"]),
                  tuple(st["underlyings"]), tuple(st["collateral"]), params.structure_id())
        return cfg if name else cls(cfg.default_name(), *[getattr(cfg, f) for f in
                                                           ("U", "S", "n", "m", "k", "kinds", "under",
                                                            "coll", "struct_id")])

    def default_name(self) -> str:
        return f"model-u{self.U}-s{self.S}-n{self.n}-o{self.n_options}-{hex(self.struct_id)[2:10]}"

    @property
    def n_options(self) -> int:
        return sum(1 for k in self.kinds if k >= 2)

    @property
    def n_packed(self) -> int:
        return packed_count(self.U)

    @property
    def public_signals(self) -> tuple[str, ...]:
        return HEAD_SIGNALS + tuple(f"packedPrices[{j}]" for j in range(self.n_packed))

    def matches(self, params: ModelParamsFx) -> bool:
        return ModelCircuitConfig.from_params(params, self.name) == self

    def params(self) -> dict:
        return {"U": self.U, "S": self.S, "n": self.n, "m": self.m, "k": self.k,
                "kinds": list(self.kinds), "under": list(self.under), "coll": list(self.coll),
                "struct_id": str(self.struct_id), "options": self.n_options}

    def main_source(self) -> str:
        """The generated top-level circuit (a build output, labelled as generated)."""
        arr = lambda xs: "[" + ", ".join(str(x) for x in xs) + "]"  # noqa: E731
        args = (f"{self.U}, {self.S}, {self.n}, {self.m}, {self.k}, {arr(self.kinds)}, "
                f"{arr(self.under)}, {arr(self.coll)}, {self.struct_id}")
        pub = ", ".join(HEAD_SIGNALS + ("packedPrices",))
        return (
            "// GENERATED by calcm.zk.model_circuit from ModelCircuitConfig "
            f"{self.name!r}: do not edit; rebuild with `calcm model-setup`.\n"
            "pragma circom 2.1.0;\n\n"
            f'include "{TOP_FILE}";\n\n'
            f"// U={self.U} S={self.S} n={self.n} m={self.m} k={self.k} options={self.n_options}\n"
            f"component main {{public [{pub}]}} = {TOP_TEMPLATE}({args});\n"
        )

    def config_hash(self) -> str:
        return hashlib.sha256(self.main_source().encode()).hexdigest()


# ----------------------------------------------------------------------------------------
# Generated tables.

def tables_source() -> str:
    """``circuits/model/tables.circom``: polynomial tables plus the domain tags of model_fx."""
    domains = (
        "\n// Domain tags of the model's hashed encodings (calcm.risk.model_fx).\n"
        f"function PARAM_DOMAIN() {{\n    return {PARAM_DOMAIN};\n}}\n"
        f"function STATE_DOMAIN() {{\n    return {STATE_DOMAIN};\n}}\n"
    )
    return tables_circom() + domains


def write_tables() -> bool:
    """(Re)write the generated tables file; returns True when it changed."""
    src = tables_source()
    if TABLES_FILE.exists() and TABLES_FILE.read_text() == src:
        return False
    atomic.write_text(TABLES_FILE, src)
    return True


class StaleTables(RuntimeError):
    """circuits/model/tables.circom does not match what Python generates."""


def check_tables() -> None:
    if not TABLES_FILE.exists() or TABLES_FILE.read_text() != tables_source():
        raise StaleTables(f"{TABLES_FILE} is stale or missing: run `calcm model-tables`")

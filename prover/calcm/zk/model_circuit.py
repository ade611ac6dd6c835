"""Model circuit configurations (step, reval, option part), their generated ``main`` files and tables.

A :class:`ModelCircuitConfig` is one of the three model circuits
(docs/PROVING.md §6) for one structure: ``ModelStep`` (daily step),
``ModelReval`` (intraday linear revaluation) or ``OptionPart`` (one shape for
every option part ``j = o C + c``). The structure (shapes, instrument kinds and
underlyings, the collateral map, ``k`` and the chunk count ``C``) comes from
:meth:`calcm.risk.modelfx.params.ModelParamsFx.structure`; its sponge
``STRUCT_ID`` is hashed into the parameter tree and ``linCommitment``, so
governance's published hash names the circuits it is for.

``circuits/model/tables.circom`` (the piecewise-polynomial coefficients) is generated
from Python by :func:`tables_source` and checked in; :func:`check_tables` refuses a stale
file (and a stale ``circuits/constants.circom``: shifts, bounds, domain tags).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from .. import atomic
from ..paths import CIRCUITS
from ..risk.fixed_transcendental import tables_circom
from ..risk.modelfx import KINDS, ModelParamsFx

#: The three circuits: (file, template, public inputs before the packed prices, registry order).
CIRCUIT_KINDS = {
    "step": ("model/model_step.circom", "ModelStep",
             ("prevState", "newState", "linCommitment", "paramHash", "context")),
    "reval": ("model/model_reval.circom", "ModelReval",
              ("state", "linCommitment", "paramHash", "context")),
    "option": ("model/option_part.circom", "OptionPart",
               ("state", "prevOptSponge", "nextOptSponge", "paramHash", "part")),
}
TABLES_FILE = CIRCUITS / "model" / "tables.circom"
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
    """One model circuit (``kind`` in step/reval/option) for one structure (module docstring)."""

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
    C: int = 1
    kind: str = "step"

    def __post_init__(self):
        if self.kind not in CIRCUIT_KINDS:
            raise ValueError(f"circuit kind must be one of {tuple(CIRCUIT_KINDS)}")
        if len(self.kinds) != self.n or len(self.under) != self.n or len(self.coll) != self.m:
            raise ValueError("kinds/under must have n entries and coll m entries")
        if any(k not in range(len(KINDS)) for k in self.kinds):
            raise ValueError(f"instrument kinds must be codes 0..{len(KINDS) - 1}")
        if any(not 0 <= u < self.U for u in self.under) or any(not -1 <= c < self.U for c in self.coll):
            raise ValueError("underlying / collateral indices out of range")
        if not 1 <= self.k <= self.S:
            raise ValueError(f"k={self.k} not in [1, S={self.S}]")
        if self.C < 1 or self.S % self.C:
            raise ValueError(f"C={self.C} must divide S={self.S}")
        if self.kind == "option" and self.n_options == 0:
            raise ValueError("an option-part circuit needs at least one option")

    @classmethod
    def from_params(cls, params: ModelParamsFx, name: str | None = None, kind: str = "step") -> "ModelCircuitConfig":
        st = params.structure()
        cfg = cls(name or "model", st["U"], st["S"], st["n"], st["m"], st["k"], tuple(st["kinds"]),
                  tuple(st["underlyings"]), tuple(st["collateral"]), params.structure_id(), st["C"], kind)
        return cfg if name else replace(cfg, name=cfg.default_name())

    def default_name(self) -> str:
        return (f"model-{self.kind}-u{self.U}-s{self.S}-n{self.n}-o{self.n_options}-c{self.C}-"
                f"{hex(self.struct_id)[2:10]}")

    def with_kind(self, kind: str) -> "ModelCircuitConfig":
        cfg = replace(self, kind=kind, name="model")
        return replace(cfg, name=cfg.default_name())

    @property
    def n_options(self) -> int:
        return sum(1 for k in self.kinds if k >= 2)

    @property
    def opt_under(self) -> tuple[int, ...]:
        return tuple(u for k, u in zip(self.kinds, self.under) if k >= 2)

    @property
    def opt_put(self) -> tuple[int, ...]:
        return tuple(int(k == 3) for k in self.kinds if k >= 2)

    @property
    def n_packed(self) -> int:
        return packed_count(self.U)

    @property
    def public_signals(self) -> tuple[str, ...]:
        return CIRCUIT_KINDS[self.kind][2] + tuple(f"packedPrices[{j}]" for j in range(self.n_packed))

    def matches(self, params: ModelParamsFx) -> bool:
        return ModelCircuitConfig.from_params(params, self.name, self.kind) == self

    def params(self) -> dict:
        return {"kind": self.kind, "U": self.U, "S": self.S, "n": self.n, "m": self.m, "k": self.k,
                "C": self.C, "kinds": list(self.kinds), "under": list(self.under), "coll": list(self.coll),
                "struct_id": str(self.struct_id), "options": self.n_options}

    def template_args(self) -> str:
        arr = lambda xs: "[" + ", ".join(str(x) for x in xs) + "]"  # noqa: E731
        if self.kind == "option":
            return (f"{self.U}, {self.S}, {self.m}, {self.C}, {self.n_options}, {arr(self.opt_under)}, "
                    f"{arr(self.opt_put)}, {self.struct_id}")
        return f"{self.U}, {self.S}, {self.n}, {self.m}, {self.k}, {self.C}, {self.n_options}, {self.struct_id}"

    def main_source(self) -> str:
        """The generated top-level circuit (a build output, labelled as generated)."""
        top, template, head = CIRCUIT_KINDS[self.kind]
        pub = ", ".join(head + ("packedPrices",))
        return (
            "// GENERATED by calcm.zk.model_circuit from ModelCircuitConfig "
            f"{self.name!r}: do not edit; rebuild with `calcm model-setup`.\n"
            "pragma circom 2.1.0;\n\n"
            f'include "{top}";\n\n'
            f"// {self.kind}: U={self.U} S={self.S} n={self.n} m={self.m} k={self.k} C={self.C} "
            f"options={self.n_options}\n"
            f"component main {{public [{pub}]}} = {template}({self.template_args()});\n"
        )

    def config_hash(self) -> str:
        return hashlib.sha256(self.main_source().encode()).hexdigest()


# ----------------------------------------------------------------------------------------
# Generated tables.

def tables_source() -> str:
    """``circuits/model/tables.circom``: the polynomial tables only (the shifts, bounds and domain
    tags are in ``circuits/constants.circom``, :mod:`calcm.zk.circuit_constants`)."""
    return tables_circom()


def write_tables() -> bool:
    """(Re)write the generated tables file and ``circuits/constants.circom``; True when either changed."""
    from .circuit_constants import write_constants       # imports this module's constants
    changed = write_constants()
    src = tables_source()
    if TABLES_FILE.exists() and TABLES_FILE.read_text() == src:
        return changed
    atomic.write_text(TABLES_FILE, src)
    return True


class StaleTables(RuntimeError):
    """circuits/model/tables.circom does not match what Python generates."""


def check_tables() -> None:
    """Refuse a stale tables file or a stale ``circuits/constants.circom`` (both generated)."""
    if not TABLES_FILE.exists() or TABLES_FILE.read_text() != tables_source():
        raise StaleTables(f"{TABLES_FILE} is stale or missing: run `calcm model-tables`")
    from .circuit_constants import check_constants       # imports this module's constants
    check_constants()

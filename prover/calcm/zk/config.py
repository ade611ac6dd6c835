"""Margin-batch circuit configurations, the book-to-circuit function and the generated ``main`` files.

A configuration fixes the template parameters of
``MarginBatch(kinds, under, coll, S, U, n, m, k, C, STRUCT_ID, N, D)``
(``circuits/margin_batch.circom``, docs/PROVING.md §2, §6): the model structure
(instrument kinds and underlyings, collateral map, scenarios ``S``, underlyings
``U``, tail size ``k``, option chunks ``C``, and its Poseidon ``structure_id``),
accounts per batch ``N`` (a power of two) and accounts-tree depth ``D``.

:func:`config_for_model` is the one way from a model to a circuit: the circuit
takes the model's structure exactly (no sub-book, no refit). :func:`check_fits`
says, as a one-line :class:`~calcm.errors.InputError` naming the limit, why a
model or book does not fit a given circuit. The main file is a build output
written from the dataclass (never edited by hand).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import InputError
from ..paths import CIRCUITS

#: The five public signals of a margin batch, in registry order (docs/PROVING.md §6).
PUBLIC_SIGNALS = ("accountsRoot", "linCommitment", "optCommitment", "context", "packedResult")
TOP_TEMPLATE = "MarginBatch"
TOP_FILE = "margin_batch.circom"
#: Default batch size and tree depth. N = 4 on the bundled book (S = 534) is about 426k constraints
#: (extrapolated exactly from compiled S = 24 and S = 39 shapes), below the ~500k at which a circom2
#: compile takes 8.5 min here; the two scenario sponges (~241k) are paid once per batch.
DEFAULT_N = 4
DEFAULT_D = 10


@dataclass(frozen=True)
class CircuitConfig:
    """Template parameters of one margin-batch circuit (see the module docstring).

    ``kinds``/``under``/``coll`` default to a generic structure for shape-only
    callers (spot instruments round-robin over the underlyings, stablecoin
    collateral); ``n`` and ``m`` must match their lengths.
    """

    name: str
    N: int
    D: int
    S: int
    n: int
    U: int
    m: int
    k: int
    C: int = 1
    kinds: tuple[int, ...] = field(default=())
    under: tuple[int, ...] = field(default=())
    coll: tuple[int, ...] = field(default=())

    def __post_init__(self):
        if not self.kinds:
            object.__setattr__(self, "kinds", (0,) * self.n)
        if not self.under:
            object.__setattr__(self, "under", tuple(i % max(self.U, 1) for i in range(self.n)))
        if not self.coll:
            object.__setattr__(self, "coll", (-1,) * self.m)
        for f in ("kinds", "under", "coll"):
            object.__setattr__(self, f, tuple(int(v) for v in getattr(self, f)))
        lg = self.N.bit_length() - 1
        if self.N < 1 or 2**lg != self.N or self.N > 64:
            raise ValueError(f"N={self.N}: accounts per batch must be a power of two <= 64")
        if not (lg <= self.D and self.D - lg <= 32):
            raise ValueError(f"D={self.D}: tree depth must be in [log2 N, log2 N + 32]")
        for f in ("S", "n", "U", "m"):
            if getattr(self, f) < 1:
                raise ValueError(f"{f} must be >= 1")
        if not 1 <= self.k <= self.S or self.S > 1024:
            raise ValueError(f"k={self.k} not in [1, S={self.S}] or S > 1024")
        if self.C < 1 or self.S % self.C:
            raise ValueError(f"C={self.C} must divide S={self.S}")
        if len(self.kinds) != self.n or len(self.under) != self.n or len(self.coll) != self.m:
            raise ValueError("kinds/under must have n entries and coll m entries")
        if any(kd not in range(4) for kd in self.kinds) or any(not 0 <= u < self.U for u in self.under):
            raise ValueError("kinds must be 0..3 and under in [0, U)")
        if any(not -1 <= c < self.U for c in self.coll):
            raise ValueError("coll must be in [-1, U)")

    @property
    def n_options(self) -> int:
        return sum(1 for kd in self.kinds if kd >= 2)

    @property
    def structure_id(self) -> int:
        from ..poseidon import structure_id
        return structure_id(self.kinds, self.under, self.coll, self.S, self.k, self.C, self.U)

    def structure(self) -> dict:
        """Same keys as :meth:`~calcm.risk.fixed_margin.MarginModelFx.structure`."""
        return {"kinds": list(self.kinds), "under": list(self.under), "coll": list(self.coll),
                "S": self.S, "U": self.U, "n": self.n, "m": self.m, "k": self.k, "C": self.C}

    @property
    def log2_n(self) -> int:
        return self.N.bit_length() - 1

    @property
    def path_levels(self) -> int:
        return self.D - self.log2_n

    @property
    def capacity(self) -> int:
        """Accounts the tree holds (``2**D``)."""
        return 2**self.D

    def params(self) -> dict:
        d = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items() if k != "name"}
        d["structure_id"] = str(self.structure_id)
        return d

    @classmethod
    def from_manifest(cls, d: dict) -> "CircuitConfig":
        """Inverse of ``{"name": name, **params()}`` (a build manifest's ``config``)."""
        keys = ("N", "D", "S", "n", "U", "m", "k", "C", "kinds", "under", "coll")
        return cls(d["name"], **{k: (tuple(d[k]) if isinstance(d[k], list) else d[k]) for k in keys if k in d})

    def main_source(self) -> str:
        """The generated top-level circuit (a build output, labelled as generated)."""
        arr = lambda xs: "[" + ", ".join(str(x) for x in xs) + "]"  # noqa: E731
        args = ", ".join([arr(self.kinds), arr(self.under), arr(self.coll)]
                         + [str(getattr(self, f)) for f in ("S", "U", "n", "m", "k", "C")]
                         + [str(self.structure_id), str(self.N), str(self.D)])
        pub = ", ".join(PUBLIC_SIGNALS)
        return (
            "// GENERATED by calcm.zk.config from CircuitConfig "
            f"{self.name!r}: do not edit; rebuild with `calcm setup`.\n"
            "pragma circom 2.1.0;\n\n"
            f'include "{TOP_FILE}";\n\n'
            f"component main {{public [{pub}]}} = {TOP_TEMPLATE}({args});\n"
        )


def config_for_model(model, N: int = DEFAULT_N, D: int = DEFAULT_D, name: str | None = None) -> CircuitConfig:
    """The margin circuit of ``model``'s exact structure (a :class:`~calcm.risk.fixed_margin.MarginModelFx`)."""
    st = model.structure()
    return CircuitConfig(name or f"book-S{st['S']}-n{st['n']}-N{N}", N=N, D=D, S=st["S"], n=st["n"],
                         U=st["U"], m=st["m"], k=st["k"], C=st["C"], kinds=tuple(st["kinds"]),
                         under=tuple(st["under"]), coll=tuple(st["coll"]))


def check_fits(model, config: CircuitConfig, n_accounts: int = 0, source: str = "model") -> None:
    """One-line :class:`InputError` unless ``model`` (and ``n_accounts``) fit ``config`` exactly.

    A circuit proves one model structure: scenarios, tail size, instruments (kinds
    and underlyings), underlyings, collateral map and chunks must all match; the
    accounts must fit its tree (``2**D`` leaves).
    """
    got, want = model.structure(), config.structure()
    labels = {"S": "scenarios", "k": "tail size k", "n": "instruments", "U": "underlyings",
              "m": "collateral assets", "C": "option chunks C", "kinds": "instrument kinds",
              "under": "instrument underlyings", "coll": "collateral map"}
    for key, label in labels.items():
        if got[key] != want[key]:
            raise InputError(source, "-", key, f"the model has {label} {got[key]}; circuit "
                             f"{config.name!r} holds exactly {want[key]} (run `calcm setup` for this model)")
    if n_accounts > config.capacity:
        raise InputError(source, "-", "accounts", f"{n_accounts} accounts exceed circuit {config.name!r}'s "
                         f"tree of depth {config.D} ({config.capacity} leaves)")


#: A tiny structure with every instrument kind (tests, `calcm setup --config small`).
SMALL = CircuitConfig("small", N=2, D=4, S=5, n=4, U=2, m=2, k=2, kinds=(0, 1, 2, 3), under=(0, 1, 0, 1),
                      coll=(-1, 0))
#: The benchmark shape of issue 4: 8 accounts x 8 instruments x 128 scenarios.
BENCH = CircuitConfig("bench", N=8, D=10, S=128, n=8, U=4, m=3, k=2, kinds=(0, 1, 0, 1, 1, 1, 2, 3),
                      under=(0, 0, 1, 1, 2, 3, 0, 1), coll=(-1, 0, 1))
CONFIGS = {c.name: c for c in (SMALL, BENCH)}


_INCLUDE = re.compile(r'^\s*include\s+"([^"]+)"\s*;', re.M)


def circuit_sources(config: "CircuitConfig", libs: tuple[Path, ...] = ()) -> dict[str, str]:
    """sha256 of every circuit file the generated main includes, transitively.

    Keys are ``circuits/<file>`` or ``circomlib/<file>``; only what the build
    actually compiles is hashed, so an unrelated circuit's edit does not
    invalidate a cached build.
    """
    from .toolchain import CIRCOMLIB
    libs = libs or (CIRCUITS, CIRCOMLIB)
    out: dict[str, str] = {}
    # circom resolves an include next to the including file first, then in -l dirs.
    todo = [(name, None) for name in _INCLUDE.findall(config.main_source())]
    while todo:
        name, here = todo.pop()
        dirs = ([here] if here is not None else []) + list(libs)
        path = next(((d / name).resolve() for d in dirs if (d / name).exists()), None)
        if path is None:
            raise FileNotFoundError(f"circuit include {name!r} not found in {[str(d) for d in dirs]}")
        root = next(d for d in libs if path.is_relative_to(d.resolve()))
        key = f"{'circomlib' if root == CIRCOMLIB else 'circuits'}/{path.relative_to(root.resolve())}"
        if key in out:
            continue
        data = path.read_bytes()
        out[key] = hashlib.sha256(data).hexdigest()
        todo += [(inc, path.parent) for inc in _INCLUDE.findall(data.decode())]
    return dict(sorted(out.items()))


def source_hash(config: CircuitConfig) -> str:
    """One hash of the included circuit sources and the generated main (a build's cache key)."""
    h = hashlib.sha256()
    for name, digest in circuit_sources(config).items():
        h.update(f"{name}:{digest}\n".encode())
    h.update(config.main_source().encode())
    return h.hexdigest()

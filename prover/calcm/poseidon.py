"""circomlib's Poseidon over BN254 in Python, and the structures calcm builds from it.

The permutation is a line-by-line twin of ``PoseidonEx`` in
``node_modules/circomlib/circuits/poseidon.circom`` (the optimised form with the
sparse partial-round matrices ``S`` and the pre-transformed round constants
``C``), with the constants parsed from ``poseidon_constants.circom`` itself, so
the two cannot drift apart. ``t = len(inputs) + 1``; 8 full rounds; the number
of partial rounds per ``t`` is circomlib's ``N_ROUNDS_P``.

This is the base layer every stage hashes with (risk, zk, chain, keeper, audit):
the permutation, the sponge and the commitment encodings, each written once.

Encodings (fixed in ``docs/PROVING.md`` §3 and ``docs/ARCHITECTURE.md``; the
circuits compute the same):

- :func:`poseidon_sponge`: ``h = 0``; for each chunk of 15 elements (the last one
  zero-padded), ``h = Poseidon16([h] + chunk)``; :func:`absorb` continues a
  sponge from any state over ``pad15(xs)``.
- :func:`structure_id`: ``sponge([STRUCT_DOMAIN_V2, U, S, n, m, k, C] + kinds + under
  + [coll + 1])``, a constant of every circuit of one model structure.
- :func:`lin_commitment`, :func:`opt_commitment`: the two scenario commitments of
  a :class:`~calcm.risk.fixed_margin.MarginModelFx` (docs/PROVING.md §3).
- :func:`account_commitment`: ``poseidon_sponge([salt] + qty + collateral)``.
- :class:`AccountsTree`: a Poseidon(2) Merkle tree of account commitments,
  empty leaf 0 beyond the accounts that exist; the margin circuit proves one
  aligned group of ``N`` leaves at a time.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

from .fixedpoint import FIELD_PRIME, to_field
from .paths import NODE_MODULES

P = FIELD_PRIME
#: circomlib's partial-round counts, indexed by ``t - 2`` (from poseidon.circom).
N_ROUNDS_P = (56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68)
N_ROUNDS_F = 8
#: Elements absorbed per sponge call: Poseidon16 takes the chaining value plus 15.
SPONGE_RATE = 15

CONSTANTS_FILE = NODE_MODULES / "circomlib" / "circuits" / "poseidon_constants.circom"


@dataclass(frozen=True)
class PoseidonParams:
    """Constants of one width ``t`` (shapes validated at load)."""

    t: int
    n_rounds_p: int
    C: tuple[int, ...]                   # (t * 8 + nRoundsP,)
    S: tuple[int, ...]                   # (nRoundsP * (2t - 1),)
    M: tuple[tuple[int, ...], ...]       # (t, t)
    P: tuple[tuple[int, ...], ...]       # (t, t)


def _function_bodies(text: str) -> dict[str, str]:
    """The source of each ``function NAME(t) { ... }`` in the constants file."""
    starts = [(m.group(1), m.start()) for m in re.finditer(r"function\s+(POSEIDON_[CSMP])\s*\(t\)", text)]
    bodies = {}
    for idx, (name, start) in enumerate(starts):
        end = starts[idx + 1][1] if idx + 1 < len(starts) else len(text)
        bodies[name] = text[start:end]
    return bodies


def _numbers_by_t(body: str) -> dict[int, list[int]]:
    """Every hex literal of each ``if (t==T)`` branch of one function body, in order."""
    parts = re.split(r"t\s*==\s*(\d+)", body)
    out = {}
    for t_str, chunk in zip(parts[1::2], parts[2::2]):
        out[int(t_str)] = [int(h, 16) for h in re.findall(r"0x[0-9a-fA-F]+", chunk)]
    return out


@lru_cache(maxsize=1)
def _all_constants(path: str = str(CONSTANTS_FILE)) -> dict[int, PoseidonParams]:
    """Parse circomlib's constants once; shapes and field membership are asserted."""
    text = Path(path).read_text()
    raw = {name: _numbers_by_t(body) for name, body in _function_bodies(text).items()}
    if set(raw) != {"POSEIDON_C", "POSEIDON_S", "POSEIDON_M", "POSEIDON_P"}:
        raise ValueError(f"{path}: expected POSEIDON_C/S/M/P, found {sorted(raw)}")
    params = {}
    for t in range(2, 18):
        rp = N_ROUNDS_P[t - 2]
        c, s = raw["POSEIDON_C"][t], raw["POSEIDON_S"][t]
        m, p = raw["POSEIDON_M"][t], raw["POSEIDON_P"][t]
        for name, vals, n in (("C", c, t * N_ROUNDS_F + rp), ("S", s, rp * (2 * t - 1)),
                              ("M", m, t * t), ("P", p, t * t)):
            if len(vals) != n:
                raise ValueError(f"{path}: POSEIDON_{name}({t}) has {len(vals)} constants, expected {n}")
            if any(v >= P for v in vals):
                raise ValueError(f"{path}: POSEIDON_{name}({t}) has a constant >= the field prime")
        params[t] = PoseidonParams(t, rp, tuple(c), tuple(s),
                                   tuple(tuple(m[i * t:(i + 1) * t]) for i in range(t)),
                                   tuple(tuple(p[i * t:(i + 1) * t]) for i in range(t)))
    return params


def params(t: int) -> PoseidonParams:
    """Constants for width ``t`` in [2, 17]."""
    if not 2 <= t <= 17:
        raise ValueError(f"circomlib Poseidon supports 1..16 inputs, got {t - 1}")
    return _all_constants()[t]


def _sigma(x: int) -> int:
    return pow(x, 5, P)


def _mix(state: list[int], M) -> list[int]:
    # circomlib's Mix: out[i] = sum_j M[j][i] * in[j]
    t = len(state)
    return [sum(M[j][i] * state[j] for j in range(t)) % P for i in range(t)]


def poseidon(inputs: Sequence[int], initial_state: int = 0) -> int:
    """circomlib ``Poseidon(len(inputs))`` (``PoseidonEx`` with one output)."""
    xs = [int(x) % P for x in inputs]
    t = len(xs) + 1
    prm = params(t)
    C, S, M = prm.C, prm.S, prm.M
    half = N_ROUNDS_F // 2
    state = [(v + C[i]) % P for i, v in enumerate([initial_state % P] + xs)]
    for r in range(half - 1):
        state = [(_sigma(v) + C[(r + 1) * t + i]) % P for i, v in enumerate(state)]
        state = _mix(state, M)
    state = [(_sigma(v) + C[half * t + i]) % P for i, v in enumerate(state)]
    state = _mix(state, prm.P)
    for r in range(prm.n_rounds_p):
        base = (2 * t - 1) * r
        s0 = (_sigma(state[0]) + C[(half + 1) * t + r]) % P
        new0 = (S[base] * s0 + sum(S[base + i] * state[i] for i in range(1, t))) % P
        state = [new0] + [(state[i] + s0 * S[base + t + i - 1]) % P for i in range(1, t)]
    for r in range(half - 1):
        state = [(_sigma(v) + C[(half + 1) * t + prm.n_rounds_p + r * t + i]) % P
                 for i, v in enumerate(state)]
        state = _mix(state, M)
    state = [_sigma(v) for v in state]
    return sum(M[j][0] * state[j] for j in range(t)) % P


def poseidon_sponge(xs: Iterable[int]) -> int:
    """``h = 0; h = Poseidon16([h] + chunk)`` over 15-element chunks, the last zero-padded.

    Lengths must be part of the hashed data (or fixed by the circuit), so the
    padding is unambiguous. At least one element is required.
    """
    vals = [int(x) % P for x in xs]
    if not vals:
        raise ValueError("poseidon_sponge needs at least one element")
    h = 0
    for i in range(0, len(vals), SPONGE_RATE):
        chunk = vals[i:i + SPONGE_RATE]
        h = poseidon([h] + chunk + [0] * (SPONGE_RATE - len(chunk)))
    return h


def _tag(s: bytes) -> int:
    """An ASCII domain tag as a big-endian integer (<= 31 bytes: one field element)."""
    assert len(s) <= 31
    return int.from_bytes(s, "big")


#: Domain tag of the structure encoding (docs/PROVING.md §2).
STRUCT_DOMAIN_V2 = _tag(b"calcm-struct-v2")


def pad15(xs: Sequence[int]) -> list[int]:
    """Zero-pad to a whole number of 15-element sponge chunks."""
    return list(xs) + [0] * (-len(xs) % SPONGE_RATE)


def absorb(h: int, xs: Sequence[int]) -> int:
    """Continue a sponge from state ``h`` over ``pad15(xs)``.

    ``absorb(0, xs) == poseidon_sponge(xs)`` for non-empty ``xs``; since every
    call consumes whole chunks, ``absorb(absorb(h, a), b) == absorb(h, pad15(a) + b)``.
    """
    vals = pad15([int(x) % P for x in xs])
    for i in range(0, len(vals), SPONGE_RATE):
        h = poseidon([h] + vals[i:i + SPONGE_RATE])
    return h


def structure_elements(kinds, under, coll, S: int, k: int, C: int, U: int) -> list[int]:
    """``[STRUCT_DOMAIN_V2, U, S, n, m, k, C] + kinds + under + [coll + 1]`` (docs/PROVING.md §2)."""
    return ([STRUCT_DOMAIN_V2, U, S, len(kinds), len(coll), k, C] + list(kinds) + list(under)
            + [c + 1 for c in coll])


def structure_id(kinds, under, coll, S: int, k: int, C: int, U: int) -> int:
    """``poseidon_sponge(structure_elements(...))``: a compile-time constant of every circuit."""
    return poseidon_sponge(structure_elements(kinds, under, coll, S, k, C, U))


def lin_commitment(model) -> int:
    """``linCommitment`` of a :class:`~calcm.risk.fixed_margin.MarginModelFx` (docs/PROVING.md §3)."""
    return poseidon_sponge(model.lin_elements())


def opt_commitment(model) -> int:
    """``optCommitment``: the sponge over every padded option segment; 0 without options."""
    segs = model.opt_segments()
    if not segs:
        return 0
    h = 0
    for seg in segs:
        h = absorb(h, seg)
    return h


def sponge_calls(length: int) -> int:
    """Number of Poseidon16 permutations the sponge spends on ``length`` elements."""
    return max(1, -(-length // SPONGE_RATE))


def account_commitment(acc) -> int:
    """``poseidon_sponge([salt] + qty + collateral)`` of an :class:`~calcm.risk.fixed_margin.AccountFx`."""
    return poseidon_sponge([acc.salt] + [to_field(q) for q in acc.qty] + list(acc.collateral))


class AccountsTree:
    """Poseidon(2) Merkle tree of account commitments, depth ``depth``, empty leaf 0.

    ``leaves[i]`` is the commitment of account ``i``; leaves from ``len(leaves)`` to
    ``2**depth`` are 0 ("no account"). A margin batch covers the aligned group
    ``g`` of ``N`` leaves ``[g*N, (g+1)*N)``; inside a group, the prover fills
    missing accounts with :func:`~calcm.risk.fixed_margin.empty_account`'s commitment (see
    :meth:`group_leaves`), so the venue's tree must hold that value there.
    """

    def __init__(self, leaves: Sequence[int], depth: int):
        if len(leaves) > 2**depth:
            raise ValueError(f"{len(leaves)} leaves do not fit a tree of depth {depth}")
        self.depth = depth
        self.levels: list[list[int]] = [[int(x) % P for x in leaves] + [0] * (2**depth - len(leaves))]
        for _ in range(depth):
            prev = self.levels[-1]
            self.levels.append([poseidon([prev[i], prev[i + 1]]) for i in range(0, len(prev), 2)])

    @property
    def root(self) -> int:
        return self.levels[-1][0]

    @staticmethod
    def log2_group(group_size: int) -> int:
        lg = group_size.bit_length() - 1
        if group_size < 1 or 2**lg != group_size:
            raise ValueError(f"group size must be a power of two, got {group_size}")
        return lg

    def n_groups(self, group_size: int) -> int:
        return 2 ** (self.depth - self.log2_group(group_size))

    def group_leaves(self, group: int, group_size: int) -> list[int]:
        lg = self.log2_group(group_size)
        self._check_group(group, lg)
        return self.levels[0][group * group_size:(group + 1) * group_size]

    def group_root(self, group: int, group_size: int) -> int:
        """The subtree root of group ``group`` (level ``log2 N`` of the tree)."""
        lg = self.log2_group(group_size)
        self._check_group(group, lg)
        return self.levels[lg][group]

    def group_path(self, group: int, group_size: int) -> list[int]:
        """Siblings from the group's subtree root up to the root (``depth - log2 N`` values).

        Bit ``l`` of ``group`` says whether the running node is a right child at
        level ``log2 N + l``.
        """
        lg = self.log2_group(group_size)
        self._check_group(group, lg)
        path, idx = [], group
        for level in range(lg, self.depth):
            path.append(self.levels[level][idx ^ 1])
            idx >>= 1
        return path

    def _check_group(self, group: int, lg: int) -> None:
        if lg > self.depth or not 0 <= group < 2 ** (self.depth - lg):
            raise ValueError(f"group {group} of size 2**{lg} is not in a tree of depth {self.depth}")

    @staticmethod
    def root_from_path(group_root: int, group: int, path: Sequence[int]) -> int:
        """Recompute the root from a group's subtree root and its path (what the circuit does)."""
        node = group_root
        for level, sib in enumerate(path):
            node = poseidon([sib, node]) if (group >> level) & 1 else poseidon([node, sib])
        return node

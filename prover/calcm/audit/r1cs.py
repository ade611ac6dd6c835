"""An R1CS file read into Python, and its constraints evaluated on a witness.

The iden3 binary format (``.r1cs``, what circom writes): magic ``r1cs``, version,
sections. Section 1 (header): field size ``n8``, the prime, ``nWires``,
``nPubOut``, ``nPubIn``, ``nPrvIn``, ``nLabels``, ``nConstraints``. Section 2:
per constraint three linear combinations ``A, B, C``, each ``nTerms`` then
``(wire u32, coefficient n8 bytes little-endian)``; the constraint is
``<A, w> * <B, w> = <C, w>`` modulo the prime. Wire 0 is the constant 1, then
the public outputs, the public inputs, the private inputs, then the rest, in
witness order (the ``.wtns`` of an ``--O2`` build has exactly ``nWires`` values).

Evaluating in Python is what makes the soundness probes cheap: altering one
wire only re-evaluates the constraints it appears in (:meth:`R1cs.uses`).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

#: One linear combination: ``((wire, coefficient), ...)``.
LinComb = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Constraint:
    """``<a, w> * <b, w> = <c, w>``."""

    a: LinComb
    b: LinComb
    c: LinComb

    def wires(self) -> set[int]:
        return {w for lc in (self.a, self.b, self.c) for w, _ in lc}


@dataclass
class R1cs:
    """The constraints of one circuit, indexed by wire (see the module docstring)."""

    prime: int
    n_wires: int
    n_pub_out: int
    n_pub_in: int
    n_prv_in: int
    constraints: list[Constraint]
    _uses: dict[int, list[int]] | None = field(default=None, repr=False)
    _coef: list | None = field(default=None, repr=False)

    @property
    def n_public(self) -> int:
        return self.n_pub_out + self.n_pub_in

    @property
    def public_wires(self) -> range:
        """Wires of the public signals (outputs, then inputs): 1 .. n_public."""
        return range(1, 1 + self.n_public)

    @property
    def input_wires(self) -> range:
        """Every input wire, public and private (the prover's free choices)."""
        return range(1 + self.n_pub_out, 1 + self.n_public + self.n_prv_in)

    def uses(self, wire: int) -> list[int]:
        """Indices of the constraints ``wire`` appears in (any of A, B, C)."""
        if self._uses is None:
            idx: dict[int, list[int]] = {}
            for i, con in enumerate(self.constraints):
                for w in con.wires():
                    idx.setdefault(w, []).append(i)
            self._uses = idx
        return self._uses.get(wire, [])

    def coefficient_maps(self) -> list[tuple[dict[int, int], dict[int, int], dict[int, int]]]:
        """Per constraint, ``{wire: coefficient}`` of A, B and C (built once)."""
        if self._coef is None:
            self._coef = [(dict(c.a), dict(c.b), dict(c.c)) for c in self.constraints]
        return self._coef

    def lc(self, comb: LinComb, w: list[int]) -> int:
        p = self.prime
        return sum(c * w[x] for x, c in comb) % p

    def holds(self, i: int, w: list[int]) -> bool:
        con = self.constraints[i]
        return (self.lc(con.a, w) * self.lc(con.b, w) - self.lc(con.c, w)) % self.prime == 0

    def failing(self, w: list[int], among=None) -> list[int]:
        """Indices of the constraints (all, or ``among``) that ``w`` violates."""
        if len(w) != self.n_wires:
            raise ValueError(f"witness has {len(w)} values, the r1cs {self.n_wires} wires")
        if w[0] % self.prime != 1:
            return [-1]  # wire 0 must be the constant 1: report as a failure of its own
        rng = range(len(self.constraints)) if among is None else among
        return [i for i in rng if not self.holds(i, w)]


def _lincomb(data: bytes, pos: int, n8: int) -> tuple[LinComb, int]:
    (n,) = struct.unpack_from("<I", data, pos)
    pos += 4
    out = []
    for _ in range(n):
        (wire,) = struct.unpack_from("<I", data, pos)
        out.append((wire, int.from_bytes(data[pos + 4:pos + 4 + n8], "little")))
        pos += 4 + n8
    return tuple(out), pos


def load_r1cs(path: str | Path) -> R1cs:
    """Parse an ``.r1cs`` file (raises ``ValueError`` on anything malformed)."""
    data = Path(path).read_bytes()
    if data[:4] != b"r1cs":
        raise ValueError(f"{path}: not an r1cs file")
    (n_sections,) = struct.unpack_from("<I", data, 8)
    pos, header, body = 12, None, None
    for _ in range(n_sections):
        stype, size = struct.unpack_from("<IQ", data, pos)
        pos += 12
        if stype == 1:
            header = pos
        elif stype == 2:
            body = pos
        pos += size
    if header is None or body is None:
        raise ValueError(f"{path}: r1cs header or constraint section missing")
    (n8,) = struct.unpack_from("<I", data, header)
    prime = int.from_bytes(data[header + 4:header + 4 + n8], "little")
    n_wires, n_out, n_in, n_prv, _labels, n_cons = struct.unpack_from("<IIIIQI", data, header + 4 + n8)
    cons, p = [], body
    for _ in range(n_cons):
        a, p = _lincomb(data, p, n8)
        b, p = _lincomb(data, p, n8)
        c, p = _lincomb(data, p, n8)
        cons.append(Constraint(a, b, c))
    return R1cs(prime, n_wires, n_out, n_in, n_prv, cons)

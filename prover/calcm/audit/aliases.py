"""Index aliases: can a prover claim another group index for the same accounts?

The group index is a private input that the margin circuit decomposes into the
path bits of the accounts tree and packs into the claimed ``packedResult``. If
its range check is wider than the path (a planted ``Num2Bits(levels + 1)``), or a
bit is not tied to the path, ``group + 2^j`` opens the same subtree under the
same root while the registry writes the tiers to another group: the single-signal
probe cannot see it (group, a bit and packedResult move together) and no ``<--``
is involved.

:func:`index_alias_check` reruns the circuit's own witness generator with
``group + 2^j`` and ``group - 1`` (``j`` = 0 .. ``bits - 1``), re-solves only the
CLAIMED public signals (``packedResult``: what a prover chooses; the accounts
root, the model commitments and the context are fixed by the registry), and
evaluates the original R1CS: any accepted alternative is a FAIL, with the
witness confirmed by ``snarkjs wtns check``. About one witness per alternative,
in one node process.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Sequence

from .circuit import Circuit, wire_label, wire_names
from .mutation import _public_keys, solve_public
from .r1cs import load_r1cs
from .report import FAIL, PASS, SKIP, Check, Timer
from .soundness import wtns_check
from .wasm import calculate_many

#: Public inputs a margin prover chooses (re-solved); every other public input is fixed by the registry.
CLAIMED = ("packedResult",)


def alternatives(inp: dict, field: str, bits: int, prime: int) -> list[tuple[str, dict]]:
    """``inp`` with ``field`` moved by ``+2^j`` (j < bits) and by ``-1``."""
    if field not in inp or isinstance(inp[field], list):
        return []
    v = int(inp[field])
    out = []
    for what, nv in [(f"{field} + 2^{j}", v + 2**j) for j in range(bits)] + [(f"{field} - 1", v - 1)]:
        alt = json.loads(json.dumps(inp))
        alt[field] = str(nv % prime)
        out.append((what, alt))
    return out


def _sqrt_mod(a: int, p: int) -> int | None:
    """A square root of ``a`` modulo the odd prime ``p`` (Tonelli-Shanks), or None."""
    a %= p
    if a == 0:
        return 0
    if pow(a, (p - 1) // 2, p) != 1:
        return None
    q, e = p - 1, 0
    while q % 2 == 0:
        q, e = q // 2, e + 1
    z = next(z for z in range(2, p) if pow(z, (p - 1) // 2, p) == p - 1)
    m, c, t, r = e, pow(z, q, p), pow(a, q, p), pow(a, (q + 1) // 2, p)
    while t != 1:
        i, t2 = 0, t
        while t2 != 1:
            t2, i = t2 * t2 % p, i + 1
        b = pow(c, 2 ** (m - i - 1), p)
        m, c, t, r = i, b * b % p, t * b * b % p, r * b % p
    return r


def solve_claimed(r1cs, w: list[int], failing, x: int) -> int | None:
    """A value of the public wire ``x`` that satisfies every failed constraint holding it, each read
    as ``(a0 + ax X)(b0 + bx X) = c0 + cx X`` (--O2 can fold a claimed public input into a
    quadratic constraint, where a linear solve gives up). None: no such value."""
    p, coef = r1cs.prime, r1cs.coefficient_maps()
    cands: set[int] | None = None
    for i in failing:
        con = r1cs.constraints[i]
        if x not in con.wires():
            continue
        A, B, C = coef[i]
        ax, bx, cx = A.get(x, 0), B.get(x, 0), C.get(x, 0)
        a0 = (r1cs.lc(con.a, w) - ax * w[x]) % p
        b0 = (r1cs.lc(con.b, w) - bx * w[x]) % p
        c0 = (r1cs.lc(con.c, w) - cx * w[x]) % p
        qa, qb, qc = ax * bx % p, (ax * b0 + bx * a0 - cx) % p, (a0 * b0 - c0) % p
        if qa == 0:
            roots = {(-qc) * pow(qb, -1, p) % p} if qb else set()
        else:
            d = _sqrt_mod(qb * qb - 4 * qa * qc, p)
            inv = pow(2 * qa, -1, p)
            roots = set() if d is None else {(-qb + d) * inv % p, (-qb - d) * inv % p}
        cands = roots if cands is None else cands & roots
    if not cands:
        return None
    for v in sorted(cands):
        trial = list(w)
        trial[x] = v
        if not r1cs.failing(trial, among=[i for i in failing if x in r1cs.constraints[i].wires()]):
            return v
    return None


def index_alias_check(circuit: Circuit, inputs: Sequence[dict], honest: Sequence[list[int]], label: str,
                      fields: Sequence[str] = ("group",), bits: int = 34, rounds: int = 2) -> Check:
    """FAIL when the R1CS accepts another value of an index input with the fixed public inputs
    unchanged (see the module docstring)."""
    r1cs = load_r1cs(circuit.r1cs)
    names = wire_names(circuit.sym)
    keys = _public_keys(names, r1cs)
    claimable = {x for x, (k, _) in keys.items() if k in CLAIMED}
    with Timer() as t, tempfile.TemporaryDirectory(prefix="calcm-audit-alias-") as tmp:
        todo = [(i, what, alt) for i, inp in enumerate(inputs) for f in fields
                for what, alt in alternatives(inp, f, bits, r1cs.prime)]
        tried, forged = len(todo), []
        for _ in range(rounds):
            if not todo:
                break
            wits = calculate_many(circuit.wasm, [alt for _, _, alt in todo])
            again = []
            for (i, what, alt), wit in zip(todo, wits):
                if wit.values is None:
                    continue
                failing = r1cs.failing(wit.values)
                if not failing:
                    ok = wtns_check(circuit.r1cs, wit.values, r1cs.prime, Path(tmp), f"alias{len(forged)}")
                    diff = [wire_label(names, x) for x in r1cs.public_wires if wit.values[x] != honest[i][x]]
                    forged.append(f"probe input {i}, {what}: the R1CS accepts it"
                                  f"{' (confirmed by snarkjs wtns check)' if ok else ''} with the registry's "
                                  f"public inputs unchanged; claimed signals changed: {diff or 'none'}")
                    continue
                if any(not (r1cs.constraints[i].wires() & claimable) for i in failing if i >= 0):
                    continue     # a failed constraint no claim can repair: rejected
                fix = {x: v for x, v in solve_public(r1cs, wit.values, failing).items() if x in claimable}
                if not fix:
                    fix = {x: v for x in claimable
                           if (v := solve_claimed(r1cs, wit.values, failing, x)) is not None and v != wit.values[x]}
                if fix:
                    for x, v in fix.items():
                        key, idx = keys[x]
                        if idx is None:
                            alt[key] = str(v)
                        else:
                            alt[key][idx] = str(v)
                    again.append((i, what, alt))
            todo = again
    if not tried:
        return Check("soundness", f"index aliases ({label})", SKIP, f"no index input ({', '.join(fields)})")
    details = forged + [f"{tried - len(forged)} of {tried} alternative indices rejected by the R1CS"]
    return Check("soundness", f"index aliases ({label})", FAIL if forged else PASS,
                 f"{tried} other values of {', '.join(fields)} claimed (only {', '.join(CLAIMED)} re-solved): "
                 f"{len(forged)} accepted", {"alternatives": tried, "accepted": len(forged)}, details, t.seconds)

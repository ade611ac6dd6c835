"""Soundness probes: no output, intermediate or hint of a circuit can change while the R1CS
still accepts.

Each probe is a :class:`~calcm.audit.report.Check`:

1. **R1CS structure** (:func:`structure_check`): every public input appears in
   at least one constraint (an unused public input could be set to anything),
   and so does every other wire.
2. **Single-signal alterations** (:func:`single_signal_check`): on valid
   witnesses, every wire (outputs, tail bits, thresholds, quotients, remainders,
   square roots, commitment openings, ...) is altered alone by +1, -1 and a
   random field element; the constraints it appears in are re-evaluated in
   Python (:mod:`calcm.audit.r1cs`). Any wire that can change alone fails the
   check, public or private (issue 13 A1: every circuit pins every wire, the
   tail included since it enforces the published tie rule, so a free private
   wire is a defect, never labelled benign from its name); each free wire's
   forged witness is run through ``snarkjs wtns check`` as evidence. A sample
   of the rejected alterations goes through ``snarkjs wtns check`` as a
   cross-check of the Python evaluator (:func:`wtns_check_sample`).
   ``max_wires`` samples the wires (tests); ``calcm audit`` probes them all.
3. **Source scan** (:func:`source_scan_check`): every ``<--`` of the project's
   circuits is followed in its template by a constraint on the same signal
   (:mod:`calcm.audit.sources`).
4. **Hint mutations**: :mod:`calcm.audit.mutation`, the strongest probe.
5. **circom --inspect** (:func:`inspect_check`): the compiler's own analysis;
   a signal it reports as appearing in no constraint (CA01) fails the check.
"""
from __future__ import annotations

import os
import random
import re
import shutil
import tempfile
from pathlib import Path
from typing import Sequence

from ..paths import NODE_BIN, REPO_ROOT
from ..zk.toolchain import CIRCOMLIB, run
from ..zk.witness import wtns_check as zk_wtns_check
from ..zk.wtns import Witness, write_wtns
from .circuit import Circuit, category, tmp_parent, wire_label
from .r1cs import R1cs
from .report import FAIL, PASS, Check, Timer
from .sources import HintSite, scan


# ------------------------------------------------------------------------------ 1. structure

def structure_check(r1cs: R1cs, names: dict[int, list[str]], label: str) -> Check:
    with Timer() as t:
        unused_public = [w for w in r1cs.public_wires if not r1cs.uses(w)]
        unused = [w for w in range(1, r1cs.n_wires) if not r1cs.uses(w) and w not in unused_public]
    details = [f"public input {wire_label(names, w)} appears in no constraint" for w in unused_public]
    details += [f"wire {wire_label(names, w)} appears in no constraint" for w in unused]
    counts = {"constraints": len(r1cs.constraints), "wires": r1cs.n_wires, "public inputs": r1cs.n_public,
              "private inputs": r1cs.n_prv_in, "unused public inputs": len(unused_public),
              "wires in no constraint": len(unused)}
    ok = not details
    return Check("soundness", f"R1CS structure ({label})", PASS if ok else FAIL,
                 f"{r1cs.n_public} public inputs and {r1cs.n_wires - 1:,} wires, "
                 f"{len(unused_public)} unused public inputs, {len(unused)} wires in no constraint",
                 counts, details, t.seconds)


# ------------------------------------------------------------------------------ 2. single signal

def free_wires(r1cs: R1cs, w: list[int], deltas: Sequence[int],
               wires: Sequence[int] | None = None) -> dict[int, int]:
    """Wires ``x`` (>= 1; of ``wires``, default all) such that ``w + delta e_x`` satisfies every
    constraint: ``{x: delta}``.

    ``w`` must satisfy the R1CS. The residual of constraint i after the change is
    ``delta (A_x b + B_x a - C_x) + delta^2 A_x B_x`` (a, b, c its values at w).
    """
    p = r1cs.prime
    av = [r1cs.lc(c.a, w) for c in r1cs.constraints]
    bv = [r1cs.lc(c.b, w) for c in r1cs.constraints]
    coef = r1cs.coefficient_maps()
    free = {}
    for x in (range(1, r1cs.n_wires) if wires is None else wires):
        uses = r1cs.uses(x)
        lin = []
        for i in uses:
            A, B, C = coef[i]
            ax, bx = A.get(x, 0), B.get(x, 0)
            lin.append(((ax * bv[i] + bx * av[i] - C.get(x, 0)) % p, ax * bx % p))
        for d in deltas:
            if all((d * l1 + d * d * l2) % p == 0 for l1, l2 in lin):
                free[x] = d
                break
    return free


def single_signal_check(r1cs: R1cs, witnesses: Sequence[list[int]], names: dict[int, list[str]],
                        label: str, seed: int = 0, max_wires: int | None = None,
                        r1cs_path: Path | None = None) -> tuple[Check, list[tuple[int, int]]]:
    """Alter every wire (or a seeded sample of ``max_wires``, public wires always in) alone on
    each witness; returns the check and (wire, delta) samples for :func:`wtns_check_sample`
    (one rejected alteration per signal category)."""
    rng = random.Random(seed)
    deltas = (1, -1, rng.randrange(2, r1cs.prime))
    with Timer() as t:
        wires = list(range(1, r1cs.n_wires))
        if max_wires is not None and max_wires < len(wires):
            rest = [x for x in wires if x not in r1cs.public_wires]
            wires = sorted(set(r1cs.public_wires) | set(rng.sample(rest, max_wires)))
        found: dict[int, int] = {}
        evidence: dict[int, list[int]] = {}
        bad_witness = 0
        for w in witnesses:
            if r1cs.failing(w):
                bad_witness += 1
                continue
            for x, d in free_wires(r1cs, w, deltas, wires).items():
                found.setdefault(x, d)
                evidence.setdefault(x, w)
        cats: dict[str, int] = {}
        sample: dict[str, tuple[int, int]] = {}
        for x in wires:
            cat = category(names.get(x, []), x in r1cs.public_wires) or "other intermediates"
            cats[cat] = cats.get(cat, 0) + 1
            if x not in found and cat not in sample:
                sample[cat] = (x, deltas[0])
        confirmed = _confirm_free(r1cs, r1cs_path, found, evidence) if r1cs_path is not None else {}
    # A wire that changes alone is a second witness for the same statement. A public one forges
    # the statement at once; a private one is a witness the circuit does not pin, which any
    # change in the circuit (or a value a public output depends on) can turn into a forgery.
    # Both FAIL: nothing is labelled benign from its name.
    public = sorted(x for x in found if x in r1cs.public_wires)
    private = sorted(x for x in found if x not in r1cs.public_wires)
    how = lambda x: found[x] if found[x] in (1, -1) else "a random value"  # noqa: E731
    details = [f"PUBLIC signal {wire_label(names, x)} can change alone (by {how(x)}) without breaking a "
               f"constraint{confirmed.get(x, '')}" for x in public]
    details += [f"private {wire_label(names, x)} can change alone by {how(x)} without breaking a "
                f"constraint: the circuit does not pin it{confirmed.get(x, '')}" for x in private]
    if bad_witness:
        details.insert(0, f"{bad_witness} of the honest witnesses do not satisfy the R1CS")
    counts = {"witnesses": len(witnesses), "wires probed": len(wires),
              "wires in the circuit": r1cs.n_wires - 1,
              "alterations": len(wires) * len(witnesses) * len(deltas),
              **{f"wires: {k}": v for k, v in sorted(cats.items())},
              "free public wires": len(public), "free private wires": len(private)}
    status = FAIL if public or private or bad_witness or not witnesses else PASS
    sampled = "" if len(wires) == r1cs.n_wires - 1 else f" (a seeded sample of {len(wires):,} of {r1cs.n_wires - 1:,})"
    return (Check("soundness", f"single-signal alterations ({label})", status,
                  f"{len(wires):,} wires{sampled} x {len(witnesses)} witnesses x {len(deltas)} deltas: "
                  f"{len(public)} public and {len(private)} private wires can change alone",
                  counts, details, t.seconds),
            list(sample.values()))


def _confirm_free(r1cs: R1cs, r1cs_path: Path, found: dict[int, int], evidence: dict[int, list[int]],
                  limit: int = 5) -> dict[int, str]:
    """Run the forged witness of up to ``limit`` free wires through ``snarkjs wtns check``."""
    out = {}
    with tempfile.TemporaryDirectory(prefix="calcm-audit-free-") as tmp:
        for x in sorted(found)[:limit]:
            w = list(evidence[x])
            w[x] = (w[x] + found[x]) % r1cs.prime
            ok = wtns_check(r1cs_path, w, r1cs.prime, Path(tmp), f"free{x}")
            out[x] = (" (forged witness ACCEPTED by snarkjs wtns check)" if ok else
                      " (snarkjs wtns check rejects the forged witness: Python evaluator and snarkjs DISAGREE)")
    return out


def wtns_check(r1cs_path: Path, values: list[int], prime: int, work: Path, name: str) -> bool:
    """``snarkjs wtns check r1cs wtns`` on ``values``: True when snarkjs accepts the witness."""
    path = write_wtns(work / f"{name}.wtns", Witness(prime, list(values)))
    return zk_wtns_check(r1cs_path, path)


def wtns_check_sample(r1cs: R1cs, r1cs_path: Path, witness: list[int], samples, names, label: str) -> Check:
    """snarkjs accepts the honest witness and rejects each sampled single-wire alteration."""
    with Timer() as t, tempfile.TemporaryDirectory(prefix="calcm-audit-check-") as tmp:
        details, agree = [], 0
        honest_ok = wtns_check(r1cs_path, witness, r1cs.prime, Path(tmp), "honest")
        if not honest_ok:
            details.append("snarkjs rejects the honest witness")
        for x, d in samples:
            w = list(witness)
            w[x] = (w[x] + d) % r1cs.prime
            py_rejects = bool(r1cs.failing(w, r1cs.uses(x)))
            sj_rejects = not wtns_check(r1cs_path, w, r1cs.prime, Path(tmp), f"alt{x}")
            if py_rejects == sj_rejects:
                agree += 1
            details.append(f"{wire_label(names, x)} {d:+d}: snarkjs {'rejects' if sj_rejects else 'ACCEPTS'}, "
                           f"Python evaluator {'rejects' if py_rejects else 'ACCEPTS'}")
    ok = honest_ok and agree == len(samples) and all("ACCEPTS" not in d for d in details)
    return Check("soundness", f"snarkjs wtns check cross-check ({label})", PASS if ok else FAIL,
                 f"honest witness {'accepted' if honest_ok else 'REJECTED'}; {agree}/{len(samples)} altered "
                 f"witnesses judged alike by snarkjs and the Python evaluator",
                 {"altered witnesses": len(samples), "agreeing verdicts": agree}, details, t.seconds)


# ------------------------------------------------------------------------------ 3. source scan

def source_scan_check(circuit: Circuit) -> tuple[Check, list[HintSite]]:
    with Timer() as t:
        sites = scan(circuit.project_files())
    unpinned = [s for s in sites if not s.pinned]
    details = [f"{s.id} ({s.template}): `{s.statement}` is NOT followed by a constraint on `{s.base}` "
               f"in its template" for s in unpinned]
    details += [f"{s.id} ({s.template}): `{s.statement}` pinned by {'; '.join(s.pinned_by[:3])}"
                for s in sites if s.pinned]
    return (Check("soundness", f"`<--` source scan ({circuit.label})", FAIL if unpinned else PASS,
                  f"{len(sites)} hints in {len(circuit.project_files())} source files: {len(unpinned)} unpinned",
                  {"hints": len(sites), "unpinned": len(unpinned)}, details, t.seconds), sites)


# ------------------------------------------------------------------------------ 4. hint mutations

# ------------------------------------------------------------------------------ 5. circom --inspect

_CA01 = re.compile(r'template "(\w+)\(.*?signals? (\w+)')


def _is_template_input(msg: str, circuit: Circuit) -> bool:
    """Whether a CA01 message names a ``signal input`` of its template (in the circuit's sources)."""
    m = _CA01.search(msg)
    if not m:
        return False
    template, signal = m.groups()
    for path in circuit.all_files().values():
        text = Path(path).read_text()
        t = re.search(rf"\btemplate\s+{template}\s*\(.*?\)\s*\{{(.*?)^\}}", text, re.S | re.M)
        if t:
            return re.search(rf"signal\s+input\s+{signal}\b", t.group(1)) is not None
    return False

_WARNING = re.compile(r"^(warning|error)\[(\w+)\]:\s*(.*)$")


def inspect_check(circuit: Circuit) -> Check:
    """``circom --inspect`` on the circuit's main (run from the repo root, as every compile)."""
    with Timer() as t, tempfile.TemporaryDirectory(prefix="inspect-", dir=tmp_parent()) as tmp:
        # A copy of the sources with the main beside them resolves includes as the build did.
        src = Path(tmp) / "circuits"
        shutil.copytree(circuit.circuits_dir, src, ignore=shutil.ignore_patterns("*_js"))
        main = src / "__audit_main.circom"
        main.write_text(circuit.main_source)
        rel = lambda p: os.path.relpath(p, REPO_ROOT)  # noqa: E731
        cmd = ["node", str(NODE_BIN / "circom2"), rel(main), "--inspect", "-l", rel(src), "-l", rel(CIRCOMLIB)]
        res = run(cmd, check=False)
        text = re.sub(r"\x1b\[[0-9;]*m", "", res.stdout + res.stderr)
    codes: dict[str, int] = {}
    findings, inputs_unused = [], []
    for line in text.splitlines():
        m = _WARNING.match(line.strip())
        if not m:
            continue
        kind, code, msg = m.groups()
        codes[code] = codes.get(code, 0) + 1
        # CA01: a local signal in no constraint. An error: the sources do not compile. A CA01 on
        # a template's own `signal input` (an opening its caller hashes, say) is a note: the
        # caller's wire carries the value, and a wire in no constraint at all is the R1CS
        # structure check's FAIL.
        if kind == "error" or (code == "CA01" and not _is_template_input(msg, circuit)):
            findings.append(f"{kind}[{code}]: {msg}")
        elif code == "CA01":
            inputs_unused.append(f"note[CA01]: {msg} (a `signal input` of that template: its value is "
                                 f"constrained by the caller, if anywhere; see R1CS structure)")
    notes = {"T3002": "`<--` where `<==` would do (the hint is pinned by its own constraint)",
             "CA02": "sub-component outputs unused by the parent (range-check bits, unused outputs)"}
    details = findings + inputs_unused + [f"{c} x{n}: {notes.get(c, 'see circom docs')}"
                                          for c, n in sorted(codes.items()) if c not in ("CA01",)]
    return Check("soundness", f"circom --inspect ({circuit.label})", FAIL if findings else PASS,
                 f"{sum(codes.values())} compiler notes, {len(findings)} signals in no constraint or errors",
                 {f"{c}": n for c, n in sorted(codes.items())}, details, t.seconds)



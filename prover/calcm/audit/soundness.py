"""Soundness probes: no output, intermediate or hint of a circuit can change while the R1CS
still accepts.

Five probes, each a :class:`~calcm.audit.report.Check`:

1. **R1CS structure** (:func:`structure_check`): every public input appears in
   at least one constraint (an unused public input could be set to anything),
   and so does every other wire.
2. **Single-signal alterations** (:func:`single_signal_check`): on valid
   witnesses, every wire (outputs, tail bits, thresholds, quotients, remainders,
   square roots, commitment openings, ...) is altered alone by +1, -1 and a
   random field element; the constraints it appears in are re-evaluated in
   Python (:mod:`calcm.audit.r1cs`). A wire whose alteration breaks no
   constraint is under-constrained. A sample of the altered witnesses goes
   through ``snarkjs wtns check`` as a cross-check of the Python evaluator
   (:func:`wtns_check_sample`).
3. **Source scan** (:func:`source_scan_check`): every ``<--`` of the project's
   circuits is followed in its template by a constraint on the same signal
   (:mod:`calcm.audit.sources`).
4. **Hint mutations** (:func:`hint_mutation_check`): the strongest probe. Each
   ``<--`` hint is recompiled as ``x <-- (expr) + delta`` (the R1CS is
   unchanged, byte for byte; only the witness generator differs), the mutated
   generator computes a witness from a valid input, *public signals are
   re-solved* where a failed constraint is linear in one (a dishonest prover
   picks the public signals it claims), and the original R1CS is evaluated on
   the result. If it holds, the hint is under-constrained and the forged
   witness (confirmed by ``snarkjs wtns check``) shows which signals, outputs
   included, a prover can change. A changed ``<==`` turned into ``<--`` is
   caught here even when the source scan cannot tell.
5. **circom --inspect** (:func:`inspect_check`): the compiler's own analysis;
   a signal it reports as appearing in no constraint (CA01) fails the check.

Hint-mutation verdicts are cached under ``cache_dir()/audit/hints`` by the
R1CS, the sources, the site, the delta and the probe inputs, since each needs a
compilation.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .. import atomic
from ..paths import CIRCUITS, NODE_BIN, REPO_ROOT, cache_dir
from ..zk.toolchain import CIRCOMLIB, ToolchainError, circom_compile, run, snarkjs
from ..zk.wtns import Witness, read_sym, write_wtns
from .r1cs import R1cs, load_r1cs
from .report import FAIL, PASS, WARN, Check, Timer
from .sources import HintSite, mutate, scan
from .wasm import WasmWitness, calculate_many

#: Bump to invalidate cached hint verdicts when the probe itself changes.
PROBE_VERSION = 4
#: Rounds of public-signal re-solving after a mutated witness.
REPAIR_ROUNDS = 4
#: Signal categories named in the report (regex on .sym names).
CATEGORIES = (
    ("tail bits", r"\.inTail\["),
    ("thresholds", r"\.threshold\b"),
    ("quotients", r"\.quot$|\.q$|\.eps$"),
    ("remainders", r"\.rem$|\.r$"),
    ("square roots", r"\.s$|\.sigma$|sqrt"),
    ("commitment openings", r"^main\.(salt|qty|collateral|siblings|sigma2Prev|pricePrev|step)\b"),
    ("margin outputs", r"\.(es|esRaw|addon|mm|im|collateralValue|equity|tier)$"),
    ("commitments and roots", r"commitment|\.root$|\.node$|\.hash$"),
    ("bits of range checks", r"\.bits\.out\[|\.out\[\d+\]$"),
)


@dataclass(frozen=True)
class Circuit:
    """A compiled circuit and the sources it was compiled from."""

    label: str
    main_source: str          # the generated main.circom
    circuits_dir: Path        # the project circuits it includes
    r1cs: Path
    wasm: Path
    sym: Path
    source_keys: tuple[str, ...] = ()   # manifest keys of the included files ("circuits/x.circom")

    def all_files(self) -> dict[str, Path]:
        """Every included source (project and circomlib) by manifest key."""
        out = dict(self.project_files())
        for k in self.source_keys:
            if k.startswith("circomlib/"):
                out[k] = CIRCOMLIB / k.removeprefix("circomlib/")
        return out

    def project_files(self) -> dict[str, Path]:
        """``{"circuits/<rel>": path}`` of the included project sources (all of them if unknown)."""
        keys = [k for k in self.source_keys if k.startswith("circuits/")]
        if not keys:
            keys = [f"circuits/{p.relative_to(self.circuits_dir)}" for p in self.circuits_dir.rglob("*.circom")]
        return {k: self.circuits_dir / k.removeprefix("circuits/") for k in sorted(keys)}


def wire_names(sym_path: Path) -> dict[int, list[str]]:
    """Wire -> every .sym name of it (aliases folded by --O2 share a wire)."""
    out: dict[int, list[str]] = {}
    for name, idx in read_sym(sym_path).items():
        out.setdefault(idx, []).append(name)
    return out


def _label(names: dict[int, list[str]], wire: int) -> str:
    ns = sorted(names.get(wire, []), key=len)
    return ns[0] + (f" (+{len(ns) - 1} aliases)" if len(ns) > 1 else "") if ns else f"wire {wire}"


def _category(names: Sequence[str], public: bool = False) -> str | None:
    if public:
        return "public signals"
    for cat, pat in CATEGORIES:
        if any(re.search(pat, n) for n in names):
            return cat
    return None


_ASSERT = re.compile(r"template (\w+?)(?:_\d+)? line: (\d+)")


def template_lines(files: dict[str, Path]) -> dict[str, tuple[str, list[str]]]:
    """Template name -> (file key, the file's lines), to read an assertion's source line."""
    out = {}
    for key, path in files.items():
        text = Path(path).read_text()
        for m in re.finditer(r"\btemplate\s+(?:parallel\s+)?(\w+)\s*\(", text):
            out.setdefault(m.group(1), (key, text.splitlines()))
    return out


def explain_assert(message: str, templates) -> tuple[str, bool]:
    """``(where: statement, is a constraint)`` for a wasm assertion message.

    circom's generator asserts every ``===`` (a constraint) and every ``assert()``
    (no constraint: a dishonest prover never runs it).
    """
    m = _ASSERT.search(message)
    if not m or m.group(1) not in templates:
        return message, False
    key, lines = templates[m.group(1)]
    n = int(m.group(2))
    stmt = " ".join(lines[n - 1].split()) if 0 < n <= len(lines) else "?"
    return f"{key}:{n} ({m.group(1)}): `{stmt}`", "===" in stmt and "assert" not in stmt


# ------------------------------------------------------------------------------ 1. structure

def structure_check(r1cs: R1cs, names: dict[int, list[str]], label: str) -> Check:
    with Timer() as t:
        unused_public = [w for w in r1cs.public_wires if not r1cs.uses(w)]
        unused = [w for w in range(1, r1cs.n_wires) if not r1cs.uses(w) and w not in unused_public]
    details = [f"public input {_label(names, w)} appears in no constraint" for w in unused_public]
    details += [f"wire {_label(names, w)} appears in no constraint" for w in unused]
    counts = {"constraints": len(r1cs.constraints), "wires": r1cs.n_wires, "public inputs": r1cs.n_public,
              "private inputs": r1cs.n_prv_in, "unused public inputs": len(unused_public),
              "wires in no constraint": len(unused)}
    ok = not details
    return Check("soundness", f"R1CS structure ({label})", PASS if ok else FAIL,
                 f"{r1cs.n_public} public inputs and {r1cs.n_wires - 1:,} wires, "
                 f"{len(unused_public)} unused public inputs, {len(unused)} wires in no constraint",
                 counts, details, t.seconds)


# ------------------------------------------------------------------------------ 2. single signal

def _coefficients(r1cs: R1cs):
    """Per constraint, ``{wire: coefficient}`` of A, B and C (cached on the object)."""
    cached = getattr(r1cs, "_coef_maps", None)
    if cached is None:
        cached = [(dict(c.a), dict(c.b), dict(c.c)) for c in r1cs.constraints]
        r1cs._coef_maps = cached  # type: ignore[attr-defined]
    return cached


def free_wires(r1cs: R1cs, w: list[int], deltas: Sequence[int]) -> dict[int, int]:
    """Wires ``x`` (>= 1) such that ``w + delta e_x`` satisfies every constraint: ``{x: delta}``.

    ``w`` must satisfy the R1CS. The residual of constraint i after the change is
    ``delta (A_x b + B_x a - C_x) + delta^2 A_x B_x`` (a, b, c its values at w).
    """
    p = r1cs.prime
    av = [r1cs.lc(c.a, w) for c in r1cs.constraints]
    bv = [r1cs.lc(c.b, w) for c in r1cs.constraints]
    coef = _coefficients(r1cs)
    free = {}
    for x in range(1, r1cs.n_wires):
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
                        label: str, seed: int = 0) -> tuple[Check, list[tuple[int, int]]]:
    """Alter every wire alone on each witness; returns the check and (wire, delta) samples for
    :func:`wtns_check_sample` (one per signal category)."""
    rng = random.Random(seed)
    deltas = (1, -1, rng.randrange(2, r1cs.prime))
    with Timer() as t:
        found: dict[int, int] = {}
        bad_witness = 0
        for w in witnesses:
            if r1cs.failing(w):
                bad_witness += 1
                continue
            found.update(free_wires(r1cs, w, deltas))
        cats: dict[str, int] = {}
        sample: dict[str, tuple[int, int]] = {}
        for x in range(1, r1cs.n_wires):
            cat = _category(names.get(x, []), x in r1cs.public_wires) or "other intermediates"
            cats[cat] = cats.get(cat, 0) + 1
            if x not in found and cat not in sample:
                sample[cat] = (x, deltas[0])
    # Changing one wire alone leaves every other wire, public or private, as it was: it can
    # only forge the statement if the wire is itself public. A free private wire is an
    # alternative witness with identical outputs (e.g. the tail bits of tied losses, which
    # circuits/tail.circom documents): listed as a warning for the auditor.
    public = sorted(x for x in found if x in r1cs.public_wires)
    private = sorted(x for x in found if x not in r1cs.public_wires)
    details = [f"PUBLIC signal {_label(names, x)} can change alone without breaking a constraint"
               for x in public]
    details += [f"{_label(names, x)} can change alone by {found[x] if found[x] in (1, -1) else 'a random value'}"
                f" without breaking a constraint{_why_free(names.get(x, []))}" for x in private]
    if bad_witness:
        details.insert(0, f"{bad_witness} of the honest witnesses do not satisfy the R1CS")
    counts = {"witnesses": len(witnesses), "wires probed": (r1cs.n_wires - 1),
              "alterations": (r1cs.n_wires - 1) * len(witnesses) * len(deltas),
              **{f"wires: {k}": v for k, v in sorted(cats.items())},
              "free public wires": len(public), "free private wires": len(private)}
    status = FAIL if public or bad_witness or not witnesses else WARN if private else PASS
    return (Check("soundness", f"single-signal alterations ({label})", status,
                  f"{r1cs.n_wires - 1:,} wires x {len(witnesses)} witnesses x {len(deltas)} deltas: "
                  f"{len(public)} public and {len(private)} private wires can change alone "
                  f"(a private one changes no other signal)", counts, details, t.seconds),
            list(sample.values()))


def _why_free(names: Sequence[str]) -> str:
    if any(".inTail[" in n for n in names):
        return " (tail selection among tied losses: any valid selection has the same tail sum)"
    return " (no other signal changes with it)"


def wtns_check(r1cs_path: Path, values: list[int], prime: int, work: Path, name: str) -> bool:
    """``snarkjs wtns check r1cs wtns`` on ``values``: True when snarkjs accepts the witness."""
    path = write_wtns(work / f"{name}.wtns", Witness(prime, list(values)))
    res = snarkjs("wtns", "check", r1cs_path, path, check=False)
    text = res.stdout + res.stderr
    if "WITNESS IS CORRECT" in text:
        return True
    if "WITNESS IS NOT CORRECT" in text:
        return False
    raise ToolchainError(["snarkjs", "wtns", "check"], None, text)


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
            details.append(f"{_label(names, x)} {d:+d}: snarkjs {'rejects' if sj_rejects else 'ACCEPTS'}, "
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

@dataclass
class HintVerdict:
    site: str
    delta: int
    verdict: str                 # pinned | UNDER-CONSTRAINED | not exercised | inconclusive
    detail: str

    def to_json(self) -> dict:
        return {"site": self.site, "delta": self.delta, "verdict": self.verdict, "detail": self.detail}


def _tmp_parent() -> Path:
    # circom2 (WASM) opens include paths only below its working directory, the repo root.
    d = REPO_ROOT / "build" / ".audit-tmp"
    d.mkdir(parents=True, exist_ok=True)
    return d


def compile_variant(circuit: Circuit, edits: dict[str, str], out: Path) -> tuple[Path, Path, Path]:
    """Compile ``circuit``'s main against a copy of its sources with ``edits`` applied.

    ``edits``: ``{"circuits/<rel>": new text}``. Returns (r1cs, wasm, sym) in ``out``.
    """
    src = out / "circuits"
    shutil.copytree(circuit.circuits_dir, src, ignore=shutil.ignore_patterns("*.r1cs", "*_js", "*.sym"))
    for key, text in edits.items():
        (src / key.removeprefix("circuits/")).write_text(text)
    main = src / "__audit_main.circom"
    main.write_text(circuit.main_source)
    res = circom_compile(main, out / "out", libs=(src, CIRCOMLIB))
    return res.r1cs, res.wasm, res.sym


def _public_keys(names: dict[int, list[str]], r1cs: R1cs) -> dict[int, tuple[str, int | None]]:
    """Public wire -> (input key, array index or None), from ``main.<name>[i]``."""
    out = {}
    for w in r1cs.public_wires:
        for n in names.get(w, []):
            m = re.fullmatch(r"main\.(\w+)(?:\[(\d+)\])?", n)
            if m:
                out[w] = (m.group(1), int(m.group(2)) if m.group(2) is not None else None)
                break
    return out


def solve_public(r1cs: R1cs, w: list[int], failing: Sequence[int]) -> dict[int, int]:
    """Public-input values that satisfy failed constraints linear in exactly one public wire."""
    p = r1cs.prime
    coef = _coefficients(r1cs)
    pub = set(r1cs.public_wires)
    out: dict[int, int] = {}
    for i in failing:
        if i < 0:
            continue
        ws = r1cs.constraints[i].wires() & pub
        if len(ws) != 1:
            continue
        x = ws.pop()
        A, B, C = coef[i]
        ax, bx, cx = A.get(x, 0), B.get(x, 0), C.get(x, 0)
        if ax * bx % p:
            continue  # quadratic in the public wire
        a0 = (r1cs.lc(r1cs.constraints[i].a, w) - ax * w[x]) % p
        b0 = (r1cs.lc(r1cs.constraints[i].b, w) - bx * w[x]) % p
        c0 = (r1cs.lc(r1cs.constraints[i].c, w) - cx * w[x]) % p
        k = (ax * b0 + bx * a0 - cx) % p
        if k:
            out[x] = (c0 - a0 * b0) * pow(k, -1, p) % p
    return out


def forge(r1cs: R1cs, wasm: Path, inp: dict, names: dict[int, list[str]]) -> tuple[WasmWitness, list[int], dict]:
    """Run the (mutated) generator on ``inp``, re-solving public signals; returns the last witness,
    the constraints it still fails and the public inputs that were changed."""
    keys = _public_keys(names, r1cs)
    inp = json.loads(json.dumps(inp))
    changed: dict[str, str] = {}
    wit = calculate_many(wasm, [inp])[0]
    for _ in range(REPAIR_ROUNDS):
        if wit.values is None:
            return wit, [-1], changed
        failing = r1cs.failing(wit.values)
        if not failing:
            return wit, [], changed
        fix = {x: v for x, v in solve_public(r1cs, wit.values, failing).items() if x in keys}
        if not fix:
            return wit, failing, changed
        for x, v in fix.items():
            key, idx = keys[x]
            if idx is None:
                inp[key] = str(v)
            else:
                inp[key][idx] = str(v)
            changed[_label(names, x)] = str(v)
        wit = calculate_many(wasm, [inp])[0]
    return wit, (r1cs.failing(wit.values) if wit.values is not None else [-1]), changed


def _probe_site(circuit: Circuit, r1cs: R1cs, names, site: HintSite, delta: int, inputs: list[dict],
                honest: list[list[int]], templates) -> HintVerdict:
    text = (circuit.circuits_dir / site.file.removeprefix("circuits/")).read_text()
    with tempfile.TemporaryDirectory(prefix="mut-", dir=_tmp_parent()) as tmp:
        try:
            r1cs_m, wasm_m, _ = compile_variant(circuit, {site.file: mutate(text, site, delta)}, Path(tmp))
        except ToolchainError as exc:
            return HintVerdict(site.id, delta, "inconclusive", f"mutated source does not compile: {exc}"[:300])
        if r1cs_m.read_bytes() != Path(circuit.r1cs).read_bytes():
            return HintVerdict(site.id, delta, "inconclusive", "the mutation changed the R1CS")
        outcomes = []
        for inp, good in zip(inputs, honest):
            wit, failing, changed_pub = forge(r1cs, wasm_m, inp, names)
            if wit.values is None:
                outcomes.append(("inconclusive", f"generator aborted: {wit.error}"))
                continue
            diff = [x for x in range(1, r1cs.n_wires) if wit.values[x] != good[x]]
            # Source constraints (`===`, not `assert()`) the generator saw fail.
            broken = [w for w, is_con in (explain_assert(a, templates) for a in dict.fromkeys(wit.asserts))
                      if is_con]
            if failing:
                # The witness is complete (assertions are non-fatal) and the R1CS rejects it.
                outcomes.append(("pinned", f"rejected: {len(failing)} R1CS constraints fail"
                                           + (f", first the source constraint {broken[0]}" if broken else "")))
            elif not diff and not broken:
                outcomes.append(("not exercised", "the mutated hint left the witness unchanged"))
            elif not wtns_check(circuit.r1cs, wit.values, r1cs.prime, Path(tmp), "forged"):
                outcomes.append(("inconclusive", "the Python evaluator accepts a witness snarkjs rejects"))
            else:
                # Show what a verifier or a user would see change first: public, then outputs.
                rank = lambda x: (x not in r1cs.public_wires,  # noqa: E731
                                  _category(names.get(x, [])) != "margin outputs", x)
                parts = []
                if diff:
                    shown = ", ".join(_label(names, x) for x in sorted(diff, key=rank)[:6])
                    parts.append(f"{len(diff)} signals differ from the honest witness, e.g. {shown}")
                if broken:
                    parts.append(f"the source constraint {broken[0]} fails in the generator yet the R1CS "
                                 f"holds: it constrains nothing (a signal in it is free)")
                if changed_pub:
                    parts.append(f"claimed public signals changed: {changed_pub}")
                outcomes.append(("UNDER-CONSTRAINED", "a witness with this hint altered satisfies the R1CS "
                                 "(confirmed by snarkjs wtns check); " + "; ".join(parts)))
    for verdict in ("UNDER-CONSTRAINED", "pinned", "inconclusive", "not exercised"):
        hit = [d for v, d in outcomes if v == verdict]
        if hit:
            return HintVerdict(site.id, delta, verdict, hit[0])
    return HintVerdict(site.id, delta, "inconclusive", "no probe input")


def _cache_key(circuit: Circuit, site: HintSite, delta: int, inputs: list[dict]) -> str:
    h = hashlib.sha256()
    h.update(f"v{PROBE_VERSION}|{site.id}|{site.statement}|{delta}\n".encode())
    h.update(Path(circuit.r1cs).read_bytes())
    h.update(circuit.main_source.encode())
    for key, path in circuit.project_files().items():
        h.update(key.encode() + path.read_bytes())
    h.update(json.dumps(inputs, sort_keys=True).encode())
    return h.hexdigest()


def hint_mutation_check(circuit: Circuit, sites: Sequence[HintSite], inputs: list[dict],
                        honest: list[list[int]], deltas: Sequence[int] = (1, -1), *,
                        use_cache: bool = True, jobs: int = 2) -> Check:
    """Mutate every hint by each delta (see the module docstring); FAIL on any forged witness.

    Uncached mutations compile in ``jobs`` parallel circom processes.
    """
    r1cs = load_r1cs(circuit.r1cs)
    names = wire_names(circuit.sym)
    templates = template_lines(circuit.all_files())
    r1cs.uses(0), _coefficients(r1cs)          # build the shared indexes before any thread reads them
    with Timer() as t:
        todo, verdicts, cached = [], {}, 0
        for site in sites:
            for delta in deltas:
                path = cache_dir() / "audit" / "hints" / f"{_cache_key(circuit, site, delta, inputs)}.json"
                if use_cache and path.exists():
                    verdicts[(site.id, delta)] = HintVerdict(**json.loads(path.read_text()))
                    cached += 1
                else:
                    todo.append((site, delta, path))

        def probe(job):
            site, delta, path = job
            v = _probe_site(circuit, r1cs, names, site, delta, inputs, honest, templates)
            if v.verdict != "inconclusive":
                atomic.write_json(path, v.to_json())
            return (site.id, delta), v

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            verdicts.update(pool.map(probe, todo))
    ordered = [verdicts[(s.id, d)] for s in sites for d in deltas]
    tally: dict[str, int] = {}
    for v in ordered:
        tally[v.verdict] = tally.get(v.verdict, 0) + 1
    forged = [v for v in ordered if v.verdict == "UNDER-CONSTRAINED"]
    unclear = [v for v in ordered if v.verdict == "inconclusive"]
    status = FAIL if forged or unclear else PASS
    details = [f"{v.site} delta {v.delta:+d}: {v.verdict}: {v.detail}" for v in
               sorted(ordered, key=lambda v: (v.verdict != "UNDER-CONSTRAINED", v.verdict, v.site))]
    counts = {"hints": len(sites), "mutations": len(ordered), "probe inputs": len(inputs),
              **tally, "cached verdicts": cached}
    return Check("soundness", f"hint mutations ({circuit.label})", status,
                 f"{len(ordered)} mutations of {len(sites)} hints on {len(inputs)} witnesses: "
                 f"{len(forged)} forged a valid witness, {tally.get('pinned', 0)} rejected",
                 counts, details, t.seconds)


# ------------------------------------------------------------------------------ 5. circom --inspect

_WARNING = re.compile(r"^(warning|error)\[(\w+)\]:\s*(.*)$")


def inspect_check(circuit: Circuit) -> Check:
    """``circom --inspect`` on the circuit's main (run from the repo root, as every compile)."""
    with Timer() as t, tempfile.TemporaryDirectory(prefix="inspect-", dir=_tmp_parent()) as tmp:
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
    findings = []
    for line in text.splitlines():
        m = _WARNING.match(line.strip())
        if not m:
            continue
        kind, code, msg = m.groups()
        codes[code] = codes.get(code, 0) + 1
        # CA01: a local signal in no constraint. An error: the sources do not compile.
        if kind == "error" or code == "CA01":
            findings.append(f"{kind}[{code}]: {msg}")
    notes = {"T3002": "`<--` where `<==` would do (the hint is pinned by its own constraint)",
             "CA02": "sub-component outputs unused by the parent (range-check bits, unused outputs)"}
    details = findings + [f"{c} x{n}: {notes.get(c, 'see circom docs')}" for c, n in sorted(codes.items())
                          if c not in ("CA01",)]
    return Check("soundness", f"circom --inspect ({circuit.label})", FAIL if findings else PASS,
                 f"{sum(codes.values())} compiler notes, {len(findings)} signals in no constraint or errors",
                 {f"{c}": n for c, n in sorted(codes.items())}, details, t.seconds)


def build_circuit(build, label: str | None = None, circuits_dir: Path = CIRCUITS) -> Circuit:
    """The :class:`Circuit` of a :class:`~calcm.zk.setup.Build`."""
    return Circuit(label or build.manifest["config"]["name"], (build.dir / "main.circom").read_text(),
                   circuits_dir, build.r1cs, build.wasm, build.sym,
                   tuple(build.manifest.get("circuit_sources", {})))

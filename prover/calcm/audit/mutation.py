"""Hint mutations: can a dishonest prover change a ``<--`` hint and still satisfy the R1CS?

Each hint (:mod:`calcm.audit.sources`) is recompiled as ``x <-- (expr) + delta``
(and, for a bit pinned by ``x * (x - 1) === 0``, as ``x <-- 1 - (expr)``, so
every such bit is flipped yet still boolean) with everything else unchanged,
so the R1CS is byte for byte the audited one
and only the witness generator differs. The mutated generator computes a
witness from a valid input (its failed assertions made non-fatal,
:mod:`calcm.audit.wasm`); public signals are re-solved where a failed
constraint is linear in exactly one (a prover picks the public signals it
claims) and the input is rerun with them; then the *original* R1CS is
evaluated on the result:

- it fails: the hint is **pinned**; the report names the first source
  ``===`` the generator saw fail;
- it holds and signals differ from the honest witness, or a source ``===``
  failed in the generator while the R1CS holds (the constraint was folded into
  nothing): **UNDER-CONSTRAINED**, confirmed by ``snarkjs wtns check``, with
  the signals that changed (public and outputs first);
- nothing changed: **not exercised** (e.g. a template no input reaches).

Verdicts are cached under ``cache_dir()/audit/hints`` by the r1cs, the sources,
the site, the delta and the probe inputs, since each needs a compilation;
uncached ones compile in parallel.
"""
from __future__ import annotations

import hashlib
import json
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .. import atomic
from ..paths import cache_dir
from ..zk.toolchain import ToolchainError
from .circuit import (Circuit, category, compile_variant, explain_assert, template_lines,
                      tmp_parent, wire_label, wire_names)
from .r1cs import R1cs, load_r1cs
from .report import FAIL, PASS, SKIP, Check, Timer
from .soundness import wtns_check
from .sources import HintSite, mutate
from .wasm import WasmWitness, calculate_many

#: Bump to invalidate cached hint verdicts when the probe itself changes.
PROBE_VERSION = 4
#: Rounds of public-signal re-solving after a mutated witness.
REPAIR_ROUNDS = 4


@dataclass
class HintVerdict:
    """The outcome of one mutation of one hint (what the cache stores)."""

    site: str
    delta: int | str           # a shift, or "flip"
    verdict: str                 # pinned | UNDER-CONSTRAINED | not exercised | inconclusive
    detail: str

    def to_json(self) -> dict:
        return {"site": self.site, "delta": self.delta, "verdict": self.verdict, "detail": self.detail}


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
    coef = r1cs.coefficient_maps()
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
            changed[wire_label(names, x)] = str(v)
        wit = calculate_many(wasm, [inp])[0]
    return wit, (r1cs.failing(wit.values) if wit.values is not None else [-1]), changed


def _probe_site(circuit: Circuit, r1cs: R1cs, names, site: HintSite, delta: int | str, inputs: list[dict],
                honest: list[list[int]], templates) -> HintVerdict:
    text = (circuit.circuits_dir / site.file.removeprefix("circuits/")).read_text()
    with tempfile.TemporaryDirectory(prefix="mut-", dir=tmp_parent()) as tmp:
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
                                  category(names.get(x, [])) != "margin outputs", x)
                parts = []
                if diff:
                    shown = ", ".join(wire_label(names, x) for x in sorted(diff, key=rank)[:6])
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


def mutations(site: HintSite, deltas: Sequence[int]) -> list[int | str]:
    """The mutations tried on ``site``: every delta, and a flip for a boolean-pinned bit."""
    return list(deltas) + (["flip"] if site.boolean else [])


def _fmt(delta: int | str) -> str:
    return "flip" if delta == "flip" else f"delta {delta:+d}"


def _cache_key(circuit: Circuit, site: HintSite, delta: int | str, inputs: list[dict]) -> str:
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
    r1cs.uses(0), r1cs.coefficient_maps()          # build the shared indexes before any thread reads them
    with Timer() as t:
        todo, verdicts, cached = [], {}, 0
        for site in sites:
            for delta in mutations(site, deltas):
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
    ordered = [verdicts[(s.id, d)] for s in sites for d in mutations(s, deltas)]
    tally: dict[str, int] = {}
    for v in ordered:
        tally[v.verdict] = tally.get(v.verdict, 0) + 1
    forged = [v for v in ordered if v.verdict == "UNDER-CONSTRAINED"]
    unclear = [v for v in ordered if v.verdict == "inconclusive"]
    status = FAIL if forged or unclear else PASS
    details = [f"{v.site} {_fmt(v.delta)}: {v.verdict}: {v.detail}" for v in
               sorted(ordered, key=lambda v: (v.verdict != "UNDER-CONSTRAINED", v.verdict, v.site))]
    counts = {"hints": len(sites), "mutations": len(ordered), "probe inputs": len(inputs),
              **tally, "cached verdicts": cached}
    return Check("soundness", f"hint mutations ({circuit.label})", status,
                 f"{len(ordered)} mutations of {len(sites)} hints on {len(inputs)} witnesses: "
                 f"{len(forged)} forged a valid witness, {tally.get('pinned', 0)} rejected",
                 counts, details, t.seconds)


# ------------------------------------------------------------------------------ tail hint inputs

def _signed(v: int, p: int) -> int:
    return v - p if v > p // 2 else v


def tail_alternatives(inp: dict, honest: list[int], sym: dict[str, int], prime: int, account: int) -> list[tuple[str, dict]]:
    """Other tails the prover could claim for ``account``: for every cut ``c != k`` the first
    ``c`` scenarios in the published order (loss descending, index ascending), with the step and
    threshold at the ``c``-th (so every local tail constraint but the count can hold)."""
    S = len(inp["inTail"][account])
    k = sum(int(b) for b in inp["inTail"][account])
    names = [tuple(f"main.margin[{account}].{sub}.loss[{s}]" for sub in ("risk.losses", "risk.tail", "losses", "tail"))
             for s in range(S)]
    if not all(any(n in sym for n in pair) for pair in names):
        return []
    losses = [_signed(honest[next(sym[n] for n in pair if n in sym)], prime) for pair in names]
    order = sorted(range(S), key=lambda s: (-losses[s], s))
    out = []
    for c in range(1, S + 1):
        if c == k:
            continue
        chosen, last = set(order[:c]), order[c - 1]
        alt = json.loads(json.dumps(inp))
        alt["inTail"][account] = ["1" if s in chosen else "0" for s in range(S)]
        alt["tailStep"][account] = ["1" if s <= last else "0" for s in range(S)]
        alt["threshold"][account] = str(losses[last] % prime)
        out.append((f"account {account}: the top {c} scenarios instead of k={k}", alt))
    return out


def tail_hint_check(circuit: Circuit, inputs: list[dict], honest: list[list[int]], label: str,
                    max_accounts: int = 2) -> Check:
    """The tail hints are circuit inputs, not ``<--`` hints, so the mutations above never touch
    them: try every other tail size with a self-consistent step and threshold (public signals
    re-solved as a forger would claim them); the R1CS must reject each (issue 13 A1: a deleted
    ``count === k`` lets a prover add negative-loss scenarios and lower ES)."""
    from ..zk.wtns import read_sym

    r1cs = load_r1cs(circuit.r1cs)
    names = wire_names(circuit.sym)
    sym = read_sym(circuit.sym)
    with Timer() as t, tempfile.TemporaryDirectory(prefix="calcm-audit-tail-") as tmp:
        tried, forged, details = 0, [], []
        for i, (inp, good) in enumerate(zip(inputs, honest)):
            if "inTail" not in inp:
                continue
            for a in range(min(max_accounts, len(inp["inTail"]))):
                for what, alt in tail_alternatives(inp, good, sym, r1cs.prime, a):
                    tried += 1
                    wit, failing, changed = forge(r1cs, circuit.wasm, alt, names)
                    if wit.values is None or failing:
                        continue
                    ok = wtns_check(circuit.r1cs, wit.values, r1cs.prime, Path(tmp), f"tail{tried}")
                    diff = [wire_label(names, x) for x in r1cs.public_wires if wit.values[x] != good[x]]
                    forged.append(f"probe input {i}, {what}: the R1CS accepts it"
                                  f"{' (confirmed by snarkjs wtns check)' if ok else ''}; public signals "
                                  f"changed: {diff or 'none'}; claimed {changed}")
    if not tried:
        return Check("soundness", f"tail hint alternatives ({label})", SKIP, "no tail hints in this circuit")
    details = forged + [f"{tried - len(forged)} of {tried} alternative tails rejected by the R1CS"]
    return Check("soundness", f"tail hint alternatives ({label})", FAIL if forged else PASS,
                 f"{tried} other tail sizes tried (step and threshold consistent, public signals re-solved): "
                 f"{len(forged)} accepted", {"alternatives": tried, "accepted": len(forged)}, details, t.seconds)

"""Small harnesses: one template of circuits/ compiled alone, so the auditor's hint mutations
and free-wire probe run over EVERY template with a ``<--`` in seconds (issue 13, item 5).

A harness is a generated main (``component main = FloorDiv(63, 14);``) that includes project
sources by their path below ``circuits/``. :func:`compile_harness` compiles it once per source
hash (the main, and every project and circomlib file it includes, followed transitively) into
``$CALCM_CACHE/audit/harness/<sha256>/``; :func:`harness_checks` runs
:func:`calcm.audit.soundness.single_signal_check` and
:func:`calcm.audit.mutation.hint_mutation_check` on it. The mutation verdicts are cached by
:mod:`calcm.audit.mutation` under the same narrow key (only the included files), so editing
one template recompiles only the harnesses that include it.
"""
from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
from pathlib import Path
from typing import Sequence

from ..paths import CIRCUITS, cache_dir
from ..zk.toolchain import CIRCOMLIB
from .circuit import Circuit, compile_variant, tmp_parent, wire_names
from .r1cs import load_r1cs
from .report import Check
from .sources import HintSite, scan
from .wasm import calculate_many

_INCLUDE = re.compile(r'^\s*include\s+"([^"]+)"\s*;', re.M)


def included_files(main_source: str, circuits: Path = CIRCUITS) -> tuple[str, ...]:
    """Manifest keys (``circuits/x.circom``, ``circomlib/y.circom``) of every file ``main_source``
    includes, transitively. Resolution as circom does it here: the including file's directory,
    then ``circuits/``, then circomlib's ``circuits/``."""
    seen: dict[str, Path] = {}

    def resolve(name: str, here: Path | None) -> tuple[str, Path]:
        for base in (here, circuits, CIRCOMLIB):
            if base is None:
                continue
            p = (base / name).resolve()
            if p.exists():
                for root, key in ((circuits.resolve(), "circuits"), (CIRCOMLIB.resolve(), "circomlib")):
                    if p.is_relative_to(root):
                        return f"{key}/{p.relative_to(root)}", p
        raise FileNotFoundError(f"include {name!r} not found (from {here})")

    todo = [(m, None) for m in _INCLUDE.findall(main_source)]
    while todo:
        name, here = todo.pop()
        key, path = resolve(name, here)
        if key in seen:
            continue
        seen[key] = path
        todo += [(m, path.parent) for m in _INCLUDE.findall(path.read_text())]
    return tuple(sorted(seen))


def harness_key(main_source: str, keys: Sequence[str], circuits: Path = CIRCUITS) -> str:
    """sha256 of the main and every included file (what the compiled harness depends on)."""
    h = hashlib.sha256(main_source.encode())
    for k in keys:
        root = circuits if k.startswith("circuits/") else CIRCOMLIB
        h.update(k.encode() + b"\0" + (root / k.split("/", 1)[1]).read_bytes())
    return h.hexdigest()


def compile_harness(label: str, main_source: str, circuits: Path = CIRCUITS) -> Circuit:
    """The compiled harness ``main_source`` against the sources in ``circuits`` (default: the
    project's; a test passes an edited copy), cached by :func:`harness_key`."""
    keys = included_files(main_source, circuits)
    out = cache_dir() / "audit" / "harness" / harness_key(main_source, keys, circuits)
    files = [out / "main.r1cs", out / "main_js" / "main.wasm", out / "main.sym"]
    if not all(f.exists() for f in files):
        stub = Circuit(label, main_source, circuits, Path(), Path(), Path(), keys)
        with tempfile.TemporaryDirectory(prefix="harness-", dir=tmp_parent()) as tmp:
            r1cs, wasm, sym = compile_variant(stub, {}, Path(tmp))
            out.parent.mkdir(parents=True, exist_ok=True)
            part = Path(tempfile.mkdtemp(prefix=out.name + ".part-", dir=out.parent))   # unique: concurrent runs
            shutil.copyfile(r1cs, part / "main.r1cs")
            shutil.copyfile(sym, part / "main.sym")
            shutil.copytree(wasm.parent, part / "main_js")   # the wasm and circom's witness_calculator.js
            (part / "main_js" / wasm.name).rename(part / "main_js" / "main.wasm")
            try:
                part.rename(out)
            except OSError:                 # another process finished the same harness first
                shutil.rmtree(part, ignore_errors=True)
    return Circuit(label, main_source, circuits, *files, keys)


def template_sites(circuit: Circuit) -> dict[str, list[HintSite]]:
    """The ``<--`` sites of every template in the harness's project sources, by template name."""
    out: dict[str, list[HintSite]] = {}
    for s in scan(circuit.project_files()):
        out.setdefault(s.template, []).append(s)
    return out


def project_hint_templates() -> dict[str, list[HintSite]]:
    """Every template of circuits/ (and circuits/model/) holding a ``<--``/``-->``, with its sites."""
    files = {f"circuits/{p.relative_to(CIRCUITS)}": p for p in sorted(CIRCUITS.rglob("*.circom"))}
    out: dict[str, list[HintSite]] = {}
    for s in scan(files):
        out.setdefault(s.template, []).append(s)
    return out


def harness_checks(circuit: Circuit, template: str, inputs: list[dict], deltas: Sequence[int] = (1, -1),
                   *, jobs: int = 2, use_cache: bool = True) -> tuple[Check, Check]:
    """(single-signal alterations, hint mutations of ``template``'s sites) on the harness."""
    from .mutation import hint_mutation_check
    from .soundness import single_signal_check

    r1cs = load_r1cs(circuit.r1cs)
    runs = calculate_many(circuit.wasm, inputs)
    bad = [f"input {i}: {w.asserts} {w.error}" for i, w in enumerate(runs) if not w.clean]
    if bad:
        raise ValueError(f"harness {circuit.label}: honest inputs rejected: {bad}")
    honest = [w.values for w in runs]
    single, _ = single_signal_check(r1cs, honest, wire_names(circuit.sym), circuit.label,
                                    r1cs_path=circuit.r1cs)
    sites = template_sites(circuit).get(template, [])
    hints = hint_mutation_check(circuit, sites, inputs, honest, deltas, jobs=jobs, use_cache=use_cache)
    return single, hints

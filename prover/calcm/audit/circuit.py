"""A compiled circuit under audit: its files, its sources, and the names of its wires.

Shared by the soundness probes (:mod:`calcm.audit.soundness`) and the hint
mutations (:mod:`calcm.audit.mutation`): the :class:`Circuit` record, wire
names from the ``.sym`` file, signal categories for the report, the source
line behind a failed assertion, and :func:`compile_variant`, which compiles
the circuit's main against an edited copy of its sources.
"""
from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..paths import CIRCUITS, REPO_ROOT
from ..zk.toolchain import CIRCOMLIB, circom_compile
from ..zk.wtns import read_sym

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


def wire_label(names: dict[int, list[str]], wire: int) -> str:
    """The shortest .sym name of ``wire`` and how many aliases it has."""
    ns = sorted(names.get(wire, []), key=len)
    return ns[0] + (f" (+{len(ns) - 1} aliases)" if len(ns) > 1 else "") if ns else f"wire {wire}"


def category(names: Sequence[str], public: bool = False) -> str | None:
    """The report category of a wire with these .sym names (None: another intermediate)."""
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


def build_circuit(build, label: str | None = None, circuits_dir: Path = CIRCUITS) -> Circuit:
    """The :class:`Circuit` of a :class:`~calcm.zk.setup.Build`."""
    return Circuit(label or build.manifest["config"]["name"], (build.dir / "main.circom").read_text(),
                   circuits_dir, build.r1cs, build.wasm, build.sym,
                   tuple(build.manifest.get("circuit_sources", {})))


def tmp_parent() -> Path:
    """Where variants are compiled: circom2 (WASM) opens include paths only below its working
    directory, the repo root, so this is ``build/.audit-tmp`` (git-ignored)."""
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

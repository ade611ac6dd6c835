"""What a build's manifest says, and whether the files on disk still match it.

:func:`manifest_check`: the r1cs, wasm, proving key (zkey or ``proving_key.ark``),
verification key, ``verifier.sol``, generated main and ptau (when the build has one) on
disk have the sha256 the manifest records, the manifest's embedded verification key is
the file's, and every circuit source the build compiled still has the recorded hash (the
build is of the sources audited).
"""
from __future__ import annotations

import json
from pathlib import Path

from ..paths import REPO_ROOT
from ..zk.ptau import sha256_file
from .report import FAIL, PASS, Check, Timer


def ptau_path(build, override: Path | None = None) -> Path | None:
    if override is not None:
        return Path(override)
    path = (build.manifest.get("ptau") or {}).get("path")
    return Path(path) if path else None


def is_dev(build) -> bool:
    """A groth16py single-party build (no zkey, no ptau)."""
    return build.mode == "dev" or not (build.manifest.get("zkey") or {}).get("sha256")


def manifest_check(build, label: str, circuits_root: Path = REPO_ROOT, ptau: Path | None = None) -> Check:
    """Every file the manifest names has the recorded sha256; sources unchanged since the build."""
    m = build.manifest
    with Timer() as t:
        rows = [("r1cs", build.r1cs, m["r1cs"]["sha256"]), ("wasm", build.wasm, m["wasm"]["sha256"]),
                ("verification key", build.vkey_path, m["vkey_sha256"]),
                ("generated main.circom", build.dir / "main.circom", m["main_circom"]["sha256"])]
        if is_dev(build):
            rows.append(("proving key (proving_key.ark)", build.proving_key_path, build.proving_key_sha256))
        else:
            rows.append(("zkey", build.zkey, m["zkey"]["sha256"]))
            rows.append(("ptau", ptau_path(build, ptau), m["ptau"]["sha256"]))
        if (m.get("verifier_sol") or {}).get("sha256"):
            rows.append(("verifier.sol", build.verifier_sol, m["verifier_sol"]["sha256"]))
        details, bad = [], 0
        for what, path, want in rows:
            if path is None or not Path(path).exists():
                bad += 1
                details.append(f"{what}: {path} is missing")
                continue
            got = sha256_file(path)
            if got != want:
                bad += 1
                details.append(f"{what}: sha256 {got[:16]} != manifest {str(want)[:16]} ({path})")
        if build.vkey_path.exists() and json.loads(build.vkey_path.read_text()) != m["vkey"]:
            bad += 1
            details.append("verification key: the manifest's embedded key differs from verification_key.json")
        changed = []
        for key, want in m.get("circuit_sources", {}).items():
            path = _source_path(key, circuits_root)
            if not path.exists() or sha256_file(path) != want:
                changed.append(key)
        if changed:
            bad += 1
            details.append(f"circuit sources changed since the build: {', '.join(changed)}")
    n = len(rows) + 1 + len(m.get("circuit_sources", {}))
    return Check("setup", f"manifest hashes ({label})", FAIL if bad else PASS,
                 f"{n} hashes checked ({', '.join(r[0] for r in rows)}, "
                 f"{len(m.get('circuit_sources', {}))} circuit sources): {bad} mismatches",
                 {"hashes": n, "mismatches": bad}, details, t.seconds)


def _source_path(key: str, root: Path) -> Path:
    from ..zk.toolchain import CIRCOMLIB
    if key.startswith("circomlib/"):
        return CIRCOMLIB / key.removeprefix("circomlib/")
    return root / key

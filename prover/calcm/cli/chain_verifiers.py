"""``calcm chain verifiers``' work: write the Groth16 verifier of each build (never edited by
hand) and the manifest that says which build each came from."""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import InputError
from .chain_options import margin_build


MODEL_KINDS = ("step", "reval", "option")


def model_build_dirs(path: Path | None) -> dict[str, Path]:
    """``--model-builds FILE``: JSON naming the ``step``, ``reval`` and (with options)
    ``option`` build dirs (the demo's and keeper's builds file; a deployment's ``builds``)."""
    if path is None:
        return {}
    try:
        obj = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise InputError(str(path), "-", "-", "file not found") from None
    except json.JSONDecodeError as exc:
        raise InputError(str(path), f"line {exc.lineno}", "-", f"not JSON: {exc.msg}") from None
    if not isinstance(obj, dict):
        raise InputError(str(path), "-", "-", "expected an object of build dirs")
    for k in ("step", "reval"):
        if not obj.get(k):
            raise InputError(str(path), "builds", k, "missing")
    return {k: Path(obj[k]) for k in MODEL_KINDS if obj.get(k)}


def _verifier_source(build_dir: Path, name: str, out_dir: Path) -> tuple[Path, dict]:
    """The Groth16 verifier of a build dir, written to ``out_dir/<name>.sol``: the
    ``verifier.sol`` every calcm build ships (rendered from its verification key), or the
    snarkjs export of the dir's single ``.zkey`` (PLACEHOLDER builds)."""
    from .. import atomic
    from ..chain.contracts import generate_verifier
    from ..zk.ptau import sha256_file
    build_dir = Path(build_dir)
    if (build_dir / "manifest.json").exists():
        b = margin_build(build_dir)
        path = out_dir / f"{name}.sol"
        out_dir.mkdir(parents=True, exist_ok=True)
        atomic.write_text(path, b.verifier_sol.read_text())
        return path, {"source_hash": b.manifest["source_hash"], "vkey_sha256": b.vkey_sha256,
                      "security": b.security}
    zkeys = sorted(build_dir.glob("*.zkey"))
    zkeys = [z for z in zkeys if not z.name.startswith("p0")] or zkeys
    if len(zkeys) != 1:
        raise InputError(str(build_dir), "-", "zkey", f"expected one .zkey, found {len(zkeys)}")
    return generate_verifier(zkeys[0], name, out_dir), {"zkey_sha256": sha256_file(zkeys[0])}


def generate_verifiers(build: Path, model_builds: dict[str, Path], out_dir: Path) -> dict:
    """Write the verifiers of the margin ``build`` and the ``model_builds`` plus a manifest."""
    from .. import atomic
    b = margin_build(build)
    entries = {}
    path, prov = _verifier_source(build, f"MarginVerifier_{b.config.name}", out_dir)
    entries[path.name] = {"kind": "margin", "config": b.config.name, "group_size": b.config.N,
                          **prov}
    for kind, d in model_builds.items():
        path, prov = _verifier_source(d, f"Model{kind.capitalize()}Verifier", out_dir)
        entries[path.name] = {"kind": kind, **prov}
    manifest = {"generated_by": "calcm chain verifiers (each build's verifier.sol, or snarkjs "
                                "zkey export solidityverifier)", "do_not_edit": True, "files": entries}
    old = out_dir / "manifest.json"
    if old.exists():  # keep the entries of verifiers generated from other builds
        manifest["files"] = {**json.loads(old.read_text()).get("files", {}), **entries}
    atomic.write_json(out_dir / "manifest.json", manifest)
    return {"out_dir": str(out_dir), "build": str(b.dir),
            "model_builds": {k: str(v) for k, v in model_builds.items()}, "files": entries}

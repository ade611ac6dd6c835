"""The Solidity verifier of a build regenerates identically from its key.

Exported from the zkey (:func:`calcm.chain.contracts.export_verifier_source`; a dev
build: rendered from its verification key, :func:`calcm.zk.toolchain.solidity_verifier_from_vkey`),
compared byte for byte with the build's ``verifier.sol`` and every generated verifier that
claims this build or its proving key.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..zk.toolchain import ToolchainError
from .report import FAIL, PASS, SKIP, Check, Timer
from .setup_manifest import is_dev


def _generated_for(build, verifiers_dir: Path) -> list[Path]:
    """Generated verifiers that claim ``build``: by their manifest entry (build dir or zkey
    sha256) or, for a margin build, by name (``MarginVerifier_<config>.sol``)."""
    zsha = build.proving_key_sha256
    out = []
    mpath = verifiers_dir / "manifest.json"
    if mpath.exists():
        try:
            files = json.loads(mpath.read_text()).get("files", {})
        except json.JSONDecodeError:
            files = {}
        for name, e in files.items():
            same_dir = e.get("build") and Path(e["build"]).resolve() == Path(build.dir).resolve()
            if same_dir or e.get("zkey_sha256") == zsha:
                out.append(verifiers_dir / name)
    if "struct_id" not in build.manifest["config"]:
        by_name = verifiers_dir / f"MarginVerifier_{build.manifest['config']['name']}.sol"
        if by_name.exists() and by_name not in out:
            out.append(by_name)
    return out


def regenerate_verifier(build) -> bytes:
    """The Solidity verifier of ``build``: exported from the zkey, or (dev) rendered from the vkey."""
    from ..chain.contracts import export_verifier_source
    from ..zk.toolchain import solidity_verifier_from_vkey

    return solidity_verifier_from_vkey(build.vkey_path) if is_dev(build) else export_verifier_source(build.zkey)


def verifier_check(build, label: str, verifiers_dir: Path) -> tuple[Check, bytes | None]:
    """Regenerate the Solidity verifier from the zkey (dev: the vkey); compare with the build's
    ``verifier.sol`` and the generated files."""
    from ..chain.contracts import VerifierGenerationError

    origin = "the verification key" if is_dev(build) else "the zkey"
    with Timer() as t:
        try:
            regen = regenerate_verifier(build)
            again = regenerate_verifier(build)
        except (VerifierGenerationError, ToolchainError) as exc:
            return Check("setup", f"Solidity verifier regenerates ({label})", FAIL, str(exc)), None
        details = [f"regenerated twice from {origin}: {'identical' if regen == again else 'DIFFERENT'} "
                   f"({len(regen):,} bytes, sha256 {hashlib.sha256(regen).hexdigest()[:16]})"]
        files = ([build.verifier_sol] if build.verifier_sol.exists() else []) + _generated_for(build, Path(verifiers_dir))
        bad = int(regen != again)
        for f in files:
            if not f.exists():
                bad += 1
                details.append(f"{f}: listed in the generated manifest but missing")
            elif f.read_bytes() != regen:
                bad += 1
                details.append(f"{f}: DIFFERS from the verifier regenerated from this build's {origin[4:]}")
            else:
                details.append(f"{f}: identical to the verifier regenerated from {origin}")
    if bad:
        status, summary = FAIL, f"{bad} verifier(s) do not match {origin}"
    elif not files:
        status, summary = SKIP, (f"no verifier.sol in the build and none claims it in {verifiers_dir} "
                                 f"(regeneration is deterministic; run `calcm chain verifiers`)")
    else:
        status, summary = PASS, f"{len(files)} verifier(s) identical to the export of {origin}"
    return (Check("setup", f"Solidity verifier regenerates from the key ({label})", status, summary,
                  {"generated files compared": len(files)}, details, t.seconds), regen)

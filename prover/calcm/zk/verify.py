"""Verify proof directories with both verifiers (snarkjs and py_ecc), against a pinned key.

A proof directory (:mod:`calcm.zk.artifacts`) holds ``proof.json``, ``public.json``, often a
copy of ``verification_key.json`` and metadata naming its build. The two verifiers are
independent implementations; a disagreement is reported as an error, never resolved silently.

**Key pinning (issue 13, V1).** A verification key shipped beside a proof proves nothing:
anyone can put a model-update proof, its public signals and the model key into a margin
group directory, and it verifies under the key it brought. :func:`verify_pinned` (what
``calcm verify`` runs) therefore first fixes the *expected* key, then requires every key
claim of the directory (the shipped ``verification_key.json`` and the metadata's
``build.vkey_sha256``) to equal it, and verifies with the expected key only:

- ``build=DIR``: the build's ``verification_key.json`` (checked against its manifest);
- ``vkey_hash=H``: the shipped key, if its sha256 is ``H``;
- neither: the build the metadata names (``build.dir``), only if that build's
  ``manifest.json`` hashes to the metadata's ``build.manifest_sha256``.

Anything else raises :class:`KeyPinError` (``calcm verify`` exits 3 with one line).
:func:`verify_dir` is the unpinned primitive (key given, or the shipped one).
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from . import artifacts, pyverify
from .artifacts import VKEY, proof_dirs  # noqa: F401  (re-exported: the one proof-dir reader)

PROOF_FILES = (artifacts.PROOF, artifacts.PUBLIC, VKEY)


class VerifierDisagreement(RuntimeError):
    """snarkjs and the py_ecc verifier gave different answers."""


class KeyPinError(RuntimeError):
    """The proof directory's key is not the expected one, or no expected key could be fixed."""


@dataclass(frozen=True)
class VerifyResult:
    dir: Path
    snarkjs_ok: bool
    pyecc_ok: bool
    snarkjs_seconds: float
    pyecc_seconds: float
    vkey_sha256: str
    pinned_by: str = "-"

    @property
    def ok(self) -> bool:
        return self.snarkjs_ok and self.pyecc_ok

    def to_json(self) -> dict:
        return {"dir": str(self.dir), "ok": self.ok, "snarkjs": self.snarkjs_ok, "py_ecc": self.pyecc_ok,
                "vkey_sha256": self.vkey_sha256, "pinned_by": self.pinned_by,
                "seconds": {"snarkjs": round(self.snarkjs_seconds, 3), "py_ecc": round(self.pyecc_seconds, 3)}}


def _load(d: Path, name: str):
    try:
        return json.loads((d / name).read_text())
    except json.JSONDecodeError as exc:
        raise InputError(str(d / name), f"line {exc.lineno}", "-", f"invalid JSON: {exc.msg}") from None


def snarkjs_verify(d: Path, vkey: Path | None = None) -> bool:
    from .backend import snarkjs_verify_files
    try:
        return snarkjs_verify_files(vkey or d / VKEY, d / artifacts.PUBLIC, d / artifacts.PROOF)
    except RuntimeError as exc:
        raise InputError(str(d), "-", "proof.json", str(exc)) from None


def py_verify(d: Path, vkey: Path | None = None) -> bool:
    vk_path = vkey or d / VKEY
    try:
        vk = json.loads(Path(vk_path).read_text())
        return pyverify.verify(vk, _load(d, artifacts.PUBLIC), _load(d, artifacts.PROOF))
    except InputError:
        raise
    except (pyverify.ProofFormatError, KeyError, TypeError, ValueError):
        return False


def verify_dir(d: Path, vkey: Path | None = None, pinned_by: str = "-") -> VerifyResult:
    """Run both verifiers on one proof directory (with ``vkey`` if given); raise if they disagree."""
    key = Path(vkey) if vkey is not None else d / VKEY
    t0 = time.perf_counter()
    s_ok = snarkjs_verify(d, key)
    t1 = time.perf_counter()
    p_ok = py_verify(d, key)
    t2 = time.perf_counter()
    if s_ok != p_ok:
        raise VerifierDisagreement(f"{d}: snarkjs says {s_ok}, py_ecc says {p_ok}")
    return VerifyResult(d, s_ok, p_ok, t1 - t0, t2 - t1, hashlib.sha256(key.read_bytes()).hexdigest(),
                        pinned_by)


def verify_path(path: Path, vkey: Path | None = None) -> list[VerifyResult]:
    """Unpinned: every proof directory under ``path`` with ``vkey`` or its shipped key."""
    return [verify_dir(d, vkey) for d in proof_dirs(path)]


@dataclass(frozen=True)
class ExpectedKey:
    """The key a proof must verify under: a file, its sha256, and what pinned it."""

    path: Path | None
    sha256: str
    pinned_by: str


def _build_key(build_dir: Path, how: str) -> ExpectedKey:
    from .setup import Build
    b = Build.load(build_dir)
    actual = hashlib.sha256(b.vkey_path.read_bytes()).hexdigest() if b.vkey_path.exists() else None
    if actual != b.manifest["vkey_sha256"]:
        raise KeyPinError(f"{b.vkey_path}: missing or does not match its build's manifest.json")
    return ExpectedKey(b.vkey_path, actual, f"{how} {b.dir}")


def expected_key(art: artifacts.ProofArtifact, build: Path | None, vkey_hash: str | None) -> ExpectedKey:
    """The key ``art`` must verify under (see the module docstring); raises :class:`KeyPinError`."""
    if build is not None:
        return _build_key(Path(build), "--build")
    if vkey_hash is not None:
        h = vkey_hash.lower()
        if art.vkey_sha256 != h:
            raise KeyPinError(f"{art.dir}: {VKEY} has sha256 {art.vkey_sha256 or 'none (absent)'}, "
                              f"--vkey-hash is {h}")
        return ExpectedKey(art.dir / VKEY, h, "--vkey-hash")
    meta = art.build_meta
    if not meta.get("dir") or not meta.get("manifest_sha256"):
        raise KeyPinError(f"{art.dir}: no metadata naming its build: pass --build DIR or --vkey-hash H")
    bdir = Path(meta["dir"])
    try:
        actual = hashlib.sha256((bdir / "manifest.json").read_bytes()).hexdigest()
    except OSError:
        raise KeyPinError(f"{art.dir}: the build its {art.meta_name} names ({bdir}) is not here: "
                          "pass --build DIR or --vkey-hash H") from None
    if actual != meta["manifest_sha256"]:
        raise KeyPinError(f"{art.dir}: the build its {art.meta_name} names ({bdir}) has manifest sha256 "
                          f"{actual[:16]}, the proof was made with {str(meta['manifest_sha256'])[:16]}: "
                          "pass --build DIR or --vkey-hash H")
    return _build_key(bdir, f"{art.meta_name} ->")


def check_claims(art: artifacts.ProofArtifact, key: ExpectedKey) -> None:
    """Every key the directory claims (shipped file, metadata hash) must be the expected one."""
    if art.vkey_sha256 is not None and art.vkey_sha256 != key.sha256:
        raise KeyPinError(f"{art.dir}: its {VKEY} (sha256 {art.vkey_sha256[:16]}) is not the expected "
                          f"key ({key.sha256[:16]}, pinned by {key.pinned_by})")
    claimed = art.build_meta.get("vkey_sha256")
    if claimed is not None and claimed != key.sha256:
        raise KeyPinError(f"{art.dir}: its {art.meta_name} says vkey sha256 {str(claimed)[:16]}, the "
                          f"expected key is {key.sha256[:16]} (pinned by {key.pinned_by})")


def verify_pinned(path: Path, build: Path | None = None, vkey_hash: str | None = None) -> list[VerifyResult]:
    """Verify every proof directory under ``path`` against a pinned key (``calcm verify``)."""
    out = []
    for d in proof_dirs(path):
        art = artifacts.read(d)
        key = expected_key(art, build, vkey_hash)
        check_claims(art, key)
        out.append(verify_dir(d, key.path, key.pinned_by))
    return out

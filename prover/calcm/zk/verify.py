"""Verify proof directories with both verifiers: snarkjs (node) and py_ecc (Python).

A proof directory holds ``proof.json``, ``public.json`` and ``verification_key.json``
(what :mod:`calcm.zk.prove` writes). A directory of such directories (the
output of ``calcm prove``) is verified batch by batch. The two verifiers are
independent implementations; a disagreement is reported as an error, never
resolved silently.

A verification key shipped beside a proof proves nothing by itself (anyone can
make a key for another circuit): pass ``vkey`` (e.g. a build's
``verification_key.json``, or the key behind an on-chain verifier) to verify
against a trusted key instead; the result records the sha256 of the key used.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from . import pyverify
from .toolchain import snarkjs

PROOF_FILES = ("proof.json", "public.json", "verification_key.json")


class VerifierDisagreement(RuntimeError):
    """snarkjs and the py_ecc verifier gave different answers."""


@dataclass(frozen=True)
class VerifyResult:
    dir: Path
    snarkjs_ok: bool
    pyecc_ok: bool
    snarkjs_seconds: float
    pyecc_seconds: float
    vkey_sha256: str

    @property
    def ok(self) -> bool:
        return self.snarkjs_ok and self.pyecc_ok

    def to_json(self) -> dict:
        return {"dir": str(self.dir), "ok": self.ok, "snarkjs": self.snarkjs_ok, "py_ecc": self.pyecc_ok,
                "vkey_sha256": self.vkey_sha256,
                "seconds": {"snarkjs": round(self.snarkjs_seconds, 3), "py_ecc": round(self.pyecc_seconds, 3)}}


def proof_dirs(path: Path) -> list[Path]:
    """``path`` itself if it is a proof directory, else its proof subdirectories (sorted)."""
    path = Path(path)
    if not path.is_dir():
        raise InputError(str(path), "-", "-", "not a directory")
    if all((path / f).exists() for f in PROOF_FILES):
        return [path]
    subs = sorted(d for d in path.iterdir() if d.is_dir() and all((d / f).exists() for f in PROOF_FILES))
    if not subs:
        raise InputError(str(path), "-", "proof.json", "no proof here (need proof.json, public.json, "
                         "verification_key.json)")
    return subs


def _load(d: Path, name: str):
    try:
        return json.loads((d / name).read_text())
    except json.JSONDecodeError as exc:
        raise InputError(str(d / name), f"line {exc.lineno}", "-", f"invalid JSON: {exc.msg}") from None


def snarkjs_verify(d: Path, vkey: Path | None = None) -> bool:
    res = snarkjs("groth16", "verify", vkey or d / "verification_key.json", d / "public.json",
                  d / "proof.json", check=False)
    out = res.stdout + res.stderr
    if "OK!" in out:
        return True
    # snarkjs rejects a non-canonical public signal (>= r) as the Solidity verifier does.
    if "Invalid proof" in out or "Public inputs are not valid" in out:
        return False
    raise InputError(str(d), "-", "proof.json", f"snarkjs could not verify: {out.strip()[-200:]}")


def py_verify(d: Path, vkey: Path | None = None) -> bool:
    vk_path = vkey or d / "verification_key.json"
    try:
        vk = json.loads(Path(vk_path).read_text())
        return pyverify.verify(vk, _load(d, "public.json"), _load(d, "proof.json"))
    except InputError:
        raise
    except (pyverify.ProofFormatError, KeyError, TypeError, ValueError):
        return False


def verify_dir(d: Path, vkey: Path | None = None) -> VerifyResult:
    """Run both verifiers on one proof directory (with ``vkey`` if given); raise if they disagree."""
    key = Path(vkey) if vkey is not None else d / "verification_key.json"
    t0 = time.perf_counter()
    s_ok = snarkjs_verify(d, key)
    t1 = time.perf_counter()
    p_ok = py_verify(d, key)
    t2 = time.perf_counter()
    if s_ok != p_ok:
        raise VerifierDisagreement(f"{d}: snarkjs says {s_ok}, py_ecc says {p_ok}")
    return VerifyResult(d, s_ok, p_ok, t1 - t0, t2 - t1, hashlib.sha256(key.read_bytes()).hexdigest())


def verify_path(path: Path, vkey: Path | None = None) -> list[VerifyResult]:
    return [verify_dir(d, vkey) for d in proof_dirs(path)]

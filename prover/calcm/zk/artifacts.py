"""Proof directories: the one reader and writer of ``proof.json`` / ``public.json`` / vkey / metadata.

A proof directory (what ``calcm prove``, ``calcm model-update`` and the keeper write)::

    proof.json              snarkjs Groth16 proof (pi_a, pi_b, pi_c; projective decimal strings)
    public.json             public signals, decimal strings, circuit order
    verification_key.json   optional: a copy of the build's key (informative only: a
                            verifier must pin the key it trusts, see calcm.zk.verify)
    batch.json | update.json | meta.json
                            optional metadata: kind, the build's hashes, named signals

A directory of proof directories (``group-0000/ ...``) is read in sorted order by
:func:`proof_dirs`. Everything here is a plain read: structural problems (missing file,
bad JSON, a proof without ``pi_a``, a signal that is not an integer) are one-line
:class:`~calcm.errors.InputError` s; whether a signal is below the field order or the
proof is valid is for the verifiers (:mod:`calcm.zk.verify`, the registry) to decide.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .. import atomic
from ..errors import InputError

PROOF = "proof.json"
PUBLIC = "public.json"
VKEY = "verification_key.json"
#: Metadata files, in the order they are looked for (margin batch, model update, keeper).
META_FILES = ("batch.json", "update.json", "meta.json")


@dataclass(frozen=True)
class ProofArtifact:
    """One proof directory, parsed."""

    dir: Path
    proof: dict
    public: list[int]
    vkey: dict | None
    vkey_sha256: str | None       # sha256 of the verification_key.json bytes, if present
    meta: dict | None
    meta_name: str | None

    @property
    def kind(self) -> str | None:
        """The metadata's ``kind`` (e.g. ``calcm-margin-batch``), if any."""
        return (self.meta or {}).get("kind")

    @property
    def build_meta(self) -> dict:
        """What the prover recorded about its build (``manifest_sha256``, ``vkey_sha256``, ...)."""
        return (self.meta or {}).get("build") or {}


def is_proof_dir(d: Path) -> bool:
    return (Path(d) / PROOF).exists() and (Path(d) / PUBLIC).exists()


def proof_dirs(path: Path) -> list[Path]:
    """``path`` itself if it is a proof directory, else its proof subdirectories (sorted)."""
    path = Path(path)
    if not path.is_dir():
        raise InputError(str(path), "-", "-", "not a directory")
    if is_proof_dir(path):
        return [path]
    subs = sorted(d for d in path.iterdir() if d.is_dir() and is_proof_dir(d))
    if not subs:
        raise InputError(str(path / PROOF), "-", "-",
                         "missing (expected a proof directory or a directory of them: "
                         "proof.json + public.json)")
    return subs


def _json(path: Path, missing: str = "missing (expected a proof directory)"):
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(str(path), "-", "-", missing) from None
    except json.JSONDecodeError as exc:
        raise InputError(str(path), f"line {exc.lineno}", "-", f"invalid JSON: {exc.msg}") from None


def parse_public(path: Path, raw) -> list[int]:
    """Public signals from ``public.json`` content: a list of decimal strings (or ints)."""
    if not isinstance(raw, list):
        raise InputError(str(path), "public signals", "-", "expected a list of decimal strings")
    out = []
    for i, v in enumerate(raw):
        if isinstance(v, bool) or not isinstance(v, (str, int)):
            raise InputError(str(path), f"signal {i}", "value", f"not a decimal string: {v!r}")
        try:
            out.append(int(v))
        except ValueError:
            raise InputError(str(path), f"signal {i}", "value", f"not a decimal string: {v!r}") from None
    return out


def check_proof_shape(path: Path, proof) -> dict:
    """A proof object with list-valued ``pi_a``, ``pi_b``, ``pi_c`` (their points are the
    verifiers' business: a malformed point is an invalid proof, not unreadable input)."""
    if not isinstance(proof, dict):
        raise InputError(str(path), "proof", "-", "expected a JSON object")
    for key in ("pi_a", "pi_b", "pi_c"):
        if not isinstance(proof.get(key), list):
            raise InputError(str(path), "proof", key, "missing")
    return proof


def read(d: Path, *, need_vkey: bool = False) -> ProofArtifact:
    """Parse the proof directory ``d`` (see the module docstring)."""
    d = Path(d)
    proof = check_proof_shape(d / PROOF, _json(d / PROOF))
    public = parse_public(d / PUBLIC, _json(d / PUBLIC))
    vkey, vsha = None, None
    if (d / VKEY).exists() or need_vkey:
        raw = (d / VKEY).read_bytes() if (d / VKEY).exists() else None
        if raw is None:
            raise InputError(str(d / VKEY), "-", "-", "missing")
        vkey = _json(d / VKEY)
        vsha = hashlib.sha256(raw).hexdigest()
    meta, meta_name = None, None
    for name in META_FILES:
        if (d / name).exists():
            meta, meta_name = _json(d / name), name
            if not isinstance(meta, dict):
                raise InputError(str(d / name), "-", "-", "expected a JSON object")
            break
    return ProofArtifact(d, proof, public, vkey, vsha, meta, meta_name)


def write(d: Path, proof: dict, public: Sequence[int | str], *, vkey_path: Path | None = None,
          meta: dict | None = None, meta_name: str = "meta.json") -> Path:
    """Write a proof directory's files atomically (``d`` is created if needed)."""
    d = Path(d)
    atomic.write_json(d / PROOF, proof)
    atomic.write_json(d / PUBLIC, [str(v) for v in public])
    if vkey_path is not None:
        atomic.write_bytes(d / VKEY, Path(vkey_path).read_bytes())
    if meta is not None:
        if meta_name not in META_FILES:
            raise ValueError(f"metadata file must be one of {META_FILES}")
        atomic.write_json(d / meta_name, meta)
    return d

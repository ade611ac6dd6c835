"""Groth16 prover backends: the one path from a witness to a proof.

A :class:`Backend` turns a proving key and a circom ``.wtns`` witness into a proof in
snarkjs' ``proof.json`` format plus the public signals (decimal strings, ``public.json``
order), and checks a proof against a verification key:

- :class:`SnarkjsBackend` (``"snarkjs"``), the reference: ``snarkjs groth16 prove`` on a
  snarkjs ``.zkey``. It cannot prove with a dev build (no zkey there).
- :class:`ArkworksBackend` (``"arkworks"``): groth16py 0.2.0 (arkworks, Rust). A snarkjs
  zkey is imported once per process and zkey sha256 (``groth16py.import_zkey``), a dev
  build's key is loaded from its ``proving_key.ark`` (``groth16py.ProvingKey.load``);
  proofs come from ``groth16py.prove_wtns`` as the 256-byte Ethereum blob, converted by
  :func:`proof_from_bytes`.

:func:`get_backend` picks one by name; ``"auto"`` is arkworks when groth16py imports,
else snarkjs. Both verify under the same verification key: a zkey's Groth16 CRS does not
depend on who proves with it.

The 256-byte blob (groth16py's "Ethereum bytes" layout, 8 big-endian 32-byte words)::

    A.x  A.y  B.x.c1  B.x.c0  B.y.c1  B.y.c0  C.x  C.y

snarkjs JSON writes G2 coordinates as ``[c0, c1]`` (``c0 + c1 u``), so the two words of
each B coordinate swap places between the formats, and every point gains ``z = 1``
(``[1, 0]`` for G2). :func:`proof_to_bytes` is the exact inverse on affine proofs.

Before proving, the key must match the circuit: a :class:`~calcm.zk.setup.Build` has its
files checked against its manifest hashes, and a zkey's header (wires, public signals)
against the witness (:func:`check_zkey_witness`); a mismatch is a one-line
:class:`~calcm.errors.InputError`.
"""
from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Sequence

from ..errors import InputError
from .ptau import sha256_file
from .toolchain import snarkjs

#: The BN254 scalar field order (public signals must be below it).
R = 21888242871839275222246405745257275088548364400416034343698204186575808495617
#: The BN254 base field order (proof coordinates are below it).
Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583
PROOF_BYTES = 256
BACKENDS = ("snarkjs", "arkworks")


class BackendUnavailable(InputError):
    """A backend that cannot run here (groth16py missing) or with this key (no zkey)."""


# ----------------------------------------------------------------------------- proof formats

def proof_from_bytes(blob: bytes) -> dict:
    """The snarkjs ``proof.json`` dict of a 256-byte Ethereum-layout Groth16 proof."""
    if len(blob) != PROOF_BYTES:
        raise ValueError(f"a Groth16 proof blob has {PROOF_BYTES} bytes, got {len(blob)}")
    w = [str(int.from_bytes(blob[i:i + 32], "big")) for i in range(0, PROOF_BYTES, 32)]
    return {"pi_a": [w[0], w[1], "1"],
            "pi_b": [[w[3], w[2]], [w[5], w[4]], ["1", "0"]],
            "pi_c": [w[6], w[7], "1"],
            "protocol": "groth16", "curve": "bn128"}


def proof_to_bytes(proof: dict) -> bytes:
    """The 256-byte Ethereum layout of an affine snarkjs proof (inverse of :func:`proof_from_bytes`)."""
    a, b, c = proof["pi_a"], proof["pi_b"], proof["pi_c"]
    if [str(a[2]), str(c[2])] != ["1", "1"] or [str(v) for v in b[2]] != ["1", "0"]:
        raise ValueError("proof points must be affine (z = 1)")
    words = [a[0], a[1], b[0][1], b[0][0], b[1][1], b[1][0], c[0], c[1]]
    out = b""
    for v in words:
        x = int(v)
        if not 0 <= x < Q:
            raise ValueError(f"coordinate {x} is not in the base field")
        out += x.to_bytes(32, "big")
    return out


# ----------------------------------------------------------------------------- key checks

@dataclass(frozen=True)
class ZkeyHeader:
    """The Groth16 header of a snarkjs ``.zkey`` (section 2): sizes that pin the circuit."""

    n_vars: int
    n_public: int
    domain_size: int


def zkey_header(path: Path) -> ZkeyHeader:
    """Read a zkey's Groth16 header without node; malformed files raise :class:`InputError`."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
            if head[:4] != b"zkey":
                raise ValueError("not a zkey file")
            (n_sections,) = struct.unpack_from("<I", head, 8)
            for _ in range(n_sections):
                stype, size = struct.unpack("<IQ", fh.read(12))
                if stype == 2:
                    body = fh.read(size)
                    n8q = struct.unpack_from("<I", body, 0)[0]
                    pos = 4 + n8q
                    n8r = struct.unpack_from("<I", body, pos)[0]
                    pos += 4 + n8r
                    n_vars, n_public, domain = struct.unpack_from("<III", body, pos)
                    return ZkeyHeader(n_vars, n_public, domain)
                fh.seek(size, 1)
    except FileNotFoundError:
        raise InputError(str(path), "-", "-", "zkey not found") from None
    except (ValueError, struct.error) as exc:
        raise InputError(str(path), "header", "-", f"not a Groth16 zkey: {exc}") from None
    raise InputError(str(path), "header", "-", "not a Groth16 zkey: section 2 missing")


def wtns_header(path: Path, first: int = 0) -> tuple[int, list[int]]:
    """``(n_values, values[0:first])`` of a ``.wtns`` file, reading only what is needed."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
            if head[:4] != b"wtns":
                raise ValueError("not a wtns file")
            (n_sections,) = struct.unpack_from("<I", head, 8)
            n8, n_wit = 0, None
            for _ in range(n_sections):
                stype, size = struct.unpack("<IQ", fh.read(12))
                if stype == 1:
                    body = fh.read(size)
                    n8 = struct.unpack_from("<I", body, 0)[0]
                    n_wit = struct.unpack_from("<I", body, 4 + n8)[0]
                elif stype == 2 and n_wit is not None:
                    raw = fh.read(min(size, first * n8))
                    return n_wit, [int.from_bytes(raw[i:i + n8], "little") for i in range(0, len(raw), n8)]
                else:
                    fh.seek(size, 1)
    except FileNotFoundError:
        raise InputError(str(path), "-", "-", "witness file not found") from None
    except (ValueError, struct.error) as exc:
        raise InputError(str(path), "header", "-", f"malformed witness: {exc}") from None
    raise InputError(str(path), "header", "-", "malformed witness: no values section")


def check_zkey_witness(header: ZkeyHeader, zkey: Path, wtns: Path) -> list[str]:
    """The public signals of ``wtns`` (``w[1..n_public]``) once its size matches the zkey's."""
    n_wit, head = wtns_header(wtns, header.n_public + 1)
    if n_wit != header.n_vars:
        raise InputError(str(zkey), "header", "nVars",
                         f"the key is for a circuit of {header.n_vars} wires, the witness "
                         f"{wtns.name} has {n_wit}: key and circuit do not match")
    return [str(v) for v in head[1:]]


def check_zkey_r1cs(zkey: Path, r1cs: Path) -> ZkeyHeader:
    """A zkey whose header does not fit the r1cs (wires, public signals, domain) is an InputError."""
    from .toolchain import r1cs_info
    h = zkey_header(zkey)
    info = r1cs_info(r1cs)
    need = info.n_constraints + info.n_public + 1
    for field, got, want in (("nVars", h.n_vars, info.n_wires), ("nPublic", h.n_public, info.n_public)):
        if got != want:
            raise InputError(str(zkey), "header", field,
                             f"{got} in the zkey, {want} in {Path(r1cs).name}: the zkey is not for this circuit")
    if h.domain_size < need:
        raise InputError(str(zkey), "header", "domainSize",
                         f"{h.domain_size} < {need} (constraints + public + 1 of {Path(r1cs).name})")
    return h


# ----------------------------------------------------------------------------- keys

@dataclass(frozen=True)
class ProvingKeyRef:
    """Where a proving key lives: a snarkjs ``zkey`` and/or a groth16py ``ark`` (dev) file."""

    zkey: Path | None = None
    ark: Path | None = None
    r1cs: Path | None = None
    label: str = "-"
    n_vars: int | None = None      # the circuit's wires (a build's manifest), to check witnesses


def key_ref(build_or_key) -> ProvingKeyRef:
    """A :class:`ProvingKeyRef` from a Build, any object with ``.zkey``, or a key path.

    A :class:`~calcm.zk.setup.Build` is checked against its manifest first (files
    on disk = the hashed ones, and the zkey header fits the r1cs).
    """
    if isinstance(build_or_key, ProvingKeyRef):
        return build_or_key
    if isinstance(build_or_key, (str, os.PathLike)):
        p = Path(build_or_key)
        return ProvingKeyRef(ark=p, label=str(p)) if p.suffix == ".ark" else ProvingKeyRef(zkey=p, label=str(p))
    if hasattr(build_or_key, "manifest"):        # a calcm.zk.setup.Build
        b = build_or_key
        _check_build(b)
        dev = b.mode == "dev"
        return ProvingKeyRef(zkey=None if dev else b.zkey, ark=b.proving_key_path if dev else None,
                             r1cs=b.r1cs, label=str(b.dir), n_vars=b.manifest["r1cs"].get("wires"))
    z = Path(build_or_key.zkey)                   # e.g. chain.placeholder.PlaceholderBuild
    return ProvingKeyRef(zkey=z, label=str(z.parent))


_checked: dict[tuple, bool] = {}


def _check_build(b) -> None:
    """``Build.check_files`` plus the zkey/r1cs header check, once per file state per process."""
    files = [p for p in (b.r1cs, b.zkey, b.proving_key_path) if p.exists()]
    stamp = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)
    if _checked.get(stamp):
        return
    b.check_files()
    if b.zkey.exists():
        check_zkey_r1cs(b.zkey, b.r1cs)
    _checked[stamp] = True


# ----------------------------------------------------------------------------- backends

class Backend(Protocol):
    """A Groth16 prover/verifier over BN254 with snarkjs-format proofs and keys."""

    name: str

    def prove(self, build_or_key, wtns_path: Path) -> tuple[dict, list[str]]:
        """``(proof.json dict, public signals as decimal strings)`` for witness ``wtns_path``."""

    def verify(self, vkey: dict, proof: dict, public: Sequence) -> bool:
        """Whether ``proof`` of ``public`` is valid under the snarkjs verification key ``vkey``."""


class SnarkjsBackend:
    """The reference: ``snarkjs groth16 prove`` / ``verify`` (node subprocesses)."""

    name = "snarkjs"

    def prove(self, build_or_key, wtns_path: Path) -> tuple[dict, list[str]]:
        ref = key_ref(build_or_key)
        if ref.zkey is None:
            raise BackendUnavailable(ref.label, "-", "zkey",
                                     "no snarkjs zkey (a dev build proves with --backend arkworks only)")
        header = zkey_header(ref.zkey)
        expected = check_zkey_witness(header, ref.zkey, Path(wtns_path))
        with tempfile.TemporaryDirectory(prefix="calcm-snarkjs-") as tmp:
            t = Path(tmp)
            snarkjs("groth16", "prove", ref.zkey, wtns_path, t / "proof.json", t / "public.json")
            proof = json.loads((t / "proof.json").read_text())
            public = [str(x) for x in json.loads((t / "public.json").read_text())]
        if public != expected:
            raise RuntimeError(f"snarkjs public signals {public} != the witness's {expected}")
        return proof, public

    def verify(self, vkey: dict, proof: dict, public: Sequence) -> bool:
        with tempfile.TemporaryDirectory(prefix="calcm-snarkjs-") as tmp:
            t = Path(tmp)
            for name, obj in (("vk.json", vkey), ("proof.json", proof),
                              ("public.json", [str(x) for x in public])):
                (t / name).write_text(json.dumps(obj))
            return snarkjs_verify_files(t / "vk.json", t / "public.json", t / "proof.json")


def snarkjs_verify_files(vkey: Path, public: Path, proof: Path) -> bool:
    """``snarkjs groth16 verify`` on files: True, False for a rejected proof, RuntimeError when
    snarkjs could not decide (a malformed file, a tool failure)."""
    res = snarkjs("groth16", "verify", vkey, public, proof, check=False)
    out = res.stdout + res.stderr
    if "OK!" in out:
        return True
    # snarkjs rejects a non-canonical public signal (>= r) as the Solidity verifier does,
    # and a proof point off its curve (e.g. G2 words in the wrong order).
    if any(m in out for m in ("Invalid proof", "Public inputs are not valid",
                              "Proof commitments are not valid")):
        return False
    raise RuntimeError(f"snarkjs could not verify: {out.strip()[-200:]}")


def groth16py_available() -> bool:
    try:
        import groth16py  # noqa: F401
    except ImportError:
        return False
    return True


class ArkworksBackend:
    """groth16py 0.2.0 (arkworks): imports a snarkjs zkey or loads a dev ``.ark`` key."""

    name = "arkworks"
    #: Imported keys by file sha256: ``(groth16py.ProvingKey, groth16py.VerifyingKey)``.
    _keys: dict[str, tuple] = {}
    _lock = threading.Lock()
    _digests: dict[tuple, str] = {}     # (path, mtime_ns, size) -> sha256 of the key file

    def __init__(self):
        try:
            import groth16py
        except ImportError:
            raise BackendUnavailable("--backend", "-", "arkworks",
                                     "groth16py is not installed (pip install groth16py==0.2.0)") from None
        self._g = groth16py

    def load_key(self, ref: ProvingKeyRef) -> tuple:
        """``(ProvingKey, VerifyingKey)`` for ``ref``, imported once per process and file hash."""
        path = ref.ark or ref.zkey
        if path is None:
            raise BackendUnavailable(ref.label, "-", "proving key", "no zkey or proving_key.ark")
        st = Path(path).stat()      # hashed once per file state: a bench dev key is ~550 MB, ~1 s
        stamp = (str(path), st.st_mtime_ns, st.st_size)
        with self._lock:
            digest = self._digests.get(stamp) or self._digests.setdefault(stamp, sha256_file(path))
            if digest not in self._keys:
                try:
                    if ref.ark is not None:
                        pk = self._g.ProvingKey.load(str(path))
                        vk = None
                        vk_path = path.parent / "verification_key.json"
                        if vk_path.exists():
                            vk = self._g.VerifyingKey.from_snarkjs_file(str(vk_path))
                    else:
                        pk, vk = self._g.import_zkey(str(path))
                except (self._g.EncodingError, self._g.SetupError, OSError, ValueError) as exc:
                    raise InputError(str(path), "-", "-", f"groth16py cannot load this key: {exc}") from None
                self._keys[digest] = (pk, vk)
            return self._keys[digest]

    def prove(self, build_or_key, wtns_path: Path) -> tuple[dict, list[str]]:
        ref = key_ref(build_or_key)
        wtns_path = Path(wtns_path)
        if ref.zkey is not None and ref.ark is None:
            header = zkey_header(ref.zkey)
            public = check_zkey_witness(header, ref.zkey, wtns_path)
            pk, _ = self.load_key(ref)
        else:
            pk, vk = self.load_key(ref)
            n_public = vk.n_public if vk is not None else 0
            n_wit, head = wtns_header(wtns_path, n_public + 1)
            if ref.n_vars is not None and n_wit != ref.n_vars:
                raise InputError(str(ref.ark), "-", "wires",
                                 f"the key is for a circuit of {ref.n_vars} wires, the witness "
                                 f"{wtns_path.name} has {n_wit}: key and circuit do not match")
            public = [str(v) for v in head[1:]]
        try:
            blob = self._g.prove_wtns(pk, str(wtns_path))
        except (self._g.WitnessError, self._g.SetupError, self._g.EncodingError) as exc:
            raise InputError(str(wtns_path), "-", "-", f"groth16py could not prove: {exc}") from None
        return proof_from_bytes(bytes(blob)), public

    def verify(self, vkey: dict, proof: dict, public: Sequence) -> bool:
        xs = [int(x) for x in public]
        if any(not 0 <= x < R for x in xs):
            return False
        try:
            vk = self._g.VerifyingKey.from_snarkjs(json.dumps(vkey))
            return bool(self._g.Verifier(vk).verify(proof_to_bytes(proof), xs))
        except (self._g.EncodingError, self._g.VerificationError, ValueError, KeyError, TypeError):
            return False


def get_backend(name: str = "auto") -> Backend:
    """The backend called ``name``: ``snarkjs``, ``arkworks`` or ``auto`` (arkworks if installed)."""
    if name == "auto":
        name = os.environ.get("CALCM_BACKEND") or ("arkworks" if groth16py_available() else "snarkjs")
    if name == "snarkjs":
        return SnarkjsBackend()
    if name == "arkworks":
        return ArkworksBackend()
    raise InputError("--backend", "-", name, f"unknown prover backend (known: auto, {', '.join(BACKENDS)})")


def backend_for(build_or_key, name: str = "auto") -> Backend:
    """``get_backend(name)``, except that a key with no zkey (a dev build) needs arkworks."""
    if name == "auto" and getattr(build_or_key, "mode", None) == "dev":
        return get_backend("arkworks")
    return get_backend(name)


def prove(build_or_key, wtns_path: Path, backend: str = "auto") -> tuple[dict, list[str], str]:
    """Prove with the chosen backend; returns ``(proof, public, backend name)``."""
    b = backend_for(build_or_key, backend)
    proof, public = b.prove(build_or_key, wtns_path)
    return proof, public, b.name


def proof_sha256(proof: dict) -> str:
    """A hash of a proof's 256-byte Ethereum encoding (independent of JSON formatting)."""
    return hashlib.sha256(proof_to_bytes(proof)).hexdigest()

"""Powers of tau: a deterministic development file, or a verified ceremony file.

Development files (**not secure: everybody knows their toxic waste**) are made
deterministically, so every machine gets the same bytes::

    snarkjs powersoftau new bn128 P p_0.ptau
    snarkjs powersoftau beacon p_0.ptau p_1.ptau sha256("calcm-dev-ptau-beacon-v1") 10 -n=calcm-dev-beacon
    snarkjs powersoftau prepare phase2 p_1.ptau p_final.ptau

``prepare phase2`` is slow on 2 cores (power 12 ~100 s, 13 ~3 min, 14 > 8 min),
so files are cached outside the repo under ``cache_dir()/ptau/dev/pow<P>/<sha256>.ptau``
(keyed by power and content hash). A file made earlier by hand with exactly
those commands (``cache_dir()/ptau/tmp<P>_final.ptau``) is adopted (copied) into
that layout rather than regenerated.

A ceremony file (``--ptau FILE``, e.g. Hermez ``powersOfTau28_hez_final_P.ptau``)
is checked with ``snarkjs powersoftau verify`` before first use (the result is
remembered by content hash), and its power must fit the circuit.
"""
from __future__ import annotations

import hashlib
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .. import atomic
from ..errors import InputError
from ..paths import cache_dir
from .toolchain import ToolchainError, snarkjs

BEACON_TEXT = b"calcm-dev-ptau-beacon-v1"
BEACON_HASH = hashlib.sha256(BEACON_TEXT).hexdigest()
BEACON_ITERATIONS_EXP = 10
BEACON_NAME = "calcm-dev-beacon"
#: Largest power made locally without an explicit opt-in (power 14 takes > 8 min).
DEFAULT_MAX_DEV_POWER = 13
#: Sections a phase-2-prepared ptau carries (Lagrange-basis points), needed by groth16 setup.
PHASE2_SECTIONS = {12, 13, 14, 15}


@dataclass(frozen=True)
class Ptau:
    """A powers-of-tau file ready for Groth16 setup."""

    path: Path
    power: int
    sha256: str
    source: str          # "dev" (deterministic, insecure) or "ceremony"

    def manifest(self) -> dict:
        return {"path": str(self.path), "power": self.power, "sha256": self.sha256,
                "source": self.source,
                "dev_only": self.source == "dev"}


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def ptau_header(path: Path) -> tuple[int, set[int]]:
    """``(power, section ids)`` from a ptau file's header (no node needed)."""
    with open(path, "rb") as fh:
        head = fh.read(12)
        if head[:4] != b"ptau":
            raise ValueError("not a ptau file")
        n_sections = struct.unpack_from("<I", head, 8)[0]
        power, sections = None, set()
        for _ in range(n_sections):
            raw = fh.read(12)
            if len(raw) < 12:
                raise ValueError("truncated ptau file")
            stype, size = struct.unpack("<IQ", raw)
            sections.add(stype)
            if stype == 1:
                body = fh.read(size)
                n8 = struct.unpack_from("<I", body, 0)[0]
                power = struct.unpack_from("<I", body, 4 + n8)[0]
            else:
                fh.seek(size, 1)
    if power is None:
        raise ValueError("ptau header section missing")
    return power, sections


def _dev_dir(power: int) -> Path:
    return cache_dir() / "ptau" / "dev" / f"pow{power}"


def _cached_dev(power: int) -> Ptau | None:
    for p in sorted(_dev_dir(power).glob("*.ptau")):
        if sha256_file(p) == p.stem:
            return Ptau(p, power, p.stem, "dev")
    return None


def _store_dev(src: Path, power: int) -> Ptau:
    digest = sha256_file(src)
    dst = _dev_dir(power) / f"{digest}.ptau"
    if not dst.exists():
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = dst.with_suffix(".tmp")
        shutil.copyfile(src, tmp)
        tmp.replace(dst)
    return Ptau(dst, power, digest, "dev")


def _adopt_legacy(power: int) -> Ptau | None:
    """Copy a hand-made ``tmp<P>_final.ptau`` (same deterministic recipe) into the layout."""
    legacy = cache_dir() / "ptau" / f"tmp{power}_final.ptau"
    if legacy.exists():
        got, sections = ptau_header(legacy)
        if got == power and PHASE2_SECTIONS <= sections:
            return _store_dev(legacy, power)
    return None


def generate_dev_ptau(power: int) -> Ptau:
    """Make the deterministic development file for ``power`` (slow: see the module docstring)."""
    with tempfile.TemporaryDirectory(dir=cache_dir(), prefix=".ptau-gen.") as tmp:
        t = Path(tmp)
        snarkjs("powersoftau", "new", "bn128", str(power), t / "p_0.ptau")
        snarkjs("powersoftau", "beacon", t / "p_0.ptau", t / "p_1.ptau", BEACON_HASH,
                str(BEACON_ITERATIONS_EXP), f"-n={BEACON_NAME}")
        snarkjs("powersoftau", "prepare", "phase2", t / "p_1.ptau", t / "p_final.ptau")
        return _store_dev(t / "p_final.ptau", power)


def dev_ptau(power: int, *, max_power: int = DEFAULT_MAX_DEV_POWER) -> Ptau:
    """The cached development ptau of ``power``, adopted or generated if needed."""
    found = _cached_dev(power) or _adopt_legacy(power)
    if found:
        return found
    if power > max_power:
        raise InputError("--ptau", "-", "power",
                         f"the circuit needs a power-{power} powers of tau; generating one locally "
                         f"takes too long (limit {max_power}): pass --ptau FILE with a ceremony "
                         f"file (e.g. powersOfTau28_hez_final_{power}.ptau)")
    return generate_dev_ptau(power)


def _verified_marker(digest: str) -> Path:
    return cache_dir() / "ptau" / "verified" / digest


def ceremony_ptau(path: Path, min_power: int) -> Ptau:
    """Check a user-supplied ptau (header, power, phase-2 sections, snarkjs verify)."""
    path = Path(path)
    if not path.exists():
        raise InputError(str(path), "-", "-", "file not found")
    try:
        power, sections = ptau_header(path)
    except (ValueError, struct.error) as exc:
        raise InputError(str(path), "header", "-", str(exc)) from None
    if power < min_power:
        raise InputError(str(path), "header", "power",
                         f"power {power} is too small: the circuit needs {min_power}")
    if not PHASE2_SECTIONS <= sections:
        raise InputError(str(path), "header", "sections",
                         "not prepared for phase 2 (run `snarkjs powersoftau prepare phase2`)")
    digest = sha256_file(path)
    marker = _verified_marker(digest)
    if not marker.exists():
        try:
            res = snarkjs("powersoftau", "verify", path)
        except ToolchainError as exc:
            raise InputError(str(path), "-", "-", f"powersoftau verify failed: {exc.output.strip()[-300:]}") from None
        if "Powers of Tau Ok" not in res.stdout + res.stderr:
            raise InputError(str(path), "-", "-", "powersoftau verify did not report 'Powers of Tau Ok'")
        atomic.write_text(marker, f"{path}\n")
    return Ptau(path.resolve(), power, digest, "ceremony")


def select_ptau(min_power: int, ptau_file: Path | None = None, *,
                max_dev_power: int = DEFAULT_MAX_DEV_POWER) -> Ptau:
    """A ptau that fits ``min_power``: the given ceremony file, or the smallest dev file.

    Dev files are made per power; an existing larger cached dev file is used
    if there is one (snarkjs accepts any power >= what the circuit needs).
    """
    if ptau_file is not None:
        return ceremony_ptau(ptau_file, min_power)
    for power in range(min_power, 29):
        found = _cached_dev(power) or _adopt_legacy(power)
        if found:
            return found
    return dev_ptau(min_power, max_power=max_dev_power)

"""The key material of a build belongs to its r1cs: ptau, zkey, verification key, dev key pair.

A ``dev`` build (groth16py's single-party setup) has no zkey and no ptau: its ptau, zkey
and vkey checks are SKIPs, :func:`dev_key_check` proves that its ``proving_key.ark`` and
``verification_key.json`` are a key pair of this r1cs instead, and
:func:`dev_setup_warning` reports it INSECURE-DEV.

- ``snarkjs powersoftau verify`` on the ptau; the verdict is cached by the
  ptau's sha256 under ``cache_dir()/audit/verdicts`` (it takes minutes on big
  files and depends on nothing else);
- ``snarkjs zkey verify r1cs ptau zkey``: the zkey is a setup of *this* r1cs
  from *this* ptau (a zkey of another circuit, or from another ptau, fails);
  cached by the three sha256 together, since it repeats the whole setup;
- the verification key regenerates identically from the zkey (``snarkjs zkey
  export verificationkey``, compared as JSON with the build's file).
"""
from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import Sequence

from .. import atomic
from ..paths import cache_dir
from ..zk.ptau import sha256_file
from ..zk.toolchain import ToolchainError, snarkjs
from .report import FAIL, PASS, SKIP, WARN, Check, Timer
from .setup_manifest import is_dev, ptau_path


def _verdict_path(kind: str, *hashes: str) -> Path:
    key = hashlib.sha256("|".join((kind, *hashes)).encode()).hexdigest()
    return cache_dir() / "audit" / "verdicts" / f"{kind}-{key}.json"


def _cached_verdict(kind: str, hashes: Sequence[str], run, use_cache: bool) -> tuple[dict, bool]:
    """``run()`` -> {"ok": bool, "tail": str}, remembered by ``hashes`` (both outcomes)."""
    path = _verdict_path(kind, *hashes)
    if use_cache and path.exists():
        return json.loads(path.read_text()), True
    verdict = run()
    atomic.write_json(path, verdict)
    return verdict, False


def _tail(text: str, n: int = 3) -> str:
    import re
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", ln).strip() for ln in text.strip().splitlines()]
    return " | ".join(ln for ln in lines[-n:] if ln)


def _dev_skip(name: str) -> Check:
    return Check("setup", name, SKIP, "INSECURE-DEV build (groth16py single-party setup): it has no powers "
                 "of tau and no snarkjs zkey; the dev proving key is checked by `dev proving key` instead")


def ptau_check(build, label: str, ptau: Path | None = None, use_cache: bool = True) -> Check:
    if is_dev(build) and ptau is None:
        return _dev_skip(f"powers of tau ({label})")
    path = ptau_path(build, ptau)
    with Timer() as t:
        if not path.exists():
            return Check("setup", f"powers of tau ({label})", FAIL, f"{path} not found (pass --ptau FILE)")
        digest = sha256_file(path)

        def run() -> dict:
            res = snarkjs("powersoftau", "verify", path, check=False)
            text = res.stdout + res.stderr
            return {"ok": "Powers of Tau Ok" in text, "tail": _tail(text), "seconds": round(res.seconds, 1)}

        v, cached = _cached_verdict("ptau", [digest], run, use_cache)
    src = build.manifest["ptau"].get("source", "?")
    note = " (development file: public beacon, insecure)" if src == "dev" else ""
    return Check("setup", f"powers of tau ({label})", PASS if v["ok"] else FAIL,
                 f"snarkjs powersoftau verify: {'Powers of Tau Ok' if v['ok'] else 'FAILED'}"
                 f"{' (cached verdict)' if cached else ''}; power {build.manifest['ptau']['power']}{note}",
                 {"power": build.manifest["ptau"]["power"]},
                 [f"ptau {path} sha256 {digest}", f"snarkjs: {v['tail']}"], t.seconds)


def zkey_check(build, label: str, ptau: Path | None = None, use_cache: bool = True) -> Check:
    if is_dev(build):
        return _dev_skip(f"zkey against r1cs and ptau ({label})")
    path = ptau_path(build, ptau)
    with Timer() as t:
        missing = [p for p in (build.r1cs, build.zkey, path) if not p.exists()]
        if missing:
            return Check("setup", f"zkey against r1cs and ptau ({label})", FAIL,
                         f"missing: {', '.join(map(str, missing))}")
        hashes = [sha256_file(build.r1cs), sha256_file(path), sha256_file(build.zkey)]

        def run() -> dict:
            res = snarkjs("zkey", "verify", build.r1cs, path, build.zkey, check=False)
            text = res.stdout + res.stderr
            return {"ok": "ZKey Ok" in text, "tail": _tail(text), "seconds": round(res.seconds, 1)}

        v, cached = _cached_verdict("zkey", hashes, run, use_cache)
    return Check("setup", f"zkey against r1cs and ptau ({label})", PASS if v["ok"] else FAIL,
                 "snarkjs zkey verify: "
                 + ("ZKey Ok" if v["ok"] else "FAILED: the zkey is not a setup of this r1cs and ptau")
                 + (" (cached verdict)" if cached else ""),
                 {}, [f"r1cs {hashes[0][:16]}, ptau {hashes[1][:16]}, zkey {hashes[2][:16]}",
                      f"snarkjs: {v['tail']}"], t.seconds)


def vkey_check(build, label: str) -> Check:
    if is_dev(build):
        return _dev_skip(f"verification key regenerates from the zkey ({label})")
    with Timer() as t, tempfile.TemporaryDirectory(prefix="calcm-audit-vkey-") as tmp:
        out = Path(tmp) / "vkey.json"
        try:
            snarkjs("zkey", "export", "verificationkey", build.zkey, out)
        except ToolchainError as exc:
            return Check("setup", f"verification key regenerates ({label})", FAIL, f"export failed: {exc}")
        regen = json.loads(out.read_text())
    have = json.loads(build.vkey_path.read_text()) if build.vkey_path.exists() else None
    same = regen == have
    return Check("setup", f"verification key regenerates from the zkey ({label})", PASS if same else FAIL,
                 "snarkjs zkey export verificationkey: identical to verification_key.json" if same else
                 "the verification key exported from the zkey differs from the build's verification_key.json",
                 {"public inputs": int(regen.get("nPublic", 0))}, [], t.seconds)


def dev_key_check(build, label: str, inputs: Sequence[dict]) -> Check:
    """A dev build's ``proving_key.ark`` and ``verification_key.json`` are a key pair of this r1cs.

    With no zkey there is nothing to regenerate; instead the dev key proves the first
    honest probe witness (arkworks), which must verify under the build's verification
    key with snarkjs and py_ecc, and a witness that breaks one R1CS constraint (its
    public ``context`` wire moved, every other wire honest) must give a proof that
    verifies under neither (so the key encodes this circuit's constraints).
    """
    from ..zk import backend as B
    from ..zk.pyverify import verify as py_verify
    from ..zk.witness import calculate_witness
    from ..zk.wtns import read_wtns, write_wtns

    name = f"dev proving key is a key pair of this r1cs ({label})"
    if not is_dev(build):
        return Check("setup", name, SKIP, "not a dev build")
    if not inputs:
        return Check("setup", name, FAIL, "no honest probe witness to prove with the dev key")
    with Timer() as t, tempfile.TemporaryDirectory(prefix="calcm-audit-devkey-") as tmp:
        try:
            wtns = Path(tmp) / "honest.wtns"
            calculate_witness(build.wasm, inputs[0], wtns)
            ark = B.get_backend("arkworks")
            proof, public = ark.prove(build, wtns)
            vkey = json.loads(build.vkey_path.read_text())
            ok_snark = B.get_backend("snarkjs").verify(vkey, proof, public)
            ok_py = bool(py_verify(vkey, [int(x) for x in public], proof))
            wit = read_wtns(wtns)
            wit.values[1] = (wit.values[1] + 1) % wit.prime          # one public input, nothing else
            bad_proof, bad_public = ark.prove(build, write_wtns(Path(tmp) / "broken.wtns", wit))
            bad_snark = B.get_backend("snarkjs").verify(vkey, bad_proof, bad_public)
        except Exception as exc:  # noqa: BLE001 - any failure here is this check's FAIL, never a crash
            return Check("setup", name, FAIL, f"the dev key could not be exercised: {exc}", {}, [], t.seconds)
    good = ok_snark and ok_py and not bad_snark
    return Check("setup", name, PASS if good else FAIL,
                 ("honest witness: proof verifies (snarkjs, py_ecc); a witness breaking the R1CS: proof rejected"
                  if good else f"honest proof snarkjs={ok_snark} py_ecc={ok_py}; broken-witness proof "
                  f"accepted={bad_snark}: the key pair does not belong to this r1cs"),
                 {"public inputs": len(public)}, [f"proving_key.ark sha256 {build.proving_key_sha256[:16]}"],
                 t.seconds)


def dev_setup_warning(build, label: str) -> Check | None:
    """INSECURE-DEV (single-party setup) or a public-beacon contribution: never production."""
    if is_dev(build):
        return Check("setup", f"trusted setup provenance ({label})", WARN,
                     "INSECURE-DEV: groth16py single-party setup; whoever ran it knows the toxic waste and "
                     "can forge proofs. For development and benchmarks only",
                     {"security": build.security})
    if not build.manifest.get("dev_only"):
        return None
    return Check("setup", f"trusted setup provenance ({label})", WARN,
                 "development setup: the ptau and the zkey contribution are public beacons, so anyone can "
                 "recompute the toxic waste; run a real ceremony before production",
                 {"security": build.security})

"""Groth16 key generation for :func:`calcm.zk.setup.setup`, one function per mode.

- :func:`ceremony_keys`: ``snarkjs groth16 setup`` over a ptau, secret phase-2
  contributions, a public beacon, the verification key;
- :func:`dev_keys`: groth16py's ptau-free single-party setup (insecure, dev only), its
  proving key saved as ``proving_key.ark`` and its verification key in snarkjs' layout.

Each writes into ``work`` and returns the manifest parts that describe its keys.
"""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Sequence

from .. import atomic
from ..errors import InputError
from .ptau import Ptau, sha256_file
from .toolchain import snarkjs

SECURITY_DEV = "insecure-dev-single-party"
SECURITY_BEACON = "insecure-dev-public-beacon"
SECURITY_CEREMONY = "ceremony"
DEV_PROVING_KEY = "proving_key.ark"
#: Public beacon of every zkey this project makes (its toxic waste is public: dev only).
ZKEY_BEACON_HASH = hashlib.sha256(b"calcm-dev-zkey-beacon-v1").hexdigest()
ZKEY_BEACON_NAME = "calcm dev-only zkey beacon (insecure: public toxic waste)"


def ceremony_keys(r1cs: Path, ptau: Ptau, contributions: Sequence[str], work: Path,
                  timings: dict) -> dict:
    """snarkjs groth16 setup, secret contributions, the public beacon, the vkey; manifest parts."""
    t0 = time.perf_counter()
    snarkjs("groth16", "setup", r1cs, ptau.path, work / "circuit_0000.zkey")
    timings["groth16_setup"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    prev = work / "circuit_0000.zkey"
    for i, entropy in enumerate(contributions, start=1):
        nxt = work / f"circuit_{i:04d}.zkey"
        snarkjs("zkey", "contribute", prev, nxt, f"-n=calcm contribution {i}", f"-e={entropy}")
        prev.unlink()
        prev = nxt
    timings["contributions"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    snarkjs("zkey", "beacon", prev, work / "circuit_final.zkey",
            ZKEY_BEACON_HASH, "10", f"-n={ZKEY_BEACON_NAME}")
    prev.unlink()
    snarkjs("zkey", "export", "verificationkey", work / "circuit_final.zkey",
            work / "verification_key.json")
    timings["beacon_and_vkey"] = time.perf_counter() - t0
    zsha = sha256_file(work / "circuit_final.zkey")
    secure = ptau.source == "ceremony" and len(contributions) > 0
    return {"security": SECURITY_CEREMONY if secure else SECURITY_BEACON,
            "ptau": ptau.manifest(),
            "zkey": {"sha256": zsha, "contributions": len(contributions),
                     "beacon_hash": ZKEY_BEACON_HASH, "beacon_iterations_exp": 10},
            "proving_key": {"file": "circuit_final.zkey", "format": "snarkjs-zkey", "sha256": zsha}}


#: Key order of snarkjs' verification_key.json (groth16py's ``to_json`` sorts its keys).
_VKEY_ORDER = ("protocol", "curve", "nPublic", "vk_alpha_1", "vk_beta_2", "vk_gamma_2", "vk_delta_2", "IC")


def dev_vkey_json(vk_json: str) -> dict:
    """groth16py's ``VerifyingKey.to_json()`` as snarkjs' ``verification_key.json`` layout.

    The values are already snarkjs' (projective decimal strings, G2 as ``[c0, c1]``); only
    the key order differs, and ``vk_alphabeta_12`` (a cached pairing that snarkjs'
    export adds and its verifier does not read) is absent.
    """
    raw = json.loads(vk_json)
    missing = [k for k in _VKEY_ORDER if k not in raw]
    if missing:
        raise RuntimeError(f"groth16py verification key lacks {missing}")
    out = {k: raw[k] for k in _VKEY_ORDER}
    out["curve"] = "bn128"
    return out


def dev_keys(r1cs: Path, work: Path, timings: dict) -> dict:
    """groth16py single-party setup: ``proving_key.ark`` + snarkjs-format vkey; manifest parts."""
    try:
        import groth16py
    except ImportError:
        raise InputError("--mode", "-", "dev", "dev setup needs groth16py (pip install groth16py==0.2.0)") from None
    t0 = time.perf_counter()
    pk, vk = groth16py.setup(str(r1cs))
    timings["groth16py_setup"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    pk.save(str(work / DEV_PROVING_KEY))
    atomic.write_text(work / "verification_key.json", json.dumps(dev_vkey_json(vk.to_json()), indent=1))
    timings["save_keys"] = time.perf_counter() - t0
    return {"security": SECURITY_DEV,
            "ptau": {"path": None, "power": None, "sha256": None, "source": "none (single-party setup)",
                     "dev_only": True},
            "zkey": {"sha256": None, "absent": "dev build: groth16py cannot write a snarkjs zkey"},
            "proving_key": {"file": DEV_PROVING_KEY, "sha256": sha256_file(work / DEV_PROVING_KEY),
                            "format": f"groth16py {groth16py.__version__} ProvingKey.save"}}

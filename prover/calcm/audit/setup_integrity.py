"""Setup integrity: the ptau, the zkey, the verification key, the Solidity verifier and the
deployed contract all belong to the circuit that was audited.

Checks per build (:class:`~calcm.zk.setup.Build`; a ``dev`` build, made by
groth16py's single-party setup, has no zkey and no ptau: it is reported
INSECURE-DEV, its ptau and zkey checks are SKIPs and :func:`dev_key_check` proves
that its ``proving_key.ark`` and ``verification_key.json`` are a key pair of this
r1cs instead):

- manifest hashes: the r1cs, wasm, proving key (zkey or ``proving_key.ark``),
  verification key, ``verifier.sol``, generated main and ptau (when the build
  has one) on disk have the sha256 the manifest records, the manifest's embedded
  verification key is the file's, and every circuit source the build compiled
  still has the recorded hash (the build is of the sources audited);
- ``snarkjs powersoftau verify`` on the ptau; the verdict is cached by the
  ptau's sha256 under ``cache_dir()/audit/verdicts`` (it takes minutes on big
  files and depends on nothing else);
- ``snarkjs zkey verify r1cs ptau zkey``: the zkey is a setup of *this* r1cs
  from *this* ptau (a zkey of another circuit, or from another ptau, fails);
  cached by the three sha256 together, since it repeats the whole setup;
- the verification key regenerates identically from the zkey (``snarkjs zkey
  export verificationkey``, compared as JSON with the build's file);
- the Solidity verifier regenerates identically from the zkey
  (:func:`calcm.chain.contracts.export_verifier_source`; a dev build: rendered
  from its verification key, :func:`calcm.zk.toolchain.solidity_verifier_from_vkey`),
  compared byte for byte with the build's ``verifier.sol`` and every generated
  verifier that claims this build or its proving key;
- with ``--rpc`` and ``--address``: the runtime bytecode at each address equals
  the pinned solc's compilation of the verifier regenerated from an audited
  zkey (:func:`calcm.chain.contracts.compile_verifier`).
"""
from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import Sequence

from .. import atomic
from ..paths import REPO_ROOT, cache_dir
from ..zk.ptau import sha256_file
from ..zk.toolchain import ToolchainError, snarkjs
from .report import FAIL, PASS, SKIP, WARN, Check, Timer


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


def ptau_path(build, override: Path | None = None) -> Path | None:
    if override is not None:
        return Path(override)
    path = (build.manifest.get("ptau") or {}).get("path")
    return Path(path) if path else None


def _dev_skip(name: str) -> Check:
    return Check("setup", name, SKIP, "INSECURE-DEV build (groth16py single-party setup): it has no powers "
                 "of tau and no snarkjs zkey; the dev proving key is checked by `dev proving key` instead")


# ------------------------------------------------------------------------------ manifest

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


# ------------------------------------------------------------------------------ ptau, zkey

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


# ------------------------------------------------------------------------------ vkey, verifier

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


# ------------------------------------------------------------------------------ deployed code

def _strip_metadata(code: bytes) -> bytes:
    """Runtime code without solc's CBOR metadata (its length is the last two bytes)."""
    if len(code) < 2:
        return code
    n = int.from_bytes(code[-2:], "big")
    return code[:-(n + 2)] if n + 2 <= len(code) else code


def expected_runtime(build, source: bytes) -> bytes:
    """Runtime bytecode of ``source`` as ``calcm chain deploy`` compiles it (same unit name)."""
    from ..chain.contracts import compile_verifier

    name = ("ModelVerifier.sol" if "struct_id" in build.manifest["config"]
            else f"MarginVerifier_{build.manifest['config']['name']}.sol")
    with tempfile.TemporaryDirectory(prefix="calcm-audit-sol-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(source)
        return bytes.fromhex(compile_verifier(path).deployed_bytecode[2:])


def deployed_check(expected: dict[str, bytes], rpc: str, addresses: Sequence[str]) -> Check:
    """Each address's runtime code equals one audited build's compiled verifier."""
    from ..chain.evm import http_web3

    with Timer() as t:
        w3 = http_web3(rpc)
        details, bad = [], 0
        for addr in addresses:
            try:
                code = bytes(w3.eth.get_code(w3.to_checksum_address(addr)))
            except Exception as exc:  # noqa: BLE001 - any RPC failure is this check's failure
                bad += 1
                details.append(f"{addr}: cannot read code from {rpc}: {exc}")
                continue
            exact = [lbl for lbl, want in expected.items() if code == want]
            loose = [lbl for lbl, want in expected.items()
                     if code and _strip_metadata(code) == _strip_metadata(want)]
            if exact:
                details.append(f"{addr}: runtime bytecode identical to the verifier of {exact[0]}")
            elif loose:
                details.append(f"{addr}: same code as the verifier of {loose[0]} (only solc's metadata "
                               f"hash differs: compiled from another source unit name)")
            else:
                bad += 1
                details.append(f"{addr}: {len(code)} bytes of runtime code match no audited verifier"
                               if code else f"{addr}: no contract code at this address")
    return Check("setup", "deployed verifier bytecode", FAIL if bad else PASS,
                 f"{len(addresses)} address(es) on {rpc}: {len(addresses) - bad} match an audited verifier",
                 {"addresses": len(addresses), "mismatches": bad}, details, t.seconds)


def rpc_skipped() -> Check:
    return Check("setup", "deployed verifier bytecode", SKIP, "no --rpc/--address or --registry given")


# ------------------------------------------------------------------------- the registry's verifiers

class RpcUnavailable(RuntimeError):
    """The JSON-RPC node does not answer (``calcm audit`` exit code 4, one line)."""


#: Registry getter -> (role, the build kind whose verifier it must be). MarginRegistry v2 and v3
#: both have these four views.
REGISTRY_VERIFIERS = {"marginVerifier()": ("margin", "margin"), "stepVerifier()": ("step", "model-step"),
                      "revalVerifier()": ("reval", "model-reval"), "optionVerifier()": ("option", "model-option")}
#: Name of the check (the CLI maps its FAIL, and that of :func:`deployed_check`, to exit code 3).
REGISTRY_CHECK = "registry verifiers bytecode"


def connect(rpc: str):
    """A Web3 on ``rpc`` that answered ``eth_chainId``; :class:`RpcUnavailable` otherwise."""
    from ..chain.evm import http_web3

    w3 = http_web3(rpc, timeout=10.0)
    try:
        w3.eth.chain_id
    except Exception as exc:  # noqa: BLE001 - any transport failure means the same thing here
        raise RpcUnavailable(f"cannot reach the JSON-RPC node at {rpc}: {type(exc).__name__}") from None
    return w3


def registry_verifiers(rpc: str, registry: str) -> dict[str, str | None]:
    """``{getter: address or None}`` as the registry at ``registry`` returns them now (None: the
    getter returns the zero address, i.e. not configured). Raises :class:`RpcUnavailable`, and
    ValueError when ``registry`` holds no contract or a getter reverts (not a registry)."""
    from eth_utils import keccak

    w3 = connect(rpc)
    try:
        addr = w3.to_checksum_address(registry)
        code = bytes(w3.eth.get_code(addr))
    except ValueError as exc:
        raise ValueError(f"{registry}: not an address ({exc})") from None
    except Exception as exc:  # noqa: BLE001
        raise RpcUnavailable(f"cannot read {registry} from {rpc}: {type(exc).__name__}") from None
    if not code:
        raise ValueError(f"{registry}: no contract code on {rpc}")
    out: dict[str, str | None] = {}
    for getter in REGISTRY_VERIFIERS:
        try:
            ret = bytes(w3.eth.call({"to": addr, "data": "0x" + keccak(text=getter)[:4].hex()}))
        except Exception as exc:  # noqa: BLE001 - a revert: not a MarginRegistry
            raise ValueError(f"{registry}: {getter} reverts ({type(exc).__name__}): not a MarginRegistry") from None
        if len(ret) != 32:
            raise ValueError(f"{registry}: {getter} returned {len(ret)} bytes: not a MarginRegistry")
        v = int.from_bytes(ret[12:], "big")
        out[getter] = w3.to_checksum_address(ret[12:]) if v else None
    return out


def registry_check(expected: dict[str, tuple[str, bytes]], rpc: str, registry: str,
                   verifiers: dict[str, str | None]) -> Check:
    """The verifiers the registry USES now (``verifiers``, from :func:`registry_verifiers`): each
    configured one must be byte for byte the compiled verifier of an audited build of its own kind
    (``expected``: label -> (kind, runtime code)). A configured verifier with no audited build of
    its kind is a FAIL (it is in use and unaudited); an unset one is listed."""
    w3 = connect(rpc)
    with Timer() as t:
        details, bad, used = [], 0, 0
        for getter, addr in verifiers.items():
            role, kind = REGISTRY_VERIFIERS[getter]
            if addr is None:
                details.append(f"{role} verifier ({getter}): not set (zero address)")
                continue
            used += 1
            try:
                code = bytes(w3.eth.get_code(addr))
            except Exception as exc:  # noqa: BLE001
                bad += 1
                details.append(f"{role} verifier {addr}: cannot read its code from {rpc}: {type(exc).__name__}")
                continue
            same_kind = {lbl: want for lbl, (k, want) in expected.items() if k == kind}
            exact = [lbl for lbl, want in same_kind.items() if code == want]
            loose = [lbl for lbl, want in same_kind.items()
                     if code and _strip_metadata(code) == _strip_metadata(want)]
            other = [lbl for lbl, (k, want) in expected.items() if k != kind and code == want]
            if exact:
                details.append(f"{role} verifier {addr}: runtime bytecode identical to the verifier of {exact[0]}")
            elif loose:
                details.append(f"{role} verifier {addr}: same code as the verifier of {loose[0]} (only solc's "
                               f"metadata hash differs)")
            else:
                bad += 1
                why = (f"it is the verifier of {other[0]}, a {expected[other[0]][0]} build, not a {kind} one"
                       if other else f"no audited {kind} build was given" if not same_kind
                       else f"{len(code)} bytes of runtime code match no audited {kind} build"
                       if code else "no contract code at this address")
                details.append(f"{role} verifier {addr}: MISMATCH: {why}")
    return Check("setup", REGISTRY_CHECK, FAIL if bad else PASS,
                 f"registry {registry} on {rpc}: {used} verifier(s) in use, {used - bad} match an audited build",
                 {"verifiers in use": used, "mismatches": bad}, details, t.seconds)


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

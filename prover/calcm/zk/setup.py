"""Build a circuit: compile, Groth16 setup (ceremony or dev mode), verification key, verifier.

Everything lands in one build directory with a ``manifest.json``::

    main.circom               generated from the CircuitConfig (do not edit)
    main.r1cs  main.sym  main_js/main.wasm
    circuit_final.zkey        ceremony mode: snarkjs zkey (phase-2 contributions + beacon)
    proving_key.ark           dev mode: groth16py ProvingKey.save (no snarkjs zkey exists)
    verification_key.json     snarkjs format (both modes)
    verifier.sol              snarkjs's Solidity verifier template rendered from that key
    manifest.json             mode, security label, config, circuit source hashes,
                              r1cs/wasm/key/ptau hashes, the verification key, toolchain

Two modes (``mode=``):

- ``ceremony``: ``snarkjs groth16 setup`` over a powers of tau (``--ptau FILE``, verified
  with ``powersoftau verify``; else the cached deterministic dev file, power <= 13), then
  optional secret phase-2 contributions (``contributions=[entropy, ...]``,
  ``snarkjs zkey contribute``) and a public beacon. Secure only with a ceremony ptau
  **and** at least one secret contribution by an honest party; otherwise the manifest says
  ``"security": "insecure-dev-public-beacon"`` (anyone can recompute the toxic waste).
- ``dev``: groth16py's single-party ``setup(r1cs)`` (arkworks): no powers of tau, so any
  size works (the issue measured 36-39 s at 144k-500k constraints). The setup's randomness
  is known to this process only, so it is labelled ``"security": "insecure-dev-single-party"``
  everywhere (manifest, CLI, deployment record). groth16py cannot write a snarkjs zkey:
  its proving key is kept as ``proving_key.ark`` (``ProvingKey.save``) and only the arkworks
  backend proves with it; snarkjs, py_ecc and the Solidity verifier all verify its proofs.

``auto`` (the CLI's default) is ``ceremony`` with a ``--ptau`` file or when the circuit
fits the largest locally made dev ptau (power 13), else ``dev``. Library callers get
``ceremony`` unless they ask (their old behaviour: a too-large circuit is an InputError).

The directory is assembled beside its target and renamed into place, so a
failed setup never leaves a partial build. A build whose manifest already
matches the sources and the ptau is reused as is.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Sequence

from .. import atomic
from ..errors import InputError
from ..paths import NODE_MODULES, cache_dir
from .config import CONFIGS, PUBLIC_SIGNALS, CircuitConfig, circuit_sources, source_hash
from .ptau import DEFAULT_MAX_DEV_POWER, Ptau, select_ptau, sha256_file
#: Security labels of a build (manifest ``security``; CLI and deployment records carry them).
from .keygen import DEV_PROVING_KEY, SECURITY_BEACON, SECURITY_CEREMONY, SECURITY_DEV, ceremony_keys, dev_keys
from .toolchain import circom_compile, r1cs_info, solidity_verifier_from_vkey

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
MODES = ("ceremony", "dev")
VERIFIER_SOL = "verifier.sol"


@dataclass(frozen=True)
class CompiledCircuit:
    """A compiled circuit (any config type) and its wasm / r1cs / sym files."""

    config: object
    dir: Path

    @property
    def wasm(self) -> Path:
        return self.dir / "main_js" / "main.wasm"

    @property
    def r1cs(self) -> Path:
        return self.dir / "main.r1cs"

    @property
    def sym_path(self) -> Path:
        return self.dir / "main.sym"

    @property
    def sym(self) -> dict[str, int]:
        """Signal name -> witness index, from the .sym file."""
        from .wtns import read_sym
        return read_sym(self.sym_path)


@dataclass(frozen=True)
class Build:
    """A finished build directory and its manifest."""

    dir: Path
    manifest: dict

    @property
    def config(self) -> CircuitConfig:
        c = self.manifest["config"]
        return CircuitConfig.from_manifest(c)

    @property
    def r1cs(self) -> Path:
        return self.dir / "main.r1cs"

    @property
    def wasm(self) -> Path:
        return self.dir / "main_js" / "main.wasm"

    @property
    def sym(self) -> Path:
        return self.dir / "main.sym"

    @property
    def zkey(self) -> Path:
        """The snarkjs zkey (ceremony mode; absent in a dev build)."""
        return self.dir / "circuit_final.zkey"

    @property
    def proving_key_path(self) -> Path:
        """The groth16py proving key (dev mode; absent in a ceremony build)."""
        return self.dir / DEV_PROVING_KEY

    @property
    def mode(self) -> str:
        return self.manifest.get("mode", "ceremony")

    @property
    def security(self) -> str:
        """``insecure-dev-single-party``, ``insecure-dev-public-beacon`` or ``ceremony``."""
        return self.manifest.get("security", SECURITY_BEACON)

    @property
    def key_file(self) -> Path:
        """The proving key of this build's mode (zkey or ``proving_key.ark``)."""
        return self.proving_key_path if self.mode == "dev" else self.zkey

    @property
    def proving_key_sha256(self) -> str:
        return self.manifest["proving_key"]["sha256"] if "proving_key" in self.manifest \
            else self.manifest["zkey"]["sha256"]

    @property
    def verifier_sol(self) -> Path:
        return self.dir / VERIFIER_SOL

    @property
    def vkey_sha256(self) -> str:
        return self.manifest["vkey_sha256"]

    @property
    def vkey_path(self) -> Path:
        return self.dir / "verification_key.json"

    @property
    def vkey(self) -> dict:
        return self.manifest["vkey"]

    @property
    def constraints(self) -> int:
        return self.manifest["r1cs"]["constraints"]

    @property
    def manifest_hash(self) -> str:
        return hashlib.sha256((self.dir / MANIFEST).read_bytes()).hexdigest()

    @classmethod
    def load(cls, build_dir: str | os.PathLike) -> "Build":
        d = Path(build_dir)
        path = d / MANIFEST
        if not path.exists():
            raise InputError(str(d), "-", MANIFEST, "no build here: run `calcm setup --build DIR` first")
        try:
            manifest = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise InputError(str(path), f"line {exc.lineno}", "-", f"invalid JSON: {exc.msg}") from None
        return cls(d.resolve(), manifest)  # absolute: proofs record it (calcm verify pins by it)

    def check_files(self) -> None:
        """The r1cs, proving key and verification key on disk are the ones the manifest names."""
        checks = [(self.r1cs, self.manifest["r1cs"]["sha256"]),
                  (self.key_file, self.proving_key_sha256),
                  (self.vkey_path, self.manifest["vkey_sha256"])]
        for path, want in checks:
            if not path.exists():
                raise InputError(str(path), "-", "-", f"missing (named by {MANIFEST})")
            if sha256_file(path) != want:
                raise InputError(str(path), "-", "sha256", f"does not match {MANIFEST}")


def _toolchain_versions() -> dict:
    def version(pkg: str) -> str:
        try:
            return json.loads((NODE_MODULES / pkg / "package.json").read_text())["version"]
        except (OSError, KeyError, json.JSONDecodeError):
            return "unknown"
    return {p: version(p) for p in ("circom2", "snarkjs", "circomlib")}


def _reusable(build_dir: Path, src_hash: str, ptau: Ptau | None, mode: str = "ceremony",
              contributions: int = 0) -> Build | None:
    try:
        build = Build.load(build_dir)
    except InputError:
        return None
    m = build.manifest
    if m.get("version") != MANIFEST_VERSION or m.get("source_hash") != src_hash or build.mode != mode:
        return None
    if ptau is not None and (m.get("ptau") or {}).get("sha256") != ptau.sha256:
        return None
    if contributions and m.get("zkey", {}).get("contributions", 0) < contributions:
        return None
    if not all(p.exists() for p in (build.r1cs, build.wasm, build.sym, build.key_file, build.vkey_path)):
        return None
    return build


def default_mode(min_ptau_power: int, ptau_file: Path | None = None,
                 max_dev_power: int = DEFAULT_MAX_DEV_POWER) -> str:
    """``ceremony`` with a ptau file or when a locally made dev ptau fits, else ``dev``."""
    return "ceremony" if ptau_file is not None or min_ptau_power <= max_dev_power else "dev"


def compile_only(config: CircuitConfig, out_dir: Path) -> dict:
    """Compile the generated main into ``out_dir``: constraint counts, no setup."""
    out_dir.mkdir(parents=True, exist_ok=True)
    main = out_dir / "main.circom"
    atomic.write_text(main, config.main_source())
    res = circom_compile(main, out_dir)
    info = r1cs_info(res.r1cs)
    return {"config": config.name, "params": config.params(), "constraints": info.n_constraints,
            "wires": info.n_wires, "compile_seconds": round(res.seconds, 2),
            "min_ptau_power": info.min_ptau_power()}


def setup(config: CircuitConfig, build_dir: str | os.PathLike, ptau_file: Path | None = None, *,
          mode: str = "ceremony", contributions: Sequence[str] = (),
          max_dev_power: int = DEFAULT_MAX_DEV_POWER, reuse: bool = True) -> tuple[Build, bool]:
    """Build ``config`` into ``build_dir`` in ``mode`` (``ceremony``, ``dev`` or ``auto``).

    ``contributions``: secret entropy strings, one ``snarkjs zkey contribute`` each
    (ceremony mode, before the beacon). Returns ``(build, reused)``.
    """
    if mode not in (*MODES, "auto"):
        raise InputError("--mode", "-", mode, f"unknown setup mode (known: auto, {', '.join(MODES)})")
    if mode == "dev" and (ptau_file is not None or contributions):
        raise InputError("--mode", "-", "dev", "a dev setup takes no --ptau and no contributions")
    build_dir = Path(build_dir).resolve()
    src_hash = source_hash(config)
    if mode == "auto":
        _, compile_info = cached_compile(config)
        mode = default_mode(compile_info["min_ptau_power"], ptau_file, max_dev_power)
    if reuse and (ptau_file is None or mode == "dev"):
        found = _reusable(build_dir, src_hash, None, mode, len(contributions))
        if found:
            return found, True
    build_dir.parent.mkdir(parents=True, exist_ok=True)
    timings = {}
    with tempfile.TemporaryDirectory(dir=build_dir.parent, prefix=f".{build_dir.name}.") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        # The compile is cached by source hash, so a failed or repeated setup does not redo it.
        compiled, _ = cached_compile(config)
        for name in ("main.circom", "main.r1cs", "main.sym"):
            shutil.copyfile(compiled / name, work / name)
        shutil.copytree(compiled / "main_js", work / "main_js")
        timings["compile"] = time.perf_counter() - t0
        main = work / "main.circom"
        comp = SimpleNamespace(r1cs=work / "main.r1cs", wasm=work / "main_js" / "main.wasm")
        info = r1cs_info(comp.r1cs)
        # Other circuits (the model update) name their own public signals.
        public = tuple(getattr(config, "public_signals", PUBLIC_SIGNALS))
        if info.n_pub_in != len(public) or info.n_pub_out != 0:
            raise RuntimeError(f"circuit has {info.n_pub_in} public inputs / {info.n_pub_out} outputs, "
                               f"expected {len(public)} / 0")
        if mode == "dev":
            key_manifest = dev_keys(comp.r1cs, work, timings)
        else:
            ptau = select_ptau(info.min_ptau_power(), ptau_file, max_dev_power=max_dev_power)
            if reuse and ptau_file is not None:
                found = _reusable(build_dir, src_hash, ptau, mode, len(contributions))
                if found:
                    return found, True
            key_manifest = ceremony_keys(comp.r1cs, ptau, contributions, work, timings)
        t0 = time.perf_counter()
        atomic.write_bytes(work / VERIFIER_SOL, solidity_verifier_from_vkey(work / "verification_key.json"))
        timings["verifier"] = time.perf_counter() - t0
        vkey = json.loads((work / "verification_key.json").read_text())
        security = key_manifest.pop("security")
        manifest = {
            "version": MANIFEST_VERSION,
            "mode": mode,
            "security": security,
            "dev_only": security != SECURITY_CEREMONY,
            "warning": {SECURITY_DEV: "single-party groth16py setup: whoever ran it could forge "
                                      "proofs; INSECURE, for development and benchmarks only",
                        SECURITY_BEACON: "zkey contribution is a public beacon (or the ptau is the "
                                         "dev one): reproducible and INSECURE; run a real phase-2 "
                                         "ceremony for production",
                        SECURITY_CEREMONY: "ceremony ptau and secret phase-2 contribution(s): secure "
                                           "if one contributor was honest"}[security],
            "config": {"name": config.name, **config.params()},
            "public_signals": list(public),
            "source_hash": src_hash,
            "circuit_sources": circuit_sources(config),
            "main_circom": {"sha256": sha256_file(main)},
            "r1cs": {"sha256": sha256_file(comp.r1cs), "constraints": info.n_constraints,
                     "wires": info.n_wires, "public_inputs": info.n_pub_in,
                     "private_inputs": info.n_prv_in, "min_ptau_power": info.min_ptau_power()},
            "wasm": {"sha256": sha256_file(comp.wasm)},
            **key_manifest,
            "vkey_sha256": sha256_file(work / "verification_key.json"),
            "vkey": vkey,
            "verifier_sol": {"sha256": sha256_file(work / VERIFIER_SOL),
                             "template": "snarkjs templates/verifier_groth16.sol.ejs"},
            "toolchain": _toolchain_versions(),
            "seconds": {k: round(v, 2) for k, v in timings.items()},
        }
        atomic.write_json(work / MANIFEST, manifest)
        os.chmod(work, 0o755)  # mkdtemp makes it 0700; a build is shared with other users/tools
        for f in work.iterdir():
            if f.is_file():
                os.chmod(f, 0o644)  # atomic writes are 0600
        _replace_dir(work, build_dir)
        # TemporaryDirectory cleanup expects its path: recreate it empty.
        work.mkdir()
    return Build.load(build_dir), False


def _replace_dir(src: Path, dst: Path) -> None:
    """Move ``src`` to ``dst``, replacing any old build only once the new one is complete."""
    old = None
    if dst.exists():
        old = dst.with_name(f".{dst.name}.old.{os.getpid()}")
        dst.rename(old)
    src.rename(dst)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def compiled_once(d: Path, make) -> Path:
    """``d`` holding a finished compile (``compile.json`` and ``main_js/main.wasm``): made by
    ``make(tmp) -> dict`` (the ``compile.json`` content) in a temp dir beside ``d`` and renamed
    into place, so concurrent runs (tests of several stages) never see half a compile; when
    two finish, the first rename wins."""
    if (d / "compile.json").exists() and (d / "main_js" / "main.wasm").exists():
        return d
    d.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{d.name}.", dir=d.parent))
    try:
        atomic.write_json(tmp / "compile.json", make(tmp))
        os.chmod(tmp, 0o755)
        if d.exists() and not (d / "compile.json").exists():
            shutil.rmtree(d, ignore_errors=True)      # a stale, incomplete compile
        try:
            tmp.rename(d)
        except OSError:
            pass                                      # another process finished first
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return d


def cached_compile(config: CircuitConfig) -> tuple[Path, dict]:
    """Compile ``config`` once per source hash under ``cache_dir()/compile`` (no setup).

    Returns the directory (``main.circom``, ``main.r1cs``, ``main.sym``,
    ``main_js/main.wasm``) and the counts: enough for witnesses, ``wtns check`` and
    constraint counts. The directory is compiled beside its target and renamed
    into place, so concurrent runs (tests of several stages) never see half a compile.
    """
    d = cache_dir() / "compile" / f"{config.name}-{source_hash(config)[:16]}"
    compiled_once(d, lambda tmp: compile_only(config, tmp))
    return d, json.loads((d / "compile.json").read_text())


def build_cache_dir(config: CircuitConfig) -> Path:
    """Where :func:`cached_build` keeps the build of ``config`` (keyed by its source hash)."""
    return cache_dir() / "builds" / f"{config.name}-{source_hash(config)[:16]}"


def cached_build(config: CircuitConfig | str) -> Build:
    """A build of ``config`` in the cache (made once per source hash; tests share it)."""
    config = CONFIGS[config] if isinstance(config, str) else config
    build, _ = setup(config, build_cache_dir(config))
    return build

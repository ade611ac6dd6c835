"""Build a margin-batch circuit: compile, Groth16 setup, dev beacon, verification key.

Everything lands in one build directory with a ``manifest.json``::

    main.circom               generated from the CircuitConfig (do not edit)
    main.r1cs  main.sym  main_js/main.wasm
    circuit_final.zkey        groth16 setup + a beacon contribution (DEV ONLY)
    verification_key.json
    manifest.json             config, circuit source hashes, r1cs/wasm/zkey/ptau
                              hashes, the verification key, toolchain versions

The phase-2 contribution is a public beacon, so the zkey is reproducible from
the sources and the ptau (``groth16 setup`` and ``zkey beacon`` are
deterministic) and **insecure**: anyone can recompute its toxic waste. A
production deployment runs a real phase-2 ceremony on the same r1cs.

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

from .. import atomic
from ..errors import InputError
from ..paths import NODE_MODULES, cache_dir
from .config import CONFIGS, PUBLIC_SIGNALS, CircuitConfig, circuit_sources, source_hash
from .ptau import DEFAULT_MAX_DEV_POWER, Ptau, select_ptau, sha256_file
from .toolchain import circom_compile, r1cs_info, snarkjs

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
#: The public beacon of the dev phase-2 contribution (reproducible, insecure).
ZKEY_BEACON_HASH = hashlib.sha256(b"calcm-dev-zkey-beacon-v1").hexdigest()
ZKEY_BEACON_NAME = "calcm dev-only zkey beacon (insecure: public toxic waste)"


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
        return CircuitConfig(c["name"], **{k: c[k] for k in ("N", "D", "S", "n", "U", "m", "k")})

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
        return self.dir / "circuit_final.zkey"

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
        return cls(d, manifest)

    def check_files(self) -> None:
        """The r1cs and zkey on disk are the ones the manifest names."""
        for key, path in (("r1cs", self.r1cs), ("zkey", self.zkey)):
            if sha256_file(path) != self.manifest[key]["sha256"]:
                raise InputError(str(path), "-", "sha256", f"does not match {MANIFEST}")


def _toolchain_versions() -> dict:
    def version(pkg: str) -> str:
        try:
            return json.loads((NODE_MODULES / pkg / "package.json").read_text())["version"]
        except (OSError, KeyError, json.JSONDecodeError):
            return "unknown"
    return {p: version(p) for p in ("circom2", "snarkjs", "circomlib")}


def _reusable(build_dir: Path, src_hash: str, ptau: Ptau | None) -> Build | None:
    try:
        build = Build.load(build_dir)
    except InputError:
        return None
    m = build.manifest
    if m.get("version") != MANIFEST_VERSION or m.get("source_hash") != src_hash:
        return None
    if ptau is not None and m["ptau"]["sha256"] != ptau.sha256:
        return None
    if not all(p.exists() for p in (build.r1cs, build.wasm, build.sym, build.zkey, build.vkey_path)):
        return None
    return build


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
          max_dev_power: int = DEFAULT_MAX_DEV_POWER, reuse: bool = True) -> tuple[Build, bool]:
    """Build ``config`` into ``build_dir``; returns ``(build, reused)``."""
    build_dir = Path(build_dir).resolve()
    src_hash = source_hash(config)
    if reuse and ptau_file is None:
        found = _reusable(build_dir, src_hash, None)
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
        ptau = select_ptau(info.min_ptau_power(), ptau_file, max_dev_power=max_dev_power)
        if reuse and ptau_file is not None:
            found = _reusable(build_dir, src_hash, ptau)
            if found:
                return found, True
        t0 = time.perf_counter()
        snarkjs("groth16", "setup", comp.r1cs, ptau.path, work / "circuit_0000.zkey")
        timings["groth16_setup"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        snarkjs("zkey", "beacon", work / "circuit_0000.zkey", work / "circuit_final.zkey",
                ZKEY_BEACON_HASH, "10", f"-n={ZKEY_BEACON_NAME}")
        (work / "circuit_0000.zkey").unlink()
        snarkjs("zkey", "export", "verificationkey", work / "circuit_final.zkey",
                work / "verification_key.json")
        timings["beacon_and_vkey"] = time.perf_counter() - t0
        vkey = json.loads((work / "verification_key.json").read_text())
        manifest = {
            "version": MANIFEST_VERSION,
            "dev_only": True,
            "warning": "zkey contribution is a public beacon: reproducible and INSECURE; "
                       "run a real phase-2 ceremony for production",
            "config": {"name": config.name, **config.params()},
            "public_signals": list(public),
            "source_hash": src_hash,
            "circuit_sources": circuit_sources(config),
            "main_circom": {"sha256": sha256_file(main)},
            "r1cs": {"sha256": sha256_file(comp.r1cs), "constraints": info.n_constraints,
                     "wires": info.n_wires, "public_inputs": info.n_pub_in,
                     "private_inputs": info.n_prv_in, "min_ptau_power": info.min_ptau_power()},
            "wasm": {"sha256": sha256_file(comp.wasm)},
            "ptau": ptau.manifest(),
            "zkey": {"sha256": sha256_file(work / "circuit_final.zkey"),
                     "beacon_hash": ZKEY_BEACON_HASH, "beacon_iterations_exp": 10},
            "vkey_sha256": sha256_file(work / "verification_key.json"),
            "vkey": vkey,
            "toolchain": _toolchain_versions(),
            "seconds": {k: round(v, 2) for k, v in timings.items()},
        }
        atomic.write_json(work / MANIFEST, manifest)
        os.chmod(work, 0o755)  # mkdtemp makes it 0700; a build is shared with other users/tools
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


def cached_compile(config: CircuitConfig) -> tuple[Path, dict]:
    """Compile ``config`` once per source hash under ``cache_dir()/compile`` (no setup).

    Returns the directory (``main.circom``, ``main.r1cs``, ``main.sym``,
    ``main_js/main.wasm``) and the counts: enough for witnesses, ``wtns check`` and
    constraint counts. The directory is compiled beside its target and renamed
    into place, so concurrent runs (tests of several stages) never see half a compile.
    """
    d = cache_dir() / "compile" / f"{config.name}-{source_hash(config)[:16]}"
    marker = d / "compile.json"
    if not (marker.exists() and (d / "main_js" / "main.wasm").exists()):
        d.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{d.name}.", dir=d.parent))
        try:
            info = compile_only(config, tmp)
            atomic.write_json(tmp / "compile.json", info)
            os.chmod(tmp, 0o755)
            if d.exists() and not marker.exists():
                shutil.rmtree(d, ignore_errors=True)      # a stale, incomplete compile
            try:
                tmp.rename(d)
            except OSError:
                pass                                      # another process finished first
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return d, json.loads(marker.read_text())


def build_cache_dir(config: CircuitConfig) -> Path:
    """Where :func:`cached_build` keeps the build of ``config`` (keyed by its source hash)."""
    return cache_dir() / "builds" / f"{config.name}-{source_hash(config)[:16]}"


def cached_build(config: CircuitConfig | str) -> Build:
    """A build of ``config`` in the cache (made once per source hash; tests share it)."""
    config = CONFIGS[config] if isinstance(config, str) else config
    build, _ = setup(config, build_cache_dir(config))
    return build

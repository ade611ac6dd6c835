"""Running the pinned node toolchain (circom2 in WASM, snarkjs) with errors surfaced.

Every command runs from the repository root: circom2's WASM build cannot open
include paths above its working directory, so libraries are passed relative
to the root (``-l circuits -l node_modules/circomlib/circuits``). A failing
command raises :class:`ToolchainError` carrying the command and the tail of its
output, never a silent non-zero exit.
"""
from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..paths import CIRCUITS, NODE_BIN, NODE_MODULES, REPO_ROOT

CIRCOMLIB = NODE_MODULES / "circomlib" / "circuits"
#: Heap for snarkjs on big circuits (node's default ~2-4 GiB is too small at 2^17).
NODE_HEAP_MB = int(os.environ.get("CALCM_NODE_HEAP_MB", "8192"))


class ToolchainError(RuntimeError):
    """A circom/snarkjs/node command failed or is missing."""

    def __init__(self, cmd: Sequence[str], code: int | None, output: str):
        self.cmd, self.code, self.output = list(cmd), code, output
        tail = "\n".join(output.strip().splitlines()[-15:])
        super().__init__(f"`{' '.join(map(str, cmd))}` failed (exit {code}):\n{tail}")


@dataclass(frozen=True)
class RunResult:
    cmd: list[str]
    stdout: str
    stderr: str
    seconds: float


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        raise ToolchainError(["node"], None, "node is not on PATH (needed for circom2 and snarkjs)")
    return node


def _rel(p: str | os.PathLike) -> str:
    """A path relative to the repo root when it lies inside it (circom2 sees only the cwd tree)."""
    p = Path(p).resolve()
    try:
        return str(p.relative_to(REPO_ROOT))
    except ValueError:
        return str(p)


def run(cmd: Sequence[str], *, timeout: float | None = None, check: bool = True) -> RunResult:
    """Run ``cmd`` from the repo root; raise :class:`ToolchainError` on failure."""
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([str(c) for c in cmd], cwd=REPO_ROOT, capture_output=True,
                              text=True, timeout=timeout)
    except FileNotFoundError as exc:
        raise ToolchainError(cmd, None, str(exc)) from None
    except subprocess.TimeoutExpired as exc:
        raise ToolchainError(cmd, None, f"timed out after {timeout} s\n{exc.stdout or ''}") from None
    res = RunResult(list(map(str, cmd)), proc.stdout, proc.stderr, time.perf_counter() - t0)
    # snarkjs reports some failures (e.g. an invalid proof) on stdout with exit 0 or 1.
    if check and proc.returncode != 0:
        raise ToolchainError(cmd, proc.returncode, proc.stdout + proc.stderr)
    return res


def snarkjs(*args: str | os.PathLike, timeout: float | None = None, check: bool = True) -> RunResult:
    """``snarkjs ARGS`` with a large node heap."""
    script = NODE_MODULES / "snarkjs" / "build" / "cli.cjs"
    if not script.exists():
        raise ToolchainError(["snarkjs"], None, f"{script} missing: run `make setup` (npm ci)")
    return run([_node(), f"--max-old-space-size={NODE_HEAP_MB}", str(script), *map(str, args)],
               timeout=timeout, check=check)


@dataclass(frozen=True)
class CompileResult:
    """Paths of one circom compilation and the counts circom printed."""

    r1cs: Path
    wasm: Path
    sym: Path
    nonlinear: int
    linear: int
    seconds: float

    @property
    def constraints(self) -> int:
        return self.nonlinear + self.linear


def circom_compile(main: Path, out_dir: Path, *, libs: Sequence[Path] = (CIRCUITS, CIRCOMLIB),
                   optimize: str = "--O2", r1cs: bool = True) -> CompileResult:
    """Compile ``main`` to r1cs (unless ``r1cs=False``: witness-only), wasm and sym in
    ``out_dir`` (run from the repo root)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    cli = NODE_BIN / "circom2"
    if not cli.exists():
        raise ToolchainError(["circom2"], None, f"{cli} missing: run `make setup` (npm ci)")
    cmd = [_node(), str(cli), _rel(main), *(["--r1cs"] if r1cs else []), "--wasm", "--sym", optimize,
           "-o", _rel(out_dir)]
    for lib in libs:
        cmd += ["-l", _rel(lib)]
    res = run(cmd)
    text = res.stdout + res.stderr
    if "error" in text.lower() and "Everything went okay" not in text:
        raise ToolchainError(cmd, 0, text)

    def count(label: str) -> int:
        m = re.search(label + r" constraints:\s*(\d+)", re.sub(r"\x1b\[[0-9;]*m", "", text))
        return int(m.group(1)) if m else 0

    stem = main.stem
    return CompileResult(out_dir / f"{stem}.r1cs", out_dir / f"{stem}_js" / f"{stem}.wasm",
                         out_dir / f"{stem}.sym", count("non-linear"), count("linear"), res.seconds)


@dataclass(frozen=True)
class R1csInfo:
    """Header of an ``.r1cs`` file (iden3 binary format, section 1)."""

    n_wires: int
    n_pub_out: int
    n_pub_in: int
    n_prv_in: int
    n_labels: int
    n_constraints: int

    @property
    def n_public(self) -> int:
        return self.n_pub_out + self.n_pub_in

    def min_ptau_power(self) -> int:
        """Smallest power of tau whose domain fits: snarkjs needs constraints + public + 1."""
        need = self.n_constraints + self.n_public + 1
        return max(1, (need - 1).bit_length())


def r1cs_info(path: Path) -> R1csInfo:
    """Read the header of an r1cs file without node."""
    data = Path(path).read_bytes()
    if data[:4] != b"r1cs":
        raise ValueError(f"{path}: not an r1cs file")
    n_sections = struct.unpack_from("<I", data, 8)[0]
    pos = 12
    for _ in range(n_sections):
        stype, size = struct.unpack_from("<IQ", data, pos)
        pos += 12
        if stype == 1:
            n8 = struct.unpack_from("<I", data, pos)[0]
            base = pos + 4 + n8
            vals = struct.unpack_from("<IIIIQI", data, base)
            return R1csInfo(*vals)
        pos += size
    raise ValueError(f"{path}: r1cs header section missing")


#: snarkjs's own Groth16 Solidity template (what ``snarkjs zkey export solidityverifier`` renders).
SNARKJS_VERIFIER_TEMPLATE = NODE_MODULES / "snarkjs" / "templates" / "verifier_groth16.sol.ejs"
_RENDER = ("const ejs=require(process.argv[1]);const fs=require('fs');"
           "const t=fs.readFileSync(process.argv[2],'utf8');"
           "process.stdout.write(ejs.render(t, JSON.parse(fs.readFileSync(process.argv[3],'utf8'))));")


def solidity_verifier_from_vkey(vkey_path: Path) -> bytes:
    """snarkjs's Groth16 Solidity verifier rendered from a ``verification_key.json``.

    snarkjs' ``zkey export solidityverifier`` exports the key from the zkey and renders
    this same template with ejs; rendering it from the key file gives the same bytes
    (tested), and also works for keys with no zkey (a groth16py dev setup).
    """
    if not SNARKJS_VERIFIER_TEMPLATE.exists():
        raise ToolchainError(["snarkjs"], None, f"{SNARKJS_VERIFIER_TEMPLATE} missing: run `make setup`")
    res = run([_node(), "-e", _RENDER, str(NODE_MODULES / "ejs"), str(SNARKJS_VERIFIER_TEMPLATE),
               str(Path(vkey_path).resolve())])
    return res.stdout.encode()

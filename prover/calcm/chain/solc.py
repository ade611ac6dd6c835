"""Compile Solidity with the pinned ``solc`` npm package (standard JSON, via node).

The compiler is the WASM build in ``node_modules/solc`` (version :data:`SOLC_VERSION`,
checked at every compile), so a fresh clone compiles byte-identical contracts without a
native solc. Settings are fixed here and nowhere else:

- optimizer on, ``runs = 200``;
- ``evmVersion = "cancun"`` (:data:`EVM_VERSION`): the newest fork that both EVMs we run
  support (anvil 1.7 runs any fork; py-evm 0.12 implements Cancun and Prague, and Prague
  added no opcode that solc emits). Pinned because solc 0.8.37 would otherwise target a
  newer EVM by default.

Imports of ``@openzeppelin/...`` (and any other npm package path) are resolved from
``node_modules`` before compiling (:func:`with_imports`): every imported file becomes a source
unit named by its import path, so solcjs needs no import callback and the cache key covers
the library code too.

A compile is cached under :func:`calcm.paths.cache_dir` by the SHA-256 of the standard
JSON input (sources + settings + compiler version), since the WASM compiler takes seconds.
"""
from __future__ import annotations

import hashlib
import json
import posixpath
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .. import atomic
from ..paths import NODE_MODULES, cache_dir

SOLC_VERSION = "0.8.37"
EVM_VERSION = "cancun"
OPTIMIZER_RUNS = 200

# Reads the standard JSON input on stdin, writes the output on stdout.
_NODE_DRIVER = r"""
const solc = require(process.argv[1]);
const want = process.argv[2];
if (!solc.version().startsWith(want + "+")) {
  console.error(`solc ${solc.version()} is not the pinned ${want}`);
  process.exit(3);
}
let input = "";
process.stdin.on("data", (d) => (input += d));
process.stdin.on("end", () => process.stdout.write(solc.compile(input)));
"""


class CompileError(RuntimeError):
    """solc reported errors (the message lists them, one per line)."""


@dataclass(frozen=True)
class Artifact:
    """One compiled contract."""

    name: str
    source: str
    abi: list
    bytecode: str            # creation code, 0x-hex
    deployed_bytecode: str   # runtime code, 0x-hex

    @property
    def abi_hash(self) -> str:
        """SHA-256 of the canonical ABI JSON: names the interface a deployment uses."""
        return hashlib.sha256(json.dumps(self.abi, sort_keys=True,
                                         separators=(",", ":")).encode()).hexdigest()


_IMPORT = re.compile(r'^\s*import\s+(?:[^"\';]*?\sfrom\s+)?["\']([^"\']+)["\']', re.M)


def with_imports(sources: dict[str, str], node_modules: Path = NODE_MODULES) -> dict[str, str]:
    """``sources`` plus every file they import, transitively (unit name -> Solidity text).

    A relative import (``./x.sol``, ``../y.sol``) resolves against the importing unit's
    directory; any other path (``@openzeppelin/contracts/...``) is a unit already given or a
    file under ``node_modules``. Raises :class:`CompileError` for an import found nowhere.
    """
    out = dict(sources)
    todo = list(sources)
    while todo:
        unit = todo.pop()
        for imp in _IMPORT.findall(out[unit]):
            name = (posixpath.normpath(posixpath.join(posixpath.dirname(unit), imp))
                    if imp.startswith(".") else imp)
            if name in out:
                continue
            path = Path(node_modules) / name
            if not path.is_file():
                raise CompileError(f"{unit}: import {imp!r} not found (as {name}, nor under "
                                   f"{node_modules})")
            out[name] = path.read_text()
            todo.append(name)
    return out


def standard_input(sources: dict[str, str]) -> dict:
    """The standard JSON input for ``sources`` (unit name -> Solidity text)."""
    return {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sorted(sources.items())},
        "settings": {
            "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
            "evmVersion": EVM_VERSION,
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object",
                                            "evm.deployedBytecode.object"]}},
        },
    }


def _run_solc(std_in: dict) -> dict:
    proc = subprocess.run(
        ["node", "-e", _NODE_DRIVER, str(NODE_MODULES / "solc"), SOLC_VERSION],
        input=json.dumps(std_in).encode(), capture_output=True, check=False)
    if proc.returncode != 0:
        raise CompileError(f"solc failed: {proc.stderr.decode().strip()}")
    return json.loads(proc.stdout)


def compile_sources(sources: dict[str, str]) -> dict[str, Artifact]:
    """Compile ``sources``; returns ``{contract name: Artifact}``.

    Contract names must be unique across the units (raises :class:`CompileError`
    otherwise), so callers refer to contracts by name alone.
    """
    std_in = standard_input(with_imports(sources))
    key = hashlib.sha256(json.dumps([SOLC_VERSION, std_in], sort_keys=True).encode()).hexdigest()
    cached = cache_dir() / "solc" / f"{key}.json"
    if cached.exists():
        out = json.loads(cached.read_text())
    else:
        out = _run_solc(std_in)
        errors = [e for e in out.get("errors", []) if e.get("severity") == "error"]
        if errors:
            raise CompileError("\n".join(e.get("formattedMessage", e["message"]).strip()
                                         for e in errors))
        atomic.write_json(cached, out)
    arts: dict[str, Artifact] = {}
    for unit, contracts in out.get("contracts", {}).items():
        for name, c in contracts.items():
            if name in arts:
                raise CompileError(f"contract name {name} defined in both {arts[name].source} "
                                   f"and {unit}")
            arts[name] = Artifact(name, unit, c["abi"], "0x" + c["evm"]["bytecode"]["object"],
                                  "0x" + c["evm"]["deployedBytecode"]["object"])
    return arts


def compile_files(paths: dict[str, Path]) -> dict[str, Artifact]:
    """Compile files given as ``{unit name: path}`` (unit names appear in errors)."""
    return compile_sources({unit: Path(p).read_text() for unit, p in paths.items()})

"""The contracts: hand-written sources in ``verifier_contracts/``, generated verifiers in
``verifier_contracts/generated/``, and their compilation.

Generated verifiers come from ``snarkjs zkey export solidityverifier`` alone and are never
edited: :func:`generate_verifier` writes snarkjs's output byte for byte (atomically), and the
same zkey always gives the same file. They all declare ``contract Groth16Verifier``, so each
one is compiled on its own (:func:`compile_verifier`).
"""
from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from .. import atomic
from ..paths import CONTRACTS, NODE_BIN, NODE_MODULES
from .solc import Artifact, compile_sources

GENERATED = CONTRACTS / "generated"
#: Hand-written contracts deployed by calcm (the registry and the local price feed).
REGISTRY = "MarginRegistry"
PRICE_FEED = "MockPriceFeed"


class VerifierGenerationError(RuntimeError):
    """snarkjs could not export a verifier from a zkey."""


#: The OpenZeppelin timelock that holds the registry's admin role after genesis (compiled
#: from ``node_modules/@openzeppelin/contracts``, 5.7.0).
TIMELOCK = "TimelockController"
TIMELOCK_UNIT = "@openzeppelin/contracts/governance/TimelockController.sol"


def hand_written_sources(root: Path = CONTRACTS) -> dict[str, str]:
    """The hand-written ``.sol`` units deployed by calcm: ``root/*.sol`` and
    ``root/interfaces/*.sol`` (unit name = path relative to root). ``generated/`` (verifiers,
    compiled one by one) and ``test/`` (forge tests) are not part of it."""
    files = sorted(root.glob("*.sol")) + sorted((root / "interfaces").glob("*.sol"))
    return {str(p.relative_to(root)): p.read_text() for p in files}


def compile_registry(root: Path = CONTRACTS) -> dict[str, Artifact]:
    """Compile the registry, the price feed, their interfaces and the OpenZeppelin
    ``TimelockController`` (OpenZeppelin imports resolve from node_modules)."""
    timelock = (NODE_MODULES / TIMELOCK_UNIT).read_text()
    return compile_sources({**hand_written_sources(root), TIMELOCK_UNIT: timelock})


def export_verifier_source(zkey: Path) -> bytes:
    """snarkjs's Solidity verifier for ``zkey``, as bytes (nothing is written)."""
    zkey = Path(zkey)
    if not zkey.exists():
        raise VerifierGenerationError(f"{zkey}: zkey not found")
    with tempfile.TemporaryDirectory(prefix="calcm-verifier-") as tmp:
        out = Path(tmp) / "Verifier.sol"
        proc = subprocess.run([str(NODE_BIN / "snarkjs"), "zkey", "export", "solidityverifier",
                               str(zkey), str(out)], capture_output=True, check=False)
        if proc.returncode != 0 or not out.exists():
            msg = (proc.stderr or proc.stdout).decode(errors="replace").strip()
            raise VerifierGenerationError(f"{zkey}: snarkjs solidityverifier failed: {msg}")
        return out.read_bytes()


def generate_verifier(zkey: Path, name: str, out_dir: Path = GENERATED) -> Path:
    """Write ``out_dir/<name>.sol`` from ``zkey`` (snarkjs output, unchanged); returns the path."""
    return atomic.write_bytes(Path(out_dir) / f"{name}.sol", export_verifier_source(zkey))


def compile_verifier(path: Path) -> Artifact:
    """Compile one generated verifier file; returns its ``Groth16Verifier`` artifact."""
    path = Path(path)
    arts = compile_sources({f"generated/{path.name}": path.read_text()})
    if "Groth16Verifier" not in arts:
        raise VerifierGenerationError(f"{path}: no Groth16Verifier contract in it")
    return arts["Groth16Verifier"]


def verifier_signal_count(artifact: Artifact) -> int:
    """Number of public signals a generated verifier takes (the length of its last argument)."""
    for item in artifact.abi:
        if item.get("type") == "function" and item.get("name") == "verifyProof":
            t = item["inputs"][-1]["type"]          # e.g. "uint256[4]"
            return int(t[t.rindex("[") + 1:-1])
    raise VerifierGenerationError(f"{artifact.name}: no verifyProof in the ABI")

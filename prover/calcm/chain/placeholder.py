"""A PLACEHOLDER model-update circuit: the model circuit's public-signal layout, nothing more.

It proves nothing about the model. It only binds its ``5 + K`` public signals
(``[prevState, newState, scenarioCommitment, paramHash, context, packedPrices...]``, see
``verifier_contracts/interfaces/IModelVerifier.sol``) by squaring each one, so that the
registry's model-update path (signal order, price packing, state chaining, verifier call,
gas) runs on real Groth16 proofs with arbitrary transitions. Anyone holding its zkey can
prove any transition, so it is for the registry tests and the gas benchmark only, and is
generated at run time in a temporary or cache directory, never committed. A deployed
registry uses the real model verifier (``calcm chain deploy --model-build``, issue 7) or
runs in attested mode (no model verifier).

The same builder makes a stand-in margin verifier (4 signals) for measuring verification gas
alone; every test of the margin path uses the real margin circuit.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..paths import NODE_BIN, cache_dir

#: Powers of tau for circuits of a few dozen constraints (2**6 = 64).
PTAU_POWER = 6


@dataclass(frozen=True)
class PlaceholderBuild:
    """A built placeholder: ``n_signals`` public inputs, each squared."""

    n_signals: int
    directory: Path
    wasm: Path
    zkey: Path
    vkey: Path


def source(n_signals: int, tag: int = 0) -> str:
    """The circom source: ``n_signals`` public inputs, each bound by one square.

    ``tag`` > 0 makes a distinct circuit (and so distinct keys) with the same signal count,
    ``sq[i] <== s[i] * (s[i] + tag)``: the v2 registry has several verifiers of equal arity
    (step and option part: 5 + K; reval and margin at K = 1: 5), and tests must not let a
    proof for one verify against another.
    """
    body = ("    for (var i = 0; i < n; i++) { sq[i] <== s[i] * s[i]; }\n" if tag == 0 else
            f"    for (var i = 0; i < n; i++) {{ sq[i] <== s[i] * (s[i] + {int(tag)}); }}\n")
    return (
        "pragma circom 2.1.0;\n"
        "// PLACEHOLDER (calcm.chain.placeholder): binds its public signals, proves nothing.\n"
        f"template Placeholder(n) {{\n"
        "    signal input s[n];\n"
        "    signal sq[n];\n"
        "    // Squaring binds each public input (an input in no constraint would be free).\n"
        + body +
        "}\n"
        f"component main {{public [s]}} = Placeholder({n_signals});\n")


def _run(cmd: list[str], cwd: Path) -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, check=False)
    if proc.returncode != 0:
        msg = (proc.stderr or proc.stdout).decode(errors="replace").strip()
        raise RuntimeError(f"{' '.join(cmd[:3])} failed: {msg[-2000:]}")


def _ptau() -> Path:
    """A small phase-2-prepared powers-of-tau file (cached; deterministic entropy)."""
    out = cache_dir() / "chain" / f"placeholder_pot{PTAU_POWER}.ptau"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    snarkjs = str(NODE_BIN / "snarkjs")
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        t = Path(tmp)
        _run([snarkjs, "powersoftau", "new", "bn128", str(PTAU_POWER), "p0.ptau"], t)
        _run([snarkjs, "powersoftau", "contribute", "p0.ptau", "p1.ptau", "--name=placeholder",
              "-e=calcm placeholder (not a ceremony)"], t)
        _run([snarkjs, "powersoftau", "prepare", "phase2", "p1.ptau", "final.ptau"], t)
        (t / "final.ptau").replace(out)
    return out


def build(n_signals: int, directory: Path | None = None, tag: int = 0) -> PlaceholderBuild:
    """Build (or reuse from the cache) the placeholder with ``n_signals`` public inputs
    (``tag``: see :func:`source`)."""
    if directory is None:
        key = hashlib.sha256(source(n_signals, tag).encode()).hexdigest()[:16]
        directory = cache_dir() / "chain" / f"placeholder_{n_signals}_{key}"
    d = Path(directory)
    b = PlaceholderBuild(n_signals, d, d / "placeholder_js" / "placeholder.wasm",
                         d / "placeholder.zkey", d / "verification_key.json")
    if b.vkey.exists():
        return b
    d.mkdir(parents=True, exist_ok=True)
    (d / "placeholder.circom").write_text(source(n_signals, tag))
    snarkjs = str(NODE_BIN / "snarkjs")
    _run([str(NODE_BIN / "circom2"), "placeholder.circom", "--r1cs", "--wasm", "-o", "."], d)
    _run([snarkjs, "groth16", "setup", "placeholder.r1cs", str(_ptau()), "p0.zkey"], d)
    _run([snarkjs, "zkey", "contribute", "p0.zkey", "placeholder.zkey", "--name=placeholder",
          "-e=calcm placeholder (not a ceremony)"], d)
    _run([snarkjs, "zkey", "export", "verificationkey", "placeholder.zkey",
          "verification_key.json"], d)
    return b


def prove(b: PlaceholderBuild, signals: list[int], backend_name: str = "auto") -> tuple[dict, list[int]]:
    """A Groth16 proof for ``signals``; returns ``(proof.json dict, public signals)``.

    Proven by :func:`calcm.zk.backend.prove` (``backend_name``: auto, arkworks or snarkjs).
    """
    from ..zk import backend
    if len(signals) != b.n_signals:
        raise ValueError(f"{len(signals)} signals for a placeholder with {b.n_signals}")
    snarkjs = str(NODE_BIN / "snarkjs")
    with tempfile.TemporaryDirectory(prefix="calcm-placeholder-") as tmp:
        t = Path(tmp)
        (t / "input.json").write_text(json.dumps({"s": [str(v) for v in signals]}))
        _run([snarkjs, "wtns", "calculate", str(b.wasm), "input.json", "w.wtns"], t)
        proof, public, _ = backend.prove(b, t / "w.wtns", backend_name)
        return proof, [int(x) for x in public]

"""Prove margin batches: witness (checked against the reference) -> Groth16 proof.

One batch directory holds::

    proof.json  public.json       snarkjs output (public = PUBLIC_SIGNALS order)
    verification_key.json         copied from the build, so `calcm verify DIR` is self-contained
    batch.json                    group, leaves, tiers, named public signals, context
                                  inputs, build hashes, timings (no positions: they
                                  stay private; the witness file is deleted)

:func:`prove_accounts` proves every group of a list of accounts into
``out/group-XXXX/`` plus ``out/summary.json``. Directories are assembled in a
temp dir and renamed into place, so bad input leaves no partial output.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .. import atomic
from ..poseidon import AccountsTree, lin_commitment, opt_commitment
from ..risk.fixed_margin import AccountFx, MarginModelFx
from .config import PUBLIC_SIGNALS, check_fits
from .context import batch_context
from .setup import Build, _replace_dir
from .toolchain import snarkjs
from .witness import (BatchExpected, WitnessMismatch, batch_input, compute_checked_witness,
                      group_accounts, venue_tree)

BATCH_KIND = "calcm-margin-batch"
#: Groth16 over BN254: A, C in G1 and B in G2, uncompressed affine (as EVM calldata).
PROOF_BYTES_UNCOMPRESSED = 2 * 64 + 128


@dataclass(frozen=True)
class ContextInfo:
    """What ``context`` binds: the chain, the registry contract and the block."""

    chain_id: int = 31337
    registry: str = "0x" + "00" * 20
    block: int = 1

    @property
    def value(self) -> int:
        return batch_context(self.chain_id, self.registry, self.block)

    def to_json(self) -> dict:
        return {"chain_id": self.chain_id, "registry": self.registry, "block": self.block,
                "context": str(self.value)}


@dataclass(frozen=True)
class BatchProof:
    dir: Path
    expected: BatchExpected
    witness_seconds: float
    prove_seconds: float
    proof_json_bytes: int


def _prove_into(build: Build, inp: dict, expected: BatchExpected, work: Path,
                backend: str = "auto") -> tuple[float, float]:
    """Witness (checked) and proof into ``work``; returns (witness s, prove s).

    The proof comes from :func:`calcm.zk.backend.prove` (``backend``: ``auto``, ``arkworks``
    or ``snarkjs``; ``auto`` is arkworks when groth16py is installed).
    """
    from .artifacts import write as write_proof_files
    from .backend import prove as prove_with_backend
    with tempfile.TemporaryDirectory(prefix=".wtns.", dir=work) as tmp:
        wtns = Path(tmp) / "witness.wtns"
        t0 = time.perf_counter()
        compute_checked_witness(build.wasm, build.sym, inp, expected, wtns)
        t1 = time.perf_counter()
        proof, public_str, used = prove_with_backend(build, wtns, backend)
        t2 = time.perf_counter()
    public = [int(x) for x in public_str]
    if tuple(public) != expected.public:
        raise WitnessMismatch(f"{used} public signals {public} != reference {list(expected.public)}")
    write_proof_files(work, proof, public)
    return t1 - t0, t2 - t1


def write_batch(build: Build, model: MarginModelFx, accounts: Sequence[AccountFx], group: int,
                tree: AccountsTree, ctx: ContextInfo, work: Path,
                names: Sequence[str | None] | None = None,
                commitments: tuple[int, int] | None = None, backend: str = "auto") -> BatchProof:
    """Prove one group into the (fresh) directory ``work`` (``commitments``: lin, opt, if known)."""
    config = build.config
    labels = _labels(names or [None] * config.N, group, config.N)
    inp, expected = batch_input(config, model, accounts, group, tree, ctx.value, labels, commitments)
    work.mkdir(parents=True, exist_ok=True)
    w_s, p_s = _prove_into(build, inp, expected, work, backend)
    shutil.copyfile(build.vkey_path, work / "verification_key.json")
    leaves = tree.group_leaves(group, config.N)
    meta = {
        "kind": BATCH_KIND,
        "config": build.manifest["config"],
        "build": {"dir": str(build.dir), "manifest_sha256": build.manifest_hash,
                  "source_hash": build.manifest["source_hash"],
                  "zkey_sha256": build.manifest["zkey"]["sha256"],
                  "vkey_sha256": build.manifest["vkey_sha256"], "dev_only": build.manifest["dev_only"]},
        "group": group,
        "public_signals": {k: str(v) for k, v in expected.public_dict().items()},
        "public_order": list(PUBLIC_SIGNALS),
        "context": ctx.to_json(),
        "accounts": [{"leaf": group * config.N + a, "id": (names or [None] * config.N)[a],
                      "commitment": str(leaves[a]), "tier": r.tier}
                     for a, r in enumerate(expected.results)],
        "tiers": list(expected.tiers),
        "seconds": {"witness": round(w_s, 3), "prove": round(p_s, 3)},
    }
    atomic.write_json(work / "batch.json", meta)
    return BatchProof(work, expected, w_s, p_s, (work / "proof.json").stat().st_size)


def _labels(names: Sequence[str | None], group: int, N: int) -> list[str]:
    """How errors name the accounts of a group."""
    return [f"account {n!r}" if n else f"empty leaf {group * N + a}" for a, n in enumerate(names)]


def _fresh_tmp(out_dir: Path) -> Path:
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))


def _publish(tmp: Path, out_dir: Path) -> None:
    """Make a finished temp dir readable and swap it in for ``out_dir``."""
    os.chmod(tmp, 0o755)
    _replace_dir(tmp, out_dir)


def prove_accounts(build: Build, model: MarginModelFx, accounts: Sequence[AccountFx],
                   names: Sequence[str], out_dir: Path, ctx: ContextInfo = ContextInfo(),
                   extra_summary: dict | None = None, backend: str = "auto") -> dict:
    """Prove all accounts (leaf ``i`` = ``accounts[i]``), one batch per group, into ``out_dir``.

    Every input is validated (ranges, shapes) for every group before the first
    tool runs, and the output appears only when every batch is proven.
    """
    config = build.config
    out_dir = Path(out_dir)
    check_fits(model, config, len(accounts))
    tree = venue_tree(accounts, config)
    commitments = (lin_commitment(model), opt_commitment(model))
    n_groups = max(1, -(-len(accounts) // config.N))
    padded_names = list(names) + [None] * (n_groups * config.N - len(names))
    for g in range(n_groups):  # fail fast on any bad account, before proving anything
        batch_input(config, model, group_accounts(accounts, g, config), g, tree, ctx.value,
                    _labels(padded_names[g * config.N:(g + 1) * config.N], g, config.N), commitments)
    tmp = _fresh_tmp(out_dir)
    try:
        batches = []
        for g in range(n_groups):
            batches.append(write_batch(build, model, group_accounts(accounts, g, config), g, tree, ctx,
                                       tmp / f"group-{g:04d}",
                                       padded_names[g * config.N:(g + 1) * config.N], commitments,
                                       backend))
        summary = {
            "kind": "calcm-margin-proofs",
            "config": build.manifest["config"],
            "accounts_root": str(tree.root),
            "lin_commitment": str(commitments[0]),
            "opt_commitment": str(commitments[1]),
            "context": ctx.to_json(),
            "groups": [f"group-{g:04d}" for g in range(n_groups)],
            "accounts": [{"id": names[i], "leaf": i, "group": i // config.N,
                          "tier": batches[i // config.N].expected.tiers[i % config.N],
                          "es": batches[i // config.N].expected.results[i % config.N].es,
                          "im": batches[i // config.N].expected.results[i % config.N].im,
                          "mm": batches[i // config.N].expected.results[i % config.N].mm,
                          "equity": batches[i // config.N].expected.results[i % config.N].equity}
                         for i in range(len(accounts))],
            "seconds": {"witness": round(sum(b.witness_seconds for b in batches), 3),
                        "prove": round(sum(b.prove_seconds for b in batches), 3)},
            "proof_json_bytes": batches[0].proof_json_bytes,
            "proof_bytes_uncompressed": PROOF_BYTES_UNCOMPRESSED,
            **(extra_summary or {}),
        }
        atomic.write_json(tmp / "summary.json", summary)
        _publish(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return summary

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

With ``workers`` > 1 the groups are proven on that many threads of this process, sharing
one loaded key: groth16py's ``prove_wtns`` is single-threaded and releases the GIL for the
proof, and the witness runs in a node subprocess, so W threads keep W cores busy (two
S = 534 batches on 2 cores: 27.0 s against 46.0 s one after the other). The files,
the summary and the public signals are those of ``workers=1`` (``seconds`` sums every
batch's own time either way).
"""
from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .. import atomic
from ..poseidon import AccountsTree, lin_commitment, opt_commitment
from ..risk.fixed_margin import AccountFx, MarginModelFx
from .config import PUBLIC_SIGNALS, check_fits
from .context import batch_context
from .setup import Build, _replace_dir
from .witness import (BatchExpected, WitnessMismatch, batch_input, calculate_witness,
                      compare_witness, group_accounts, venue_tree)
from .wtns import read_sym

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


_sym_cache: dict[tuple, dict[str, int]] = {}
_sym_lock = threading.Lock()


def cached_sym(path: Path) -> dict[str, int]:
    """``read_sym(path)``, kept for the latest file state only: a bench-shape ``.sym`` is
    ~100 MB, ~2 s of GIL-bound parsing that every batch (and every thread) would repeat."""
    st = Path(path).stat()
    stamp = (str(path), st.st_mtime_ns, st.st_size)
    with _sym_lock:
        if stamp not in _sym_cache:
            _sym_cache.clear()
            _sym_cache[stamp] = read_sym(path)
        return _sym_cache[stamp]


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
        compare_witness(calculate_witness(build.wasm, inp, wtns), cached_sym(build.sym), expected)
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


def warm_key(build, backend: str = "auto") -> str:
    """Check ``build``'s key against its manifest and load it into this process now (arkworks:
    the per-process key cache every thread shares), so that proofs pay no load; returns the
    backend's name. snarkjs reads its zkey on every proof: only the checks run."""
    from .backend import ArkworksBackend, backend_for, key_ref
    b = backend_for(build, backend)
    ref = key_ref(build)
    if isinstance(b, ArkworksBackend):
        b.load_key(ref)
    return b.name


def _in_order(fn, n: int, workers: int) -> list:
    """``[fn(0), ..., fn(n - 1)]``, on up to ``workers`` threads. The first failure in index
    order is raised once every started call has returned (queued calls are cancelled), so the
    caller may delete what the calls write into."""
    if workers <= 1 or n <= 1:
        return [fn(i) for i in range(n)]
    with ThreadPoolExecutor(max_workers=min(workers, n), thread_name_prefix="calcm-prove") as pool:
        futures = [pool.submit(fn, i) for i in range(n)]
        try:
            return [f.result() for f in futures]
        except BaseException:
            for f in futures:
                f.cancel()
            raise


def prove_accounts(build: Build, model: MarginModelFx, accounts: Sequence[AccountFx],
                   names: Sequence[str], out_dir: Path, ctx: ContextInfo = ContextInfo(),
                   extra_summary: dict | None = None, backend: str = "auto", workers: int = 1) -> dict:
    """Prove all accounts (leaf ``i`` = ``accounts[i]``), one batch per group, into ``out_dir``.

    Every input is validated (ranges, shapes) for every group before the first
    tool runs, and the output appears only when every batch is proven. ``workers``:
    groups proven at once (threads; see the module docstring).
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
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
    if workers > 1 and n_groups > 1:
        warm_key(build, backend)                 # once, before the threads share it
    tmp = _fresh_tmp(out_dir)
    try:
        batches = _in_order(lambda g: write_batch(
            build, model, group_accounts(accounts, g, config), g, tree, ctx, tmp / f"group-{g:04d}",
            padded_names[g * config.N:(g + 1) * config.N], commitments, backend), n_groups, workers)
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

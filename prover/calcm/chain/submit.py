"""Submit prove out dirs (``proof.json`` + ``public.json``) to the v2 registry, after checking
their public signals against the chain so a doomed proof fails with a clear message and
costs no gas.

- margin batch dirs (5 signals: ``accountsRoot, linCommitment, optCommitment, context,
  packedResult``): checked against the current root, model version and its commitments;
- daily step dirs (``5 + K`` signals, plus ``step.json`` with ``"rounds"``): checked against
  the stored state, the parameter hash and the close prices of ``rounds``, then by an
  ``eth_call`` (the registry's own verdict) before sending.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from . import encoding
from .registry import Registry
from .transact import SubmissionError


@dataclass(frozen=True)
class ProofDir:
    """A prove out dir: the proof and its public signals."""

    path: Path
    proof: dict
    public: list[int]

    @property
    def kind(self) -> str:
        return "margin" if len(self.public) == encoding.MARGIN_SIGNALS else "model"


def read_proof_dir(path: Path) -> ProofDir:
    """Read a prove out dir (:func:`calcm.zk.artifacts.read`), then check what the chain needs."""
    from ..zk import artifacts
    path = Path(path)
    art = artifacts.read(path)
    for i, v in enumerate(art.public):
        if not encoding.in_field(v):
            raise InputError(path / "public.json", f"signal {i}", "value",
                             "not below the BN254 scalar field order")
    if len(art.public) < encoding.REVAL_FIXED_SIGNALS + 1:
        raise InputError(path / "public.json", "public signals", "length",
                         f"{len(art.public)} signals: neither a margin batch nor a model proof")
    return ProofDir(path, art.proof, art.public)


def batch_dirs(path: Path) -> list[Path]:
    """The proof dirs under ``path``: itself when it holds one, else its proof subdirectories
    (the ``group-XXXX`` dirs of a ``calcm prove`` out dir, in order): :func:`calcm.zk.artifacts.proof_dirs`."""
    from ..zk import artifacts
    return artifacts.proof_dirs(path)


def _meta(path: Path, name: str) -> dict | None:
    try:
        obj = json.loads((Path(path) / name).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return obj if isinstance(obj, dict) else None


def find_context_block(reg: Registry, context: int, lo: int, hi: int) -> int | None:
    """The block in ``[lo, hi]`` whose context on this chain and registry is ``context``."""
    chain_id = reg.w3.eth.chain_id
    for b in range(hi, max(lo, 0) - 1, -1):
        if encoding.batch_context(chain_id, reg.address, b) == context:
            return b
    return None


def _context_block(reg: Registry, st: dict, path: Path, context: int, block: int | None,
                   meta: dict | None) -> int:
    if block is None and meta and "block" in meta:
        block = int(meta["block"])
    if block is None:
        block = find_context_block(reg, context, st["block"] - st["max_age"], st["block"])
        if block is None:
            raise SubmissionError(f"{path}: context matches no block within maxAge on this "
                                  "chain and registry")
    if context != encoding.batch_context(st["chain_id"], reg.address, block):
        raise SubmissionError(f"{path}: context is not block {block} on chain "
                              f"{st['chain_id']} at registry {reg.address}")
    return block


def submit_proof_dir(reg: Registry, path: Path, block: int | None = None) -> dict:
    """Check a proof dir against the chain, then submit it; returns a summary dict."""
    pd = read_proof_dir(path)
    st = reg.state()
    pub = pd.public
    if pd.kind == "margin":
        root, lin, opt, context, packed = pub
        meta = _meta(path, "batch.json")
        block = _context_block(reg, st, path, context, block, (meta or {}).get("context"))
        if root != st["accounts_root"]:
            raise SubmissionError(f"{path}: accounts root is not the current one "
                                  f"(proof {root}, registry {st['accounts_root']})")
        if lin != st["lin_commitment"]:
            raise SubmissionError(f"{path}: linear commitment is not model version "
                                  f"{st['model_version']}'s")
        if opt != (st["opt_commitment"] if st["n_parts"] else 0):
            raise SubmissionError(f"{path}: option commitment is not model version "
                                  f"{st['model_version']}'s")
        if not st["model_usable"]:
            raise SubmissionError(f"{path}: model version {st['model_version']} is not usable "
                                  "(no linear commitment, or options stale)")
        try:
            group, tiers = encoding.unpack_result(packed, st["group_size"])
        except ValueError as exc:           # the registry would revert WrongShape / ResultOutOfRange
            raise SubmissionError(f"{path}: {exc} (registry groupSize {st['group_size']})") from None
        receipt = reg.submit_margin_batch(pd.proof, block, st["model_version"], group, packed)
        return {"kind": "margin", "block": block, "group": group, "tiers": tiers,
                "model_version": st["model_version"],
                "tx": receipt.transactionHash.hex(), "gas_used": receipt.gasUsed}
    want = encoding.step_signal_count(st["n_assets"])
    meta = _meta(path, "step.json")
    if len(pub) != want or not meta or "rounds" not in meta:
        raise SubmissionError(f"{path}: not a daily step dir ({len(pub)} signals, want {want}, "
                              "and step.json with the feed rounds)")
    prev, new_state, lin, param_hash, context = pub[:5]
    block = _context_block(reg, st, path, context, block, meta)
    if prev != st["state_commitment"]:
        raise SubmissionError(f"{path}: starts from model state {prev}, registry holds "
                              f"{st['state_commitment']}")
    if param_hash != st["param_hash"]:
        raise SubmissionError(f"{path}: parameter hash differs from the published one")
    rounds = [int(r) for r in meta["rounds"]]
    if pub[5:] != reg.packed_close_prices(rounds):
        raise SubmissionError(f"{path}: packed prices differ from rounds {rounds}")
    receipt = reg.submit_model_step(pd.proof, block, rounds, new_state, lin)
    return {"kind": "step", "block": block, "day": st["day"] + 1, "rounds": rounds,
            "new_state": new_state, "lin_commitment": lin,
            "tx": receipt.transactionHash.hex(), "gas_used": receipt.gasUsed}

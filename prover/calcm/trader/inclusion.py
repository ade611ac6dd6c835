"""A trader's own check of their on-chain (or proven) record: leaf, Merkle path, model, tier.

Public functions::

    inclusion(ctx: TraderContext, account_id: str, *, proof_dir: Path | None = None,
              reader: RegistryReader | None = None, owner: str | None = None,
              depth: int = DEFAULT_D, group_size: int | None = None,
              verify_proof: bool = False) -> Inclusion
    merkle_path(tree: AccountsTree, leaf: int) -> list[int]
    root_from_leaf(leaf_value: int, leaf: int, path: Sequence[int]) -> int

Checks, in order (each a :class:`Check`; the first failing one is the one-line verdict):

1. ``leaf``: ``account_commitment`` (Poseidon sponge of salt, fixed-point positions and
   collateral: :func:`calcm.poseidon.account_commitment`) of the account's own book entry;
   with a proof directory also equal to the commitment its ``batch.json`` lists for that leaf;
2. ``registered`` (chain): ``leafOf(owner)`` is registered at the account's leaf index
   (account ``i`` of the book at leaf ``i``, as the venue builds its tree: ``venue_tree``);
3. ``merkle_path``: the root recomputed from the leaf and its path (siblings from the
   venue's tree of the book, depth ``D``) equals the recorded ``accountsRoot``
   (registry ``accountsRoot()`` or the proof's public signal);
4. ``model``: the recorded ``linCommitment``/``optCommitment`` are the published model's
   (so the tier was computed on this model);
5. ``record_valid`` (chain): ``healthOf(owner).valid``;
6. ``tier``: the recorded tier (``healthOf`` or the proof's ``packedResult``, decoded with
   :func:`calcm.chain.encoding.unpack_result`) equals the published model's tier;
7. ``proof`` (optional, proof dir): the Groth16 proof verifies (snarkjs and py_ecc) under the
   directory's verification key (informative: a verifier must pin the key it trusts).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..errors import InputError
from ..poseidon import AccountsTree, account_commitment, poseidon
from ..risk.fixed_margin import margin_fx
from ..zk.config import DEFAULT_D, PUBLIC_SIGNALS, config_for_model
from .numbers import tier_name


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def to_json(self) -> dict:
        return dict(vars(self))


@dataclass(frozen=True)
class Inclusion:
    account: str
    leaf: int
    source: str                      # "chain <registry>" | "proof <dir>"
    model_tier: int
    recorded_tier: int | None
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failure(self) -> Check | None:
        return next((c for c in self.checks if not c.ok), None)

    def to_json(self) -> dict:
        f = self.failure
        return {"account": self.account, "leaf": self.leaf, "source": self.source, "ok": self.ok,
                "model_tier": tier_name(self.model_tier),
                "recorded_tier": None if self.recorded_tier is None else tier_name(self.recorded_tier),
                "failed": None if f is None else f.name, "checks": [c.to_json() for c in self.checks]}


def merkle_path(tree: AccountsTree, leaf: int) -> list[int]:
    """Siblings of leaf ``leaf`` from level 0 up to the root (``depth`` values)."""
    path, idx = [], leaf
    for level in range(tree.depth):
        path.append(tree.levels[level][idx ^ 1])
        idx >>= 1
    return path


def root_from_leaf(leaf_value: int, leaf: int, path: Sequence[int]) -> int:
    """The root from a leaf value, its index and its path (bit ``l`` of ``leaf``: right child at level ``l``)."""
    node = leaf_value
    for level, sib in enumerate(path):
        node = poseidon([sib, node]) if (leaf >> level) & 1 else poseidon([node, sib])
    return node


def _proof_group_dir(proof_dir: Path, group: int):
    from ..zk.artifacts import proof_dirs, read
    arts = [read(d) for d in proof_dirs(Path(proof_dir))]
    for art in arts:
        if art.meta and art.meta.get("group") == group:
            return art
    if len(arts) == 1 and not (arts[0].meta or {}).get("group"):
        return arts[0]
    raise InputError(str(proof_dir), f"group {group}", "-", "no proof directory for the account's group")


def inclusion(ctx, account_id: str, *, proof_dir: Path | None = None, reader=None, owner: str | None = None,
              depth: int = DEFAULT_D, group_size: int | None = None, verify_proof: bool = False) -> Inclusion:
    """Run the checks of the module docstring against a proof directory or a registry."""
    from ..chain.encoding import unpack_result

    if (proof_dir is None) == (reader is None):
        raise InputError("inclusion", "-", "--proof-dir/--rpc", "give exactly one of --proof-dir or --rpc/--registry")
    idx, acc = ctx.account(account_id)
    accounts = [ctx.encode(a) for a in ctx.book.accounts]
    mine = accounts[idx]
    leaf_value = account_commitment(mine)
    model_tier = margin_fx(ctx.model, mine).tier
    checks: list[Check] = []
    recorded_tier = None
    art = None
    if proof_dir is not None:
        N = group_size
        if N is None:
            # the group size is in every batch.json the prover writes
            from ..zk.artifacts import proof_dirs, read
            metas = [read(d).meta or {} for d in proof_dirs(Path(proof_dir))]
            cfg_meta = next((m.get("config") for m in metas if m.get("config")), None)
            if cfg_meta is None:
                raise InputError(str(proof_dir), "batch.json", "config", "missing: pass --group-size")
            N, depth = int(cfg_meta["N"]), int(cfg_meta["D"])
        art = _proof_group_dir(Path(proof_dir), idx // N)
        pub = dict(zip(PUBLIC_SIGNALS, art.public))
        if len(art.public) != len(PUBLIC_SIGNALS):
            raise InputError(str(art.dir / "public.json"), "-", "-", f"expected {len(PUBLIC_SIGNALS)} signals")
        root, lin, opt, packed = pub["accountsRoot"], pub["linCommitment"], pub["optCommitment"], pub["packedResult"]
        source = f"proof {art.dir}"
        listed = next((a for a in (art.meta or {}).get("accounts", []) if a.get("leaf") == idx), None)
        if listed is None:
            checks.append(Check("leaf", True, f"leaf {idx} = {leaf_value} (batch.json lists no commitments)"))
        else:
            same = str(listed.get("commitment")) == str(leaf_value)
            checks.append(Check("leaf", same, f"leaf {idx}: recomputed {leaf_value}, "
                                              f"batch.json {listed.get('commitment')}"))
        try:
            group, tiers = unpack_result(packed, N)
        except ValueError as exc:
            checks.append(Check("tier", False, f"packedResult does not decode: {exc}"))
            group, tiers = None, None
    else:
        from ..keeper.venue import owner_address
        N = group_size or reader.group_size()
        owner = owner or owner_address(acc.id)
        root = reader.accounts_root()
        cm = reader.commitments()
        lin, opt = int(cm["lin_commitment"]), int(cm["opt_commitment"])
        source = f"chain {reader.address}"
        checks.append(Check("leaf", True, f"leaf {idx} = {leaf_value}"))
        registered, chain_leaf = reader.leaf(owner)
        checks.append(Check("registered", registered and chain_leaf == idx,
                            f"owner {owner}: registered={registered}, leaf {chain_leaf}, book leaf {idx}"))
        t, proven_block, valid = reader.health(owner)
        group, tiers = idx // N, None
        recorded_tier = t
    config = config_for_model(ctx.model, N=N, D=depth)
    from ..zk.witness import venue_tree
    try:
        tree = venue_tree(accounts, config)
    except ValueError as exc:
        raise InputError(ctx.book.source, "-", "accounts", str(exc)) from None
    got_root = root_from_leaf(leaf_value, idx, merkle_path(tree, idx))
    checks.append(Check("merkle_path", got_root == root,
                        f"root from leaf {idx} and its path {got_root}, recorded accountsRoot {root}"))
    model_ok = (str(lin), str(opt)) == (ctx.commitments["lin_commitment"], ctx.commitments["opt_commitment"])
    checks.append(Check("model", model_ok, f"recorded lin/opt commitments {lin}/{opt}, published model "
                                           f"{ctx.commitments['lin_commitment']}/{ctx.commitments['opt_commitment']}"))
    if reader is not None:
        checks.append(Check("record_valid", valid, f"healthOf valid={valid} (proven at block {proven_block})"))
    elif tiers is not None:
        if group != idx // N:
            checks.append(Check("tier", False, f"packedResult is for group {group}, the account is in {idx // N}"))
        recorded_tier = tiers[idx % N]
    if recorded_tier is not None:
        checks.append(Check("tier", recorded_tier == model_tier,
                            f"recorded {tier_name(recorded_tier)}, published model {tier_name(model_tier)}"))
    if verify_proof and art is not None:
        from ..zk.verify import verify_dir
        res = verify_dir(art.dir)
        checks.append(Check("proof", res.ok, f"Groth16 proof in {art.dir} under its own verification key: "
                                             f"snarkjs {res.snarkjs_ok}, py_ecc {res.pyecc_ok}"))
    return Inclusion(acc.id, idx, source, model_tier, recorded_tier, tuple(checks))

"""A small deterministic margin model and accounts of known tiers, proven with a real margin
build: the chain tests, the gas benchmark and smoke deployments use it.

The model (v2, docs/PROVING.md §2) has the structure of any
:class:`~calcm.zk.config.CircuitConfig` whose instrument 0 is spot and collateral 0 a
stablecoin: every underlying priced at 100 USD, underlying 0's scenario returns run from
-20% to +10% (the others and every option do not move), option premiums and deltas 0,
collateral without haircut, no liquidity add-on. Accounts are short instrument 0 against
collateral 0:

- ``LIQUIDATABLE``: short 100 units, 10,500 USD collateral (equity 500 USD, worst loss
  1,000 USD: tier 3);
- ``HEALTHY``: short 1 unit, 10,000 USD collateral (tier 0).

The tiers are computed by :func:`calcm.risk.fixed_margin.margin_fx` (and the witness is
checked against it before proving), never assumed.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..fixedpoint import PRICE_SCALE, QTY_SCALE
from ..risk.fixed_margin import AccountFx, MarginModelFx

MARK_USD = 100
RETURNS = (-0.20, 0.10)


def sample_model(S, n: int | None = None, U: int | None = None, m: int | None = None,
                 k: int | None = None, *, kinds=None, under=None, coll=None, chunks: int = 1) -> MarginModelFx:
    """The model described in the module docstring.

    ``S`` is either a :class:`~calcm.zk.config.CircuitConfig` (its whole structure is
    used) or the scenario count, with ``n, U, m, k`` and optional ``kinds`` (default all
    spot), ``under`` (default all on underlying 0) and ``coll`` (default stablecoins).
    """
    if not isinstance(S, int):
        c = S
        S, n, U, m, k, kinds, under, coll, chunks = c.S, c.n, c.U, c.m, c.k, c.kinds, c.under, c.coll, c.C
    kinds = tuple(kinds) if kinds is not None else (0,) * n
    under = tuple(under) if under is not None else (0,) * n
    coll = tuple(coll) if coll is not None else (-1,) * m
    if kinds[0] != 0 or under[0] != 0 or coll[0] != -1:
        raise ValueError("the sample model needs instrument 0 spot on underlying 0 and collateral 0 a stablecoin")
    lo, hi = RETURNS
    rets = [hi] if S == 1 else [lo + (hi - lo) * s / (S - 1) for s in range(S)]
    price = MARK_USD * PRICE_SCALE
    n_opt = sum(1 for kd in kinds if kd >= 2)
    return MarginModelFx(
        price=(price,) * U, lin=tuple(tuple(round(price * r) if u == 0 else 0 for u in range(U)) for r in rets),
        opt=tuple((0,) * n_opt for _ in range(S)) if n_opt else (), opt_mark=(0,) * n_opt,
        opt_expo=(0,) * n_opt, haircut_bps=(0,) * m, adv=(10**9,) * U, liquidity_weight_bps=(0,) * U,
        k_tail=k, im_buffer_bps=2500, warn_buffer_bps=2000, kinds=kinds, under=under, coll=coll,
        chunks=chunks)


def sample_account(kind: str, n: int, m: int, salt: int) -> AccountFx:
    """A ``"liquidatable"`` or ``"healthy"`` account (see the module docstring)."""
    units, collateral_usd = {"liquidatable": (100, 10_500), "healthy": (1, 10_000)}[kind]
    qty = tuple(-units * QTY_SCALE if i == 0 else 0 for i in range(n))
    coll = tuple(collateral_usd * QTY_SCALE if j == 0 else 0 for j in range(m))
    return AccountFx(qty, coll, salt)


@dataclass(frozen=True)
class BatchProof:
    """A proven margin batch: what ``calcm chain submit`` reads, plus the reference tiers."""

    proof: dict
    public: list[int]
    group: int
    tiers: tuple[int, ...]

    def write(self, out_dir: Path) -> Path:
        """Write ``proof.json`` and ``public.json`` (a prove out dir)."""
        from .. import atomic
        atomic.write_json(Path(out_dir) / "proof.json", self.proof)
        atomic.write_json(Path(out_dir) / "public.json", [str(v) for v in self.public])
        return Path(out_dir)


def prove_batch(build, model: MarginModelFx, accounts: list[AccountFx], group: int,
                context: int, backend_name: str = "auto") -> BatchProof:
    """Prove group ``group`` of ``accounts`` (account i at leaf i) with a margin ``build``.

    The proof comes from :func:`calcm.zk.backend.prove` (``backend_name``). The public
    signals (root, linCommitment, optCommitment, context, packed tiers) must equal the Python reference's (:func:`calcm.zk.witness.batch_input`), else it raises.
    Intermediates are not compared here (the zk stage's tests do that; on the tiniest shapes
    circom optimises some of them out of the ``.sym`` map).
    """
    from ..zk import backend
    from ..zk.witness import batch_input, calculate_witness, group_accounts, venue_tree
    cfg = build.config
    tree = venue_tree(accounts, cfg)
    members = group_accounts(accounts, group, cfg)
    inp, expected = batch_input(cfg, model, members, group, tree, context)
    with tempfile.TemporaryDirectory(prefix="calcm-batch-") as tmp:
        t = Path(tmp)
        calculate_witness(build.wasm, inp, t / "w.wtns")
        proof, public_str, _ = backend.prove(build, t / "w.wtns", backend_name)
        public = [int(x) for x in public_str]
    if tuple(public) != expected.public:
        raise RuntimeError("snarkjs public signals differ from the reference's")
    return BatchProof(proof, public, group, expected.tiers)


def accounts_root(build, accounts: list[AccountFx]) -> int:
    """The venue's accounts root for ``accounts`` (account i at leaf i)."""
    from ..zk.witness import venue_tree
    return venue_tree(accounts, build.config).root

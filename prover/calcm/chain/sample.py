"""A small deterministic margin model and accounts of known tiers, proven with a real margin
build: the chain tests, the gas benchmark and smoke deployments use it.

The model fits any :class:`~calcm.zk.config.CircuitConfig` shape ``(S, n, U, m, k)``: one
traded instrument (index 0, a spot-like asset marked at 100 USD) whose scenario returns run
from -20% to +10%, the other instruments idle, collateral in a 1-USD stablecoin without
haircut, no liquidity add-on. Accounts are short the instrument against collateral:

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


def sample_model(S: int, n: int, U: int, m: int, k: int) -> MarginModelFx:
    """The model described in the module docstring, for shape ``(S, n, U, m, k)``."""
    lo, hi = RETURNS
    rets = [hi] if S == 1 else [lo + (hi - lo) * s / (S - 1) for s in range(S)]
    mark = MARK_USD * PRICE_SCALE
    pnl = tuple(tuple(round(mark * r) if i == 0 else 0 for i in range(n)) for r in rets)
    exposure = tuple(tuple(mark if (i == 0 and u == 0) else 0 for i in range(n)) for u in range(U))
    return MarginModelFx(
        pnl=pnl, mark=tuple(mark if i == 0 else 0 for i in range(n)), exposure=exposure,
        collateral_price=(PRICE_SCALE,) * m, haircut_bps=(0,) * m, adv=(10**9,) * U,
        liquidity_weight_bps=(0,) * U, k_tail=k, im_buffer_bps=2500, warn_buffer_bps=2000)


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
    signals (root, scenario commitment, context, packed tiers) must equal the Python reference's (:func:`calcm.zk.witness.batch_input`), else it raises.
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

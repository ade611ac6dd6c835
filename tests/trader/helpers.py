"""Test helpers: proof directories of the bundled book, and a book matching a synthetic model."""
from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

from calcm.risk.book import Account, Book, CollateralAsset, Instrument, book_to_json
from calcm.zk import artifacts
from calcm.zk.config import config_for_model
from calcm.zk.prove import BATCH_KIND
from calcm.zk.witness import batch_input, group_accounts, venue_tree


def write_batch_dirs(ctx, out: Path, N: int = 4, D: int = 10, context: int = 7, tiers=None) -> Path:
    """Proof directories (public.json + batch.json, the prover's layout) for every group of
    ``ctx.book`` against ``ctx.model``. The public signals are :func:`batch_input`'s, which the
    prover asserts a real proof's public signals equal (``calcm.zk.prove._prove_into``); the
    proof points are left empty: inclusion reads signals, `calcm verify` checks proofs.
    ``tiers``: ``{group: [tier, ...]}`` recorded instead of the true ones (a lying prover)."""
    from calcm.chain.encoding import pack_result
    accounts = [ctx.encode(a) for a in ctx.book.accounts]
    config = config_for_model(ctx.model, N=N, D=D)
    tree = venue_tree(accounts, config)
    for g in range(-(-len(accounts) // N)):
        _, exp = batch_input(config, ctx.model, group_accounts(accounts, g, config), g, tree, context)
        public = list(exp.public)
        if tiers and g in tiers:
            public[4] = pack_result(g, tiers[g])
        leaves = tree.group_leaves(g, N)
        meta = {"kind": BATCH_KIND, "config": {k: v for k, v in asdict(config).items()
                                                if k in ("N", "D", "S", "n", "U", "m", "k", "C")},
                "group": g, "accounts": [{"leaf": g * N + a, "commitment": str(leaves[a]), "tier": r.tier}
                                         for a, r in enumerate(exp.results)]}
        artifacts.write(out / f"group-{g:04d}", {"pi_a": [], "pi_b": [], "pi_c": []}, public,
                        meta=meta, meta_name="batch.json")
    return out


def tampered_book(book: Book, account_id: str, *, position=None, salt=None) -> Book:
    """``book`` with one account's position (``(instrument, new quantity)``) or salt changed."""
    accs = []
    for a in book.accounts:
        if a.id == account_id:
            pos = dict(a.positions)
            if position is not None:
                pos[position[0]] = position[1]
            a = replace(a, positions=pos, salt=a.salt if salt is None else salt)
        accs.append(a)
    return replace(book, accounts=tuple(accs))


def write_book(book: Book, path: Path, extra: dict | None = None) -> Path:
    path.write_text(json.dumps(book_to_json(book) | (extra or {})))
    return path


def book_for_model(model, accounts_fx, names) -> Book:
    """A book whose instruments and collateral have ``model``'s structure, holding ``accounts_fx``."""
    from calcm.fixedpoint import QTY_SCALE
    kinds = {0: "spot", 1: "perp", 2: "call", 3: "put"}
    und = [f"U{u}" for u in range(model.n_underlyings)]
    ins = []
    for i, (kd, u) in enumerate(zip(model.kinds, model.under)):
        if kd >= 2:
            ins.append(Instrument(f"I{i}", "option", und[u], kinds[kd], 100.0, 30.0, 0.5))
        else:
            ins.append(Instrument(f"I{i}", kinds[kd], und[u]))
    col = tuple(CollateralAsset("USDC" if c < 0 else und[c], 0.0) for c in model.coll)
    accs = tuple(Account(n, {f"I{i}": q / QTY_SCALE for i, q in enumerate(a.qty) if q},
                         {col[j].asset: c / QTY_SCALE for j, c in enumerate(a.collateral) if c}, a.salt)
                 for n, a in zip(names, accounts_fx))
    return Book(tuple(ins), col, accs, source="<synthetic>")

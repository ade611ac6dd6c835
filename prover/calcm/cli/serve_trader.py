"""The account view's service for ``calcm serve``: the trader functions over the server's margin report.

``calcm.serve`` and ``calcm.trader`` are independent siblings in the stage layering, so the
CLI (which sits above both) wires them: :func:`trader_service` is the ``service_factory``
:func:`calcm.serve.app.create_app` takes.

- the :class:`~calcm.trader.context.TraderContext` is built from the report's published model
  (the same fields :func:`calcm.trader.context.published_context` fills, without a second fit);
- ``whatif`` parses trade specs exactly as ``calcm whatif`` does and returns ``WhatIf.to_json()``;
- ``inclusion`` replaces the account's positions, collateral and salt by the ones the trader
  submits and runs :func:`calcm.trader.inclusion.inclusion` against the record the server was
  started with: ``--proof-dir``, ``--rpc/--registry``, or by default a :class:`LocalRecord`:
  the venue's accounts root of the bundled book (tree depth ``DEFAULT_D``, group size
  ``DEFAULT_N``), the published commitments and the published tier of every account, as
  a registry would hold them after a keeper proved every group.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from ..errors import InputError


@dataclass(frozen=True)
class LocalRecord:
    """An in-memory stand-in for the registry views :func:`calcm.trader.inclusion.inclusion` reads."""

    address: str
    root: int
    recorded: dict
    leaves: dict            # owner address -> (leaf index, tier)
    n: int

    def accounts_root(self, block="latest") -> int:
        return self.root

    def commitments(self, block="latest") -> dict:
        return dict(self.recorded)

    def leaf(self, owner: str, block="latest") -> tuple[bool, int]:
        return (True, self.leaves[owner][0]) if owner in self.leaves else (False, 0)

    def health(self, owner: str, block="latest") -> tuple[int, int, bool]:
        return (self.leaves[owner][1], 0, True) if owner in self.leaves else (0, 0, False)

    def group_size(self) -> int:
        return self.n


def context_from_report(rep):
    """The TraderContext of a :class:`~calcm.risk.report.MarginReport` (its model, fitted once)."""
    from ..trader.context import context_from_published
    return context_from_published(rep.book, rep.published)


def local_record(ctx, fixed) -> LocalRecord:
    """The venue's root of ``ctx.book`` and the published tiers ``fixed`` (MarginResultFx per account)."""
    from ..keeper.venue import owner_address
    from ..zk.config import DEFAULT_D, DEFAULT_N, config_for_model
    from ..zk.witness import venue_tree
    config = config_for_model(ctx.model, N=DEFAULT_N, D=DEFAULT_D)
    tree = venue_tree([ctx.encode(a) for a in ctx.book.accounts], config)
    leaves = {owner_address(a.id): (i, int(fixed[i].tier)) for i, a in enumerate(ctx.book.accounts)}
    return LocalRecord(f"local record: the venue's root of {ctx.book.source}", tree.root,
                       {k: ctx.commitments[k] for k in ("lin_commitment", "opt_commitment", "param_hash",
                                                        "state_commitment")}, leaves, DEFAULT_N)


class TraderService:
    """:class:`calcm.serve.account_view.AccountService` over :mod:`calcm.trader`."""

    def __init__(self, ctx, settings, record: LocalRecord | None):
        self.ctx, self.settings, self.record = ctx, settings, record

    @property
    def record_source(self) -> str:
        s = self.settings
        if s.proof_dir is not None:
            return f"proof directory {s.proof_dir}"
        if s.rpc is not None:
            return f"registry {s.registry} at {s.rpc}"
        return self.record.address

    def summary(self, account_id: str) -> dict:
        from ..risk.book import book_to_json
        from ..trader.explain import explain
        e = explain(self.ctx, account_id, moves=self.settings.explain_moves)
        acc = next(a for a in book_to_json(self.ctx.book)["accounts"] if a["id"] == account_id)
        return {"account": acc, "explain": e.to_json(), "instruments": list(self.ctx.book.instrument_ids),
                "assets": list(self.ctx.book.collateral_assets), "record": self.record_source}

    def whatif(self, account_id: str, trades, deposits, withdrawals, search_factor: float = 100.0) -> dict:
        from ..trader.trades import parse_cash, parse_trade
        from ..trader.whatif import check_request, whatif
        bk = self.ctx.book
        self.ctx.account(account_id)
        tr = [parse_trade(s, bk) for s in trades]
        cash = [parse_cash(s, bk, "--deposit") for s in deposits] + \
               [parse_cash(s, bk, "--withdraw") for s in withdrawals]
        check_request(tr, cash, search_factor)
        return whatif(self.ctx, account_id, tr, cash, search_factor).to_json()

    def inclusion(self, account_id: str, submitted: dict) -> dict:
        from ..risk.book import book_to_json, parse_book
        from ..trader.inclusion import inclusion
        self.ctx.account(account_id)
        obj = book_to_json(self.ctx.book)
        for a in obj["accounts"]:
            if a["id"] == account_id:
                for key in ("positions", "collateral", "salt"):
                    if key in submitted:
                        a[key] = submitted[key]
        unknown = set(submitted) - {"positions", "collateral", "salt"}
        if unknown:
            raise InputError("inclusion form", f"account '{account_id}'", sorted(unknown)[0],
                             "unknown field (positions, collateral, salt)")
        book = parse_book(obj, source="inclusion form")
        ctx = replace(self.ctx, book=book)
        s = self.settings
        if s.proof_dir is not None:
            res = inclusion(ctx, account_id, proof_dir=s.proof_dir)
        elif s.rpc is not None:
            from ..trader.registry_reads import connect
            res = inclusion(ctx, account_id, reader=connect(s.rpc, s.registry))
        else:
            res = inclusion(ctx, account_id, reader=self.record, group_size=self.record.n)
        return {**res.to_json(), "record": self.record_source}


def trader_service(report, inputs, settings) -> TraderService:
    """The ``service_factory`` of :func:`calcm.serve.app.create_app` (see the module docstring)."""
    ctx = context_from_report(report)
    record = local_record(ctx, report.fixed) if settings.proof_dir is None and settings.rpc is None else None
    return TraderService(ctx, settings, record)

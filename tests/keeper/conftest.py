"""Fixtures of the keeper tests: small demo worlds on a real anvil, real builds (cached by
source hash and shared with the zk tests), a real dask cluster.

A test world keeps the chain small: two fixture accounts (one group of the small circuit),
or with ``groups=2`` also the demo's two BTC-collateralised accounts, so a block proves at
most two or three statements (the model update and the batches).
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from calcm import atomic
from calcm.chain.registry import write_deployment
from calcm.keeper.demo import DemoSettings, build_world
from calcm.keeper.log import EventLog
from calcm.keeper.loop import Keeper, KeeperConfig
from calcm.keeper.prover_pool import ProverPool
from calcm.keeper.store import Store
from calcm.paths import DEFAULT_BOOK
from calcm.risk.book import book_to_json, load_book

#: Fixture accounts of the test world: a directional account and one liquidatable at once.
TEST_ACCOUNTS = ("long_btc", "near_liq_long")


@pytest.fixture(scope="session")
def test_book():
    book = load_book(DEFAULT_BOOK)
    return replace(book, accounts=tuple(a for a in book.accounts if a.id in TEST_ACCOUNTS))


@pytest.fixture(scope="session")
def pool():
    """Two thread workers on an embedded LocalCluster (the CLI's default is processes)."""
    with ProverPool(workers=2, processes=False) as p:
        yield p


@pytest.fixture
def make_world(test_book):
    worlds = []

    def make(days: int = 3, node=None, groups: int = 1, **kw):
        s = DemoSettings(days=days, venue_actions=False, demo_accounts=groups == 2, **kw)
        w = build_world(s, book=test_book, node=node)
        worlds.append(w)
        return w
    yield make
    for w in worlds:
        w.close()


@pytest.fixture
def make_keeper(tmp_path, pool):
    stores = []

    def make(world, name: str = "keeper", **cfg) -> Keeper:
        store = Store(tmp_path / f"{name}.sqlite")
        stores.append(store)
        return Keeper(world.w3, world.reg, store, world.model, world.venue, world.margin_build,
                      world.model_build, pool, KeeperConfig(**cfg), EventLog(quiet=True),
                      state_dir=tmp_path / f"{name}-proofs")
    yield make
    for s in stores:
        s.close()


def write_keeper_inputs(world, d: Path) -> dict[str, Path]:
    """The files `calcm keeper` reads: deployment, model file, venue book (with owners)."""
    paths = {"deployment": d / "deployment.json", "model": d / "model.json", "book": d / "book.json"}
    write_deployment(paths["deployment"], world.deployment)
    atomic.write_json(paths["model"], world.model.to_json())
    snap = world.venue.snapshot()
    book = book_to_json(world.book)
    book["owners"] = dict(zip(snap.names, snap.owners))
    paths["book"].write_text(json.dumps(book))
    return paths


def keeper_events(w3, reg, from_block: int = 0) -> dict:
    """The registry's ModelUpdated and MarginBatchRecorded events, and every keeper tx."""
    ev = reg.contract.events
    models = ev.ModelUpdated().get_logs(from_block=from_block)
    batches = ev.MarginBatchRecorded().get_logs(from_block=from_block)
    txs = []
    for n in range(from_block, w3.eth.block_number + 1):
        for tx in w3.eth.get_block(n, full_transactions=True).transactions:
            if tx["from"] == reg.keeper:
                txs.append((tx["hash"].hex(), w3.eth.get_transaction_receipt(tx["hash"]).status))
    return {"models": models, "batches": batches, "keeper_txs": txs}

"""Fixtures of the keeper tests: small demo worlds (v3 registry) on a real anvil (dated at the replay's
calendar), real builds of the four v2 circuits (cached by source hash), a real dask cluster.

The test book is the bundled book cut to two underlyings (BTC, ETH: spot, perps and one BTC
call) and two collateral assets (USDC, BTC), with three fixture accounts in two groups of
two; its published model uses 4 FHS days and 1 extreme day a side (S = 12, k = 1) and two
scenario chunks, so an option revaluation is a chain of two parts.
"""
from __future__ import annotations

import pytest

from calcm.keeper.crash_run import SMALL_PROFILE, keeper_inputs, small_book
from calcm.keeper.demo import DemoSettings, build_world
from calcm.keeper.log import EventLog
from calcm.keeper.loop import Keeper, KeeperConfig
from calcm.keeper.prover_pool import ProverPool
from calcm.keeper.store import Store

TEST_PROFILE = SMALL_PROFILE  # S = 12, two option parts
#: The files `calcm keeper` reads: deployment (with the builds), model file, venue book.
write_keeper_inputs = keeper_inputs


@pytest.fixture(scope="session")
def test_book():
    """A directional account, one liquidatable at once, and a covered call (BTC, ETH: spot,
    perps and one BTC call; USDC and BTC collateral)."""
    return small_book()


@pytest.fixture(scope="session")
def pool():
    """Two thread workers on an embedded LocalCluster (the CLI's default is processes)."""
    with ProverPool(workers=2, processes=False) as p:
        yield p


@pytest.fixture
def make_world(test_book):
    worlds = []

    def make(days: int = 3, node_factory=None, **kw):
        s = DemoSettings(days=days, venue_actions=False, group_size=2, scenarios=TEST_PROFILE,
                         max_age=64, refresh_blocks=32, **kw)
        w = build_world(s, book=test_book, node_factory=node_factory)
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
        return Keeper(world.w3, world.reg, store, world.model, world.venue, world.provers, pool,
                      KeeperConfig(**cfg), EventLog(quiet=True),
                      state_dir=tmp_path / f"{name}-proofs",
                      deploy_block=world.deployment.deploy_block)
    yield make
    for s in stores:
        s.close()


def keeper_events(w3, reg, from_block: int = 0) -> dict:
    """The registry's model and margin events, and every keeper transaction."""
    ev = reg.contract.events
    out = {name: ev[name]().get_logs(from_block=from_block) for name in (
        "ModelStepped", "ModelRevalued", "OptionPartProven", "OptionsRevalued",
        "OptionRevaluationStarted", "MarginBatchRecorded")}
    txs = []
    for n in range(from_block, w3.eth.block_number + 1):
        for tx in w3.eth.get_block(n, full_transactions=True).transactions:
            if tx["from"] == reg.keeper:
                txs.append((tx["hash"].hex(), w3.eth.get_transaction_receipt(tx["hash"]).status))
    out["keeper_txs"] = txs
    out["proofs"] = sum(len(out[k]) for k in ("ModelStepped", "ModelRevalued",
                                               "OptionPartProven", "MarginBatchRecorded"))
    return out

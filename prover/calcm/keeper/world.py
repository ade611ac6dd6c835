"""The demo's world: a dated anvil, the deployed registry and feeds, the venue, the provers.

:func:`build_world` publishes the model of the book, sets up the four circuits (cached by
source hash), starts an anvil dated at the replay's calendar, deploys the verifiers, the
registry and the feeds, registers the venue's accounts and posts the root. The keeper
tests, the benchmark and ``calcm demo`` all run against a :class:`World`.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

import numpy as np

from ..chain.anvil import Anvil
from ..chain.contracts import PRICE_FEED, compile_registry, compile_verifier
from ..chain.deployment import ModelVerifiers, deploy
from ..chain.evm import http_web3, set_next_timestamp
from ..chain.registry import Registry
from ..fixedpoint import PRICE_SCALE
from ..paths import DEFAULT_BOOK
from ..risk.book import Book, load_book
from ..risk.fixed_margin import AccountFx
from ..zk.model_prove import ModelFile
from .demo_settings import CLOSE_AT, DAY, PROFILES, DemoSettings, check_window, load_history
from .model import model_file_from_published
from .proving import CircuitBuilds, CircuitProvers, setup_builds
from .replay import PriceReplayer, ReplayDay, episode_days
from .venue import MemoryVenue, snapshot_from_book

def demo_salt(account_id: str) -> int:
    """A deterministic 248-bit salt for a demo account (public: demo only)."""
    return int.from_bytes(hashlib.sha256(f"calcm-demo-salt:{account_id}".encode()).digest()[:31], "big")

def account_kind(acc: AccountFx, params) -> str:
    """hedged / directional / option seller / cross-collateralised / idle, from holdings."""
    kinds = []
    signs = {np.sign(q) for q in acc.qty if q}
    if any(q < 0 and params.instruments[i].is_option for i, q in enumerate(acc.qty)):
        kinds.append("option seller")
    if len(signs) > 1:
        kinds.append("hedged")
    elif signs:
        kinds.append("directional")
    if any(c and params.collateral[j].underlying >= 0 for j, c in enumerate(acc.collateral)):
        kinds.append("cross-collateralised")
    return ", ".join(kinds) or "idle"


def verifier_artifact(build_dir: str):
    """The compiled Groth16 verifier a build ships (``verifier.sol``)."""
    from ..zk.setup import Build
    return compile_verifier(Build.load(build_dir).verifier_sol)


class DatedAnvil(Anvil):
    """An anvil whose genesis block is dated ``timestamp`` (the replay's calendar; the first
    transaction's block must be dated explicitly too, see :func:`build_world`)."""

    def __init__(self, timestamp: int, **kw):
        super().__init__(**kw)
        self.timestamp = timestamp

    def command(self) -> list[str]:
        return super().command() + ["--timestamp", str(self.timestamp)]


@dataclass
class World:
    """Everything the demo (and the keeper tests and benchmark) runs against."""

    node: Anvil
    w3: object
    reg: Registry
    deployment: object
    model: ModelFile
    venue: MemoryVenue
    builds: CircuitBuilds
    provers: CircuitProvers
    replayer: PriceReplayer
    days: list[ReplayDay]
    kinds: dict[str, str]
    book: Book
    genesis_day: int
    notes: list[str] = field(default_factory=list)

    @property
    def config(self):
        return self.provers.margin_config

    def post_root(self, changed: list[int] | None = None):
        """The venue posts the root of its current book (O(1): ``changed``, the leaves that
        changed, is informational only; a new root invalidates every record)."""
        snap = self.venue.snapshot()
        return self.reg.post_accounts_root(snap.tree(self.config).root)

    def publish_at(self, ts: int, prices_usd) -> int:
        """Every feed's new answer in one block dated ``ts``; returns the block."""
        set_next_timestamp(self.w3, ts)
        return self.replayer.publish(prices_usd)

    def day_start(self, d: int) -> int:
        """00:00 UTC of replay day ``d`` (day 0: the genesis close's next day)."""
        return (self.genesis_day + 1 + d) * DAY

    def publish_close(self, d: int) -> int:
        """Replay day ``d``'s close, as the first round after 00:00 UTC of the next day."""
        return self.publish_at(self.day_start(d + 1) + CLOSE_AT, self.days[d].prices)

    def publish_intraday(self, d: int, j: int, prices_usd) -> int:
        """An intraday round ``j`` hours into replay day ``d``."""
        return self.publish_at(self.day_start(d) + 3600 * j, prices_usd)

    def close(self) -> None:
        self.node.stop()

def published_for(s: DemoSettings, market, book: Book, start: str):
    """The published model of ``book`` for the run's profile, on the market up to ``start``."""
    from ..risk.model import parameter_profile
    from ..risk.published import published_model
    prof = s.parameters
    p = parameter_profile(prof.name if prof.name in PROFILES else "published")
    if prof.n_fhs is not None:
        p = replace(p, scenarios=replace(p.scenarios, n_fhs=prof.n_fhs, n_extreme=prof.n_extreme))
    return published_model(market.upto(start), book, p, chunks=prof.chunks)


def build_world(s: DemoSettings, market=None, book: Book | None = None,
                log=lambda msg: None, progress=None, node_factory=None) -> World:
    """Publish the model, set up the builds, start a dated anvil, deploy, register the venue's
    accounts and post the root. ``progress(kind, phase)``: see :func:`setup_builds`;
    ``node_factory(timestamp)``: an unstarted :class:`DatedAnvil` (default: a fresh one)."""
    market = market if market is not None else load_history(s.history, s.market)
    start, days = s.window(market)
    check_window(market, start, days)
    book = book or load_book(DEFAULT_BOOK)
    book = Book(book.instruments, book.collateral,
                tuple(a if a.salt else replace(a, salt=demo_salt(a.id)) for a in book.accounts),
                book.source)
    # Published at the last close before the replay, and stepped to it: the replay's first
    # day is gated by exactly `calcm margin --asof <that close>`, and nothing has seen its close.
    asof = str(market.dates[int(np.searchsorted(market.dates, np.datetime64(start, "D"))) - 1])
    log(f"publishing the model of the whole book ({len(book.accounts)} accounts, "
        f"{len(book.instruments)} instruments) on {market.source} up to {asof}")
    pm = published_for(s, market, book, asof)
    params = pm.params
    mf = model_file_from_published(pm, {"asof": asof, "profile": s.profile,
                                        "source": str(market.source)}, stepped=True)
    episode = episode_days(market, params.assets, start, days)
    log(f"S = {params.n_scenarios}, k = {params.k_tail}, {params.n_options} options x "
        f"{params.chunks} chunks: setting up the circuits (cached by source hash)")
    builds = setup_builds(params, pm.model, len(book.accounts), s.group_size, progress)
    provers = CircuitProvers(params, builds, s.backend)
    genesis_day = mf.state.day
    t0 = (genesis_day + 1) * DAY + CLOSE_AT
    node = (node_factory or DatedAnvil)(t0).start()
    try:
        w3 = http_web3(node.url)
        # anvil dates later blocks by the wall clock plus an offset that only a set timestamp
        # moves: pin the calendar here, and every later block follows from it.
        set_next_timestamp(w3, t0 + 1)
        log(f"anvil on {node.url} dated {start} 00:00 UTC: deploying the verifiers, the registry, feeds")
        mv = ModelVerifiers(verifier_artifact(builds.step), verifier_artifact(builds.reval),
                            verifier_artifact(builds.option) if builds.option else None)
        reg, dep = deploy(
            w3, verifier_artifact(builds.margin), n_assets=params.n_assets, group_size=s.group_size,
            model_verifiers=mv, n_parts=params.n_options * params.chunks,
            initial_prices=[p / PRICE_SCALE for p in mf.state.price], prices_at=t0,
            param_hash=params.param_hash(), genesis_state=mf.state.commitment(),
            genesis_day=genesis_day, max_age=s.max_age, max_price_age=s.max_price_age,
            option_max_age=s.option_max_age, rpc=node.url, embedded=True,
            builds={k: v for k, v in builds.dirs().items()})
        snap = snapshot_from_book(book, params, provers.margin_config)
        venue = MemoryVenue(snap)
        for leaf, owner in enumerate(snap.owners):
            reg.register_account(owner, leaf)
        reg.post_accounts_root(snap.tree(provers.margin_config).root)
        replayer = PriceReplayer(w3, dep.price_feeds, reg.roles.governance,
                                 compile_registry()[PRICE_FEED].abi)
        kinds = {n: account_kind(a, params) for n, a in zip(snap.names, snap.accounts)}
        notes = [f"{k} circuit: {sec}" for k, sec in builds.security().items()]
        return World(node, w3, reg, dep, mf, venue, builds, provers, replayer, episode, kinds,
                     book, genesis_day, notes)
    except BaseException:
        node.stop()
        raise

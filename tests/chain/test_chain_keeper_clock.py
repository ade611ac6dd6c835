"""The keeper's model clock against the v3 registry on anvil (PLACEHOLDER proofs through the
keeper's proving interface): steps only from each day's first round after midnight, missed
days in order, refusals before any transaction, refreshes that never move the state."""
from __future__ import annotations

import pytest

from calcm.chain.contracts import PRICE_FEED, compile_registry
from calcm.chain.encoding import feed_price_fx
from calcm.chain.evm import warp
from calcm.keeper.days import ModelClock, plan
from calcm.keeper.feed import DailyClose, FeedReader
from calcm.keeper.proving import PlaceholderProvers, StandInState

from .helpers import DAY, PARAM_HASH, PRICES, World, answer

pytestmark = pytest.mark.slow


@pytest.fixture
def clock(w3, v2_placeholders):
    prices = tuple(feed_price_fx(answer(p), 8) for p in PRICES)
    wd = World(w3, *v2_placeholders, n_parts=0,
               genesis=lambda d0: StandInState(d0, prices).commitment).setup()
    genesis = StandInState(wd.d0, prices)
    reader = FeedReader(w3, wd.dep.price_feeds, ["BTC", "ETH", "USDC"],
                        compile_registry()[PRICE_FEED].abi, max_age=3600)
    lines = []
    mc = ModelClock(wd.reg, reader, PlaceholderProvers(v2_placeholders[0], PARAM_HASH),
                    log=lambda kind, **kw: lines.append((kind, kw)))
    return wd, mc, genesis, lines


def _head(w3):
    b = w3.eth.get_block("latest")
    return b.number, b.timestamp


def test_no_new_day_is_refused_without_a_transaction(clock):
    wd, mc, state, lines = clock
    blk, ts = _head(wd.w3)
    assert plan(wd.d0, ts, mc.reader, blk).steps == ()
    stale = DailyClose(wd.d0, mc.reader.read(blk, ts).rounds)     # today's prices again
    assert mc.submit_step(state, stale, blk) is None
    assert wd.w3.eth.block_number == blk                           # nothing was sent
    assert lines[-1][0] == "skip" and "no new daily round" in lines[-1][1]["reason"]
    assert "\n" not in lines[-1][1]["reason"]


def test_refresh_revalues_and_never_moves_the_state(clock):
    wd, mc, state, _ = clock
    wd.post_all([61_000.0, 3_050.0, 1.0], _head(wd.w3)[1])
    blk, ts = _head(wd.w3)
    out = mc.refresh(state, blk, ts)
    m = wd.reg.model()
    assert (m.day, m.state, m.lin_commitment) == (wd.d0, state.commitment, out.outputs["lin"])


def test_missed_days_stepped_in_order_from_their_closes(clock):
    wd, mc, state, lines = clock
    closes = {}
    for d in (1, 2, 3):                              # the closes of d0 + 1 .. d0 + 3
        b = (wd.d0 + d + 1) * DAY
        wd.post_all([60_000.0 + d, 3_000.0 + d, 1.0], b - 600)          # evening: not a close
        warp(wd.w3, b + 50)
        closes[d] = wd.post_all([60_100.0 + d, 3_010.0 + d, 1.0], b + 20)
        wd.post_all([59_000.0, 2_900.0, 1.0], b + 40)                    # later that night
    blk, ts = _head(wd.w3)
    p = plan(wd.d0, ts, mc.reader, blk)
    assert [c.day for c in p.steps] == [wd.d0 + 1, wd.d0 + 2, wd.d0 + 3]
    assert [list(c.round_ids) for c in p.steps] == [closes[1], closes[2], closes[3]]
    assert mc.refresh(state, blk, ts) is None                           # a step is due first
    state, _ = mc.catch_up(state, blk, ts)
    m = wd.reg.model()
    assert (m.day, m.state) == (wd.d0 + 3, state.commitment)
    assert state.prices[0] == feed_price_fx(answer(60_103.0), 8)
    assert [kw["rounds"] for k, kw in lines if k == "submission"] == [closes[1], closes[2], closes[3]]
    blk, ts = _head(wd.w3)
    assert plan(wd.d0 + 3, ts, mc.reader, blk).steps == ()


def test_a_step_waits_for_every_feed(clock):
    wd, mc, state, lines = clock
    b = (wd.d0 + 2) * DAY
    warp(wd.w3, b + 50)
    wd.post(0, 60_500.0, b + 10)                                        # only BTC crossed midnight
    wd.post(1, 3_020.0, b - 10)
    wd.post(2, 1.0, b - 10)
    blk, ts = _head(wd.w3)
    p = plan(wd.d0, ts, mc.reader, blk)
    assert p.steps == () and "not on every feed" in p.waiting
    mc.catch_up(state, blk, ts)
    assert wd.reg.model().day == wd.d0 and wd.w3.eth.block_number == blk


def test_a_close_dated_a_later_day_waits(clock):
    """No round on d0 + 2 (the first after its midnight is dated d0 + 4, e.g. a model file
    whose genesis lies long before the chain's clock): the step to d0 + 1 waits with the
    reason and nothing is sent; the model is never stepped from a later day's price."""
    wd, mc, state, lines = clock
    b = (wd.d0 + 2) * DAY
    warp(wd.w3, b + 2 * DAY + 50)
    wd.post(0, 60_500.0, b + 10)                                        # BTC: on time
    wd.post(1, 3_020.0, b + 2 * DAY + 10)                               # ETH: two days late
    wd.post(2, 1.0, b + 20)
    blk, ts = _head(wd.w3)
    p = plan(wd.d0, ts, mc.reader, blk)
    assert p.steps == () and not p.reval_allowed and p.stalled   # the keeper proves no reval
    assert "ETH has no round on" in p.waiting and "later price" in p.waiting
    assert "\n" not in p.waiting
    mc.catch_up(state, blk, ts)
    assert wd.reg.model().day == wd.d0 and wd.w3.eth.block_number == blk

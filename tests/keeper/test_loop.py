"""The per-block loop on a real anvil with real proofs: a few blocks, stale and malformed
prices, and a reorg. Every tier the registry records is checked against the Python
fixed-point reference, recomputed here from the feed prices independently of the keeper."""
from __future__ import annotations

import pytest

from calcm.chain.encoding import feed_price_fx, unpack_prices
from calcm.chain.evm import mine_blocks
from calcm.keeper.demo import gating
from calcm.risk.fixed_margin import margin_fx
from calcm.risk.modelfx import update

from .conftest import keeper_events

pytestmark = pytest.mark.slow


def _reference_tiers(world, prices_by_day):
    """Fixed-point tiers per day from the genesis state, with the model stage's update."""
    state, out = world.model.state, []
    for prices in prices_by_day:
        fx = tuple(feed_price_fx(world.replayer.answer(p), world.replayer.decimals) for p in prices)
        up = update(state, fx, world.model.params)
        state = up.state
        out.append([margin_fx(up.model, a).tier for a in world.venue.snapshot().accounts])
    return out


def test_blocks_on_anvil(make_world, make_keeper):
    world = make_world(days=3, groups=2)
    keeper = make_keeper(world)
    first = world.w3.eth.block_number + 1
    reps = []
    for day in world.days:
        world.replayer.publish(day.prices)
        rep = keeper.step()
        assert rep.status == "processed" and rep.model == "prove", rep.reason
        assert all(r["ok"] for r in gating(world, rep)), gating(world, rep)
        reps.append(rep)
    # The keeper's own transactions made blocks: they carry nothing new, so nothing is sent.
    own = keeper.step()
    assert own.status == "processed" and own.model == "current" and not own.submissions
    assert keeper.step() is None                     # no new block at all: nothing to look at

    ev = keeper_events(world.w3, world.reg, first)
    assert [e.args.blockNo for e in ev["models"]] == [r.block for r in reps]
    assert all(e.args.proven for e in ev["models"])
    keys = [(e.args.blockNo, e.args.group, e.args.rootVersion) for e in ev["batches"]]
    assert len(keys) == len(set(keys)) and {k[1] for k in keys if k[0] == reps[0].block} == {0, 1}
    assert all(status == 1 for _, status in ev["keeper_txs"])
    assert len(ev["keeper_txs"]) == len(ev["models"]) + len(ev["batches"])

    # The keeper reads the feeds exactly as the registry packs them for the model circuit.
    for rep in reps:
        ts = world.w3.eth.get_block(rep.block).timestamp
        packed = world.reg.f.packedPrices().call(block_identifier=rep.block)
        assert keeper.feeds.read(rep.block, ts).prices == \
            tuple(unpack_prices(list(packed), world.model.params.n_assets))

    # What the chain recorded (from the circuit) is what the Python reference computes.
    ref = _reference_tiers(world, [d.prices for d in world.days])
    snap = world.venue.snapshot()
    for rep, tiers in zip(reps, ref):
        assert [rep.tiers[n] for n in snap.names] == tiers
    for e in ev["batches"]:
        day = next(i for i, r in enumerate(reps) if r.block == e.args.blockNo)
        for slot in range(world.config.N):
            leaf = e.args.group * world.config.N + slot
            if leaf < len(snap.accounts):
                assert (e.args.tiers >> (2 * slot)) & 3 == ref[day][leaf]

    # The state file agrees with the chain: every mined key is an event, nothing left open.
    store = keeper.store
    mined = store.submissions("mined")
    assert len(mined) == len(ev["models"]) + len(ev["batches"])
    assert not store.submissions("sending") and not store.submissions("proving")
    assert {m.tx_hash for m in mined} == {h for h, _ in ev["keeper_txs"]}
    numbers = [b["number"] for b in store.blocks()]
    assert numbers == list(range(numbers[0], numbers[-1] + 1))   # no block lost
    text = keeper.metrics.text()
    assert 'calcm_keeper_blocks_total{status="processed"} 4' in text
    assert 'calcm_keeper_proofs_total{kind="model"} 3' in text

    # A block without a new price round: the model stays, nothing is re-proven or sent.
    mine_blocks(world.w3, 1)
    n_tx = world.w3.eth.get_transaction_count(world.reg.keeper)
    rep = keeper.step()
    assert rep.status == "processed" and rep.model == "current" and rep.model_block == reps[-1].block
    assert world.w3.eth.get_transaction_count(world.reg.keeper) == n_tx


def test_stale_and_malformed_prices_are_skipped(make_world, make_keeper):
    world = make_world(days=2)
    keeper = make_keeper(world, max_price_age=600)
    world.replayer.publish(world.days[0].prices)
    assert keeper.step().status == "processed"
    w3, keeper_addr = world.w3, world.reg.keeper
    nonce = w3.eth.get_transaction_count(keeper_addr)
    btc = world.replayer.answer(world.days[1].prices[0])
    eth = world.replayer.answer(world.days[1].prices[1])
    t = w3.eth.get_block("latest").timestamp

    def publish_at(ts, rounds):
        # The block's timestamp is set, so the age the keeper sees is exact.
        w3.provider.make_request("evm_setNextBlockTimestamp", [ts])
        world.replayer.publish_rounds(rounds)

    # (BTC answer, BTC updatedAt offset, ETH updatedAt offset) -> the reason.
    cases = [((btc, -601, 0), "BTC: stale: answer is 601 s old, max 600 s"),   # 1 s past
             ((0, 0, 0), "BTC: malformed answer"),                            # zero
             ((-btc, 0, 0), "BTC: malformed answer"),                         # negative
             ((2**50 * 10**2, 0, 0), "BTC: malformed answer"),                # over the 50-bit lane
             ((btc, 0, 1), "ETH: answer dated")]                              # in the future
    for k, ((answer, dt_btc, dt_eth), reason) in enumerate(cases):
        ts = t + 10 * (k + 1)
        publish_at(ts, [(0, answer, ts + dt_btc), (1, eth, ts + dt_eth)])
        rep = keeper.step()
        assert rep.status == "skipped" and reason in rep.reason, rep.reason
        assert w3.eth.get_transaction_count(keeper_addr) == nonce        # nothing submitted
    skips = [e for e in keeper.log.events if e["event"] == "skip"]
    assert len(skips) == len(cases) and all(e["reason"].startswith("price ") for e in skips)
    assert keeper.store.counts()["blocks"]["skipped"] == len(cases)

    # Exactly at the bound is accepted: the loop resumes and proves the update.
    ts = t + 100
    publish_at(ts, [(0, btc, ts - 600), (1, eth, ts)])
    rep = keeper.step()
    assert rep.status == "processed" and rep.model == "prove", rep.reason
    assert w3.eth.get_transaction_count(keeper_addr) > nonce


def test_reorg_is_reproven(make_world, make_keeper):
    world = make_world(days=3)
    keeper = make_keeper(world)
    w3 = world.w3
    world.replayer.publish(world.days[0].prices)
    assert keeper.step().status == "processed"
    snap_id = w3.provider.make_request("evm_snapshot", [])["result"]
    world.replayer.publish(world.days[1].prices)
    lost = keeper.step()
    assert lost.status == "processed" and any(s["status"] == "mined" for s in lost.submissions)
    last = keeper.store.last_block()

    # The chain forgets that block; another history (other prices) grows past it.
    assert w3.provider.make_request("evm_revert", [snap_id])["result"] is True
    world.replayer.publish(world.days[2].prices)
    mine_blocks(w3, last + 2 - w3.eth.block_number)
    assert w3.eth.get_block(last).hash.hex() != keeper.store.block_hash(last)

    rep = keeper.step()
    reorgs = [e for e in keeper.log.events if e["event"] == "reorg"]
    assert len(reorgs) == 1 and reorgs[0]["reopened"] >= 2
    assert rep.status == "processed" and rep.model == "prove"
    assert all(r["ok"] for r in gating(world, rep))
    ev = keeper_events(w3, world.reg)
    assert lost.block not in {e.args.blockNo for e in ev["models"]}
    assert rep.block in {e.args.blockNo for e in ev["models"]}
    assert {s.key for s in keeper.store.submissions("reorged")} >= {
        s["key"] for s in lost.submissions if s["status"] == "mined"}

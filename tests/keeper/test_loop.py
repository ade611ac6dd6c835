"""The per-block loop on the v2 registry, on a real anvil with real proofs of the four v2
circuits: genesis revaluation, intraday revaluations, daily steps only from each day's
first round after midnight, the option chain, margin batches under every model version,
stale prices, and a reorg. Every tier the registry records is checked against the Python
fixed-point reference, recomputed here from the events' prices independently of the keeper."""
from __future__ import annotations

import numpy as np
import pytest

from calcm.chain.evm import mine_blocks, warp
from calcm.keeper.demo import DemoSettings, gating, load_history, published_for
from calcm.risk.fixed_margin import margin_fx
from calcm.risk.modelfx import option_parts, reval, step
from calcm.risk.modelfx.update import margin_model
from calcm.zk.verify import verify_pinned

from .conftest import TEST_PROFILE, keeper_events

pytestmark = pytest.mark.slow


def _reference_tiers(world, ev, version_block):
    """Tiers of every account under the version set at ``version_block``, from the events:
    states from the genesis through every ModelStepped close, lin at the latest step or
    revaluation prices, options at the latest OptionRevaluationStarted prices."""
    p = world.model.params
    state = world.model.state
    for e in ev["ModelStepped"]:
        if e.blockNumber <= version_block:
            state = step(state, tuple(e.args.prices), p).state
    lins = [e for e in ev["ModelStepped"] + ev["ModelRevalued"] if e.blockNumber <= version_block]
    lin_prices = tuple(max(lins, key=lambda e: (e.blockNumber, e.logIndex)).args.prices)
    opt = max((e for e in ev["OptionRevaluationStarted"] if e.blockNumber <= version_block),
              key=lambda e: (e.blockNumber, e.logIndex))
    parts = option_parts(state, tuple(opt.args.prices), p)
    S, L = p.n_scenarios, p.chunk_size
    o = [[0] * p.n_options for _ in range(S)]
    mark, expo = [0] * p.n_options, [0] * p.n_options
    for part in parts:
        mark[part.o], expo[part.o] = part.mark, part.expo
        for i, v in enumerate(part.pnl):
            o[part.c * L + i][part.o] = v
    model = margin_model(p, lin_prices, reval(state, lin_prices, p).lin, tuple(map(tuple, o)),
                         tuple(mark), tuple(expo))
    return [margin_fx(model, a).tier for a in world.venue.snapshot().accounts]


def _check(world, rep, what):
    assert rep.status == "processed", rep.reason
    assert all(r["ok"] for r in gating(world, rep)), (what, gating(world, rep))


def test_blocks_on_anvil(make_world, make_keeper):
    world = make_world(days=2)
    keeper = make_keeper(world)
    first = world.w3.eth.block_number + 1
    n_parts = world.model.params.n_options * world.model.params.chunks

    # Genesis: no linear commitment yet: a revaluation, the option chain, every group.
    rep = keeper.step()
    _check(world, rep, "genesis")
    assert rep.model == ["reval", "options"] and rep.option_parts == n_parts and rep.groups == 2
    # Intraday round: a revaluation and every group again (new version); options still fresh.
    world.publish_intraday(0, 8, [p * 0.97 for p in world.days[0].prices])
    rep = keeper.step()
    _check(world, rep, "intraday")
    assert rep.model == ["reval"] and rep.groups == 2 and rep.day == world.genesis_day
    # The close of day 0 (first round after midnight): the daily step, options for the new state.
    world.publish_close(0)
    rep = keeper.step()
    _check(world, rep, "close")
    assert rep.model == [f"step:{world.genesis_day + 1}", "options"] and rep.groups == 2
    assert world.reg.model().day == world.genesis_day + 1
    # The keeper's own blocks carry nothing new: nothing is proven or sent.
    n_tx = world.w3.eth.get_transaction_count(world.reg.keeper)
    mine_blocks(world.w3, 1)
    rep = keeper.step()
    assert rep.status == "processed" and rep.model == [] and not rep.submissions
    assert world.w3.eth.get_transaction_count(world.reg.keeper) == n_tx
    assert keeper.step() is None                     # no new block at all

    ev = keeper_events(world.w3, world.reg, first)
    assert len(ev["ModelStepped"]) == 1 and len(ev["ModelRevalued"]) == 2
    assert len(ev["OptionPartProven"]) == 2 * n_parts and len(ev["OptionsRevalued"]) == 2
    assert all(status == 1 for _, status in ev["keeper_txs"])
    assert len(ev["keeper_txs"]) == ev["proofs"]     # every transaction is one recorded proof
    keys = [(e.args.blockNo, e.args.group, e.args.rootVersion, e.args.modelVersion)
            for e in ev["MarginBatchRecorded"]]
    assert len(keys) == len(set(keys)) == 6

    # What the chain recorded (from the circuit) is what the Python reference computes.
    snap = world.venue.snapshot()
    for e in ev["MarginBatchRecorded"]:
        ref = _reference_tiers(world, ev, e.blockNumber)
        for slot in range(world.config.N):
            leaf = e.args.group * world.config.N + slot
            if leaf < len(snap.accounts):
                assert (e.args.tiers >> (2 * slot)) & 3 == ref[leaf]

    # The state file agrees with the chain: every mined key is one transaction, nothing open.
    store = keeper.store
    mined = store.submissions("mined")
    assert {m.tx_hash for m in mined} == {h for h, _ in ev["keeper_txs"]}
    assert not store.submissions("sending") and not store.submissions("proving")
    numbers = [b["number"] for b in store.blocks()]
    assert numbers == list(range(numbers[0], numbers[-1] + 1))   # no block lost
    text = keeper.metrics.text()
    assert 'calcm_keeper_proofs_total{kind="step"} 1' in text
    # `calcm verify` on the keeper's proofs: each meta.json names its build, which pins the key.
    results = verify_pinned(keeper.state_dir)
    assert len(results) == ev["proofs"] and all(r.ok for r in results)


def test_no_step_without_the_first_round_after_midnight(make_world, make_keeper):
    world = make_world(days=2)
    keeper = make_keeper(world)
    assert keeper.step().status == "processed"
    # A round late on day 0 and the chain past midnight, but no round after midnight yet:
    # the step waits (one note), the revaluation at the latest answer goes ahead.
    world.publish_at(world.day_start(1) - 60, world.days[0].prices)
    warp(world.w3, world.day_start(1) + 120)
    rep = keeper.step()
    assert rep.status == "processed" and not any(m.startswith("step") for m in rep.model)
    assert world.reg.model().day == world.genesis_day
    # The first round after midnight is the close: exactly one step, from it.
    world.publish_at(world.day_start(1) + 180, world.days[0].prices)
    rep = keeper.step()
    assert rep.model[0] == f"step:{world.genesis_day + 1}"
    assert world.reg.model().day == world.genesis_day + 1
    _check(world, rep, "step")


def test_stale_prices_block_revaluations_and_margins(make_world, make_keeper):
    world = make_world(days=2)
    keeper = make_keeper(world, max_price_age=600)
    assert keeper.step().status == "processed"
    w3, keeper_addr = world.w3, world.reg.keeper
    nonce = w3.eth.get_transaction_count(keeper_addr)
    btc = world.replayer.answer(world.days[0].prices[0] * 0.98)
    eth = world.replayer.answer(world.days[0].prices[1])
    t = world.day_start(0) + 4 * 3600

    cases = [((btc, -601, 0), "BTC: stale: answer is 601 s old, max 600 s"),
             ((0, 0, 0), "BTC: malformed answer"),
             ((-btc, 0, 0), "BTC: malformed answer"),
             ((btc, 0, 1), "ETH: answer dated")]
    for k, ((answer, dt_btc, dt_eth), reason) in enumerate(cases):
        ts = t + 10 * (k + 1)
        w3.provider.make_request("evm_setNextBlockTimestamp", [ts])
        world.replayer.publish_rounds([(0, answer, ts + dt_btc), (1, eth, ts + dt_eth)])
        rep = keeper.step()
        assert reason in (rep.reason or ""), rep.reason
        assert rep.model == [] and rep.groups == 0
        assert w3.eth.get_transaction_count(keeper_addr) == nonce        # nothing submitted
    # Exactly at the bound is accepted: the loop resumes with a revaluation and the margins.
    # (A feed's rounds are dated in order: the last BTC round above is dated t + 40.)
    ts = t + 40 + 600
    w3.provider.make_request("evm_setNextBlockTimestamp", [ts])
    world.replayer.publish_rounds([(0, btc, ts - 600), (1, eth, ts)])
    rep = keeper.step()
    _check(world, rep, "resumed")
    assert rep.model == ["reval"] and rep.groups == 2


def test_reorg_is_reproven(make_world, make_keeper):
    world = make_world(days=3)
    keeper = make_keeper(world)
    w3 = world.w3
    assert keeper.step().status == "processed"
    snap_id = w3.provider.make_request("evm_snapshot", [])["result"]
    world.publish_intraday(0, 6, [p * 0.95 for p in world.days[0].prices])
    lost = keeper.step()
    assert lost.status == "processed" and any(s["status"] == "mined" for s in lost.submissions)
    last = keeper.store.last_block()

    # The chain forgets those blocks; another history (other prices) grows past them.
    assert w3.provider.make_request("evm_revert", [snap_id])["result"] is True
    world.publish_intraday(0, 7, [p * 1.03 for p in world.days[0].prices])
    mine_blocks(w3, last + 2 - w3.eth.block_number)
    assert w3.eth.get_block(last).hash.hex() != keeper.store.block_hash(last)

    rep = keeper.step()
    reorgs = [e for e in keeper.log.events if e["event"] == "reorg"]
    assert len(reorgs) == 1 and reorgs[0]["reopened"] >= 2
    _check(world, rep, "after reorg")
    assert rep.model == ["reval"]
    # The lost submissions' keys (same feed round ids on the new chain) were reopened and are
    # mined again, by new transactions on the new chain.
    for s in lost.submissions:
        if s["status"] == "mined":
            row = keeper.store.submission(s["key"])
            assert row.status == "mined" and row.tx_hash != s["tx"], s["key"]
            assert w3.eth.get_transaction_receipt(row.tx_hash).status == 1


def test_verifier_switch_is_reproven_at_unchanged_rounds(make_world, make_keeper):
    """Review F1: a verifier switch clears the registry's commitments. With no new feed round
    since, the keeper reopens its mined revaluation and option parts at the same rounds and
    proves them again instead of taking their old events as landed, and every group is
    recorded under the new version."""
    world = make_world(days=1)
    keeper = make_keeper(world)
    _check(world, keeper.step(), "genesis")
    w3, reg = world.w3, world.reg
    timelock = reg.f.timelock().call()      # the timelock's call, without waiting out its delay
    w3.provider.make_request("anvil_impersonateAccount", [timelock])
    w3.provider.make_request("anvil_setBalance", [timelock, hex(10**18)])
    reg.tx.send(reg.f.setMarginVerifier(reg.f.marginVerifier().call()), timelock)
    m = reg.model()
    assert (m.lin_commitment, m.opt_commitment, m.usable) == (0, 0, False)
    rep = keeper.step()
    _check(world, rep, "after the switch")
    assert rep.model == ["reval", "options"] and rep.groups == 2 and reg.model().usable
    ev = keeper_events(w3, reg)
    assert len(ev["ModelRevalued"]) == 2 and ev["ModelRevalued"][0].args.rounds == \
        ev["ModelRevalued"][1].args.rounds                    # the same rounds, proven twice
    assert all(status == 1 for _, status in ev["keeper_txs"])


def test_the_chain_starts_from_the_model_of_the_close_before_the_replay(make_world, make_keeper):
    """No look-ahead: the genesis is the published model at the last close before the first
    replayed day, stepped to that close (`calcm margin --asof` that day, bit for bit), so no
    block of the replay is gated by parameters or scenarios that have seen a later close; the
    genesis block's tiers on chain are that published model's."""
    world = make_world(days=1)
    market = load_history("fixture")
    i0 = int(np.searchsorted(market.dates, np.datetime64(world.days[0].date, "D")))
    before = market.dates[i0 - 1]
    pm = published_for(DemoSettings(scenarios=TEST_PROFILE), market, world.book, str(before))
    assert pm.risk.asof == before
    assert world.model.params.param_hash() == pm.params.param_hash()
    assert world.model.state == pm.state and world.genesis_day == int(before.astype(int))
    view = world.reg.model()
    assert view.day == world.genesis_day and view.state == pm.state.commitment()
    rep = make_keeper(world).step()
    _check(world, rep, "genesis")
    snap = world.venue.snapshot()
    published = {n: margin_fx(pm.model, a).tier for n, a in zip(snap.names, snap.accounts)}
    assert rep.tiers == published
    assert {r["account"]: r["chain_tier"] for r in gating(world, rep)} == published

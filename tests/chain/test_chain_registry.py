"""End to end on a real anvil: commitments, a proven model update, a real margin batch proof,
and the health views that gate liquidations and withdrawals."""
from __future__ import annotations

import pytest

from calcm.chain import encoding
from calcm.chain.evm import mine_blocks
from calcm.chain.registry import RegistryRevert

from .helpers import GENESIS, KINDS, MAX_AGE

pytestmark = pytest.mark.slow


def _events(reg, name, receipt):
    return [e["args"] for e in getattr(reg.contract.events, name)().process_receipt(receipt)]


def test_setup_emits_events(world):
    reg = world.reg
    posted = _events(reg, "AccountsRootPosted", world.root_receipt)
    assert posted == [{"root": world.root(), "rootVersion": 1, "changedLeaves": [0, 1, 2, 3]}]
    upd = _events(reg, "ModelUpdated", world.model_receipt)[0]
    assert (upd["blockNo"], upd["prevState"], upd["newState"], upd["scenarioCommitment"],
            upd["submitter"], upd["proven"]) == (world.block, GENESIS, GENESIS + 1, world.scenario,
                                                 world.roles.keepers[0], True)
    assert reg.f.latestModelBlock().call() == world.block
    assert reg.f.scenarioOf(world.block).call() == world.scenario
    assert reg.f.scenarioOf(world.block - 1).call() == 0
    assert reg.f.stateCommitment().call() == GENESIS + 1


def test_margin_batch_gates_liquidation_and_withdrawal(fresh):
    wd, reg = fresh, fresh.reg
    bp = wd.batch(0, wd.block)
    # The reference computed the tiers; the sample book makes leaf 0 liquidatable.
    assert bp.tiers == (3, 0)
    before = [reg.health(o) for o in wd.owners]
    assert not any(h["valid"] or h["liquidatable"] or h["can_withdraw"] for h in before)
    rcpt = wd.submit(bp, wd.block)
    ev = _events(reg, "MarginBatchRecorded", rcpt)
    assert ev == [{"blockNo": wd.block, "group": 0, "rootVersion": 1,
                   "tiers": bp.public[3] >> 32, "keeper": wd.roles.keepers[0]}]
    liq, ok = reg.health(wd.owners[0]), reg.health(wd.owners[1])
    assert (liq["tier"], liq["valid"], liq["liquidatable"], liq["can_withdraw"]) == (3, True, True, False)
    assert (ok["tier"], ok["valid"], ok["liquidatable"], ok["can_withdraw"]) == (0, True, False, True)
    assert liq["proven_block"] == ok["proven_block"] == wd.block
    # Group 1 is not proven yet: no verdict either way.
    assert not reg.health(wd.owners[3])["valid"]
    assert reg.record(0) == {"group": 0, "block": wd.block, "root_version": 1, "tiers": [3, 0]}


def test_second_group_and_one_word_per_group(fresh):
    wd, reg = fresh, fresh.reg
    wd.submit(wd.batch(0, wd.block), wd.block)
    wd.submit(wd.batch(1, wd.block), wd.block)
    assert [reg.f.isLiquidatable(o).call() for o in wd.owners] == [k == "liquidatable" for k in KINDS]
    assert reg.record(1)["tiers"] == [0, 3]


def test_record_expires_after_max_age(fresh):
    wd, reg = fresh, fresh.reg
    wd.submit(wd.batch(0, wd.block), wd.block)
    # Fresh while block.number <= provenBlock + maxAge (exact boundary).
    mine_blocks(wd.w3, wd.block + MAX_AGE - wd.w3.eth.block_number)
    assert wd.w3.eth.block_number == wd.block + MAX_AGE
    assert reg.f.isLiquidatable(wd.owners[0]).call()
    mine_blocks(wd.w3, 1)
    h = reg.health(wd.owners[0])
    assert (h["tier"], h["valid"], h["liquidatable"]) == (3, False, False)
    assert not reg.f.canWithdraw(wd.owners[1]).call()


def test_changed_leaf_invalidates_only_that_leaf(fresh):
    wd, reg = fresh, fresh.reg
    wd.submit(wd.batch(0, wd.block), wd.block)
    # The venue changes leaf 0's positions (a new salt stands for any change).
    from dataclasses import replace
    accounts = list(wd.accounts)
    accounts[0] = replace(accounts[0], salt=accounts[0].salt + 1)
    rcpt = reg.post_accounts_root(wd.root(accounts), [0])
    assert _events(reg, "AccountsRootPosted", rcpt)[0]["rootVersion"] == 2
    assert reg.f.lastChangedVersion(0).call() == 2
    assert not reg.health(wd.owners[0])["valid"]
    assert not reg.f.isLiquidatable(wd.owners[0]).call()
    assert reg.health(wd.owners[1])["valid"] and reg.f.canWithdraw(wd.owners[1]).call()


def test_withdrawal_flow_posts_then_proves(fresh):
    """Venue posts the post-withdrawal commitment; only a fresh proof of it allows the withdrawal."""
    from dataclasses import replace
    wd, reg = fresh, fresh.reg
    wd.submit(wd.batch(0, wd.block), wd.block)
    assert reg.f.canWithdraw(wd.owners[1]).call()
    # Account 1 (short 1 unit at 100 USD) asks to withdraw down to 108 USD of collateral:
    # equity 8 USD sits between MM (7.86) and IM (9.82). The venue posts the new commitment.
    accounts = list(wd.accounts)
    acc = accounts[1]
    accounts[1] = replace(acc, collateral=(108 * 10**4,) + acc.collateral[1:])
    reg.post_accounts_root(wd.root(accounts), [1])
    assert not reg.f.canWithdraw(wd.owners[1]).call()          # old proof no longer speaks for it
    blk = wd.w3.eth.block_number
    wd.model_update(blk, GENESIS + 2)
    bp = wd.batch(0, blk, accounts=accounts)
    assert bp.tiers == (3, 2)
    wd.submit(bp, blk)
    h = reg.health(wd.owners[1])
    assert (h["tier"], h["valid"], h["can_withdraw"], h["liquidatable"]) == (2, True, False, False)
    assert reg.f.isLiquidatable(wd.owners[0]).call()           # leaf 0 re-proven at the new root


def test_attested_mode_only_without_model_verifier(fresh):
    wd, reg = fresh, fresh.reg
    blk = wd.w3.eth.block_number
    with pytest.raises(RegistryRevert, match="MarginRegistry__AttestationDisabled"):
        reg.attest_model_update(blk, GENESIS + 9, wd.scenario)
    rcpt = reg.set_model_verifier(None)
    assert _events(reg, "ModelVerifierSet", rcpt) == [{"verifier": "0x" + "00" * 20}]
    with pytest.raises(RegistryRevert, match="MarginRegistry__NotGovernance"):
        reg.attest_model_update(blk, GENESIS + 9, wd.scenario, sender=wd.roles.keepers[0])
    with pytest.raises(RegistryRevert, match="MarginRegistry__NotConfigured"):
        wd.model_update(blk, GENESIS + 9)
    rcpt = reg.attest_model_update(blk, GENESIS + 9, wd.scenario)
    assert _events(reg, "ModelUpdated", rcpt)[0]["proven"] is False
    # A margin batch for the attested block is accepted like any other.
    wd.submit(wd.batch(0, blk), blk)
    assert reg.f.isLiquidatable(wd.owners[0]).call()


def test_registration_rules(fresh):
    wd, reg = fresh, fresh.reg
    with pytest.raises(RegistryRevert, match="MarginRegistry__AlreadyRegistered"):
        reg.register_account(wd.owners[0], 9)
    with pytest.raises(RegistryRevert, match="MarginRegistry__LeafTaken"):
        reg.register_account(wd.outsider, 0)
    rcpt = reg.register_account(wd.outsider, 9)
    assert _events(reg, "AccountRegistered", rcpt) == [{"owner": wd.outsider, "leaf": 9}]
    # A new registration is invalid until a root posted after it is proven.
    assert reg.f.lastChangedVersion(9).call() == reg.f.rootVersion().call() + 1
    assert reg.f.leafOf(wd.outsider).call() == [True, 9]
    assert reg.f.leafOf(wd.w3.eth.accounts[9]).call() == [False, 0]


def test_governance_setters_emit_events(fresh):
    wd, reg = fresh, fresh.reg
    cases = [
        (reg.set_param_hash(123), "ParamHashSet", {"paramHash": 123}),
        (reg.set_model_state(456), "ModelStateSet", {"stateCommitment": 456}),
        (reg.set_max_age(5), "MaxAgeSet", {"blocks": 5}),
        (reg.set_max_price_age(60), "MaxPriceAgeSet", {"secondsOld": 60}),
        (reg.set_keeper(wd.outsider, True), "KeeperSet", {"account": wd.outsider, "enabled": True}),
        (reg.set_venue(wd.outsider, False), "VenueSet", {"account": wd.outsider, "enabled": False}),
        (reg.set_margin_verifier(wd.dep.margin_verifier), "MarginVerifierSet",
         {"verifier": wd.dep.margin_verifier}),
        (reg.set_price_feeds(wd.dep.price_feeds), "PriceFeedsSet", {"feeds": wd.dep.price_feeds}),
    ]
    for rcpt, name, args in cases:
        assert _events(reg, name, rcpt) == [args], name
    rcpt = reg.tx.send(reg.f.transferGovernance(wd.outsider), wd.roles.governance)
    assert _events(reg, "GovernanceTransferred", rcpt) == [
        {"previous": wd.roles.governance, "next": wd.outsider}]
    with pytest.raises(RegistryRevert, match="MarginRegistry__NotGovernance"):
        reg.set_param_hash(1)                                   # the old governance
    reg.set_param_hash(1, sender=wd.outsider)


def test_context_matches_python(world):
    reg = world.reg
    cid = world.w3.eth.chain_id
    for blk in (0, 1, world.block, 2**64 - 1, 2**256 - 1):
        ctx = reg.context(blk)
        assert ctx == encoding.batch_context(cid, reg.address, blk)
        assert ctx < 2**253


def test_submit_model_update_dir(fresh, tmp_path):
    """A model-update out dir: the block is recovered from the context signal; a proof from
    another state is refused before sending."""
    import json

    from calcm.chain.registry import SubmissionError, submit_proof_dir
    wd = fresh
    blk = wd.w3.eth.block_number
    for name, prev in (("stale", GENESIS), ("good", GENESIS + 1)):
        proof, public = wd.model_proof(blk, prev, GENESIS + 2)
        (tmp_path / name).mkdir()
        (tmp_path / name / "proof.json").write_text(json.dumps(proof))
        (tmp_path / name / "public.json").write_text(json.dumps([str(v) for v in public]))
    with pytest.raises(SubmissionError, match="starts from model state"):
        submit_proof_dir(wd.reg, tmp_path / "stale")
    res = submit_proof_dir(wd.reg, tmp_path / "good")
    assert (res["kind"], res["block"], res["new_state"]) == ("model", blk, GENESIS + 2)
    assert wd.reg.f.latestModelBlock().call() == blk

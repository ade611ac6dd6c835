"""The v3 registry's governance, liveness and gating on anvil (real PLACEHOLDER proofs):
the timelock after genesis, genesis-only model state, versioned upgrades, prospective
maxAge, the guardian's pause, O(1) root posting, permissionless submission after a keeper
stall, fail-safe gating, and the bad-input errors (issue 13 M2, L3, L4, A6, liveness)."""
from __future__ import annotations

import pytest
from web3 import Web3

from calcm.chain import governance
from calcm.chain.deployment import DEFAULT_TIMELOCK_DELAY
from calcm.chain.evm import mine_blocks, warp
from calcm.chain.registry import RegistryRevert

from .helpers import DAY, GENESIS, MAX_AGE, PARAM_HASH, PRICES, TIMELOCK_DELAY, World, rejects

pytestmark = pytest.mark.slow

UNAUTHORIZED = "^AccessControlUnauthorizedAccount"


# ------------------------------------------------------------------ timelock and genesis


def test_admin_calls_need_the_timelock_after_genesis(fresh):
    wd = fresh
    reg, gov = wd.reg, wd.roles.governance
    tl = governance.timelock_of(reg)
    assert reg.f.genesisOver().call() and reg.f.governance().call() == tl.address
    assert tl.min_delay == wd.dep.timelock_delay == TIMELOCK_DELAY
    assert DEFAULT_TIMELOCK_DELAY == 86400
    admin = reg.role("admin")
    assert not reg.f.hasRole(admin, gov).call() and reg.f.hasRole(admin, tl.address).call()
    with pytest.raises(RegistryRevert, match=UNAUTHORIZED):         # the governance EOA itself
        reg.set_max_age(64)
    call = reg.f.setMaxAge(64)
    governance.schedule(reg, tl, call)
    at = governance.ready_at(reg, tl, call)
    with pytest.raises(RegistryRevert, match="^TimelockUnexpectedOperationState"):
        governance.execute(reg, tl, call)                           # before the delay
    assert reg.f.maxAge().call() == MAX_AGE
    warp(wd.w3, at)
    governance.execute(reg, tl, call)
    assert reg.f.maxAge().call() == 64
    with pytest.raises(RegistryRevert, match="^AccessControlUnauthorizedAccount"):
        governance.schedule(reg, tl, reg.f.setMaxAge(65), sender=wd.outsider)  # not a proposer


def test_set_model_state_is_genesis_only(w3, v2_placeholders):
    wd = World(w3, *v2_placeholders, n_parts=0, finalize=False).setup()
    reg = wd.reg
    assert not reg.f.genesisOver().call()
    reg.set_model_state(GENESIS + 9, wd.d0)                         # genesis: direct, at once
    assert reg.model().state == GENESIS + 9
    reg.finalize_genesis(wd.dep.timelock)
    with pytest.raises(RegistryRevert, match=UNAUTHORIZED):
        reg.set_model_state(GENESIS + 10, wd.d0)
    with rejects("GenesisOver"):
        governance.enact(reg, reg.f.setModelState(GENESIS + 10, wd.d0))
    with rejects("GenesisOver"):
        governance.enact(reg, reg.f.finalizeGenesis(wd.dep.timelock))
    assert reg.model().state == GENESIS + 9


def test_upgrade_model_bumps_the_version_and_expires_old_records(ready):
    wd = ready
    wd.submit(wd.batch(0, [0, 3]))
    old = wd.batch(1, [0, 0])
    v0 = wd.reg.model().version
    assert wd.reg.health(wd.owners[0])["valid"]
    governance.enact(wd.reg, wd.reg.f.upgradeModel(PARAM_HASH + 1, GENESIS + 7, wd.d0))
    m = wd.reg.model()
    assert m.version > v0 and m.state == GENESIS + 7 and wd.reg.f.paramHash().call() == PARAM_HASH + 1
    assert not any(wd.reg.health(o)["valid"] for o in wd.owners[:2])
    assert not wd.reg.f.isLiquidatable(wd.owners[1]).call()
    with rejects("StaleModel"):
        wd.submit(old)


def test_verifier_switch_bumps_the_version_and_clears_the_model(ready):
    wd = ready
    wd.submit(wd.batch(0, [0, 0]))
    v0 = wd.reg.model().version
    governance.enact(wd.reg, wd.reg.f.setMarginVerifier(wd.dep.margin_verifier))
    assert wd.reg.model().version == v0 + 1
    assert not wd.reg.health(wd.owners[0])["valid"]
    with rejects("NoModelCommitment"):                              # the switch cleared the model
        wd.submit(wd.batch(0, [0, 0]))
    wd.post_all(PRICES, wd.w3.eth.get_block("latest").timestamp)
    wd.reval(0x2222)
    wd.options()
    wd.submit(wd.batch(0, [0, 0]))                                  # re-proven under the new version
    assert wd.reg.health(wd.owners[0])["valid"]


def test_max_age_change_is_prospective(ready):
    wd = ready
    b = wd.batch(0, [0, 0])
    wd.submit(b)
    assert wd.reg.f.expiryOf(0).call() == b[1] + MAX_AGE
    governance.enact(wd.reg, wd.reg.f.setMaxAge(MAX_AGE + 100))
    assert wd.reg.f.expiryOf(0).call() == b[1] + MAX_AGE            # the old record keeps its expiry
    mine_blocks(wd.w3, b[1] + MAX_AGE + 1 - wd.w3.eth.block_number)
    assert not wd.reg.health(wd.owners[0])["valid"]
    b2 = wd.batch(0, [0, 0])
    wd.submit(b2)
    assert wd.reg.f.expiryOf(0).call() == b2[1] + MAX_AGE + 100


# ------------------------------------------------------------------ guardian


def test_guardian_pauses_and_can_do_nothing_else(ready):
    wd = ready
    reg, guardian = wd.reg, wd.roles.guardian
    wd.submit(wd.batch(0, [0, 3]))
    assert reg.f.canWithdraw(wd.owners[0]).call() and reg.f.isLiquidatable(wd.owners[1]).call()
    with pytest.raises(RegistryRevert, match=UNAUTHORIZED):
        reg.pause(sender=wd.outsider)
    reg.pause()
    assert reg.f.paused().call()
    for o in wd.owners[:2]:
        assert not reg.f.canWithdraw(o).call()
        assert not reg.f.canIncreaseRisk(o).call()
        assert not reg.f.isLiquidatable(o).call()
        assert reg.f.canReduceRisk(o).call()
        assert not reg.health(o)["valid"]
    with pytest.raises(RegistryRevert, match="^EnforcedPause"):
        wd.submit(wd.batch(1, [0, 0]))
    with pytest.raises(RegistryRevert, match="^EnforcedPause"):
        wd.reval(0x2222)
    with pytest.raises(RegistryRevert, match="^EnforcedPause"):
        reg.post_accounts_root(wd.root + 1)
    with pytest.raises(RegistryRevert, match=UNAUTHORIZED):
        reg.unpause(sender=guardian)
    with pytest.raises(RegistryRevert, match=UNAUTHORIZED):
        reg.set_max_age(1, sender=guardian)
    with pytest.raises(RegistryRevert, match=UNAUTHORIZED):
        reg.set_param_hash(1, sender=guardian)
    governance.enact(reg, reg.f.unpause())
    assert not reg.f.paused().call()
    assert reg.f.canWithdraw(wd.owners[0]).call()                   # the record was never touched


# ------------------------------------------------------------------ venue


def test_root_posting_is_o1_gas(fresh):
    """L4: gas of a root post does not depend on how many leaves are registered (1 vs 1000)."""
    wd = fresh
    reg, w3 = wd.reg, wd.w3
    root = 0x1234567890ABCDEF << 64
    g1 = reg.post_accounts_root(root).gasUsed
    last = None
    for leaf in range(len(wd.owners), 1000):
        owner = Web3.to_checksum_address(f"0x{0xB0B0000 + leaf:040x}")
        last = reg.f.registerAccount(owner, leaf).transact({"from": wd.roles.venue, "gas": 200_000})
    assert w3.eth.wait_for_transaction_receipt(last).status == 1
    g1000 = reg.post_accounts_root(root + 1).gasUsed
    assert abs(g1000 - g1) <= 0.02 * g1, (g1, g1000)
    assert g1 < 60_000


def test_registration_needs_a_later_root(ready):
    """A newly registered owner has no valid record until a root posted after registration."""
    wd = ready
    owner = wd.w3.eth.accounts[9]
    wd.reg.register_account(owner, 5)                               # group 2, leaf 1
    wd.submit(wd.batch(2, [0, 0]))
    assert not wd.reg.health(owner)["valid"]                        # proven against the old root
    wd.reg.post_accounts_root(wd.root)
    wd.submit(wd.batch(2, [0, 0]))
    assert wd.reg.health(owner)["valid"]


# ------------------------------------------------------------------ liveness


def test_anyone_may_submit_after_a_keeper_stall(ready):
    wd = ready
    reg, w3 = wd.reg, wd.w3
    stall = reg.f.keeperStall().call()
    assert stall == wd.dep.keeper_stall == 50
    last = reg.f.lastKeeperBlock().call()
    open_at = reg.f.openSubmissionBlock().call()
    assert open_at == last + stall
    with rejects(rf"KeeperActive\({last}, {open_at}\)"):
        wd.submit(wd.batch(0, [0, 0]), sender=wd.outsider)
    mine_blocks(w3, open_at - w3.eth.block_number)
    wd.submit(wd.batch(0, [1, 0]), sender=wd.outsider)              # same checks, anyone
    assert reg.record(0)["tiers"] == [1, 0]
    assert reg.f.lastKeeperBlock().call() == last                   # only keepers reset the clock
    wd.submit(wd.batch(1, [0, 0]))                                  # the keeper is back
    with rejects("KeeperActive"):
        wd.submit(wd.batch(0, [0, 0]), sender=wd.outsider)


def test_keeper_stall_is_admin_settable(fresh):
    wd = fresh
    with pytest.raises(RegistryRevert, match=UNAUTHORIZED):
        wd.reg.set_keeper_stall(1)
    governance.enact(wd.reg, wd.reg.f.setKeeperStall(7))
    assert wd.reg.f.keeperStall().call() == 7


# ------------------------------------------------------------------ gating


def test_gating_fails_safe_on_a_stale_record(ready):
    """L3: a stale record blocks withdrawal, new risk and liquidation; risk reduction passes."""
    wd = ready
    reg = wd.reg
    b = wd.batch(0, [0, 3])
    wd.submit(b)
    healthy, sick = wd.owners[0], wd.owners[1]
    assert reg.f.canWithdraw(healthy).call() and reg.f.canIncreaseRisk(healthy).call()
    assert reg.f.isLiquidatable(sick).call() and not reg.f.canWithdraw(sick).call()
    mine_blocks(wd.w3, reg.f.expiryOf(0).call() + 1 - wd.w3.eth.block_number)
    for o in (healthy, sick, wd.owners[2]):                         # stale, stale, never proven
        assert not reg.f.canWithdraw(o).call()
        assert not reg.f.canIncreaseRisk(o).call()
        assert not reg.f.isLiquidatable(o).call()
        assert reg.f.canReduceRisk(o).call()


# ------------------------------------------------------------------ bad input


def test_round_older_than_the_last_used_is_round_too_old(fresh):
    wd = fresh
    b = (wd.d0 + 2) * DAY
    warp(wd.w3, b + 60)
    rounds = wd.post_all(PRICES, b + 1)
    wd.step(rounds, GENESIS + 1, 0x1111)
    b2 = (wd.d0 + 3) * DAY
    warp(wd.w3, b2 + 60)
    wd.post_all(PRICES, b2 + 1)
    old = [r - 1 for r in rounds]
    with rejects(rf"RoundTooOld\(0, {old[0]}, {rounds[0]}\)"):
        wd.step(old, GENESIS + 2, 0x2222, prices=[0])

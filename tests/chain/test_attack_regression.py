"""Issue 13's registry attacks, each run on the registry of commit 2e1204d (the fixture in
``fixtures/registry_2e1204d``) and on the current one, on real anvil nodes: every attack
must succeed on the old registry and fail on the new one, with its custom error or with the
safe answer of a view.

Verifiers (see ``attack_worlds``): the old registry's v1 circuits are gone, so its margin
(4 signals) and model (5 + K) verifiers are PLACEHOLDER circuits of those signal counts: real
Groth16 proofs from snarkjs-generated verifiers, any statement provable, which models "a
valid proof exists". The new registry runs the snarkjs-generated verifiers of the v2
PLACEHOLDER circuits (same signal counts as the real ones), so each rejection below is the
registry's own check; each test says whether that check runs before or after the verifier.
One node per registry; each test starts from a snapshot.
"""
from __future__ import annotations

import pytest
from eth_utils import function_signature_to_4byte_selector
from web3 import Web3
from web3.exceptions import ContractLogicError

from calcm.chain import encoding
from calcm.chain.anvil import Anvil
from calcm.chain.evm import http_web3, warp
from calcm.chain.transact import RegistryRevert

from .attack_worlds import (FIXTURE_BLOB, GENESIS, GROUP_SIZE, MAX_AGE, PRICES, ROOT_0,
                            NewWorld, OldWorld, fixture_blob, function_names, old_pack_result,
                            revert, snapshot)

pytestmark = pytest.mark.slow

OLD, NEW = OldWorld.kind, NewWorld.kind
REGISTRIES = [OLD, NEW]
ADMIN_ROLE = b"\0" * 32
S1, S2 = 0x5CE1, 0x5CE2
CRASH = [30_000.0, 1_500.0, 1.0]


@pytest.fixture(scope="module")
def worlds():
    """One anvil node per registry, each world deployed once and snapshotted."""
    with Anvil() as a_old, Anvil() as a_new:
        out = {}
        for kind, node, cls in ((OLD, a_old, OldWorld), (NEW, a_new, NewWorld)):
            w3 = http_web3(node.url)
            try:
                world = cls(w3).setup()
            except Exception as exc:          # noqa: BLE001 - surfaced by the `reg` fixture
                out[kind] = exc
                continue
            out[kind] = [world, snapshot(w3)]
        yield out


@pytest.fixture
def reg(request, worlds):
    """The world of ``request.param``, reverted to its snapshot."""
    entry = worlds[request.param]
    if isinstance(entry, Exception):
        raise entry
    world, snap = entry
    entry[1] = revert(world.w3, snap)
    return world


def attempt(fn, *args, **kw) -> RegistryRevert | None:
    """None when ``fn`` goes through, else the revert (custom error name and arguments)."""
    try:
        fn(*args, **kw)
    except RegistryRevert as exc:
        return exc
    return None


def error(exc: RegistryRevert | None, name: str, *args) -> bool:
    """Whether ``exc`` is the custom error ``name`` (arguments checked when given;
    addresses compared case-insensitively)."""
    def norm(v):
        return v.lower() if isinstance(v, str) else v
    return exc is not None and exc.name == name and (
        not args or tuple(map(norm, exc.args_)) == tuple(map(norm, args)))


def test_fixture_is_the_registry_of_2e1204d():
    assert fixture_blob() == FIXTURE_BLOB


# ---------------------------------------------------------------------------- H1


@pytest.mark.parametrize("reg", REGISTRIES, indirect=True)
def test_h1_model_steps_repeated_within_a_day(reg):
    """H1: after one legitimate update, five more at unchanged prices within the same day.
    Old: all five land (each a GARCH day: volatility decays). New: `NoNewDay(day)`, checked
    before the verifier, whoever submits; the state does not move."""
    rounds = reg.next_close(PRICES)
    reg.model_step(GENESIS + 1, rounds)
    tries = [attempt(reg.model_step, GENESIS + 2 + i, rounds) for i in range(5)]
    state = reg.f.stateCommitment().call()
    if reg.kind == OLD:
        assert tries == [None] * 5 and state == GENESIS + 6
    else:
        day = reg.f.day().call()
        assert day == reg.d0 + 1
        assert all(error(t, "MarginRegistry__NoNewDay", day) for t in tries), tries
        assert state == GENESIS + 1


# ---------------------------------------------------------------------------- M1


@pytest.mark.parametrize("reg", REGISTRIES, indirect=True)
def test_m1_record_of_the_pre_crash_model_still_withdraws(reg):
    """M1: a tier-0 record proven under the pre-crash model; a crash model lands (new
    prices, new scenario/linear commitment). Old: the account still withdraws. New: the
    record is of an older model version: not valid, no withdrawal (a view, no verifier)."""
    owner = reg.owners[0]
    reg.record(0, [0, 0])
    assert reg.health(owner)["can_withdraw"]
    reg.set_prices(CRASH)
    if reg.kind == OLD:
        reg.model_update(reg.f.stateCommitment().call() + 1, S2)
    else:
        reg.reval(0x2222)
    h = reg.health(owner)
    if reg.kind == OLD:
        assert h["valid"] and h["can_withdraw"]
    else:
        assert not h["valid"] and not h["can_withdraw"]


# ---------------------------------------------------------------------------- M2


@pytest.mark.parametrize("reg", REGISTRIES, indirect=True)
def test_m2_set_model_state_at_any_time(reg):
    """M2: governance resets the model state after the model has run. Old: it lands at
    once. New: the governance EOA is no longer admin (`AccessControlUnauthorizedAccount`),
    and even through the timelock `setModelState` is genesis-only (`GenesisOver`)."""
    bad = 0xBAD
    fn = (reg.f.setModelState(bad) if reg.kind == OLD
          else reg.f.setModelState(bad, reg.f.day().call()))
    direct = attempt(reg.send, fn, reg.gov)
    if reg.kind == OLD:
        assert direct is None and reg.f.stateCommitment().call() == bad
        return
    assert error(direct, "AccessControlUnauthorizedAccount", reg.gov, ADMIN_ROLE), direct
    assert error(attempt(reg.timelocked, fn), "MarginRegistry__GenesisOver"), "timelocked"
    assert reg.f.stateCommitment().call() == GENESIS


@pytest.mark.parametrize("reg", REGISTRIES, indirect=True)
def test_m2_set_max_age_revives_stale_records(reg):
    """M2: a record past maxAge; governance raises maxAge. Old: the stale record is valid
    again (the change is retroactive). New: a direct call reverts
    (`AccessControlUnauthorizedAccount`); through the timelock it applies only to records
    written after it: the old record keeps its own expiry and stays invalid."""
    owner = reg.owners[0]
    reg.record(0, [0, 0])
    reg.mine(MAX_AGE + 1)
    assert not reg.health(owner)["can_withdraw"]
    fn = reg.f.setMaxAge(10_000)
    direct = attempt(reg.send, fn, reg.gov)
    if reg.kind == OLD:
        assert direct is None
        h = reg.health(owner)
        assert h["valid"] and h["can_withdraw"]
        return
    assert error(direct, "AccessControlUnauthorizedAccount", reg.gov, ADMIN_ROLE), direct
    reg.timelocked(fn)
    assert reg.f.maxAge().call() == 10_000
    h = reg.health(owner)
    assert not h["valid"] and not h["can_withdraw"]
    assert reg.f.expiryOf(0).call() == h["proven_block"] + MAX_AGE   # its own, at write time


@pytest.mark.parametrize("reg", REGISTRIES, indirect=True)
def test_m2_verifier_switch_takes_effect_at_once(reg):
    """M2: governance switches the margin verifier to one whose keys it holds, and a batch
    proven for it lands. Old: in the very next block (and it rewrites a healthy account to
    tier 3). New: a direct call reverts (`AccessControlUnauthorizedAccount`); a scheduled
    switch cannot execute before the delay (`TimelockUnexpectedOperationState`); after it,
    the switch bumps the model version so records made before it expire (the real generated
    placeholder verifiers check the batch after the switch)."""
    owner = reg.owners[0]
    reg.record(0, [0, 0])
    other = reg.verifiers["other"]
    fn = reg.f.setMarginVerifier(other)
    direct = attempt(reg.send, fn, reg.gov)
    if reg.kind == OLD:
        assert direct is None
        reg.model_update(reg.f.stateCommitment().call() + 1, S2)
        assert error(attempt(reg.batch, 0, [3, 3]), "MarginRegistry__InvalidProof")
        assert attempt(reg.batch, 0, [3, 3], verifier="other") is None
        assert reg.health(owner)["liquidatable"]
        return
    assert error(direct, "AccessControlUnauthorizedAccount", reg.gov, ADMIN_ROLE), direct
    version = reg.model_version()
    op = reg.schedule(fn)
    early = attempt(reg.execute, op)                   # before the delay has passed
    assert error(early, "TimelockUnexpectedOperationState"), early
    assert reg.f.marginVerifier().call() != other
    assert reg.health(owner)["can_withdraw"]          # nothing changed yet
    assert reg.min_delay() == 86_400                   # deploy()'s default: one day
    warp(reg.w3, reg.w3.eth.get_block("latest").timestamp + reg.min_delay())
    reg.execute(op)
    assert reg.f.marginVerifier().call() == other
    assert reg.model_version() > version
    assert not reg.health(owner)["valid"]              # proven under the old verifier


# ---------------------------------------------------------------------------- L1


@pytest.mark.parametrize("reg", REGISTRIES, indirect=True)
def test_l1_batch_from_a_circuit_of_another_size(reg):
    """L1: the registry groups leaves in twos; a proof from a batch circuit of N = 1 for its
    group 1 (leaf 1, tier 3) is submitted as group 1. Old: it lands on leaves 2 and 3, so
    leaf 2's owner becomes liquidatable from a proof about leaf 1. New: the packed N is
    checked against groupSize before the verifier: `WrongShape(1, 2)`."""
    if reg.kind == NEW:
        reg.set_prices(PRICES)
        reg.reval(0x1111)
        packed = encoding.pack_result(1, [3])          # the v3 circuit at N = 1
    else:
        reg.model_update(GENESIS + 1, S1)
        packed = old_pack_result(1, [3])               # the v1 circuit at N = 1
    got = attempt(reg.batch, 1, packed=packed)
    if reg.kind == OLD:
        assert got is None
        assert reg.health(reg.owners[2])["liquidatable"]
    else:
        assert error(got, "MarginRegistry__WrongShape", 1, GROUP_SIZE), got
        assert not reg.health(reg.owners[2])["valid"]


# ---------------------------------------------------------------------------- L2


@pytest.mark.parametrize("reg", REGISTRIES, indirect=True)
def test_l2_price_between_2_48_and_2_50(reg):
    """L2: a feed answer of 2**49 at PRICE_SCALE, which the circuits cannot take (they need
    < 2**48). Old: the registry packs it (so every model update halts at proving). New:
    `PriceOutOfRange(asset, answer)` where the prices are read (a view, no verifier)."""
    bad = 2**49 * 100                                  # 8 decimals -> 2**49 at 1e6
    reg.send(reg.feeds[0].functions.setRoundData(bad, reg.w3.eth.get_block("latest").timestamp),
             reg.gov)
    got = attempt(reg.tx.call, reg.f.packedPrices())
    if reg.kind == OLD:
        assert got is None
        assert reg.f.packedPrices().call()[0] & (2**50 - 1) == 2**49
    else:
        assert error(got, "MarginRegistry__PriceOutOfRange", 0, bad), got


# ---------------------------------------------------------------------------- L3


@pytest.mark.parametrize("reg", REGISTRIES, indirect=True)
def test_l3_stale_records_fail_open(reg):
    """L3: leaf 0 at tier 2 (no new risk), leaf 1 at tier 3; the keeper stalls past maxAge.
    Old: its only gates are canWithdraw and isLiquidatable, so "no new risk" can only be read
    from a valid record: once stale, nothing restricts adding risk. New (views, no verifier):
    withdraw, add risk and liquidate are all false on a stale record; reducing risk is
    always allowed."""
    reg.record(0, [2, 3])
    tier2, tier3 = reg.owners[0], reg.owners[1]
    assert not reg.may_add_risk(tier2) and not reg.may_add_risk(tier3)
    reg.mine(MAX_AGE + 1)
    for owner in (tier2, tier3):
        h = reg.health(owner)
        assert not h["valid"] and not h["can_withdraw"] and not h["liquidatable"]
    if reg.kind == OLD:
        assert "canIncreaseRisk" not in function_names(reg.abi)
        assert reg.may_add_risk(tier2) and reg.may_add_risk(tier3)
    else:
        assert not reg.may_add_risk(tier2) and not reg.may_add_risk(tier3)
        assert reg.f.canReduceRisk(tier3).call() and reg.f.canReduceRisk(tier2).call()


# ---------------------------------------------------------------------------- L4


@pytest.mark.parametrize("reg", REGISTRIES, indirect=True)
def test_l4_root_posting_gas_per_leaf(reg):
    """L4: gas of posting a root after 1 and after 65 leaves changed. Old: the venue lists
    the leaves and each costs a fresh SSTORE (>= 20k gas: a 30M-gas block holds < 1,500 new
    leaves). New: the root alone, O(1): the same gas after 1 or 16 new accounts (no leaf
    argument; no verifier involved)."""
    if reg.kind == OLD:
        g1 = reg.post_root(ROOT_0 + 1, [100]).gasUsed
        g65 = reg.post_root(ROOT_0 + 2, list(range(200, 265))).gasUsed
        per_leaf = (g65 - g1) / 64
        assert per_leaf > 20_000 and 30_000_000 // per_leaf < 1_500
        return
    post = [i for i in reg.abi if i.get("name") == "postAccountsRoot"]
    assert [len(i["inputs"]) for i in post] == [1]
    g1 = reg.post_root(ROOT_0 + 1).gasUsed
    for leaf in range(200, 216):                       # 16 new accounts, then the next root
        owner = Web3.to_checksum_address(f"0x{0xACC0 + leaf:040x}")
        reg.send(reg.f.registerAccount(owner, leaf), reg.venue)
    g2 = reg.post_root(ROOT_0 + 2).gasUsed
    assert g1 == g2 and g1 < 60_000, (g1, g2)


# ---------------------------------------------------------------------------- I1


@pytest.mark.parametrize("reg", REGISTRIES, indirect=True)
def test_i1_carried_over_answer(reg):
    """I1: asset 1's latest round carries an earlier round's answer (answeredInRound = 1 <
    roundId). Old: the model update uses it. New: `IncompleteRound(asset, roundId,
    answeredInRound)`, checked when the rounds are read, before the verifier."""
    rounds = reg.next_close(PRICES, carried=1)
    f = reg.feeds[1].functions
    assert f.latestRoundData().call()[4] == 1 < rounds[1]
    got = attempt(reg.model_step, GENESIS + 1, rounds)
    if reg.kind == OLD:
        assert got is None and reg.f.stateCommitment().call() == GENESIS + 1
    else:
        assert error(got, "MarginRegistry__IncompleteRound", 1, rounds[1], 1), got
        assert reg.f.stateCommitment().call() == GENESIS


# ---------------------------------------------------------------------------- I2


@pytest.mark.parametrize("reg", REGISTRIES, indirect=True)
def test_i2_model_events_replayable(reg):
    """I2: an auditor replays a model update from its event alone. Old: `ModelUpdated` has
    neither the prices nor the rounds. New: `ModelStepped` carries both (after the
    verifier: a landed step)."""
    rounds = reg.next_close(CRASH)
    r = reg.model_step(GENESIS + 1, rounds)
    if reg.kind == OLD:
        ev = reg.c.events.ModelUpdated().process_receipt(r)[0]["args"]
        assert ev["newState"] == GENESIS + 1
        assert not {"prices", "rounds"} & set(ev)
    else:
        ev = reg.reg.contract.events.ModelStepped().process_receipt(r)[0]["args"]
        assert ev["newState"] == GENESIS + 1 and list(ev["rounds"]) == rounds
        assert list(ev["prices"]) == [round(p * 10**6) for p in CRASH]


# ---------------------------------------------------------------------------- A5


@pytest.mark.parametrize("reg", REGISTRIES, indirect=True)
def test_a5_governance_attests_a_scenario_without_proof(reg):
    """A5: governance switches to attested mode and sets a scenario commitment of its
    choosing without any proof; a batch proven against it lands. Old: it works. New: the
    functions do not exist; the same calldata reverts (no fallback)."""
    block = reg.w3.eth.block_number
    if reg.kind == OLD:
        reg.send(reg.f.setModelVerifier("0x" + "00" * 20), reg.gov)
        r = reg.send(reg.f.attestModelUpdate(block, GENESIS + 1, 0xA77E57), reg.gov)
        ev = reg.c.events.ModelUpdated().process_receipt(r)[0]["args"]
        assert ev["proven"] is False and reg.f.latestScenario().call() == 0xA77E57
        assert attempt(reg.batch, 0, [0, 0]) is None
        assert reg.health(reg.owners[0])["can_withdraw"]
        return
    names = function_names(reg.abi)
    assert not {"attestModelUpdate", "setModelVerifier"} & names
    for sig, args in (("setModelVerifier(address)", [0]),
                      ("attestModelUpdate(uint256,uint256,uint256)", [block, GENESIS + 1, 1])):
        data = function_signature_to_4byte_selector(sig) + b"".join(
            a.to_bytes(32, "big") for a in args)
        with pytest.raises(ContractLogicError):
            reg.w3.eth.call({"to": reg.reg.address, "from": reg.gov, "data": data})


# ---------------------------------------------------------------------------- A6


@pytest.mark.parametrize("reg", REGISTRIES, indirect=True)
def test_a6_omitted_changed_leaf_keeps_a_stale_record(reg):
    """A6: leaf 0 proven tier 0; its commitment changes (say, a large new position) and the
    venue posts the new root without listing leaf 0. Old: the old record still speaks for
    it (canWithdraw). New: a new root invalidates every record of older roots (a view, no
    verifier)."""
    owner = reg.owners[0]
    reg.record(0, [0, 0])
    assert reg.health(owner)["can_withdraw"]
    reg.post_root(ROOT_0 + 1, [])
    h = reg.health(owner)
    if reg.kind == OLD:
        assert h["valid"] and h["can_withdraw"]
    else:
        assert not h["valid"] and not h["can_withdraw"]

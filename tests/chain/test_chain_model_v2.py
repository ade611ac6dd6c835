"""The v2 registry's model path on a real anvil with real (PLACEHOLDER) Groth16 proofs:
one GARCH step per UTC day from the first round after midnight, intraday revaluations,
chained option parts, model versions and the records proven under them (issue 12 item 5;
issue 13 H1, I1, I2, L2, M1)."""
from __future__ import annotations

import pytest

from calcm.chain import governance
from calcm.chain.evm import warp
from calcm.chain.registry import RegistryRevert

from .helpers import DAY, GENESIS, PARAM_HASH, PRICES, World, answer, rejects, rerandomize

pytestmark = pytest.mark.slow

L1, L2, S1, S2, S3 = 0x1111, 0x2222, 0x5001, 0x5002, 0x5003


def _now(wd):
    return wd.w3.eth.get_block("latest").timestamp


def _event(wd, receipt, name):
    return getattr(wd.reg.contract.events, name)().process_receipt(receipt)[0]["args"]


# ------------------------------------------------------------------ daily steps


def test_h1_repeated_updates_revert_no_new_day(fresh):
    """Issue 13 H1: five model updates at unchanged prices within a day used to compound the
    GARCH recursion and drop a tier. Now the day must rise by one, whoever submits."""
    wd = fresh
    m0 = wd.reg.model()
    for i in range(5):
        with rejects(r"NoNewDay\(%d,\)" % wd.d0):
            wd.step([1, 1, 1], GENESIS + 1 + i, L1)
    m = wd.reg.model()
    assert (m.day, m.state, m.version) == (wd.d0, GENESIS, m0.version)
    # an intraday revaluation is what a freshness refresh does: the state does not move
    wd.post_all(PRICES, _now(wd))
    wd.reval(L1)
    m = wd.reg.model()
    assert (m.day, m.state, m.lin_commitment, m.version) == (wd.d0, GENESIS, L1, m0.version + 1)


def test_step_needs_the_first_round_at_or_after_midnight(fresh):
    wd = fresh
    b = (wd.d0 + 2) * DAY
    assert wd.reg.step_boundary() == b
    wd.post_all(PRICES, b - 7200)
    late = wd.post_all([61_000.0, 3_100.0, 1.0], b - 1)          # 23:59:59: still day d0 + 1
    warp(wd.w3, b + 600)
    first = wd.post_all([62_000.0, 3_200.0, 1.0], b)             # exactly 00:00: the close
    later = wd.post_all([63_000.0, 3_300.0, 1.0], b + 300)
    with rejects(r"RoundBeforeBoundary\(0, %d, %d, %d\)" % (late[0], b - 1, b)):
        wd.step(late, GENESIS + 1, L1)
    with rejects(r"RoundNotFirst\(0, %d, %d, %d\)" % (later[0], b, b)):
        wd.step(later, GENESIS + 1, L1)
    r = wd.step(first, GENESIS + 1, L1)
    ev = _event(wd, r, "ModelStepped")
    assert ev["day"] == wd.d0 + 1 and list(ev["rounds"]) == first
    assert list(ev["prices"]) == [62_000 * 10**6, 3_200 * 10**6, 10**6]
    assert (ev["prevState"], ev["newState"], ev["linCommitment"]) == (GENESIS, GENESIS + 1, L1)
    m = wd.reg.model()
    assert (m.day, m.state, m.lin_commitment) == (wd.d0 + 1, GENESIS + 1, L1)
    # the same rounds cannot step again: the next boundary is a day later
    with rejects("NoNewDay"):
        wd.step(first, GENESIS + 2, L2)


def test_step_proof_binds_the_close_prices_and_the_prior_state(fresh):
    wd = fresh
    b = (wd.d0 + 2) * DAY
    warp(wd.w3, b + 600)
    first = wd.post_all([62_000.0, 3_200.0, 1.0], b + 5)
    close = wd.reg.packed_close_prices(first)
    wd.post_all([65_000.0, 3_500.0, 1.0], b + 10)                   # feeds moved on since
    with rejects("RoundNotFirst"):                                  # the latest is not the close
        wd.step([r + 1 for r in first], GENESIS + 1, L1, prices=close)
    with rejects("InvalidProof"):                                   # proven at other prices
        wd.step(first, GENESIS + 1, L1, prices=[close[0] + 1])
    with rejects("InvalidProof"):                                   # from another state
        wd.step(first, GENESIS + 1, L1, prev=GENESIS + 7)
    wd.step(first, GENESIS + 1, L1)                                  # the close, not the latest


def test_missed_days_are_stepped_in_order_from_their_own_rounds(fresh):
    wd = fresh
    closes = {}
    for d in (2, 3, 4):
        b = (wd.d0 + d) * DAY
        warp(wd.w3, b + 100)
        closes[d] = wd.post_all([60_000.0 + 1000 * d, 3_000.0 + d, 1.0], b + 30)
        wd.post_all([50_000.0, 2_000.0, 1.0], b + 3600)              # intraday, not a close
    warp(wd.w3, (wd.d0 + 4) * DAY + 7200)
    wd.post_all(PRICES, (wd.d0 + 4) * DAY + 7200)                   # fresh, but a step is due
    with rejects("StepDue"):                                        # never revalue a stale state
        wd.reval(L1)
    with rejects("RoundNotFirst"):                                  # no skipping a day
        wd.step(closes[3], GENESIS + 1, L1)
    for i, d in enumerate((2, 3, 4)):
        r = wd.step(closes[d], GENESIS + 1 + i, L1 + i)
        ev = _event(wd, r, "ModelStepped")
        assert ev["day"] == wd.d0 + d - 1
        assert ev["prices"][0] == (60_000 + 1000 * d) * 10**6
    assert wd.reg.model().day == wd.d0 + 3
    with rejects(r"NoNewDay\(%d,\)" % (wd.d0 + 3)):
        wd.step(closes[4], GENESIS + 9, L1)
    wd.reval(L2)                                                     # intraday again


def test_step_rejects_a_carried_over_answer(fresh):
    """Issue 13 I1: answeredInRound < roundId means the answer is an earlier round's."""
    wd = fresh
    b = (wd.d0 + 2) * DAY
    warp(wd.w3, b + 600)
    rounds = [wd.post(0, 62_000.0, b + 1), None, wd.post(2, 1.0, b + 1)]
    f = wd.feeds[1].functions
    wd.reg.tx.send(f.setCarriedRound(answer(3_000.0), b + 1, 1), wd.roles.governance)
    rounds[1] = f.latestRound().call()
    with rejects(r"IncompleteRound\(1, %d, 1\)" % rounds[1]):
        wd.step(rounds, GENESIS + 1, L1)


def test_step_round_count_and_unknown_round(fresh):
    wd = fresh
    b = (wd.d0 + 2) * DAY
    warp(wd.w3, b + 600)
    r = wd.post_all(PRICES, b + 1)
    with rejects(r"WrongFeedCount\(2, 3\)"):
        wd.reg.packed_close_prices(r[:2])
    with rejects(r"NoSuchRound\(2, 99\)"):
        wd.reg.packed_close_prices(r[:2] + [99])


def test_eth_call_precheck_sends_nothing(fresh):
    """The step is checked by eth_call first: a rejected one is never broadcast."""
    wd = fresh
    before = wd.w3.eth.block_number
    with rejects("NoNewDay"):
        wd.step([1, 1, 1], GENESIS + 1, L1)
    assert wd.w3.eth.block_number == before


# ------------------------------------------------------------------ prices


def test_price_bound_is_the_circuits_2_pow_48(fresh):
    """Issue 13 L2: 1 <= price < 2**48 at PRICE_SCALE (the old contract allowed 2**50)."""
    wd = fresh
    t = _now(wd)
    ok = (2**48 - 1) * 100                                           # 8 decimals -> price 2**48 - 1
    wd.reg.tx.send(wd.feeds[0].functions.setRoundData(ok, t), wd.roles.governance)
    assert wd.reg.packed_prices()[0] & (2**50 - 1) == 2**48 - 1
    for bad in (2**48 * 100, 99, 0, -1):                             # 2**48; price 0; <= 0
        wd.reg.tx.send(wd.feeds[0].functions.setRoundData(bad, t), wd.roles.governance)
        with rejects(r"PriceOutOfRange\(0, %d\)" % bad):
            wd.reg.packed_prices()
    wd.reg.tx.send(wd.feeds[0].functions.setRoundData(100, t), wd.roles.governance)
    assert wd.reg.packed_prices()[0] & (2**50 - 1) == 1              # price 1: the lower bound


def test_reval_needs_fresh_answers(fresh):
    wd = fresh
    t = _now(wd) + 10
    wd.post_all(PRICES, t)
    age = wd.reg.f.maxPriceAge().call()
    warp(wd.w3, t + age)
    wd.reg.packed_prices()                                           # exactly maxPriceAge old
    warp(wd.w3, t + age + 1)
    with rejects(r"StalePrice\(0, %d\)" % t):
        wd.reval(L1)


# ------------------------------------------------------------------ option parts


def test_option_parts_in_order_then_usable(fresh):
    wd = fresh
    wd.post_all(PRICES, _now(wd))
    wd.reval(L1)
    assert not wd.reg.model().usable                                 # no options yet
    with rejects(r"OptionPartOutOfOrder\(1, 0\)"):
        wd.option_part(1, S2, prev=0)
    r0 = wd.option_part(0, S1)
    started = _event(wd, r0, "OptionRevaluationStarted")
    assert started["state"] == GENESIS and len(started["prices"]) == 3
    with rejects(r"OptionPartOutOfOrder\(2, 1\)"):
        wd.option_part(2, S3, prev=S1)
    with rejects("InvalidProof"):                                   # wrong previous sponge
        wd.option_part(1, S2, prev=S1 + 1)
    moved = _now(wd) + 1
    wd.post_all([70_000.0, 3_000.0, 1.0], moved)                     # feeds move mid-chain
    warp(wd.w3, max(moved, _now(wd)) + 1)    # views see the new answers as fresh, however slow the machine
    with rejects("InvalidProof"):                                   # parts stay at part 0's prices
        wd.option_part(1, S2, prices=wd.reg.packed_prices())
    wd.option_part(1, S2)
    v = wd.reg.model().version
    r = wd.option_part(2, S3)
    ev = _event(wd, r, "OptionsRevalued")
    assert (ev["state"], ev["optCommitment"], ev["modelVersion"]) == (GENESIS, S3, v + 1)
    m = wd.reg.model()
    assert (m.opt_commitment, m.opt_state, m.usable) == (S3, GENESIS, True)
    assert m.opt_prices_at == started["pricesAt"]


def test_option_chain_breaks_when_the_state_steps(fresh):
    wd = fresh
    wd.option_part(0, S1)
    b = (wd.d0 + 2) * DAY
    warp(wd.w3, b + 60)
    wd.step(wd.post_all(PRICES, b + 1), GENESIS + 1, L1)
    with rejects(r"OptionStateMismatch\(%d, %d\)" % (GENESIS, GENESIS + 1)):
        wd.option_part(1, S2, state=GENESIS)
    wd.options()                                                     # a fresh chain at the new state
    assert wd.reg.model().usable


# ------------------------------------------------------------------ margin batches


def _usable(wd):
    wd.post_all(PRICES, _now(wd))
    wd.reval(L1)
    wd.options()


def test_margin_batch_needs_options_for_the_current_state(fresh):
    wd = fresh
    wd.post_all(PRICES, _now(wd))
    wd.reval(L1)
    with rejects("OptionsStale"):
        wd.submit(wd.batch(0, [0, 3]))
    wd.options()
    wd.submit(wd.batch(0, [0, 3]))
    b = (wd.d0 + 2) * DAY                                            # a step: options are for
    warp(wd.w3, b + 60)                                              # the old state now
    wd.step(wd.post_all(PRICES, b + 1), GENESIS + 1, L1)
    with rejects(r"OptionsStale\(%d, %d" % (GENESIS, GENESIS + 1)):
        wd.submit(wd.batch(0, [0, 3]))


def test_option_commitment_expires_after_option_max_age(fresh):
    wd = fresh
    _usable(wd)
    at = wd.reg.model().opt_prices_at
    age = wd.reg.f.optionMaxAge().call()
    # Prove first, then warp and submit at once: the tx's block is dated by the node's clock
    # from the warp on, so a slow prover between the two would age the options past the limit.
    first, second = wd.batch(0, [0, 0]), wd.batch(1, [0, 0])
    warp(wd.w3, at + age - 1)                                        # the batch tx lands at +age
    wd.submit(first)
    warp(wd.w3, at + age + 1)
    with rejects("OptionsStale"):
        wd.submit(second)


def test_margin_batch_against_a_stale_model_version(fresh):
    wd = fresh
    _usable(wd)
    old = wd.batch(0, [0, 3])
    wd.post_all(PRICES, _now(wd))
    wd.reval(L2)                                                     # a new model version
    v = wd.reg.model().version
    with rejects(r"StaleModel\(%d, %d\)" % (v - 1, v)):
        wd.submit(old)
    with rejects("InvalidProof"):                                   # proven at the old lin
        wd.submit(wd.batch(0, [0, 3], lin=L1))
    with rejects("StaleBlock"):                                     # context before the version
        wd.submit(wd.batch(0, [0, 3], block=old[1]))
    wd.submit(wd.batch(0, [0, 3]))


def test_record_under_an_old_model_version_is_not_valid(fresh):
    """Issue 13 M1: a withdrawal needs a record proven at the current model version."""
    wd = fresh
    _usable(wd)
    r = wd.submit(wd.batch(0, [0, 3]))
    ev = _event(wd, r, "MarginBatchRecorded")
    assert ev["modelVersion"] == wd.reg.model().version
    h = [wd.reg.health(o) for o in wd.owners[:2]]
    assert (h[0]["valid"], h[0]["can_withdraw"], h[1]["liquidatable"]) == (True, True, True)
    assert wd.reg.record(0)["model_version"] == wd.reg.model().version
    wd.post_all(PRICES, _now(wd))
    wd.reval(L2)
    h = [wd.reg.health(o) for o in wd.owners[:2]]
    assert [x["valid"] for x in h] == [False, False]
    assert (h[0]["can_withdraw"], h[1]["liquidatable"]) == (False, False)
    wd.submit(wd.batch(0, [0, 3]))                                   # re-proven: valid again
    assert wd.reg.health(wd.owners[0])["can_withdraw"]


def test_replay_is_rejected_by_key(fresh):
    wd = fresh
    _usable(wd)
    b = wd.batch(0, [1, 2])
    wd.submit(b)
    v = wd.reg.model().version
    with rejects(r"AlreadyRecorded\(0, %d, 1, %d\)" % (b[1], v)):
        wd.submit(b)
    proof, *rest = b
    with rejects("AlreadyRecorded"):
        wd.submit((rerandomize(proof, 987654321), *rest))


def test_registry_without_options(w3, v2_placeholders):
    wd = World(w3, *v2_placeholders, n_parts=0).setup()
    with rejects("NoOptions"):
        wd.option_part(0, S1)
    wd.post_all(PRICES, _now(wd))
    wd.reval(L1)
    assert wd.reg.model().usable
    wd.submit(wd.batch(1, [2, 0], opt=0))
    assert wd.reg.record(1)["tiers"] == [2, 0]


# ------------------------------------------------------------------ roles, no attestation


def test_roles_and_no_attested_path(fresh):
    wd = fresh
    names = {i["name"] for i in wd.reg.contract.abi if i.get("type") == "function"}
    assert not any("attest" in n.lower() for n in names)            # issue 13 A5
    with rejects("KeeperActive"):
        wd.reg.submit_model_reval({"pi_a": [0, 0], "pi_b": [[0, 0], [0, 0]], "pi_c": [0, 0]},
                                  0, 1, sender=wd.outsider)
    with pytest.raises(RegistryRevert, match="^AccessControlUnauthorizedAccount"):
        wd.reg.set_model_state(1, 1)                                # the admin is the timelock
    with rejects("GenesisOver"):                                    # and setModelState is genesis only
        governance.enact(wd.reg, wd.reg.f.setModelState(1, 1))
    r = governance.enact(wd.reg, wd.reg.f.upgradeModel(PARAM_HASH, GENESIS + 5, wd.d0 + 1))
    m = wd.reg.model()
    assert (m.state, m.day, m.lin_commitment, m.usable) == (GENESIS + 5, wd.d0 + 1, 0, False)
    ev = wd.reg.contract.events.ModelUpgraded().process_receipt(r)[0]["args"]
    assert (ev["day"], ev["modelVersion"]) == (wd.d0 + 1, m.version)

"""Every rejection of the registry, each at its boundary, on a real anvil with real proofs."""
from __future__ import annotations

from dataclasses import replace

import pytest

from calcm.chain import encoding
from calcm.chain.evm import mine_blocks
from calcm.chain.registry import RegistryRevert, SubmissionError, submit_proof_dir
from calcm.fixedpoint import FIELD_PRIME

from .helpers import GENESIS, MAX_AGE, rerandomize

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def proof0(world):
    """A valid proof of group 0 for the world's model block (made once)."""
    return world.batch(0, world.block)


def _rejects(name):
    return pytest.raises(RegistryRevert, match=f"^MarginRegistry__{name}")


# ------------------------------------------------------------------ blocks


def test_stale_block_after_newer_model_update(fresh, proof0):
    wd = fresh
    blk = wd.w3.eth.block_number
    wd.model_update(blk, GENESIS + 2)
    with _rejects("StaleBlock"):
        wd.submit(proof0, wd.block)


def test_stale_block_older_than_max_age(fresh, proof0):
    wd = fresh
    # Accepted at exactly maxAge blocks old ...
    mine_blocks(wd.w3, wd.block + MAX_AGE - 1 - wd.w3.eth.block_number)  # the tx mines block +maxAge
    wd.submit(proof0, wd.block)
    wd.revert()
    # ... rejected one block later.
    mine_blocks(wd.w3, wd.block + MAX_AGE - wd.w3.eth.block_number)
    with _rejects("StaleBlock"):
        wd.submit(proof0, wd.block)


def test_future_block(fresh, proof0):
    wd = fresh
    nxt = wd.w3.eth.block_number + 2      # the submitting tx mines block_number + 1
    with _rejects("FutureBlock"):
        wd.submit(proof0, nxt)
    with _rejects("FutureBlock"):
        wd.model_update(nxt, GENESIS + 2)


def test_model_update_must_advance(fresh):
    wd = fresh
    with _rejects("StaleBlock"):
        wd.model_update(wd.block, GENESIS + 2)      # same block again (a replayed update)
    with _rejects("StaleBlock"):
        wd.model_update(wd.block - 1, GENESIS + 2)


# ------------------------------------------------------------------ replays


def test_replayed_proof(fresh, proof0):
    wd = fresh
    wd.submit(proof0, wd.block)
    with _rejects("AlreadyRecorded"):
        wd.submit(proof0, wd.block)


def test_rerandomised_proof_is_still_a_replay(fresh, proof0, margin_build):
    """Groth16 malleability: a re-randomised proof is valid and has a new hash, but it
    proves the same statement, so the (group, block, root version) key still rejects it."""
    from calcm.zk.pyverify import verify
    wd = fresh
    other = rerandomize(proof0.proof, 0xBEEF)
    assert other["pi_a"] != proof0.proof["pi_a"]
    assert verify(margin_build.vkey, proof0.public, other)
    a, b, c = encoding.solidity_proof(other)
    mv = wd.w3.eth.contract(address=wd.dep.margin_verifier, abi=wd.margin_art.abi)
    assert mv.functions.verifyProof(a, b, c, proof0.public).call()
    wd.submit(proof0, wd.block)
    with _rejects("AlreadyRecorded"):
        wd.reg.submit_margin_batch(other, wd.block, 0, proof0.public[3])


def test_replay_of_a_model_update(fresh):
    wd = fresh
    blk = wd.w3.eth.block_number
    proof, _ = wd.model_proof(blk, GENESIS + 1, GENESIS + 2)
    wd.reg.submit_model_update(proof, blk, GENESIS + 2, wd.scenario)
    with _rejects("StaleBlock"):
        wd.reg.submit_model_update(proof, blk, GENESIS + 2, wd.scenario)


# ------------------------------------------------------------------ bindings


def test_root_not_current(fresh, proof0):
    wd = fresh
    accounts = list(wd.accounts)
    accounts[2] = replace(accounts[2], salt=1)
    wd.reg.post_accounts_root(wd.root(accounts), [2])
    with _rejects("InvalidProof"):
        wd.submit(proof0, wd.block)


def test_scenario_commitment_not_the_blocks(fresh):
    wd = fresh
    c = wd.build.config
    from calcm.chain.sample import sample_model
    other = replace(sample_model(c.S, c.n, c.U, c.m, c.k), im_buffer_bps=3000)
    bp = wd.batch(0, wd.block, model=other)
    assert bp.public[1] != wd.scenario
    with _rejects("InvalidProof"):
        wd.submit(bp, wd.block)


def test_proof_for_another_block(fresh, proof0):
    """The context binds the block: a proof for block b is invalid for block b' (and for any
    other registry or chain, which enter the same hash)."""
    wd = fresh
    blk = wd.w3.eth.block_number
    wd.model_update(blk, GENESIS + 2, scenario=wd.scenario)
    with _rejects("InvalidProof"):
        wd.submit(proof0, blk)


def test_model_update_from_another_state(fresh):
    wd = fresh
    blk = wd.w3.eth.block_number
    proof, _ = wd.model_proof(blk, GENESIS, GENESIS + 2)       # GENESIS is no longer current
    with _rejects("InvalidProof"):
        wd.reg.submit_model_update(proof, blk, GENESIS + 2, wd.scenario)


def test_model_update_with_other_prices(fresh):
    wd = fresh
    blk = wd.w3.eth.block_number
    proof, _ = wd.model_proof(blk, GENESIS + 1, GENESIS + 2)
    feed = wd.w3.eth.contract(address=wd.dep.price_feeds[1], abi=_feed_abi())
    wd.reg.tx.send(feed.functions.setAnswer(2_999 * 10**8), wd.roles.governance)
    with _rejects("InvalidProof"):
        wd.reg.submit_model_update(proof, blk, GENESIS + 2, wd.scenario)


def _feed_abi():
    from calcm.chain.contracts import compile_registry
    return compile_registry()["MockPriceFeed"].abi


# ------------------------------------------------------------------ field and packing


def test_public_input_at_field_order(fresh, proof0):
    wd = fresh
    packed = proof0.public[3]
    with _rejects("NotInField"):
        wd.reg.submit_margin_batch(proof0.proof, wd.block, 0, packed + FIELD_PRIME)
    with _rejects("NotInField"):
        wd.reg.submit_margin_batch(proof0.proof, wd.block, 0, FIELD_PRIME)
    # p - 1 passes the field check and fails the next one: its low 32 bits are not group 0.
    assert (FIELD_PRIME - 1) % 2**32 == 0xF0000000
    with _rejects("GroupMismatch"):
        wd.reg.submit_margin_batch(proof0.proof, wd.block, 0, FIELD_PRIME - 1)


@pytest.mark.parametrize("setter", ["post_accounts_root", "set_param_hash", "set_model_state"])
def test_stored_signals_must_be_in_field(fresh, setter):
    fn = getattr(fresh.reg, setter)
    args = (lambda v: (v, [0])) if setter == "post_accounts_root" else (lambda v: (v,))
    with _rejects("NotInField"):
        fn(*args(FIELD_PRIME))
    fn(*args(FIELD_PRIME - 1))


def test_model_update_outputs_in_field(fresh):
    wd = fresh
    blk = wd.w3.eth.block_number
    proof, _ = wd.model_proof(blk, GENESIS + 1, GENESIS + 2)
    with _rejects("NotInField"):
        wd.reg.submit_model_update(proof, blk, FIELD_PRIME, wd.scenario)
    with _rejects("NotInField"):
        wd.reg.submit_model_update(proof, blk, GENESIS + 2, FIELD_PRIME)
    with _rejects("InvalidProof"):                               # p - 1: in field, wrong value
        wd.reg.submit_model_update(proof, blk, FIELD_PRIME - 1, wd.scenario)


def test_group_mismatch(fresh, proof0):
    wd = fresh
    with _rejects("GroupMismatch"):
        wd.reg.submit_margin_batch(proof0.proof, wd.block, 1, proof0.public[3])


def test_result_bits_above_the_group(fresh, proof0):
    wd = fresh
    n = wd.build.config.N
    extra = proof0.public[3] | (1 << (32 + 2 * n))              # first bit above N tiers
    with _rejects("ResultOutOfRange"):
        wd.reg.submit_margin_batch(proof0.proof, wd.block, 0, extra)
    # The last tier bit is inside the range: it passes that check and fails the proof.
    inside = proof0.public[3] ^ (1 << (32 + 2 * n - 1))
    with _rejects("InvalidProof"):
        wd.reg.submit_margin_batch(proof0.proof, wd.block, 0, inside)


def test_tampered_tiers_fail_the_proof(fresh, proof0):
    """A keeper cannot claim a healthy account liquidatable (or the reverse)."""
    wd = fresh
    forged = encoding.pack_result(0, [0, 0])
    assert forged != proof0.public[3]
    with _rejects("InvalidProof"):
        wd.reg.submit_margin_batch(proof0.proof, wd.block, 0, forged)


# ------------------------------------------------------------------ roles


def test_unauthorised_roles(fresh, proof0):
    wd, reg, x = fresh, fresh.reg, fresh.outsider
    with _rejects("NotKeeper"):
        wd.submit(proof0, wd.block, sender=x)
    with _rejects("NotKeeper"):
        reg.submit_model_update(proof0.proof, wd.block + 1, 1, 1, sender=x)
    with _rejects("NotVenue"):
        reg.post_accounts_root(1, [0], sender=x)
    with _rejects("NotVenue"):
        reg.register_account(x, 20, sender=x)
    with _rejects("NotVenue"):                                   # the keeper is not the venue
        reg.post_accounts_root(1, [0], sender=wd.roles.keepers[0])
    governance_calls = [
        lambda s: reg.set_param_hash(1, sender=s), lambda s: reg.set_model_state(1, sender=s),
        lambda s: reg.set_margin_verifier(x, sender=s), lambda s: reg.set_model_verifier(x, sender=s),
        lambda s: reg.set_price_feeds(wd.dep.price_feeds, sender=s),
        lambda s: reg.set_venue(x, True, sender=s), lambda s: reg.set_keeper(x, True, sender=s),
        lambda s: reg.set_max_age(1, sender=s), lambda s: reg.set_max_price_age(1, sender=s),
        lambda s: reg.attest_model_update(1, 1, 1, sender=s),
    ]
    for call in governance_calls:
        for sender in (x, wd.roles.venue, wd.roles.keepers[0]):
            with _rejects("NotGovernance"):
                call(sender)


def test_revoked_keeper(fresh, proof0):
    wd = fresh
    wd.reg.set_keeper(wd.roles.keepers[0], False)
    with _rejects("NotKeeper"):
        wd.submit(proof0, wd.block)
    wd.reg.set_keeper(wd.roles.keepers[0], True)
    wd.submit(proof0, wd.block)


# ------------------------------------------------------------------ prices


def test_stale_and_bad_prices(fresh):
    wd = fresh
    feed = wd.w3.eth.contract(address=wd.dep.price_feeds[0], abi=_feed_abi())
    gov = wd.roles.governance
    blk = wd.w3.eth.block_number
    proof, _ = wd.model_proof(blk, GENESIS + 1, GENESIS + 2)   # made with the current prices
    now = wd.w3.eth.get_block("latest").timestamp
    wd.reg.set_max_price_age(100)
    wd.reg.tx.send(feed.functions.setRoundData(60_000 * 10**8, now - 50), gov)
    wd.reg.packed_prices()
    wd.reg.tx.send(feed.functions.setRoundData(60_000 * 10**8, now - 1000), gov)
    with _rejects("StalePrice"):
        wd.reg.packed_prices()
    with _rejects("StalePrice"):                                 # the model update reads the same
        wd.reg.submit_model_update(proof, blk, GENESIS + 2, wd.scenario)
    wd.reg.tx.send(feed.functions.setRoundData(60_000 * 10**8, now + 3600), gov)   # dated in the future
    with _rejects("StalePrice"):
        wd.reg.packed_prices()
    for bad in (0, -5):
        wd.reg.tx.send(feed.functions.setAnswer(bad), gov)
        with _rejects("BadPrice"):
            wd.reg.packed_prices()
    with _rejects("BadPrice"):
        wd.reg.submit_model_update(proof, blk, GENESIS + 2, wd.scenario)
    # Lane boundary: 2**50 - 1 micro-USD fits; 2**50 does not (8 decimals: x100).
    wd.reg.tx.send(feed.functions.setAnswer((2**50 - 1) * 100), gov)
    assert encoding.unpack_prices(wd.reg.packed_prices(), 3)[0] == 2**50 - 1
    wd.reg.tx.send(feed.functions.setAnswer(2**50 * 100), gov)
    with _rejects("BadPrice"):
        wd.reg.packed_prices()
    # A price that rounds down to 0 micro-USD.
    wd.reg.tx.send(feed.functions.setAnswer(99), gov)
    with _rejects("BadPrice"):
        wd.reg.packed_prices()


def test_wrong_feed_count(fresh):
    with _rejects("WrongFeedCount"):
        fresh.reg.set_price_feeds(fresh.dep.price_feeds[:2])


# ------------------------------------------------------------------ python preflight


def test_preflight_names_the_problem(fresh, proof0, tmp_path):
    wd = fresh
    d = proof0.write(tmp_path / "batch")
    accounts = list(wd.accounts)
    accounts[3] = replace(accounts[3], salt=3)
    wd.reg.post_accounts_root(wd.root(accounts), [3])
    with pytest.raises(SubmissionError, match="accounts root is not the current one"):
        submit_proof_dir(wd.reg, d)
    wd.revert()
    res = submit_proof_dir(wd.reg, d)
    assert (res["kind"], res["block"], res["group"], res["tiers"]) == ("margin", wd.block, 0, [3, 0])
    with pytest.raises(RegistryRevert, match="AlreadyRecorded"):
        submit_proof_dir(wd.reg, d)

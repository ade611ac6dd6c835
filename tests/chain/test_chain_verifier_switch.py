"""A verifier switch clears the model commitments (review F1), on anvil with real Groth16
PLACEHOLDER verifiers through the timelock.

New circuits may lay out a commitment's preimage differently, so a ``linCommitment`` or
``optCommitment`` proven by the old circuits must never be opened by the new ones. After
``setMarginVerifier`` or ``setModelVerifiers`` the registry holds no commitment and no option
chain in progress (``ModelCommitmentsCleared``), and a margin batch is refused
``NoModelCommitment`` even when the new verifier itself accepts its proof (cross-check: the
verifier's own ``verifyProof`` says true, so the refusal is the registry's). Recorded tiers stay
stored but invalid; a fresh revaluation and option chain under the new verifiers re-open
margin batches. The keeper's view (``Registry.model``) agrees at each point.
"""
from __future__ import annotations

import pytest

from calcm.chain import encoding, governance
from calcm.chain.transact import deploy_contract

from .helpers import rejects

pytestmark = pytest.mark.slow


def _redeploy(wd, kind: str) -> str:
    """A second deployment of ``kind``'s verifier: the same keys, so old proofs still verify
    (the worst case of a new circuit: it accepts a proof over an old commitment)."""
    addr, _ = deploy_contract(wd.w3, wd.arts[kind], wd.roles.governance)
    return addr


def _cleared(wd, receipt) -> tuple[int, int, int]:
    (ev,) = wd.reg.contract.events.ModelCommitmentsCleared().process_receipt(receipt)
    return ev["args"]["linCommitment"], ev["args"]["optCommitment"], ev["args"]["modelVersion"]


def test_margin_verifier_switch_clears_the_commitments(ready):
    wd = ready
    wd.submit(wd.batch(0, [0, 3]))
    before = wd.reg.model()
    assert before.usable and wd.reg.f.isLiquidatable(wd.owners[1]).call()
    new = _redeploy(wd, "margin")
    r = governance.enact(wd.reg, wd.reg.f.setMarginVerifier(new))
    m = wd.reg.model()
    assert _cleared(wd, r) == (before.lin_commitment, before.opt_commitment, m.version)
    assert m.version == before.version + 1 and m.state == before.state
    assert (m.lin_commitment, m.opt_commitment, m.opt_state, m.opt_prices_at, m.usable) == (0, 0, 0, 0, False)
    assert wd.reg.record(0)["tiers"] == [0, 3]                       # the record stays stored,
    assert not any(wd.reg.health(o)["valid"] for o in wd.owners[:2])  # but no longer gates
    assert not wd.reg.f.isLiquidatable(wd.owners[1]).call()
    # A batch over the OLD commitments, proven for the new verifier (same keys): the verifier
    # accepts it, the registry does not.
    proof, block, _, group, packed = wd.batch(0, [3, 3], lin=before.lin_commitment,
                                              opt=before.opt_commitment)
    signals = [wd.root, before.lin_commitment, before.opt_commitment, wd.reg.context(block), packed]
    verifier = wd.w3.eth.contract(address=new, abi=wd.arts["margin"].abi)
    assert verifier.functions.verifyProof(*encoding.solidity_proof(proof), signals).call()
    with rejects(r"NoModelCommitment\(%d,\)" % m.version):
        wd.submit((proof, block, m.version, group, packed))
    # Fresh model proofs under the (unchanged) model verifiers re-open margin batches.
    wd.post_all([60_000.0, 3_000.0, 1.0], wd.w3.eth.get_block("latest").timestamp)
    wd.reval(0x2222)
    with rejects("OptionsStale"):                                    # options not yet re-proven
        wd.submit(wd.batch(0, [0, 0]))
    wd.options(base=0x0A71)
    assert wd.reg.model().usable
    wd.submit(wd.batch(0, [0, 0]))
    assert wd.reg.health(wd.owners[1])["valid"] and not wd.reg.f.isLiquidatable(wd.owners[1]).call()


def test_model_verifier_switch_clears_the_option_chain(ready):
    wd = ready
    wd.option_part(0, 0x0B00)                                        # a new chain, half done
    assert wd.reg.pending_options()["next_part"] == 1
    lin, opt = wd.reg.model().lin_commitment, wd.reg.model().opt_commitment
    step, reval, option = (_redeploy(wd, k) for k in ("step", "reval", "option"))
    r = governance.enact(wd.reg, wd.reg.f.setModelVerifiers(step, reval, option))
    assert _cleared(wd, r)[:2] == (lin, opt)
    pend = wd.reg.pending_options()
    assert (pend["state"], pend["sponge"], pend["next_part"], pend["packed_prices"]) == (0, 0, 0, [])
    with rejects(r"OptionPartOutOfOrder\(1, 0\)"):
        wd.option_part(1, 0x0B01, prev=0x0B00, prices=wd.reg.packed_prices())
    with rejects("NoModelCommitment"):
        wd.submit(wd.batch(0, [0, 0], lin=lin, opt=opt))
    wd.post_all([60_000.0, 3_000.0, 1.0], wd.w3.eth.get_block("latest").timestamp)
    wd.reval(0x3333)
    wd.options(base=0x0C00)
    wd.submit(wd.batch(0, [0, 0]))
    assert wd.reg.health(wd.owners[0])["valid"]

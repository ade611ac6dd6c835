"""The keeper never sends what the registry would reject: every submission path (daily step,
revaluation, option part, margin batch) runs an ``eth_call`` first, and a refusal sends
nothing: no transaction lands, no revert is mined, the keeper's nonce does not move, and the
store row is settled ``rejected`` with the custom error's name."""
from __future__ import annotations

import pytest

from calcm.chain.registry import Registry, RegistryRevert
from calcm.keeper.jobs import BlockReport, Job
from calcm.keeper.proving import ProofOut
from calcm.keeper.store import margin_key, option_key, reval_key, step_key

#: A well-formed Groth16 proof that verifies nothing (curve generator points).
FORGED = {"protocol": "groth16", "pi_a": ["1", "2", "1"],
          "pi_b": [["1", "0"], ["0", "1"], ["1", "0"]], "pi_c": ["1", "2", "1"]}


class RecordingTx:
    """A Transactor stand-in: records calls and sends, refuses every eth_call."""

    def __init__(self):
        self.log = []

    def call(self, fn, sender=None):
        self.log.append(("call", fn.fn_name))
        raise RegistryRevert("MarginRegistry__InvalidProof", ())

    def send(self, fn, sender, gas=None):
        self.log.append(("send", fn.fn_name))


@pytest.mark.parametrize("submit, name", [
    (lambda r: r.submit_model_step(FORGED, 1, [1, 1], 2, 3), "submitModelStep"),
    (lambda r: r.submit_model_reval(FORGED, 1, 3), "submitModelReval"),
    (lambda r: r.submit_option_part(FORGED, 0, 3), "submitOptionPart"),
    (lambda r: r.submit_margin_batch(FORGED, 1, 1, 0, 5), "submitMarginBatch"),
])
def test_every_submit_method_calls_before_it_sends(submit, name):
    from web3 import Web3

    from calcm.chain.contracts import REGISTRY, compile_registry
    from calcm.chain.registry import Roles
    w3 = Web3()
    reg = Registry(w3, "0x" + "11" * 20, compile_registry()[REGISTRY].abi,
                   Roles("0x" + "22" * 20, "0x" + "33" * 20, ("0x" + "44" * 20,)))
    reg.tx = RecordingTx()
    with pytest.raises(RegistryRevert):
        submit(reg)
    assert reg.tx.log == [("call", name)]          # refused at the eth_call: never sent


@pytest.mark.slow
def test_would_revert_submissions_are_not_sent(make_world, make_keeper):
    world = make_world(days=1)
    keeper = make_keeper(world)
    w3, reg, store = world.w3, world.reg, keeper.store
    head = w3.eth.block_number
    nonce = w3.eth.get_transaction_count(reg.keeper)
    day = int(reg.f.day().call())
    rounds = [1] * world.model.params.n_assets
    jobs = [
        # the next day's step, before its close exists and with a forged proof
        Job("step", step_key(day + 1), "", (), head,
            {"day": day + 1, "rounds": rounds, "new_state": 7, "lin": 11}),
        Job("reval", reval_key(day, rounds), "", (), head, {"day": day, "rounds": rounds, "lin": 11}),
        Job("option", option_key(day, rounds, 0), "", (), head,
            {"state": 5, "part": 0, "next": 13}),
        Job("margin", margin_key(1, 0, 1), "", (), head, {"version": 1}, 0, 1),
    ]
    rep = BlockReport(head, "")
    for job in jobs:
        store.open_submission(job.key, job.kind, job.block, job.group, job.root_version)
        public = [0] * 8
        assert keeper._submit_one(job, ProofOut(FORGED, public), rep) == "failed", job.key
        row = store.submission(job.key)
        assert row.status == "rejected" and row.tx_hash is None, row
        assert row.error.startswith("MarginRegistry__"), row.error
    # nothing was broadcast: no block, no transaction, no mined revert
    assert w3.eth.block_number == head
    assert w3.eth.get_transaction_count(reg.keeper) == nonce
    assert [s["status"] for s in rep.submissions] == ["rejected"] * 4

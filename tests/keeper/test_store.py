"""The keeper's SQLite state: durable across reopen, bound to one deployment, keyed submissions."""
from __future__ import annotations


import pytest

from calcm.errors import InputError
from calcm.keeper.store import Store, margin_key, option_key, reval_key, step_key


def test_state_survives_reopen(tmp_path):
    path = tmp_path / "k.sqlite"
    with Store(path) as s:
        s.bind(chain_id="31337", registry="0xabc")
        s.record_blocks([(5, "0x05", "coalesced", "covered by block 7"), (6, "0x06", "coalesced", None)])
        s.record_block(7, "0x07", "processed", report={"proven": 2})
        s.open_submission(margin_key(7, 1, 3), "margin", 7, 1, 3)
        s.update_submission(margin_key(7, 1, 3), "sending")
        s.put_state(123, {"step": 1}, parent=99, prices=[1, 2], rounds=[4, 5])
    with Store(path) as s:
        assert s.last_block() == 7 and s.block_hash(6) == "0x06"
        assert [b["status"] for b in s.blocks()] == ["coalesced", "coalesced", "processed"]
        sub = s.submission("margin:7:1:3")
        assert (sub.status, sub.attempts, sub.group, sub.root_version) == ("sending", 1, 1, 3)
        st = s.get_state(123)
        assert (st.parent, st.prices, st.rounds) == (99, [1, 2], [4, 5])


def test_bound_to_one_deployment(tmp_path):
    path = tmp_path / "k.sqlite"
    with Store(path) as s:
        s.bind(chain_id="31337", registry="0xabc")
        s.bind(chain_id="31337", registry="0xabc")  # same: fine
    with Store(path) as s:
        with pytest.raises(InputError, match="registry.*0xabc"):
            s.bind(chain_id="31337", registry="0xdef")


def test_open_submission_is_idempotent(tmp_path):
    with Store(tmp_path / "k.sqlite") as s:
        k = step_key(19_373)
        s.open_submission(k, "step", 9)
        s.update_submission(k, "mined", tx_hash="0x1", gas_used=100, receipt_block=10)
        again = s.open_submission(k, "step", 9)    # a re-run must not reset a settled key
        assert again.status == "mined" and again.gas_used == 100
        assert s.counts()["submissions"] == {"step": {"mined": 1}} and s.counts()["gas_used"] == 100


def test_keys_name_what_the_registry_accepts_once():
    assert step_key(19_373) == "step:19373"
    assert reval_key(19_373, (4, 7)) == "reval:19373:4-7"
    assert option_key(19_373, (4, 7), 2) == "option:19373:4-7:2"
    assert margin_key(12, 0, 3) == "margin:12:0:3"
    assert margin_key(12, 0, 3, 99) == "margin:12:0:3:99"      # a refresh at block 99


def test_reorg_rollback(tmp_path):
    with Store(tmp_path / "k.sqlite") as s:
        for n in range(10, 15):
            s.record_block(n, f"0x{n}", "processed")
        s.open_submission("margin:12:0:1", "margin", 12, 0, 1)
        s.update_submission("margin:12:0:1", "mined", receipt_block=13, receipt_hash="0xr")
        assert s.forget_blocks_after(12) == 2 and s.last_block() == 12
        assert [x.key for x in s.reorged_submissions_after(12)] == ["margin:12:0:1"]
        assert s.reorged_submissions_after(13) == []


def test_bad_status_and_bad_file(tmp_path):
    with Store(tmp_path / "k.sqlite") as s:
        with pytest.raises(ValueError):
            s.record_block(1, "0x", "done")
        s.open_submission("step:1", "step", 1)
        with pytest.raises(ValueError):
            s.update_submission("step:1", "finished")
    bad = tmp_path / "not.sqlite"
    bad.write_bytes(b"this is not a database, just text " * 100)
    with pytest.raises(InputError, match="not a keeper state database"):
        Store(bad)

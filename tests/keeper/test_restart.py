"""Reliability of `calcm keeper` as a process: killed mid-block (SIGKILL right after a
submission is mined, before the keeper records it) and restarted; the RPC node restarted
under it. Checked against the chain's events and the SQLite state."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from distributed import LocalCluster

from calcm.chain.anvil import Anvil
from calcm.keeper.loop import FAULT_ENV
from calcm.keeper.store import Store

from .conftest import keeper_events, write_keeper_inputs

pytestmark = pytest.mark.slow
CALCM = str(Path(sys.executable).with_name("calcm"))


def keeper_cmd(world, files, state: Path, *extra: str) -> list[str]:
    return [CALCM, "keeper", "--rpc", world.node.url, "--deployment", str(files["deployment"]),
            "--model", str(files["model"]), "--book", str(files["book"]), "--state", str(state),
            "--threads", "--workers", "1", "--json", "--poll", "0.2", *extra]


def run_keeper(cmd, env=None, timeout=600) -> tuple[int, list[dict]]:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return proc.returncode, events


def check_chain_and_state(world, state: Path, first_block: int) -> dict:
    """No duplicate submission and no lost block, from the chain and from SQLite."""
    ev = keeper_events(world.w3, world.reg, first_block)
    keys = [(e.args.blockNo, e.args.group, e.args.rootVersion) for e in ev["batches"]]
    assert len(keys) == len(set(keys))
    assert all(status == 1 for _, status in ev["keeper_txs"]), ev["keeper_txs"]
    # Every keeper transaction is one recorded proof: nothing was sent twice.
    assert len(ev["keeper_txs"]) == len(ev["models"]) + len(ev["batches"])
    with Store(state) as s:
        mined = s.submissions("mined")
        assert sorted(m.tx_hash for m in mined) == sorted(h for h, _ in ev["keeper_txs"])
        assert not s.submissions("sending") and not s.submissions("proving")
        numbers = [b["number"] for b in s.blocks()]
        assert numbers == list(range(numbers[0], numbers[-1] + 1))
    return ev


def test_killed_mid_block_and_restarted(make_world, tmp_path):
    world = make_world(days=2, groups=2)
    files = write_keeper_inputs(world, tmp_path)
    state = tmp_path / "keeper.sqlite"
    first = world.w3.eth.block_number + 1
    world.replayer.publish(world.days[0].prices)

    # Send 1 is the model update, send 2 the first batch: killed once it is mined.
    code, events = run_keeper(keeper_cmd(world, files, state, "--blocks", "1"),
                              {FAULT_ENV: "kill-after-send:2"})
    assert code == -signal.SIGKILL
    ev = keeper_events(world.w3, world.reg, first)
    assert len(ev["models"]) == 1 and len(ev["batches"]) == 1
    with Store(state) as s:
        open_rows = s.submissions("sending")
        assert len(open_rows) == 1 and open_rows[0].kind == "margin"   # mined, not yet recorded
        assert s.last_block() is None                                 # the block did not finish

    # Restarted: the open row is settled from the chain, the rest of the block is proven.
    code, events = run_keeper(keeper_cmd(world, files, state, "--blocks", "1"))
    assert code == 0, events
    found = [e for e in events if e["event"] == "submission" and e.get("detail") == "found on chain"]
    assert [e["key"] for e in found] == [open_rows[0].key]
    ev = keeper_events(world.w3, world.reg, first)
    assert {e.args.group for e in ev["batches"]} == {0, 1}

    # And it carries on with the next block, given the registry's address alone this time
    # (roles from the chain, builds from the cache), proving on an existing dask cluster.
    world.replayer.publish(world.days[1].prices)
    metrics = tmp_path / "keeper.prom"
    cmd = keeper_cmd(world, files, state, "--blocks", "1", "--metrics", str(metrics))
    i = cmd.index("--deployment")
    cmd[i:i + 2] = ["--registry", world.reg.address]
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                      host="127.0.0.1", dashboard_address="127.0.0.1:0") as cluster:
        code, events = run_keeper(cmd + ["--scheduler", cluster.scheduler_address])
    assert events[0]["event"] == "start" and events[0]["scheduler"] == cluster.scheduler_address
    assert code == 0 and any(e["event"] == "block" and e["model"] == "prove" for e in events)
    text = metrics.read_text()
    assert "# TYPE calcm_keeper_submissions_total counter" in text
    assert 'calcm_keeper_proofs_total{kind="model"} 1' in text
    ev = check_chain_and_state(world, state, first)
    assert len(ev["models"]) == 2


class StatefulAnvil(Anvil):
    """anvil that dumps its state on exit and loads it at start (same blocks, same hashes)."""

    def __init__(self, state_file: Path, **kw):
        super().__init__(**kw)
        self.state_file = state_file

    def command(self) -> list[str]:
        return super().command() + ["--state", str(self.state_file)]


def test_rpc_node_restarted_under_the_keeper(make_world, tmp_path):
    node = StatefulAnvil(tmp_path / "anvil-state.json").start()
    world = make_world(days=2, node=node)
    files = write_keeper_inputs(world, tmp_path)
    state = tmp_path / "keeper.sqlite"
    first = world.w3.eth.block_number + 1
    world.replayer.publish(world.days[0].prices)

    proc = subprocess.Popen(keeper_cmd(world, files, state, "--idle-exit", "120"),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    events: list[dict] = []

    def read():
        for line in proc.stdout:
            if line.startswith("{"):
                events.append(json.loads(line))
    reader = threading.Thread(target=read, daemon=True)
    reader.start()

    def wait_for(pred, timeout=400):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(pred(e) for e in list(events)):
                return
            assert proc.poll() is None, events
            time.sleep(0.2)
        raise AssertionError(f"timed out; events: {events[-5:]}")

    try:
        wait_for(lambda e: e["event"] == "block" and e["model"] == "prove")
        node.stop()                                   # the node goes away ...
        wait_for(lambda e: e["event"] == "retry", timeout=60)
        time.sleep(1.0)
        node.start()                                  # ... and comes back on the same port
        world.replayer.publish(world.days[1].prices)
        wait_for(lambda e: e["event"] == "block" and e["model"] == "prove"
                 and e["block"] > world.w3.eth.block_number - 10 and e["gas_used"] > 0
                 and e["block"] != next(x["block"] for x in events if x["event"] == "block"))
    finally:
        proc.send_signal(signal.SIGTERM)              # a graceful stop: finish, then exit
        proc.wait(timeout=120)
        reader.join(timeout=5)
    assert proc.returncode == 0
    assert events[-1]["event"] == "stop"
    assert not [e for e in events if e["event"] == "reorg"]   # same chain after the restart
    ev = check_chain_and_state(world, state, first)
    assert len(ev["models"]) == 2

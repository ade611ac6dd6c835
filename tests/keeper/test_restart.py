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

from calcm.keeper.demo import DatedAnvil
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
    keys = [(e.args.blockNo, e.args.group, e.args.rootVersion, e.args.modelVersion)
            for e in ev["MarginBatchRecorded"]]
    assert len(keys) == len(set(keys))
    parts = [(e.args.state, e.args.part, e.args.nextSponge) for e in ev["OptionPartProven"]]
    assert len(parts) == len(set(parts))
    assert all(status == 1 for _, status in ev["keeper_txs"]), ev["keeper_txs"]
    # Every keeper transaction is one recorded proof: nothing was sent twice.
    assert len(ev["keeper_txs"]) == ev["proofs"]
    with Store(state) as s:
        mined = s.submissions("mined")
        assert sorted(m.tx_hash for m in mined) == sorted(h for h, _ in ev["keeper_txs"])
        assert not s.submissions("sending") and not s.submissions("proving")
        numbers = [b["number"] for b in s.blocks()]
        assert numbers == list(range(numbers[0], numbers[-1] + 1))
    return ev


@pytest.mark.bench  # the kill schedule (`calcm bench keeper --kills`) covers kill -9 at every phase: `make test-bench`
def test_killed_mid_block_and_restarted(make_world, tmp_path):
    world = make_world(days=2)
    files = write_keeper_inputs(world, tmp_path)
    state = tmp_path / "keeper.sqlite"
    first = world.w3.eth.block_number + 1

    # At genesis: send 1 is the revaluation, send 2 option part 0: killed once it is mined.
    code, events = run_keeper(keeper_cmd(world, files, state, "--blocks", "1"),
                              {FAULT_ENV: "kill-after-send:2"})
    assert code == -signal.SIGKILL, events
    ev = keeper_events(world.w3, world.reg, first)
    assert len(ev["ModelRevalued"]) == 1 and len(ev["OptionPartProven"]) == 1
    assert not ev["MarginBatchRecorded"]
    with Store(state) as s:
        open_rows = s.submissions("sending")
        assert len(open_rows) == 1 and open_rows[0].kind == "option"  # mined, not yet recorded
        assert s.last_block() is None                                 # the block did not finish
        proved = {r.key for r in s.submissions("proved")}

    # Restarted: the open row is settled from the chain; the chain is resumed at part 1 with
    # the stored proof, then every group is proven.
    code, events = run_keeper(keeper_cmd(world, files, state, "--blocks", "1"))
    assert code == 0, events
    found = [e for e in events if e["event"] == "submission" and e.get("detail") == "found on chain"]
    assert [e["key"] for e in found] == [open_rows[0].key]
    ev = keeper_events(world.w3, world.reg, first)
    assert len(ev["OptionsRevalued"]) == 1 and len(ev["ModelRevalued"]) == 1
    assert {e.args.group for e in ev["MarginBatchRecorded"]} == {0, 1}
    with Store(state) as s:
        assert {r.key for r in s.submissions("mined")} >= proved   # reused, not re-proven

    # And it carries on with the next day's close, given the registry's address and a builds
    # file this time (roles from the chain), proving on an existing dask cluster.
    world.publish_close(0)
    metrics = tmp_path / "keeper.prom"
    builds = tmp_path / "builds.json"
    builds.write_text(json.dumps(world.builds.dirs()))
    cmd = keeper_cmd(world, files, state, "--blocks", "1", "--metrics", str(metrics),
                     "--builds", str(builds))
    i = cmd.index("--deployment")
    cmd[i:i + 2] = ["--registry", world.reg.address]
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                      host="127.0.0.1", dashboard_address="127.0.0.1:0") as cluster:
        code, events = run_keeper(cmd + ["--scheduler", cluster.scheduler_address])
    assert events[0]["event"] == "start" and events[0]["scheduler"] == cluster.scheduler_address
    assert code == 0 and any(e["event"] == "block" and e["model"][:1] == [f"step:{world.genesis_day + 1}"]
                             for e in events), events
    text = metrics.read_text()
    assert "# TYPE calcm_keeper_submissions_total counter" in text
    assert 'calcm_keeper_proofs_total{kind="step"} 1' in text
    ev = check_chain_and_state(world, state, first)
    assert len(ev["ModelStepped"]) == 1


class StatefulAnvil(DatedAnvil):
    """A dated anvil that dumps its state on exit and loads it at start (same blocks, hashes)."""

    def __init__(self, timestamp: int, state_file: Path, **kw):
        super().__init__(timestamp, **kw)
        self.state_file = state_file

    def command(self) -> list[str]:
        return super().command() + ["--state", str(self.state_file)]


def test_rpc_node_restarted_under_the_keeper(make_world, tmp_path):
    world = make_world(days=2, node_factory=lambda ts: StatefulAnvil(ts, tmp_path / "anvil.json"))
    node = world.node
    files = write_keeper_inputs(world, tmp_path)
    state = tmp_path / "keeper.sqlite"
    first = world.w3.eth.block_number + 1

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
        wait_for(lambda e: e["event"] == "block" and e["model"] == ["reval", "options"])
        node.stop()                                   # the node goes away ...
        wait_for(lambda e: e["event"] == "retry", timeout=60)
        time.sleep(1.0)
        node.start()                                  # ... and comes back on the same port
        world.publish_close(0)
        wait_for(lambda e: e["event"] == "block" and e["model"][:1] == [f"step:{world.genesis_day + 1}"]
                 and e["gas_used"] > 0)
    finally:
        proc.send_signal(signal.SIGTERM)              # a graceful stop: finish, then exit
        proc.wait(timeout=120)
        reader.join(timeout=5)
    assert proc.returncode == 0
    assert events[-1]["event"] == "stop"
    assert not [e for e in events if e["event"] == "reorg"]   # same chain after the restart
    ev = check_chain_and_state(world, state, first)
    assert len(ev["ModelStepped"]) == 1 and len(ev["ModelRevalued"]) == 1

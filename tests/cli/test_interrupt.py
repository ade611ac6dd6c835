"""Ctrl-C in the middle of setup and of proving, then a rerun: no partial artifact, clean rerun.

Ctrl-C is emulated as a terminal does it: SIGINT to the whole foreground process group
(calcm and its node/circom children). Slow-marked: a real (small) Groth16 setup and proof.
"""
from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CALCM = str(Path(sys.executable).parent / "calcm")


def _foreground_signals() -> None:
    """In the child: SIGINT at its default and unblocked, as a terminal starts a foreground job.
    A test session launched as a background job (e.g. `make test &` in a script) inherits SIGINT
    ignored, and exec keeps an ignored signal ignored: the child would never see the Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _interrupt_when(cmd: list[str], ready, timeout: float = 120.0) -> subprocess.CompletedProcess:
    """Run ``cmd`` in its own process group; SIGINT the group once ``ready()`` is true.

    The poll runs with the garbage collector off: in a full test session this process holds a
    large heap, and a collection pause can outlast the child's whole interruptible window."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True, preexec_fn=_foreground_signals)
    t0 = time.monotonic()
    gc.disable()
    try:
        while not ready() and p.poll() is None and time.monotonic() - t0 < timeout:
            time.sleep(0.01)
        assert p.poll() is None, f"finished before the interrupt point: {p.communicate()}"
        os.killpg(p.pid, signal.SIGINT)
    finally:
        gc.enable()
    out, err = p.communicate(timeout=60)
    return subprocess.CompletedProcess(cmd, p.returncode, out, err)


def _leftovers(parent: Path, name: str) -> list[str]:
    return sorted(str(x) for x in parent.iterdir() if x.name.startswith(f".{name}."))


def test_ctrl_c_during_setup_then_rerun(tmp_path):
    """The dev setup is interruptible for under a second. An interrupt that lands only once the
    build is published (the run exits 0) must leave that build whole; then try again, up to 3 times."""
    for attempt in range(3):
        build = tmp_path / f"b{attempt}"
        cmd = [CALCM, "setup", "--config", "small", "--mode", "dev", "--build", str(build), "--json"]
        res = _interrupt_when(cmd, lambda name=build.name: bool(_leftovers(tmp_path, name)))
        if res.returncode != 0:
            break
        assert (build / "manifest.json").exists() and not _leftovers(tmp_path, build.name)
    assert res.returncode == 130, (res.returncode, res.stderr)
    assert "Traceback" not in res.stderr
    assert res.stderr.strip().splitlines()[-1] == "calcm: error: interrupted"
    assert not build.exists() and not _leftovers(tmp_path, build.name), "partial build left behind"
    again = subprocess.run(cmd, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert (build / "manifest.json").exists()


PROVE = """
import random, sys
sys.path.insert(0, {tests!r})
from zk.test_margin_v2 import random_account, random_model
from calcm.zk.setup import cached_build
from calcm.zk.prove import prove_accounts
b = cached_build("small")
rng = random.Random(7)
model = random_model(b.config, rng)
accounts = [random_account(b.config, rng) for _ in range(b.config.capacity)]   # every leaf: 8 batches
prove_accounts(b, model, accounts, [f"a{{i}}" for i in range(len(accounts))], {out!r})
print("done")
"""


def test_ctrl_c_during_proving_then_rerun(tmp_path):
    """What `calcm prove` runs (zk.prove.prove_accounts), interrupted after its first batch (of 8,
    so the rest leaves a wide window on a loaded machine)."""
    from calcm.zk.config import SMALL
    from calcm.zk.setup import cached_build
    cached_build("small")                                   # set up outside the interrupted run
    out = tmp_path / "proofs"
    tests = str(Path(__file__).resolve().parents[1])
    cmd = [sys.executable, "-c", PROVE.format(tests=tests, out=str(out))]

    def first_batch_written():
        return any(tmp_path.glob(".proofs*/group-0000/proof.json"))
    res = _interrupt_when(cmd, first_batch_written)
    assert res.returncode != 0 and "done" not in res.stdout
    assert not out.exists(), "a partial proof directory was published"
    assert not _leftovers(tmp_path, "proofs"), sorted(map(str, tmp_path.iterdir()))
    again = subprocess.run(cmd, capture_output=True, text=True)
    assert again.returncode == 0 and "done" in again.stdout, again.stderr
    assert sorted(p.name for p in out.glob("group-*")) == [f"group-{g:04d}" for g in range(SMALL.capacity // SMALL.N)]

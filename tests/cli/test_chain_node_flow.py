"""The docs/CHAIN.md operator flow outside the demo, on a persistent `calcm chain node`:
deploy --rpc, post-root, status; the deployment writes only under its --out directory."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from calcm.chain.contracts import GENERATED
from calcm.paths import DEFAULT_BOOK

pytestmark = pytest.mark.slow

CALCM = str(Path(sys.executable).parent / "calcm")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _calcm(*args) -> dict:
    res = subprocess.run([CALCM, *map(str, args), "--json"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_node_deploy_post_root_status(tmp_path):
    from calcm.zk.setup import cached_build
    build = cached_build("small")
    book = json.loads(DEFAULT_BOOK.read_text())
    book["accounts"] = book["accounts"][:3]                 # fits the small tree (16 leaves)
    (tmp_path / "book.json").write_text(json.dumps(book))
    before = {p: p.stat().st_mtime for p in GENERATED.rglob("*")}

    node = subprocess.Popen([CALCM, "chain", "node", "--port", str(_free_port()), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        rpc = json.loads(node.stdout.readline())["rpc"]
        out = tmp_path / "run" / "deployment.json"
        dep = _calcm("chain", "deploy", "--rpc", rpc, "--build", build.dir, "--out", out)
        assert dep["embedded"] is False and out.exists()
        assert (tmp_path / "run" / "verifiers" / "manifest.json").exists()
        posted = _calcm("chain", "post-root", "--book", tmp_path / "book.json", "--register",
                        "--deployment", out)
        assert posted["root_version"] == 1 and len(posted["registered"]) == 3
        st = _calcm("chain", "status", posted["registered"][0]["owner"], "--deployment", out)
        assert str(st["registry"]["accounts_root"]) == posted["root"]
        assert st["registry"]["root_version"] == 1
        # No proof yet for this root: the fail-safe gating says no withdrawal, no liquidation.
        assert st["account"]["can_withdraw"] is False and st["account"]["liquidatable"] is False
        # Deployment files only under --out's directory: the tracked generated dir is untouched.
        assert {p: p.stat().st_mtime for p in GENERATED.rglob("*")} == before
    finally:
        node.send_signal(signal.SIGTERM)
        node.wait(timeout=30)
    assert node.returncode == 0 or node.returncode == -signal.SIGTERM


def test_embedded_deploy_says_it_dies(tmp_path):
    from calcm.zk.setup import cached_build
    build = cached_build("small")
    res = subprocess.run([CALCM, "chain", "deploy", "--build", str(build.dir), "--out",
                          str(tmp_path / "d.json"), "--json"], capture_output=True, text=True,
                         env={**os.environ})
    assert res.returncode == 0, res.stderr
    assert "embedded anvil that exits" in res.stderr and json.loads(res.stdout)["embedded"] is True

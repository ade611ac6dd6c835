"""Prometheus text of the keeper's metrics: format, atomic file, loopback endpoint."""
from __future__ import annotations

import urllib.request

from calcm.keeper.metrics import Metrics


def test_text_file_and_endpoint(tmp_path):
    m = Metrics(tmp_path / "keeper.prom")
    m.inc("calcm_keeper_blocks_total", status="processed")
    m.inc("calcm_keeper_blocks_total", 2, status="processed")
    m.inc("calcm_keeper_blocks_total", status="skipped")
    m.set("calcm_keeper_last_block", 42)
    m.write()
    text = (tmp_path / "keeper.prom").read_text()
    assert text.splitlines()[:5] == [
        "# HELP calcm_keeper_blocks_total Blocks accounted for, by status.",
        "# TYPE calcm_keeper_blocks_total counter",
        'calcm_keeper_blocks_total{status="processed"} 3',
        'calcm_keeper_blocks_total{status="skipped"} 1',
        "# HELP calcm_keeper_last_block Highest block number accounted for."]
    assert "calcm_keeper_last_block 42" in text and "gas_used" not in text  # unset: not exported
    port = m.serve(0)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            assert r.status == 200 and r.read().decode() == m.text()
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/other", timeout=5)
            raise AssertionError("expected 404")
        except urllib.error.HTTPError as exc:
            assert exc.code == 404
    finally:
        m.close()

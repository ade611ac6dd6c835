"""``calcm bench book --workers``: the option reaches the benchmark, and the JSON labels the key
load apart from the steady-state proving time. The benchmark itself proves the bundled book at
S = 534 (minutes: ``make test-bench`` territory), so it is replaced here by a stub that records
its settings; tests/zk/test_prove_workers.py proves that workers > 1 publishes the same proofs.
"""
from __future__ import annotations

import json

from click.testing import CliRunner

from calcm.bench import book as bench_book_mod
from calcm.cli import main


def _run(monkeypatch, *args):
    seen = {}

    def fake(settings, say):
        seen["settings"] = settings
        return {"matches_margin": True, "verifiers": {"snarkjs": True}, "workers": settings.workers,
                "key_load_seconds": 1.0, "prove_seconds": 2.0}

    monkeypatch.setattr(bench_book_mod, "bench_book", fake)
    res = CliRunner().invoke(main, ["bench", "book", "--json", *args])
    return res, seen


def test_workers_default_and_override(monkeypatch):
    res, seen = _run(monkeypatch)
    assert res.exit_code == 0, res.output
    assert seen["settings"].workers == 2
    res, seen = _run(monkeypatch, "--workers", "3")
    assert res.exit_code == 0, res.output
    assert seen["settings"].workers == 3 and json.loads(res.output)["workers"] == 3


def test_bad_workers_is_a_one_line_error(monkeypatch):
    for bad in ("0", "-1", "two"):
        res, seen = _run(monkeypatch, "--workers", bad)
        assert res.exit_code == 2 and not seen
        lines = [line for line in res.output.splitlines() if line.strip()]
        assert len(lines) == 1 and "--workers" in lines[0] and "Traceback" not in res.output

"""``prove_accounts(..., workers=2)``: the groups proven on two threads sharing one key.

Concurrency must not change what is published: the same files, the same summary and the
same public signals as ``workers=1`` (only the measured seconds and the randomised Groth16
proof points and so the length of proof.json differ), every proof accepted by snarkjs and the py_ecc verifier, and nothing
published (an existing output left as it was, no temp dir left) when one batch fails.
Shape: the small margin shape in dev mode (8k constraints, well under a second a proof),
cached by source hash like every build.
"""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from calcm.paths import cache_dir
from calcm.risk.fixed_margin import margin_fx
from calcm.zk import prove as P
from calcm.zk.config import SMALL
from calcm.zk.prove import ContextInfo, prove_accounts
from calcm.zk.setup import setup
from calcm.zk.synthetic import random_account, random_model
from calcm.zk.verify import verify_path

pytest.importorskip("groth16py")
pytestmark = pytest.mark.slow

CTX = ContextInfo(block=9)


@pytest.fixture(scope="module")
def book():
    """The small dev build and five accounts: two groups of N = 2, the second one padded."""
    build, _ = setup(SMALL, cache_dir() / "builds" / "small-dev-test", mode="dev")
    rng = random.Random(12)
    model = random_model(build.config, rng)
    accounts = [random_account(build.config, rng, model) for _ in range(build.config.N + 1)]
    return build, model, accounts, [f"acct{i}" for i in range(len(accounts))]


def _files(d: Path) -> list[str]:
    return sorted(str(p.relative_to(d)) for p in d.rglob("*"))


#: What differs between any two runs: measured times and the size of the randomised proof's JSON.
NOISE = ("seconds", "proof_json_bytes")


def _same(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k not in NOISE}


def _json(p: Path) -> dict:
    return _same(json.loads(p.read_text()))


def test_two_workers_publish_what_one_worker_publishes(book, tmp_path):
    build, model, accounts, names = book
    one, two = tmp_path / "one", tmp_path / "two"
    s1 = prove_accounts(build, model, accounts, names, one, CTX, workers=1)
    s2 = prove_accounts(build, model, accounts, names, two, CTX, workers=2)
    assert len(s1["groups"]) == 2
    assert _same(s1) == _same(s2)
    assert _json(one / "summary.json") == _json(two / "summary.json")
    assert _files(one) == _files(two)
    for g in s1["groups"]:
        assert json.loads((one / g / "public.json").read_text()) == json.loads((two / g / "public.json").read_text())
        assert _json(one / g / "batch.json") == _json(two / g / "batch.json")
        assert (one / g / "verification_key.json").read_bytes() == (two / g / "verification_key.json").read_bytes()
    # Each account's proven tier is the reference's, in leaf order.
    assert [a["tier"] for a in s2["accounts"]] == [margin_fx(model, a).tier for a in accounts]
    results = verify_path(two, build.vkey_path)
    assert len(results) == 2 and all(r.ok and r.snarkjs_ok and r.pyecc_ok for r in results)


def test_a_failing_batch_publishes_nothing(book, tmp_path, monkeypatch):
    build, model, accounts, names = book
    out = tmp_path / "proofs"
    out.mkdir()
    (out / "old.txt").write_text("earlier run")
    real = P.write_batch

    def fail_on_group_1(*args, **kw):
        if args[3] == 1:
            raise RuntimeError("prover died on group 1")
        return real(*args, **kw)

    monkeypatch.setattr(P, "write_batch", fail_on_group_1)
    with pytest.raises(RuntimeError, match="group 1"):
        prove_accounts(build, model, accounts, names, out, CTX, workers=2)
    assert _files(out) == ["old.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proofs"]      # no temp dir left


def test_workers_must_be_positive(book, tmp_path):
    build, model, accounts, names = book
    with pytest.raises(ValueError, match="workers"):
        prove_accounts(build, model, accounts, names, tmp_path / "p", CTX, workers=0)
    assert not (tmp_path / "p").exists()

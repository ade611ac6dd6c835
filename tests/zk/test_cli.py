"""`calcm setup`, `calcm prove` and `calcm verify` end to end on the bundled fixtures."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from calcm.paths import FIXTURES
from calcm.risk.fixed_margin import margin_fx
from calcm.zk.prove import prove_accounts

from .test_margin_v2 import random_account, random_model

pytestmark = pytest.mark.slow

CALCM = [str(Path(sys.executable).parent / "calcm")]


def calcm(*args, check=True):
    res = subprocess.run(CALCM + [str(a) for a in args], capture_output=True, text=True)
    if check and res.returncode != 0:
        raise AssertionError(f"calcm {args} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
    return res


@pytest.fixture(scope="module")
def proofs(small_build, tmp_path_factory):
    """Two batches of the small structure (a synthetic model: the bundled book has another shape)."""
    import random
    out = tmp_path_factory.mktemp("cli") / "proofs"
    rng = random.Random(5)
    cfg = small_build.config
    model = random_model(cfg, rng)
    accounts = [random_account(cfg, rng) for _ in range(2 * cfg.N)]
    summary = prove_accounts(small_build, model, accounts, [f"acc{i}" for i in range(len(accounts))], out)
    return out, summary, model, accounts


def test_setup_reuses_an_up_to_date_build(small_build):
    got = json.loads(calcm("setup", "--build", small_build.dir, "--json").stdout)
    assert got["reused"] is True
    assert got["constraints"] == small_build.constraints <= 2**13 - 5
    assert got["zkey_sha256"] == small_build.manifest["zkey"]["sha256"]
    assert got["dev_only"] is True


def test_prove_writes_reference_tiers(proofs, small_build):
    out, summary, model, accounts = proofs
    assert [a["tier"] for a in summary["accounts"]] == [margin_fx(model, a).tier for a in accounts]
    assert len(summary["groups"]) == -(-len(accounts) // small_build.config.N)
    for g in summary["groups"]:
        batch = json.loads((out / g / "batch.json").read_text())
        assert batch["public_signals"]["accountsRoot"] == summary["accounts_root"]
        assert batch["public_signals"]["linCommitment"] == summary["lin_commitment"]
        # Nothing private is written: no witness, no positions.
        assert not list((out / g).glob("*.wtns"))
        assert "qty" not in json.dumps(batch) and "salt" not in json.dumps(batch)


def test_prove_rejects_a_circuit_that_cannot_hold_the_model(small_build, tmp_path):
    """The bundled book's published model (534 scenarios) does not fit the small circuit: one line."""
    res = calcm("prove", "--build", small_build.dir, "--out", tmp_path / "never", check=False)
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2 and len(lines) == 1
    # Either misfit is named: 534 scenarios, or (checked first, before any model fit) 17 accounts
    # for its 16 leaves.
    assert ("534" in lines[0] or "16 leaves" in lines[0]) and "'small'" in lines[0]
    assert not (tmp_path / "never").exists()


def test_verify_runs_both_verifiers(proofs, small_build):
    out, summary = proofs[:2]
    got = json.loads(calcm("verify", out, "--build", small_build.dir, "--json").stdout)
    assert got["ok"] is True and len(got["proofs"]) == len(summary["groups"])
    assert all(p["snarkjs"] and p["py_ecc"] for p in got["proofs"])
    assert {p["vkey_sha256"] for p in got["proofs"]} == {small_build.manifest["vkey_sha256"]}


def test_verify_rejects_an_altered_batch(proofs, tmp_path):
    out = proofs[0]
    import shutil
    d = tmp_path / "group"
    shutil.copytree(out / "group-0001", d)
    pub = json.loads((d / "public.json").read_text())
    pub[4] = str(int(pub[4]) ^ (3 << 32))                 # flip account 0's tier
    (d / "public.json").write_text(json.dumps(pub))
    res = calcm("verify", d, "--json", check=False)
    assert res.returncode == 3                             # verification failed (README: exit codes)
    got = json.loads(res.stdout)
    assert got["ok"] is False and got["proofs"][0]["snarkjs"] is False and got["proofs"][0]["py_ecc"] is False


def test_prove_rejects_out_of_range_portfolio_before_proving(small_build, tmp_path):
    out = tmp_path / "never"
    res = calcm("prove", "--build", small_build.dir, "--portfolios", FIXTURES / "book_overflow.json",
                "--out", out, check=False)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "book_overflow.json" in lines[0] and "long_btc" in lines[0]
    assert "BTC-PERP" in lines[0]
    assert not out.exists()


def test_bad_paths_are_one_line_errors(tmp_path):
    res = calcm("verify", tmp_path / "missing", check=False)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1
    res = calcm("prove", "--build", tmp_path / "nobuild", check=False)
    assert res.returncode == 2 and "calcm setup" in res.stderr


def test_bench_prove_reports_the_small_config(small_build):
    got = json.loads(calcm("bench", "prove", "--configs", "small", "--json").stdout)
    (row,) = got["configs"]
    assert row["constraints"] == small_build.constraints
    assert row["constraints_per_account_scenario"] <= row["bound_per_account_scenario"]
    assert row["prove_extrapolated"] is False and row["proof_bytes"] == 256
    assert row["witness_seconds"] > 0 and row["prove_seconds"] > 0

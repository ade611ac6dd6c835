"""`calcm verify` pins the verification key (issue 13, finding V1).

The attack: take a margin group directory (``batch.json`` names the margin build) and put in
it a proof, public signals and verification key of another circuit (a model update). The
proof is valid under the key it brought, so the unpinned verifier said OK. Pinned
verification checks the directory's key against the expected one first: exit 3.
"""
from __future__ import annotations

import hashlib
import json
import random
import shutil

import pytest
from click.testing import CliRunner

from calcm.cli import main
from calcm.zk import artifacts
from calcm.zk.verify import KeyPinError, verify_dir, verify_pinned


def _run(*args):
    return CliRunner().invoke(main, ["verify", *map(str, args)])


def _intrude(group_dir, intruder_dir, dst):
    """The V1 directory: the group's batch.json, the intruder's proof, public and vkey."""
    shutil.copytree(group_dir, dst)
    for f in ("proof.json", "public.json", "verification_key.json"):
        shutil.copyfile(intruder_dir / f, dst / f)
    return dst


@pytest.fixture(scope="module")
def margin_group(small_build, tmp_path_factory):
    from calcm.zk.config import SMALL
    from calcm.zk.prove import ContextInfo, prove_accounts
    from calcm.zk.synthetic import random_account, random_model
    rng = random.Random(13)
    model = random_model(SMALL, rng)
    accounts = [random_account(SMALL, rng, model) for _ in range(SMALL.N)]
    out = tmp_path_factory.mktemp("v1") / "proofs"
    prove_accounts(small_build, model, accounts, ["a", "b"], out, ContextInfo())
    return out / "group-0000"


@pytest.fixture(scope="module")
def model_update_dir(tmp_path_factory):
    """A valid proof with a model update's public-signal layout, under its own key."""
    from calcm.chain import placeholder
    from calcm.chain.encoding import model_signal_count
    b = placeholder.build(model_signal_count(3))
    proof, public = placeholder.prove(b, [random.Random(5).getrandbits(200) for _ in range(b.n_signals)])
    d = tmp_path_factory.mktemp("model") / "update"
    artifacts.write(d, proof, public, vkey_path=b.vkey)
    return d


def test_v1_attack_verified_unpinned_and_is_refused_pinned(margin_group, model_update_dir, small_build, tmp_path):
    d = _intrude(margin_group, model_update_dir, tmp_path / "group-0000")
    # The old behaviour: the proof verifies under the key it shipped.
    assert verify_dir(d).ok
    # calcm verify: default pin (the build batch.json names), --build, --vkey-hash.
    for extra in ([], ["--build", small_build.dir], ["--vkey-hash", small_build.vkey_sha256]):
        res = _run(d, *extra)
        assert res.exit_code == 3, (extra, res.output)
        assert "key mismatch" in res.output and len(res.output.strip().splitlines()) == 1
    # Pinning the intruder's own key still fails: batch.json claims the margin key.
    own = hashlib.sha256((d / "verification_key.json").read_bytes()).hexdigest()
    assert _run(d, "--vkey-hash", own).exit_code == 3
    with pytest.raises(KeyPinError):
        verify_pinned(d)


def test_honest_group_verifies_under_every_pin(margin_group, small_build):
    assert _run(margin_group).exit_code == 0
    assert _run(margin_group, "--build", small_build.dir).exit_code == 0
    res = _run(margin_group, "--vkey-hash", small_build.vkey_sha256, "--json")
    assert res.exit_code == 0 and json.loads(res.output)["proofs"][0]["pinned_by"] == "--vkey-hash"
    assert _run(margin_group, "--vkey-hash", "00" * 32).exit_code == 3


def test_a_build_changed_since_proving_does_not_pin(margin_group, small_build, tmp_path):
    d = tmp_path / "g"
    shutil.copytree(margin_group, d)
    meta = json.loads((d / "batch.json").read_text())
    meta["build"]["manifest_sha256"] = "ab" * 32
    (d / "batch.json").write_text(json.dumps(meta))
    res = _run(d)
    assert res.exit_code == 3 and "--build" in res.output
    assert _run(d, "--build", small_build.dir).exit_code == 0      # an explicit pin still works


def test_a_directory_without_metadata_needs_an_explicit_pin(model_update_dir, tmp_path):
    res = _run(model_update_dir)
    assert res.exit_code == 3 and "no metadata" in res.output
    own = hashlib.sha256((model_update_dir / "verification_key.json").read_bytes()).hexdigest()
    assert _run(model_update_dir, "--vkey-hash", own).exit_code == 0

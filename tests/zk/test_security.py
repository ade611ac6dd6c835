"""Security properties of the margin batch (issue 4, "Security and bad input").

- a proof with any public input altered fails both verifiers (snarkjs and py_ecc);
- a witness whose ES, IM, tier (or any public signal) is changed fails `snarkjs wtns check`;
- a portfolio outside the fixed-point range is rejected before proving;
- a different P&L matrix (linear or option part) cannot be used under the same scenario
  commitments (``linCommitment``, ``optCommitment``: docs/PROVING.md §3).
"""
from __future__ import annotations

from dataclasses import replace

import json
import random
import shutil
from pathlib import Path

import pytest

from calcm.fixedpoint import FIELD_PRIME, PRICE_SCALE, FixedPointRangeError
from calcm.risk.fixed_margin import AccountFx, MarginModelFx
from calcm.zk.config import PUBLIC_SIGNALS, SMALL
from calcm.poseidon import lin_commitment, opt_commitment
from calcm.zk.prove import ContextInfo, prove_accounts
from calcm.zk.synthetic import random_account, random_model
from calcm.zk.verify import VerifierDisagreement, py_verify, snarkjs_verify, verify_dir
from calcm.zk.witness import (WitnessRejected, batch_input, calculate_witness, venue_tree,
                              wtns_check)
from calcm.zk.wtns import read_sym, read_wtns, write_wtns

pytestmark = pytest.mark.slow


def _model_and_accounts(seed=11):
    rng = random.Random(seed)
    model = random_model(SMALL, rng)
    return model, [random_account(SMALL, rng, model) for _ in range(SMALL.N)]


@pytest.fixture(scope="module")
def proof_dir(small_build, tmp_path_factory):
    model, accounts = _model_and_accounts()
    out = tmp_path_factory.mktemp("proof") / "proofs"
    prove_accounts(small_build, model, accounts, ["a", "b"], out, ContextInfo(31337, "0x" + "ab" * 20, 42))
    return out / "group-0000"


@pytest.fixture(scope="module")
def honest_witness(small_build, tmp_path_factory):
    model, accounts = _model_and_accounts()
    inp, expected = batch_input(SMALL, model, accounts, 0, venue_tree(accounts, SMALL), 5)
    path = tmp_path_factory.mktemp("wtns") / "honest.wtns"
    calculate_witness(small_build.wasm, inp, path)
    return path, inp, expected


def test_honest_proof_verifies_with_both(proof_dir):
    res = verify_dir(proof_dir)
    assert res.snarkjs_ok and res.pyecc_ok


def _copy_with_public(src: Path, dst: Path, i: int, delta: int) -> Path:
    shutil.copytree(src, dst)
    pub = json.loads((dst / "public.json").read_text())
    pub[i] = str(int(pub[i]) + delta)
    (dst / "public.json").write_text(json.dumps(pub))
    return dst


@pytest.mark.parametrize("i", range(len(PUBLIC_SIGNALS)), ids=list(PUBLIC_SIGNALS))
def test_altered_public_input_fails_both_verifiers(proof_dir, tmp_path, i):
    d = _copy_with_public(proof_dir, tmp_path / "altered", i, 1)
    res = verify_dir(d)            # runs both, raises if they disagree
    assert res.snarkjs_ok is False and res.pyecc_ok is False


def test_non_canonical_public_input_fails_both_verifiers(proof_dir, tmp_path):
    # x + r is the same field element: a verifier that reduces mod r would accept it.
    d = _copy_with_public(proof_dir, tmp_path / "noncanon", 2, FIELD_PRIME)
    assert snarkjs_verify(d) is False and py_verify(d) is False


def test_altered_proof_point_fails_both_verifiers(proof_dir, tmp_path):
    d = tmp_path / "badproof"
    shutil.copytree(proof_dir, d)
    proof = json.loads((d / "proof.json").read_text())
    proof["pi_a"], proof["pi_c"] = proof["pi_c"], proof["pi_a"]
    (d / "proof.json").write_text(json.dumps(proof))
    assert snarkjs_verify(d) is False and py_verify(d) is False


def test_proof_under_another_verification_key_fails(proof_dir, tmp_path, small_build):
    d = tmp_path / "otherkey"
    shutil.copytree(proof_dir, d)
    vk = json.loads((d / "verification_key.json").read_text())
    vk["IC"][1], vk["IC"][2] = vk["IC"][2], vk["IC"][1]
    (d / "verification_key.json").write_text(json.dumps(vk))
    assert snarkjs_verify(d) is False and py_verify(d) is False
    # Verifying against the trusted build key ignores the shipped one.
    res = verify_dir(d, small_build.vkey_path)
    assert res.ok and res.vkey_sha256 == small_build.manifest["vkey_sha256"]


def test_honest_witness_passes_wtns_check(small_build, honest_witness):
    assert wtns_check(small_build.r1cs, honest_witness[0])


@pytest.mark.parametrize("signal", ["main.margin[0].es", "main.margin[0].im", "main.margin[0].tier",
                                    "main.margin[1].es", "main.margin[0].equity",
                                    *[f"main.{s}" for s in PUBLIC_SIGNALS]])
def test_tampered_witness_fails_wtns_check(small_build, honest_witness, tmp_path, signal):
    """Changing ES, IM, a tier (or any public signal) breaks the R1CS: every one is constrained."""
    wit = read_wtns(honest_witness[0])
    idx = read_sym(small_build.sym)[signal]
    wit.values[idx] = (wit.values[idx] + 1) % wit.prime
    bad = write_wtns(tmp_path / "bad.wtns", wit)
    assert not wtns_check(small_build.r1cs, bad)


@pytest.mark.parametrize("signal", ["main.lin[3][1]", "main.opt[3][0]", "main.price[0]",
                                    "main.optMark[1]", "main.haircutBps[1]"])
def test_tampered_model_value_in_witness_fails_wtns_check(small_build, honest_witness, tmp_path, signal):
    """Swapping in another model value under the same commitments breaks the R1CS."""
    wit = read_wtns(honest_witness[0])
    idx = read_sym(small_build.sym)[signal]
    wit.values[idx] = (wit.values[idx] + PRICE_SCALE) % wit.prime
    assert not wtns_check(small_build.r1cs, write_wtns(tmp_path / "bad.wtns", wit))


@pytest.mark.parametrize("field,index", [("lin", (0, 0)), ("opt", (SMALL.S - 1, 1)), ("optExpo", (0,)),
                                         ("weightBps", (1,)), ("imBufferBps", ())])
def test_other_model_under_same_commitments_is_rejected(small_build, honest_witness, tmp_path, field, index):
    _, inp, expected = honest_witness
    forged = json.loads(json.dumps(inp))
    if index:
        row = forged[field]
        for i in index[:-1]:
            row = row[i]
        row[index[-1]] = str((int(row[index[-1]]) + 1) % FIELD_PRIME)
    else:
        forged[field] = str(int(forged[field]) + 1)
    with pytest.raises(WitnessRejected):
        calculate_witness(small_build.wasm, forged, tmp_path / "forged.wtns")
    # ... and the honest model under its own commitments still passes.
    calculate_witness(small_build.wasm, inp, tmp_path / "honest.wtns")


def test_commitments_depend_on_every_model_field():
    model, _ = _model_and_accounts()
    base = (lin_commitment(model), opt_commitment(model))
    bump = lambda xs: (xs[0] + 1,) + tuple(xs[1:])  # noqa: E731
    fields = {"lin": (bump(model.lin[0]),) + model.lin[1:], "opt": model.opt[:-1] + (bump(model.opt[-1]),),
              "price": bump(model.price), "opt_mark": bump(model.opt_mark), "opt_expo": bump(model.opt_expo),
              "adv": bump(model.adv), "liquidity_weight_bps": bump(model.liquidity_weight_bps),
              "im_buffer_bps": model.im_buffer_bps + 1, "warn_buffer_bps": model.warn_buffer_bps + 1,
              "haircut_bps": (model.haircut_bps[0] ^ 1,) + model.haircut_bps[1:]}
    for name, value in fields.items():
        other = MarginModelFx(**{**{f: getattr(model, f) for f in model.__dataclass_fields__}, name: value})
        got = (lin_commitment(other), opt_commitment(other))
        assert got != base, name
        # Each value sits in exactly one of the two sponges.
        assert (got[0] != base[0]) != (got[1] != base[1]), name


def test_out_of_range_portfolio_rejected_before_proving(small_build, tmp_path):
    model, accounts = _model_and_accounts()
    with pytest.raises(FixedPointRangeError):
        AccountFx((2**40,) + (0,) * (SMALL.n - 1), (0,) * SMALL.m, 1)
    # In range per field, but its scenario losses overflow the money range.
    huge = AccountFx((2**40 - 1,) * SMALL.n, (0,) * SMALL.m, 3)
    rich = MarginModelFx(**{**{f: getattr(model, f) for f in model.__dataclass_fields__},
                            "lin": tuple((2**47,) * SMALL.U for _ in range(SMALL.S)),
                            "opt": tuple((2**47,) * SMALL.n_options for _ in range(SMALL.S)),
                            "perp_move": (0,) * SMALL.U})
    out = tmp_path / "never"
    empty = AccountFx((0,) * SMALL.n, (0,) * SMALL.m, 4)
    with pytest.raises(FixedPointRangeError, match=r"account 'whale': loss\[0\]"):
        prove_accounts(small_build, rich, [empty, huge], ["ok", "whale"], out)
    # The same account's perp basis charge alone overflows at the maximal perp move.
    with pytest.raises(FixedPointRangeError, match=r"account 'whale': perp_charge"):
        prove_accounts(small_build, replace(rich, perp_move=(2**48 - 1,) * SMALL.U), [empty, huge],
                       ["ok", "whale"], out)
    assert not out.exists() and not list(tmp_path.glob(".never*"))


def test_disagreeing_verifiers_are_reported(proof_dir, tmp_path, monkeypatch):
    # If the two implementations ever disagree, verify_dir must raise rather than pick one.
    import calcm.zk.verify as V
    monkeypatch.setattr(V, "py_verify", lambda d, vkey=None: False)
    with pytest.raises(VerifierDisagreement):
        V.verify_dir(proof_dir)

"""The v2 margin circuit (net linear per underlying, two scenario commitments, tie rule) vs margin_fx.

Witness-level, on the compile-only `small` structure (every instrument kind, a
stablecoin and a non-stable collateral): every public signal and every account
output equals the Python reference, ties in the tail go to the lower scenario
index and no other tail selection is accepted.
"""
from __future__ import annotations

import random

import pytest

from calcm.fixedpoint import FIELD_PRIME, PRICE_SCALE, QTY_SCALE
from calcm.risk.fixed_margin import AccountFx, MarginModelFx, margin_fx
from calcm.zk.config import SMALL, CircuitConfig
from calcm.zk.setup import CompiledCircuit, cached_compile
from calcm.zk.witness import WitnessRejected, compare_witness

from .conftest import run_batch


def random_model(c: CircuitConfig, rng: random.Random, ties: bool = False) -> MarginModelFx:
    """A random v2 model of ``c``'s structure (values in their ranges; ``ties``: repeated rows)."""
    S, U, n_opt = c.S, c.U, c.n_options
    val = lambda hi: rng.randint(-hi, hi)  # noqa: E731
    lin = [tuple(val(5_000 * PRICE_SCALE) for _ in range(U)) for _ in range(S)]
    opt = [tuple(val(2_000 * PRICE_SCALE) for _ in range(n_opt)) for _ in range(S)]
    if ties:
        for s in range(1, S, 2):
            lin[s], opt[s] = lin[s - 1], opt[s - 1]
    return MarginModelFx(
        price=tuple(rng.randint(PRICE_SCALE, 60_000 * PRICE_SCALE) for _ in range(U)),
        lin=tuple(lin), opt=tuple(opt) if n_opt else (),
        opt_mark=tuple(rng.randint(0, 3_000 * PRICE_SCALE) for _ in range(n_opt)),
        opt_expo=tuple(val(40_000 * PRICE_SCALE) for _ in range(n_opt)),
        haircut_bps=tuple(rng.randint(0, 5_000) for _ in range(c.m)),
        adv=tuple(rng.randint(10**6, 10**10) for _ in range(U)),
        liquidity_weight_bps=tuple(rng.randint(0, 10**4) for _ in range(U)),
        k_tail=c.k, im_buffer_bps=rng.randint(0, 5000), warn_buffer_bps=rng.randint(0, 5000),
        kinds=c.kinds, under=c.under, coll=c.coll, chunks=c.C)


def random_account(c: CircuitConfig, rng: random.Random, scale: float = 20.0) -> AccountFx:
    return AccountFx(tuple(rng.randint(-int(scale * QTY_SCALE), int(scale * QTY_SCALE)) for _ in range(c.n)),
                     tuple(rng.randint(0, int(1e3 * QTY_SCALE)) for _ in range(c.m)), rng.getrandbits(200))


@pytest.fixture(scope="module")
def small_v2():
    d, _ = cached_compile(SMALL)
    return CompiledCircuit(SMALL, d)


@pytest.mark.parametrize("seed,ties", [(1, False), (2, True), (3, True)])
def test_small_witness_equals_reference(small_v2, tmp_path, seed, ties):
    rng = random.Random(seed)
    model = random_model(SMALL, rng, ties)
    accounts = [random_account(SMALL, rng) for _ in range(SMALL.N)]
    run = run_batch(small_v2, model, accounts, tmp_path)
    compared = compare_witness(run.witness, run.sym, run.expected)
    assert "main.linCommitment" in compared and "main.optCommitment" in compared
    for a, acc in enumerate(accounts):
        ref = margin_fx(model, acc)
        for sig in ("es", "mm", "im", "equity", "tier"):
            name = f"main.margin[{a}].{sig}"
            if name in run.sym:
                assert run.value(name) == getattr(ref, sig) % FIELD_PRIME
        assert run.expected.results[a] == ref


def test_tie_goes_to_lower_index_only(small_v2, tmp_path):
    """All losses tied: the reference picks scenarios 0..k-1; any other valid-looking choice is rejected."""
    rng = random.Random(7)
    model = random_model(SMALL, rng)
    flat = MarginModelFx(**{**{f: getattr(model, f) for f in model.__dataclass_fields__},
                            "lin": tuple((1000,) * SMALL.U for _ in range(SMALL.S)),
                            "opt": tuple((-500,) * SMALL.n_options for _ in range(SMALL.S))})
    accounts = [random_account(SMALL, rng) for _ in range(SMALL.N)]
    ref = margin_fx(flat, accounts[0])
    assert ref.tail_bits == (1,) * SMALL.k + (0,) * (SMALL.S - SMALL.k)
    assert ref.tail_last == SMALL.k - 1
    run_batch(small_v2, flat, accounts, tmp_path)              # the published choice passes

    def other_choice(inp):                                     # same sum, another tied scenario
        bits = ["0"] * SMALL.S
        for s in range(1, SMALL.k + 1):
            bits[s] = "1"
        inp["inTail"][0] = bits
        inp["tailStep"][0] = ["1" if s <= SMALL.k else "0" for s in range(SMALL.S)]
    with pytest.raises(WitnessRejected):
        run_batch(small_v2, flat, accounts, tmp_path, tweak=other_choice)

    def shifted_step(inp):                                     # selection kept, step moved
        inp["tailStep"][0] = ["1" if s <= SMALL.k else "0" for s in range(SMALL.S)]
    with pytest.raises(WitnessRejected):
        run_batch(small_v2, flat, accounts, tmp_path, tweak=shifted_step)


def test_threshold_is_pinned(small_v2, tmp_path):
    """A threshold strictly between the k-th and (k+1)-th loss no longer passes (issue 13 A1)."""
    rng = random.Random(11)
    model = random_model(SMALL, rng)
    accounts = [random_account(SMALL, rng) for _ in range(SMALL.N)]
    ref = margin_fx(model, accounts[0])
    below = max((L for L, b in zip(ref.losses, ref.tail_bits) if not b), default=None)
    assert below is not None and below < ref.threshold - 1

    def lower_t(inp):
        inp["threshold"][0] = str(ref.threshold - 1)
    with pytest.raises(WitnessRejected):
        run_batch(small_v2, model, accounts, tmp_path, tweak=lower_t)


@pytest.mark.slow
def test_small_shape_end_to_end_proof(small_build, tmp_path):
    """r1cs + Groth16 setup + proof of two batches of the small structure, verified by snarkjs and py_ecc."""
    from calcm.zk.prove import prove_accounts
    from calcm.zk.verify import verify_path

    rng = random.Random(21)
    cfg = small_build.config
    assert cfg.structure() == SMALL.structure()
    model = random_model(cfg, rng, ties=True)
    accounts = [random_account(cfg, rng) for _ in range(cfg.N + 1)]
    summary = prove_accounts(small_build, model, accounts, [f"a{i}" for i in range(len(accounts))],
                             tmp_path / "proofs")
    assert [a["tier"] for a in summary["accounts"]] == [margin_fx(model, a).tier for a in accounts]
    results = verify_path(tmp_path / "proofs", small_build.vkey_path)
    assert len(results) == 2 and all(r.ok and r.snarkjs_ok and r.pyecc_ok for r in results)


def test_a_model_or_book_that_does_not_fit_is_a_one_line_input_error():
    from dataclasses import replace

    from calcm.errors import InputError
    from calcm.zk.config import check_fits, config_for_model

    rng = random.Random(3)
    model = random_model(SMALL, rng)
    check_fits(model, SMALL, SMALL.capacity)                          # exactly full: fine
    assert config_for_model(model, SMALL.N, SMALL.D).structure() == SMALL.structure()
    more = replace(model, lin=model.lin + model.lin, opt=model.opt + model.opt)
    for bad, field, words in ((more, "S", f"scenarios {2 * SMALL.S}"),
                              (replace(model, kinds=(0, 0, 2, 3)), "kinds", "instrument kinds"),
                              (replace(model, coll=(-1, 1)), "coll", "collateral map")):
        with pytest.raises(InputError) as e:
            check_fits(bad, SMALL)
        assert e.value.field == field and words in str(e.value) and "'small'" in str(e.value)
        assert len(str(e.value).splitlines()) == 1
    with pytest.raises(InputError) as e:
        check_fits(model, SMALL, SMALL.capacity + 1)
    assert e.value.field == "accounts" and f"{SMALL.capacity} leaves" in str(e.value)


def test_commitments_match_the_model_update_encoding():
    """calcm.poseidon (margin side) and calcm.risk.modelfx.commit (model side) hash the same elements."""
    from calcm import poseidon
    from calcm.risk.modelfx import commit

    rng = random.Random(4)
    m = random_model(SMALL, rng)
    lin = commit.lin_commitment(m.structure_id, m.n_scenarios, m.n_underlyings, m.n_instruments,
                                m.n_collateral, m.k_tail, m.im_buffer_bps, m.warn_buffer_bps, m.price, m.adv,
                                m.liquidity_weight_bps, m.haircut_bps, m.perp_move, m.lin)
    assert poseidon.lin_commitment(m) == lin
    assert poseidon.opt_commitment(m) == commit.opt_commitment(m.chunks, m.opt_mark, m.opt_expo, m.opt)
    assert poseidon.absorb(0, [1, 2, 3]) == poseidon.poseidon_sponge([1, 2, 3])

"""The circuit against the Python reference, bit for bit, and the R1CS against bad witnesses.

Witness-level (``snarkjs wtns calculate`` / ``wtns check``): the small linear circuit (the
proven one) and a compile-only options circuit (Black-76 full revaluation).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings, strategies as st

from calcm.fixedpoint import FIELD_PRIME
from calcm.risk.model_fx import update
from calcm.zk.model_synthetic import price_path, synthetic_state
from calcm.zk.model_witness import ConfigMismatch, compute_checked_witness, model_input
from calcm.zk.toolchain import snarkjs
from calcm.zk.witness import WitnessRejected, calculate_witness
from calcm.zk.wtns import Witness, read_wtns, write_wtns

from .conftest import options_params, small_params

pytestmark = pytest.mark.slow
#: Each example runs node: report the failing example as found instead of shrinking for minutes.
NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)

# A day's simple returns: calm, a -40% crash of every asset (correlation to one),
# one asset crashing alone, a +50% rally.
day = st.one_of(
    st.lists(st.floats(-0.08, 0.08), min_size=2, max_size=2),
    st.just([-0.40, -0.40]),
    st.tuples(st.just(-0.40), st.floats(-0.03, 0.03)).map(list),
    st.just([0.5, 0.5]),
)


def _witness(circuit, params, state, prices, tmp: Path, context: int = 77):
    inp, exp = model_input(circuit.config, state, prices, params, context)
    wit, compared = compute_checked_witness(circuit.wasm, circuit.sym_path, inp, exp, params, tmp / "w.wtns")
    return wit, compared, exp


def _wtns_check(circuit, wtns: Path) -> bool:
    res = snarkjs("wtns", "check", circuit.r1cs, wtns, check=False)
    out = res.stdout + res.stderr
    if "WITNESS IS CORRECT" in out:
        return True
    assert "WITNESS IS NOT CORRECT" in out or "Constraint doesn't match" in out or res.stdout, out
    return False


def _advance(state, params, days):
    """Run the history in Python; return the state before the last day and the last prices."""
    path = price_path(state, days)
    for prices in path[:-1]:
        state = update(state, prices, params).state
    return state, path[-1]


@given(seed=st.integers(0, 10**6), days=st.lists(day, min_size=1, max_size=5))
@settings(max_examples=6, deadline=None, phases=NO_SHRINK, suppress_health_check=[HealthCheck.too_slow,
                                                                HealthCheck.function_scoped_fixture])
def test_small_circuit_equals_reference_bit_for_bit(small_circuit, tmp_path, seed, days):
    params = small_params(seed)
    state, prices = _advance(synthetic_state(params, seed), params, days)
    wit, compared, exp = _witness(small_circuit, params, state, prices, tmp_path)
    # every public signal (state commitments, scenario commitment, param hash, prices) and
    # the per-asset intermediates were compared and equal
    assert {"prevStateCommitment", "newStateCommitment", "scenarioCommitment", "paramHash"} <= set(compared)
    assert "main.asset[1].sigma2Next" in compared and "main.asset[0].move" in compared


@given(seed=st.integers(0, 10**6), days=st.lists(day, min_size=1, max_size=3))
@settings(max_examples=4, deadline=None, phases=NO_SHRINK, suppress_health_check=[HealthCheck.too_slow,
                                                                HealthCheck.function_scoped_fixture])
def test_options_circuit_equals_reference_bit_for_bit(options_circuit, tmp_path, seed, days):
    params = options_params(seed)
    state, prices = _advance(synthetic_state(params, seed), params, days)
    wit, compared, exp = _witness(options_circuit, params, state, prices, tmp_path)
    # logs of the scenario prices, d1/d2, N(d1)/N(d2) and the option values all matched
    for name in ("main.lnS[0][0].out", "main.lnS[3][1].out", "main.base[0].n1", "main.scen[2][1].n1",
                 "main.scen[0][2].d2"):
        assert name in compared, name


def test_parameters_of_another_structure_are_refused(small_circuit):
    params = small_params(1)
    other = dataclasses.replace(params, k_tail=1)
    with pytest.raises(ConfigMismatch, match="k"):
        model_input(small_circuit.config, synthetic_state(other, 1), synthetic_state(other, 1).price, other, 1)


def test_a_state_other_than_the_committed_one_has_no_witness(small_circuit, tmp_path):
    params = small_params(3)
    state = synthetic_state(params, 3)
    prices = price_path(state, [[-0.1, 0.02]])[0]
    inp, exp = model_input(small_circuit.config, state, prices, params, 5)
    forged = dataclasses.replace(state, sigma2=(state.sigma2[0] // 2, state.sigma2[1]))
    inp_forged, _ = model_input(small_circuit.config, forged, prices, params, 5)
    inp_forged["prevStateCommitment"] = inp["prevStateCommitment"]      # claim the real previous state
    with pytest.raises(WitnessRejected):
        calculate_witness(small_circuit.wasm, inp_forged, tmp_path / "f.wtns")


@pytest.mark.parametrize("field, change", [
    ("paramHash", "alpha"), ("packedPrices", "price"), ("newStateCommitment", "output"),
    ("scenarioCommitment", "output"),
])
def test_altered_prices_parameters_or_outputs_have_no_witness(small_circuit, tmp_path, field, change):
    params = small_params(4)
    state = synthetic_state(params, 4)
    prices = price_path(state, [[0.03, -0.02]])[0]
    inp, _ = model_input(small_circuit.config, state, prices, params, 5)
    if change == "alpha":                       # private parameters differ from the published hash
        inp["alpha"] = [str(int(inp["alpha"][0]) + 1), inp["alpha"][1]]
    elif change == "price":                     # the private price is not the packed public one
        inp["price"] = [str(int(inp["price"][0]) + 1), inp["price"][1]]
    else:                                       # a claimed output that is not the computed one
        inp[field] = str((int(inp[field]) + 1) % FIELD_PRIME)
    with pytest.raises(WitnessRejected):
        calculate_witness(small_circuit.wasm, inp, tmp_path / "bad.wtns")


# ---- R1CS against tampered witnesses ---------------------------------------------------

@pytest.fixture(scope="module")
def small_wtns(small_circuit, tmp_path_factory):
    params = small_params(6)
    state = synthetic_state(params, 6)
    prices = price_path(state, [[-0.4, -0.4]])[0]
    tmp = tmp_path_factory.mktemp("wtns")
    _witness(small_circuit, params, state, prices, tmp)
    return tmp / "w.wtns"


@pytest.fixture(scope="module")
def options_wtns(options_circuit, tmp_path_factory):
    params = options_params(6)
    state = synthetic_state(params, 6)
    prices = price_path(state, [[-0.2, 0.05]])[0]
    tmp = tmp_path_factory.mktemp("wtns")
    _witness(options_circuit, params, state, prices, tmp)
    return tmp / "w.wtns"


def _tampered(circuit, wtns: Path, tmp: Path, changes: dict[str, int]) -> Path:
    sym = circuit.sym
    wit = read_wtns(wtns)
    values = list(wit.values)
    for name, delta in changes.items():
        assert name in sym, f"{name} not in the witness"
        values[sym[name]] = (values[sym[name]] + delta) % FIELD_PRIME
    out = tmp / "tampered.wtns"
    write_wtns(out, Witness(wit.prime, values))
    return out


def test_honest_witnesses_pass_the_r1cs_check(small_circuit, small_wtns, options_circuit, options_wtns):
    assert _wtns_check(small_circuit, small_wtns)
    assert _wtns_check(options_circuit, options_wtns)


def test_wrong_square_root_fails_the_r1cs_check(small_circuit, small_wtns, tmp_path):
    assert not _wtns_check(small_circuit, _tampered(small_circuit, small_wtns, tmp_path,
                                                    {"main.asset[0].sigma": 1}))
    assert not _wtns_check(small_circuit, _tampered(small_circuit, small_wtns, tmp_path,
                                                    {"main.asset[1].sigma": -1}))


def test_wrong_division_remainder_fails_the_r1cs_check(small_circuit, small_wtns, tmp_path):
    # eps - 1 and rem + p0 still satisfy (p1 - p0) 2^40 = eps p0 + rem, but rem >= p0
    sym = small_circuit.sym
    p0 = read_wtns(small_wtns)[sym["main.pricePrev[0]"]]
    bad = _tampered(small_circuit, small_wtns, tmp_path, {"main.asset[0].eps": -1,
                                                         "main.asset[0].ret.rem": p0})
    assert not _wtns_check(small_circuit, bad)


def test_wrong_rescale_remainder_fails_the_r1cs_check(small_circuit, small_wtns, tmp_path):
    # the low (remainder) bit of the move's rounding shift, and of a GARCH rounding
    for name in ("main.asset[0].mv.n2b.out[0]", "main.asset[1].garch.shift.n2b.out[3]"):
        sym = small_circuit.sym
        v = read_wtns(small_wtns)[sym[name]]
        bad = _tampered(small_circuit, small_wtns, tmp_path, {name: 1 - 2 * v})   # flip the bit
        assert not _wtns_check(small_circuit, bad), name


def test_wrong_approximation_values_fail_the_r1cs_check(options_circuit, options_wtns, tmp_path):
    for name in ("main.lnS[1][0].out", "main.lnS[2][1].out", "main.base[0].n1", "main.scen[3][1].n2",
                 "main.scen[0][0].d1"):
        bad = _tampered(options_circuit, options_wtns, tmp_path, {name: 1})
        assert not _wtns_check(options_circuit, bad), name

"""The v2 model circuits against the Python reference, bit for bit, and their R1CS against bad witnesses.

Witness level (wasm witness calculator, ``snarkjs wtns check``) on the small shape of
tests/model/conftest.py: ``ModelStep`` over random price paths (calm days, a -40% crash
of every asset, one asset crashing alone, a +50% rally), ``OptionPart`` on every part,
and tampered inputs and witnesses that must be refused.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings, strategies as st

from calcm.fixedpoint import FIELD_PRIME
from calcm.risk.modelfx import horizon_variance, step, update
from calcm.zk.model_synthetic import price_path, synthetic_state
from calcm.zk.model_witness import ConfigMismatch, compute_checked_witness, part_input, step_input
from calcm.zk.toolchain import snarkjs
from calcm.zk.witness import WitnessRejected, calculate_witness
from calcm.zk.wtns import Witness, read_wtns, write_wtns

from .conftest import compiled, small_params

pytestmark = pytest.mark.slow
#: Each example runs node: report the failing example as found instead of shrinking for minutes.
NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)
SETTINGS = dict(deadline=None, phases=NO_SHRINK,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

day = st.one_of(
    st.lists(st.floats(-0.08, 0.08), min_size=2, max_size=2),
    st.just([-0.40, -0.40]),
    st.tuples(st.just(-0.40), st.floats(-0.03, 0.03)).map(list),
    st.just([0.5, 0.5]),
)


@pytest.fixture(scope="module")
def step_circuit():
    return compiled(small_params(), "step")


@pytest.fixture(scope="module")
def option_circuit():
    return compiled(small_params(), "option")


def _advance(state, params, days):
    """Step the history in Python; return the state before the last day and the last closes."""
    path = price_path(state, days)
    for prices in path[:-1]:
        state = step(state, prices, params).state
    return state, path[-1]


def _wtns_check(circuit, wtns: Path) -> bool:
    res = snarkjs("wtns", "check", circuit.r1cs, wtns, check=False)
    out = res.stdout + res.stderr
    if "WITNESS IS CORRECT" in out:
        return True
    # A rejection is snarkjs's verdict, never a crash (a bad file or path must not pass for one).
    assert "WITNESS IS NOT CORRECT" in out, out
    return False


@given(seed=st.integers(0, 10**6), days=st.lists(day, min_size=1, max_size=4))
@settings(max_examples=4, **SETTINGS)
def test_step_circuit_equals_reference_bit_for_bit(step_circuit, tmp_path, seed, days):
    params = small_params(seed)
    state, prices = _advance(synthetic_state(params, seed), params, days)
    inp, exp = step_input(step_circuit.config, state, prices, params, 77)
    _, compared = compute_checked_witness(step_circuit.wasm, step_circuit.sym_path, inp, exp, "step",
                                          tmp_path / "w.wtns")
    assert {"prevState", "newState", "linCommitment", "paramHash"} <= set(compared)
    assert "main.asset[1].sigma2Next" in compared and "main.linear.lin[3][1]" in compared


@given(seed=st.integers(0, 10**6), days=st.lists(day, min_size=1, max_size=3))
@settings(max_examples=2, **SETTINGS)
def test_option_parts_equal_reference_bit_for_bit(option_circuit, tmp_path, seed, days):
    params = small_params(seed)
    state, prices = _advance(synthetic_state(params, seed), params, days)
    up = update(state, prices, params)
    for part in up.parts:
        inp, exp = part_input(option_circuit.config, up.state, prices, params, part.part, part.prev)
        _, compared = compute_checked_witness(option_circuit.wasm, option_circuit.sym_path, inp, exp, "option",
                                              tmp_path / "w.wtns")
        assert {"nextOptSponge", "main.base.value", "main.am.move", "main.scen[1].pnl"} <= set(compared)


def test_parameters_of_another_structure_are_refused(step_circuit):
    other = dataclasses.replace(small_params(), k_tail=1)
    st0 = synthetic_state(other, 1)
    with pytest.raises(ConfigMismatch, match="k"):
        step_input(step_circuit.config, st0, st0.price, other, 1)


def test_a_state_other_than_the_committed_one_has_no_witness(step_circuit, tmp_path):
    params = small_params(3)
    state = synthetic_state(params, 3)
    prices = price_path(state, [[-0.1, 0.02]])[0]
    inp, _ = step_input(step_circuit.config, state, prices, params, 5)
    forged = dataclasses.replace(state, sigma2=(state.sigma2[0] // 2, state.sigma2[1]))
    inp_forged, _ = step_input(step_circuit.config, forged, prices, params, 5)
    inp_forged["prevState"] = inp["prevState"]                 # claim the real previous state
    with pytest.raises(WitnessRejected):
        calculate_witness(step_circuit.wasm, inp_forged, tmp_path / "f.wtns")


def _apc_floored(params, sigma2):
    """``params`` with the APC floor binding on asset 0 (F_0 ~ 2 V_0) and not on asset 1
    (F_1 ~ V_1 / 2) at the variances ``sigma2``; returns (params, V unfloored)."""
    v = [horizon_variance(params, u, s2) for u, s2 in enumerate(sigma2)]
    h = params.horizon_days
    floored = dataclasses.replace(params, var_floor=(2 * v[0] // h + 1, v[1] // (2 * h)))
    vf = [horizon_variance(floored, u, s2) for u, s2 in enumerate(sigma2)]
    assert vf[0] == floored.horizon_floor[0] > v[0] and vf[1] == v[1] > floored.horizon_floor[1] > 0
    return floored, v


def test_apc_floor_binding_and_not_equals_reference(step_circuit, option_circuit, tmp_path):
    """The MPOR variance max(V, F) in circuit == modelfx, with the floor binding (asset 0, the
    option's underlying) and not binding (asset 1) in the same witnesses."""
    params = small_params(5)
    state = synthetic_state(params, 5)
    prices = price_path(state, [[-0.05, 0.04]])[0]
    new = step(state, prices, params).state
    floored, v = _apc_floored(params, new.sigma2)
    inp, exp = step_input(step_circuit.config, state, prices, floored, 3)
    _, compared = compute_checked_witness(step_circuit.wasm, step_circuit.sym_path, inp, exp, "step",
                                          tmp_path / "w.wtns")
    assert {"main.asset[0].vf", "main.asset[1].vf", "main.asset[0].move"} <= set(compared)
    assert exp.signals["main.asset[0].vf"] == floored.horizon_floor[0] and exp.signals["main.asset[1].vf"] == v[1]
    inp, exp = part_input(option_circuit.config, new, prices, floored, 0, 0)
    _, compared = compute_checked_witness(option_circuit.wasm, option_circuit.sym_path, inp, exp, "option",
                                          tmp_path / "o.wtns")
    assert "main.am.vf" in compared and exp.signals["main.am.vf"] == floored.horizon_floor[0]


def test_apc_stress_weight_needs_no_new_circuit(step_circuit, tmp_path):
    """APC tool (b) is folded into the hash-bound head [A, B, F]: the same compiled step circuit
    computes the stressed variance (1 - w) V + w h var_stress exactly as modelfx does."""
    params = small_params(5)
    state = synthetic_state(params, 5)
    prices = price_path(state, [[-0.05, 0.04]])[0]
    new = step(state, prices, params).state
    v = [horizon_variance(params, u, s2) for u, s2 in enumerate(new.sigma2)]
    h = params.horizon_days
    stressed = dataclasses.replace(params, apc_stress_weight_bps=2500, var_stress=(4 * v[0] // h, v[1] // (4 * h)))
    vs = [horizon_variance(stressed, u, s2) for u, s2 in enumerate(new.sigma2)]
    assert vs[0] > v[0] > 0 and v[1] > vs[1] >= 3 * v[1] // 4 and stressed.horizon_floor == (0, 0)
    inp, exp = step_input(step_circuit.config, state, prices, stressed, 3)
    _, compared = compute_checked_witness(step_circuit.wasm, step_circuit.sym_path, inp, exp, "step",
                                          tmp_path / "w.wtns")
    assert {"main.asset[0].vf", "main.asset[1].vf"} <= set(compared)
    assert [exp.signals[f"main.asset[{u}].vf"] for u in range(2)] == vs


@pytest.mark.parametrize("field", ["common", "price", "newState", "linCommitment", "z", "zhead"])
def test_altered_prices_parameters_or_outputs_have_no_witness(step_circuit, tmp_path, field):
    params = small_params(4)
    state = synthetic_state(params, 4)
    prices = price_path(state, [[0.03, -0.02]])[0]
    inp, _ = step_input(step_circuit.config, state, prices, params, 5)
    if field in ("common", "price"):           # a private parameter / price not the published one
        inp[field] = [str(int(inp[field][0]) + 1)] + inp[field][1:]
    elif field == "z":                          # a scenario not under the published hz leaf
        inp["z"][3] = [str((int(inp["z"][3][0]) + 1) % FIELD_PRIME), inp["z"][3][1]]
    elif field == "zhead":                      # an APC floor F_1 not under the published hz leaves
        inp["zhead"][1][2] = str(int(inp["zhead"][1][2]) + 1)
    else:                                       # a claimed output that is not the computed one
        inp[field] = str((int(inp[field]) + 1) % FIELD_PRIME)
    with pytest.raises(WitnessRejected):
        calculate_witness(step_circuit.wasm, inp, tmp_path / "bad.wtns")


@pytest.mark.parametrize("field", ["terms", "zc", "shc", "part"])
def test_an_option_part_with_other_leaves_has_no_witness(option_circuit, model, tmp_path, field):
    p, st0, close = model
    inp, _ = part_input(option_circuit.config, st0, close, p, 1, 0)
    if field == "part":
        inp["part"] = str(p.n_parts)                           # outside [0, n_opt C)
    else:
        inp[field] = [str(int(inp[field][0]) + 1)] + inp[field][1:]
    with pytest.raises(WitnessRejected):
        calculate_witness(option_circuit.wasm, inp, tmp_path / "bad.wtns")


# ---- R1CS against tampered witnesses ---------------------------------------------------

def _honest(circuit, tmp, kind):
    params = small_params(6)
    state = synthetic_state(params, 6)
    prices = price_path(state, [[-0.4, -0.4]])[0]
    if kind == "step":
        inp, exp = step_input(circuit.config, state, prices, params, 9)
    else:
        inp, exp = part_input(circuit.config, state, prices, params, 0, 0)
    compute_checked_witness(circuit.wasm, circuit.sym_path, inp, exp, kind, tmp / "w.wtns")
    return tmp / "w.wtns"


@pytest.fixture(scope="module")
def step_wtns(step_circuit, tmp_path_factory):
    return _honest(step_circuit, tmp_path_factory.mktemp("wtns"), "step")


@pytest.fixture(scope="module")
def option_wtns(option_circuit, tmp_path_factory):
    return _honest(option_circuit, tmp_path_factory.mktemp("wtns"), "option")


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


def test_honest_witnesses_pass_the_r1cs_check(step_circuit, step_wtns, option_circuit, option_wtns):
    assert _wtns_check(step_circuit, step_wtns)
    assert _wtns_check(option_circuit, option_wtns)


def test_wrong_square_root_fails_the_r1cs_check(step_circuit, step_wtns, tmp_path):
    for name, delta in (("main.asset[0].sigma", 1), ("main.asset[1].sigma", -1), ("main.asset[0].vf", 1)):
        assert not _wtns_check(step_circuit, _tampered(step_circuit, step_wtns, tmp_path, {name: delta}))


def test_wrong_division_remainder_fails_the_r1cs_check(step_circuit, step_wtns, tmp_path):
    # eps - 1 and rem + p0 still satisfy (p1 - p0) 2^40 = eps p0 + rem, but rem >= p0
    p0 = read_wtns(step_wtns)[step_circuit.sym["main.pricePrev[0]"]]
    bad = _tampered(step_circuit, step_wtns, tmp_path, {"main.asset[0].eps": -1, "main.asset[0].ret.rem": p0})
    assert not _wtns_check(step_circuit, bad)


def test_wrong_rescale_remainder_fails_the_r1cs_check(step_circuit, step_wtns, tmp_path):
    name = "main.asset[1].garch.shift.n2b.out[3]"              # a bit of a GARCH rounding
    v = read_wtns(step_wtns)[step_circuit.sym[name]]
    assert not _wtns_check(step_circuit, _tampered(step_circuit, step_wtns, tmp_path, {name: 1 - 2 * v}))


def test_wrong_approximation_values_fail_the_r1cs_check(option_circuit, option_wtns, tmp_path):
    for name in ("main.scen[1].b.lnF", "main.base.b.n1", "main.scen[1].b.n2", "main.scen[0].b.d1",
                 "main.scen[1].pnl"):
        bad = _tampered(option_circuit, option_wtns, tmp_path, {name: 1})
        assert not _wtns_check(option_circuit, bad), name

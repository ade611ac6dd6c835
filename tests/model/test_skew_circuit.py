"""The per-underlying vol shock and the skew shock in OptionPart, bit for bit against the twin.

Witness level on the small shape's option circuit (compiled once, shared with
test_model_witness.py through the source-hash cache), and a planted defect on the ScenarioVol
harness (tests/zk/circuits/hint_scenario_vol.circom: compiles in seconds): with the skew term
dropped, the circuit no longer computes what calcm.risk.modelfx.options says.
"""
from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from calcm.fixedpoint import FIELD_PRIME
from calcm.risk.modelfx import update
from calcm.risk.modelfx.options import vol_multiplier
from calcm.zk.model_synthetic import synthetic_state
from calcm.zk.model_witness import compute_checked_witness, part_input
from calcm.zk.witness import calculate_witness
from calcm.zk.wtns import read_sym

from .conftest import compiled, small_params

HARNESS = Path(__file__).resolve().parents[1] / "zk" / "circuits" / "hint_scenario_vol.circom"


def _proven_pnl(circuit, params, state, prices, tmp_path) -> list[int]:
    """Every part's witness, each checked against the twin (raises on any difference): the P&L."""
    up = update(state, prices, params, daily=False)
    out = []
    for part in up.parts:
        inp, exp = part_input(circuit.config, state, prices, params, part.part, part.prev)
        wit, _ = compute_checked_witness(circuit.wasm, circuit.sym_path, inp, exp, "option",
                                         tmp_path / f"{id(params)}-{part.part}.wtns")
        sym = read_sym(circuit.sym_path)
        out += [wit[sym[f"main.scen[{i}].pnl"]] for i in range(len(part.pnl))]
        assert out[-len(part.pnl):] == [v % FIELD_PRIME for v in part.pnl]
    return out


def test_a_skew_shock_changes_the_proven_option_pnl_exactly_as_the_twin_says(tmp_path):
    params = small_params()
    assert any(k != 0 for row in params.skew_shock for k in row)
    flat = dataclasses.replace(params, skew_shock=tuple((0,) * params.n_assets for _ in params.skew_shock))
    circuit = compiled(params, "option")
    state = synthetic_state(params, 1)
    prices = tuple(int(p * 0.97) for p in state.price)
    with_skew = _proven_pnl(circuit, params, state, prices, tmp_path)
    without = _proven_pnl(circuit, flat, state, prices, tmp_path)
    twin = [p for part in update(state, prices, params, daily=False).parts for p in part.pnl]
    twin_flat = [p for part in update(state, prices, flat, daily=False).parts for p in part.pnl]
    diffs = [a - b for a, b in zip(twin, twin_flat)]
    assert all(d != 0 for d in diffs)                       # every scenario here has kappa m != 0
    assert [(a - b) % FIELD_PRIME for a, b in zip(with_skew, without)] == [d % FIELD_PRIME for d in diffs]


@pytest.fixture
def circuits_copy(tmp_path):
    from calcm.audit.circuit import tmp_parent
    from calcm.paths import CIRCUITS

    copy = Path(shutil.copytree(CIRCUITS, tmp_parent() / f"noskew-{tmp_path.name}" / "circuits"))
    yield copy
    shutil.rmtree(copy.parent, ignore_errors=True)


@pytest.mark.parametrize("shock, skew, m", [(30704, -32768, -296901996), (-45000, -65536, 272105472)])
def test_scenario_vol_without_its_skew_term_fails_the_twin(circuits_copy, tmp_path, shock, skew, m):
    """The honest ScenarioVol's pinned remainder r = 2^41 + u - 2 u w is the twin's; with the
    skew term planted out of u (`u <== 2 ** 16 + shock;`) it is not (u and w both move)."""
    from calcm.audit.harness import compile_harness

    src = circuits_copy / "model" / "vol_shock.circom"
    text = src.read_text()
    assert text.count("u <== 2 ** 16 + shock + km.out;") == 1
    src.write_text(text.replace("u <== 2 ** 16 + shock + km.out;", "u <== 2 ** 16 + shock;"))
    u, w = vol_multiplier(shock, skew, m)
    inp = {"shock": str(shock % FIELD_PRIME), "skew": str(skew % FIELD_PRIME), "m": str(m % FIELD_PRIME)}
    remainders = {}
    for label, circuits in (("honest", None), ("planted", circuits_copy)):
        c = compile_harness(f"ScenarioVol ({label})", HARNESS.read_text(), *([circuits] if circuits else []))
        wit = calculate_witness(c.wasm, inp, tmp_path / f"{label}.wtns")
        remainders[label] = wit[read_sym(c.sym)["main.t.r"]]
    assert remainders["honest"] == 2**41 + u - 2 * u * w
    u0, w0 = vol_multiplier(shock, 0, m)                     # what the planted circuit computes
    assert remainders["planted"] == 2**41 + u0 - 2 * u0 * w0 != remainders["honest"]

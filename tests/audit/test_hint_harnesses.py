"""The auditor's hint mutations and single-signal probe over EVERY template of circuits/ (and
circuits/model/) that holds a `<--` (issue 13, item 5): each runs on a small harness
(tests/zk/circuits/hint_*.circom: the template alone), so a hint left unpinned anywhere
fails `make test`, not only in the templates the small builds' sampled probes reach.

The harnesses are compiled once per source hash (calcm.audit.harness) and the mutation
verdicts are cached by the sources they depend on.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from calcm.audit.harness import compile_harness, harness_checks, project_hint_templates
from calcm.fixedpoint import FIELD_PRIME
from calcm.risk.fixed_margin import tail_selection
from calcm.zk.model_circuit import pack_prices

HARNESSES = Path(__file__).resolve().parents[1] / "zk" / "circuits"


def _f(x: int) -> str:
    return str(x % FIELD_PRIME)


def _tail_input(losses: list[int], k: int) -> dict:
    bits, threshold, last = tail_selection(tuple(losses), k)
    return {"loss": [_f(v) for v in losses], "inTail": [str(b) for b in bits],
            "tailStep": ["1" if s <= last else "0" for s in range(len(losses))], "threshold": _f(threshold)}


#: template -> (harness file, honest inputs). Inputs sit inside each template's stated ranges and
#: exercise its branches (negative numerators, ties in the tail, a negative return).
CASES = {
    "FloorDiv": ("hint_floor_div.circom", [{"num": "123456789012", "den": "10000"}, {"num": "9999", "den": "10000"}]),
    "CeilDiv": ("hint_ceil_div.circom", [{"num": "123456789012", "den": "9999"}, {"num": "0", "den": "7"}]),
    "SignedCeilDiv": ("hint_signed_ceil_div.circom", [{"num": _f(-123456789), "den": "10000"},
                                                      {"num": "5000001", "den": "10000"}]),
    "TailSum": ("hint_tail_sum.circom", [_tail_input([5, -3, 7, 5], 2), _tail_input([-2, -2, -2, -9], 2)]),
    "ReturnFloor": ("hint_return_floor.circom", [{"p1": "123456789", "minRetBps": _f(-5000)},
                                                 {"p1": "1", "minRetBps": _f(-9999)}]),
    "PricePack": ("hint_price_pack.circom", [{"price": ["123456789", "987654321"],
                                              "packed": [str(pack_prices([123456789, 987654321])[0])]}]),
    "ISqrt": ("hint_isqrt.circom", [{"x": "12345678901234"}, {"x": str(2**40 - 1)}]),
    "LnInt": ("hint_ln_int.circom", [{"x": "123456789"}, {"x": "1"}]),
    "SimpleReturn": ("hint_simple_return.circom", [{"p0": "100000000", "p1": "90000001"},
                                                   {"p0": "3", "p1": "7"}]),
    # a crash row's skew on an in-the-money put (m < 0), and the lowest multiplier u = 2^14
    "ScenarioVol": ("hint_scenario_vol.circom", [{"shock": "30704", "skew": _f(-32768), "m": _f(-296901996)},
                                                 {"shock": _f(-45000), "skew": _f(-65536), "m": "272105472"}]),
}


def test_every_template_with_a_hint_has_a_harness():
    """The list is the sources' own: a new `<--` in a template without a harness fails here."""
    found = project_hint_templates()
    assert found, "the source scan found no `<--` at all"
    assert set(found) == set(CASES), {"without a harness": sorted(set(found) - set(CASES)),
                                      "stale harness": sorted(set(CASES) - set(found))}


@pytest.mark.slow
@pytest.mark.parametrize("template", sorted(CASES))
def test_hints_pinned_and_no_free_wire_in_every_template(template):
    file, inputs = CASES[template]
    circuit = compile_harness(f"harness {template}", (HARNESSES / file).read_text())
    single, hints = harness_checks(circuit, template, inputs, (1, -1))
    # Every wire of the harness is altered alone (public outputs included): none is free.
    assert single.status == "PASS", single.details[:5]
    assert single.counts["wires probed"] == single.counts["wires in the circuit"]
    # Every hint of the template, every delta (and a flip of a boolean hint): rejected by the R1CS.
    sites = project_hint_templates()[template]
    assert hints.counts["hints"] == len(sites) > 0
    assert hints.status == "PASS" and hints.counts.get("pinned") == hints.counts["mutations"], hints.details


@pytest.mark.slow
def test_an_unpinned_hint_fails_its_harness(tmp_path):
    """The harness check is real: with Euclid's equation deleted from FloorDiv (a `<--` left
    unpinned but for range checks), the hint mutations forge a second witness for each hint.
    (The single-signal probe cannot: quot and its range-check bits must move together.)"""
    import shutil

    from calcm.audit.circuit import tmp_parent
    from calcm.paths import CIRCUITS

    copy = Path(shutil.copytree(CIRCUITS, tmp_parent() / f"unpinned-{tmp_path.name}" / "circuits"))
    try:
        src = copy / "division.circom"
        text = src.read_text()
        assert text.count("    num === quot * den + rem;\n") == 1
        src.write_text(text.replace("    num === quot * den + rem;\n", ""))
        file, inputs = CASES["FloorDiv"]
        circuit = compile_harness("harness FloorDiv (unpinned)", (HARNESSES / file).read_text(), copy)
        _, hints = harness_checks(circuit, "FloorDiv", inputs, (1,))
        assert hints.status == "FAIL" and hints.counts.get("UNDER-CONSTRAINED") == 2, hints.details
    finally:
        shutil.rmtree(copy.parent, ignore_errors=True)

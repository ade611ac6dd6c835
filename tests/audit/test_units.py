"""The audit's building blocks on small, hand-made inputs (no circuit, no node: fast)."""
from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from calcm.audit import cases as C
from calcm.audit.r1cs import Constraint, R1cs
from calcm.audit.report import FAIL, PASS, SKIP, WARN, AuditReport, Check
from calcm.audit.mutation import solve_public
from calcm.audit.soundness import free_wires
from calcm.audit.sources import blank_comments, mutate, scan_text
from calcm.audit.transparency import independent_float_hash, independent_param_hash
from calcm.audit.wasm import _uleb, _leb
from calcm.fixedpoint import FIELD_PRIME, MONEY_BITS, QTY_BITS
from calcm.risk.fixed_margin import margin_fx
from calcm.zk.config import SMALL

P = FIELD_PRIME

# ---------------------------------------------------------------------------- source scan

ISZERO = """
template IsZeroLike() {
    signal input in;
    signal output out;
    signal inv;
    // a comment with <-- in it is ignored
    inv <-- in != 0 ? 1 / in : 0;
    out <== -in * inv + 1;
    in * out === 0;
}
"""

DIVISION = """
template Div() {
    signal input num;
    signal output q;
    signal r;
    q <-- num \\ 7;
    r <-- num % 7;
    num === q * 7 + r;
    component rb = Num2Bits(3);
    rb.in <== r;
}
"""

UNPINNED = """
template Leak() {
    signal input a;
    signal output b;
    signal output c;
    b <-- a * 2;
    c <== b + 1;
}
"""

ARROW = """
template Arrow() {
    signal input a;
    signal t;
    a * 3 --> t;
    component k = Num2Bits(8);
    t ==> k.in;
}
"""


def test_iszero_pattern_is_pinned_through_one_local_signal():
    (site,) = scan_text("x.circom", ISZERO)
    assert (site.template, site.target, site.line) == ("IsZeroLike", "inv", 7)
    assert site.pinned and "in * out === 0" in site.pinned_by[-1]


def test_division_hints_pinned_by_euclid_and_range_check():
    q, r = scan_text("d.circom", DIVISION)
    assert q.pinned_by == ("line 8: num === q * 7 + r",)
    assert r.pinned_by == ("line 8: num === q * 7 + r", "line 10: rb.in <== r")


def test_hint_feeding_only_a_local_signal_is_not_pinned():
    (site,) = scan_text("l.circom", UNPINNED)
    assert not site.pinned and site.base == "b"


def test_reverse_arrow_hint_and_reverse_component_input():
    (site,) = scan_text("a.circom", ARROW)
    assert site.target == "t" and site.pinned_by == ("line 7: t ==> k.in",)


def test_mutation_shifts_only_the_hint_expression():
    q, _ = scan_text("d.circom", DIVISION)
    out = mutate(DIVISION, q, -1)
    assert "q <-- (num \\ 7) + (-1);" in out
    assert out.replace("(num \\ 7) + (-1)", "num \\ 7") == DIVISION
    (arrow,) = scan_text("a.circom", ARROW)
    assert "(a * 3) + (1) --> t;" in mutate(ARROW, arrow, 1)


BITS = """
template Bits() {
    signal input x;
    signal b[4];
    for (var j = 0; j < 4; j++) {
        b[j] <-- (x >> j) & 1;
        b[j] * (b[j] - 1) === 0;
    }
}
"""


def test_boolean_hint_gets_a_flip_mutation():
    (site,) = scan_text("b.circom", BITS)
    assert site.boolean and not scan_text("d.circom", DIVISION)[0].boolean
    assert "b[j] <-- 1 - ((x >> j) & 1);" in mutate(BITS, site, "flip")


def test_blank_comments_keeps_offsets_and_lines():
    text = "a // x <-- y\n/* b\n c */ d"
    out = blank_comments(text)
    assert len(out) == len(text) and out.count("\n") == text.count("\n")
    assert "<--" not in out and out.strip().endswith("d")


# ---------------------------------------------------------------------------- R1CS evaluation

def _toy() -> R1cs:
    # wires: 0 one, 1 public z, 2 x, 3 y, 4 an unconstrained wire, 5 s = x + y (linear)
    cons = [Constraint(((2, 1),), ((3, 1),), ((1, 1),)),            # x * y = z
            Constraint((), (), ((5, 1), (2, P - 1), (3, P - 1)))]   # 0 = s - x - y
    return R1cs(P, 6, 0, 1, 2, cons)


def test_evaluator_and_single_signal_freedom():
    r = _toy()
    w = [1, 12, 3, 4, 99, 7]
    assert r.failing(w) == []
    assert r.failing([1, 13, 3, 4, 99, 7]) == [0]
    assert r.failing([2, 12, 3, 4, 99, 7]) == [-1]       # wire 0 must be the constant one
    free = free_wires(r, w, (1, -1, 12345))
    assert set(free) == {4}                               # only the wire in no constraint
    assert r.uses(4) == [] and r.uses(2) == [0, 1]


def test_public_signal_resolved_from_a_linear_constraint():
    r = _toy()
    w = [1, 12, 5, 4, 0, 9]                               # x changed: x * y = 20, z still 12
    assert r.failing(w) == [0]
    assert solve_public(r, w, [0]) == {1: 20}


# ---------------------------------------------------------------------------- report

def test_report_fails_on_any_failed_check_and_lists_every_check():
    rep = AuditReport([{"dir": "b", "kind": "margin", "config": "small", "constraints": 10,
                        "zkey_sha256": "ab" * 32}])
    rep.add(Check("equivalence", "eq", PASS, "ok", {"cases": 3}))
    rep.add(Check("setup", "rpc", SKIP, "no --rpc"))
    rep.add(Check("setup", "dev", WARN, "beacon"))
    assert rep.ok
    md = rep.to_markdown()
    assert "| PASS | eq | ok |" in md and "| SKIP | rpc | no --rpc |" in md and "**Result: PASS**" in md
    rep.add(Check("soundness", "hints", FAIL, "1 forged | x", details=["site: UNDER-CONSTRAINED"]))
    assert not rep.ok and rep.to_json()["status_counts"][FAIL] == 1
    md = rep.to_markdown()
    assert "**Result: FAIL**" in md and "1 forged \\| x" in md and "- site: UNDER-CONSTRAINED" in md
    with pytest.raises(ValueError):
        Check("nowhere", "x", PASS, "")


# ---------------------------------------------------------------------------- wasm helpers

@given(st.integers(0, 2**35))
def test_leb128_roundtrip(v):
    assert _leb(_uleb(v) + b"\xff", 0) == (v, len(_uleb(v)))


# ---------------------------------------------------------------------------- edge cases

def test_tier_boundary_cases_hit_every_tier_exactly_at_the_thresholds():
    cases = [c for c in C.edge_margin_cases(SMALL) if "tier threshold" in c.name]
    tiers = []
    for case in cases:
        for acc in case.accounts(SMALL.N):
            r = margin_fx(case.model, acc)
            tiers.append(r.tier)
            assert r.equity - r.mm in (-1, 0) or r.equity - r.im in (-1, 0) or r.tier in (0, 1)
    assert set(tiers) == {0, 1, 2, 3}


def test_range_bound_cases_sit_at_the_quantity_and_money_bounds():
    cases = [c for c in C.edge_margin_cases(SMALL) if "quantity bound" in c.name]
    assert cases                                  # a renamed case must not make this test vacuous
    for case in cases:
        acc = case.accounts(SMALL.N)[0]
        assert {abs(q) for q in acc.qty} == {2**QTY_BITS - 1}
        r = margin_fx(case.model, acc)
        assert 2**(MONEY_BITS - 1) < max(r.losses) < 2**MONEY_BITS
        assert 2**(MONEY_BITS - 1) < r.collateral_value < 2**MONEY_BITS


def test_tie_and_all_equal_cases():
    ties = next(c for c in C.edge_margin_cases(SMALL) if c.name.startswith("edge: ties"))
    r = margin_fx(ties.model, ties.accounts(SMALL.N)[0])
    assert sorted(r.losses, reverse=True)[SMALL.k] == r.threshold      # a tie across the tail edge
    flat = next(c for c in C.edge_margin_cases(SMALL) if "all scenarios equal" in c.name)
    assert len(set(margin_fx(flat.model, flat.accounts(SMALL.N)[0]).losses)) == 1


def test_random_cases_are_deterministic_and_spread_over_groups():
    a, b = C.random_margin_cases(SMALL, 4, seed=3), C.random_margin_cases(SMALL, 4, seed=3)
    assert a == b and len({c.group for c in a}) == 4
    assert C.random_margin_cases(SMALL, 1, seed=4)[0].model != a[0].model


# ---------------------------------------------------------------------------- transparency

@pytest.mark.parametrize("spec", ["SMALL", "OPTIONS"])
def test_independent_param_hash_matches_the_model(spec):
    from calcm.zk import model_synthetic as MS
    params = MS.synthetic_params(getattr(MS, spec), seed=11)
    params = replace(params, var_floor=tuple(2**40 + 7 * u for u in range(params.n_assets)))  # an APC floor
    published = params.to_json()
    assert independent_param_hash(published) == params.param_hash()
    floor = list(published["var_floor"])
    floor[-1] += 1
    assert independent_param_hash({**published, "var_floor": floor}) != params.param_hash()
    z = [list(r) for r in published["z"]]
    z[0][0] += 1
    assert independent_param_hash({**published, "z": z}) != params.param_hash()
    if params.options:                                       # hs[u][c]: the (S, U) skew shocks are bound
        skew = [list(r) for r in published["skew_shock"]]
        skew[-1][-1] += 1
        assert independent_param_hash({**published, "skew_shock": skew}) != params.param_hash()


def test_independent_float_params_hash():
    from calcm.risk.model import ModelParams
    mp = ModelParams()
    assert independent_float_hash(mp.to_json()) == mp.hash
    assert independent_float_hash(replace(mp, im_buffer=0.3).to_json()) != mp.hash


def test_params_for_config_has_the_circuit_structure():
    from calcm.zk.model_circuit import ModelCircuitConfig
    from calcm.zk.model_synthetic import OPTIONS, synthetic_params, synthetic_state
    config = ModelCircuitConfig.from_params(synthetic_params(OPTIONS, seed=2))
    params = C.params_for_config(config, seed=5)
    assert config.matches(params)
    blocks = C.model_cases(params, synthetic_state(params))
    assert any("crash" in b.name for b in blocks) and len(blocks) >= 6
    # chained: each block starts from the previous block's prices
    first_path = [b for b in blocks if b.name.startswith("random path #0")]
    assert all(x.state.step + 1 == y.state.step for x, y in zip(first_path, first_path[1:]))

"""Issue 13 A4: the margin circuit enforces the governance parameters' ranges itself.

- The generated circuits/constants.circom is current (the bounds come from calcm.fixedpoint).
- MarginParamRanges (a harness: the template alone) accepts exactly the values the fixed-point
  model accepts, at every bound: low - 1, low, high - 1, high, for every parameter.
- The SMALL margin circuit rejects an out-of-range parameter even when linCommitment commits
  to it (a parameter hash governance should never have published), and accepts the honest one.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from calcm.audit.circuit import wire_names
from calcm.audit.harness import compile_harness
from calcm.audit.r1cs import load_r1cs
from calcm.audit.wasm import calculate_many
from calcm.fixedpoint import BPS, FIELD_PRIME, RATE, FixedPointRangeError, Range
from calcm.risk.fixed_margin import PERP_MOVE
from calcm.zk.circuit_constants import check_constants

HARNESSES = Path(__file__).resolve().parents[1] / "zk" / "circuits"
HAIRCUT = Range("haircut (bps)", 0, BPS)      # MarginModelFx's haircut range

#: input name -> the fixed-point range MarginModelFx checks it against (calcm.risk.fixed_margin).
PARAMS = {"haircutBps": HAIRCUT, "weightBps": RATE, "imBufferBps": RATE, "warnBufferBps": RATE,
          "perpMove": PERP_MOVE}


def test_generated_constants_are_current():
    check_constants()


def _fx_accepts(rng: Range, v: int) -> bool:
    try:
        rng.check(v)
        return True
    except FixedPointRangeError:
        return False


def _base() -> dict:
    return {"haircutBps": ["0", "2500"], "weightBps": ["100", "0"],
            "imBufferBps": "2000", "warnBufferBps": "1000", "perpMove": ["0", "5000000"]}


@pytest.mark.slow
def test_param_range_checks_match_the_fixed_point_ranges_at_every_bound():
    circuit = compile_harness("harness MarginParamRanges", (HARNESSES / "param_ranges.circom").read_text())
    cases, expected = [], []
    for name, rng in PARAMS.items():
        for v in (rng.low - 1, rng.low, rng.low + 1, rng.high - 1, rng.high, rng.high + 1, -(2**20)):
            inp = _base()
            if isinstance(inp[name], list):
                inp[name] = [str(v % FIELD_PRIME), inp[name][1]]
            else:
                inp[name] = str(v % FIELD_PRIME)
            cases.append((name, v, inp))
            expected.append(_fx_accepts(rng, v))
    runs = calculate_many(circuit.wasm, [inp for _, _, inp in cases])
    got = [w.clean for w in runs]
    wrong = [(n, v, e) for (n, v, _), e, g in zip(cases, expected, got) if e != g]
    assert not wrong, wrong
    assert sum(expected) >= 3 * len(PARAMS) and not all(expected)
    # The harness's R1CS agrees with its generator (a rejected witness fails a constraint).
    r1cs = load_r1cs(circuit.r1cs)
    for w, ok in zip(runs, got):
        assert (r1cs.failing(w.values) == []) == ok


def _small_input(**bad: int) -> tuple[dict, object]:
    """A SMALL random batch's circuit input with ``bad`` parameters substituted and linCommitment
    recomputed over them (so only the range checks can reject it)."""
    from calcm.audit import cases as C
    from calcm.audit.equivalence import margin_expectations
    from calcm.poseidon import poseidon_sponge
    from calcm.risk.modelfx.commit import lin_elements
    from calcm.zk.config import SMALL
    from calcm.zk.prove import ContextInfo

    case = C.random_margin_cases(SMALL, 1, seed=7)[0]
    inp, _ = margin_expectations(SMALL, case, ContextInfo().value)
    md = case.model
    vals = {"imBufferBps": md.im_buffer_bps, "warnBufferBps": md.warn_buffer_bps, "haircutBps": list(md.haircut_bps),
            "adv": list(md.adv), "weightBps": list(md.liquidity_weight_bps), "perpMove": list(md.perp_move)}
    for key, v in bad.items():
        name, _, idx = key.partition("_")
        if idx:
            vals[name][int(idx)] = v
        else:
            vals[name] = v
    for name, v in vals.items():
        inp[name] = [str(x % FIELD_PRIME) for x in v] if isinstance(v, list) else str(v % FIELD_PRIME)
    elems = lin_elements(md.structure_id, md.n_scenarios, md.n_underlyings, md.n_instruments, md.n_collateral,
                         md.k_tail, vals["imBufferBps"], vals["warnBufferBps"], md.price, vals["adv"],
                         vals["weightBps"], vals["haircutBps"], vals["perpMove"], md.lin)
    inp["linCommitment"] = str(poseidon_sponge([e % FIELD_PRIME for e in elems]))
    return inp, SMALL


@pytest.mark.slow
def test_small_margin_circuit_rejects_an_out_of_range_committed_parameter():
    inp, config = _small_input()
    circuit = compile_harness("margin small", config.main_source())   # witness-level: no setup needed
    r1cs, names = load_r1cs(circuit.r1cs), wire_names(circuit.sym)
    bad_cases = {"negative IM buffer (im < mm)": dict(imBufferBps=-5000),
                 "negative warning buffer": dict(warnBufferBps=-1),
                 "haircut of 100%": dict(haircutBps_1=BPS),
                 "negative haircut (collateral over-credited)": dict(haircutBps_1=-2500),
                 "ADV of 0": dict(adv_0=0), "weight at 2^16": dict(weightBps_1=2**16),
                 "negative perp move (the charge a credit)": dict(perpMove_1=-1)}
    inputs = [inp] + [_small_input(**b)[0] for b in bad_cases.values()]
    runs = calculate_many(circuit.wasm, inputs)
    assert runs[0].clean and r1cs.failing(runs[0].values) == []
    for what, w in zip(bad_cases, runs[1:]):
        assert not w.clean, what
        if w.values is None:       # ADV 0: the honest generator divides by it, and the add-on's
            continue               # RemainderBelow has no remainder below 0 (adv is checked there)
        failing = r1cs.failing(w.values)
        hit = {n for i in failing for x in r1cs.constraints[i].wires() for n in names.get(x, [])
               if n.startswith("main.model.ranges.")}
        assert hit, (what, "rejected, but not by MarginParamRanges")


@pytest.mark.slow
def test_without_the_range_checks_a_negative_im_buffer_is_provable(tmp_path):
    """Failing before: the margin circuit of HEAD (no MarginParamRanges) accepts a complete witness
    for a committed IM buffer of -50% (im = mm / 2 < mm: HealthTier's nesting is broken), with
    packedResult claimed as the circuit computes it. The current circuit rejects it (above)."""
    import shutil

    from calcm.audit.aliases import solve_claimed
    from calcm.audit.circuit import tmp_parent
    from calcm.paths import CIRCUITS
    from calcm.zk.wtns import read_sym

    copy = Path(shutil.copytree(CIRCUITS, tmp_parent() / f"noranges-{tmp_path.name}" / "circuits"))
    try:
        top = copy / "margin_batch.circom"
        text = top.read_text()
        start = text.index("    component ranges = MarginParamRanges(U, m);")
        last = "ranges.perpMove <== perpMove;\n"
        end = text.index(last) + len(last)
        top.write_text(text[:start] + text[end:])
        inp, config = _small_input(imBufferBps=-5000)
        old = compile_harness("margin small without parameter ranges", config.main_source(), copy)
        r1cs, sym = load_r1cs(old.r1cs), read_sym(old.sym)
        w = calculate_many(old.wasm, [inp])[0]
        failing = r1cs.failing(w.values)
        if failing:      # only the claimed packedResult can differ: claim what the circuit computes
            inp["packedResult"] = str(solve_claimed(r1cs, w.values, failing, sym["main.packedResult"]))
            w = calculate_many(old.wasm, [inp])[0]
        assert r1cs.failing(w.values) == []
        # MM does not depend on the IM buffer: the fixed-point model's, for the same accounts.
        from calcm.audit import cases as C
        from calcm.risk.fixed_margin import margin_fx
        case = C.random_margin_cases(config, 1, seed=7)[0]
        mm = [margin_fx(case.model, acc).mm for acc in case.accounts(config.N)]
        im = [w.values[sym[f"main.margin[{a}].im"]] for a in range(config.N)]
        assert any(0 < i < m for i, m in zip(im, mm)), (im, mm)       # IM below MM, proven
    finally:
        shutil.rmtree(copy.parent, ignore_errors=True)

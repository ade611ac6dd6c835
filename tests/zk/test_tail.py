"""The ES tail without sorting, with the published tie rule (docs/CIRCUITS.md §1, ``TailSum``).

Exactly one tail is accepted: the first k scenarios in the order (loss descending,
index ascending), with ``tailStep`` the step ``[s <= sT]`` at the k-th of them and
``threshold = loss[sT]``. Every other selection, step or threshold is rejected,
whatever the other hints are set to (the forger gets to choose them).
"""
from __future__ import annotations

import copy
import random

import pytest

from calcm.audit.wasm import calculate_many
from calcm.fixedpoint import to_field
from calcm.risk.fixed_margin import AccountFx, MarginModelFx, margin_fx
from calcm.zk.synthetic import random_model
from calcm.zk.witness import WitnessRejected, batch_input, venue_tree

from .conftest import PROP, run_batch

pytestmark = pytest.mark.slow

S, K = PROP.S, PROP.k


def _model(lin0: list[int]) -> MarginModelFx:
    """Only underlying 0 moves (``lin0[s]`` per unit); instrument 0 is spot on it; no add-on."""
    base = random_model(PROP, random.Random(5))
    lin = tuple((v,) + (0,) * (PROP.U - 1) for v in lin0)
    return MarginModelFx(price=base.price, lin=lin, opt=(), opt_mark=(), opt_expo=(),
                         haircut_bps=base.haircut_bps, adv=base.adv, liquidity_weight_bps=(0,) * PROP.U,
                         k_tail=K, im_buffer_bps=base.im_buffer_bps, warn_buffer_bps=base.warn_buffer_bps,
                         kinds=PROP.kinds, under=PROP.under, coll=PROP.coll, chunks=PROP.C)


def _accounts(q0s):
    return [AccountFx((q,) + (0,) * (PROP.n - 1), (10**8, 0), 99 + a) for a, q in enumerate(q0s)]


def _step(last: int) -> list[int]:
    return [1 if s <= last else 0 for s in range(S)]


def _set(inp, a, bits, step=None, threshold=None):
    inp["inTail"][a] = [str(b) for b in bits]
    if step is not None:
        inp["tailStep"][a] = [str(e) for e in step]
    if threshold is not None:
        inp["threshold"][a] = str(to_field(threshold))


def _forged(circuit, model, accounts, forgeries) -> list[dict]:
    """Honest batch input with account 0's hints replaced by each ``(bits, step, threshold)``."""
    inp, _ = batch_input(circuit.config, model, accounts, 0, venue_tree(accounts, circuit.config), 7)
    out = [inp]                                          # the honest input first: it must pass
    for bits, step, thr in forgeries:
        f = copy.deepcopy(inp)
        _set(f, 0, bits, step, thr)
        out.append(f)
    return out


def _rejected_for_every_step(circuit, model, accounts, bits, losses, threshold=None):
    """``bits`` is rejected with every one-hot step position sT and threshold loss[sT] (or
    ``threshold``): S witnesses in one run of the circuit's own generator (calcm.audit.wasm)."""
    forgeries = [(bits, _step(last), losses[last] if threshold is None else threshold) for last in range(S)]
    honest, *runs = calculate_many(circuit.wasm, _forged(circuit, model, accounts, forgeries))
    assert honest.clean and len(runs) == S and not [last for last, w in enumerate(runs) if w.clean]


def test_ties_go_to_the_lower_index_and_no_other_tie_break_passes(prop_circuit, tmp_path):
    # Losses (q0 = -1): 5, 5, 5, 5, 3, 3, ... : the top 3 are the first three of four tied 5s.
    lin0 = [5_000_000] * 4 + [3_000_000] * (S - 4)
    model = _model(lin0)
    accounts = _accounts([-1, -1, -10_000, 7])
    ref = margin_fx(model, accounts[0])
    assert ref.tail_bits[:4] == (1, 1, 1, 0) and ref.tail_last == 2 and ref.threshold == 5_000_000
    run = run_batch(prop_circuit, model, accounts, tmp_path)           # the published tail passes
    assert run.value("main.margin[0].es") == ref.es == 5_000_000
    for alt in ([0, 1, 1, 1], [1, 0, 1, 1], [1, 1, 0, 1]):              # same ES, another tie-break
        _rejected_for_every_step(prop_circuit, model, accounts, alt + [0] * (S - 4), ref.losses)


def test_all_losses_equal(prop_circuit, tmp_path):
    model = _model([1_000_000] * S)
    accounts = _accounts([-1, 1, 0, -123_456])
    run = run_batch(prop_circuit, model, accounts, tmp_path)
    assert run.value("main.margin[0].es") == 1_000_000  # every loss is the tail mean
    assert run.value("main.margin[1].es") == 0          # negative tail mean floors at 0
    assert run.inp["inTail"][0] == ["1"] * K + ["0"] * (S - K)
    assert run.inp["tailStep"][0] == ["1"] * K + ["0"] * (S - K)


SELECTIONS = {
    "smaller_loss_selected": [1] + [0] * (S - K) + [1] * (K - 1),
    "too_few": [0] * (S - K + 1) + [1] * (K - 1),
    "too_many": [0] * (S - K - 1) + [1] * (K + 1),
    "non_boolean": [0] * (S - K) + [2] + [1] * (K - 2) + [0],
    "none": [0] * S,
}


@pytest.mark.parametrize("case", sorted(SELECTIONS))
def test_invalid_selection_is_rejected_whatever_the_step(prop_circuit, tmp_path, case):
    lin0 = [(s + 1) * 1_000_000 for s in range(S)]          # q0 = -1: loss[s] = s + 1 (x1e6 money)
    model = _model(lin0)
    accounts = _accounts([-1, -1, -1, -1])
    ref = margin_fx(model, accounts[0])
    assert ref.tail_bits == (0,) * (S - K) + (1,) * K and ref.tail_last == S - K
    run_batch(prop_circuit, model, accounts, tmp_path)      # the honest witness passes
    _rejected_for_every_step(prop_circuit, model, accounts, SELECTIONS[case], ref.losses)


STEP_FORGERIES = {
    "threshold_above_selected": (None, (S - K + 1) * 1_000_000 + 1),
    "threshold_below_unselected": (None, (S - K) * 1_000_000 - 1),
    "threshold_of_another_selected": (None, S * 1_000_000),
    "step_at_another_selected": (_step(S - 1), None),
    "step_one_early": (_step(S - K - 1), None),
    "step_not_monotone": ([1] * (S - K + 1) + [0] + [1] * (K - 2), None),
    "step_empty": ([0] * S, None),
    "step_full": ([1] * S, None),
}


@pytest.mark.parametrize("case", sorted(STEP_FORGERIES))
def test_the_honest_selection_with_a_forged_step_or_threshold_is_rejected(prop_circuit, tmp_path, case):
    lin0 = [(s + 1) * 1_000_000 for s in range(S)]
    model = _model(lin0)
    accounts = _accounts([-1, -1, -1, -1])
    bits = [0] * (S - K) + [1] * K
    step, thr = STEP_FORGERIES[case]
    with pytest.raises(WitnessRejected):
        run_batch(prop_circuit, model, accounts, tmp_path, tweak=lambda inp: _set(inp, 0, bits, step, thr))

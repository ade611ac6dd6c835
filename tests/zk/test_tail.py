"""The ES tail without sorting: any valid selection is accepted, every invalid one rejected."""
from __future__ import annotations

import random

import pytest

from calcm.fixedpoint import to_field
from calcm.risk.fixed_margin import AccountFx, MarginModelFx, margin_fx
from calcm.zk.synthetic import random_model
from calcm.zk.witness import WitnessRejected

from .conftest import PROP, run_batch

pytestmark = pytest.mark.slow

S, K = PROP.S, PROP.k


def _model(pnl0: list[int]) -> MarginModelFx:
    """Only instrument 0 has scenario P&L (``pnl0[s]`` per unit); no add-on."""
    base = random_model(PROP, random.Random(5))
    pnl = tuple((v,) + (0,) * (PROP.n - 1) for v in pnl0)
    return MarginModelFx(pnl, base.mark, base.exposure, base.collateral_price, base.haircut_bps,
                         base.adv, (0,) * PROP.U, K, base.im_buffer_bps, base.warn_buffer_bps)


def _accounts(q0s):
    return [AccountFx((q,) + (0,) * (PROP.n - 1), (10**8, 0), 99 + a) for a, q in enumerate(q0s)]


def _set(inp, a, bits, threshold=None):
    inp["inTail"][a] = [str(b) for b in bits]
    if threshold is not None:
        inp["threshold"][a] = str(to_field(threshold))


def test_ties_any_valid_selection_gives_the_same_es(prop_circuit, tmp_path):
    # Losses (q0 = -1): 5, 5, 5, 5, 3, 3, ... : the top 3 are three of four tied 5s.
    pnl0 = [5_000_000] * 4 + [3_000_000] * (S - 4)
    model = _model(pnl0)
    accounts = _accounts([-1, -1, -10_000, 7])
    ref = run_batch(prop_circuit, model, accounts, tmp_path)
    assert margin_fx(model, accounts[0]).tail_bits[:4] == (1, 1, 1, 0)   # reference: lowest index
    alt = [0, 1, 1, 1] + [0] * (S - 4)                                   # another tie-break
    run = run_batch(prop_circuit, model, accounts, tmp_path, tweak=lambda inp: _set(inp, 0, alt))
    for sig in ("es", "im", "tier"):
        name = f"main.margin[0].{sig}"
        assert run.value(name) == ref.value(name)
    assert run.value("main.packedResult") == ref.value("main.packedResult")


def test_all_losses_equal(prop_circuit, tmp_path):
    model = _model([1_000_000] * S)
    accounts = _accounts([-1, 1, 0, -123_456])
    run = run_batch(prop_circuit, model, accounts, tmp_path)
    assert run.value("main.margin[0].es") == 1_000_000  # every loss is the tail mean
    assert run.value("main.margin[1].es") == 0          # negative tail mean floors at 0


@pytest.mark.parametrize("case", ["smaller_loss_selected", "too_few", "too_many", "non_boolean",
                                  "threshold_above_selected", "threshold_below_unselected"])
def test_invalid_selection_is_rejected(prop_circuit, tmp_path, case):
    pnl0 = [(s + 1) * 1_000_000 for s in range(S)]          # q0 = -1: loss[s] = s + 1 (x1e6 money)
    model = _model(pnl0)
    accounts = _accounts([-1, -1, -1, -1])
    top = [0] * (S - K) + [1] * K                           # the K largest are the last K
    bits, thr = {
        "smaller_loss_selected": ([1] + [0] * (S - K) + [1] * (K - 1), None),
        "too_few": ([0] * (S - K + 1) + [1] * (K - 1), None),
        "too_many": ([0] * (S - K - 1) + [1] * (K + 1), None),
        "non_boolean": ([0] * (S - K) + [2] + [1] * (K - 2) + [0], None),
        "threshold_above_selected": (top, (S - K + 1) * 1_000_000 + 1),
        "threshold_below_unselected": (top, (S - K) * 1_000_000 - 1),
    }[case]
    run_batch(prop_circuit, model, accounts, tmp_path)      # the honest witness passes
    with pytest.raises(WitnessRejected):
        run_batch(prop_circuit, model, accounts, tmp_path, tweak=lambda inp: _set(inp, 0, bits, thr))

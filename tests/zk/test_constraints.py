"""Constraint budget: cost per account-scenario (issue 12 item 4), public inputs, and the small build's fit.

Cost per account-scenario is measured as issue 12 asks: the constraint difference
between two compiled shapes one scenario apart, per account. The batch also hashes
one more ``lin`` value per underlying and one more ``opt`` value per option (an
S-box of the sponge's first round each, amortised over the batch); comparing the
difference at N = 1 and N = 2 separates the per-account cost from it.
"""
from __future__ import annotations

import pytest

from calcm.zk.config import SMALL, CircuitConfig
from calcm.zk.setup import cached_compile
from calcm.zk.toolchain import r1cs_info

pytestmark = pytest.mark.slow

B = 64  # tail comparison width NB (MONEY_BITS + 1)
#: U = 1 underlying, one linear and one option instrument. S = 15 and 16 keep every sponge at the
#: same number of Poseidon calls (lin: 14 + S <= 30 elements; each option segment: 2 + S <= 30).
SHAPE = dict(D=1, n=3, U=1, m=1, k=2, kinds=(0, 1, 2), under=(0, 0, 0), coll=(-1,))


def _constraints(S: int, N: int) -> int:
    cfg = CircuitConfig(f"cost-S{S}-N{N}", N=N, S=S, **SHAPE)
    return cached_compile(cfg)[1]["constraints"]


def test_cost_per_account_scenario_within_budget():
    d1 = _constraints(16, 1) - _constraints(15, 1)
    d2 = _constraints(16, 2) - _constraints(15, 2)
    per_account = d2 - d1
    U, n_opt = SHAPE["U"], 1
    assert per_account <= U + n_opt + B + 4
    assert per_account == U + n_opt + B + 4          # U + n_opt products, tail B + 4 (tail.circom)
    # The batch-level remainder is the sponge's first-round S-boxes of the U + n_opt new values.
    assert d1 - per_account == 3 * (U + n_opt)


def test_small_build_has_five_public_inputs_and_fits_power_13(small_build):
    info = r1cs_info(small_build.r1cs)
    assert (info.n_pub_in, info.n_pub_out) == (5, 0)
    assert info.min_ptau_power() <= 13
    assert small_build.manifest["public_signals"] == ["accountsRoot", "linCommitment", "optCommitment",
                                                      "context", "packedResult"]
    assert small_build.config.structure() == SMALL.structure()

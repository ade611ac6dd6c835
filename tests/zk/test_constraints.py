"""Constraint budget: cost per account-scenario, public inputs, and the small config's fit."""
from __future__ import annotations

import pytest

from calcm.zk.bench import account_constraints
from calcm.zk.config import SMALL
from calcm.zk.toolchain import r1cs_info

from .conftest import PROP

pytestmark = pytest.mark.slow

B = 64  # range-check bits of the tail (MONEY_BITS + 1)


@pytest.mark.parametrize("cfg", [SMALL, PROP], ids=["small", "prop"])
def test_cost_per_account_scenario_within_bound(cfg):
    # One more scenario for one account: n products + boolean + signed distance + B bits.
    c0 = account_constraints(8, cfg.n, cfg.U, cfg.m, cfg.k)
    c1 = account_constraints(16, cfg.n, cfg.U, cfg.m, cfg.k)
    per = (c1 - c0) / 8
    assert per <= cfg.n + B + 4
    assert per == cfg.n + B + 2


def test_small_build_has_four_public_inputs_and_fits_power_13(small_build):
    info = r1cs_info(small_build.r1cs)
    assert (info.n_pub_in, info.n_pub_out) == (4, 0)
    assert info.min_ptau_power() <= 13
    assert small_build.manifest["public_signals"] == ["accountsRoot", "scenarioCommitment", "context",
                                                      "packedResult"]

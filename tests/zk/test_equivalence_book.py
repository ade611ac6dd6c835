"""Whole-book equivalence at published parameters (issue 12 item 3), at witness level.

The bundled book (17 accounts, 13 instruments, 5 collateral assets, 5 underlyings,
S = 534, k = 6) and its published model (:mod:`calcm.risk.published`): the margin
circuit of exactly that structure (compiled once per source hash, wasm + sym only,
``--O1``), one witness per batch, and for every account the circuit's outputs
(ES, add-on, MM, IM, equity, tier via the ``.sym`` map) equal
:func:`~calcm.risk.fixed_margin.margin_fx` on the published model AND the
numbers ``calcm margin --json`` prints. The public signals (accounts root, both
commitments, context, packed tiers) equal the reference's.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from calcm.fixedpoint import FIELD_PRIME
from calcm.market import load_market
from calcm.paths import DEFAULT_BOOK, DEFAULT_MARKET, DEFAULT_VOLUMES
from calcm.risk.book import load_book
from calcm.risk.fixed_margin import encode_book_accounts, margin_fx
from calcm.risk.published import published_model
from calcm.zk.config import config_for_model
from calcm.zk.witness import (batch_input, calculate_witness, compare_witness, compile_for_witness,
                              group_accounts, venue_tree)
from calcm.zk.wtns import read_sym

pytestmark = pytest.mark.slow
#: Accounts per batch of the equivalence build: N = 1 compiles fastest (measured, docs/CIRCUITS.md).
N_EQUIV = 1
D_EQUIV = 5
OUTPUTS = ("es", "addon", "mm", "im", "collateralValue", "equity", "tier")
FIELDS = {"es": "es", "addon": "addon", "mm": "mm", "im": "im", "collateralValue": "collateral_value",
          "equity": "equity", "tier": "tier"}


@pytest.fixture(scope="module")
def bundled():
    book = load_book(DEFAULT_BOOK)
    pm = published_model(load_market(DEFAULT_MARKET, DEFAULT_VOLUMES), book)
    return book, pm, encode_book_accounts(book)


@pytest.fixture(scope="module")
def margin_json():
    res = subprocess.run([str(Path(sys.executable).parent / "calcm"), "margin", "--json"],
                         capture_output=True, text=True, check=True)
    return json.loads(res.stdout)


def test_published_structure_is_the_whole_book(bundled):
    book, pm, accounts = bundled
    st = pm.model.structure()
    assert (len(accounts), st["n"], st["m"], st["U"], st["S"], st["k"]) == (17, 13, 5, 5, 534, 6)
    assert st["kinds"].count(2) + st["kinds"].count(3) == 6


def test_every_account_circuit_equals_reference_and_calcm_margin(bundled, margin_json, tmp_path):
    book, pm, accounts = bundled
    config = config_for_model(pm.model, N=N_EQUIV, D=D_EQUIV, name="bundled-equiv")
    d = compile_for_witness(config)
    sym = read_sym(d / "main.sym")
    tree = venue_tree(accounts, config)
    commitments = (pm.lin_commitment, pm.opt_commitment)
    by_id = {a["id"]: a for a in margin_json["accounts"]}
    assert margin_json["model"]["published"]["lin_commitment"] == str(pm.lin_commitment)
    assert margin_json["model"]["published"]["opt_commitment"] == str(pm.opt_commitment)
    checked = 0
    for g in range(-(-len(accounts) // config.N)):
        group = group_accounts(accounts, g, config)
        inp, expected = batch_input(config, pm.model, group, g, tree, 12345, None, commitments)
        wit = calculate_witness(d / "main_js" / "main.wasm", inp, tmp_path / f"g{g}.wtns")
        compare_witness(wit, sym, expected)              # public signals and surviving outputs
        for a, acc in enumerate(group):
            leaf = g * config.N + a
            if leaf >= len(accounts):
                continue
            ref = margin_fx(pm.model, acc)
            printed = by_id[book.accounts[leaf].id]["fixed_point"]
            for sig in OUTPUTS:
                got = wit[sym[f"main.margin[{a}].{sig}"]]
                want = getattr(ref, FIELDS[sig])
                assert got == want % FIELD_PRIME, (book.accounts[leaf].id, sig)
                if sig == "tier":
                    assert printed["tier_code"] == want
                else:
                    assert int(printed["raw"][FIELDS[sig]]) == want, (book.accounts[leaf].id, sig)
            checked += 1
    assert checked == 17

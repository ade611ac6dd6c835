"""``calcm bench book``'s equivalence rows: real witness values against ``calcm margin``.

The rows of two bundled accounts are built the way the benchmark builds them (the published
fixed-point result beside the circuit's own witness values and tier), on the whole-book
equivalence circuit (compiled once, shared with tests/zk/test_equivalence_book.py). They
match; perturbing one account's recorded tier, MM, IM or equity makes ``matches_margin`` false.
"""
from __future__ import annotations

import pytest

from calcm.bench.book import COMPARED, account_row, compare_rows, witness_values
from calcm.market import load_market
from calcm.paths import DEFAULT_BOOK, DEFAULT_MARKET, DEFAULT_VOLUMES
from calcm.risk.book import load_book
from calcm.risk.fixed_margin import encode_book_accounts
from calcm.risk.report import margin_report
from calcm.zk.config import config_for_model
from calcm.zk.witness import compile_for_witness, group_accounts, venue_tree

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rows():
    book = load_book(DEFAULT_BOOK)
    rep = margin_report(load_market(DEFAULT_MARKET, DEFAULT_VOLUMES), book)
    model = rep.published.model
    accounts = encode_book_accounts(book)
    config = config_for_model(model, N=1, D=5, name="bundled-equiv")   # the equivalence build
    d = compile_for_witness(config)
    tree = venue_tree(accounts, config)
    out = []
    for leaf in (0, 12):                                                  # a basis trade, the whale
        (vals,) = witness_values(d / "main_js" / "main.wasm", d / "main.sym", config, model,
                                 group_accounts(accounts, leaf, config), leaf, tree, 7)
        out.append(account_row(book.accounts[leaf].id, leaf, leaf, rep.fixed[leaf], vals, None, None))
    return out


def test_rows_of_the_bundled_book_match(rows):
    assert all(r["proven"][f] is not None for r in rows for f in COMPARED)
    assert compare_rows(rows)


@pytest.mark.parametrize("field,delta", [("tier", 1), ("mm", 1), ("im", -1), ("equity", 1)])
def test_a_perturbed_record_breaks_matches_margin(rows, field, delta):
    bad = [dict(r, proven=dict(r["proven"])) for r in rows]
    bad[1]["proven"][field] += delta
    assert not compare_rows(bad)
    assert compare_rows(rows)


def test_no_rows_do_not_match():
    assert not compare_rows([])

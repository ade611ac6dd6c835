"""whatif: the after-numbers are ``calcm margin``'s numbers for the book with the trade applied.

Property (hypothesis, random trades and cash moves on random bundled accounts): for every
account and request, :func:`whatif`'s ``after`` equals the published fixed-point margin that
:func:`calcm.risk.report.margin_report` (what ``calcm margin`` prints) computes for the book
whose account holds the changed positions, rebuilt from scratch; and ``before`` equals the
unchanged book's.
"""
from __future__ import annotations

import json
from dataclasses import replace

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calcm.cli import main
from calcm.errors import InputError
from calcm.risk.fixed_margin import encode_book_accounts, margins_fx
from calcm.risk.model import parameter_profile
from calcm.risk.report import margin_report
from calcm.trader.trades import CashMove, Trade, apply, parse_cash, parse_trade
from calcm.trader.whatif import whatif

from .conftest import FAST

FIELDS = ("es", "addon", "mm", "im", "collateral_value", "equity", "tier")


def _fx(r):
    return {f: getattr(r, f) for f in FIELDS}


def request(book):
    trade = st.builds(Trade, st.sampled_from(book.instrument_ids),
                      st.floats(-50, 50, allow_nan=False).filter(lambda x: abs(x) >= 1e-3).map(lambda x: round(x, 3)))
    cash = st.builds(CashMove, st.sampled_from(book.collateral_assets),
                     st.floats(1, 1e4, allow_nan=False).map(lambda x: round(x, 2)))
    return st.tuples(st.sampled_from([a.id for a in book.accounts]),
                     st.lists(trade, min_size=1, max_size=3, unique_by=lambda t: t.instrument),
                     st.lists(cash, max_size=1))


def _changed_book(ctx, account_id, trades, cash):
    a, acc = ctx.account(account_id)
    accounts = list(ctx.book.accounts)
    accounts[a] = apply(acc, trades, cash)
    return a, replace(ctx.book, accounts=tuple(accounts))


@pytest.fixture(scope="module")
def strategy(book):
    return request(book)


def test_whatif_after_equals_calcm_margin_of_the_changed_book(ctx, market, book):
    """Few examples, each rebuilding the whole model as `calcm margin` does."""
    @settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(request(book))
    def prop(req):
        account_id, trades, cash = req
        w = whatif(ctx, account_id, trades, cash)
        a, changed = _changed_book(ctx, account_id, trades, cash)
        rep = margin_report(market, changed, parameter_profile("fast"))
        assert _fx(w.after.fx) == _fx(rep.fixed[a])
        assert rep.published.lin_commitment == int(ctx.commitments["lin_commitment"])
        doc = w.to_json()["after"]
        assert doc["mm"] == rep.fixed[a].mm / 1e10 and doc["tier_code"] == rep.fixed[a].tier
        assert doc["float"]["mm"] == pytest.approx(float(rep.result.mm[a]), rel=1e-12, abs=1e-9)
    prop()


def test_whatif_after_equals_margins_of_the_changed_book_many(ctx):
    """Many examples against the fixed-point margins of the changed book on the same model."""
    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(request(ctx.book))
    def prop(req):
        account_id, trades, cash = req
        w = whatif(ctx, account_id, trades, cash, search_factor=2.0)
        a, changed = _changed_book(ctx, account_id, trades, cash)
        fixed = margins_fx(ctx.model, encode_book_accounts(changed))
        assert _fx(w.after.fx) == _fx(fixed[a])
        assert _fx(w.before.fx) == _fx(margins_fx(ctx.model, encode_book_accounts(ctx.book))[a])
    prop()


def test_marginal_im_and_max_size(ctx):
    w = whatif(ctx, "pair_btc_eth", [Trade("BTC-PERP", 2.0), Trade("ETH-PERP", -1.0)])
    for imp in w.impacts:
        alone = whatif(ctx, "pair_btc_eth", [imp.trade], search_factor=100.0)
        assert imp.marginal_im == pytest.approx(alone.after.usd("im") - alone.before.usd("im"), abs=1e-9)
        if imp.max_size is None:
            continue
        # the boundary: at max_size (in the trade's direction) the tier holds, one QTY step beyond it worsens
        sign = 1.0 if imp.trade.size > 0 else -1.0
        ok = whatif(ctx, "pair_btc_eth", [Trade(imp.trade.instrument, sign * imp.max_size)], search_factor=2.0)
        over = whatif(ctx, "pair_btc_eth", [Trade(imp.trade.instrument, sign * (imp.max_size + 1e-4))],
                      search_factor=2.0)
        assert ok.after.tier <= w.before.tier < over.after.tier


def test_out_of_range_result_is_an_input_error(ctx):
    with pytest.raises(InputError, match="fixed-point range") as e:
        whatif(ctx, "basis_btc", [], [CashMove("BTC", 80_000.0)])   # about 2e9 USD at any haircut below 50%
    assert e.value.field in ("collateral_value", "equity")


def test_max_size_unbounded_when_the_tier_cannot_worsen(ctx):
    w = whatif(ctx, "idle", [Trade("BTC-PERP", 1e-3)])
    assert w.impacts[0].max_size is None
    assert w.impacts[0].to_json()["max_size"] == "unbounded"


@pytest.mark.parametrize("spec, field", [("FOO:1", "instrument"), ("BTC-PERP", "-"), ("BTC-PERP:x", "amount"),
                                         ("BTC-PERP:inf", "amount"), ("BTC-PERP:0", "amount"), (":1", "instrument")])
def test_bad_trade_names_the_field(book, spec, field):
    with pytest.raises(InputError) as e:
        parse_trade(spec, book)
    assert e.value.field == field and e.value.file == "--trade"


def test_bad_cash(book, ctx):
    with pytest.raises(InputError, match="unknown collateral asset"):
        parse_cash("XRP:1", book)
    with pytest.raises(InputError, match="exceeds the balance"):
        whatif(ctx, "pair_btc_eth", [], [parse_cash("BTC:1", book, "--withdraw")])
    with pytest.raises(InputError, match="given twice"):
        whatif(ctx, "pair_btc_eth", [Trade("BTC-PERP", 1), Trade("BTC-PERP", 2)])
    with pytest.raises(InputError, match="--account"):
        whatif(ctx, "nobody", [Trade("BTC-PERP", 1)])


def test_cli_json_equals_the_function(ctx):
    r = CliRunner().invoke(main, ["whatif", "--account", "whale", "--trade", "BTC-PERP:+2",
                                  "--trade", "ETH-C-450-30D:-5", "--deposit", "USDC:1000", "--json", *FAST])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    want = whatif(ctx, "whale", [Trade("BTC-PERP", 2), Trade("ETH-C-450-30D", -5)], [CashMove("USDC", 1000)])
    assert doc == json.loads(json.dumps(want.to_json()))


@pytest.mark.parametrize("args, needle", [
    (["--account", "whale", "--trade", "NOPE-PERP:1"], "instrument: unknown instrument"),
    (["--account", "whale", "--trade", "BTC-PERP:1e"], "amount"),
    (["--account", "ghost", "--trade", "BTC-PERP:1"], "--account"),
    (["--account", "whale"], "give at least one"),
    (["--account", "whale", "--withdraw", "DOGE:1"], "unknown collateral asset"),
])
def test_cli_bad_input_is_one_line_exit_2(args, needle):
    r = CliRunner().invoke(main, ["whatif", *args, *FAST])
    assert r.exit_code == 2
    assert needle in r.stderr and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.output


def test_cli_duplicate_account_in_the_book(repo_root):
    r = CliRunner().invoke(main, ["whatif", "--account", "whale", "--trade", "BTC-PERP:1", *FAST,
                                  "--book", str(repo_root / "fixtures" / "book_duplicate_account.json")])
    assert r.exit_code == 2 and "duplicate account id" in r.stderr and "Traceback" not in r.output

"""explain: the tail, Euler contributions that sum to the ES, add-ons, collateral, tier-boundary moves."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from calcm.cli import main
from calcm.fixedpoint import MONEY_SCALE
from calcm.risk import modelfx
from calcm.risk.fixed_margin import margin_fx
from calcm.risk.margin import PortfolioMargin
from calcm.trader.explain import explain
from calcm.trader.moves import moved_model, tier_boundaries

from .conftest import FAST

ACCOUNTS = ["pair_btc_eth", "btc_option_seller", "market_maker", "covered_call", "whale", "idle"]


@pytest.mark.parametrize("account", ACCOUNTS)
def test_euler_contributions_sum_to_the_es(ctx, account):
    e = explain(ctx, account, moves=False)
    r = e.numbers.fx
    assert sum(c.raw for c in e.contributions) == r.tail_sum            # exact, money units * k
    assert -(-r.tail_sum // e.k) == r.es_raw and r.es == max(r.es_raw, 0)
    if r.es_raw >= 0:
        assert abs(sum(c.es for c in e.contributions) - r.es / MONEY_SCALE) <= 1 / MONEY_SCALE + 1e-9 * max(1, r.es / MONEY_SCALE)
    # the float model's Euler contributions sum to its (unfloored) ES
    one = ctx.with_accounts([ctx.account(account)[1]])
    fr = PortfolioMargin(ctx.float_model).compute(one.quantities(), one.collateral_amounts())
    if fr.es[0] > 0:
        assert sum(c.float_es for c in e.contributions) == pytest.approx(float(fr.es[0]), rel=1e-9)


def test_tail_labels_and_shocks(ctx):
    e = explain(ctx, "btc_option_seller", moves=False)
    r = e.numbers.fx
    assert len(e.tail) == ctx.model.k_tail
    worst = max(range(len(r.losses)), key=lambda s: (r.losses[s], -s))
    assert e.tail[0].index == worst and e.tail[0].loss == r.losses[worst] / MONEY_SCALE
    for t in e.tail:
        assert t.name == ctx.risk.scenarios.names[t.index] and t.kind == ctx.risk.scenarios.kinds[t.index]
        if t.kind in ("fhs", "worst", "best"):
            assert t.date and np.datetime64(t.date)
        for u, a in enumerate(ctx.risk.underlyings):       # shocks are the model's scenario returns
            assert t.shocks[a] == pytest.approx(float(ctx.risk.returns[t.index, u]), rel=1e-2, abs=1e-4)  # fx vs float model


def test_addons_and_collateral(ctx):
    e = explain(ctx, "whale", moves=False)
    r = e.numbers.fx
    assert sum(a["addon"] for a in e.addons) == pytest.approx(r.addon / MONEY_SCALE, abs=1e-9)
    assert sum(c["value"] for c in e.collateral) == pytest.approx(r.collateral_value / MONEY_SCALE, abs=1e-6)


def test_moved_model_is_the_registry_revaluation(ctx):
    """One underlying moved: lin and the options on it equal a full ModelReval + option parts."""
    for u, factor in ((0, 0.9), (1, 1.07)):
        p = round(ctx.model.price[u] * factor)
        prices = list(ctx.model.price)
        prices[u] = p
        full = modelfx.update(ctx.state, prices, ctx.params, daily=False).model
        mine = moved_model(ctx, u, p)
        assert mine.lin == full.lin and mine.opt == full.opt
        assert (mine.opt_mark, mine.opt_expo, mine.price) == (full.opt_mark, full.opt_expo, full.price)


def test_tier_boundaries_bracket_the_crossing(ctx):
    acc = ctx.encode(ctx.account("btc_option_seller")[1])
    cur = margin_fx(ctx.model, acc).tier
    found = tier_boundaries(ctx, acc, 0, max_move=0.5)
    assert {(b.direction, b.tier) for b in found} == {(d, t) for d in ("down", "up") for t in range(cur + 1, 4)}
    hit = [b for b in found if b.move is not None]
    assert hit, "the option seller crosses some tier within 50% of BTC"
    step = 0.5 / 10 / 2**12
    for b in hit:
        at = round(ctx.model.price[0] * (1 + b.move))
        before = round(ctx.model.price[0] * (1 + b.move - (step if b.move > 0 else -step)))
        assert margin_fx(moved_model(ctx, 0, at), acc).tier >= b.tier
        assert margin_fx(moved_model(ctx, 0, before), acc).tier < b.tier
    none = [b for b in found if b.move is None]
    assert all(b.to_json()["text"].startswith("none within") for b in none)


def test_cli_json_and_table(ctx):
    r = CliRunner().invoke(main, ["explain", "--account", "covered_call", "--json", *FAST])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc == json.loads(json.dumps(explain(ctx, "covered_call").to_json()))
    r = CliRunner().invoke(main, ["explain", "--account", "covered_call", "--no-moves", *FAST])
    assert r.exit_code == 0 and "Euler ES contributions" in r.stdout


@pytest.mark.parametrize("args, needle", [(["--account", "ghost"], "--account"),
                                          (["--account", "whale", "--max-move", "0"], "--max-move"),
                                          (["--account", "whale", "--max-move", "nan"], "--max-move")])
def test_cli_bad_input(args, needle):
    r = CliRunner().invoke(main, ["explain", *args, *FAST])
    assert r.exit_code == 2 and needle in r.stderr and "Traceback" not in r.output

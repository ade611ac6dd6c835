"""The default universe of the backtest, replays, cascades and APC (``eligible_assets``) leaves out
a pegged column (constant close, every return 0: every model build would fail on a GARCH fit with
nothing to estimate) and a too-recent listing, each named in one warning line, never silently."""
from __future__ import annotations

import warnings

import numpy as np

from calcm.errors import DataFallbackWarning
from calcm.liquidation.backtest import eligible_assets
from calcm.market import MarketData
from calcm.risk.model import ModelParams


def _market(n=400):
    rng = np.random.default_rng(2)
    walk = 100 * np.cumprod(1 + 0.02 * rng.standard_normal((n, 2)), axis=0)
    usdc = 1 + np.where(np.arange(n) % 7 == 0, 1e-4, 0.0)       # pegged, but it moves: kept
    closes = np.column_stack([walk[:, 0], np.ones(n), usdc, walk[:, 1]])
    closes[: n - 100, 3] = np.nan                                # listed too late: not eligible
    return MarketData(np.datetime64("2024-01-01") + np.arange(n), ("AAA", "USDT", "USDC", "NEW"), closes,
                      source="prices.csv")


def _notes(md, assets):
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        out = eligible_assets(md.select(assets), md.dates[-1], ModelParams())
    return out, [str(x.message) for x in got if issubclass(x.category, DataFallbackWarning)]


def test_pegged_and_recent_assets_are_left_out_with_one_line_each():
    md = _market()
    assets, notes = _notes(md, md.assets)
    assert assets == ("AAA", "USDC")
    assert notes == [f"prices.csv: asof {md.dates[-1]}: NEW (99): fewer than 281 returns (min_history + "
                     "ewma_init + 1) up to this date: left out of the default books",
                     f"prices.csv: asof {md.dates[-1]}: USDT: constant close (every return 0 up to this date, "
                     "a pegged asset): no volatility to model, left out of the default books"]


def test_no_note_when_every_asset_is_eligible_or_none_is():
    """Nothing eligible: the caller's one-line error says so, a note would make it two lines."""
    assert _notes(_market(), ("AAA", "USDC")) == (("AAA", "USDC"), [])
    assert _notes(_market(), ("USDT", "NEW")) == ((), [])

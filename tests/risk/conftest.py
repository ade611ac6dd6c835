"""Risk-stage fixtures: models of the bundled market and book (tests/conftest.py), built once per session."""
from __future__ import annotations

import pytest

from calcm.paths import FIXTURES
from calcm.risk.book import parse_book
from calcm.risk.model import build_risk_model


@pytest.fixture(scope="session")
def fixtures_dir():
    return FIXTURES


@pytest.fixture(scope="session")
def risk(market, book):
    return build_risk_model(market, book)


@pytest.fixture(scope="session")
def model(risk):
    return risk.margin_model


@pytest.fixture(scope="session")
def small_book():
    """A factory: a book of linear instruments on BTC, ETH, SOL with the given positions."""
    return _small_book


def _small_book(accounts: dict[str, dict[str, float]], instruments=None):
    instruments = instruments or [
        {"id": "BTC", "kind": "spot", "underlying": "BTC"},
        {"id": "BTC-PERP", "kind": "perp", "underlying": "BTC"},
        {"id": "ETH", "kind": "spot", "underlying": "ETH"},
        {"id": "ETH-PERP", "kind": "perp", "underlying": "ETH"},
        {"id": "SOL-PERP", "kind": "perp", "underlying": "SOL"},
    ]
    return parse_book({
        "instruments": instruments,
        "collateral": [{"asset": "USDC", "haircut": 0.01}, {"asset": "BTC", "haircut": 0.05}],
        "accounts": [{"id": k, "salt": n + 1, "positions": v, "collateral": {"USDC": 1e5}}
                     for n, (k, v) in enumerate(accounts.items())],
    })

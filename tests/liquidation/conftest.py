"""Fixtures of the liquidation tests: the bundled market and book, and their margin model."""
from __future__ import annotations

import pytest

from calcm.market import load_market
from calcm.paths import FIXTURES
from calcm.risk.book import load_book
from calcm.risk.model import build_risk_model


@pytest.fixture(scope="session")
def fixture_market():
    return load_market(FIXTURES / "market.csv", FIXTURES / "volumes.csv")


@pytest.fixture(scope="session")
def fixture_book():
    return load_book(FIXTURES / "book.json")


@pytest.fixture(scope="session")
def fixture_model(fixture_market, fixture_book):
    """The bundled book's float margin model on the bundled market (last date)."""
    return build_risk_model(fixture_market, fixture_book).margin_model

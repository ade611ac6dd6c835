"""Shared test fixtures: repository paths, the optional real price history, and the bundled
market and book (loaded once per session for every stage that prices them)."""
from __future__ import annotations

import pytest

from calcm.market import load_market
from calcm.paths import DEFAULT_BOOK, DEFAULT_MARKET, DEFAULT_VOLUMES, REPO_ROOT, SHARED_DATA
from calcm.risk.book import load_book


@pytest.fixture(scope="session")
def repo_root():
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_prices():
    """``../shared/data/prices`` or a skip that says why."""
    p = SHARED_DATA / "prices"
    if not (p / "daily_close.csv").exists():
        pytest.skip(f"real price history not found at {p} (needs ../shared/data beside the repo)")
    return p


@pytest.fixture(scope="session")
def market():
    """The bundled market (``fixtures/market.csv`` with ``fixtures/volumes.csv``)."""
    return load_market(DEFAULT_MARKET, DEFAULT_VOLUMES)


@pytest.fixture(scope="session")
def book():
    """The bundled book (``fixtures/book.json``)."""
    return load_book(DEFAULT_BOOK)

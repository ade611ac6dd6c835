"""Shared test fixtures: repository paths and the optional real price history."""
from __future__ import annotations

import pytest

from calcm.paths import REPO_ROOT, SHARED_DATA


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

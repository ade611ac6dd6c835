"""Shared fixtures of the trader tests: the bundled book's published model (fast profile), built once
from the bundled ``market`` and ``book`` of tests/conftest.py."""
from __future__ import annotations

import pytest

from calcm.risk.model import parameter_profile
from calcm.trader.context import published_context

#: CLI options that select the same model as the ``ctx`` fixture.
FAST = ["--profile", "fast"]


@pytest.fixture(scope="session")
def ctx(market, book):
    """The published model of the bundled book at its last date, ``fast`` profile (S = 54)."""
    return published_context(market, book, parameter_profile("fast"))


@pytest.fixture(scope="session")
def export_dir(ctx, tmp_path_factory):
    from calcm.trader.export import export_model
    out = tmp_path_factory.mktemp("export") / "model"
    export_model(ctx, out)
    return out

"""The ``calcm`` command line: one command per pipeline stage.

Each stage's commands live in their own module here and attach themselves to
the root group (``main``) or the ``bench`` / ``chain`` groups via ``register``.
Bad input becomes one line on stderr naming file, record and field, exit 2.
"""
from __future__ import annotations

import sys

import click

from ..errors import InputError
from ..fixedpoint import FixedPointRangeError


class CalcmGroup(click.Group):
    """A click group that turns input errors into one line and exit code 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (InputError, FixedPointRangeError) as exc:
            click.echo(f"calcm: error: {exc}", err=True)
            sys.exit(2)


@click.group(cls=CalcmGroup)
@click.version_option(package_name="calcm")
def main():
    """calcm: cross-asset portfolio margin, proven in zero knowledge."""


@main.group(cls=CalcmGroup)
def bench():
    """Benchmarks (performance targets are measured here, never in tests)."""


@main.group(cls=CalcmGroup)
def chain():
    """Deploy and use the on-chain verifiers and margin registry."""


def _register_all() -> None:
    from . import (audit_cmd, bench_cmd, chain_cmd, keeper_cmd, liquidation_cmd, model_cmd,
                   risk_cmd, serve_cmd, trader_cmd, zk_cmd)
    for mod in (risk_cmd, liquidation_cmd, zk_cmd, model_cmd, chain_cmd, audit_cmd, keeper_cmd,
                bench_cmd, trader_cmd, serve_cmd):
        mod.register(main, bench, chain)
    __import__(f"{__name__}.cascade_cmd", fromlist=["register"]).register(main, bench, chain)


_register_all()

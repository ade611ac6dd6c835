"""The ``calcm`` command line: one command per pipeline stage.

Each stage's commands live in their own module here and attach themselves to
the root group (``main``) or the ``bench`` / ``chain`` groups via ``register``.
Bad input becomes one line on stderr naming file, record and field, exit 2.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import (EXIT_INPUT, EXIT_UNAVAILABLE, EXIT_VERIFY, InputError, UnavailableError,
                      VerificationFailed)
from ..fixedpoint import FixedPointRangeError
from .validate import check_params


def _fail(message: str, code: int) -> None:
    click.echo(f"calcm: error: {' '.join(str(message).split())}", err=True)
    sys.exit(code)


class CalcmCommand(click.Command):
    """A command whose values are checked (``validate.check_params``) before it runs."""

    def parse_args(self, ctx, args):
        rest = super().parse_args(ctx, args)
        check_params(ctx)
        return rest


class CalcmGroup(click.Group):
    """A click group that maps errors to one line on stderr and the documented exit codes.

    0 ok; 2 bad input or usage (:class:`InputError`, click's usage errors); 3 verification
    or audit failed (:class:`VerificationFailed`); 4 toolchain or chain unavailable
    (:class:`UnavailableError`); 130 interrupted. Any other exception is a bug.
    """

    command_class = CalcmCommand

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (InputError, FixedPointRangeError) as exc:
            _fail(str(exc), EXIT_INPUT)
        except UnavailableError as exc:
            _fail(f"unavailable: {exc}", EXIT_UNAVAILABLE)
        except VerificationFailed as exc:
            _fail(f"verification failed: {exc}", EXIT_VERIFY)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """Run the CLI; click's multi-line usage errors become one line naming the option."""
        _one_line_warnings()
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:   # `calcm`, `calcm chain`: the help
            exc.show()
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            where = " ".join(exc.ctx.command_path.split()[1:]) if exc.ctx else ""
            _fail(f"{where + ': ' if where else ''}{exc.format_message()}", EXIT_INPUT)
        except click.ClickException as exc:
            _fail(exc.format_message(), exc.exit_code)
        except click.exceptions.Abort:
            _fail("interrupted", 130)
        sys.exit(rv if isinstance(rv, int) and not isinstance(rv, bool) else 0)


CalcmGroup.group_class = CalcmGroup


def _one_line_warnings() -> None:
    """Documented data fallbacks (:class:`DataFallbackWarning`) print as one stderr line, each
    distinct one once per run (a report builds the model per day, and the fits' own
    ``catch_warnings`` resets Python's once-per-location registry)."""
    import warnings

    from ..errors import DataFallbackWarning
    shown = warnings.showwarning
    if getattr(shown, "_calcm", False):
        return
    seen: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, DataFallbackWarning):
            if str(message) not in seen:
                seen.add(str(message))
                click.echo(f"calcm: warning: {message}", err=True)
        else:
            shown(message, category, filename, lineno, file, line)
    show._calcm = True
    warnings.showwarning = show


@click.group(cls=CalcmGroup)
@click.version_option(package_name="calcm")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="calcm.toml with option defaults (default: $CALCM_CONFIG, else ./calcm.toml); "
                   "flags win (docs/CONFIG.md)")
@click.pass_context
def main(ctx, config_file):
    """calcm: cross-asset portfolio margin, proven in zero knowledge.

    Exit codes: 0 ok; 2 bad input or usage; 3 verification or audit failed; 4 toolchain or
    chain unavailable (an RPC that does not answer). Any traceback is a bug.
    """
    from .config import default_map, find_config
    path = find_config(config_file)
    if path is not None:
        try:
            ctx.default_map = default_map(ctx.command, path)
        except InputError as exc:
            _fail(str(exc), EXIT_INPUT)


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
    __import__(f"{__name__}.garch_cmd", fromlist=["register"]).register(main, bench, chain)
    __import__(f"{__name__}.apc_cmd", fromlist=["register"]).register(main, bench, chain)


_register_all()

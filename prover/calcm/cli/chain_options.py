"""What the chain commands share: the ``--rpc``, ``--json`` and ``--deployment`` options, a
comma-separated list argument, the live node, and loading a margin build.

Every chain command takes ``--rpc URL`` (any JSON-RPC node with unlocked accounts, e.g. a
persistent ``calcm chain node``); ``submit`` and ``status`` need a live node: ``--rpc`` or
the ``rpc`` recorded in the deployment file (:func:`live_web3`).
"""
from __future__ import annotations

from pathlib import Path

import click

from ..errors import InputError, UnavailableError
from ..paths import REPO_ROOT


DEFAULT_DEPLOYMENT = REPO_ROOT / "out" / "deployment.json"

rpc_opt = click.option("--rpc", default=None, metavar="URL",
                       help="JSON-RPC node (default: an embedded anvil for deploy; the "
                            "deployment's rpc for submit/status)")
json_opt = click.option("--json", "as_json", is_flag=True, help="JSON on stdout")
deployment_opt = click.option("--deployment", type=click.Path(path_type=Path),
                              default=DEFAULT_DEPLOYMENT, show_default=True,
                              help="deployment file written by `calcm chain deploy`")


def parse_csv(value: str | None, cast, name: str) -> list | None:
    """``a,b,..`` as a list of ``cast`` values (None stays None); ``name`` is the option in the error."""
    if value is None:
        return None
    try:
        return [cast(x) for x in value.split(",") if x.strip()]
    except ValueError:
        raise InputError("command line", name, "-", f"cannot parse {value!r}") from None


def live_web3(rpc: str | None, dep):
    """A Web3 on ``--rpc``, else the deployment's recorded rpc, that answers JSON-RPC now."""
    from ..chain.anvil import rpc_ready
    from ..chain.evm import http_web3
    url = rpc or (dep.rpc if dep else None)
    if not url:
        raise InputError("deployment", "-", "rpc", "was made on an embedded anvil that has exited; "
                         "deploy with --rpc URL (e.g. to `calcm chain node`) or pass --rpc")
    if not rpc_ready(url, timeout=5):
        raise UnavailableError(f"--rpc {url}", "node does not answer JSON-RPC (start one: `calcm chain node`)")
    return http_web3(url)


def margin_build(path: Path):
    """The :class:`~calcm.zk.setup.Build` in ``path`` (zk.setup is imported only when called)."""
    from ..zk.setup import Build
    return Build.load(path)

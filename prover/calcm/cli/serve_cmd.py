"""``calcm serve``: the local dashboard (book, account, model, cascade and keeper views).

``build_app(settings)`` is the application ``calcm serve`` runs (also used by the tests):
:func:`calcm.serve.app.create_app` with the trader functions wired in
(:func:`calcm.cli.serve_trader.trader_service`). Binds 127.0.0.1 unless ``--host`` says
otherwise (the dashboard has no authentication: it shows every account's salt).
"""
from __future__ import annotations

from pathlib import Path

import click

from ..errors import InputError
from ..paths import DEFAULT_BOOK, DEFAULT_MARKET


def build_app(settings=None, warm=None):
    from ..serve.app import create_app
    from .serve_trader import trader_service
    return create_app(settings, trader_service, warm)


def register(main, bench, chain) -> None:
    """Attach ``serve`` to the root group."""
    from ..serve.settings import DEFAULT_STORE, REGIMES

    @main.command("serve")
    @click.option("--host", default="127.0.0.1", show_default=True,
                  help="interface to bind (no authentication: keep it on loopback)")
    @click.option("--port", type=click.IntRange(1, 65535), default=8765, show_default=True)
    @click.option("--market", type=click.Path(path_type=Path), default=DEFAULT_MARKET, show_default=True)
    @click.option("--volumes", type=click.Path(path_type=Path), default=None,
                  help="wide CSV of USD daily volumes (default: the bundled one with the bundled market)")
    @click.option("--book", "--portfolios", "book", type=click.Path(path_type=Path), default=DEFAULT_BOOK,
                  show_default=True)
    @click.option("--profile", type=click.Choice(["published", "fast"]), default="published", show_default=True)
    @click.option("--es-level", type=float, default=0.99, show_default=True)
    @click.option("--vol-model", type=click.Choice(["gjr", "garch"]), default="gjr", show_default=True)
    @click.option("--store", type=click.Path(path_type=Path), default=DEFAULT_STORE, show_default=True,
                  help="keeper state database for the keeper view")
    @click.option("--proof-dir", type=click.Path(path_type=Path), default=None,
                  help="check inclusion against this proof directory")
    @click.option("--rpc", default=None, help="check inclusion against a registry at this JSON-RPC URL ...")
    @click.option("--registry", default=None, help="... and this address")
    @click.option("--episode", default="fixture", show_default=True, help="cascade replay window (named episode)")
    @click.option("--cascade-start", default=None, help="override the episode's first day YYYY-MM-DD")
    @click.option("--cascade-end", default=None, help="override the episode's last day YYYY-MM-DD")
    @click.option("--regime", "regimes", multiple=True, type=click.Choice(REGIMES),
                  help="regimes to replay (default all)")
    @click.option("--backtest-days", type=int, default=180, show_default=True,
                  help="calendar days of the VaR backtest (ending on the last date with a next close)")
    @click.option("--backtest-sims", type=int, default=500, show_default=True)
    @click.option("--no-moves", is_flag=True, help="skip the tier-boundary price search in the account view")
    @click.option("--no-prefetch", is_flag=True, help="explain each account on its first request only")
    @click.option("--json", "as_json", is_flag=True, help="one JSON line on stdout (url, api) before serving")
    def serve_cmd(host, port, market, volumes, book, profile, es_level, vol_model, store, proof_dir, rpc,
                  registry, episode, cascade_start, cascade_end, regimes, backtest_days, backtest_sims, no_moves,
                  no_prefetch, as_json):
        """Local web dashboard on http://127.0.0.1:8765 (every page also as JSON under /api/...)."""
        import uvicorn

        from ..serve.settings import ServeSettings, check_settings
        for p, name in ((market, "--market"), (book, "--book")):
            if not Path(p).exists():
                raise InputError(str(p), "-", name, "file not found")
        s = ServeSettings(market=market, volumes=volumes, book=book, profile=profile, es_level=es_level,
                          vol_model=vol_model, store=store, proof_dir=proof_dir, rpc=rpc, registry=registry,
                          episode=episode, cascade_start=cascade_start, cascade_end=cascade_end,
                          regimes=tuple(regimes) or REGIMES, backtest_days=backtest_days,
                          backtest_sims=backtest_sims, explain_moves=not no_moves,
                          prefetch_accounts=not no_prefetch)
        check_settings(s)
        if host not in ("127.0.0.1", "localhost", "::1"):
            click.echo(f"calcm serve: warning: binding {host}: the dashboard has no authentication "
                       "and shows every account's salt", err=True)
        click.echo(f"calcm serve: http://{host}:{port}/ (model warming up in the background; Ctrl-C stops)",
                   err=True)
        if as_json:
            import json
            click.echo(json.dumps({"url": f"http://{host}:{port}/", "api": f"http://{host}:{port}/api/"}))
        uvicorn.run(build_app(s), host=host, port=port, log_level="warning")

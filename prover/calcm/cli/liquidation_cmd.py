"""CLI commands of the liquidation stage: ``liquidate``, ``simulate`` and ``backtest``."""
from __future__ import annotations

from pathlib import Path

import click
import numpy as np
from rich.console import Console
from rich.table import Table

from ..errors import InputError
from ..paths import DEFAULT_BOOK, DEFAULT_MARKET, DEFAULT_VOLUMES
from .output import console, emit_json

REGIME_CHOICES = ("static", "siloed", "calcm", "all") + tuple(  # model/policy (liquidation.regimes)
    f"{m}/{p}" for m in ("calcm", "siloed", "static", "span", "deribit") for p in ("full", "partial"))


def _volumes_for(market: Path, volumes: Path | None) -> Path | None:
    """The bundled volumes go with the bundled market only (another market: pass --volumes)."""
    if volumes is not None:
        return volumes
    return DEFAULT_VOLUMES if Path(market).resolve() == DEFAULT_MARKET.resolve() else None


def _out() -> Console:
    # Off a terminal rich assumes 80 columns and would truncate the numbers.
    return console  # wide when piped (output.PIPE_WIDTH)


def _window(market, episode: str | None, start: str | None, end: str | None, default_days: int):
    """(start, end) from --episode or --start/--end; default: the last ``default_days`` of the data."""
    from ..liquidation.episodes import episode as get_episode

    if episode:
        try:
            e = get_episode(episode)
        except ValueError as exc:
            raise InputError("--episode", episode, "episode", str(exc)) from None
        from ..liquidation.episodes import REAL_EPISODES
        if episode in REAL_EPISODES and Path(str(market.source)).resolve() == DEFAULT_MARKET.resolve():
            raise InputError("--episode", episode, "--prices", "a window of the real history, but the "
                             "prices are the bundled synthetic fixture: pass --prices of the real closes")
        return (start or e.start, end or e.end), e
    last = market.dates[-1]
    return (start or str(last - np.timedelta64(default_days - 1, "D")), end or str(last)), None


def _usd(x: float) -> str:
    return f"{x:,.0f}"


def register(main, bench, chain) -> None:
    """Attach this stage's commands to the root, `bench` and `chain` groups."""

    @main.command("liquidate")
    @click.option("--market", type=click.Path(path_type=Path), default=DEFAULT_MARKET, show_default=True,
                  help="daily closes (wide CSV, long CSV or OHLCV directory)")
    @click.option("--volumes", type=click.Path(path_type=Path), default=None,
                  help="wide CSV of USD daily volumes (default: the bundled one with the bundled market)")
    @click.option("--portfolios", "book", type=click.Path(path_type=Path), default=DEFAULT_BOOK,
                  show_default=True, help="book JSON: instruments, collateral, accounts")
    @click.option("--asof", default=None, help="model date YYYY-MM-DD (default: last date)")
    @click.option("--target-ratio", type=float, default=1.10, show_default=True,
                  help="a partial liquidation restores equity >= target x MM")
    @click.option("--penalty-rate", type=float, default=0.01, show_default=True,
                  help="liquidation penalty, fraction of the liquidated notional")
    @click.option("--risk-haircuts/--table-haircuts", default=True, show_default=True,
                  help="the published haircuts (table floored by the asset's own ES) or the table only")
    @click.option("--all", "show_all", is_flag=True, help="list healthy accounts too")
    @click.option("--json", "as_json", is_flag=True, help="JSON on stdout")
    def liquidate(market, volumes, book, asof, target_ratio, penalty_rate, risk_haircuts, show_all, as_json):
        """Partial-liquidation plan of every liquidatable account of a book."""
        from ..liquidation import LiquidationEngine, LiquidationParams
        from ..market import load_market
        from ..risk.book import load_book
        from ..risk.model import ModelParams, build_risk_model

        try:
            lp = LiquidationParams(target_ratio=target_ratio, penalty_rate=penalty_rate)
        except ValueError as exc:
            raise InputError("--target-ratio/--penalty-rate", "-", "-", str(exc)) from None
        md = load_market(market, _volumes_for(market, volumes))
        bk = load_book(book)
        rm = build_risk_model(md, bk, ModelParams(risk_haircuts=risk_haircuts), asof)
        engine = LiquidationEngine(rm.margin_model, lp)
        q, c = bk.quantities(), bk.collateral_amounts()
        plans = [engine.plan(q[a], c[a], acc.id) for a, acc in enumerate(bk.accounts)]
        doc = {"asof": str(rm.asof), "target_ratio": lp.target_ratio, "penalty_rate": lp.penalty_rate,
               "risk_haircuts": risk_haircuts,
               "haircuts": dict(zip(rm.margin_model.collateral_assets, rm.margin_model.haircut.tolist())),
               "plans": [p.to_json() for p in plans],
               "totals": {"liquidatable": sum(p.status != "healthy" for p in plans),
                          "partial": sum(p.status == "partial" for p in plans),
                          "full": sum(p.status == "full" for p in plans),
                          "notional": sum(p.notional for p in plans),
                          "bad_debt": sum(p.bad_debt for p in plans)}}
        if as_json:
            emit_json(doc)
            return
        t = Table(title=f"calcm liquidate, as of {rm.asof}: target equity >= {lp.target_ratio:g} x MM; USD")
        for col in ("account", "status", "ratio before", "ratio after", "trades", "notional", "cost",
                    "penalty", "bad debt", "reason"):
            t.add_column(col, justify="left" if col in ("account", "status", "trades", "reason") else "right")
        for p in plans:
            if p.status == "healthy" and not show_all:
                continue
            trades = ", ".join(f"{tr.asset} {tr.fraction:.1%}" for tr in p.trades) or "-"
            t.add_row(p.account, p.status, f"{p.before.ratio:.3f}", f"{p.after.ratio:.3f}", trades,
                      _usd(p.notional), _usd(p.cost), _usd(p.penalty_paid), _usd(p.bad_debt), p.reason)
        out = _out()
        out.print(t)
        tot = doc["totals"]
        out.print(f"{tot['liquidatable']} liquidatable ({tot['partial']} partial, {tot['full']} full) "
                  f"of {len(plans)} accounts; notional {tot['notional']:,.0f} USD, bad debt {tot['bad_debt']:,.0f} USD")

    @main.command("simulate")
    @click.option("--prices", type=click.Path(path_type=Path), default=DEFAULT_MARKET, show_default=True,
                  help="price history (close CSV, long CSV or OHLCV directory; high/low from a sibling ohlcv/)")
    @click.option("--volumes", type=click.Path(path_type=Path), default=None, help="wide CSV of USD volumes")
    @click.option("--book", type=click.Path(path_type=Path), default=None,
                  help="book JSON (default: a synthetic book drawn from --seed)")
    @click.option("--regime", type=click.Choice(REGIME_CHOICES), default="all", show_default=True)
    @click.option("--episode", default=None,
                  help="named window: 2020-03, 2021-05, 2022-06, 2022-11 (real data) or fixture")
    @click.option("--start", default=None, help="first replayed day YYYY-MM-DD")
    @click.option("--end", default=None, help="last replayed day YYYY-MM-DD")
    @click.option("--seed", type=int, default=0, show_default=True, help="synthetic book seed")
    @click.option("--accounts", type=int, default=None, help="synthetic book size (default 90)")
    @click.option("--plot", "plot_dir", type=click.Path(path_type=Path), default=None,
                  help="write figures (PNG) to this directory")
    @click.option("--days/--no-days", "with_days", default=True, help="include the per-day rows in --json")
    @click.option("--json", "as_json", is_flag=True, help="JSON on stdout")
    def simulate_cmd(prices, volumes, book, regime, episode, start, end, seed, accounts, plot_dir,
                     with_days, as_json):
        """Replay a price path with leveraged accounts under the static, siloed and calcm regimes."""
        from ..liquidation.replay import run_replay
        from ..market import load_market_ohlcv
        from ..risk.book import load_book

        if episode is None and start is None and Path(prices).resolve() == DEFAULT_MARKET.resolve():
            episode = "fixture"
        md = load_market_ohlcv(prices, _volumes_for(prices, volumes))
        (d0, d1), _ = _window(md, episode, start, end, 60)
        bk = load_book(book) if book is not None else None
        if accounts is not None and accounts < 1:
            raise InputError("--accounts", str(accounts), "accounts", "must be >= 1")
        regimes = ("static", "siloed", "calcm") if regime == "all" else (regime,)
        from .progress import enabled_for, step
        with step(f"replaying {d0}..{d1} under {', '.join(regimes)}", enabled=enabled_for(as_json)):
            used, results = run_replay(md, d0, d1, regimes, bk, seed, accounts)
        doc = {"prices": str(prices), "book": used.source, "seed": seed if bk is None else None,
               "accounts": len(used.accounts), "start": d0, "end": d1,
               "regimes": {r: res.to_json() for r, res in results.items()}}
        if not with_days:
            for r in doc["regimes"].values():
                r.pop("days")
        if plot_dir is not None:
            from ..liquidation.plots import plot_simulation
            doc["plots"] = [str(p) for p in plot_simulation(md, results, plot_dir)]
        if as_json:
            emit_json(doc if len(regimes) > 1 else {**doc, **doc["regimes"][regimes[0]]})
            return
        t = Table(title=f"calcm simulate {d0}..{d1}: {len(used.accounts)} accounts ({used.source}); USD")
        cols = ("regime", "liquidations", "full", "liquidated", "bad debt", "fund low", "ADL",
                "socialised", "avg margin", "book margin: directional", "hedged", "diversified")
        for col in cols:
            t.add_column(col, justify="left" if col == "regime" else "right")
        for r, res in results.items():
            s = res.summary
            g = s["margin_by_group"]
            mtn = lambda k: _usd(g[k]["avg_book_margin"]) if k in g else "-"  # noqa: E731
            t.add_row(r, str(s["liquidations"]), str(s["full_liquidations"]), _usd(s["liquidated_notional"]),
                      _usd(s["bad_debt"]), _usd(s["insurance_fund_low"]), str(s["adl_events"]),
                      _usd(s["socialised_loss"]), _usd(s["avg_margin_held"]), mtn("directional"),
                      mtn("hedged"), mtn("diversified"))
        out = _out()
        out.print(t)
        if plot_dir is not None:
            out.print("figures: " + ", ".join(doc["plots"]))

    @main.command("backtest")
    @click.option("--prices", type=click.Path(path_type=Path), default=DEFAULT_MARKET, show_default=True,
                  help="price history, fit and test in one file (close CSV, long CSV or OHLCV directory)")
    @click.option("--fit-market", type=click.Path(path_type=Path), default=None,
                  help="fit window: history the model is estimated on (with --test-market)")
    @click.option("--test-market", type=click.Path(path_type=Path), default=None,
                  help="test window: starts the day after --fit-market ends; every realisation is in it")
    @click.option("--es-level", "levels", type=float, multiple=True,
                  help="VaR/ES level, 0.5 <= x < 1; repeat for several (default: 0.975 and 0.99)")
    @click.option("--volumes", type=click.Path(path_type=Path), default=None, help="wide CSV of USD volumes")
    @click.option("--episode", default=None,
                  help="backtest the year ending with this episode (2020-03, 2021-05, 2022-06, 2022-11)")
    @click.option("--start", default=None, help="first forecast day YYYY-MM-DD")
    @click.option("--end", default=None, help="last forecast day YYYY-MM-DD")
    @click.option("--refit", type=click.Choice(("month", "day", "once")), default="month", show_default=True,
                  help="GARCH re-estimation: monthly, daily, or once (at the first forecast day: out of sample)")
    @click.option("--random-books", type=int, default=0, show_default=True,
                  help="backtest N random books drawn from the bundled instrument kinds instead of the named books")
    @click.option("--seed", type=int, default=0, show_default=True, help="seed of the random books and Z2 draws")
    @click.option("--sims", "n_sims", type=int, default=2000, show_default=True,
                  help="simulations of the Acerbi-Szekely null")
    @click.option("--no-margin", is_flag=True, help="skip the margin-coverage check (faster)")
    @click.option("--apc", type=click.Choice(("none", "floor", "stress")), default="none", show_default=True,
                  help="the APC tool (docs/MODEL.md section 4): none, the core-model backtest (ESMA91-372-2811 "
                       "excludes add-ons such as APC); the published floor or the 25% stressed weight: "
                       "the coverage of the published requirement")
    @click.option("--out", "--plot", "plot_dir", type=click.Path(path_type=Path), default=None,
                  help="write figures (PNG) to this directory")
    @click.option("--json", "as_json", is_flag=True, help="JSON on stdout")
    def backtest_cmd(prices, fit_market, test_market, levels, volumes, episode, start, end, refit, random_books,
                     seed, n_sims, no_margin, apc, plot_dir, as_json):
        """Rolling VaR/ES backtests (Kupiec, Christoffersen, Acerbi-Szekely; two-sided) at 97.5% and 99%."""
        from ..liquidation.backtest import DEFAULT_LEVELS, check_level, eligible_assets, run_backtest
        from ..liquidation.backtest_books import random_books as draw_books
        from ..market import join_fit_test, load_market
        from ..risk.model import ModelParams

        levels = tuple(check_level(x) for x in levels) or DEFAULT_LEVELS
        if n_sims < 100:
            raise InputError("--sims", str(n_sims), "sims", "need at least 100 simulations")
        if random_books < 0:
            raise InputError("--random-books", str(random_books), "random_books", "must be >= 0")
        if (fit_market is None) != (test_market is None):
            raise InputError("--fit-market/--test-market", "-", "-", "give both files, or neither (--prices)")
        if fit_market is not None:
            fit, test = load_market(fit_market), load_market(test_market)
            md = join_fit_test(fit, test)
            d0, d1 = start or str(fit.dates[-1]), end or str(test.dates[-2] if test.n_days > 1 else test.dates[-1])
        else:
            md = load_market(prices, _volumes_for(prices, volumes))
            (d0, d1), ep = _window(md, episode, start, end, 365)
            if ep is not None and start is None:
                d0 = ep.backtest_start
        books = None
        if random_books:
            assets = eligible_assets(md, d0, ModelParams())
            if not assets:
                raise InputError(md.source, f"asof {d0}", "-", "no asset has enough history before the backtest start")
            books = draw_books(assets, random_books, seed)
        from .progress import enabled_for, step
        with step(f"backtesting {d0}..{d1} ({len(books) if books else 'named'} books)",
                  enabled=enabled_for(as_json)):
            rep = run_backtest(md, d0, d1, books=books, params=ModelParams(apc=apc), refit=refit, n_sims=n_sims,
                               seed=seed, margin=not no_margin, levels=levels)
        doc = rep.to_json()
        doc["apc"] = apc
        if end is not None and str(doc["end"]) < str(np.datetime64(end, "D")):
            import warnings

            from ..errors import DataFallbackWarning
            warnings.warn(f"{md.source}: --end {end} is past the data: the backtest ends {doc['end']}, the last "
                          f"day with a next-day realisation", DataFallbackWarning, stacklevel=1)
        if fit_market is not None:
            doc["fit_market"], doc["test_market"] = str(fit_market), str(test_market)
        if plot_dir is not None:
            from ..liquidation.backtest_plots import plot_backtest
            doc["plots"] = [str(p) for p in plot_backtest(rep, plot_dir)]
        if as_json:
            emit_json(doc)
            return
        t = Table(title=f"calcm backtest {rep.start}..{rep.end}: one-day VaR/ES, two-sided tests at 5% "
                        f"(margin: {rep.margin_level:.1%} ES over {rep.margin_mpor_days} days)")
        for col in ("book", "level", "days", "exc.", "exp.", "Kupiec p", "Christ. p", "cc p",
                    "AS Z2", "Z2 p", "side", "margin exc."):
            t.add_column(col, justify="left" if col in ("book", "side") else "right")
        for b in rep.books:
            s = b.summary()
            for lv, r in s["levels"].items():
                t.add_row(s["book"], lv, str(s["days"]), str(r["exceptions"]), f"{r['expected']:.1f}",
                          f"{r['kupiec_p']:.3f}", f"{r['christoffersen_p']:.3f}", f"{r['conditional_coverage_p']:.3f}",
                          f"{r['es_z2']:.2f}", f"{r['es_p']:.3f}", r["es_direction"],
                          "-" if s["margin_exceedances"] is None else str(s["margin_exceedances"]))
        out = _out()
        out.print(t)
        bad = {a: f["not_converged"] for a, f in doc["fits"].items() if f["not_converged"]}
        out.print(f"GARCH estimations: {rep.refits}; not converged (used as estimated, reported): "
                  + (", ".join(f"{a} {len(d)}x" for a, d in bad.items()) or "none"))
        if plot_dir is not None:
            out.print("figures: " + ", ".join(doc["plots"]))

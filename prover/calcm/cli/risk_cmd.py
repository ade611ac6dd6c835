"""CLI commands of the risk stage: ``margin``, ``scenarios``, ``bench risk`` and ``bench fx``.

``demo_margins`` (what ``calcm margin`` prints) stays importable; ``calcm demo`` is the
keeper stage's (``calcm.cli.keeper_cmd``)."""
from __future__ import annotations

from pathlib import Path

import click
import numpy as np
from rich.table import Table

from .. import atomic
from ..market import load_market
from ..paths import DEFAULT_BOOK, DEFAULT_MARKET, DEFAULT_VOLUMES
from ..risk.book import load_book
from ..risk.model import ModelParams, build_risk_model
from ..fixedpoint import MONEY_SCALE
from ..risk.report import fmt_ratio, margin_report, report_json, tier_name
from .output import console, emit_json, table
from .progress import enabled_for, step


def _volumes_for(market: Path, volumes: Path | None) -> Path | None:
    """The bundled volumes go with the bundled market only (another market: pass --volumes)."""
    if volumes is not None:
        return volumes
    return DEFAULT_VOLUMES if Path(market).resolve() == DEFAULT_MARKET.resolve() else None


def _params(es_level: float, vol_model: str, profile: str = "published") -> ModelParams:
    from dataclasses import replace

    from ..risk.model import parameter_profile
    return replace(parameter_profile(profile), es_level=es_level, vol_model=vol_model)


market_opt = click.option("--market", type=click.Path(path_type=Path), default=DEFAULT_MARKET,
                          show_default=True, help="daily closes (wide CSV, long CSV or OHLCV directory)")
volumes_opt = click.option("--volumes", type=click.Path(path_type=Path), default=None,
                           help="wide CSV of USD daily volumes (default: the bundled one with the bundled market)")
book_opt = click.option("--portfolios", "book", type=click.Path(path_type=Path), default=DEFAULT_BOOK,
                        show_default=True, help="book JSON: instruments, collateral, accounts")
asof_opt = click.option("--asof", default=None, help="model date YYYY-MM-DD (default: last date)")
es_opt = click.option("--es-level", type=float, default=0.99, show_default=True,
                      help="ES confidence level (0.975 is the Basel level)")
vol_opt = click.option("--vol-model", type=click.Choice(["gjr", "garch"]), default="gjr", show_default=True)


def model_input_opts(f):
    """The market, volumes, book, as-of date, ES level and volatility model options."""
    for opt in (vol_opt, es_opt, asof_opt, book_opt, volumes_opt, market_opt):
        f = opt(f)
    return f


def warn_not_converged(source: str, rk) -> None:
    """One stderr line per underlying whose GARCH fit did not converge: used as estimated (never
    replaced), and reported, as the fit reports of `risk garch` and `backtest` do."""
    import warnings

    from ..errors import DataFallbackWarning
    for a, f in rk.fits.items():
        if not f.converged:
            warnings.warn(f"{source}: asof {rk.asof}: {a}: GARCH fit did not converge (used as estimated, "
                          f"not replaced): {f.params}", DataFallbackWarning, stacklevel=2)


def demo_margins(market: Path = DEFAULT_MARKET, book: Path = DEFAULT_BOOK, volumes: Path | None = None,
                 params: ModelParams | None = None, asof=None, as_json: bool = False) -> dict:
    """Margins of a book (default: the bundled fixtures); prints a table or JSON, returns the report."""
    md = load_market(market, _volumes_for(market, volumes))
    bk = load_book(book)
    with step("fitting GARCH, scenarios and margins", enabled=enabled_for(as_json)):
        rep = margin_report(md, bk, params, asof)
    warn_not_converged(md.source, rep.risk)
    doc = report_json(rep)
    if as_json:
        emit_json(doc)
        return doc
    r, rk = rep.result, rep.risk
    usd = lambda x: f"{x:,.0f}"  # noqa: E731  (whole USD keeps the table narrow)
    rows = []
    fx_usd = lambda v: usd(v / MONEY_SCALE)  # noqa: E731
    for a, acc in enumerate(rep.book.accounts):
        contrib = r.contributions[a]
        driver = rep.book.instrument_ids[int(np.argmax(contrib))] if r.es[a] >= 0.01 else "-"
        fx = rep.fixed[a]
        rows.append([acc.id, usd(r.es[a]), usd(r.addon[a]), usd(r.mm[a]), usd(r.im[a]), usd(r.equity[a]),
                     fmt_ratio(r.ratio[a]), tier_name(r.tier[a]), driver, usd(rep.siloed.mm[a]),
                     usd(rep.static.mm[a]), fx_usd(fx.mm), fx_usd(fx.im), fx_usd(fx.equity),
                     tier_name(fx.tier), f"{max(rep.bounds.mm[a], rep.bounds.equity[a]):.2g}"])
    t = Table(title=f"calcm margin, as of {rk.asof}: ES {rk.params.es_level:.1%}, {rk.params.mpor_days}-day "
                    f"MPOR, {rk.scenarios.n_scenarios} scenarios (tail k={rk.margin_model.k_tail}); USD")
    for col in ("account", "ES", "add-on", "MM", "IM", "equity", "ratio", "tier", "driver",
                "siloed MM", "static MM", "proven MM", "proven IM", "proven equity", "proven tier", "bound"):
        t.add_column(col, justify="left" if col in ("account", "tier", "driver", "fx tier") else "right")
    for row in rows:
        t.add_row(*row)
    # Off a terminal (CI logs, pipes) rich assumes 80 columns and would truncate the numbers.
    out = console  # wide when piped (output.PIPE_WIDTH)
    out.print(t)
    tot = doc["totals"]
    out.print(f"total MM {tot['mm']:,.0f} (siloed {tot['siloed_mm']:,.0f}, static {tot['static_mm']:,.0f}); "
              f"tiers {tot['tiers']}\nscenario hash {rk.scenarios.hash}\nparams hash   {rk.params.hash}\n"
              f"proven = the published fixed-point model (what `calcm prove` proves); bound = max "
              f"|proven - float| USD of MM and equity\n"
              f"lin commitment {doc['model']['published']['lin_commitment']}\n"
              f"opt commitment {doc['model']['published']['opt_commitment']}\n"
              f"param hash     {doc['model']['published']['param_hash']}")
    out.print("haircuts (published bps; source) " + ", ".join(
        f"{a} {h['haircut_bps']} ({h['source']})" for a, h in doc["model"]["collateral"].items()))
    fell = [u for u, src in zip(rk.underlyings, rk.adv_source) if src != "volume"]
    if fell:   # the documented ADV fallback (docs/MODEL.md): visible here, in --json and on stderr
        out.print(f"[bold]ADV fallback[/bold] (no volumes; static table): {', '.join(fell)}")
    return doc


def register(main, bench, chain) -> None:
    """Attach this stage's commands to the root, `bench` and `chain` groups."""

    @main.command("margin")
    @model_input_opts
    @click.option("--profile", type=click.Choice(["published", "fast"]), default="published",
                  show_default=True, help="named published parameter set (fast: the demo's 20 FHS days)")
    @click.option("--json", "as_json", is_flag=True, help="JSON on stdout")
    def margin_cmd(market, volumes, book, asof, es_level, vol_model, profile, as_json):
        """Portfolio margin of every account: ES, VaR, add-on, IM, MM, equity, tier, contributions,
        siloed and static baselines, and the published fixed-point numbers every proof carries."""
        demo_margins(market, book, volumes, _params(es_level, vol_model, profile), asof, as_json)

    @main.command("scenarios")
    @model_input_opts
    @click.option("--out", type=click.Path(path_type=Path), required=True, help="output JSON file")
    @click.option("--json", "as_json", is_flag=True, help="JSON summary on stdout")
    def scenarios_cmd(market, volumes, book, asof, es_level, vol_model, out, as_json):
        """Build the scenario set and model parameters (with their hashes) and write them to --out."""
        md = load_market(market, _volumes_for(market, volumes))
        bk = load_book(book)
        with step("fitting GARCH and building the scenario set", enabled=enabled_for(as_json)):
            rk = build_risk_model(md, bk, _params(es_level, vol_model), asof)
        warn_not_converged(md.source, rk)
        doc = {
            "asof": str(rk.asof), "market": str(market), "book": str(book),
            "model_params": rk.params.to_json(), "model_params_hash": rk.params.hash,
            "scenario_hash": rk.scenarios.hash, "scenarios": rk.scenarios.to_json(),
            "underlyings": list(rk.underlyings), "price": rk.price.tolist(),
            "sigma_1d": rk.sigma.tolist(), "mpor_vol": rk.mpor_vol.tolist(),
            "garch": {a: vars(f.params) | {"converged": f.converged} for a, f in rk.fits.items()},
            "correlation_assets": list(rk.scenarios.assets),
            "correlation": rk.correlation.today.tolist(),
            "stressed_correlation": rk.stressed_correlation.tolist(),
            "adv": rk.adv.tolist(), "adv_source": list(rk.adv_source),
        }
        atomic.write_json(out, doc)
        kinds = {k: rk.scenarios.kinds.count(k) for k in dict.fromkeys(rk.scenarios.kinds)}
        summary = {"out": str(out), "asof": doc["asof"], "n_scenarios": rk.scenarios.n_scenarios,
                   "kinds": kinds, "scenario_hash": doc["scenario_hash"],
                   "model_params_hash": doc["model_params_hash"]}
        if as_json:
            emit_json(summary)
            return
        table(f"scenarios -> {out} (as of {doc['asof']})", ["kind", "count"],
              [[k, v] for k, v in kinds.items()])
        table("underlyings", ["id", "price", "sigma 1d", "nu", "persistence"],
              [[a, float(rk.price[u]), f"{rk.sigma[u]:.4f}", f"{rk.fits[a].params.nu:.2f}",
                f"{rk.fits[a].params.persistence:.4f}"] for u, a in enumerate(rk.underlyings)])
        console.print(f"scenario hash {doc['scenario_hash']}\nparams hash   {doc['model_params_hash']}")

    def _bench_shape(f):
        """The synthetic book shape both risk benchmarks take (one definition)."""
        for opt in reversed([click.option("--accounts", type=int, default=10_000, show_default=True),
                             click.option("--instruments", type=int, default=64, show_default=True),
                             click.option("--scenarios", type=int, default=1_000, show_default=True),
                             click.option("--underlyings", type=int, default=8, show_default=True)]):
            f = opt(f)
        return f

    @bench.command("risk")
    @_bench_shape
    @click.option("--repeat", type=int, default=5, show_default=True)
    @click.option("--chunk", type=int, default=512, show_default=True)
    @click.option("--fx-accounts", type=int, default=20, show_default=True,
                  help="accounts run through the exact fixed-point twin")
    @click.option("--threads", type=int, default=None, help="tail-work threads (default: cores, at most 4)")
    @click.option("--json", "as_json", is_flag=True, help="JSON on stdout")
    def bench_risk_cmd(accounts, instruments, scenarios, underlyings, repeat, chunk, fx_accounts, threads,
                       as_json):
        """Full float margin vs a bare matrix product of the same shapes (same run), peak memory,
        and the fixed-point twin in accounts per second."""
        from ..risk.bench import bench_risk

        res = bench_risk(accounts, instruments, scenarios, underlyings, repeat, fx_accounts, chunk, threads)
        if as_json:
            emit_json(res)
            return
        table(f"bench risk: {accounts} accounts x {instruments} instruments x {scenarios} scenarios",
              ["measure", "value"],
              [["full float margin (s, median)", f"{res['full_margin_s']:.4f}"],
               ["matrix product (s, median)", f"{res['matmul_s']:.4f}"],
               ["ratio full / product (median; best)", f"{res['ratio']:.2f}; {res['best_ratio']:.2f}"],
               ["peak traced memory (MiB)", f"{res['peak_traced_mib']:.1f}"],
               ["max RSS (MiB)", f"{res['max_rss_mib']:.1f}"],
               ["tail threads / 1-min load average", f"{res['threads']} / {res['load_average_1min']:.1f}"],
               ["scalar fixed-point twin (accounts/s; `bench fx`: vectorised)",
                f"{res['fixed_point_accounts_per_s']:.1f}"]])

    @bench.command("fx")
    @_bench_shape
    @click.option("--repeat", type=int, default=3, show_default=True)
    @click.option("--check", type=int, default=20, show_default=True,
                  help="accounts also run through the scalar margin_fx and compared field by field")
    @click.option("--json", "as_json", is_flag=True, help="JSON on stdout")
    def bench_fx_cmd(accounts, instruments, scenarios, underlyings, repeat, check, as_json):
        """The vectorised fixed-point twin (the proven integers) in accounts per second (median of
        --repeat), against a same-run matrix product, checked against the scalar twin on a sample."""
        from ..risk.bench import bench_fx

        res = bench_fx(accounts, instruments, scenarios, underlyings, repeat, check)
        if as_json:
            emit_json(res)
            return
        table(f"bench fx: {accounts} accounts x {instruments} instruments x {scenarios} scenarios",
              ["measure", "value"],
              [["vectorised twin (s, median)", f"{res['batch_s']:.4f}"],
               ["accounts per second", f"{res['accounts_per_s']:,.0f}"],
               ["from AccountFx objects, one run (s)", f"{res['from_account_objects_s']:.4f}"],
               ["matrix product (s, median)", f"{res['matmul_s']:.4f}"],
               ["ratio twin / product", f"{res['ratio_to_matmul']:.2f}"],
               ["fallback accounts (scalar path)", str(res["fallback_accounts"])],
               [f"matches scalar margin_fx ({res['checked_accounts']} accounts)", str(res["matches_scalar"])],
               ["scalar twin (accounts/s)", f"{res['scalar_accounts_per_s']:.1f}"],
               ["1-min load average", f"{res['load_average_1min']:.1f}"]])
